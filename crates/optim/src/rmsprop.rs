//! `torch.optim.RMSprop`, plain or centered, with optional momentum.

use crate::error::{check_non_negative, OptimError};
use crate::optimizer::{buffer, flag, lerp, Rule};

/// `torch.optim.RMSprop`'s arguments, with its defaults.
///
/// ```
/// use optim::RmspropConfig;
/// let config = RmspropConfig { centered: true, ..Default::default() };
/// assert_eq!((config.lr, config.alpha, config.eps), (1e-2, 0.99, 1e-8));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct RmspropConfig {
    pub lr: f64,
    pub alpha: f64,
    pub eps: f64,
    pub weight_decay: f64,
    pub momentum: f64,
    pub centered: bool,
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

    /// PyTorch's `_single_tensor_rmsprop`, fused into one pass:
    /// ```text
    /// g = ±grad + wd·p;  v = α·v + (1-α)·g·g
    /// centered: ḡ = lerp(ḡ, g, 1-α);  avg = sqrt(v - ḡ·ḡ) + eps,  else avg = sqrt(v) + eps
    /// momentum: b = μ·b + g/avg;  p = p - lr·b,  else p = p - lr·g/avg
    /// ```
    fn update(
        &self,
        _step: u64,
        param: &mut [f32],
        grad: &[f32],
        buffers: &mut [Option<Vec<f32>>],
    ) {
        let [square_avg, momentum_buffer, grad_avg] = buffers else {
            unreachable!("RMSprop has three buffers")
        };
        let n = param.len();
        assert_eq!(
            grad.len(),
            n,
            "RMSprop: gradient and parameter sizes differ"
        );
        let v = buffer(square_avg, n, 0.0);
        let b = if self.momentum > 0.0 {
            Some(buffer(momentum_buffer, n, 0.0))
        } else {
            None
        };
        let g_avg = if self.centered {
            Some(buffer(grad_avg, n, 0.0))
        } else {
            None
        };

        let sign = if self.maximize { -1.0f32 } else { 1.0 };
        let use_wd = self.weight_decay != 0.0;
        let (wd, alpha, keep, eps) = (
            self.weight_decay as f32,
            self.alpha as f32,
            (1.0 - self.alpha) as f32,
            self.eps as f32,
        );
        let (momentum, neg_lr) = (self.momentum as f32, (-self.lr) as f32);

        // The pieces of the update; one loop per (centered, momentum) setting so
        // that each is a plain pass the compiler can vectorise.
        let square = |p: f32, g: f32, v: &mut f32| {
            let g = if use_wd { sign * g + wd * p } else { sign * g };
            *v = *v * alpha + keep * g * g;
            g
        };
        let centered = |v: f32, g_avg: &mut f32, g: f32| {
            *g_avg = lerp(*g_avg, g, keep);
            (v + -*g_avg * *g_avg).sqrt() + eps
        };
        let with_momentum = |p: &mut f32, b: &mut f32, g: f32, avg: f32| {
            *b = *b * momentum + g / avg;
            *p += neg_lr * *b;
        };
        let pass = param.iter_mut().zip(grad).zip(v.iter_mut());
        match (g_avg, b) {
            (None, None) => {
                for ((p, &g), v) in pass {
                    let g = square(*p, g, v);
                    *p += neg_lr * g / (v.sqrt() + eps);
                }
            }
            (None, Some(b)) => {
                for (((p, &g), v), b) in pass.zip(b.iter_mut()) {
                    let g = square(*p, g, v);
                    with_momentum(p, b, g, v.sqrt() + eps);
                }
            }
            (Some(g_avg), None) => {
                for (((p, &g), v), g_avg) in pass.zip(g_avg.iter_mut()) {
                    let g = square(*p, g, v);
                    *p += neg_lr * g / centered(*v, g_avg, g);
                }
            }
            (Some(g_avg), Some(b)) => {
                for ((((p, &g), v), g_avg), b) in pass.zip(g_avg.iter_mut()).zip(b.iter_mut()) {
                    let g = square(*p, g, v);
                    let avg = centered(*v, g_avg, g);
                    with_momentum(p, b, g, avg);
                }
            }
        }
    }
}
