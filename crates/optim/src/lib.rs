//! # optim: ferrograd's `torch.optim`
//!
//! PyTorch's model: an optimizer holds handles to the parameters (sharing
//! their storage); `step()` reads each parameter's `.grad()` and updates it in
//! place, skipping parameters without a grad; `zero_grad()` sets grads to `None`.
//! Update formulas, defaults and argument errors are torch.optim's.
//!
//! - [`Optimizer`]: `step`, `zero_grad`, per-group lr (and momentum, for
//!   OneCycleLR), `state_dict` / `load_state_dict` ([`OptimizerState`]).
//! - [`SGD`], [`Adam`], [`AdamW`], [`RMSprop`], [`Adagrad`]: aliases of [`Optim`]
//!   with the configs [`SgdConfig`], [`AdamConfig`], [`AdamWConfig`],
//!   [`RmspropConfig`], [`AdagradConfig`] (`Default` = PyTorch's defaults);
//!   [`ParamGroup`] for groups with their own lr / weight decay.
//! - [`LrScheduler`]: [`StepLR`], [`MultiStepLR`], [`ExponentialLR`],
//!   [`CosineAnnealingLR`], [`LinearLR`], [`OneCycleLR`], [`ReduceLROnPlateau`].
//! - [`clip_grad_norm_`] ([`clip_grad_norm_with`] for `error_if_nonfinite`),
//!   [`clip_grad_value_`] (`torch.nn.utils`).
//! - By name, for the CLI: [`build`] with [`OptimOptions`], [`build_scheduler`] (and
//!   [`scheduler_uses_epochs`]: whether its length comes from the run's).
//!
//! ```
//! use autograd::Tensor;
//! use optim::{Optimizer, SgdConfig, SGD};
//! // Minimise sum((x - 3)^2) from x = 0.
//! let x = Tensor::zeros(&[1]).requires_grad_(true);
//! let mut opt = SGD::new(vec![x.clone()], SgdConfig { lr: 0.1, momentum: 0.9, ..Default::default() }).unwrap();
//! for _ in 0..200 {
//!     opt.zero_grad();
//!     x.sub_scalar(3.0).pow(2.0).sum().backward().unwrap();
//!     opt.step();
//! }
//! assert!((x.item() - 3.0).abs() < 1e-4);
//! ```

#![warn(missing_docs)]

mod adagrad;
mod adam;
mod by_name;
mod clip;
mod error;
mod onecycle;
mod optimizer;
mod plateau;
mod rmsprop;
mod scheduler;
mod sgd;

pub use adagrad::AdagradConfig;
pub use adam::{AdamConfig, AdamWConfig};
pub use by_name::{build, build_scheduler, scheduler_uses_epochs, OptimOptions, OPTIMIZERS};
pub use clip::{clip_grad_norm_, clip_grad_norm_with, clip_grad_value_};
pub use error::OptimError;
pub use onecycle::{AnnealStrategy, OneCycleConfig, OneCycleLR};
pub use optimizer::{Optim, Optimizer, OptimizerState, ParamGroup, Rule};
pub use plateau::{PlateauConfig, PlateauMode, ReduceLROnPlateau, ThresholdMode};
pub use rmsprop::RmspropConfig;
pub use scheduler::{CosineAnnealingLR, ExponentialLR, LinearLR, LrScheduler, MultiStepLR, StepLR};
pub use sgd::SgdConfig;

/// `torch.optim.SGD`.
#[allow(clippy::upper_case_acronyms)] // PyTorch's name
pub type SGD = Optim<SgdConfig>;
/// `torch.optim.Adam`.
pub type Adam = Optim<AdamConfig>;
/// `torch.optim.AdamW`.
pub type AdamW = Optim<AdamWConfig>;
/// `torch.optim.RMSprop`.
pub type RMSprop = Optim<RmspropConfig>;
/// `torch.optim.Adagrad`.
pub type Adagrad = Optim<AdagradConfig>;
