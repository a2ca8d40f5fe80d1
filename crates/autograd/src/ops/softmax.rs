//! softmax and log_softmax along a dim, computed stably (shifted by the max).

use crate::ops::elementwise::zip_map;
use crate::ops::reduce::{split_at_dim, sum_f64};
use crate::Tensor;

/// Run `f` on each line along `dim` of a contiguous `[outer, size, inner]`
/// buffer, as (input line, output line) with stride `inner`.
fn for_each_line(
    x: &[f32],
    out: &mut [f32],
    shape: &[usize],
    dim: usize,
    f: impl Fn(&dyn Fn(usize) -> f32, &mut dyn FnMut(usize, f32), usize),
) {
    let (outer, size, inner) = split_at_dim(shape, dim);
    for o in 0..outer {
        for i in 0..inner {
            let base = o * size * inner + i;
            let read = |j: usize| x[base + j * inner];
            let mut write = |j: usize, v: f32| out[base + j * inner] = v;
            f(&read, &mut write, size);
        }
    }
}

/// A line's max and `sum(exp(x - max))`, summed in f64 and rounded to f32
/// once, where PyTorch's sum ends up too: added one by one in f32, a row of
/// 30k values was 10x further from the exact value than PyTorch's (2.6e-5
/// against 2.4e-6).
///
/// The callers keep the max apart, as PyTorch does: `log_softmax` is
/// `(x - max) - log(sum)`, not `x - (max + log(sum))`, whose sum rounds to
/// the ulp of the max and loses the small log-probabilities of large logits
/// (`log_softmax([100, 90])[0]` came out 0.8% off, and a confident row's
/// cross entropy 0 with a gradient that no longer summed to 0).
fn max_and_sum_exp(read: &dyn Fn(usize) -> f32, size: usize) -> (f32, f32) {
    let max = (0..size).map(read).fold(f32::NEG_INFINITY, f32::max);
    let sum = sum_f64((0..size).map(|j| (read(j) - max).exp() as f64));
    (max, sum as f32)
}

/// `(max, log(sum(exp(x - max))))` of a line: `log_softmax(x) = (x - max) - log_sum`.
fn max_and_log_sum(read: &dyn Fn(usize) -> f32, size: usize) -> (f32, f32) {
    let (max, sum) = max_and_sum_exp(read, size);
    (max, sum.ln())
}

impl Tensor {
    /// `log(softmax(x))` along `dim`, without overflow for large logits.
    pub fn log_softmax(&self, dim: isize) -> Tensor {
        let d = self.dim_index(dim);
        let mut out = vec![0.0; self.numel()];
        self.with_data(|x| {
            for_each_line(x, &mut out, self.shape(), d, |read, write, size| {
                let (max, log_sum) = max_and_log_sum(read, size);
                (0..size).for_each(|j| write(j, (read(j) - max) - log_sum));
            })
        });
        let y = Tensor::from_vec(out, self.shape());
        let saved = y.clone();
        y.with_node("log_softmax", &[self], move |g| {
            // dx = g - softmax(x) * sum(g) along dim
            let g_sum = g.sum_dim(d as isize, true).broadcast_to(g.shape());
            let dx = saved.with_data(|y| {
                g.with_data(|gv| {
                    g_sum.with_data(|s| {
                        y.iter()
                            .zip(gv)
                            .zip(s)
                            .map(|((&y, &g), &s)| g - y.exp() * s)
                            .collect()
                    })
                })
            });
            vec![Some(Tensor::from_vec(dx, g.shape()))]
        })
    }

    /// Cross entropy of `[N, C]` logits against class indices as one op:
    /// `sum_i -log_softmax(self, 1)[i, targets[i]] / divisor` (`divisor`
    /// N for PyTorch's mean, 1 for its sum). The values and gradients are
    /// those of `log_softmax(1)`, `gather`, negation, `sum` and
    /// `div_scalar(divisor)` in turn, bit for bit, without their five
    /// nodes and intermediate tensors (a training step's loss took 12 µs
    /// that way, for 640 logits).
    ///
    /// ```
    /// use autograd::Tensor;
    /// let logits = Tensor::from_vec(vec![0.0, 0.0, 5.0, 5.0], &[2, 2]);
    /// let loss = logits.log_softmax_nll(&[1, 0], 2.0);
    /// assert!((loss.item() - 2f32.ln()).abs() < 1e-6);
    /// ```
    ///
    /// # Panics
    /// If `self` is not 2-D, `targets` does not hold one class per row, or
    /// a class is out of range.
    pub fn log_softmax_nll(&self, targets: &[usize], divisor: f32) -> Tensor {
        assert!(
            self.dims() == 2 && targets.len() == self.shape()[0],
            "log_softmax_nll: {} targets for logits of shape {:?} (expected [N, C] and N targets)",
            targets.len(),
            self.shape()
        );
        let classes = self.shape()[1];
        if let Some(t) = targets.iter().find(|&&t| t >= classes) {
            panic!("log_softmax_nll: target {t} is out of range for {classes} classes");
        }
        // Each row's max and log-sum, and the sum of the picked -logp in f64 (as `sum` does).
        let (shift, total) = self.with_data(|x| {
            let shift: Vec<(f32, f32)> = x
                .chunks(classes.max(1))
                .map(|row| max_and_log_sum(&|j| row[j], classes))
                .collect();
            let total = sum_f64(targets.iter().enumerate().map(|(i, &t)| {
                let (max, log_sum) = shift[i];
                -((x[i * classes + t] - max) - log_sum) as f64
            }));
            (shift, total)
        });
        let loss = total as f32 / divisor;
        let targets = targets.to_vec();
        let input = self.clone();
        Tensor::from_op(vec![loss], &[], "log_softmax_nll", &[self], move |g| {
            // Through div_scalar, sum and the negation: each row's picked
            // logp gets s; log_softmax's rule then gives
            // dx = g_row - exp(logp) * sum(g_row), with g_row = s at the target.
            let s = -(g.item() / divisor);
            let dx = input.with_data(|x| {
                let mut dx = crate::buffer::take(x.len());
                for (i, row) in x.chunks(classes.max(1)).enumerate() {
                    let (max, log_sum) = shift[i];
                    dx.extend(row.iter().enumerate().map(|(j, &v)| {
                        let picked = if j == targets[i] { s } else { 0.0 };
                        picked - ((v - max) - log_sum).exp() * s
                    }));
                }
                dx
            });
            vec![Some(Tensor::from_vec(dx, input.shape()))]
        })
    }

    /// `exp(x) / sum(exp(x))` along `dim`, shifted by the max for stability:
    /// `exp(x - max) / sum(exp(x - max))`, as PyTorch computes it.
    pub fn softmax(&self, dim: isize) -> Tensor {
        let d = self.dim_index(dim);
        let mut out = vec![0.0; self.numel()];
        self.with_data(|x| {
            for_each_line(x, &mut out, self.shape(), d, |read, write, size| {
                let (max, sum) = max_and_sum_exp(read, size);
                (0..size).for_each(|j| write(j, (read(j) - max).exp() / sum));
            })
        });
        let y = Tensor::from_vec(out, self.shape());
        let saved = y.clone();
        y.with_node("softmax", &[self], move |g| {
            // dx = y * (g - sum(g * y)) along dim, in that order as PyTorch:
            // g * y - sum * y cancels worse where y is near 1.
            let gy = Tensor::from_vec(zip_map(g, &saved, |g, y| g * y), g.shape());
            let s = gy.sum_dim(d as isize, true).broadcast_to(g.shape());
            let g_minus_s = Tensor::from_vec(zip_map(g, &s, |g, s| g - s), g.shape());
            vec![Some(Tensor::from_vec(
                zip_map(&saved, &g_minus_s, |y, d| y * d),
                g.shape(),
            ))]
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::{Generator, Tensor};

    /// The fused op against the ops it stands for, values and gradients bit
    /// for bit, with a mean and with a sum.
    #[test]
    fn log_softmax_nll_is_the_composite_bit_for_bit() {
        let mut g = Generator::new(11);
        let (n, c) = (37, 10);
        let logits = Tensor::rand_uniform(&[n, c], -8.0, 8.0, &mut g);
        let targets: Vec<usize> = (0..n).map(|i| (i * 7 + 3) % c).collect();
        for divisor in [n as f32, 1.0] {
            let bits = |t: &Tensor| t.to_vec().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            let x = logits.detach().requires_grad_(true);
            let fused = x.log_softmax_nll(&targets, divisor);
            fused.mul_scalar(3.0).backward().unwrap();

            let y = logits.detach().requires_grad_(true);
            let index: Vec<f32> = targets.iter().map(|&t| t as f32).collect();
            let composite = y
                .log_softmax(1)
                .gather(1, &Tensor::from_vec(index, &[n, 1]))
                .squeeze(1)
                .mul_mask(&Tensor::full(&[n], -1.0))
                .sum()
                .div_scalar(divisor);
            composite.mul_scalar(3.0).backward().unwrap();

            assert_eq!(bits(&fused), bits(&composite), "divisor {divisor}");
            assert_eq!(
                bits(&x.grad().unwrap()),
                bits(&y.grad().unwrap()),
                "divisor {divisor}"
            );

            // A transposed (non-contiguous) view of the same logits: same loss and gradient.
            let t = Tensor::from_vec(logits.transpose(0, 1).contiguous().to_vec(), &[c, n])
                .requires_grad_(true);
            let viewed = t.transpose(0, 1).log_softmax_nll(&targets, divisor);
            viewed.mul_scalar(3.0).backward().unwrap();
            assert_eq!(bits(&viewed), bits(&fused), "divisor {divisor}, view");
            assert_eq!(
                bits(&t.grad().unwrap().transpose(0, 1).contiguous()),
                bits(&x.grad().unwrap()),
                "divisor {divisor}, view"
            );
        }
    }

    /// A row of 30k logits in [-10, 10): softmax and log_softmax (along
    /// either dim, and the loss of the fused op) within 5e-6 relative of an
    /// f64 computation, which PyTorch meets (2.4e-6 for softmax, 2.3e-7 for
    /// log_softmax on such a row); f32 sums gave 2.6e-5.
    #[test]
    fn long_rows_match_f64() {
        let n = 30_000;
        let x = Tensor::rand_uniform(&[1, n], -10.0, 10.0, &mut Generator::new(4));
        let xv: Vec<f64> = x.to_vec().iter().map(|&v| v as f64).collect();
        let max = xv.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let lse = max + xv.iter().map(|v| (v - max).exp()).sum::<f64>().ln();
        let check = |what: &str, got: Vec<f32>, want: &dyn Fn(f64) -> f64| {
            for (j, (&got, &x)) in got.iter().zip(&xv).enumerate() {
                let want = want(x);
                let rel = (got as f64 - want).abs() / want.abs();
                assert!(
                    rel < 5e-6,
                    "{what}[{j}]: {got} vs {want} (relative {rel:.1e})"
                );
            }
        };
        let column = x.reshape(&[n, 1]);
        check("log_softmax", x.log_softmax(1).to_vec(), &|x| x - lse);
        check("log_softmax(0)", column.log_softmax(0).to_vec(), &|x| {
            x - lse
        });
        check("softmax", x.softmax(-1).to_vec(), &|x| (x - lse).exp());
        check("softmax(0)", column.softmax(0).to_vec(), &|x| {
            (x - lse).exp()
        });
        let loss = x.log_softmax_nll(&[123], 1.0).item();
        let want = lse - xv[123];
        assert!(
            ((loss as f64 - want) / want).abs() < 5e-6,
            "loss {loss} vs {want}"
        );
    }

    #[test]
    fn log_softmax_is_stable_for_huge_logits() {
        let x = Tensor::from_vec(vec![1000.0, 0.0, -1000.0, 1.0, 2.0, 3.0], &[2, 3]);
        let y = x.log_softmax(1).to_vec();
        assert!(y.iter().all(|v| v.is_finite()));
        assert!((y[0]).abs() < 1e-6);
        let p = x.softmax(-1).to_vec();
        assert!(((p[3] + p[4] + p[5]) - 1.0).abs() < 1e-6);
        // Along dim 0 as well.
        let c = x.softmax(0).to_vec();
        assert!(((c[0] + c[3]) - 1.0).abs() < 1e-6);
    }
}
