//! `ReduceLROnPlateau`: cut the lr when a monitored metric stops improving.

use std::collections::BTreeMap;

use crate::error::OptimError;
use crate::optimizer::Optimizer;
use crate::scheduler::{group_lrs, save_list, LrScheduler, Reader};

/// Whether the monitored metric should go down (a loss) or up (an accuracy).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlateauMode {
    /// Lower is better (`mode="min"`, PyTorch's default).
    Min,
    /// Higher is better (`mode="max"`).
    Max,
}

/// How `threshold` measures a significant improvement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ThresholdMode {
    /// Better than `best·(1 ∓ threshold)`.
    Rel,
    /// Better than `best ∓ threshold`.
    Abs,
}

/// `ReduceLROnPlateau`'s arguments, with PyTorch's defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct PlateauConfig {
    /// `mode`: whether the metric should go down or up (`Min`).
    pub mode: PlateauMode,
    /// `new_lr = lr · factor`; must be below 1.
    pub factor: f64,
    /// Epochs without improvement tolerated before the lr is cut.
    pub patience: usize,
    /// `threshold`: how much better than the best a metric must be to count as an
    /// improvement, as `threshold_mode` measures it (1e-4).
    pub threshold: f64,
    /// `threshold_mode`: relative or absolute `threshold` (`Rel`).
    pub threshold_mode: ThresholdMode,
    /// Epochs to wait after a cut before counting bad epochs again.
    pub cooldown: usize,
    /// Lower bound of every group's lr.
    pub min_lr: f64,
    /// Cuts smaller than this are skipped.
    pub eps: f64,
}

impl Default for PlateauConfig {
    fn default() -> Self {
        PlateauConfig {
            mode: PlateauMode::Min,
            factor: 0.1,
            patience: 10,
            threshold: 1e-4,
            threshold_mode: ThresholdMode::Rel,
            cooldown: 0,
            min_lr: 0.0,
            eps: 1e-8,
        }
    }
}

/// `ReduceLROnPlateau`: stepped once per epoch with the metric, through
/// [`LrScheduler::step_with_metric`]; plain `step` is an error.
///
/// ```
/// use autograd::Tensor;
/// use optim::{LrScheduler, Optimizer, PlateauConfig, ReduceLROnPlateau, SgdConfig, SGD};
/// let mut opt = SGD::new(vec![Tensor::zeros(&[1])], SgdConfig { lr: 1.0, ..Default::default() }).unwrap();
/// let config = PlateauConfig { patience: 1, ..Default::default() };
/// let mut scheduler = ReduceLROnPlateau::new(&opt, config).unwrap();
/// for loss in [3.0, 2.0, 2.5, 2.5] {
///     scheduler.step_with_metric(&mut opt, loss).unwrap();
/// }
/// assert_eq!(opt.lr(), 0.1); // two epochs without beating 2.0
/// ```
#[derive(Clone, Debug)]
pub struct ReduceLROnPlateau {
    config: PlateauConfig,
    /// The best metric so far (±inf before the first step).
    best: f64,
    num_bad_epochs: usize,
    cooldown_counter: usize,
    last_epoch: i64,
    last_lr: Vec<f64>,
}

impl ReduceLROnPlateau {
    /// A ReduceLROnPlateau for `optimizer`'s groups; it changes no lr until stepped.
    /// Refuses a `factor` of 1 or more (or NaN).
    pub fn new(
        optimizer: &dyn Optimizer,
        config: PlateauConfig,
    ) -> Result<ReduceLROnPlateau, OptimError> {
        check(&config)?;
        let best = worst(config.mode);
        Ok(ReduceLROnPlateau {
            config,
            best,
            num_bad_epochs: 0,
            cooldown_counter: 0,
            last_epoch: 0,
            last_lr: group_lrs(optimizer),
        })
    }

    fn is_better(&self, a: f64, best: f64) -> bool {
        let t = self.config.threshold;
        match (self.config.mode, self.config.threshold_mode) {
            (PlateauMode::Min, ThresholdMode::Rel) => a < best * (1.0 - t),
            (PlateauMode::Min, ThresholdMode::Abs) => a < best - t,
            (PlateauMode::Max, ThresholdMode::Rel) => a > best * (t + 1.0),
            (PlateauMode::Max, ThresholdMode::Abs) => a > best + t,
        }
    }
}

fn worst(mode: PlateauMode) -> f64 {
    match mode {
        PlateauMode::Min => f64::INFINITY,
        PlateauMode::Max => f64::NEG_INFINITY,
    }
}

fn check(config: &PlateauConfig) -> Result<(), OptimError> {
    if config.factor.is_nan() || config.factor >= 1.0 {
        return Err(OptimError::invalid(format!(
            "Factor should be < 1.0, got {}",
            config.factor
        )));
    }
    Ok(())
}

impl LrScheduler for ReduceLROnPlateau {
    fn step(&mut self, _optimizer: &mut dyn Optimizer) -> Result<(), OptimError> {
        Err(OptimError::invalid(
            "ReduceLROnPlateau.step() needs the monitored metric: call step_with_metric(optimizer, metric)",
        ))
    }

    fn step_with_metric(
        &mut self,
        optimizer: &mut dyn Optimizer,
        current: f64,
    ) -> Result<(), OptimError> {
        self.last_epoch += 1;
        if self.is_better(current, self.best) {
            self.best = current;
            self.num_bad_epochs = 0;
        } else {
            self.num_bad_epochs += 1;
        }
        if self.cooldown_counter > 0 {
            self.cooldown_counter -= 1;
            self.num_bad_epochs = 0; // bad epochs in cooldown do not count
        }
        if self.num_bad_epochs > self.config.patience {
            for g in 0..optimizer.num_groups() {
                let old_lr = optimizer.group_lr(g);
                let new_lr = (old_lr * self.config.factor).max(self.config.min_lr);
                if old_lr - new_lr > self.config.eps {
                    optimizer.set_group_lr(g, new_lr);
                }
            }
            self.cooldown_counter = self.config.cooldown;
            self.num_bad_epochs = 0;
        }
        self.last_lr = group_lrs(optimizer);
        Ok(())
    }

    fn get_last_lr(&self) -> Vec<f64> {
        self.last_lr.clone()
    }

    fn state_dict(&self) -> BTreeMap<String, f64> {
        let c = &self.config;
        let mut out = BTreeMap::new();
        for (key, value) in [
            ("best", self.best),
            ("num_bad_epochs", self.num_bad_epochs as f64),
            ("cooldown_counter", self.cooldown_counter as f64),
            ("last_epoch", self.last_epoch as f64),
            (
                "mode_max",
                if c.mode == PlateauMode::Max { 1.0 } else { 0.0 },
            ),
            ("factor", c.factor),
            ("patience", c.patience as f64),
            ("threshold", c.threshold),
            (
                "threshold_abs",
                if c.threshold_mode == ThresholdMode::Abs {
                    1.0
                } else {
                    0.0
                },
            ),
            ("cooldown", c.cooldown as f64),
            ("min_lr", c.min_lr),
            ("eps", c.eps),
        ] {
            out.insert(key.into(), value);
        }
        save_list(&mut out, "last_lr", &self.last_lr);
        out
    }

    fn load_state_dict(&mut self, state: &BTreeMap<String, f64>) -> Result<(), OptimError> {
        let mut r = Reader::new("ReduceLROnPlateau", state);
        let config = PlateauConfig {
            mode: if r.flag("mode_max")? {
                PlateauMode::Max
            } else {
                PlateauMode::Min
            },
            factor: r.scalar("factor")?,
            patience: r.count("patience")?,
            threshold: r.scalar("threshold")?,
            threshold_mode: if r.flag("threshold_abs")? {
                ThresholdMode::Abs
            } else {
                ThresholdMode::Rel
            },
            cooldown: r.count("cooldown")?,
            min_lr: r.scalar("min_lr")?,
            eps: r.scalar("eps")?,
        };
        check(&config).map_err(|e| r.error(e.to_string()))?;
        let loaded = ReduceLROnPlateau {
            best: r.scalar("best")?,
            num_bad_epochs: r.count("num_bad_epochs")?,
            cooldown_counter: r.count("cooldown_counter")?,
            last_epoch: r.integer("last_epoch")?,
            last_lr: r.list("last_lr", self.last_lr.len())?,
            config,
        };
        r.finish()?;
        *self = loaded;
        Ok(())
    }
}
