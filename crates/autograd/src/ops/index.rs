//! Indexing by integer targets: `gather` (what NLL needs), with scatter-add as its backward.

use crate::ops::reduce::split_at_dim;
use crate::Tensor;

impl Tensor {
    /// `out[.., j, ..] = self[.., index[.., j, ..], ..]` along `dim`, as
    /// `torch.gather`. `index` holds integer values (as f32) and has the
    /// shape of `self` except along `dim`.
    ///
    /// ```
    /// use autograd::Tensor;
    /// let logp = Tensor::from_vec(vec![0.1, 0.2, 0.3, 0.4, 0.5, 0.6], &[2, 3]);
    /// let picked = logp.gather(1, &Tensor::from_vec(vec![2.0, 0.0], &[2, 1]));
    /// assert_eq!(picked.to_vec(), vec![0.3, 0.4]);
    /// ```
    pub fn gather(&self, dim: isize, index: &Tensor) -> Tensor {
        let d = self.dim_index(dim);
        assert!(
            index.dims() == self.dims()
                && (0..self.dims()).all(|i| i == d || index.shape()[i] == self.shape()[i]),
            "gather: index of shape {:?} does not match input of shape {:?} outside dim {d}",
            index.shape(),
            self.shape()
        );
        let (outer, size, inner) = split_at_dim(self.shape(), d);
        let (_, picks, _) = split_at_dim(index.shape(), d);
        let positions: Vec<usize> = index.with_data(|ix| {
            ix.iter()
                .map(|&v| {
                    assert!(
                        v >= 0.0 && v.fract() == 0.0 && (v as usize) < size,
                        "gather: index {v} is out of range for dim {d} of size {size}"
                    );
                    v as usize
                })
                .collect()
        });
        let mut out = vec![0.0; outer * picks * inner];
        self.with_data(|x| {
            for o in 0..outer {
                for p in 0..picks {
                    for i in 0..inner {
                        let at = (o * picks + p) * inner + i;
                        out[at] = x[(o * size + positions[at]) * inner + i];
                    }
                }
            }
        });
        let in_shape = self.shape().to_vec();
        Tensor::from_op(out, index.shape(), "gather", &[self], move |g| {
            let mut grad = vec![0.0; in_shape.iter().product()];
            g.with_data(|g| {
                for o in 0..outer {
                    for p in 0..picks {
                        for i in 0..inner {
                            let at = (o * picks + p) * inner + i;
                            grad[(o * size + positions[at]) * inner + i] += g[at];
                        }
                    }
                }
            });
            vec![Some(Tensor::from_vec(grad, &in_shape))]
        })
    }
}
