//! Optimizers and schedulers chosen by name, for the command line.

use autograd::Tensor;

use crate::error::OptimError;
use crate::onecycle::{OneCycleConfig, OneCycleLR};
use crate::optimizer::{Optimizer, Rule};
use crate::plateau::{PlateauConfig, ReduceLROnPlateau};
use crate::scheduler::{
    CosineAnnealingLR, ExponentialLR, LinearLR, LrScheduler, MultiStepLR, StepLR,
};
use crate::{
    Adagrad, AdagradConfig, Adam, AdamConfig, AdamW, AdamWConfig, RMSprop, RmspropConfig,
    SgdConfig, SGD,
};

/// The optimizer flags a command line offers; `None` takes the optimizer's
/// PyTorch default (lr 1e-3 for SGD/Adam/AdamW, 1e-2 for RMSprop/Adagrad;
/// weight decay 1e-2 for AdamW, else 0).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OptimOptions {
    /// Learning rate; `None` takes the optimizer's default.
    pub lr: Option<f64>,
    /// SGD and RMSprop only.
    pub momentum: f64,
    /// Weight decay (decoupled for AdamW, an L2 penalty for the others); `None`
    /// takes the optimizer's default.
    pub weight_decay: Option<f64>,
    /// SGD only.
    pub nesterov: bool,
}

/// The names [`build`] knows.
pub const OPTIMIZERS: &[&str] = &["sgd", "adam", "adamw", "rmsprop", "adagrad"];

/// An optimizer by name (`sgd`, `adam`, `adamw`, `rmsprop`, `adagrad`, any
/// case) over `params`. A flag the optimizer lacks (momentum for Adam, ...) is
/// an error rather than ignored.
///
/// ```
/// use autograd::Tensor;
/// use optim::{build, OptimOptions, Optimizer};
/// let params = vec![Tensor::zeros(&[3]).requires_grad_(true)];
/// let options = OptimOptions { lr: Some(0.1), momentum: 0.9, ..Default::default() };
/// let opt = build("sgd", params, &options).unwrap();
/// assert_eq!(opt.lr(), 0.1);
/// ```
pub fn build(
    name: &str,
    params: Vec<Tensor>,
    options: &OptimOptions,
) -> Result<Box<dyn Optimizer>, OptimError> {
    let name = name.to_ascii_lowercase();
    let has_momentum = matches!(name.as_str(), "sgd" | "rmsprop");
    if options.momentum != 0.0 && !has_momentum && OPTIMIZERS.contains(&name.as_str()) {
        return Err(OptimError::invalid(format!(
            "momentum does not apply to {name} (only to sgd and rmsprop)"
        )));
    }
    if options.nesterov && name != "sgd" {
        return Err(OptimError::invalid(format!(
            "nesterov does not apply to {name} (only to sgd)"
        )));
    }
    fn with<R: Rule>(mut config: R, options: &OptimOptions) -> R {
        if let Some(lr) = options.lr {
            config.set("lr", lr);
        }
        if let Some(weight_decay) = options.weight_decay {
            config.set("weight_decay", weight_decay);
        }
        config
    }
    Ok(match name.as_str() {
        "sgd" => {
            let config = SgdConfig {
                momentum: options.momentum,
                nesterov: options.nesterov,
                ..Default::default()
            };
            Box::new(SGD::new(params, with(config, options))?)
        }
        "adam" => Box::new(Adam::new(params, with(AdamConfig::default(), options))?),
        "adamw" => Box::new(AdamW::new(params, with(AdamWConfig::default(), options))?),
        "rmsprop" => {
            let config = RmspropConfig {
                momentum: options.momentum,
                ..Default::default()
            };
            Box::new(RMSprop::new(params, with(config, options))?)
        }
        "adagrad" => Box::new(Adagrad::new(
            params,
            with(AdagradConfig::default(), options),
        )?),
        _ => {
            return Err(OptimError::invalid(format!(
                "unknown optimizer '{name}' (expected one of {})",
                OPTIMIZERS.join(", ")
            )))
        }
    })
}

/// A scheduler from a spec `name[:arg[:arg...]]` (optional args in brackets,
/// PyTorch's defaults):
///
/// | spec | scheduler |
/// |---|---|
/// | `step:STEP_SIZE[:GAMMA=0.1]` | [`StepLR`] |
/// | `multistep:M1,M2,...[:GAMMA=0.1]` | [`MultiStepLR`] |
/// | `exponential:GAMMA` | [`ExponentialLR`] |
/// | `cosine[:T_MAX=epochs[:ETA_MIN=0]]` | [`CosineAnnealingLR`] |
/// | `linear[:START_FACTOR=1/3[:END_FACTOR=1[:TOTAL_ITERS=5]]]` | [`LinearLR`] |
/// | `onecycle:MAX_LR[:PCT_START=0.3]` | [`OneCycleLR`] over `epochs·steps_per_epoch` batches |
/// | `plateau[:FACTOR=0.1[:PATIENCE=10]]` | [`ReduceLROnPlateau`], mode min |
///
/// Step the result once per epoch, after that epoch's optimizer steps, with
/// [`LrScheduler::step_with_metric`] (the validation loss) — except when
/// [`LrScheduler::per_batch`] says so (OneCycleLR): then after every batch with `step`.
///
/// ```
/// use autograd::Tensor;
/// use optim::{build_scheduler, Optimizer, SgdConfig, SGD};
/// let mut opt = SGD::new(vec![Tensor::zeros(&[1])], SgdConfig { lr: 0.1, ..Default::default() }).unwrap();
/// let scheduler = build_scheduler("step:30:0.5", &mut opt, 90, 100).unwrap();
/// assert!(!scheduler.per_batch());
/// assert!(build_scheduler("step:zero", &mut opt, 90, 100).is_err());
/// ```
pub fn build_scheduler(
    spec: &str,
    optimizer: &mut dyn Optimizer,
    epochs: usize,
    steps_per_epoch: usize,
) -> Result<Box<dyn LrScheduler>, OptimError> {
    scheduler_from_spec(spec, optimizer, epochs, steps_per_epoch)
        .map_err(|e| OptimError::invalid(format!("scheduler spec '{spec}': {e}")))
}

/// Whether the schedule that `spec` names is sized by the run's `epochs`
/// (its length then cannot change on resume): [`OneCycleLR`], and
/// [`CosineAnnealingLR`] without its own T_MAX. The one place, beside the
/// parser below, that knows which defaults come from `epochs`.
///
/// ```
/// assert!(optim::scheduler_uses_epochs("onecycle:0.1"));
/// assert!(optim::scheduler_uses_epochs("Cosine"));
/// assert!(!optim::scheduler_uses_epochs("cosine:20"));
/// assert!(!optim::scheduler_uses_epochs("step:5"));
/// ```
pub fn scheduler_uses_epochs(spec: &str) -> bool {
    let mut parts = spec.split(':');
    let name = parts.next().unwrap_or_default().to_ascii_lowercase();
    match name.as_str() {
        "onecycle" => true,
        "cosine" => parts.next().is_none(),
        _ => false,
    }
}

fn scheduler_from_spec(
    spec: &str,
    optimizer: &mut dyn Optimizer,
    epochs: usize,
    steps_per_epoch: usize,
) -> Result<Box<dyn LrScheduler>, OptimError> {
    let mut parts = spec.split(':');
    let name = parts.next().unwrap_or_default().to_ascii_lowercase();
    let args: Vec<&str> = parts.collect();
    let bad = |what: &str| OptimError::invalid(what);
    let max_args = |n: usize| {
        if args.len() > n {
            Err(bad(&format!(
                "{name} takes at most {n} arguments, got {}",
                args.len()
            )))
        } else {
            Ok(())
        }
    };
    // Finite numbers only: a NaN or infinite factor would train on with a NaN lr.
    let number = |i: usize, what: &str, default: Option<f64>| -> Result<f64, OptimError> {
        match (args.get(i), default) {
            (Some(text), _) => match text.parse::<f64>() {
                Ok(x) if x.is_finite() => Ok(x),
                _ => Err(bad(&format!(
                    "{what} must be a finite number, got '{text}'"
                ))),
            },
            (None, Some(default)) => Ok(default),
            (None, None) => Err(bad(&format!("{name} needs {what}"))),
        }
    };
    // For the values that multiply the lr or become it: a negative one would
    // turn the lr negative (gradient ascent), which `--lr` refuses too.
    let non_negative = |i: usize, what: &str, default: Option<f64>| -> Result<f64, OptimError> {
        let x = number(i, what, default)?;
        if x < 0.0 {
            return Err(bad(&format!("{what} must not be negative, got {x}")));
        }
        Ok(x)
    };
    let count = |i: usize, what: &str, default: Option<usize>| -> Result<usize, OptimError> {
        match (args.get(i), default) {
            (Some(text), _) => text.parse::<usize>().map_err(|_| {
                bad(&format!(
                    "{what} must be a non-negative integer, got '{text}'"
                ))
            }),
            (None, Some(default)) => Ok(default),
            (None, None) => Err(bad(&format!("{name} needs {what}"))),
        }
    };
    let scheduler: Box<dyn LrScheduler> = match name.as_str() {
        "step" => {
            max_args(2)?;
            Box::new(StepLR::new(optimizer, count(0, "STEP_SIZE", None)?, non_negative(1, "GAMMA", Some(0.1))?)?)
        }
        "multistep" => {
            max_args(2)?;
            let list = args.first().ok_or_else(|| bad("multistep needs milestones M1,M2,..."))?;
            let milestones = list
                .split(',')
                .map(|m| m.trim().parse::<usize>().map_err(|_| bad(&format!("milestone '{m}' is not an epoch number"))))
                .collect::<Result<Vec<_>, _>>()?;
            Box::new(MultiStepLR::new(optimizer, &milestones, non_negative(1, "GAMMA", Some(0.1))?)?)
        }
        "exponential" => {
            max_args(1)?;
            Box::new(ExponentialLR::new(optimizer, non_negative(0, "GAMMA", None)?)?)
        }
        "cosine" => {
            max_args(2)?;
            let t_max = count(0, "T_MAX", Some(epochs))?;
            Box::new(CosineAnnealingLR::new(optimizer, t_max, non_negative(1, "ETA_MIN", Some(0.0))?)?)
        }
        "linear" => {
            max_args(3)?;
            let start = number(0, "START_FACTOR", Some(1.0 / 3.0))?;
            let end = number(1, "END_FACTOR", Some(1.0))?;
            Box::new(LinearLR::new(optimizer, start, end, count(2, "TOTAL_ITERS", Some(5))?)?)
        }
        "onecycle" => {
            max_args(2)?;
            let config = OneCycleConfig { pct_start: number(1, "PCT_START", Some(0.3))?, ..Default::default() };
            let total_steps = epochs * steps_per_epoch;
            Box::new(OneCycleLR::new(optimizer, non_negative(0, "MAX_LR", None)?, total_steps, config)?)
        }
        "plateau" => {
            max_args(2)?;
            let config = PlateauConfig {
                factor: number(0, "FACTOR", Some(0.1))?,
                patience: count(1, "PATIENCE", Some(10))?,
                ..Default::default()
            };
            Box::new(ReduceLROnPlateau::new(optimizer, config)?)
        }
        _ => {
            return Err(bad(
                "unknown scheduler (expected step, multistep, exponential, cosine, linear, onecycle or plateau)",
            ))
        }
    };
    Ok(scheduler)
}
