//! # nn: ferrograd's layers, losses and checkpoints
//!
//! PyTorch's `torch.nn` on the [`autograd`] tensor, with the same names,
//! defaults and parameter names.
//!
//! - [`Module`]: `forward`, `named_children`, `named_parameters` (dotted
//!   names), `named_buffers`, `train`/`eval`, `zero_grad`, `state_dict`,
//!   `load_state_dict`, `repr`; [`prefixed`] names a child's parameters.
//! - Layers: [`Linear`], [`ReLU`], [`Flatten`], [`Identity`], [`Softmax`],
//!   [`LogSoftmax`], [`Dropout`], [`BatchNorm1d`] ([`BatchNorm1dConfig`]), [`Sequential`] (built
//!   with [`sequential!`]).
//! - Losses: [`CrossEntropyLoss`], [`NLLLoss`], [`MSELoss`],
//!   [`BCEWithLogitsLoss`], [`BCELoss`], and as functions in [`functional`]
//!   with [`Reduction`].
//! - [`init`]: all of `torch.nn.init`'s fills (`kaiming_uniform_`, `xavier_normal_`,
//!   `trunc_normal_`, `orthogonal_`, `sparse_`, `dirac_`, ...).
//! - Checkpoints: [`StateDict`], [`save_safetensors`], [`load_safetensors`]
//!   (and `_with_metadata`), [`CheckpointError`] ([`ShapeMismatch`]), [`IncompatibleKeys`].
//! - [`models::NeuralNetwork`]: the tutorial's model.
//!
//! ```
//! use autograd::Tensor;
//! use nn::{models::NeuralNetwork, CrossEntropyLoss, Module};
//!
//! let model = NeuralNetwork::new();
//! let logits = model.forward(&Tensor::rand(&[3, 1, 28, 28]));
//! let loss = CrossEntropyLoss::new().forward(&logits, &Tensor::from_vec(vec![0.0, 9.0, 4.0], &[3]));
//! loss.backward().unwrap();
//! assert_eq!(model.named_parameters()[0].0, "linear_relu_stack.0.weight");
//! ```

#![warn(missing_docs)]

mod batchnorm;
mod checkpoint;
pub mod functional;
pub mod init;
mod layers;
mod loss;
pub mod models;
mod module;
mod sequential;

pub use batchnorm::{BatchNorm1d, BatchNorm1dConfig};
pub use checkpoint::{
    load_safetensors, load_safetensors_with_metadata, save_safetensors,
    save_safetensors_with_metadata, CheckpointError, ShapeMismatch,
};
pub use functional::Reduction;
pub use layers::{Dropout, Flatten, Identity, Linear, LogSoftmax, ReLU, Softmax};
pub use loss::{BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, MSELoss, NLLLoss};
pub use module::{prefixed, IncompatibleKeys, Module, StateDict};
pub use sequential::Sequential;

/// The README's Rust example, compiled and run as a doctest so that it cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;
