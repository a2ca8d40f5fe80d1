//! `torch.nn.init`: fill a parameter in place with the values a layer should
//! start from. Each function runs without recording (PyTorch's run under
//! `no_grad`), so it takes a leaf that requires grad, and bumps its version
//! counter, as PyTorch's do; random ones draw from the default generator
//! ([`autograd::manual_seed`]). The formulas and fans are PyTorch's.
//!
//! ```
//! use autograd::Tensor;
//! use nn::init::{self, FanMode, Nonlinearity};
//! let w = Tensor::zeros(&[512, 784]).requires_grad_(true);
//! init::kaiming_uniform_(&w, FanMode::FanIn, Nonlinearity::Relu);
//! let bound = (2.0f64).sqrt() * (3.0f64 / 784.0).sqrt(); // gain * sqrt(3 / fan_in)
//! assert!(w.to_vec().iter().all(|v| v.abs() as f64 <= bound));
//! ```

use autograd::{rng, Tensor};

/// The activation a layer feeds, for [`calculate_gain`] (PyTorch's
/// `nonlinearity` strings; the convolutions' gain is the linear one).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Nonlinearity {
    /// `"linear"`, `"conv1d"`, `"conv2d"`, ...: gain 1.
    Linear,
    /// `"sigmoid"`: gain 1.
    Sigmoid,
    /// `"tanh"`: gain 5/3.
    Tanh,
    /// `"relu"`: gain sqrt(2).
    Relu,
    /// `"leaky_relu"` with its negative slope (PyTorch's default 0.01): gain
    /// sqrt(2 / (1 + slope^2)).
    LeakyRelu(f64),
    /// `"selu"`: gain 3/4.
    Selu,
}

/// Which fan keeps the variance (`mode=` of the kaiming functions).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FanMode {
    /// The forward pass's (PyTorch's default).
    FanIn,
    /// The backward pass's.
    FanOut,
}

/// The recommended gain for `nonlinearity` (`nn.init.calculate_gain`).
///
/// ```
/// use nn::init::{calculate_gain, Nonlinearity};
/// assert_eq!(calculate_gain(Nonlinearity::Relu), 2.0f64.sqrt());
/// ```
pub fn calculate_gain(nonlinearity: Nonlinearity) -> f64 {
    match nonlinearity {
        Nonlinearity::Linear | Nonlinearity::Sigmoid => 1.0,
        Nonlinearity::Tanh => 5.0 / 3.0,
        Nonlinearity::Relu => 2.0f64.sqrt(),
        Nonlinearity::LeakyRelu(slope) => (2.0 / (1.0 + slope * slope)).sqrt(),
        Nonlinearity::Selu => 3.0 / 4.0,
    }
}

/// `(fan_in, fan_out)` of a weight `[out, in, k...]`: `in` and `out` times
/// the receptive field (the product of the `k`s), as PyTorch counts them.
///
/// # Panics
/// On a tensor of fewer than 2 dims, as PyTorch raises.
pub fn calculate_fan_in_and_fan_out(tensor: &Tensor) -> (usize, usize) {
    let shape = tensor.shape();
    assert!(
        shape.len() >= 2,
        "Fan in and fan out can not be computed for tensor with fewer than 2 dimensions \
         (shape {shape:?})"
    );
    let receptive_field: usize = shape[2..].iter().product();
    (shape[1] * receptive_field, shape[0] * receptive_field)
}

/// Uniform in `[a, b)` (`nn.init.uniform_`).
pub fn uniform_(tensor: &Tensor, a: f64, b: f64) -> &Tensor {
    rng::with_default(|g| write(tensor, || g.uniform(a as f32, b as f32)))
}

/// Normal with mean `mean` and standard deviation `std` (`nn.init.normal_`).
pub fn normal_(tensor: &Tensor, mean: f64, std: f64) -> &Tensor {
    rng::with_default(|g| write(tensor, || g.normal(mean as f32, std as f32)))
}

/// Every element `value` (`nn.init.constant_`).
pub fn constant_(tensor: &Tensor, value: f64) -> &Tensor {
    autograd::no_grad(|| tensor.fill_(value as f32));
    tensor
}

/// Every element 1 (`nn.init.ones_`).
pub fn ones_(tensor: &Tensor) -> &Tensor {
    constant_(tensor, 1.0)
}

/// Every element 0 (`nn.init.zeros_`).
pub fn zeros_(tensor: &Tensor) -> &Tensor {
    constant_(tensor, 0.0)
}

/// The identity matrix, for a 2-D tensor (`nn.init.eye_`): ones where the
/// row and column indices agree.
///
/// # Panics
/// On a tensor that is not 2-D, as PyTorch raises.
pub fn eye_(tensor: &Tensor) -> &Tensor {
    assert!(
        tensor.dims() == 2,
        "eye_: only tensors with 2 dimensions are supported, got shape {:?}",
        tensor.shape()
    );
    let eye = Tensor::eye(tensor.shape()[0], tensor.shape()[1]);
    autograd::no_grad(|| tensor.copy_(&eye));
    tensor
}

/// Glorot uniform (`nn.init.xavier_uniform_`): `U(-bound, bound)` with
/// `bound = gain * sqrt(6 / (fan_in + fan_out))`.
pub fn xavier_uniform_(tensor: &Tensor, gain: f64) -> &Tensor {
    let (fan_in, fan_out) = calculate_fan_in_and_fan_out(tensor);
    let std = gain * (2.0 / (fan_in + fan_out) as f64).sqrt();
    let bound = 3.0f64.sqrt() * std;
    uniform_(tensor, -bound, bound)
}

/// Glorot normal (`nn.init.xavier_normal_`): `N(0, std^2)` with
/// `std = gain * sqrt(2 / (fan_in + fan_out))`.
pub fn xavier_normal_(tensor: &Tensor, gain: f64) -> &Tensor {
    let (fan_in, fan_out) = calculate_fan_in_and_fan_out(tensor);
    let std = gain * (2.0 / (fan_in + fan_out) as f64).sqrt();
    normal_(tensor, 0.0, std)
}

/// He uniform (`nn.init.kaiming_uniform_`): `U(-bound, bound)` with
/// `bound = gain * sqrt(3 / fan)`, the gain of `nonlinearity`. PyTorch's
/// default (`a=0`, `nonlinearity='leaky_relu'`) is `LeakyRelu(0.0)`; its `a`
/// is the slope that `LeakyRelu` carries. `nn.Linear`'s own init is
/// `kaiming_uniform_(w, FanIn, LeakyRelu(5f64.sqrt()))`, `U(±1/sqrt(in))`,
/// which [`crate::Linear`] draws directly.
pub fn kaiming_uniform_(tensor: &Tensor, mode: FanMode, nonlinearity: Nonlinearity) -> &Tensor {
    if tensor.numel() == 0 {
        return tensor; // PyTorch: "Initializing zero-element tensors is a no-op"
    }
    let bound = 3.0f64.sqrt() * kaiming_std(tensor, mode, nonlinearity);
    uniform_(tensor, -bound, bound)
}

/// He normal (`nn.init.kaiming_normal_`): `N(0, std^2)` with
/// `std = gain / sqrt(fan)`; the arguments as [`kaiming_uniform_`]'s.
pub fn kaiming_normal_(tensor: &Tensor, mode: FanMode, nonlinearity: Nonlinearity) -> &Tensor {
    if tensor.numel() == 0 {
        return tensor;
    }
    let std = kaiming_std(tensor, mode, nonlinearity);
    normal_(tensor, 0.0, std)
}

fn kaiming_std(tensor: &Tensor, mode: FanMode, nonlinearity: Nonlinearity) -> f64 {
    let (fan_in, fan_out) = calculate_fan_in_and_fan_out(tensor);
    let fan = match mode {
        FanMode::FanIn => fan_in,
        FanMode::FanOut => fan_out,
    };
    calculate_gain(nonlinearity) / (fan as f64).sqrt()
}

/// Overwrite every element, in row-major order, with `next()`: in place,
/// unrecorded, one change for the version counter.
fn write(tensor: &Tensor, mut next: impl FnMut() -> f32) -> &Tensor {
    let values: Vec<f32> = (0..tensor.numel()).map(|_| next()).collect();
    autograd::no_grad(|| tensor.copy_(&Tensor::from_vec(values, tensor.shape())));
    tensor
}
