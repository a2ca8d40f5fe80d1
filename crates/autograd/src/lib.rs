//! # autograd: ferrograd's tensor and reverse-mode automatic differentiation
//!
//! - [`Tensor`]: f32, row-major, any rank; storage shared by views (`Arc`);
//!   made by `from_vec`, `zeros`/`ones`/`rand`/`randn` (and `_like`), `randint`, `full`, `eye`, `arange`;
//!   `clone()` is a second handle, `copy()` a copy of the values (PyTorch's `clone()`);
//!   `Display` prints it as `print(tensor)` does in PyTorch.
//! - The tape ([`tape`]): ops record their inputs and a backward closure;
//!   [`Tensor::backward`] walks the graph in reverse topological order and
//!   accumulates gradients into leaves until they are zeroed, as in PyTorch.
//!   [`Tensor::backward_opts`] takes PyTorch's `gradient` and `retain_graph`
//!   ([`BackwardOptions`]).
//!   An input changed in place after its op ran makes the pass an error
//!   ([`BackwardError::ModifiedInPlace`], PyTorch's version counter).
//! - [`no_grad`] / [`NoGradGuard`]: run without recording; [`Tensor::detach`].
//! - Ops (each with its backward beside it): `matmul` (1-D operands too), `linear`, `add`, `sub`,
//!   `mul`, `div` (broadcasting; also `+ - * /`), scalar ops (`s / x` is `x.reciprocal() * s`,
//!   as in PyTorch), `neg`, `reciprocal`, `relu`, `sigmoid`, `tanh`,
//!   `exp`, `log`, `pow`, `sqrt`, `abs`, `clamp` (`_min`/`_max`), `sum`/`mean` (all or
//!   `_dim`), `max`/`min` (all), `max_dim`,
//!   `reshape`/`view`/`flatten`, `transpose`/`permute`, views `narrow`/`select`,
//!   `cat`, `softmax`/`log_softmax`, `gather`, `mul_mask`; `eq` and `argmax`
//!   (not differentiable).
//! - In-place, through views, not recorded: `fill_`, `zero_`, `add_scalar_`, `copy_`.
//! - [`Generator`], [`manual_seed`]: seeded random numbers.
//! - [`gradcheck`]: finite-difference check of backward rules.
//! - [`parallel`]: elementwise jobs over slices split across the cores (optimizers).
//! - [`CacheAligned`]: a global allocator that puts tensors on cache lines, as
//!   PyTorch's does; a binary installs it with `#[global_allocator]`.
//!
//! ```
//! use autograd::Tensor;
//! let w = Tensor::from_vec(vec![0.5, -0.5], &[1, 2]).requires_grad_(true);
//! let x = Tensor::from_vec(vec![1.0, 2.0], &[1, 2]);
//! let loss = x.linear(&w, None).relu().sum();
//! loss.backward().unwrap();
//! assert_eq!(w.grad().unwrap().to_vec(), vec![0.0, 0.0]); // relu was off
//! ```

#![warn(missing_docs)]

pub mod buffer;
pub mod gradcheck;
pub mod kernels;
mod layout;
mod ops;
mod print;
pub mod rng;
pub mod tape;
mod tensor;

pub use kernels::alloc::CacheAligned;
pub use kernels::parallel;
pub use rng::{manual_seed, Generator};
pub use tape::{is_grad_enabled, no_grad, BackwardError, BackwardOptions, NoGradGuard};
pub use tensor::Tensor;
