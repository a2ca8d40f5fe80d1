//! `torch.optim.Adam` and `torch.optim.AdamW` (Adam with decoupled weight decay).

use crate::error::{check_non_negative, OptimError};
use crate::optimizer::{buffer, decayed_grad, flag, lerp, Rule};

/// `torch.optim.Adam`'s arguments, with its defaults.
///
/// ```
/// use optim::AdamConfig;
/// let config = AdamConfig { lr: 1e-2, amsgrad: true, ..Default::default() };
/// assert_eq!((config.betas, config.eps), ((0.9, 0.999), 1e-8));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct AdamConfig {
    /// `lr` in torch.optim.Adam: the learning rate (1e-3); must not be negative.
    pub lr: f64,
    /// `betas` in torch.optim.Adam: decay rates of the averages of the gradient and of
    /// its square ((0.9, 0.999)); each must be in [0, 1).
    pub betas: (f64, f64),
    /// `eps` in torch.optim.Adam: added to the denominator (1e-8); must not be negative.
    pub eps: f64,
    /// L2 penalty added to the gradient.
    pub weight_decay: f64,
    /// `amsgrad` in torch.optim.Adam: divide by the running maximum of the average of
    /// squared gradients (AMSGrad) (false).
    pub amsgrad: bool,
    /// `maximize` in torch.optim.Adam: maximize the objective instead of minimizing (false).
    pub maximize: bool,
}

impl Default for AdamConfig {
    fn default() -> Self {
        AdamConfig {
            lr: 1e-3,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: 0.0,
            amsgrad: false,
            maximize: false,
        }
    }
}

/// `torch.optim.AdamW`'s arguments, with its defaults (weight decay 1e-2,
/// applied to the parameter: `p = p·(1 - lr·wd)`, not added to the gradient).
#[derive(Clone, Debug, PartialEq)]
pub struct AdamWConfig {
    /// `lr` in torch.optim.AdamW: the learning rate (1e-3); must not be negative.
    pub lr: f64,
    /// `betas` in torch.optim.AdamW: decay rates of the averages of the gradient and of
    /// its square ((0.9, 0.999)); each must be in [0, 1).
    pub betas: (f64, f64),
    /// `eps` in torch.optim.AdamW: added to the denominator (1e-8); must not be negative.
    pub eps: f64,
    /// `weight_decay` in torch.optim.AdamW: decoupled decay, `p = p·(1 - lr·weight_decay)`
    /// before the Adam update (1e-2); must not be negative.
    pub weight_decay: f64,
    /// `amsgrad` in torch.optim.AdamW: divide by the running maximum of the average of
    /// squared gradients (AMSGrad) (false).
    pub amsgrad: bool,
    /// `maximize` in torch.optim.AdamW: maximize the objective instead of minimizing (false).
    pub maximize: bool,
}

impl Default for AdamWConfig {
    fn default() -> Self {
        AdamWConfig {
            lr: 1e-3,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: 1e-2,
            amsgrad: false,
            maximize: false,
        }
    }
}

impl AdamWConfig {
    /// The same numbers as an Adam config; `update` is told the decay is decoupled.
    fn as_adam(&self) -> AdamConfig {
        let AdamWConfig {
            lr,
            betas,
            eps,
            weight_decay,
            amsgrad,
            maximize,
        } = *self;
        AdamConfig {
            lr,
            betas,
            eps,
            weight_decay,
            amsgrad,
            maximize,
        }
    }
}

const BUFFERS: &[&str] = &["exp_avg", "exp_avg_sq", "max_exp_avg_sq"];
const HYPERPARAMETERS: &[&str] = &[
    "lr",
    "beta1",
    "beta2",
    "eps",
    "weight_decay",
    "amsgrad",
    "maximize",
];

impl Rule for AdamConfig {
    const NAME: &'static str = "Adam";
    const BUFFERS: &'static [&'static str] = BUFFERS;
    const HYPERPARAMETERS: &'static [&'static str] = HYPERPARAMETERS;
    const MOMENTUM: Option<&'static str> = Some("beta1");
    type Step = AdamStep;

    fn validate(&self) -> Result<(), OptimError> {
        check_non_negative("learning rate", self.lr)?;
        check_non_negative("epsilon value", self.eps)?;
        for (index, beta) in [self.betas.0, self.betas.1].into_iter().enumerate() {
            if !(0.0..1.0).contains(&beta) {
                return Err(OptimError::invalid(format!(
                    "Invalid beta parameter at index {index}: {beta}"
                )));
            }
        }
        check_non_negative("weight_decay value", self.weight_decay)
    }

    fn get(&self, name: &str) -> f64 {
        match name {
            "lr" => self.lr,
            "beta1" => self.betas.0,
            "beta2" => self.betas.1,
            "eps" => self.eps,
            "weight_decay" => self.weight_decay,
            "amsgrad" => flag(self.amsgrad),
            "maximize" => flag(self.maximize),
            _ => panic!("Adam has no hyperparameter '{name}'"),
        }
    }

    fn set(&mut self, name: &str, value: f64) {
        match name {
            "lr" => self.lr = value,
            "beta1" => self.betas.0 = value,
            "beta2" => self.betas.1 = value,
            "eps" => self.eps = value,
            "weight_decay" => self.weight_decay = value,
            "amsgrad" => self.amsgrad = value != 0.0,
            "maximize" => self.maximize = value != 0.0,
            _ => panic!("Adam has no hyperparameter '{name}'"),
        }
    }

    fn begin(&self, step: u64, len: usize, buffers: &mut [Option<Vec<f32>>]) -> AdamStep {
        adam_begin(self, false, step, len, buffers)
    }

    #[inline(always)]
    fn update(step: &AdamStep, param: &mut [f32], grad: &[f32], buffers: &mut [&mut [f32]]) {
        adam_update(step, param, grad, buffers);
    }
}

impl Rule for AdamWConfig {
    const NAME: &'static str = "AdamW";
    const BUFFERS: &'static [&'static str] = BUFFERS;
    const HYPERPARAMETERS: &'static [&'static str] = HYPERPARAMETERS;
    const MOMENTUM: Option<&'static str> = Some("beta1");
    type Step = AdamStep;

    fn validate(&self) -> Result<(), OptimError> {
        self.as_adam().validate()
    }

    fn get(&self, name: &str) -> f64 {
        self.as_adam().get(name)
    }

    fn set(&mut self, name: &str, value: f64) {
        let mut adam = self.as_adam();
        adam.set(name, value);
        let AdamConfig {
            lr,
            betas,
            eps,
            weight_decay,
            amsgrad,
            maximize,
        } = adam;
        *self = AdamWConfig {
            lr,
            betas,
            eps,
            weight_decay,
            amsgrad,
            maximize,
        };
    }

    fn begin(&self, step: u64, len: usize, buffers: &mut [Option<Vec<f32>>]) -> AdamStep {
        adam_begin(&self.as_adam(), true, step, len, buffers)
    }

    #[inline(always)]
    fn update(step: &AdamStep, param: &mut [f32], grad: &[f32], buffers: &mut [&mut [f32]]) {
        adam_update(step, param, grad, buffers);
    }
}

/// An Adam or AdamW step's scalars ([`Rule::Step`]).
#[derive(Clone, Copy, Debug)]
pub struct AdamStep {
    sign: f32,
    /// L2 penalty added to the gradient (Adam).
    l2: Option<f32>,
    /// Factor `1 - lr·wd` applied to the parameter (AdamW).
    decay: Option<f32>,
    w1: f32,
    beta2: f32,
    w2: f32,
    eps: f32,
    neg_step_size: f32,
    bias_correction2_sqrt: f32,
    amsgrad: bool,
}

/// Allocates Adam's buffers and computes the step's scalars: the bias
/// corrections and step size in f64, as PyTorch does in Python, then as f32.
fn adam_begin(
    c: &AdamConfig,
    decoupled: bool,
    step: u64,
    len: usize,
    buffers: &mut [Option<Vec<f32>>],
) -> AdamStep {
    let [exp_avg, exp_avg_sq, max_exp_avg_sq] = buffers else {
        unreachable!("Adam has three buffers")
    };
    buffer(exp_avg, len, 0.0);
    buffer(exp_avg_sq, len, 0.0);
    if c.amsgrad {
        buffer(max_exp_avg_sq, len, 0.0);
    }
    let (beta1, beta2) = c.betas;
    let t = step as f64;
    let bias_correction1 = 1.0 - beta1.powf(t);
    let bias_correction2 = 1.0 - beta2.powf(t);
    let use_wd = c.weight_decay != 0.0;
    AdamStep {
        sign: if c.maximize { -1.0 } else { 1.0 },
        l2: (use_wd && !decoupled).then_some(c.weight_decay as f32),
        decay: (use_wd && decoupled).then_some((1.0 - c.lr * c.weight_decay) as f32),
        w1: (1.0 - beta1) as f32,
        beta2: beta2 as f32,
        w2: (1.0 - beta2) as f32,
        eps: c.eps as f32,
        neg_step_size: (-(c.lr / bias_correction1)) as f32,
        bias_correction2_sqrt: bias_correction2.powf(0.5) as f32,
        amsgrad: c.amsgrad,
    }
}

/// PyTorch's `_single_tensor_adam` (the CPU path), fused into one pass:
/// ```text
/// g = ±grad (+ wd·p unless decoupled);  p = p·(1 - lr·wd) if decoupled
/// m = lerp(m, g, 1-β1);  v = β2·v + (1-β2)·g·g;  v̂ = max(v̂, v) with amsgrad
/// denom = sqrt(v or v̂) / sqrt(1-β2^t) + eps;  p = p - (lr / (1-β1^t))·m / denom
/// ```
#[inline(always)]
fn adam_update(step: &AdamStep, param: &mut [f32], grad: &[f32], buffers: &mut [&mut [f32]]) {
    let [m, v, v_max] = buffers else {
        unreachable!("Adam has three buffers")
    };
    // A copy, so that its fields stay in registers: the loop's stores could
    // otherwise write the caller's (for all the compiler knows).
    let step = *step;
    // The moments, then the parameter; the loop is written once per amsgrad
    // setting so that each version is a plain pass the compiler can vectorise.
    let pass = param
        .iter_mut()
        .zip(grad)
        .zip(m.iter_mut())
        .zip(v.iter_mut());
    if step.amsgrad {
        for ((((p, &g), m), v), v_max) in pass.zip(v_max.iter_mut()) {
            step.moments(p, g, m, v);
            *v_max = maximum(*v_max, *v);
            step.apply(p, *m, *v_max);
        }
    } else {
        for (((p, &g), m), v) in pass {
            step.moments(p, g, m, v);
            step.apply(p, *m, *v);
        }
    }
}

// Functions, not closures, so that they can be `inline(always)`: one that
// LLVM kept out of line would not be compiled with FMA (`Rule::update`).
impl AdamStep {
    /// Decays `p` (AdamW) and updates the moments with the gradient `g`.
    #[inline(always)]
    fn moments(&self, p: &mut f32, g: f32, m: &mut f32, v: &mut f32) {
        let g = decayed_grad(self.sign, self.l2, g, *p);
        // A select, not a branch around a store: the loop then vectorises
        // without being unswitched.
        *p = match self.decay {
            Some(decay_factor) => *p * decay_factor,
            None => *p,
        };
        *m = lerp(*m, g, self.w1);
        *v = (self.w2 * g).mul_add(g, *v * self.beta2);
    }

    /// The step of `p`, from the first moment and the second (or its maximum).
    #[inline(always)]
    fn apply(&self, p: &mut f32, m: f32, second: f32) {
        *p += self.neg_step_size * m / (second.sqrt() / self.bias_correction2_sqrt + self.eps);
    }
}

/// `torch.maximum`: NaN if either is NaN (`f32::max` would drop it).
fn maximum(a: f32, b: f32) -> f32 {
    if a.is_nan() || b.is_nan() {
        f32::NAN
    } else {
        a.max(b)
    }
}
