//! Indexing by integer targets: `gather` (what NLL needs), with scatter-add as its backward.

use crate::layout::{contiguous_strides, Layout};
use crate::Tensor;

impl Tensor {
    /// `out[.., j, ..] = self[.., index[.., j, ..], ..]` along `dim`, as
    /// `torch.gather`. `index` holds integer values (as f32), has as many dims
    /// as `self`, and is no larger than `self` in the others (it may be
    /// smaller: it picks from the leading part of those dims, as in PyTorch);
    /// the result has its shape.
    ///
    /// ```
    /// use autograd::Tensor;
    /// let logp = Tensor::from_vec(vec![0.1, 0.2, 0.3, 0.4, 0.5, 0.6], &[2, 3]);
    /// let picked = logp.gather(1, &Tensor::from_vec(vec![2.0, 0.0], &[2, 1]));
    /// assert_eq!(picked.to_vec(), vec![0.3, 0.4]);
    /// // An index with fewer rows than the input reads the first rows only.
    /// let first = logp.gather(1, &Tensor::from_vec(vec![1.0, 2.0], &[1, 2]));
    /// assert_eq!(first.to_vec(), vec![0.2, 0.3]);
    /// ```
    pub fn gather(&self, dim: isize, index: &Tensor) -> Tensor {
        let d = self.dim_index(dim);
        let (shape, index_shape) = (self.shape(), index.shape());
        assert!(
            index.dims() == self.dims()
                && (0..self.dims()).all(|i| i == d || index_shape[i] <= shape[i]),
            "gather: expected an index of {} dims no larger than the input apart from dim {d}, \
             got an index of shape {index_shape:?} for an input of shape {shape:?}",
            self.dims()
        );
        let size = shape.get(d).copied().unwrap_or(1);
        // Each picked element's offset in the input, in the index's
        // row-major order: the index's own coordinates walked with the
        // input's strides, `dim`'s left out, plus the index value's.
        let mut strides = contiguous_strides(shape);
        let along = strides.get_mut(d).map_or(0, std::mem::take);
        let walk = Layout {
            shape: index_shape.to_vec(),
            strides,
            offset: 0,
        };
        let mut sources = Vec::with_capacity(index.numel());
        walk.for_each_position(|base| sources.push(base));
        index.with_data(|ix| {
            for (source, &v) in sources.iter_mut().zip(ix) {
                assert!(
                    v >= 0.0 && v.fract() == 0.0 && (v as usize) < size,
                    "gather: index {v} is out of range for dim {d} of size {size}"
                );
                *source += v as usize * along;
            }
        });
        let out: Vec<f32> = self.with_data(|x| sources.iter().map(|&s| x[s]).collect());
        let in_shape = self.shape().to_vec();
        Tensor::from_op(out, index.shape(), "gather", &[self], move |g| {
            // Scatter-add, in the index's order.
            let mut grad = vec![0.0; in_shape.iter().product()];
            g.with_data(|g| {
                for (&s, &g) in sources.iter().zip(g) {
                    grad[s] += g;
                }
            });
            vec![Some(Tensor::from_vec(grad, &in_shape))]
        })
    }
}
