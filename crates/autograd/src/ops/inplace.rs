//! In-place ops, PyTorch's trailing-underscore methods: they write through a
//! view's strides into the storage it shares (`x.select(1, 1).fill_(0.0)` is
//! `x[:, 1] = 0`) and count as a change for the version counter. They are not
//! recorded on the tape: there is no autograd through them. Backward through
//! an op that read the values before the change is an error
//! ([`BackwardError`](crate::BackwardError)`::ModifiedInPlace` or
//! `OutputModifiedInPlace`), never a gradient of values that are gone.

use crate::{tape, Tensor};

impl Tensor {
    /// Set every element to `value`, in place (`t.fill_(value)`, `t[...] = value`).
    /// Not recorded on the tape; on a leaf that requires grad, or a view of
    /// one, it panics while grad mode is on, as PyTorch raises (run it under
    /// [`no_grad`](crate::no_grad)).
    ///
    /// ```
    /// use autograd::Tensor;
    /// let x = Tensor::ones(&[2, 3]);
    /// x.select(1, 1).fill_(0.0); // x[:, 1] = 0
    /// assert_eq!(x.to_vec(), vec![1.0, 0.0, 1.0, 1.0, 0.0, 1.0]);
    /// ```
    pub fn fill_(&self, value: f32) -> &Tensor {
        self.write_in_place("fill_", |_, v| *v = value);
        self
    }

    /// Fill with zeros in place (`t.zero_()`, e.g. `inp.grad.zero_()`): [`Tensor::fill_`] with 0.
    pub fn zero_(&self) -> &Tensor {
        self.fill_(0.0)
    }

    /// Add `value` to every element, in place (`t.add_(value)` with a number).
    /// Not recorded on the tape; refused on a leaf that requires grad as
    /// [`Tensor::fill_`] is.
    ///
    /// ```
    /// use autograd::Tensor;
    /// let x = Tensor::ones(&[2, 2]);
    /// x.add_scalar_(5.0);
    /// assert_eq!(x.to_vec(), vec![6.0; 4]);
    /// ```
    pub fn add_scalar_(&self, value: f32) -> &Tensor {
        self.write_in_place("add_scalar_", |_, v| *v += value);
        self
    }

    /// Overwrite the elements with `src`'s, broadcast to this shape, in place
    /// (`t.copy_(src)`, `t[...] = src`, and what `out=` arguments do). `src`
    /// may share storage with `self`: it is read before anything is written.
    /// Not recorded on the tape; refused on a leaf that requires grad as
    /// [`Tensor::fill_`] is, and when `src` requires grad while grad mode is
    /// on (PyTorch would record the copy; here its gradient would be lost, so
    /// copy `src.detach()`).
    ///
    /// ```
    /// use autograd::Tensor;
    /// let x = Tensor::zeros(&[2, 3]);
    /// x.select(0, 1).copy_(&Tensor::from_vec(vec![1.0, 2.0, 3.0], &[3])); // x[1] = ...
    /// x.select(1, 0).copy_(&Tensor::scalar(7.0)); // x[:, 0] = 7
    /// assert_eq!(x.to_vec(), vec![7.0, 0.0, 0.0, 7.0, 2.0, 3.0]);
    /// ```
    pub fn copy_(&self, src: &Tensor) -> &Tensor {
        assert!(
            !(tape::is_grad_enabled() && src.requires_grad()),
            "copy_: the source requires grad, and in-place ops are not recorded on the tape; \
             copy src.detach() (or run under no_grad)"
        );
        assert!(
            src.broadcasts_to(self.shape()),
            "copy_: a source of shape {:?} does not broadcast to the shape {:?}",
            src.shape(),
            self.shape()
        );
        let values = crate::no_grad(|| src.broadcast_to(self.shape())).to_vec();
        self.write_in_place("copy_", |i, v| *v = values[i]);
        self
    }
}
