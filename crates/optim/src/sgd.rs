//! `torch.optim.SGD`: stochastic gradient descent with momentum, dampening,
//! Nesterov momentum, weight decay and maximize.

use crate::error::{check_non_negative, OptimError};
use crate::optimizer::{buffer, decayed_grad, flag, Rule};

/// `torch.optim.SGD`'s arguments, with its defaults.
///
/// ```
/// use optim::SgdConfig;
/// let config = SgdConfig { lr: 0.1, momentum: 0.9, ..Default::default() };
/// assert_eq!((config.dampening, config.nesterov), (0.0, false));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct SgdConfig {
    /// `lr` in torch.optim.SGD: the learning rate (1e-3); must not be negative.
    pub lr: f64,
    /// `momentum` in torch.optim.SGD: momentum factor (0: no momentum buffer); must not be
    /// negative.
    pub momentum: f64,
    /// `dampening` in torch.optim.SGD: `buf = momentum·buf + (1 - dampening)·g` after the
    /// first step (0).
    pub dampening: f64,
    /// `weight_decay` in torch.optim.SGD: L2 penalty added to the gradient (0); must not be
    /// negative.
    pub weight_decay: f64,
    /// `nesterov` in torch.optim.SGD: Nesterov momentum (false); needs a positive momentum
    /// and zero dampening.
    pub nesterov: bool,
    /// `maximize` in torch.optim.SGD: maximize the objective (step along the gradient)
    /// instead of minimizing (false).
    pub maximize: bool,
}

impl Default for SgdConfig {
    fn default() -> Self {
        SgdConfig {
            lr: 1e-3,
            momentum: 0.0,
            dampening: 0.0,
            weight_decay: 0.0,
            nesterov: false,
            maximize: false,
        }
    }
}

impl Rule for SgdConfig {
    const NAME: &'static str = "SGD";
    const BUFFERS: &'static [&'static str] = &["momentum_buffer"];
    const HYPERPARAMETERS: &'static [&'static str] = &[
        "lr",
        "momentum",
        "dampening",
        "weight_decay",
        "nesterov",
        "maximize",
    ];
    const MOMENTUM: Option<&'static str> = Some("momentum");
    type Step = SgdStep;

    fn validate(&self) -> Result<(), OptimError> {
        check_non_negative("learning rate", self.lr)?;
        check_non_negative("momentum value", self.momentum)?;
        check_non_negative("weight_decay value", self.weight_decay)?;
        if self.nesterov && (self.momentum <= 0.0 || self.dampening != 0.0) {
            return Err(OptimError::invalid(
                "Nesterov momentum requires a momentum and zero dampening",
            ));
        }
        Ok(())
    }

    fn get(&self, name: &str) -> f64 {
        match name {
            "lr" => self.lr,
            "momentum" => self.momentum,
            "dampening" => self.dampening,
            "weight_decay" => self.weight_decay,
            "nesterov" => flag(self.nesterov),
            "maximize" => flag(self.maximize),
            _ => panic!("SGD has no hyperparameter '{name}'"),
        }
    }

    fn set(&mut self, name: &str, value: f64) {
        match name {
            "lr" => self.lr = value,
            "momentum" => self.momentum = value,
            "dampening" => self.dampening = value,
            "weight_decay" => self.weight_decay = value,
            "nesterov" => self.nesterov = value != 0.0,
            "maximize" => self.maximize = value != 0.0,
            _ => panic!("SGD has no hyperparameter '{name}'"),
        }
    }

    fn begin(&self, _step: u64, len: usize, buffers: &mut [Option<Vec<f32>>]) -> SgdStep {
        let [momentum_buffer] = buffers else {
            unreachable!("SGD has one buffer")
        };
        // The buffer starts as a copy of the first gradient (no dampening), as in PyTorch.
        let first = momentum_buffer.is_none();
        if self.momentum != 0.0 {
            buffer(momentum_buffer, len, 0.0);
        }
        // Scalars are cast to f32 as PyTorch's kernels do with Python floats.
        SgdStep {
            sign: if self.maximize { -1.0 } else { 1.0 },
            weight_decay: (self.weight_decay != 0.0).then_some(self.weight_decay as f32),
            neg_lr: (-self.lr) as f32,
            momentum: (self.momentum != 0.0).then_some(self.momentum as f32),
            keep: (1.0 - self.dampening) as f32,
            nesterov: self.nesterov,
            first,
        }
    }

    /// PyTorch's `_single_tensor_sgd`, fused into one pass:
    /// `g = ±grad + wd·p`; `buf = g` at first, then `buf = μ·buf + (1-τ)·g`;
    /// `g = g + μ·buf` (Nesterov) or `g = buf`; `p = p - lr·g`. Each `+` of a
    /// product rounds once, as PyTorch's `add(x, alpha=a)` does; `μ·buf`
    /// (its `mul_`) is rounded before.
    #[inline(always)]
    fn update(step: &SgdStep, param: &mut [f32], grad: &[f32], buffers: &mut [&mut [f32]]) {
        let [buf] = buffers else {
            unreachable!("SGD has one buffer")
        };
        let SgdStep {
            sign,
            weight_decay,
            neg_lr,
            momentum,
            keep,
            nesterov,
            first,
        } = *step;
        // No closures here: one that LLVM kept out of line would not be
        // compiled with FMA (`Rule::update`).
        let Some(momentum) = momentum else {
            for (p, &g) in param.iter_mut().zip(grad) {
                *p = neg_lr.mul_add(decayed_grad(sign, weight_decay, g, *p), *p);
            }
            return;
        };
        for ((p, &g), b) in param.iter_mut().zip(grad).zip(buf.iter_mut()) {
            let d = decayed_grad(sign, weight_decay, g, *p);
            *b = if first {
                d
            } else {
                keep.mul_add(d, *b * momentum)
            };
            let step = if nesterov {
                momentum.mul_add(*b, d)
            } else {
                *b
            };
            *p = neg_lr.mul_add(step, *p);
        }
    }
}

/// An SGD step's scalars ([`Rule::Step`]).
#[derive(Clone, Copy, Debug)]
pub struct SgdStep {
    sign: f32,
    weight_decay: Option<f32>,
    neg_lr: f32,
    momentum: Option<f32>,
    keep: f32,
    nesterov: bool,
    /// The momentum buffer was allocated by this step.
    first: bool,
}
