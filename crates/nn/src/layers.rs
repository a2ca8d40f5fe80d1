//! Layers without children: Linear, the activations, Flatten, Identity, Dropout.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use autograd::{rng, Generator, Tensor};

use crate::init::{self, Nonlinearity};
use crate::Module;

/// `y = x @ weight^T + bias` (`nn.Linear`), weight stored `[out, in]` as in
/// PyTorch, so checkpoints move between the two unchanged.
///
/// Initialised as PyTorch does: weight and bias uniform in
/// `[-1/sqrt(in), 1/sqrt(in))`.
///
/// ```
/// use autograd::{manual_seed, Tensor};
/// use nn::{Linear, Module};
/// manual_seed(0);
/// let layer = Linear::new(784, 512);
/// assert_eq!(layer.weight().shape(), [512, 784]);
/// assert_eq!(layer.forward(&Tensor::zeros(&[3, 784])).shape(), [3, 512]);
/// ```
pub struct Linear {
    weight: Tensor,
    bias: Option<Tensor>,
}

impl Linear {
    /// `nn.Linear(in_features, out_features)`, drawn from the default
    /// generator (seeded by [`autograd::manual_seed`]).
    pub fn new(in_features: usize, out_features: usize) -> Linear {
        Linear::with_bias(in_features, out_features, true)
    }

    /// `nn.Linear(in_features, out_features, bias=bias)`, from the default generator.
    pub fn with_bias(in_features: usize, out_features: usize, bias: bool) -> Linear {
        rng::with_default(|g| Linear::with_generator(in_features, out_features, bias, g))
    }

    /// As [`Linear::with_bias`], drawing the weight, then the bias, from `generator`.
    pub fn with_generator(
        in_features: usize,
        out_features: usize,
        bias: bool,
        generator: &mut Generator,
    ) -> Linear {
        // PyTorch: kaiming_uniform_(a=sqrt(5)), bound = sqrt(3) * gain / sqrt(fan_in),
        // about 1/sqrt(fan_in); the bias's bound is 1/sqrt(fan_in) (0 when fan_in
        // is 0). Both computed in f64 as Python does, so that the f32 bounds, and
        // the values drawn, are PyTorch's.
        let fan_in = in_features as f64;
        let gain = init::calculate_gain(Nonlinearity::LeakyRelu(5f64.sqrt()));
        let w_bound = (3f64.sqrt() * (gain / fan_in.sqrt())) as f32;
        let b_bound = if in_features > 0 {
            (1.0 / fan_in.sqrt()) as f32
        } else {
            0.0
        };
        let weight =
            Tensor::rand_uniform(&[out_features, in_features], -w_bound, w_bound, generator)
                .requires_grad_(true);
        let bias = bias.then(|| {
            Tensor::rand_uniform(&[out_features], -b_bound, b_bound, generator).requires_grad_(true)
        });
        Linear { weight, bias }
    }

    /// The weight, `[out_features, in_features]` (shares storage with the layer).
    pub fn weight(&self) -> &Tensor {
        &self.weight
    }

    /// The bias, `[out_features]`, if the layer has one.
    pub fn bias(&self) -> Option<&Tensor> {
        self.bias.as_ref()
    }
}

impl Module for Linear {
    fn forward(&self, x: &Tensor) -> Tensor {
        x.linear(&self.weight, self.bias.as_ref())
    }

    fn forward_relu(&self, x: &Tensor) -> Tensor {
        x.linear_relu(&self.weight, self.bias.as_ref())
    }

    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        let mut named = vec![("weight".to_string(), self.weight.clone())];
        if let Some(b) = &self.bias {
            named.push(("bias".to_string(), b.clone()));
        }
        named
    }

    fn extra_repr(&self) -> String {
        let s = self.weight.shape();
        let bias = if self.bias.is_some() { "True" } else { "False" };
        format!("in_features={}, out_features={}, bias={bias}", s[1], s[0])
    }
}

/// `max(x, 0)` elementwise (`nn.ReLU()`).
#[derive(Clone, Copy, Debug, Default)]
pub struct ReLU;

impl ReLU {
    /// `nn.ReLU()`; the same as the unit value `ReLU`.
    pub fn new() -> ReLU {
        ReLU
    }
}

impl Module for ReLU {
    fn forward(&self, x: &Tensor) -> Tensor {
        x.relu()
    }

    fn is_relu(&self) -> bool {
        true
    }
}

/// Returns its input (`nn.Identity()`): a placeholder layer.
#[derive(Clone, Copy, Debug, Default)]
pub struct Identity;

impl Module for Identity {
    fn forward(&self, x: &Tensor) -> Tensor {
        x.clone()
    }
}

/// Merge dims `start_dim..=end_dim` into one (`nn.Flatten()`: `start_dim=1`,
/// `end_dim=-1`): a batch of images `[N, 1, 28, 28]` becomes `[N, 784]`.
/// Negative dims count from the end, as in PyTorch.
#[derive(Clone, Copy, Debug)]
pub struct Flatten {
    start_dim: isize,
    end_dim: isize,
}

impl Flatten {
    /// `nn.Flatten()`: keeps the batch dim.
    pub fn new() -> Flatten {
        Flatten::with_dims(1, -1)
    }

    /// `nn.Flatten(start_dim)` (to the last dim).
    pub fn with_start_dim(start_dim: isize) -> Flatten {
        Flatten::with_dims(start_dim, -1)
    }

    /// `nn.Flatten(start_dim, end_dim)`.
    pub fn with_dims(start_dim: isize, end_dim: isize) -> Flatten {
        Flatten { start_dim, end_dim }
    }
}

impl Default for Flatten {
    fn default() -> Flatten {
        Flatten::new()
    }
}

impl Module for Flatten {
    /// # Panics
    /// On a dim out of range for `x` (`nn.Flatten()` of a 0-d tensor, say)
    /// or `start_dim` after `end_dim`, as PyTorch raises.
    fn forward(&self, x: &Tensor) -> Tensor {
        x.flatten_dims(self.start_dim, self.end_dim)
    }

    fn extra_repr(&self) -> String {
        format!("start_dim={}, end_dim={}", self.start_dim, self.end_dim)
    }
}

/// `softmax` along `dim` (`nn.Softmax(dim)`).
#[derive(Clone, Copy, Debug)]
pub struct Softmax {
    dim: isize,
}

impl Softmax {
    /// `nn.Softmax(dim)`; a negative `dim` counts from the end (checked in `forward`).
    pub fn new(dim: isize) -> Softmax {
        Softmax { dim }
    }
}

impl Module for Softmax {
    fn forward(&self, x: &Tensor) -> Tensor {
        x.softmax(self.dim)
    }

    fn extra_repr(&self) -> String {
        format!("dim={}", self.dim)
    }
}

/// `log(softmax)` along `dim`, computed stably (`nn.LogSoftmax(dim)`).
#[derive(Clone, Copy, Debug)]
pub struct LogSoftmax {
    dim: isize,
}

impl LogSoftmax {
    /// `nn.LogSoftmax(dim)`; a negative `dim` counts from the end (checked in `forward`).
    pub fn new(dim: isize) -> LogSoftmax {
        LogSoftmax { dim }
    }
}

impl Module for LogSoftmax {
    fn forward(&self, x: &Tensor) -> Tensor {
        x.log_softmax(self.dim)
    }

    fn extra_repr(&self) -> String {
        format!("dim={}", self.dim)
    }
}

/// Zeroes each element with probability `p` and scales the rest by
/// `1/(1-p)`, in training mode only; the identity in eval mode (`nn.Dropout(p)`).
///
/// ```
/// use autograd::Tensor;
/// use nn::{Dropout, Module};
/// let drop = Dropout::new(0.5);
/// let y = drop.forward(&Tensor::ones(&[1000])).to_vec();
/// assert!(y.iter().all(|&v| v == 0.0 || v == 2.0));
/// drop.eval();
/// assert_eq!(drop.forward(&Tensor::ones(&[3])).to_vec(), vec![1.0; 3]);
/// ```
pub struct Dropout {
    /// A Python float in PyTorch: f64, so that the scale rounds as there.
    p: f64,
    training: AtomicBool,
    /// Where the masks come from: the default generator at each call, as in
    /// PyTorch, unless one was given.
    generator: Option<Mutex<Generator>>,
}

impl Dropout {
    /// `nn.Dropout(p)`, in training mode, drawing its masks from the default
    /// generator when it runs (so [`autograd::manual_seed`] makes them
    /// reproducible, and building one draws nothing: the layers built after
    /// it get the values they get in PyTorch).
    ///
    /// # Panics
    /// If `p` is not in `[0, 1]`, as PyTorch raises.
    pub fn new(p: f64) -> Dropout {
        Dropout::build(p, None)
    }

    /// As [`Dropout::new`], drawing the masks from `generator`.
    pub fn with_generator(p: f64, generator: Generator) -> Dropout {
        Dropout::build(p, Some(Mutex::new(generator)))
    }

    fn build(p: f64, generator: Option<Mutex<Generator>>) -> Dropout {
        assert!(
            (0.0..=1.0).contains(&p),
            "dropout probability has to be between 0 and 1, but got {p}"
        );
        Dropout {
            p,
            training: AtomicBool::new(true),
            generator,
        }
    }
}

impl Module for Dropout {
    fn forward(&self, x: &Tensor) -> Tensor {
        if !self.training.load(Ordering::Relaxed) || self.p == 0.0 {
            return x.clone();
        }
        // PyTorch: noise = empty_like(x).bernoulli_(1 - p); noise.div_(1 - p); x * noise.
        // p = 1 drops everything (the scale is unused).
        let keep = 1.0 - self.p;
        // The division: 1 - p in double, rounded to float, then in float.
        let scale = if keep > 0.0 { 1.0 / keep as f32 } else { 0.0 };
        let draw = |g: &mut Generator| -> Vec<f32> {
            (0..x.numel())
                .map(|_| if g.bernoulli(keep) { scale } else { 0.0 })
                .collect()
        };
        let mask = match &self.generator {
            // PyTorch: `input * 0` for p = 1, drawing nothing.
            _ if keep <= 0.0 => vec![0.0; x.numel()],
            Some(g) => draw(&mut g.lock().expect("dropout generator lock poisoned")),
            None => rng::with_default(draw),
        };
        x.mul_mask(&Tensor::from_vec(mask, x.shape()))
    }

    fn set_training(&self, training: bool) {
        self.training.store(training, Ordering::Relaxed);
    }

    fn extra_repr(&self) -> String {
        format!("p={}, inplace=False", crate::module::python_float(self.p))
    }
}
