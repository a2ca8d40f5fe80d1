//! Shape ops. A reshape of a contiguous tensor, a transpose and a permute are
//! views of the same storage; only a reshape of a strided view copies.

use crate::layout::Layout;
use crate::Tensor;

impl Tensor {
    /// The same values with another shape of equal size (`reshape` / `view`).
    pub fn reshape(&self, shape: &[usize]) -> Tensor {
        let numel: usize = shape.iter().product();
        assert!(
            numel == self.numel(),
            "reshape: shape {:?} ({} elements) is invalid for a tensor of shape {:?} ({} elements)",
            shape,
            numel,
            self.shape(),
            self.numel()
        );
        if self.shape() == shape {
            return self.clone();
        }
        let src = self.contiguous();
        let mut layout = Layout::contiguous(shape);
        layout.offset = src.layout().offset;
        let in_shape = self.shape().to_vec();
        src.view_with(layout)
            .with_node("reshape", &[&src], move |g| {
                vec![Some(g.reshape(&in_shape))]
            })
    }

    /// Alias of [`Tensor::reshape`], for readers coming from PyTorch's `view`.
    pub fn view(&self, shape: &[usize]) -> Tensor {
        self.reshape(shape)
    }

    /// Merge dims `start_dim..` into one (`torch.flatten(x, start_dim)`).
    pub fn flatten(&self, start_dim: usize) -> Tensor {
        self.flatten_dims(start_dim as isize, -1)
    }

    /// Merge dims `start_dim..=end_dim` into one (`torch.flatten(x,
    /// start_dim, end_dim)`; negative dims count from the end). A 0-d tensor
    /// becomes `[1]` (its only dims are 0 and -1).
    ///
    /// ```
    /// let x = autograd::Tensor::zeros(&[2, 3, 4, 5]);
    /// assert_eq!(x.flatten_dims(1, 2).shape(), [2, 12, 5]);
    /// assert_eq!(x.flatten_dims(-2, -1).shape(), [2, 3, 20]);
    /// ```
    pub fn flatten_dims(&self, start_dim: isize, end_dim: isize) -> Tensor {
        let (start, end) = (self.dim_index(start_dim), self.dim_index(end_dim));
        assert!(
            start <= end,
            "flatten() has invalid args: start_dim cannot come after end_dim \
             ({start_dim} and {end_dim} for a tensor of shape {:?})",
            self.shape()
        );
        if self.dims() == 0 {
            return self.reshape(&[1]);
        }
        let mut shape = self.shape()[..start].to_vec();
        shape.push(self.shape()[start..=end].iter().product());
        shape.extend_from_slice(&self.shape()[end + 1..]);
        self.reshape(&shape)
    }

    /// Insert a dim of size 1 at `dim`.
    pub fn unsqueeze(&self, dim: usize) -> Tensor {
        assert!(
            dim <= self.dims(),
            "unsqueeze: dim {dim} for a tensor of shape {:?}",
            self.shape()
        );
        let mut shape = self.shape().to_vec();
        shape.insert(dim, 1);
        self.reshape(&shape)
    }

    /// Remove the dim `dim`, which must have size 1.
    pub fn squeeze(&self, dim: isize) -> Tensor {
        let d = self.dim_index(dim);
        if self.dims() == 0 {
            // Dim 0 (or -1) of a 0-d tensor: nothing to remove, as in PyTorch.
            return self.reshape(&[]);
        }
        assert!(
            self.shape()[d] == 1,
            "squeeze: dim {dim} of shape {:?} is not 1",
            self.shape()
        );
        let mut shape = self.shape().to_vec();
        shape.remove(d);
        self.reshape(&shape)
    }

    /// Reorder the dims: result dim `i` is input dim `dims[i]`. A view, no copy.
    pub fn permute(&self, dims: &[usize]) -> Tensor {
        let mut seen = dims.to_vec();
        seen.sort_unstable();
        assert!(
            seen == (0..self.dims()).collect::<Vec<_>>(),
            "permute: {:?} is not a permutation of the dims of shape {:?}",
            dims,
            self.shape()
        );
        let mut inverse = vec![0; dims.len()];
        for (i, &d) in dims.iter().enumerate() {
            inverse[d] = i;
        }
        self.view_with(self.layout().permuted(dims))
            .with_node("permute", &[self], move |g| vec![Some(g.permute(&inverse))])
    }

    /// Swap two dims. A view, no copy.
    pub fn transpose(&self, dim0: isize, dim1: isize) -> Tensor {
        let (a, b) = (self.dim_index(dim0), self.dim_index(dim1));
        let mut dims: Vec<usize> = (0..self.dims()).collect();
        // A 0-d tensor has only dim 0 (or -1): swapping it with itself.
        if !dims.is_empty() {
            dims.swap(a, b);
        }
        self.permute(&dims)
    }

    /// Transpose of a 2-D tensor.
    pub fn t(&self) -> Tensor {
        assert!(
            self.dims() == 2,
            "t(): expects a 2-D tensor, got shape {:?}",
            self.shape()
        );
        self.transpose(0, 1)
    }
}

#[cfg(test)]
mod tests {
    use crate::Tensor;

    #[test]
    fn transpose_is_a_view_and_reshape_copies_it() {
        let a = Tensor::from_vec((0..6).map(|x| x as f32).collect(), &[2, 3]);
        let t = a.t();
        assert!(!t.is_contiguous());
        assert_eq!(t.shape(), &[3, 2]);
        assert_eq!(t.to_vec(), vec![0., 3., 1., 4., 2., 5.]);
        assert_eq!(t.reshape(&[6]).to_vec(), vec![0., 3., 1., 4., 2., 5.]);
        assert_eq!(a.flatten(0).shape(), &[6]);
    }
}
