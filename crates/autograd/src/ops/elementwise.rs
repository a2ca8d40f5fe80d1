//! Elementwise ops: broadcasting binary ops, unary maps and scalar ops, each
//! with its backward rule beside its forward.

use crate::buffer::take;
use crate::layout::{broadcast_shape, broadcast_strides, broadcasts_to};
use crate::parallel::{for_each_chunk_mut, splits};
use crate::Tensor;

// -------------------------------------------------------------------- kernels

/// Elementwise jobs at least this long are split across the threads. Alone,
/// a 32K-element map takes 0.6x the time on two threads, but split inside a
/// training step, ReLU's backward at batch 64 (32K elements) cost more than
/// it saved (a zero-filled output, a wait for the helper): 2-thread epochs
/// 1% shorter with it serial.
const PARALLEL_MIN_LEN: usize = 1 << 16;

/// Apply `f` to every element.
pub(crate) fn map(t: &Tensor, f: impl Fn(f32) -> f32 + Sync) -> Vec<f32> {
    t.with_data(|x| {
        let mut out = take(x.len());
        if !splits(x.len(), PARALLEL_MIN_LEN) {
            out.extend(x.iter().map(|&v| f(v)));
            return out;
        }
        out.resize(x.len(), 0.0);
        for_each_chunk_mut(x.len(), PARALLEL_MIN_LEN, [&mut out[..]], |r, [out]| {
            out.iter_mut().zip(&x[r]).for_each(|(o, &v)| *o = f(v));
        });
        out
    })
}

/// Apply `f` to pairs of elements of two tensors of the same shape.
pub(crate) fn zip_map(a: &Tensor, b: &Tensor, f: impl Fn(f32, f32) -> f32 + Sync) -> Vec<f32> {
    assert_eq!(a.shape(), b.shape(), "zip_map: shapes differ");
    a.with_data(|x| {
        b.with_data(|y| {
            let mut out = take(x.len());
            if !splits(x.len(), PARALLEL_MIN_LEN) {
                out.extend(x.iter().zip(y).map(|(&p, &q)| f(p, q)));
                return out;
            }
            out.resize(x.len(), 0.0);
            for_each_chunk_mut(x.len(), PARALLEL_MIN_LEN, [&mut out[..]], |r, [out]| {
                let (x, y) = (&x[r.clone()], &y[r]);
                out.iter_mut()
                    .zip(x.iter().zip(y))
                    .for_each(|(o, (&p, &q))| *o = f(p, q));
            });
            out
        })
    })
}

/// ReLU's backward: `relu_grad` of each value (`x` is ReLU's input or its
/// output: where either is <= 0, both are).
pub(crate) fn relu_backward(g: &Tensor, x: &Tensor) -> Tensor {
    Tensor::from_vec(zip_map(g, x, relu_grad), g.shape())
}

/// ReLU's backward for one value, PyTorch's `threshold_backward`: 0 where
/// `x <= 0`, else `g`, so a NaN passes the gradient on (as the NaN it
/// produced passes on the values).
#[inline(always)]
pub(crate) fn relu_grad(g: f32, x: f32) -> f32 {
    if x <= 0.0 {
        0.0
    } else {
        g
    }
}

/// `x ** p` as PyTorch's CPU kernel computes it: the exponents 0.5, 2, 3,
/// -0.5, -1 and -2 by `sqrt`, products and quotients, others by `powf`. The
/// values differ from `powf`'s at -inf and -0.0 (`(-inf) ** 0.5` is NaN, as
/// `sqrt` gives, not inf) and by an ulp elsewhere.
fn pow_f32(x: f32, p: f32) -> f32 {
    if p == 0.5 {
        x.sqrt()
    } else if p == 2.0 {
        x * x
    } else if p == 3.0 {
        x * x * x
    } else if p == -0.5 {
        1.0 / x.sqrt()
    } else if p == -1.0 {
        1.0 / x
    } else if p == -2.0 {
        1.0 / (x * x)
    } else {
        x.powf(p)
    }
}

/// `sign(x)` as PyTorch's `sgn`: -1, 0 or 1, and 0 for NaN and both zeros.
fn sign_f32(x: f32) -> f32 {
    (0.0 < x) as u8 as f32 - (x < 0.0) as u8 as f32
}

/// `x` clamped to `[lo, hi]` as PyTorch's kernel does it: NaN (in `x` or a
/// bound) gives NaN; `x` below `lo` becomes `lo`, then above `hi` becomes
/// `hi` (so `hi` wins when `lo > hi`); `x` equal to a bound is kept (the
/// sign of a zero with it).
fn clamp_f32(x: f32, lo: Option<f32>, hi: Option<f32>) -> f32 {
    let mut v = x;
    if let Some(lo) = lo {
        if lo.is_nan() || v < lo {
            v = lo;
        }
    }
    if let Some(hi) = hi {
        if hi.is_nan() || hi < v {
            v = hi;
        }
    }
    if x.is_nan() {
        x
    } else {
        v
    }
}

/// Call `f(out_index, a_index, b_index)` for every element of the broadcast
/// shape `out`, given each operand's (broadcast) strides.
fn for_each_broadcast(
    out: &[usize],
    sa: &[usize],
    sb: &[usize],
    mut f: impl FnMut(usize, usize, usize),
) {
    let numel: usize = out.iter().product();
    if numel == 0 {
        return;
    }
    let rank = out.len();
    if rank == 0 {
        return f(0, 0, 0);
    }
    let (inner, ia_step, ib_step) = (out[rank - 1], sa[rank - 1], sb[rank - 1]);
    let mut index = vec![0usize; rank - 1];
    let mut o = 0;
    loop {
        let ia0: usize = index.iter().zip(sa).map(|(i, s)| i * s).sum();
        let ib0: usize = index.iter().zip(sb).map(|(i, s)| i * s).sum();
        for j in 0..inner {
            f(o, ia0 + j * ia_step, ib0 + j * ib_step);
            o += 1;
        }
        let mut d = rank - 1;
        loop {
            if d == 0 {
                return;
            }
            d -= 1;
            index[d] += 1;
            if index[d] < out[d] {
                break;
            }
            index[d] = 0;
        }
    }
}

/// `f` over the broadcast of `a` and `b`; returns the values and the shape.
fn broadcast_zip(
    op: &str,
    a: &Tensor,
    b: &Tensor,
    f: impl Fn(f32, f32) -> f32 + Sync,
) -> (Vec<f32>, Vec<usize>) {
    if a.shape() == b.shape() {
        return (zip_map(a, b, f), a.shape().to_vec());
    }
    let shape = broadcast_shape(a.shape(), b.shape()).unwrap_or_else(|| {
        panic!(
            "{op}: shapes {:?} and {:?} cannot be broadcast together",
            a.shape(),
            b.shape()
        )
    });
    let (sa, sb) = (
        broadcast_strides(a.shape(), &shape),
        broadcast_strides(b.shape(), &shape),
    );
    let mut out = vec![0.0; shape.iter().product()];
    a.with_data(|x| {
        b.with_data(|y| for_each_broadcast(&shape, &sa, &sb, |o, i, j| out[o] = f(x[i], y[j])))
    });
    (out, shape)
}

impl Tensor {
    /// Whether this tensor broadcasts to `shape` (PyTorch's `expand` rule):
    /// its dims, lined up from the right, are each equal to `shape`'s or 1.
    ///
    /// ```
    /// use autograd::Tensor;
    /// assert!(Tensor::ones(&[3, 1]).broadcasts_to(&[2, 3, 4]));
    /// assert!(!Tensor::ones(&[2]).broadcasts_to(&[3]));
    /// ```
    pub fn broadcasts_to(&self, shape: &[usize]) -> bool {
        broadcasts_to(self.shape(), shape)
    }

    /// Sum `self` (of a broadcast shape) down to `shape`: the backward of broadcasting.
    pub fn sum_to(&self, shape: &[usize]) -> Tensor {
        if self.shape() == shape {
            return self.clone();
        }
        let from = self.shape().to_vec();
        assert!(
            broadcasts_to(shape, &from),
            "sum_to: shape {:?} does not broadcast to {:?}",
            shape,
            from
        );
        let mut out = vec![0.0; shape.iter().product()];
        let s_out = broadcast_strides(shape, &from);
        let s_self = crate::layout::contiguous_strides(&from);
        self.with_data(|g| for_each_broadcast(&from, &s_self, &s_out, |_, i, j| out[j] += g[i]));
        Tensor::from_op(out, shape, "sum_to", &[self], move |g| {
            vec![Some(g.broadcast_to(&from))]
        })
    }

    /// Repeat `self` along broadcast dims to `shape` (a materialised `expand`).
    pub fn broadcast_to(&self, shape: &[usize]) -> Tensor {
        if self.shape() == shape {
            return self.clone();
        }
        let src_shape = self.shape().to_vec();
        assert!(
            self.broadcasts_to(shape),
            "broadcast_to: {:?} cannot be expanded to {:?}",
            src_shape,
            shape
        );
        let (data, _) = broadcast_zip("broadcast_to", self, &Tensor::zeros(shape), |x, _| x);
        Tensor::from_op(data, shape, "broadcast_to", &[self], move |g| {
            vec![Some(g.sum_to(&src_shape))]
        })
    }

    // ---------------------------------------------------------------- binary

    /// `self + other`, with broadcasting.
    pub fn add(&self, other: &Tensor) -> Tensor {
        let (data, shape) = broadcast_zip("add", self, other, |x, y| x + y);
        let (sa, sb) = (self.shape().to_vec(), other.shape().to_vec());
        Tensor::from_op(data, &shape, "add", &[self, other], move |g| {
            vec![Some(g.sum_to(&sa)), Some(g.sum_to(&sb))]
        })
    }

    /// `self - other`, with broadcasting.
    pub fn sub(&self, other: &Tensor) -> Tensor {
        let (data, shape) = broadcast_zip("sub", self, other, |x, y| x - y);
        let (sa, sb) = (self.shape().to_vec(), other.shape().to_vec());
        Tensor::from_op(data, &shape, "sub", &[self, other], move |g| {
            vec![Some(g.sum_to(&sa)), Some(g.neg().sum_to(&sb))]
        })
    }

    /// `self * other`, with broadcasting.
    pub fn mul(&self, other: &Tensor) -> Tensor {
        let (data, shape) = broadcast_zip("mul", self, other, |x, y| x * y);
        let (a, b) = (self.clone(), other.clone());
        Tensor::from_op(data, &shape, "mul", &[self, other], move |g| {
            let ga = a.requires_grad().then(|| g.mul(&b).sum_to(a.shape()));
            let gb = b.requires_grad().then(|| g.mul(&a).sum_to(b.shape()));
            vec![ga, gb]
        })
    }

    /// `self / other`, with broadcasting.
    pub fn div(&self, other: &Tensor) -> Tensor {
        let (data, shape) = broadcast_zip("div", self, other, |x, y| x / y);
        let (a, b) = (self.clone(), other.clone());
        Tensor::from_op(data, &shape, "div", &[self, other], move |g| {
            let ga = a.requires_grad().then(|| g.div(&b).sum_to(a.shape()));
            // d(a/b)/db = -a / b^2, as PyTorch orders it, -g * ((a / b) / b):
            // g * a / (b * b) overflowed (or underflowed) where the quotients do not.
            let gb = b
                .requires_grad()
                .then(|| g.neg().mul(&a.div(&b).div(&b)).sum_to(b.shape()));
            vec![ga, gb]
        })
    }

    /// Multiply by a constant mask of the same shape (what Dropout needs);
    /// the mask gets no gradient.
    pub fn mul_mask(&self, mask: &Tensor) -> Tensor {
        assert_eq!(
            self.shape(),
            mask.shape(),
            "mul_mask: input {:?} and mask {:?} differ",
            self.shape(),
            mask.shape()
        );
        let mask = mask.detach();
        let data = zip_map(self, &mask, |x, m| x * m);
        // The mask is an input (it gets no gradient) so that the backward pass
        // checks it was not changed in place since.
        let input = mask.clone();
        Tensor::from_op(data, self.shape(), "mul_mask", &[self, &input], move |g| {
            let grad = Tensor::from_vec(zip_map(g, &mask, |g, m| g * m), g.shape());
            vec![Some(grad), None]
        })
    }

    /// 1.0 where `self == other` and 0.0 elsewhere, with broadcasting; not
    /// differentiable (as `==` in PyTorch), e.g. `pred.argmax(1).eq(&y).sum()`.
    pub fn eq(&self, other: &Tensor) -> Tensor {
        let (data, shape) = broadcast_zip("eq", self, other, |x, y| (x == y) as u8 as f32);
        Tensor::from_vec(data, &shape)
    }

    // ---------------------------------------------------------------- scalar

    /// `self + s` for a constant `s` (PyTorch's `x + s`; what `x + s` calls).
    pub fn add_scalar(&self, s: f32) -> Tensor {
        Tensor::from_op(
            map(self, |x| x + s),
            self.shape(),
            "add_scalar",
            &[self],
            |g| vec![Some(g.clone())],
        )
    }

    /// `self - s` for a constant `s` (PyTorch's `x - s`; what `x - s` calls).
    pub fn sub_scalar(&self, s: f32) -> Tensor {
        Tensor::from_op(
            map(self, |x| x - s),
            self.shape(),
            "sub_scalar",
            &[self],
            |g| vec![Some(g.clone())],
        )
    }

    /// `self * s` for a constant `s` (PyTorch's `x * s`; what `x * s` and `s * x` call).
    pub fn mul_scalar(&self, s: f32) -> Tensor {
        Tensor::from_op(
            map(self, |x| x * s),
            self.shape(),
            "mul_scalar",
            &[self],
            move |g| vec![Some(g.mul_scalar(s))],
        )
    }

    /// `s - self`: PyTorch's `rsub`, which `2.0 - x` calls (`RsubBackward1`).
    pub fn rsub_scalar(&self, s: f32) -> Tensor {
        Tensor::from_op(
            map(self, |x| s - x),
            self.shape(),
            "rsub_scalar",
            &[self],
            |g| vec![Some(g.neg())],
        )
    }

    /// `1 / self`. `s / x` is `x.reciprocal() * s`, as PyTorch's
    /// `__rtruediv__` computes it (two roundings: `3.0 / x` can differ from
    /// `Tensor::scalar(3.0).div(&x)` in the last bit).
    pub fn reciprocal(&self) -> Tensor {
        let y = Tensor::from_vec(map(self, |x| 1.0 / x), self.shape());
        let saved = y.clone();
        y.with_node("reciprocal", &[self], move |g| {
            // PyTorch's rule: -grad * (result * result).
            vec![Some(Tensor::from_vec(
                zip_map(g, &saved, |g, y| -(g * (y * y))),
                g.shape(),
            ))]
        })
    }

    /// `self / s` for a constant `s` (PyTorch's `x / s`; what `x / s` calls).
    pub fn div_scalar(&self, s: f32) -> Tensor {
        Tensor::from_op(
            map(self, |x| x / s),
            self.shape(),
            "div_scalar",
            &[self],
            move |g| vec![Some(g.div_scalar(s))],
        )
    }

    /// `self ** p` for a constant exponent, as PyTorch computes it (see
    /// `pow_f32`). The gradient is 0 for `p == 0`, even where `x ** -1` is
    /// infinite, as in PyTorch.
    pub fn pow(&self, p: f32) -> Tensor {
        let x = self.clone();
        Tensor::from_op(
            map(self, |v| pow_f32(v, p)),
            self.shape(),
            "pow",
            &[self],
            move |g| {
                if p == 0.0 {
                    return vec![Some(Tensor::zeros(x.shape()))];
                }
                let d = map(&x, |v| p * pow_f32(v, p - 1.0));
                vec![Some(Tensor::from_vec(
                    zip_map(g, &Tensor::from_vec(d, x.shape()), |g, d| g * d),
                    x.shape(),
                ))]
            },
        )
    }

    // ---------------------------------------------------------------- unary

    /// `-self` (`torch.neg`; also unary `-` here).
    pub fn neg(&self) -> Tensor {
        Tensor::from_op(map(self, |x| -x), self.shape(), "neg", &[self], |g| {
            vec![Some(g.neg())]
        })
    }

    /// `max(x, 0)` as PyTorch computes it: NaN stays NaN and -0.0 stays
    /// -0.0; the gradient is 0 where `x <= 0` and passes where x is NaN.
    pub fn relu(&self) -> Tensor {
        let x = self.clone();
        Tensor::from_op(
            map(self, crate::kernels::gemm::relu_f32),
            self.shape(),
            "relu",
            &[self],
            move |g| vec![Some(relu_backward(g, &x))],
        )
    }

    /// `|x|`; the gradient is `g * sign(x)`, 0 at x = 0 (and NaN), as PyTorch's.
    pub fn abs(&self) -> Tensor {
        let x = self.clone();
        Tensor::from_op(
            map(self, f32::abs),
            self.shape(),
            "abs",
            &[self],
            move |g| {
                vec![Some(Tensor::from_vec(
                    zip_map(g, &x, |g, x| g * sign_f32(x)),
                    g.shape(),
                ))]
            },
        )
    }

    /// `torch.clamp(x, min, max)`: each value limited to `[min, max]` (either
    /// bound may be absent, not both). NaN in `x` or a bound gives NaN, and
    /// `min > max` gives `max` everywhere, as in PyTorch. The gradient passes
    /// where `min < x < max` strictly and is 0 elsewhere: PyTorch 2.15 gives 0
    /// at a value equal to a scalar bound, and for NaN.
    pub fn clamp(&self, min: Option<f32>, max: Option<f32>) -> Tensor {
        assert!(
            min.is_some() || max.is_some(),
            "clamp: at least one of 'min' or 'max' must not be None"
        );
        self.clamp_op("clamp", min, max)
    }

    /// `torch.clamp_min(x, min)`: `clamp(Some(min), None)`.
    pub fn clamp_min(&self, min: f32) -> Tensor {
        self.clamp_op("clamp_min", Some(min), None)
    }

    /// `torch.clamp_max(x, max)`: `clamp(None, Some(max))`.
    pub fn clamp_max(&self, max: f32) -> Tensor {
        self.clamp_op("clamp_max", None, Some(max))
    }

    fn clamp_op(&self, op: &'static str, lo: Option<f32>, hi: Option<f32>) -> Tensor {
        let x = self.clone();
        Tensor::from_op(
            map(self, |v| clamp_f32(v, lo, hi)),
            self.shape(),
            op,
            &[self],
            move |g| {
                let inside = |v: f32| lo.is_none_or(|lo| v > lo) && hi.is_none_or(|hi| v < hi);
                vec![Some(Tensor::from_vec(
                    zip_map(g, &x, |g, v| if inside(v) { g } else { 0.0 }),
                    g.shape(),
                ))]
            },
        )
    }

    /// `1 / (1 + exp(-x))` (`torch.sigmoid`).
    pub fn sigmoid(&self) -> Tensor {
        let y = Tensor::from_vec(map(self, |v| 1.0 / (1.0 + (-v).exp())), self.shape());
        let saved = y.clone();
        y.with_node("sigmoid", &[self], move |g| {
            vec![Some(Tensor::from_vec(
                zip_map(g, &saved, |g, y| g * y * (1.0 - y)),
                g.shape(),
            ))]
        })
    }

    /// Hyperbolic tangent (`torch.tanh`).
    pub fn tanh(&self) -> Tensor {
        let y = Tensor::from_vec(map(self, f32::tanh), self.shape());
        let saved = y.clone();
        y.with_node("tanh", &[self], move |g| {
            vec![Some(Tensor::from_vec(
                zip_map(g, &saved, |g, y| g * (1.0 - y * y)),
                g.shape(),
            ))]
        })
    }

    /// `e^x` (`torch.exp`).
    pub fn exp(&self) -> Tensor {
        let y = Tensor::from_vec(map(self, f32::exp), self.shape());
        let saved = y.clone();
        y.with_node("exp", &[self], move |g| vec![Some(g.mul(&saved))])
    }

    /// Natural logarithm.
    pub fn log(&self) -> Tensor {
        let x = self.clone();
        Tensor::from_op(map(self, f32::ln), self.shape(), "log", &[self], move |g| {
            vec![Some(g.div(&x))]
        })
    }

    /// Square root (`torch.sqrt`).
    pub fn sqrt(&self) -> Tensor {
        let y = Tensor::from_vec(map(self, f32::sqrt), self.shape());
        let saved = y.clone();
        y.with_node("sqrt", &[self], move |g| {
            vec![Some(Tensor::from_vec(
                zip_map(g, &saved, |g, y| g * 0.5 / y),
                g.shape(),
            ))]
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::Tensor;

    /// Maps long enough to be split across threads give the values of the
    /// same maps done serially, element for element.
    #[test]
    fn split_maps_match_serial_ones() {
        let n = 2 * super::PARALLEL_MIN_LEN + 17;
        let x = Tensor::from_vec((0..n).map(|i| (i % 101) as f32 - 50.0).collect(), &[n]);
        let g = Tensor::from_vec((0..n).map(|i| (i % 7) as f32 * 0.5).collect(), &[n]);
        let run = |threads: usize| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| (x.relu().to_vec(), super::relu_backward(&g, &x).to_vec()))
        };
        let (relu, backward) = run(2);
        let want_relu: Vec<f32> = x.to_vec().iter().map(|&v| v.max(0.0)).collect();
        let want_backward: Vec<f32> = (x.to_vec().iter().zip(g.to_vec()))
            .map(|(&v, g)| if v > 0.0 { g } else { 0.0 })
            .collect();
        assert_eq!(relu, want_relu);
        assert_eq!(backward, want_backward);
        assert_eq!(run(1), (relu, backward));
    }

    #[test]
    fn broadcasting_adds_rows_and_columns() {
        let a = Tensor::from_vec(vec![1., 2., 3., 4., 5., 6.], &[2, 3]);
        let col = Tensor::from_vec(vec![10., 20.], &[2, 1]);
        let row = Tensor::from_vec(vec![100., 200., 300.], &[3]);
        assert_eq!(a.add(&col).to_vec(), vec![11., 12., 13., 24., 25., 26.]);
        assert_eq!(
            a.add(&row).to_vec(),
            vec![101., 202., 303., 104., 205., 306.]
        );
        assert_eq!(a.sum_to(&[3]).to_vec(), vec![5., 7., 9.]);
        assert_eq!(a.sum_to(&[2, 1]).to_vec(), vec![6., 15.]);
    }

    #[test]
    #[should_panic(expected = "add: shapes [2, 3] and [2] cannot be broadcast together")]
    fn incompatible_shapes_name_the_op_and_both_shapes() {
        Tensor::zeros(&[2, 3]).add(&Tensor::zeros(&[2]));
    }
}
