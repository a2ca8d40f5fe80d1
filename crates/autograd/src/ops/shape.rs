//! Shape ops. A reshape (where strides allow, as PyTorch's), a view, a
//! transpose, a permute, a narrow and a select are views of the same
//! storage; only a reshape that no strides can express copies, and `cat`
//! makes a new tensor.

use crate::layout::Layout;
use crate::ops::reduce::split_at_dim;
use crate::Tensor;

impl Tensor {
    /// The same values with another shape of equal size (`torch.reshape`): a
    /// view when the strides allow one (always, for a contiguous tensor),
    /// else a contiguous copy viewed with the new shape.
    pub fn reshape(&self, shape: &[usize]) -> Tensor {
        self.check_numel("reshape", shape);
        // Named as PyTorch records the three cases (`view`, `_reshape_alias`,
        // `_unsafe_view` of a contiguous clone).
        match self.layout().viewed(shape) {
            Some(layout) if self.is_contiguous() => self.view_node("reshape", layout),
            Some(layout) => self.view_node("reshape_alias", layout),
            None => {
                let copy = self.contiguous();
                let layout = Layout::contiguous(shape);
                copy.view_node("unsafe_view", layout)
            }
        }
    }

    /// The same elements with another shape of equal size, always a view
    /// (`Tensor.view`): panics, as PyTorch raises, when the strides do not
    /// allow one (say, flattening a transpose); [`Tensor::reshape`] copies then.
    ///
    /// ```
    /// use autograd::Tensor;
    /// let x = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
    /// let v = x.view(&[3, 2]);
    /// v.fill_(0.0); // a view: the write reaches x
    /// assert_eq!(x.to_vec(), vec![0.0; 6]);
    /// assert!(std::panic::catch_unwind(|| x.t().view(&[6])).is_err());
    /// ```
    pub fn view(&self, shape: &[usize]) -> Tensor {
        self.check_numel("view", shape);
        let Some(layout) = self.layout().viewed(shape) else {
            panic!(
                "view: shape {shape:?} is not compatible with the size {:?} and stride {:?} of the \
                 input (a new dim would span two runs of contiguous memory); use reshape instead",
                self.shape(),
                self.strides()
            );
        };
        self.view_node("view", layout)
    }

    fn check_numel(&self, op: &str, shape: &[usize]) {
        let numel: usize = shape.iter().product();
        assert!(
            numel == self.numel(),
            "{op}: shape {:?} ({} elements) is invalid for a tensor of shape {:?} ({} elements)",
            shape,
            numel,
            self.shape(),
            self.numel()
        );
    }

    /// `layout`, a reshaped view of this tensor, recorded as `op`: the
    /// gradient is reshaped back.
    fn view_node(&self, op: &'static str, layout: Layout) -> Tensor {
        let in_shape = self.shape().to_vec();
        self.view_with(layout)
            .with_node(op, &[self], move |g| vec![Some(g.reshape(&in_shape))])
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
        if start == end {
            // Nothing to merge: PyTorch returns the input itself.
            return self.clone();
        }
        let mut shape = self.shape()[..start].to_vec();
        shape.push(self.shape()[start..=end].iter().product());
        shape.extend_from_slice(&self.shape()[end + 1..]);
        self.reshape(&shape)
    }

    /// Insert a dim of size 1 at `dim`: a view whose other strides are the
    /// input's, the new one `size * stride` of the dim it lands before (1 at
    /// the end), as PyTorch's.
    pub fn unsqueeze(&self, dim: usize) -> Tensor {
        assert!(
            dim <= self.dims(),
            "unsqueeze: dim {dim} for a tensor of shape {:?}",
            self.shape()
        );
        let mut layout = self.layout().clone();
        let stride = if dim < self.dims() {
            layout.shape[dim] * layout.strides[dim]
        } else {
            1
        };
        layout.shape.insert(dim, 1);
        layout.strides.insert(dim, stride);
        self.view_node("unsqueeze", layout)
    }

    /// Remove the dim `dim` if it has size 1; a dim of another size stays,
    /// as in PyTorch (`squeeze(dim)` is a no-op there, not an error).
    ///
    /// ```
    /// use autograd::Tensor;
    /// assert_eq!(Tensor::zeros(&[3, 1]).squeeze(-1).shape(), &[3]);
    /// assert_eq!(Tensor::zeros(&[3, 1]).squeeze(0).shape(), &[3, 1]);
    /// ```
    pub fn squeeze(&self, dim: isize) -> Tensor {
        let d = self.dim_index(dim);
        if self.dims() == 0 || self.shape()[d] != 1 {
            // Nothing to remove (dim 0 or -1 of a 0-d tensor, or a dim of size > 1).
            return self.alias("squeeze");
        }
        // A view keeping the other dims' strides, as PyTorch's.
        let mut layout = self.layout().clone();
        layout.shape.remove(d);
        layout.strides.remove(d);
        self.view_node("squeeze", layout)
    }

    /// Reorder the dims: result dim `i` is input dim `dims[i]`. A view, no copy.
    pub fn permute(&self, dims: &[usize]) -> Tensor {
        self.permute_as("permute", dims)
    }

    /// `permute`, recorded as `op` (`transpose` and `t` are permutations too).
    fn permute_as(&self, op: &'static str, dims: &[usize]) -> Tensor {
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
            .with_node(op, &[self], move |g| vec![Some(g.permute(&inverse))])
    }

    /// Swap two dims. A view, no copy.
    pub fn transpose(&self, dim0: isize, dim1: isize) -> Tensor {
        let (a, b) = (self.dim_index(dim0), self.dim_index(dim1));
        let mut dims: Vec<usize> = (0..self.dims()).collect();
        // A 0-d tensor has only dim 0 (or -1): swapping it with itself.
        if !dims.is_empty() {
            dims.swap(a, b);
        }
        self.permute_as("transpose", &dims)
    }

    /// Elements `start..start + length` along `dim` (negative counts from the
    /// end), as `torch.narrow` and `t[:, start:start + length]`: a view of the
    /// same storage, so in-place writes to it reach `self`.
    ///
    /// ```
    /// use autograd::Tensor;
    /// let x = Tensor::from_vec((0..6).map(|v| v as f32).collect(), &[2, 3]);
    /// assert_eq!(x.narrow(-1, 1, 2).to_vec(), vec![1.0, 2.0, 4.0, 5.0]);
    /// x.narrow(1, 0, 1).fill_(9.0); // x[:, 0:1] = 9
    /// assert_eq!(x.to_vec(), vec![9.0, 1.0, 2.0, 9.0, 4.0, 5.0]);
    /// ```
    pub fn narrow(&self, dim: isize, start: usize, length: usize) -> Tensor {
        assert!(
            self.dims() > 0,
            "narrow(): cannot be applied to a 0-dim tensor"
        );
        let d = self.dim_index(dim);
        let size = self.shape()[d];
        assert!(
            start <= size && length <= size - start,
            "narrow(): start {start} + length {length} exceeds the size {size} of dim {dim} \
             of a tensor of shape {:?}",
            self.shape()
        );
        let in_shape = self.shape().to_vec();
        self.view_with(self.layout().narrowed(d, start, length))
            .with_node("narrow", &[self], move |g| {
                let grad = Tensor::zeros(&in_shape);
                grad.narrow(d as isize, start, length).copy_(g);
                vec![Some(grad)]
            })
    }

    /// The slice at `index` along `dim`, with that dim removed (negative dim
    /// and index count from the end), as `torch.select`, `t[0]`, `t[:, i]`
    /// and `t[..., -1]`: a view of the same storage.
    ///
    /// ```
    /// use autograd::Tensor;
    /// let x = Tensor::ones(&[4, 4]);
    /// assert_eq!(x.select(0, 0).shape(), [4]); // first row
    /// x.select(1, 1).fill_(0.0); // x[:, 1] = 0
    /// assert_eq!(x.select(0, 2).to_vec(), vec![1.0, 0.0, 1.0, 1.0]);
    /// assert_eq!(x.select(-1, -1).to_vec(), vec![1.0; 4]); // last column
    /// ```
    pub fn select(&self, dim: isize, index: isize) -> Tensor {
        assert!(
            self.dims() > 0,
            "select(): cannot be applied to a 0-dim tensor"
        );
        let d = self.dim_index(dim);
        let size = self.shape()[d];
        let i = if index < 0 {
            index + size as isize
        } else {
            index
        };
        assert!(
            (0..size as isize).contains(&i),
            "select(): index {index} out of range for dim {dim} of size {size} \
             of a tensor of shape {:?}",
            self.shape()
        );
        let i = i as usize;
        let in_shape = self.shape().to_vec();
        self.view_with(self.layout().selected(d, i))
            .with_node("select", &[self], move |g| {
                let grad = Tensor::zeros(&in_shape);
                grad.select(d as isize, i as isize).copy_(g);
                vec![Some(grad)]
            })
    }

    /// The tensors joined along `dim` (negative counts from the end), as
    /// `torch.cat`: their shapes must agree except along `dim`. The result is
    /// a new contiguous tensor; each input's gradient is its slice of the
    /// output's.
    ///
    /// ```
    /// use autograd::Tensor;
    /// let a = Tensor::from_vec(vec![1.0, 2.0], &[2, 1]);
    /// let b = Tensor::from_vec(vec![3.0, 4.0, 5.0, 6.0], &[2, 2]);
    /// let c = Tensor::cat(&[&a, &b], 1);
    /// assert_eq!(c.shape(), [2, 3]);
    /// assert_eq!(c.to_vec(), vec![1.0, 3.0, 4.0, 2.0, 5.0, 6.0]);
    /// ```
    pub fn cat(tensors: &[&Tensor], dim: isize) -> Tensor {
        // PyTorch's legacy rule: a 1-D empty tensor is skipped, whatever the
        // others' shapes (it has no elements, so no gradient either).
        let is_legacy_empty = |t: &&Tensor| t.shape() == [0];
        if tensors.iter().any(is_legacy_empty) && !tensors.iter().all(is_legacy_empty) {
            let kept: Vec<&Tensor> = tensors
                .iter()
                .copied()
                .filter(|t| !is_legacy_empty(t))
                .collect();
            return Tensor::cat(&kept, dim);
        }
        let first = tensors
            .first()
            .expect("cat(): expected a non-empty list of tensors");
        if let Some(p) = tensors.iter().position(|t| t.dims() == 0) {
            panic!("cat(): zero-dimensional tensor (at position {p}) cannot be concatenated");
        }
        let d = first.dim_index(dim);
        let agree = |t: &&Tensor| {
            t.dims() == first.dims()
                && (0..t.dims()).all(|i| i == d || t.shape()[i] == first.shape()[i])
        };
        assert!(
            tensors.iter().all(agree),
            "cat(): shapes must match except in dim {dim}, got {:?}",
            tensors.iter().map(|t| t.shape()).collect::<Vec<_>>()
        );
        let sizes: Vec<usize> = tensors.iter().map(|t| t.shape()[d]).collect();
        let mut shape = first.shape().to_vec();
        shape[d] = sizes.iter().sum();
        // Each input is [outer, size, inner] around `d`: output row o is the
        // inputs' rows o, one after the other.
        let (outer, _, inner) = split_at_dim(&shape, d);
        let mut out = vec![0.0; shape.iter().product()];
        let row = shape[d] * inner;
        let mut at = 0;
        for (t, &size) in tensors.iter().zip(&sizes) {
            let run = size * inner;
            t.with_data(|x| {
                for o in 0..outer {
                    out[o * row + at..o * row + at + run]
                        .copy_from_slice(&x[o * run..(o + 1) * run]);
                }
            });
            at += run;
        }
        Tensor::from_op(out, &shape, "cat", tensors, move |g| {
            // Each input's slice of g: views, free for the inputs that need no grad.
            let mut start = 0;
            let mut grads = Vec::with_capacity(sizes.len());
            for &size in &sizes {
                grads.push(Some(g.narrow(d as isize, start, size)));
                start += size;
            }
            grads
        })
    }

    /// Transpose of a 2-D tensor (`t()`); a 0-D or 1-D tensor comes back as a
    /// new view of itself, as in PyTorch.
    pub fn t(&self) -> Tensor {
        assert!(
            self.dims() <= 2,
            "t(): expects a tensor with <= 2 dimensions, but self is {}D (shape {:?})",
            self.dims(),
            self.shape()
        );
        if self.dims() < 2 {
            // PyTorch returns 0-D and 1-D tensors as they are.
            return self.alias("t");
        }
        self.permute_as("t", &[1, 0])
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
