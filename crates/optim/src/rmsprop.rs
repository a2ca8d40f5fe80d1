//! `torch.optim.RMSprop`, plain or centered, with optional momentum.

use crate::error::{check_non_negative, OptimError};
use crate::optimizer::{buffer, decayed_grad, flag, lerp, Rule};

/// `torch.optim.RMSprop`'s arguments, with its defaults.
///
/// ```
/// use optim::RmspropConfig;
/// let config = RmspropConfig { centered: true, ..Default::default() };
/// assert_eq!((config.lr, config.alpha, config.eps), (1e-2, 0.99, 1e-8));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct RmspropConfig {
    /// `lr` in torch.optim.RMSprop: the learning rate (1e-2); must not be negative.
    pub lr: f64,
    /// `alpha` in torch.optim.RMSprop: smoothing constant of the average of squared
    /// gradients, `v = alpha·v + (1 - alpha)·g·g` (0.99); must not be negative.
    pub alpha: f64,
    /// `eps` in torch.optim.RMSprop: added to the denominator (1e-8); must not be negative.
    pub eps: f64,
    /// `weight_decay` in torch.optim.RMSprop: L2 penalty added to the gradient (0); must
    /// not be negative.
    pub weight_decay: f64,
    /// `momentum` in torch.optim.RMSprop: momentum factor (0: no momentum buffer); must not
    /// be negative.
    pub momentum: f64,
    /// `centered` in torch.optim.RMSprop: divide by `sqrt(v - ḡ·ḡ)` (an estimate of the
    /// gradient's variance, `ḡ` its running average) rather than by `sqrt(v)` (false).
    pub centered: bool,
    /// `maximize` in torch.optim.RMSprop: maximize the objective instead of minimizing (false).
    pub maximize: bool,
}

impl Default for RmspropConfig {
    fn default() -> Self {
        RmspropConfig {
            lr: 1e-2,
            alpha: 0.99,
            eps: 1e-8,
            weight_decay: 0.0,
            momentum: 0.0,
            centered: false,
            maximize: false,
        }
    }
}

impl Rule for RmspropConfig {
    const NAME: &'static str = "RMSprop";
    const BUFFERS: &'static [&'static str] = &["square_avg", "momentum_buffer", "grad_avg"];
    const HYPERPARAMETERS: &'static [&'static str] = &[
        "lr",
        "alpha",
        "eps",
        "weight_decay",
        "momentum",
        "centered",
        "maximize",
    ];
    const MOMENTUM: Option<&'static str> = Some("momentum");
    type Step = RmspropStep;

    fn validate(&self) -> Result<(), OptimError> {
        check_non_negative("learning rate", self.lr)?;
        check_non_negative("epsilon value", self.eps)?;
        check_non_negative("momentum value", self.momentum)?;
        check_non_negative("weight_decay value", self.weight_decay)?;
        check_non_negative("alpha value", self.alpha)
    }

    fn get(&self, name: &str) -> f64 {
        match name {
            "lr" => self.lr,
            "alpha" => self.alpha,
            "eps" => self.eps,
            "weight_decay" => self.weight_decay,
            "momentum" => self.momentum,
            "centered" => flag(self.centered),
            "maximize" => flag(self.maximize),
            _ => panic!("RMSprop has no hyperparameter '{name}'"),
        }
    }

    fn set(&mut self, name: &str, value: f64) {
        match name {
            "lr" => self.lr = value,
            "alpha" => self.alpha = value,
            "eps" => self.eps = value,
            "weight_decay" => self.weight_decay = value,
            "momentum" => self.momentum = value,
            "centered" => self.centered = value != 0.0,
            "maximize" => self.maximize = value != 0.0,
            _ => panic!("RMSprop has no hyperparameter '{name}'"),
        }
    }

    fn begin(&self, _step: u64, len: usize, buffers: &mut [Option<Vec<f32>>]) -> RmspropStep {
        let [square_avg, momentum_buffer, grad_avg] = buffers else {
            unreachable!("RMSprop has three buffers")
        };
        buffer(square_avg, len, 0.0);
        if self.momentum > 0.0 {
            buffer(momentum_buffer, len, 0.0);
        }
        if self.centered {
            buffer(grad_avg, len, 0.0);
        }
        RmspropStep {
            sign: if self.maximize { -1.0 } else { 1.0 },
            weight_decay: (self.weight_decay != 0.0).then_some(self.weight_decay as f32),
            alpha: self.alpha as f32,
            keep: (1.0 - self.alpha) as f32,
            eps: self.eps as f32,
            momentum: (self.momentum > 0.0).then_some(self.momentum as f32),
            centered: self.centered,
            neg_lr: (-self.lr) as f32,
        }
    }

    /// PyTorch's `_single_tensor_rmsprop`, fused into one pass:
    /// ```text
    /// g = ±grad + wd·p;  v = α·v + (1-α)·g·g
    /// centered: ḡ = lerp(ḡ, g, 1-α);  avg = sqrt(v - ḡ·ḡ) + eps,  else avg = sqrt(v) + eps
    /// momentum: b = μ·b + g/avg;  p = p - lr·b,  else p = p - lr·g/avg
    /// ```
    #[inline(always)]
    fn update(step: &RmspropStep, param: &mut [f32], grad: &[f32], buffers: &mut [&mut [f32]]) {
        let [v, b, g_avg] = buffers else {
            unreachable!("RMSprop has three buffers")
        };
        // A copy, so that its fields stay in registers: the loop's stores
        // could otherwise write the caller's (for all the compiler knows).
        let (s, eps) = (*step, step.eps);
        // One loop per (centered, momentum) setting so that each is a plain
        // pass the compiler can vectorise.
        let pass = param.iter_mut().zip(grad).zip(v.iter_mut());
        match (step.centered, step.momentum) {
            (false, None) => {
                for ((p, &g), v) in pass {
                    let g = s.square(*p, g, v);
                    *p += s.neg_lr * g / (v.sqrt() + eps);
                }
            }
            (false, Some(momentum)) => {
                for (((p, &g), v), b) in pass.zip(b.iter_mut()) {
                    let g = s.square(*p, g, v);
                    s.with_momentum(p, b, momentum, g, v.sqrt() + eps);
                }
            }
            (true, None) => {
                for (((p, &g), v), g_avg) in pass.zip(g_avg.iter_mut()) {
                    let g = s.square(*p, g, v);
                    *p += s.neg_lr * g / s.center(*v, g_avg, g);
                }
            }
            (true, Some(momentum)) => {
                for ((((p, &g), v), g_avg), b) in pass.zip(g_avg.iter_mut()).zip(b.iter_mut()) {
                    let g = s.square(*p, g, v);
                    let avg = s.center(*v, g_avg, g);
                    s.with_momentum(p, b, momentum, g, avg);
                }
            }
        }
    }
}

// The pieces of the update: functions, not closures, so that they can be
// `inline(always)`: one that LLVM kept out of line would not be compiled
// with FMA (`Rule::update`).
impl RmspropStep {
    /// The gradient as used, after updating the average of its square `v`.
    #[inline(always)]
    fn square(&self, p: f32, g: f32, v: &mut f32) -> f32 {
        let g = decayed_grad(self.sign, self.weight_decay, g, p);
        *v = (self.keep * g).mul_add(g, *v * self.alpha);
        g
    }

    /// Updates the average gradient and returns `sqrt(v - ḡ²) + eps`. The
    /// difference is rounded once, as PyTorch's `addcmul(ḡ, ḡ, value=-1)`
    /// computes it on the CPU with a fused multiply-add: when the gradient
    /// varies little the two nearly cancel, and rounding ḡ² to f32 first
    /// made the difference 0 (a step of lr / eps) or negative (NaN) where
    /// PyTorch's is not.
    #[inline(always)]
    fn center(&self, v: f32, g_avg: &mut f32, g: f32) -> f32 {
        *g_avg = lerp(*g_avg, g, self.keep);
        (-*g_avg).mul_add(*g_avg, v).sqrt() + self.eps
    }

    /// The momentum buffer's update and the step of `p`.
    #[inline(always)]
    fn with_momentum(&self, p: &mut f32, b: &mut f32, momentum: f32, g: f32, avg: f32) {
        *b = *b * momentum + g / avg;
        *p = self.neg_lr.mul_add(*b, *p);
    }
}

/// An RMSprop step's scalars ([`Rule::Step`]).
#[derive(Clone, Copy, Debug)]
pub struct RmspropStep {
    sign: f32,
    weight_decay: Option<f32>,
    alpha: f32,
    keep: f32,
    eps: f32,
    momentum: Option<f32>,
    centered: bool,
    neg_lr: f32,
}
