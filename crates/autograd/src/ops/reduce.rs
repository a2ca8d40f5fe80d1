//! Reductions: sum and mean (all, or along a dim), max and min of all
//! elements, max and argmax along a dim.

use crate::Tensor;

/// View a contiguous `shape` as `[outer, size, inner]` around `dim`. A 0-d
/// tensor is one value along a dim of size 1, as PyTorch takes dim 0 or -1
/// of a 0-d tensor.
pub(crate) fn split_at_dim(shape: &[usize], dim: usize) -> (usize, usize, usize) {
    if shape.is_empty() {
        return (1, 1, 1);
    }
    let outer = shape[..dim].iter().product();
    let inner = shape[dim + 1..].iter().product();
    (outer, shape[dim], inner)
}

/// The shape after reducing `dim`, kept as size 1 or removed (0-d stays
/// 0-d, with keepdim too, as in PyTorch).
fn reduced_shape(shape: &[usize], dim: usize, keepdim: bool) -> Vec<usize> {
    let mut s = shape.to_vec();
    if s.is_empty() {
        return s;
    }
    if keepdim {
        s[dim] = 1;
    } else {
        s.remove(dim);
    }
    s
}

/// The sum in f64 from +0.0, as PyTorch's sums start: Rust's `Sum` for floats
/// starts from -0.0, which makes an empty sum (or one of -0.0s) -0.0.
pub(crate) fn sum_f64(values: impl Iterator<Item = f64>) -> f64 {
    values.fold(0.0, |total, v| total + v)
}

impl Tensor {
    /// Sum of all elements, as a 0-dimensional tensor.
    pub fn sum(&self) -> Tensor {
        self.sum_scaled("sum", 1.0)
    }

    /// Mean of all elements, as a 0-dimensional tensor.
    pub fn mean(&self) -> Tensor {
        self.sum_scaled("mean", self.numel() as f32)
    }

    /// The sum divided by `divisor` (1 for `sum`), one node named `op`: the
    /// values and gradient of `sum` and then `div_scalar(divisor)`, bit for bit.
    fn sum_scaled(&self, op: &'static str, divisor: f32) -> Tensor {
        // Accumulate in f64: a long f32 sum loses digits PyTorch keeps (it sums pairwise).
        let total = self.with_data(|x| sum_f64(x.iter().map(|&v| v as f64))) as f32;
        let value = if divisor == 1.0 {
            total
        } else {
            total / divisor
        };
        let shape = self.shape().to_vec();
        Tensor::from_op(vec![value], &[], op, &[self], move |g| {
            let g = if divisor == 1.0 {
                g.item()
            } else {
                g.item() / divisor
            };
            vec![Some(Tensor::full(&shape, g))]
        })
    }

    /// The largest element, as a 0-dimensional tensor (`torch.max(x)` without
    /// a dim). NaN if any element is NaN. The gradient is shared evenly among
    /// the elements equal to the maximum (the NaNs, if it is NaN), as
    /// PyTorch's `evenly_distribute_backward`: `[1, 3, 3]` gets `[0, 0.5, 0.5]`.
    /// Panics on an empty tensor, as PyTorch raises.
    pub fn max(&self) -> Tensor {
        self.extreme("max", |a, b| a > b)
    }

    /// The smallest element, as a 0-dimensional tensor (`torch.min(x)`), with
    /// NaN and gradient as [`Tensor::max`].
    pub fn min(&self) -> Tensor {
        self.extreme("min", |a, b| a < b)
    }

    /// The max or min of all elements; `beats(a, b)`: `a` is strictly better than `b`.
    fn extreme(&self, op: &'static str, beats: fn(f32, f32) -> bool) -> Tensor {
        assert!(
            self.numel() > 0,
            "{op}(): the tensor of shape {:?} is empty, it has no {op}imum \
             (PyTorch: specify the reduction dim for input.numel() == 0)",
            self.shape()
        );
        // Among equal values (0.0 and -0.0) the later one is kept, as PyTorch's
        // CPU kernel does for fewer than 8 elements; the first NaN ends the scan.
        let best = self.with_data(|x| {
            let mut best = x[0];
            for &v in &x[1..] {
                if best.is_nan() {
                    break;
                }
                if v.is_nan() || !beats(best, v) {
                    best = v;
                }
            }
            best
        });
        let x = self.clone();
        Tensor::from_op(vec![best], &[], op, &[self], move |g| {
            // The gradient is shared evenly by every element equal to the result.
            let hit = |v: f32| if best.is_nan() { v.is_nan() } else { v == best };
            let g = g.item();
            let grad = x.with_data(|x| {
                let share = g / x.iter().filter(|&&v| hit(v)).count() as f32;
                x.iter()
                    .map(|&v| if hit(v) { share } else { 0.0 })
                    .collect()
            });
            vec![Some(Tensor::from_vec(grad, x.shape()))]
        })
    }

    /// Sum along `dim` (negative counts from the end).
    pub fn sum_dim(&self, dim: isize, keepdim: bool) -> Tensor {
        self.sum_dim_scaled("sum_dim", dim, keepdim, false)
    }

    /// Mean along `dim`.
    pub fn mean_dim(&self, dim: isize, keepdim: bool) -> Tensor {
        self.sum_dim_scaled("mean_dim", dim, keepdim, true)
    }

    /// The sum along `dim`, divided by its size if `mean`, one node named
    /// `op`: the values and gradient of `sum_dim` and then `div_scalar(size)`,
    /// bit for bit.
    fn sum_dim_scaled(&self, op: &'static str, dim: isize, keepdim: bool, mean: bool) -> Tensor {
        let d = self.dim_index(dim);
        let (outer, size, inner) = split_at_dim(self.shape(), d);
        let n = size as f32;
        let mut out = vec![0.0f32; outer * inner];
        self.with_data(|x| {
            for o in 0..outer {
                for i in 0..inner {
                    let s = sum_f64((0..size).map(|j| x[(o * size + j) * inner + i] as f64));
                    out[o * inner + i] = if mean { s as f32 / n } else { s as f32 };
                }
            }
        });
        let in_shape = self.shape().to_vec();
        let kept = reduced_shape(&in_shape, d, true);
        Tensor::from_op(
            out,
            &reduced_shape(&in_shape, d, keepdim),
            op,
            &[self],
            move |g| {
                let g = if mean { g.div_scalar(n) } else { g.clone() };
                vec![Some(g.reshape(&kept).broadcast_to(&in_shape))]
            },
        )
    }

    /// Maximum along `dim` and, as a tensor of f32 indices, where it is
    /// (`torch.max(x, dim)`); the gradient flows to the first maximum.
    pub fn max_dim(&self, dim: isize, keepdim: bool) -> (Tensor, Tensor) {
        let d = self.dim_index(dim);
        let (outer, size, inner) = split_at_dim(self.shape(), d);
        assert!(
            size > 0,
            "max_dim: dimension {dim} of shape {:?} is empty",
            self.shape()
        );
        let mut values = vec![0.0f32; outer * inner];
        let mut indices = vec![0usize; outer * inner];
        self.with_data(|x| {
            for o in 0..outer {
                for i in 0..inner {
                    let (mut best, mut at) = (x[o * size * inner + i], 0);
                    for j in 1..size {
                        let v = x[(o * size + j) * inner + i];
                        // NaN propagates, as in PyTorch.
                        if v > best || (v.is_nan() && !best.is_nan()) {
                            best = v;
                            at = j;
                        }
                    }
                    values[o * inner + i] = best;
                    indices[o * inner + i] = at;
                }
            }
        });
        let out_shape = reduced_shape(self.shape(), d, keepdim);
        let index_tensor =
            Tensor::from_vec(indices.iter().map(|&i| i as f32).collect(), &out_shape);
        let in_shape = self.shape().to_vec();
        let values = Tensor::from_op(values, &out_shape, "max_dim", &[self], move |g| {
            let mut grad = vec![0.0f32; in_shape.iter().product()];
            g.with_data(|g| {
                for o in 0..outer {
                    for i in 0..inner {
                        grad[(o * size + indices[o * inner + i]) * inner + i] += g[o * inner + i];
                    }
                }
            });
            vec![Some(Tensor::from_vec(grad, &in_shape))]
        });
        (values, index_tensor)
    }

    /// Index of the maximum along `dim`, as f32 values (no gradient).
    pub fn argmax(&self, dim: isize) -> Tensor {
        crate::no_grad(|| self.max_dim(dim, false).1)
    }
}
