//! softmax and log_softmax along a dim, computed stably (shifted by the max).

use crate::ops::elementwise::zip_map;
use crate::ops::reduce::split_at_dim;
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

/// `log(sum(exp(x - max))) + max` of one line.
fn log_sum_exp(read: &dyn Fn(usize) -> f32, size: usize) -> f32 {
    let max = (0..size).map(read).fold(f32::NEG_INFINITY, f32::max);
    if max == f32::NEG_INFINITY {
        return max;
    }
    let sum: f32 = (0..size).map(|j| (read(j) - max).exp()).sum();
    max + sum.ln()
}

impl Tensor {
    /// `log(softmax(x))` along `dim`, without overflow for large logits.
    pub fn log_softmax(&self, dim: isize) -> Tensor {
        let d = self.dim_index(dim);
        let mut out = vec![0.0; self.numel()];
        self.with_data(|x| {
            for_each_line(x, &mut out, self.shape(), d, |read, write, size| {
                let lse = log_sum_exp(read, size);
                (0..size).for_each(|j| write(j, read(j) - lse));
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

    /// `exp(x) / sum(exp(x))` along `dim`, shifted by the max for stability.
    pub fn softmax(&self, dim: isize) -> Tensor {
        let d = self.dim_index(dim);
        let mut out = vec![0.0; self.numel()];
        self.with_data(|x| {
            for_each_line(x, &mut out, self.shape(), d, |read, write, size| {
                let lse = log_sum_exp(read, size);
                (0..size).for_each(|j| write(j, (read(j) - lse).exp()));
            })
        });
        let y = Tensor::from_vec(out, self.shape());
        let saved = y.clone();
        y.with_node("softmax", &[self], move |g| {
            // dx = y * (g - sum(g * y)) along dim
            let gy = Tensor::from_vec(zip_map(g, &saved, |g, y| g * y), g.shape());
            let s = gy.sum_dim(d as isize, true).broadcast_to(g.shape());
            vec![Some(Tensor::from_vec(
                zip_map(&gy, &s.mul(&saved), |a, b| a - b),
                g.shape(),
            ))]
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::Tensor;

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
