//! Losses as modules (`nn.CrossEntropyLoss()` …): their options, then
//! `forward(input, target)`, which calls the function of [`crate::functional`].

use autograd::Tensor;

use crate::functional::{self, Reduction};

/// `nn.CrossEntropyLoss`: logits `[N, C]` (or `[N, C, d…]`) against class
/// indices `[N]` or class probabilities `[N, C]`; see
/// [`functional::cross_entropy`] for the exact rules.
///
/// ```
/// use autograd::Tensor;
/// use nn::CrossEntropyLoss;
/// let loss_fn = CrossEntropyLoss::new().label_smoothing(0.1);
/// let logits = Tensor::from_vec(vec![2.0, 0.5, -1.0], &[1, 3]).requires_grad_(true);
/// let loss = loss_fn.forward(&logits, &Tensor::from_vec(vec![0.0], &[1]));
/// loss.backward().unwrap();
/// ```
#[derive(Clone, Debug)]
pub struct CrossEntropyLoss {
    weight: Option<Tensor>,
    ignore_index: i64,
    reduction: Reduction,
    label_smoothing: f32,
}

impl CrossEntropyLoss {
    /// PyTorch's defaults: no weight, `ignore_index=-100`, mean, no smoothing.
    pub fn new() -> CrossEntropyLoss {
        CrossEntropyLoss {
            weight: None,
            ignore_index: -100,
            reduction: Reduction::Mean,
            label_smoothing: 0.0,
        }
    }

    /// Per-class weights `[C]`.
    pub fn weight(mut self, weight: Tensor) -> CrossEntropyLoss {
        self.weight = Some(weight);
        self
    }

    /// Class-index targets equal to this contribute nothing and do not count in
    /// the mean (`ignore_index=`, PyTorch's default -100). With class-probability
    /// targets it must stay negative: `forward` panics otherwise, as PyTorch raises.
    pub fn ignore_index(mut self, ignore_index: i64) -> CrossEntropyLoss {
        self.ignore_index = ignore_index;
        self
    }

    /// How the per-element losses are combined (`reduction=`, mean by default).
    pub fn reduction(mut self, reduction: Reduction) -> CrossEntropyLoss {
        self.reduction = reduction;
        self
    }

    /// ε in `[0, 1]`.
    pub fn label_smoothing(mut self, label_smoothing: f32) -> CrossEntropyLoss {
        self.label_smoothing = label_smoothing;
        self
    }

    /// The loss of logits `input` against class indices or class probabilities
    /// `target`; panics as [`functional::cross_entropy`] does.
    pub fn forward(&self, input: &Tensor, target: &Tensor) -> Tensor {
        functional::cross_entropy(
            input,
            target,
            self.weight.as_ref(),
            self.ignore_index,
            self.reduction,
            self.label_smoothing,
        )
    }
}

impl Default for CrossEntropyLoss {
    fn default() -> CrossEntropyLoss {
        CrossEntropyLoss::new()
    }
}

/// `nn.NLLLoss`: log-probabilities against class indices; see [`functional::nll_loss`].
#[derive(Clone, Debug)]
pub struct NLLLoss {
    weight: Option<Tensor>,
    ignore_index: i64,
    reduction: Reduction,
}

impl NLLLoss {
    /// PyTorch's defaults: no weight, `ignore_index=-100`, mean.
    pub fn new() -> NLLLoss {
        NLLLoss {
            weight: None,
            ignore_index: -100,
            reduction: Reduction::Mean,
        }
    }

    /// Per-class weights `[C]`.
    pub fn weight(mut self, weight: Tensor) -> NLLLoss {
        self.weight = Some(weight);
        self
    }

    /// Targets equal to this contribute nothing and do not count in the mean
    /// (`ignore_index=`, PyTorch's default -100).
    pub fn ignore_index(mut self, ignore_index: i64) -> NLLLoss {
        self.ignore_index = ignore_index;
        self
    }

    /// How the per-element losses are combined (`reduction=`, mean by default).
    pub fn reduction(mut self, reduction: Reduction) -> NLLLoss {
        self.reduction = reduction;
        self
    }

    /// The loss of log-probabilities `input` `[N, C]` (or `[N, C, d…]`) at class
    /// indices `target`; panics as [`functional::nll_loss`] does.
    pub fn forward(&self, input: &Tensor, target: &Tensor) -> Tensor {
        functional::nll_loss(
            input,
            target,
            self.weight.as_ref(),
            self.ignore_index,
            self.reduction,
        )
    }
}

impl Default for NLLLoss {
    fn default() -> NLLLoss {
        NLLLoss::new()
    }
}

/// `nn.MSELoss`: mean squared error; see [`functional::mse_loss`].
#[derive(Clone, Copy, Debug, Default)]
pub struct MSELoss {
    reduction: Reduction,
}

impl MSELoss {
    /// PyTorch's default: mean.
    pub fn new() -> MSELoss {
        MSELoss::default()
    }

    /// How the per-element losses are combined (`reduction=`, mean by default).
    pub fn reduction(mut self, reduction: Reduction) -> MSELoss {
        self.reduction = reduction;
        self
    }

    /// The squared error of `input` against `target`; panics if their shapes
    /// differ (PyTorch would broadcast them, with a warning).
    pub fn forward(&self, input: &Tensor, target: &Tensor) -> Tensor {
        functional::mse_loss(input, target, self.reduction)
    }
}

/// `nn.BCEWithLogitsLoss`: binary cross entropy of logits against
/// probabilities (0/1 labels or soft ones) of the same shape, stable for any
/// logit; see [`functional::binary_cross_entropy_with_logits`] for the exact
/// rules.
///
/// ```
/// use autograd::Tensor;
/// use nn::BCEWithLogitsLoss;
/// // Three labels per sample; positives of the first weigh 3 times as much.
/// let loss_fn = BCEWithLogitsLoss::new().pos_weight(Tensor::from_vec(vec![3.0, 1.0, 1.0], &[3]));
/// let logits = Tensor::from_vec(vec![2.0, -0.5, 0.0, -1.0, 1.5, 0.3], &[2, 3]).requires_grad_(true);
/// let labels = Tensor::from_vec(vec![1.0, 0.0, 1.0, 0.0, 1.0, 0.0], &[2, 3]);
/// let loss = loss_fn.forward(&logits, &labels);
/// loss.backward().unwrap();
/// ```
#[derive(Clone, Debug, Default)]
pub struct BCEWithLogitsLoss {
    weight: Option<Tensor>,
    pos_weight: Option<Tensor>,
    reduction: Reduction,
}

impl BCEWithLogitsLoss {
    /// PyTorch's defaults: no weight, no pos_weight, mean.
    pub fn new() -> BCEWithLogitsLoss {
        BCEWithLogitsLoss::default()
    }

    /// Per-element weights, broadcast to the input's shape.
    pub fn weight(mut self, weight: Tensor) -> BCEWithLogitsLoss {
        self.weight = Some(weight);
        self
    }

    /// Weights of the positive terms, broadcast to the input's shape: `[C]`
    /// gives each class (the last dim) its own.
    pub fn pos_weight(mut self, pos_weight: Tensor) -> BCEWithLogitsLoss {
        self.pos_weight = Some(pos_weight);
        self
    }

    /// How the per-element losses are combined (mean by default).
    pub fn reduction(mut self, reduction: Reduction) -> BCEWithLogitsLoss {
        self.reduction = reduction;
        self
    }

    /// The loss of logits `input` against probabilities `target` (same shape).
    pub fn forward(&self, input: &Tensor, target: &Tensor) -> Tensor {
        functional::binary_cross_entropy_with_logits(
            input,
            target,
            self.weight.as_ref(),
            self.pos_weight.as_ref(),
            self.reduction,
        )
    }
}

/// `nn.BCELoss`: binary cross entropy of probabilities in `[0, 1]`, each log
/// clamped at -100; see [`functional::binary_cross_entropy`]. On logits,
/// [`BCEWithLogitsLoss`] is the stable choice.
#[derive(Clone, Debug, Default)]
pub struct BCELoss {
    weight: Option<Tensor>,
    reduction: Reduction,
}

impl BCELoss {
    /// PyTorch's defaults: no weight, mean.
    pub fn new() -> BCELoss {
        BCELoss::default()
    }

    /// Per-element weights, broadcast to the input's shape.
    pub fn weight(mut self, weight: Tensor) -> BCELoss {
        self.weight = Some(weight);
        self
    }

    /// How the per-element losses are combined (mean by default).
    pub fn reduction(mut self, reduction: Reduction) -> BCELoss {
        self.reduction = reduction;
        self
    }

    /// The loss of probabilities `input` against probabilities `target` (same shape).
    pub fn forward(&self, input: &Tensor, target: &Tensor) -> Tensor {
        functional::binary_cross_entropy(input, target, self.weight.as_ref(), self.reduction)
    }
}
