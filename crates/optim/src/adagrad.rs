//! `torch.optim.Adagrad`.

use crate::error::{check_non_negative, OptimError};
use crate::optimizer::{buffer, decayed_grad, flag, Rule};

/// `torch.optim.Adagrad`'s arguments, with its defaults.
///
/// ```
/// use optim::AdagradConfig;
/// let config = AdagradConfig::default();
/// assert_eq!((config.lr, config.eps), (1e-2, 1e-10));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct AdagradConfig {
    /// `lr` in torch.optim.Adagrad: the learning rate (1e-2); must not be negative.
    pub lr: f64,
    /// `lr_decay` in torch.optim.Adagrad: step `t` uses `lr / (1 + (t-1)·lr_decay)` (0);
    /// must not be negative.
    pub lr_decay: f64,
    /// `weight_decay` in torch.optim.Adagrad: L2 penalty added to the gradient (0); must
    /// not be negative.
    pub weight_decay: f64,
    /// `initial_accumulator_value` in torch.optim.Adagrad: starting value of the sum of
    /// squared gradients (0); must not be negative.
    pub initial_accumulator_value: f64,
    /// `eps` in torch.optim.Adagrad: added to the denominator `sqrt(sum)` (1e-10); must not
    /// be negative.
    pub eps: f64,
    /// `maximize` in torch.optim.Adagrad: maximize the objective instead of minimizing (false).
    pub maximize: bool,
}

impl Default for AdagradConfig {
    fn default() -> Self {
        AdagradConfig {
            lr: 1e-2,
            lr_decay: 0.0,
            weight_decay: 0.0,
            initial_accumulator_value: 0.0,
            eps: 1e-10,
            maximize: false,
        }
    }
}

impl Rule for AdagradConfig {
    const NAME: &'static str = "Adagrad";
    const BUFFERS: &'static [&'static str] = &["sum"];
    const HYPERPARAMETERS: &'static [&'static str] = &[
        "lr",
        "lr_decay",
        "weight_decay",
        "initial_accumulator_value",
        "eps",
        "maximize",
    ];
    const MOMENTUM: Option<&'static str> = None;
    type Step = AdagradStep;

    fn validate(&self) -> Result<(), OptimError> {
        check_non_negative("learning rate", self.lr)?;
        check_non_negative("lr_decay value", self.lr_decay)?;
        check_non_negative("weight_decay value", self.weight_decay)?;
        check_non_negative(
            "initial_accumulator_value value",
            self.initial_accumulator_value,
        )?;
        check_non_negative("epsilon value", self.eps)
    }

    fn get(&self, name: &str) -> f64 {
        match name {
            "lr" => self.lr,
            "lr_decay" => self.lr_decay,
            "weight_decay" => self.weight_decay,
            "initial_accumulator_value" => self.initial_accumulator_value,
            "eps" => self.eps,
            "maximize" => flag(self.maximize),
            _ => panic!("Adagrad has no hyperparameter '{name}'"),
        }
    }

    fn set(&mut self, name: &str, value: f64) {
        match name {
            "lr" => self.lr = value,
            "lr_decay" => self.lr_decay = value,
            "weight_decay" => self.weight_decay = value,
            "initial_accumulator_value" => self.initial_accumulator_value = value,
            "eps" => self.eps = value,
            "maximize" => self.maximize = value != 0.0,
            _ => panic!("Adagrad has no hyperparameter '{name}'"),
        }
    }

    fn begin(&self, step: u64, len: usize, buffers: &mut [Option<Vec<f32>>]) -> AdagradStep {
        let [sum] = buffers else {
            unreachable!("Adagrad has one buffer")
        };
        buffer(sum, len, self.initial_accumulator_value as f32);
        let clr = self.lr / (1.0 + (step as f64 - 1.0) * self.lr_decay);
        AdagradStep {
            sign: if self.maximize { -1.0 } else { 1.0 },
            weight_decay: (self.weight_decay != 0.0).then_some(self.weight_decay as f32),
            neg_clr: (-clr) as f32,
            eps: self.eps as f32,
        }
    }

    /// PyTorch's `_single_tensor_adagrad` (dense), fused into one pass:
    /// `clr = lr / (1 + (t-1)·lr_decay)`; `g = ±grad + wd·p`; `sum = sum + g·g`;
    /// `p = p - clr·g / (sqrt(sum) + eps)`. The sum starts at `initial_accumulator_value`.
    #[inline(always)]
    fn update(step: &AdagradStep, param: &mut [f32], grad: &[f32], buffers: &mut [&mut [f32]]) {
        let [sum] = buffers else {
            unreachable!("Adagrad has one buffer")
        };
        let AdagradStep {
            sign,
            weight_decay,
            neg_clr,
            eps,
        } = *step;
        for ((p, &g), s) in param.iter_mut().zip(grad).zip(sum.iter_mut()) {
            let g = decayed_grad(sign, weight_decay, g, *p);
            *s = g.mul_add(g, *s);
            *p += neg_clr * g / (s.sqrt() + eps);
        }
    }
}

/// An Adagrad step's scalars ([`Rule::Step`]).
#[derive(Clone, Copy, Debug)]
pub struct AdagradStep {
    sign: f32,
    weight_decay: Option<f32>,
    neg_clr: f32,
    eps: f32,
}
