//! Matrix products: `matmul` (2-D and batched, strided operands read in place)
//! and the fused `linear` layer op `x @ W^T + b`.

use crate::kernels::fma::{with_fma, FmaBody};
use crate::kernels::gemm::{gemm, gemm_linear_new, gemm_new, side_by_side, MatRef};
use crate::kernels::pool::join;
use crate::layout::{broadcast_shape, Layout};
use crate::ops::elementwise::relu_grad;
use crate::Tensor;

/// The matrix `batch_offset` of a tensor's last two dims, read through its strides.
fn mat<'a>(storage: &'a [f32], layout: &Layout, batch_offset: usize) -> MatRef<'a> {
    let r = layout.shape.len();
    MatRef {
        data: storage,
        offset: layout.offset + batch_offset,
        rows: layout.shape[r - 2],
        cols: layout.shape[r - 1],
        row_stride: layout.strides[r - 2],
        col_stride: layout.strides[r - 1],
    }
}

/// Storage offsets of each matrix of `layout` when its batch dims are
/// broadcast to `batch` (stride 0 where it has size 1 or is missing).
fn batch_offsets(layout: &Layout, batch: &[usize]) -> Vec<usize> {
    let own = &layout.shape[..layout.shape.len() - 2];
    let strides = &layout.strides[..own.len()];
    let pad = batch.len() - own.len();
    let mut offsets = vec![0usize];
    for (d, &size) in batch.iter().enumerate() {
        let stride = if d < pad || own[d - pad] == 1 {
            0
        } else {
            strides[d - pad]
        };
        offsets = offsets
            .iter()
            .flat_map(|&o| (0..size).map(move |i| o + i * stride))
            .collect();
    }
    offsets
}

/// Sums of the columns of a row-major buffer with rows of `cols` values: the
/// rows of each half (the first `rows.div_ceil(2)`, then the rest) added in
/// order, then the first half's sums plus the second's. The order that
/// `relu_backward_colsum` takes with the halves on two cores, so that a bias
/// gradient has the same bits with or without a fused ReLU.
fn column_sums(g: &[f32], cols: usize) -> Vec<f32> {
    let (top, bottom) = g.split_at(top_half(g.len(), cols));
    let mut d = rows_summed(top, cols);
    d.iter_mut()
        .zip(&rows_summed(bottom, cols))
        .for_each(|(d, s)| *d += s);
    d
}

/// Column sums of `g`'s rows (`cols` values each), added in order.
fn rows_summed(g: &[f32], cols: usize) -> Vec<f32> {
    let mut d = vec![0.0f32; cols];
    for row in g.chunks(cols.max(1)) {
        d.iter_mut().zip(row).for_each(|(d, g)| *d += g);
    }
    d
}

/// ReLU's backward (`relu_grad` of each value against the output `y`), and with
/// `sums` the column sums of the result, in one pass.
///
/// Written over `g`'s own buffer when nothing else holds it (the tape's
/// gradient for this op's output, about to be dropped), else over a copy.
/// The rows are taken in two halves, one per core when there are two: each
/// half's columns are summed down its rows in order, and the sums are the
/// first half's plus the second's, so they do not depend on the thread count.
/// (Split by columns instead, each core walking its half of every row, a half
/// took 13-14 us on the 2-core Xeon, against 5-8 by rows: most likely each
/// core's prefetcher pulled in the other's half too. Serial and into a new buffer, it
/// took 28-30 us of a 2-thread training step while the other core waited.)
fn relu_backward_colsum(
    g: &Tensor,
    y: &Tensor,
    cols: usize,
    sums: bool,
) -> (Tensor, Option<Vec<f32>>) {
    let out = crate::tape::writable(g);
    let mask_rows = |g: &mut [f32], y: &[f32]| with_fma(MaskRows { g, y, cols, sums });
    let d = y.with_data(|y| {
        out.with_data_mut(|out| {
            let (top, bottom) = out.split_at_mut(top_half(out.len(), cols));
            let (y_top, y_bottom) = y.split_at(top.len());
            let (mut d, second) = if top.len() + bottom.len() >= SPLIT_MIN_LEN {
                join(|| mask_rows(top, y_top), || mask_rows(bottom, y_bottom))
            } else {
                (mask_rows(top, y_top), mask_rows(bottom, y_bottom))
            };
            d.iter_mut().zip(&second).for_each(|(d, s)| *d += s);
            d
        })
    });
    (out, sums.then_some(d))
}

/// Masks rows of `g` against the same rows of `y` (`relu_grad`); with `sums`,
/// returns their column sums as `rows_summed` does, each row added while it
/// is in L1 (else nothing). Run through `with_fma` for its AVX2 build (it
/// has no multiply-add): 8 values a vector instead of the generic build's 4.
/// The tutorial's 64 x 512 passes took 8.6 and 9.6 us at 1 thread, now 4.6
/// and 6.4 (`--trace`). Same values: each column is still summed in order.
struct MaskRows<'a> {
    g: &'a mut [f32],
    y: &'a [f32],
    cols: usize,
    sums: bool,
}

impl FmaBody for MaskRows<'_> {
    type Output = Vec<f32>;
    #[inline(always)]
    fn run(self) -> Vec<f32> {
        let cols = self.cols;
        let mut d = vec![0.0f32; if self.sums { cols } else { 0 }];
        for (g, y) in self
            .g
            .chunks_mut(cols.max(1))
            .zip(self.y.chunks(cols.max(1)))
        {
            g.iter_mut()
                .zip(y)
                .for_each(|(g, &y)| *g = relu_grad(*g, y));
            if self.sums {
                d.iter_mut().zip(&*g).for_each(|(d, g)| *d += g);
            }
        }
        d
    }
}

/// Elementwise passes over fewer values run on one core: handing half to
/// another costs about a microsecond.
const SPLIT_MIN_LEN: usize = 1 << 14;

/// Values in the first half of a row-major buffer of `len` values in rows of
/// `cols`: the first `rows.div_ceil(2)` rows. The one split of the bias
/// gradient's sums (`column_sums`, `relu_backward_colsum`), so that fused and
/// unfused layers add in the same order.
fn top_half(len: usize, cols: usize) -> usize {
    (len / cols.max(1)).div_ceil(2) * cols
}

/// `g @ w` for a linear layer's input gradient (`g` is `[rows, out]`, `w`
/// is `[out, in]`), as the sum of two products over halves of `out`,
/// `g[:, ..h] @ w[..h] + g[:, h..] @ w[h..]`. With two threads, one half per
/// core: each core then reads the rows of the weight that it multiplied in
/// the forward and updates in the optimizer step, from its own cache. (Split
/// by output columns, as other products are, each core read half of its
/// rows from the other core: 2-thread epochs 2.4% longer.) Elsewhere the
/// second half accumulates onto the first (beta = 1), each product split
/// across the threads as usual. Either way each element is the same single
/// rounding of the halves' sum, so results do not depend on the thread count.
fn input_grad(g: MatRef, w: MatRef) -> Vec<f32> {
    let h = g.cols / 2;
    let g0 = MatRef { cols: h, ..g };
    let w0 = MatRef { rows: h, ..w };
    let g1 = MatRef {
        cols: g.cols - h,
        offset: g.offset + h * g.col_stride,
        ..g
    };
    let w1 = MatRef {
        rows: w.rows - h,
        offset: w.offset + h * w.row_stride,
        ..w
    };
    if h > 0 && crate::kernels::pool::threads() == 2 {
        let (mut c, second) = join(|| gemm_new(g0, w0), || gemm_new(g1, w1));
        let len = c.len();
        crate::parallel::for_each_chunk_mut(len, SPLIT_MIN_LEN, [&mut c[..]], |range, [c]| {
            c.iter_mut().zip(&second[range]).for_each(|(c, s)| *c += s);
        });
        return c;
    }
    let mut c = gemm_new(g0, w0);
    gemm(1.0, g1, w1, 1.0, &mut c);
    c
}

impl Tensor {
    /// Matrix product, `torch.matmul`: 2-D `[m,k] @ [k,n]`, or batched
    /// `[..., m, k] @ [..., k, n]` with the batch dims broadcast. A 1-D
    /// operand is a row (on the left) or a column (on the right) whose dim is
    /// removed from the result, so two vectors give their dot product (0-d).
    /// Transposed operands are read through their strides, without a copy.
    ///
    /// ```
    /// use autograd::Tensor;
    /// let x = Tensor::ones(&[2]);
    /// let w = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
    /// assert_eq!(x.matmul(&w).to_vec(), vec![5.0, 7.0, 9.0]);
    /// ```
    pub fn matmul(&self, other: &Tensor) -> Tensor {
        let (a, b) = (self, other);
        assert!(
            a.dims() >= 1 && b.dims() >= 1,
            "matmul: both arguments need at least 1 dimension, got shapes {:?} and {:?}",
            a.shape(),
            b.shape()
        );
        if a.dims() == 1 || b.dims() == 1 {
            // As PyTorch: a vector becomes a 1-row (or 1-column) matrix for
            // the product, and that dim is dropped again.
            let a2 = if a.dims() == 1 {
                a.unsqueeze(0)
            } else {
                a.clone()
            };
            let b2 = if b.dims() == 1 {
                b.unsqueeze(1)
            } else {
                b.clone()
            };
            let out = a2.matmul(&b2);
            let mut shape = out.shape().to_vec();
            if b.dims() == 1 {
                shape.pop();
            }
            if a.dims() == 1 {
                shape.remove(shape.len() - if b.dims() == 1 { 1 } else { 2 });
            }
            return out.reshape(&shape);
        }
        let (m, k) = (a.size(-2), a.size(-1));
        let (k2, n) = (b.size(-2), b.size(-1));
        assert!(
            k == k2,
            "matmul: shapes {:?} and {:?} cannot be multiplied ({k} != {k2})",
            a.shape(),
            b.shape()
        );
        let (ab, bb) = (&a.shape()[..a.dims() - 2], &b.shape()[..b.dims() - 2]);
        let batch = broadcast_shape(ab, bb).unwrap_or_else(|| {
            panic!(
                "matmul: batch dims of {:?} and {:?} cannot be broadcast",
                a.shape(),
                b.shape()
            )
        });
        let (oa, ob) = (
            batch_offsets(a.layout(), &batch),
            batch_offsets(b.layout(), &batch),
        );
        let (sa, sb) = (a.read_storage(), b.read_storage());
        let out = if oa.len() == 1 {
            // One product (2-D): straight into a new buffer, no zero-fill.
            gemm_new(mat(&sa, a.layout(), oa[0]), mat(&sb, b.layout(), ob[0]))
        } else {
            let mut out = vec![0.0; oa.len() * m * n];
            for ((&pa, &pb), c) in oa.iter().zip(&ob).zip(out.chunks_mut((m * n).max(1))) {
                gemm(
                    1.0,
                    mat(&sa, a.layout(), pa),
                    mat(&sb, b.layout(), pb),
                    0.0,
                    c,
                );
            }
            out
        };
        drop((sa, sb));
        let mut shape = batch;
        shape.extend([m, n]);
        let (a, b) = (a.clone(), b.clone());
        Tensor::from_op(out, &shape, "matmul", &[self, other], move |g| {
            // dA = g @ B^T, dB = A^T @ g, summed over broadcast batch dims.
            let ga = a
                .requires_grad()
                .then(|| g.matmul(&b.transpose(-1, -2)).sum_to(a.shape()));
            let gb = b
                .requires_grad()
                .then(|| a.transpose(-1, -2).matmul(g).sum_to(b.shape()));
            vec![ga, gb]
        })
    }

    /// `x @ weight^T + bias`, PyTorch's `F.linear`: `x` is `[.., in]`,
    /// `weight` is `[out, in]`, `bias` is `[out]`.
    pub fn linear(&self, weight: &Tensor, bias: Option<&Tensor>) -> Tensor {
        self.linear_with(weight, bias, false)
    }

    /// `relu(linear(x, weight, bias))` as one op: the ReLU is applied as the
    /// product is written, and its backward folded into the linear's. The
    /// values and gradients are those of the two ops, bit for bit.
    ///
    /// ```
    /// use autograd::Tensor;
    /// let x = Tensor::from_vec(vec![1.0, -2.0], &[1, 2]);
    /// let w = Tensor::from_vec(vec![1.0, 1.0, 1.0, -1.0], &[2, 2]);
    /// assert_eq!(x.linear_relu(&w, None).to_vec(), vec![0.0, 3.0]);
    /// ```
    pub fn linear_relu(&self, weight: &Tensor, bias: Option<&Tensor>) -> Tensor {
        self.linear_with(weight, bias, true)
    }

    fn linear_with(&self, weight: &Tensor, bias: Option<&Tensor>, relu: bool) -> Tensor {
        let (x, w) = (self.contiguous(), weight);
        assert!(
            w.dims() == 2 && x.dims() >= 1 && x.size(-1) == w.size(1),
            "linear: input of shape {:?} does not fit weight of shape {:?} ([out, in])",
            x.shape(),
            w.shape()
        );
        let (fan_out, fan_in) = (w.size(0), w.size(1));
        let rows: usize = x.shape()[..x.dims() - 1].iter().product();
        if let Some(b) = bias {
            assert!(
                b.shape() == [fan_out],
                "linear: bias of shape {:?} for {fan_out} outputs",
                b.shape()
            );
        }
        let out = {
            let (sx, sw) = (x.read_storage(), w.read_storage());
            let xm = MatRef {
                offset: x.layout().offset,
                ..MatRef::row_major(&sx, rows, fan_in)
            };
            let wm = mat(&sw, w.layout(), 0).t();
            // The bias (and ReLU) are applied as each tile of the product is written.
            match bias {
                Some(b) => b.with_data(|b| gemm_linear_new(xm, wm, Some(b), relu)),
                None => gemm_linear_new(xm, wm, None, relu),
            }
        };
        let mut shape = x.shape().to_vec();
        *shape.last_mut().expect("rank >= 1") = fan_out;
        let (xs, ws) = (x.clone(), w.clone());
        let has_bias = bias.is_some();
        let inputs: Vec<&Tensor> = match bias {
            Some(b) => vec![&x, w, b],
            None => vec![&x, w],
        };
        let out = Tensor::from_vec(out, &shape);
        // The output's values, for ReLU's backward (a handle without the node).
        let y = relu.then(|| out.clone());
        let name = match (relu, has_bias) {
            (true, _) => "linear_relu",
            (false, true) => "linear",
            (false, false) => "linear_no_bias",
        };
        out.with_node(name, &inputs, move |g| {
            // The incoming gradient through the ReLU (if any), and the bias
            // gradient (column sums, row after row), in one pass.
            let (g, db) = match &y {
                Some(y) => relu_backward_colsum(g, y, fan_out, has_bias),
                None => {
                    let g = g.contiguous();
                    let db = has_bias.then(|| g.with_data(|g| column_sums(g, fan_out)));
                    (g, db)
                }
            };
            let gs = g.read_storage();
            let gm = MatRef {
                offset: g.layout().offset,
                ..MatRef::row_major(&gs, rows, fan_out)
            };
            let (sx, sw) = (xs.read_storage(), ws.read_storage());
            let wm = mat(&sw, ws.layout(), 0);
            let xm = MatRef {
                offset: xs.layout().offset,
                ..MatRef::row_major(&sx, rows, fan_in)
            };
            // dx = g @ W  ([rows, out] @ [out, in]) and dW = g^T @ x
            // ([out, rows] @ [rows, in]). Small products run side by side, one per
            // core, rather than each split across the cores.
            let (gx, gw) = match (xs.requires_grad(), ws.requires_grad()) {
                (true, true) if side_by_side(rows, fan_out, fan_in) => {
                    let (gx, gw) = join(|| gemm_new(gm, wm), || gemm_new(gm.t(), xm));
                    (Some(gx), Some(gw))
                }
                (x, w) => (
                    x.then(|| input_grad(gm, wm)),
                    w.then(|| gemm_new(gm.t(), xm)),
                ),
            };
            let gx = gx.map(|v| Tensor::from_vec(v, xs.shape()));
            let gw = gw.map(|v| Tensor::from_vec(v, &[fan_out, fan_in]));
            let mut grads = vec![gx, gw];
            if let Some(d) = db {
                grads.push(Some(Tensor::from_vec(d, &[fan_out])));
            }
            grads
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::{Generator, Tensor};

    fn pool(threads: usize) -> rayon::ThreadPool {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
    }

    /// The bits of `t`'s gradient.
    fn grad_bits(t: &Tensor) -> Vec<u32> {
        t.grad()
            .unwrap()
            .to_vec()
            .iter()
            .map(|v| v.to_bits())
            .collect()
    }

    /// A layer large enough for its products to be split: the gradients are
    /// those of an f64 computation, and the same bits on 1, 2 and 3 threads.
    #[test]
    fn linear_gradients_match_f64_and_do_not_depend_on_the_thread_count() {
        let (rows, fan_in, fan_out) = (64, 300, 513);
        let grads = |threads: usize| {
            let pool = pool(threads);
            let mut g = Generator::new(5);
            let x = Tensor::rand_uniform(&[rows, fan_in], -1.0, 1.0, &mut g).requires_grad_(true);
            let w =
                Tensor::rand_uniform(&[fan_out, fan_in], -1.0, 1.0, &mut g).requires_grad_(true);
            let up = Tensor::rand_uniform(&[rows, fan_out], -1.0, 1.0, &mut g);
            pool.install(|| {
                let y = x.linear(&w, None);
                y.mul(&up).sum().backward().unwrap();
            });
            (grad_bits(&x), grad_bits(&w), w.to_vec(), up.to_vec())
        };
        let (gx, gw, w, up) = grads(1);
        for threads in [2, 3] {
            let (gx2, gw2, _, _) = grads(threads);
            assert!(gx == gx2, "input gradient differs on {threads} threads");
            assert!(gw == gw2, "weight gradient differs on {threads} threads");
        }
        // dx = up @ w, in f64.
        for i in 0..rows {
            for j in 0..fan_in {
                let want: f64 = (0..fan_out)
                    .map(|o| up[i * fan_out + o] as f64 * w[o * fan_in + j] as f64)
                    .sum();
                let got = f32::from_bits(gx[i * fan_in + j]) as f64;
                assert!(
                    (got - want).abs() < 1e-4 * (1.0 + want.abs()),
                    "dx[{i},{j}] {got} vs {want}"
                );
            }
        }
    }
    /// ReLU's backward in `linear_relu` (split by columns across threads):
    /// the bias and input gradients are those of an f64 computation through
    /// the mask, and the same bits on 1, 2 and 3 threads, whether or not the
    /// incoming gradient is shared (written in place only when it is not).
    #[test]
    fn linear_relu_gradients_match_f64_and_do_not_depend_on_the_thread_count() {
        let (rows, fan_in, fan_out) = (64, 40, 515);
        let run = |threads: usize, shared: bool| {
            let pool = pool(threads);
            let mut g = Generator::new(9);
            let x = Tensor::rand_uniform(&[rows, fan_in], -1.0, 1.0, &mut g).requires_grad_(true);
            let w =
                Tensor::rand_uniform(&[fan_out, fan_in], -1.0, 1.0, &mut g).requires_grad_(true);
            let b = Tensor::rand_uniform(&[fan_out], -1.0, 1.0, &mut g).requires_grad_(true);
            let up = Tensor::rand_uniform(&[rows, fan_out], -1.0, 1.0, &mut g);
            let y = pool.install(|| {
                let y = x.linear_relu(&w, Some(&b));
                if shared {
                    // The gradient reaching the op is `up` itself, which this
                    // test still holds: it must not be written over.
                    y.backward_with(up.clone()).unwrap();
                } else {
                    y.mul(&up).sum().backward().unwrap();
                }
                y
            });
            (
                grad_bits(&x),
                grad_bits(&b),
                y.to_vec(),
                w.to_vec(),
                up.to_vec(),
            )
        };
        let (gx, gb, y, w, up) = run(1, false);
        for (threads, shared) in [(1, true), (2, false), (2, true), (3, false)] {
            let (gx2, gb2, _, _, up2) = run(threads, shared);
            assert!(
                gx == gx2,
                "input gradient differs ({threads} threads, shared {shared})"
            );
            assert!(
                gb == gb2,
                "bias gradient differs ({threads} threads, shared {shared})"
            );
            assert!(up == up2, "the upstream gradient was written over");
        }
        let masked = |i: usize, o: usize| {
            if y[i * fan_out + o] > 0.0 {
                up[i * fan_out + o] as f64
            } else {
                0.0
            }
        };
        for (o, &got) in gb.iter().enumerate() {
            let want: f64 = (0..rows).map(|i| masked(i, o)).sum();
            let got = f32::from_bits(got) as f64;
            assert!(
                (got - want).abs() < 1e-5 * (1.0 + want.abs()),
                "db[{o}] {got} vs {want}"
            );
        }
        for i in 0..rows {
            for j in 0..fan_in {
                let want: f64 = (0..fan_out)
                    .map(|o| masked(i, o) * w[o * fan_in + j] as f64)
                    .sum();
                let got = f32::from_bits(gx[i * fan_in + j]) as f64;
                assert!(
                    (got - want).abs() < 1e-4 * (1.0 + want.abs()),
                    "dx[{i},{j}] {got} vs {want}"
                );
            }
        }
    }
}
