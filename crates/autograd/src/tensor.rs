//! The `Tensor` type: shared f32 storage seen through a strided layout, plus
//! the autograd fields (requires_grad, grad, and the node that produced it).

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::buffer::Buffer;
use crate::layout::Layout;
use crate::rng::{self, Generator};
use crate::tape::{self, BackwardFn, Node};

/// An n-dimensional f32 tensor, row-major, cheap to clone (an `Arc`): `clone()`
/// is a second handle to the same tensor; PyTorch's `clone()`, a copy of the
/// values, is [`Tensor::copy`].
///
/// Views (`view`, `transpose`, `t`, `permute`, `narrow`, `select`, `squeeze`,
/// `unsqueeze`, `detach`, and `reshape` where the strides allow) share storage
/// with their source instead of copying it; in-place ops (`fill_`, `zero_`,
/// `add_scalar_`, `copy_`) write through them.
///
/// ```
/// use autograd::Tensor;
/// let x = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2]).requires_grad_(true);
/// let y = x.mul(&x).sum();
/// y.backward().unwrap();
/// assert_eq!(x.grad().unwrap().to_vec(), vec![2.0, 4.0, 6.0, 8.0]);
/// ```
#[derive(Clone)]
pub struct Tensor(pub(crate) Arc<Inner>);

pub(crate) struct Inner {
    pub(crate) storage: Arc<RwLock<Buffer>>,
    pub(crate) layout: Layout,
    pub(crate) requires_grad: AtomicBool,
    /// Accumulated gradient; only leaves keep one across backward passes.
    pub(crate) grad: Mutex<Option<Tensor>>,
    /// The op that produced this tensor, if it was recorded.
    pub(crate) node: Option<Node>,
    /// Whether this is a view that in-place ops refuse while grad mode is on.
    pub(crate) view: ViewKind,
}

/// The views in-place ops refuse while grad mode is on, as PyTorch does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ViewKind {
    /// Not a view, or one that may be written in place.
    Free,
    /// Made by a recorded op (through any chain of views) from a leaf that requires grad.
    OfGradLeaf,
    /// Made under `no_grad` (through any chain of views) from a tensor that requires grad.
    MadeInNoGrad,
}

impl Tensor {
    // ---------------------------------------------------------------- construction

    /// A tensor owning `data`, viewed with `shape`. Panics if the sizes differ.
    pub fn from_vec(data: Vec<f32>, shape: &[usize]) -> Tensor {
        let numel: usize = shape.iter().product();
        assert!(
            data.len() == numel,
            "Tensor::from_vec: {} values cannot have shape {:?} ({} elements)",
            data.len(),
            shape,
            numel
        );
        Tensor::from_parts(
            Arc::new(RwLock::new(data.into())),
            Layout::contiguous(shape),
            None,
            ViewKind::Free,
        )
    }

    /// A tensor copying `data` with `shape`.
    pub fn from_slice(data: &[f32], shape: &[usize]) -> Tensor {
        Tensor::from_vec(data.to_vec(), shape)
    }

    /// A 0-dimensional tensor holding one value.
    pub fn scalar(value: f32) -> Tensor {
        Tensor::from_vec(vec![value], &[])
    }

    /// Zeros of `shape` (`torch.zeros`).
    pub fn zeros(shape: &[usize]) -> Tensor {
        Tensor::full(shape, 0.0)
    }

    /// Ones of `shape` (`torch.ones`).
    pub fn ones(shape: &[usize]) -> Tensor {
        Tensor::full(shape, 1.0)
    }

    /// `value` in every element of `shape` (`torch.full`).
    pub fn full(shape: &[usize], value: f32) -> Tensor {
        Tensor::from_vec(vec![value; shape.iter().product()], shape)
    }

    /// Zeros of `other`'s shape (`torch.zeros_like`).
    pub fn zeros_like(other: &Tensor) -> Tensor {
        Tensor::zeros(other.shape())
    }

    /// Ones of `other`'s shape (`torch.ones_like`).
    pub fn ones_like(other: &Tensor) -> Tensor {
        Tensor::ones(other.shape())
    }

    /// An `[n, m]` matrix with ones on the diagonal (`torch.eye(n, m)`).
    ///
    /// ```
    /// use autograd::Tensor;
    /// assert_eq!(Tensor::eye(2, 3).to_vec(), vec![1.0, 0.0, 0.0, 0.0, 1.0, 0.0]);
    /// ```
    pub fn eye(n: usize, m: usize) -> Tensor {
        let mut data = vec![0.0; n * m];
        for i in 0..n.min(m) {
            data[i * m + i] = 1.0;
        }
        Tensor::from_vec(data, &[n, m])
    }

    /// Uniform samples in `[low, high)` from `generator`.
    pub fn rand_uniform(shape: &[usize], low: f32, high: f32, generator: &mut Generator) -> Tensor {
        let n = shape.iter().product();
        Tensor::from_vec(
            (0..n).map(|_| generator.uniform(low, high)).collect(),
            shape,
        )
    }

    /// Normal samples with the given mean and standard deviation from
    /// `generator`, drawn as `torch.Tensor.normal_` draws them
    /// ([`Generator::fill_normal`]).
    /// The mean and standard deviation are `f64`, Python floats, as PyTorch
    /// computes with them.
    pub fn rand_normal(shape: &[usize], mean: f64, std: f64, generator: &mut Generator) -> Tensor {
        let mut values = vec![0.0; shape.iter().product()];
        generator.fill_normal(&mut values, mean, std);
        Tensor::from_vec(values, shape)
    }

    /// `torch.rand`: U[0, 1) from the default generator (see [`crate::manual_seed`]).
    pub fn rand(shape: &[usize]) -> Tensor {
        rng::with_default(|g| Tensor::rand_uniform(shape, 0.0, 1.0, g))
    }

    /// `torch.randn`: N(0, 1) from the default generator (see [`crate::manual_seed`]).
    pub fn randn(shape: &[usize]) -> Tensor {
        rng::with_default(|g| Tensor::rand_normal(shape, 0.0, 1.0, g))
    }

    /// `torch.randint(low, high, size)`: integers uniform in `[low, high)`,
    /// held as f32, from the default generator, drawn as PyTorch draws them
    /// (one 32-bit output modulo the span, plus `low`).
    ///
    /// # Panics
    /// If `high <= low`, as PyTorch raises, or if a bound lies outside
    /// ±2^24, where f32 stops holding every integer (a draw could round to `high`).
    ///
    /// ```
    /// use autograd::Tensor;
    /// let i = Tensor::randint(0, 10, &[1]).item(); // a random index below 10
    /// assert!((0.0..10.0).contains(&i) && i.fract() == 0.0);
    /// ```
    pub fn randint(low: i64, high: i64, shape: &[usize]) -> Tensor {
        assert!(
            low < high,
            "randint: random_ expects 'from' to be less than 'to', but got from={low} >= to={high}"
        );
        const EXACT: i64 = 1 << 24;
        assert!(
            (-EXACT..=EXACT).contains(&low) && (-EXACT..=EXACT).contains(&high),
            "randint: bounds {low} and {high} must lie within ±2^24, where f32 holds every integer"
        );
        let span = high.abs_diff(low);
        let n = shape.iter().product();
        let values = rng::with_default(|g| {
            (0..n)
                .map(|_| (low + (g.next_u32() as u64 % span) as i64) as f32)
                .collect()
        });
        Tensor::from_vec(values, shape)
    }

    /// Uniform samples in `[0, 1)` of `other`'s shape from the default
    /// generator (`torch.rand_like`).
    pub fn rand_like(other: &Tensor) -> Tensor {
        Tensor::rand(other.shape())
    }

    /// Normal samples N(0, 1) of `other`'s shape from the default generator
    /// (`torch.randn_like`).
    pub fn randn_like(other: &Tensor) -> Tensor {
        Tensor::randn(other.shape())
    }

    /// `torch.arange(start, end, step)` as float32: the
    /// `ceil((end - start) / step)` values `start + i * step`, computed in f64
    /// as PyTorch's CPU kernel does and rounded to f32 the same way, bit for
    /// bit (up to 32768 values; longer ranges PyTorch splits across its threads,
    /// which moves some values by an ulp). The bounds are f64 (or anything
    /// that widens to it, f32 and i32 included), so that `arange(0.0, 0.3,
    /// 0.1)` has PyTorch's 3 values: in f32, 0.3 / 0.1 is just above 3 and
    /// gives 4, as `torch.arange` given those f32 values does.
    ///
    /// Panics as PyTorch raises: a step that is 0 or not finite, bounds that
    /// are not finite, or `end` on the wrong side of `start` for the step's sign.
    ///
    /// ```
    /// use autograd::Tensor;
    /// assert_eq!(Tensor::arange(0, 5, 2).to_vec(), vec![0.0, 2.0, 4.0]);
    /// assert_eq!(Tensor::arange(1.0, 0.0, -0.25).to_vec(), vec![1.0, 0.75, 0.5, 0.25]);
    /// ```
    pub fn arange(start: impl Into<f64>, end: impl Into<f64>, step: impl Into<f64>) -> Tensor {
        let (start, end, step) = (start.into(), end.into(), step.into());
        assert!(
            step.is_finite(),
            "arange: step must be finite but got {step}"
        );
        assert!(step != 0.0, "arange: step must be nonzero");
        assert!(
            start.is_finite() && end.is_finite(),
            "arange: unsupported range: {start} -> {end}"
        );
        assert!(
            (step > 0.0 && end >= start) || (step < 0.0 && end <= start),
            "arange: upper bound and lower bound inconsistent with step sign \
             (start {start}, end {end}, step {step})"
        );
        let size = ((end - start) / step).ceil();
        assert!(
            size <= (isize::MAX as usize / std::mem::size_of::<f32>()) as f64,
            "arange: invalid size, possible overflow? ({size} values from {start} to {end} by {step})"
        );
        let n = size as usize;
        // PyTorch's CPU kernel (its AVX2 build, which AVX-512 machines run
        // too, compiled with fused multiply-adds) fills blocks of 16 as two
        // vectors of 8: a vector's first value is `start + step * i` rounded to
        // f32, the others that f32 plus `j * step`, each one fused multiply-add
        // in f64 rounded to f32. The last `n % 16` values are `start + step * i`,
        // fused too: `arange(-1, 1, 0.2)[5]` is 5.551115e-17, not 0.
        let at = |i: usize| step.mul_add(i as f64, start) as f32;
        let mut data = Vec::with_capacity(n);
        let blocks = n / 16 * 16;
        for v in (0..blocks).step_by(8) {
            let base = at(v);
            data.push(base);
            data.extend((1..8).map(|j| step.mul_add(j as f64, base as f64) as f32));
        }
        data.extend((blocks..n).map(at));
        Tensor::from_vec(data, &[n])
    }

    pub(crate) fn from_parts(
        storage: Arc<RwLock<Buffer>>,
        layout: Layout,
        node: Option<Node>,
        view: ViewKind,
    ) -> Tensor {
        let requires_grad = node.is_some();
        Tensor(Arc::new(Inner {
            storage,
            layout,
            requires_grad: AtomicBool::new(requires_grad),
            grad: Mutex::new(None),
            node,
            view,
        }))
    }

    /// The result of an op, as `torch.autograd.Function` makes one: `data`
    /// with `shape`, and a `backward` rule giving each input's gradient (or
    /// `None`) from the output's. The rule is recorded only when grad mode is
    /// on and an input requires grad. Every built-in op is made this way.
    ///
    /// ```
    /// use autograd::Tensor;
    /// let x = Tensor::from_vec(vec![0.5, 1.0], &[2]).requires_grad_(true);
    /// let sin: Vec<f32> = x.to_vec().iter().map(|v| v.sin()).collect();
    /// let saved = x.clone();
    /// let y = Tensor::from_op(sin, &[2], "sin", &[&x], move |g| {
    ///     let cos: Vec<f32> = saved.to_vec().iter().map(|v| v.cos()).collect();
    ///     vec![Some(g.mul(&Tensor::from_vec(cos, &[2])))]
    /// });
    /// y.sum().backward().unwrap();
    /// assert_eq!(x.grad().unwrap().to_vec(), vec![0.5f32.cos(), 1.0f32.cos()]);
    /// ```
    pub fn from_op(
        data: Vec<f32>,
        shape: &[usize],
        op: &'static str,
        inputs: &[&Tensor],
        backward: impl Fn(&Tensor) -> Vec<Option<Tensor>> + Send + 'static,
    ) -> Tensor {
        let out = Tensor::from_vec(data, shape);
        out.with_node(op, inputs, backward)
    }

    /// This tensor's values as the output of a recorded op, when recording.
    pub(crate) fn with_node(
        self,
        op: &'static str,
        inputs: &[&Tensor],
        backward: impl Fn(&Tensor) -> Vec<Option<Tensor>> + Send + 'static,
    ) -> Tensor {
        if !tape::is_recording(inputs) {
            return self;
        }
        let backward: BackwardFn = Box::new(backward);
        let inputs = inputs.iter().map(|t| (*t).clone()).collect();
        let node = Node::new(op, inputs, self.version(), backward);
        // A new handle on the same storage: a closure may keep `self` (say, an
        // op's output values) without a reference cycle through the node.
        Tensor::from_parts(
            self.0.storage.clone(),
            self.0.layout.clone(),
            Some(node),
            self.0.view,
        )
    }

    /// A view of the same storage with another layout (no node attached;
    /// the view op records itself with `with_node`), of the kind in-place
    /// ops check: PyTorch refuses to write through a view, while grad mode is
    /// on, of a leaf that requires grad, or one made under `no_grad` of a
    /// tensor that requires grad (through any chain of views).
    pub(crate) fn view_with(&self, layout: Layout) -> Tensor {
        let grad_mode = tape::is_grad_enabled();
        let view = match self.0.view {
            ViewKind::MadeInNoGrad => ViewKind::MadeInNoGrad,
            _ if !grad_mode && self.requires_grad() => ViewKind::MadeInNoGrad,
            ViewKind::OfGradLeaf if grad_mode => ViewKind::OfGradLeaf,
            _ if grad_mode && self.is_leaf() && self.requires_grad() => ViewKind::OfGradLeaf,
            _ => ViewKind::Free,
        };
        let out = Tensor::from_parts(self.0.storage.clone(), layout, None, view);
        if !grad_mode && self.requires_grad() {
            // As PyTorch: a view made under no_grad of a tensor that requires
            // grad is a leaf that requires grad (its own, not its base's).
            out.0.requires_grad.store(true, Ordering::Relaxed);
        }
        out
    }

    /// A new view of the same elements, the gradient passed through (`op`
    /// names it): what PyTorch returns from a view op that changes nothing
    /// (`squeeze` of a dim that is not 1, `t()` of a 1-D tensor), a tensor of
    /// its own and not a leaf, rather than the input itself.
    pub(crate) fn alias(&self, op: &'static str) -> Tensor {
        self.view_with(self.0.layout.clone())
            .with_node(op, &[self], |g| vec![Some(g.clone())])
    }

    // ---------------------------------------------------------------- metadata

    /// Size of each dim (`x.shape`); empty for a 0-d tensor.
    pub fn shape(&self) -> &[usize] {
        &self.0.layout.shape
    }

    /// Number of dims (`x.dim()`); 0 for a 0-d tensor.
    pub fn dims(&self) -> usize {
        self.0.layout.shape.len()
    }

    /// Size along `dim` (negative counts from the end, as in PyTorch).
    /// Panics on a 0-d tensor, which has no dims to size.
    pub fn size(&self, dim: isize) -> usize {
        assert!(
            self.dims() > 0,
            "size(): dimension {dim} specified, but the tensor has no dimensions"
        );
        self.shape()[self.dim_index(dim)]
    }

    /// Number of elements (`x.numel()`): the product of the shape, so 1 for a 0-d tensor.
    pub fn numel(&self) -> usize {
        self.0.layout.numel()
    }

    /// Storage step of each dim, in elements (`x.stride()`).
    pub fn strides(&self) -> &[usize] {
        &self.0.layout.strides
    }

    /// Row-major with no gaps (`x.is_contiguous()`): dims of size 1 may have
    /// any stride, and an empty tensor is contiguous, as in PyTorch.
    pub fn is_contiguous(&self) -> bool {
        self.0.layout.is_contiguous()
    }

    pub(crate) fn layout(&self) -> &Layout {
        &self.0.layout
    }

    /// Resolve a possibly negative dim; panics with a clear message if out of
    /// range. A 0-d tensor takes 0 or -1, as one of size 1 (as in PyTorch).
    pub fn dim_index(&self, dim: isize) -> usize {
        let n = (self.dims() as isize).max(1);
        let d = if dim < 0 { dim + n } else { dim };
        assert!(
            (0..n).contains(&d),
            "dimension {dim} out of range for a tensor of shape {:?}",
            self.shape()
        );
        d as usize
    }

    /// True when both handles are the same tensor (not just equal values).
    pub fn same(&self, other: &Tensor) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// True when both are views of one storage (PyTorch:
    /// `a.untyped_storage().data_ptr() == b.untyped_storage().data_ptr()`),
    /// so that writing one may change the other.
    ///
    /// ```
    /// use autograd::Tensor;
    /// let x = Tensor::zeros(&[2, 3]);
    /// assert!(x.t().shares_storage(&x));
    /// assert!(!x.copy().shares_storage(&x));
    /// ```
    pub fn shares_storage(&self, other: &Tensor) -> bool {
        Arc::ptr_eq(&self.0.storage, &other.0.storage)
    }

    // ---------------------------------------------------------------- data access

    /// The values in row-major order (copied).
    pub fn to_vec(&self) -> Vec<f32> {
        self.with_data(|d| d.to_vec())
    }

    /// The single value of a one-element tensor (`.item()` in PyTorch).
    pub fn item(&self) -> f32 {
        assert!(
            self.numel() == 1,
            "item(): a tensor of shape {:?} has {} elements, not one",
            self.shape(),
            self.numel()
        );
        self.with_data(|d| d[0])
    }

    /// Run `f` on the values in row-major order: borrowed when the tensor is
    /// contiguous, gathered into a temporary otherwise.
    pub fn with_data<R>(&self, f: impl FnOnce(&[f32]) -> R) -> R {
        let storage = self.read_storage();
        let layout = &self.0.layout;
        if layout.is_contiguous() {
            f(&storage[layout.offset..layout.offset + layout.numel()])
        } else {
            f(&layout.gather(&storage))
        }
    }

    /// Mutate the values in place, outside the graph (what optimizers do).
    /// Panics on a non-contiguous view; parameters are always contiguous.
    /// Counts as a change for every view of the storage: a backward pass
    /// through an op recorded before it is an error
    /// ([`BackwardError::ModifiedInPlace`](crate::BackwardError::ModifiedInPlace)).
    pub fn with_data_mut<R>(&self, f: impl FnOnce(&mut [f32]) -> R) -> R {
        let layout = &self.0.layout;
        assert!(
            layout.is_contiguous(),
            "in-place update of a non-contiguous view of shape {:?}",
            layout.shape
        );
        let mut storage = self.write_storage();
        f(&mut storage[layout.offset..layout.offset + layout.numel()])
    }

    /// Write each viewed element in place, in row-major order (`f(i, value)`
    /// for the `i`-th), through a view's strides into the storage it shares;
    /// counts as one change for the version counter. What the in-place ops
    /// (`fill_`, `add_scalar_`, `copy_`) run, after refusing what PyTorch refuses:
    /// a leaf that requires grad, or a view of one, while grad mode is on.
    pub(crate) fn write_in_place(&self, op: &str, mut f: impl FnMut(usize, &mut f32)) {
        // In PyTorch's order: a view made under no_grad is checked first (it
        // is also a leaf that requires grad, see `view_with`).
        assert!(
            !(tape::is_grad_enabled() && self.0.view == ViewKind::MadeInNoGrad),
            "{op}: a view was created in no_grad mode and is being modified in place with grad \
             mode enabled (make the view with grad mode on, or write under no_grad)"
        );
        if tape::is_grad_enabled() && self.requires_grad() {
            assert!(
                !self.is_leaf(),
                "{op}: a leaf Variable that requires grad is being used in an in-place operation \
                 (run it under no_grad, or on detach())"
            );
            assert!(
                self.0.view != ViewKind::OfGradLeaf,
                "{op}: a view of a leaf Variable that requires grad is being used in an in-place \
                 operation (run it under no_grad, or on detach())"
            );
        }
        let layout = &self.0.layout;
        let mut storage = self.write_storage();
        if layout.is_contiguous() {
            let values = &mut storage[layout.offset..layout.offset + layout.numel()];
            values.iter_mut().enumerate().for_each(|(i, v)| f(i, v));
        } else {
            let mut i = 0;
            layout.for_each_position(|p| {
                f(i, &mut storage[p]);
                i += 1;
            });
        }
    }

    /// How many times the storage was changed in place (`tensor._version`).
    pub(crate) fn version(&self) -> u64 {
        self.read_storage().version
    }

    /// Overwrite the values with `src` (same number of elements), in place.
    pub fn copy_from_slice(&self, src: &[f32]) {
        self.with_data_mut(|d| {
            assert!(
                d.len() == src.len(),
                "copy_from_slice: {} values into a tensor of shape {:?}",
                src.len(),
                self.shape()
            );
            d.copy_from_slice(src)
        })
    }

    pub(crate) fn read_storage(&self) -> RwLockReadGuard<'_, Buffer> {
        self.0.storage.read().expect("tensor storage lock poisoned")
    }

    /// The storage, to be changed in place: counts as one change for the
    /// version counter.
    fn write_storage(&self) -> RwLockWriteGuard<'_, Buffer> {
        let mut storage = self
            .0
            .storage
            .write()
            .expect("tensor storage lock poisoned");
        storage.version += 1;
        storage
    }

    /// A contiguous tensor with the same values: itself if already
    /// contiguous, else a row-major copy (recorded as PyTorch's `clone`).
    pub fn contiguous(&self) -> Tensor {
        if self.is_contiguous() {
            return self.clone();
        }
        self.recorded_copy(Tensor::from_vec(self.to_vec(), self.shape()))
    }

    /// A copy with storage of its own: PyTorch's `clone()`. Rust's `Clone`
    /// copies the handle, sharing storage (as `Arc::clone` does), so a
    /// snapshot of weights about to be updated in place is `w.detach().copy()`.
    /// Recorded: the gradient passes back unchanged. As PyTorch's (its
    /// `preserve_format`), a tensor whose elements fill a block of memory
    /// without gaps keeps its strides (a transpose stays a transpose); any
    /// other is copied row-major.
    ///
    /// ```
    /// use autograd::Tensor;
    /// let w = Tensor::from_vec(vec![1.0, 2.0], &[2]);
    /// let (handle, snapshot) = (w.clone(), w.copy());
    /// w.fill_(0.0);
    /// assert_eq!(handle.to_vec(), vec![0.0, 0.0]);
    /// assert_eq!(snapshot.to_vec(), vec![1.0, 2.0]);
    /// ```
    pub fn copy(&self) -> Tensor {
        let layout = &self.0.layout;
        if !layout.is_dense() {
            // Never contiguous, so `contiguous()` is the recorded row-major copy.
            return self.contiguous();
        }
        // The block the elements fill, copied as it is, seen with the same strides.
        let block = self.read_storage()[layout.offset..layout.offset + layout.numel()].to_vec();
        let same_strides = Layout {
            offset: 0,
            ..layout.clone()
        };
        let storage = Arc::new(RwLock::new(block.into()));
        self.recorded_copy(Tensor::from_parts(
            storage,
            same_strides,
            None,
            ViewKind::Free,
        ))
    }

    /// `copied` (this tensor's values in storage of its own) as the output
    /// of PyTorch's `clone`: the gradient passes back unchanged.
    fn recorded_copy(&self, copied: Tensor) -> Tensor {
        copied.with_node("clone", &[self], |g| vec![Some(g.clone())])
    }

    // ---------------------------------------------------------------- autograd fields

    /// Mark a leaf as requiring grad (builder style): `Tensor::randn(..).requires_grad_(true)`.
    pub fn requires_grad_(self, requires_grad: bool) -> Tensor {
        assert!(
            self.0.node.is_none() || requires_grad,
            "requires_grad_(false) on a non-leaf tensor: use detach()"
        );
        self.0.requires_grad.store(requires_grad, Ordering::Relaxed);
        self
    }

    /// Whether ops on this tensor are recorded (`x.requires_grad`): set on leaves
    /// by [`Tensor::requires_grad_`], true for the output of a recorded op.
    pub fn requires_grad(&self) -> bool {
        self.0.requires_grad.load(Ordering::Relaxed)
    }

    /// A leaf is a tensor not produced by a recorded op.
    pub fn is_leaf(&self) -> bool {
        self.0.node.is_none()
    }

    /// The accumulated gradient of a leaf, if any (`.grad` in PyTorch).
    pub fn grad(&self) -> Option<Tensor> {
        self.0.grad.lock().expect("grad lock poisoned").clone()
    }

    /// Replace the gradient (`None` is PyTorch's `zero_grad(set_to_none=True)`).
    pub fn set_grad(&self, grad: Option<Tensor>) {
        if let Some(g) = &grad {
            assert!(
                g.shape() == self.shape(),
                "set_grad: gradient of shape {:?} for a tensor of shape {:?}",
                g.shape(),
                self.shape()
            );
        }
        *self.0.grad.lock().expect("grad lock poisoned") = grad;
    }

    /// Fill an existing gradient with zeros in place (`zero_grad(set_to_none=False)`).
    pub fn zero_grad_(&self) {
        if let Some(g) = self.grad() {
            // Through any strides: a grad the user set may be a view.
            g.fill_(0.0);
        }
    }

    /// The same values, cut from the graph; shares storage, and may be
    /// written in place (as in PyTorch, the version counter still sees it).
    pub fn detach(&self) -> Tensor {
        Tensor::from_parts(
            self.0.storage.clone(),
            self.0.layout.clone(),
            None,
            ViewKind::Free,
        )
    }

    /// The backward function of the op that produced this tensor, if it was
    /// recorded, by PyTorch's name (`grad_fn`): `AddBackward0` for a sum,
    /// `ReluBackward0` for a fused linear-and-ReLU layer (the last op it
    /// stands for), as `print(tensor)` shows it.
    ///
    /// ```
    /// use autograd::Tensor;
    /// let x = Tensor::ones(&[2]).requires_grad_(true);
    /// assert_eq!(x.add_scalar(1.0).grad_fn(), Some("AddBackward0"));
    /// assert_eq!(x.grad_fn(), None); // a leaf
    /// ```
    pub fn grad_fn(&self) -> Option<&'static str> {
        self.0.node.as_ref().map(|n| tape::backward_name(n.op))
    }
}

impl fmt::Debug for Tensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let values = self.to_vec();
        let shown: Vec<f32> = values.iter().copied().take(8).collect();
        write!(f, "Tensor(shape={:?}, values={:?}", self.shape(), shown)?;
        if values.len() > 8 {
            write!(f, "...")?;
        }
        if let Some(op) = self.grad_fn() {
            write!(f, ", grad_fn={op}")?;
        } else if self.requires_grad() {
            write!(f, ", requires_grad=true")?;
        }
        write!(f, ")")
    }
}
