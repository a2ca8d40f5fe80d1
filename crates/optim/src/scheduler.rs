//! Learning-rate schedulers, as `torch.optim.lr_scheduler`: the [`LrScheduler`]
//! trait and the epoch-wise schedulers StepLR, MultiStepLR, ExponentialLR,
//! CosineAnnealingLR and LinearLR (OneCycleLR and ReduceLROnPlateau have their
//! own files).
//!
//! PyTorch's schedulers hold the optimizer; here `step` is given it, since a
//! Rust scheduler cannot keep a `&mut` to it between calls. Each constructor
//! takes the optimizer's current lrs as base lrs and makes PyTorch's initial
//! step (epoch 0), so build the scheduler before loading a checkpoint.
//! Schedulers compute what `scheduler.get_last_lr()` shows in PyTorch's usual
//! use (one `step()` per epoch): the recursive ("chainable") forms of `get_lr`,
//! which read each group's current lr.

use std::collections::{BTreeMap, BTreeSet};
use std::f64::consts::PI;

use crate::error::OptimError;
use crate::optimizer::Optimizer;

/// A learning-rate schedule that sets an optimizer's lrs.
///
/// ```
/// use autograd::Tensor;
/// use optim::{LrScheduler, Optimizer, SgdConfig, StepLR, SGD};
/// let mut opt = SGD::new(vec![Tensor::zeros(&[1])], SgdConfig { lr: 0.1, ..Default::default() }).unwrap();
/// let mut scheduler = StepLR::new(&mut opt, 2, 0.5).unwrap();
/// let mut lrs = vec![opt.lr()];
/// for _epoch in 0..4 {
///     opt.step(); // the epoch's training
///     scheduler.step(&mut opt).unwrap();
///     lrs.push(opt.lr());
/// }
/// assert_eq!(lrs, vec![0.1, 0.1, 0.05, 0.05, 0.025]);
/// ```
pub trait LrScheduler: Send {
    /// Advance one epoch (one batch for [`crate::OneCycleLR`]) and set the
    /// optimizer's lrs (`scheduler.step()`).
    fn step(&mut self, optimizer: &mut dyn Optimizer) -> Result<(), OptimError>;

    /// `step` given the monitored metric: [`crate::ReduceLROnPlateau`] needs it,
    /// the others ignore it.
    fn step_with_metric(
        &mut self,
        optimizer: &mut dyn Optimizer,
        metric: f64,
    ) -> Result<(), OptimError> {
        let _ = metric;
        self.step(optimizer)
    }

    /// The lr of each group after the last step (`get_last_lr()`).
    fn get_last_lr(&self) -> Vec<f64>;

    /// Whether `step` is meant to be called after every batch (OneCycleLR)
    /// rather than once per epoch.
    fn per_batch(&self) -> bool {
        false
    }

    /// The scheduler's state and hyperparameters, as named scalars.
    fn state_dict(&self) -> BTreeMap<String, f64>;

    /// Restore a state from [`LrScheduler::state_dict`] (hyperparameters too, as
    /// PyTorch does); on error nothing is changed.
    fn load_state_dict(&mut self, state: &BTreeMap<String, f64>) -> Result<(), OptimError>;
}

/// The lr of every group of `optimizer`.
pub(crate) fn group_lrs(optimizer: &dyn Optimizer) -> Vec<f64> {
    (0..optimizer.num_groups())
        .map(|g| optimizer.group_lr(g))
        .collect()
}

/// What every epoch-counting scheduler keeps (PyTorch's `LRScheduler` base).
#[derive(Clone, Debug)]
pub(crate) struct Base {
    pub base_lrs: Vec<f64>,
    pub last_epoch: i64,
    pub last_lr: Vec<f64>,
}

impl Base {
    /// PyTorch's `LRScheduler.__init__`: each group's `initial_lr` is set to
    /// its lr unless an earlier scheduler set it, and is the base lr.
    pub fn new(optimizer: &mut dyn Optimizer) -> Base {
        let base_lrs = (0..optimizer.num_groups())
            .map(|g| match optimizer.group_initial_lr(g) {
                Some(lr) => lr,
                None => {
                    let lr = optimizer.group_lr(g);
                    optimizer.set_group_initial_lr(g, lr);
                    lr
                }
            })
            .collect();
        Base {
            base_lrs,
            last_epoch: -1,
            last_lr: Vec::new(),
        }
    }

    /// PyTorch's `_update_lr`: count one more epoch and set each group's lr to
    /// `lr_at(epoch, current lr, base lr)`.
    pub fn advance(&mut self, optimizer: &mut dyn Optimizer, lr_at: impl Fn(i64, f64, f64) -> f64) {
        assert_eq!(
            optimizer.num_groups(),
            self.base_lrs.len(),
            "scheduler stepped with an optimizer of {} parameter groups; it was built for {}",
            optimizer.num_groups(),
            self.base_lrs.len()
        );
        self.last_epoch += 1;
        for (g, &base_lr) in self.base_lrs.iter().enumerate() {
            let lr = lr_at(self.last_epoch, optimizer.group_lr(g), base_lr);
            optimizer.set_group_lr(g, lr);
        }
        self.last_lr = group_lrs(optimizer);
    }

    pub fn save(&self, out: &mut BTreeMap<String, f64>) {
        out.insert("last_epoch".into(), self.last_epoch as f64);
        save_list(out, "base_lrs", &self.base_lrs);
        save_list(out, "last_lr", &self.last_lr);
    }

    pub fn load(&self, reader: &mut Reader) -> Result<Base, OptimError> {
        let n = self.base_lrs.len();
        let last_epoch = reader.integer("last_epoch")?;
        if last_epoch < -1 {
            return Err(reader.error(format!("'last_epoch' must be -1 or more, got {last_epoch}")));
        }
        Ok(Base {
            base_lrs: reader.list("base_lrs", n)?,
            last_epoch,
            last_lr: reader.list("last_lr", n)?,
        })
    }
}

pub(crate) fn save_list(out: &mut BTreeMap<String, f64>, prefix: &str, values: &[f64]) {
    for (i, &v) in values.iter().enumerate() {
        out.insert(format!("{prefix}.{i}"), v);
    }
}

/// Reads a scheduler's saved scalars, remembering which keys were used so that
/// leftovers (a state from another scheduler) are reported.
pub(crate) struct Reader<'a> {
    scheduler: &'static str,
    state: &'a BTreeMap<String, f64>,
    used: BTreeSet<&'a str>,
}

impl<'a> Reader<'a> {
    pub fn new(scheduler: &'static str, state: &'a BTreeMap<String, f64>) -> Reader<'a> {
        Reader {
            scheduler,
            state,
            used: BTreeSet::new(),
        }
    }

    pub fn error(&self, message: String) -> OptimError {
        OptimError::bad_state(format!("{}: {message}", self.scheduler))
    }

    pub fn scalar(&mut self, key: &str) -> Result<f64, OptimError> {
        match self.state.get_key_value(key) {
            Some((k, &v)) => {
                self.used.insert(k.as_str());
                Ok(v)
            }
            None => Err(self.error(format!(
                "missing key '{key}' (was the state saved from another scheduler?)"
            ))),
        }
    }

    pub fn integer(&mut self, key: &str) -> Result<i64, OptimError> {
        let v = self.scalar(key)?;
        if v.fract() != 0.0 || v.abs() > 2f64.powi(53) {
            return Err(self.error(format!("'{key}' must be an integer, got {v}")));
        }
        Ok(v as i64)
    }

    pub fn count(&mut self, key: &str) -> Result<usize, OptimError> {
        let v = self.integer(key)?;
        usize::try_from(v).map_err(|_| self.error(format!("'{key}' must not be negative, got {v}")))
    }

    pub fn flag(&mut self, key: &str) -> Result<bool, OptimError> {
        Ok(self.scalar(key)? != 0.0)
    }

    /// `prefix.0` .. `prefix.{n-1}`, and no `prefix.{n}`.
    pub fn list(&mut self, prefix: &str, n: usize) -> Result<Vec<f64>, OptimError> {
        if self.state.contains_key(&format!("{prefix}.{n}")) {
            return Err(self.error(format!(
                "'{prefix}' has more than {n} entries (one per parameter group)"
            )));
        }
        (0..n)
            .map(|i| self.scalar(&format!("{prefix}.{i}")))
            .collect()
    }

    /// Every key read: anything left over is an error.
    pub fn finish(self) -> Result<(), OptimError> {
        match self.state.keys().find(|k| !self.used.contains(k.as_str())) {
            Some(key) => Err(self.error(format!("unexpected key '{key}'"))),
            None => Ok(()),
        }
    }
}

// ------------------------------------------------------------------ StepLR

/// `StepLR`: multiply the lr by `gamma` every `step_size` epochs
/// (closed form `base_lr · gamma^(epoch / step_size)`).
#[derive(Clone, Debug)]
pub struct StepLR {
    base: Base,
    step_size: usize,
    gamma: f64,
}

impl StepLR {
    /// A StepLR on `optimizer`'s lrs, after PyTorch's initial step (epoch 0);
    /// refuses a `step_size` of 0.
    pub fn new(
        optimizer: &mut dyn Optimizer,
        step_size: usize,
        gamma: f64,
    ) -> Result<StepLR, OptimError> {
        if step_size == 0 {
            return Err(OptimError::invalid(
                "StepLR: step_size must be positive, got 0",
            ));
        }
        let mut scheduler = StepLR {
            base: Base::new(optimizer),
            step_size,
            gamma,
        };
        scheduler.step(optimizer)?;
        Ok(scheduler)
    }
}

impl LrScheduler for StepLR {
    fn step(&mut self, optimizer: &mut dyn Optimizer) -> Result<(), OptimError> {
        let (step_size, gamma) = (self.step_size as i64, self.gamma);
        self.base.advance(optimizer, |epoch, lr, _| {
            if epoch == 0 || epoch % step_size != 0 {
                lr
            } else {
                lr * gamma
            }
        });
        Ok(())
    }

    fn get_last_lr(&self) -> Vec<f64> {
        self.base.last_lr.clone()
    }

    fn state_dict(&self) -> BTreeMap<String, f64> {
        let mut out = BTreeMap::new();
        self.base.save(&mut out);
        out.insert("step_size".into(), self.step_size as f64);
        out.insert("gamma".into(), self.gamma);
        out
    }

    fn load_state_dict(&mut self, state: &BTreeMap<String, f64>) -> Result<(), OptimError> {
        let mut r = Reader::new("StepLR", state);
        let base = self.base.load(&mut r)?;
        let (step_size, gamma) = (r.count("step_size")?, r.scalar("gamma")?);
        if step_size == 0 {
            return Err(r.error("'step_size' must be positive".into()));
        }
        r.finish()?;
        *self = StepLR {
            base,
            step_size,
            gamma,
        };
        Ok(())
    }
}

// ------------------------------------------------------------------ MultiStepLR

/// `MultiStepLR`: multiply the lr by `gamma` at each milestone epoch (a
/// milestone listed twice multiplies by `gamma²`; closed form
/// `base_lr · gamma^(milestones ≤ epoch)`).
#[derive(Clone, Debug)]
pub struct MultiStepLR {
    base: Base,
    milestones: Vec<usize>,
    gamma: f64,
}

impl MultiStepLR {
    /// A MultiStepLR on `optimizer`'s lrs, after PyTorch's initial step (epoch 0);
    /// `milestones` are epochs, in any order.
    pub fn new(
        optimizer: &mut dyn Optimizer,
        milestones: &[usize],
        gamma: f64,
    ) -> Result<MultiStepLR, OptimError> {
        let mut milestones = milestones.to_vec();
        milestones.sort_unstable();
        let mut scheduler = MultiStepLR {
            base: Base::new(optimizer),
            milestones,
            gamma,
        };
        scheduler.step(optimizer)?;
        Ok(scheduler)
    }
}

impl LrScheduler for MultiStepLR {
    fn step(&mut self, optimizer: &mut dyn Optimizer) -> Result<(), OptimError> {
        let (milestones, gamma) = (&self.milestones, self.gamma);
        self.base.advance(optimizer, |epoch, lr, _| {
            // PyTorch keeps a Counter of milestones: `lr * gamma ** count[epoch]`.
            let hits = milestones.iter().filter(|&&m| m as i64 == epoch).count();
            if hits == 0 {
                lr
            } else {
                lr * gamma.powf(hits as f64)
            }
        });
        Ok(())
    }

    fn get_last_lr(&self) -> Vec<f64> {
        self.base.last_lr.clone()
    }

    fn state_dict(&self) -> BTreeMap<String, f64> {
        let mut out = BTreeMap::new();
        self.base.save(&mut out);
        let milestones: Vec<f64> = self.milestones.iter().map(|&m| m as f64).collect();
        out.insert("num_milestones".into(), milestones.len() as f64);
        save_list(&mut out, "milestones", &milestones);
        out.insert("gamma".into(), self.gamma);
        out
    }

    fn load_state_dict(&mut self, state: &BTreeMap<String, f64>) -> Result<(), OptimError> {
        let mut r = Reader::new("MultiStepLR", state);
        let base = self.base.load(&mut r)?;
        let n = r.count("num_milestones")?;
        let milestones = (0..n)
            .map(|i| r.count(&format!("milestones.{i}")))
            .collect::<Result<Vec<_>, _>>()?;
        let gamma = r.scalar("gamma")?;
        r.finish()?;
        *self = MultiStepLR {
            base,
            milestones,
            gamma,
        };
        Ok(())
    }
}

// ------------------------------------------------------------------ ExponentialLR

/// `ExponentialLR`: multiply the lr by `gamma` every epoch (`base_lr · gamma^epoch`).
#[derive(Clone, Debug)]
pub struct ExponentialLR {
    base: Base,
    gamma: f64,
}

impl ExponentialLR {
    /// An ExponentialLR on `optimizer`'s lrs, after PyTorch's initial step (epoch 0).
    pub fn new(optimizer: &mut dyn Optimizer, gamma: f64) -> Result<ExponentialLR, OptimError> {
        let mut scheduler = ExponentialLR {
            base: Base::new(optimizer),
            gamma,
        };
        scheduler.step(optimizer)?;
        Ok(scheduler)
    }
}

impl LrScheduler for ExponentialLR {
    fn step(&mut self, optimizer: &mut dyn Optimizer) -> Result<(), OptimError> {
        let gamma = self.gamma;
        self.base.advance(
            optimizer,
            |epoch, lr, _| if epoch == 0 { lr } else { lr * gamma },
        );
        Ok(())
    }

    fn get_last_lr(&self) -> Vec<f64> {
        self.base.last_lr.clone()
    }

    fn state_dict(&self) -> BTreeMap<String, f64> {
        let mut out = BTreeMap::new();
        self.base.save(&mut out);
        out.insert("gamma".into(), self.gamma);
        out
    }

    fn load_state_dict(&mut self, state: &BTreeMap<String, f64>) -> Result<(), OptimError> {
        let mut r = Reader::new("ExponentialLR", state);
        let base = self.base.load(&mut r)?;
        let gamma = r.scalar("gamma")?;
        r.finish()?;
        *self = ExponentialLR { base, gamma };
        Ok(())
    }
}

// ------------------------------------------------------------------ CosineAnnealingLR

/// `CosineAnnealingLR`: anneal from the base lr to `eta_min` over `t_max`
/// epochs, `eta_min + (base_lr - eta_min)·(1 + cos(π·epoch/t_max))/2`, by
/// PyTorch's recursive form (which rises again after `t_max`, as the closed form does).
#[derive(Clone, Debug)]
pub struct CosineAnnealingLR {
    base: Base,
    t_max: usize,
    eta_min: f64,
}

impl CosineAnnealingLR {
    /// A CosineAnnealingLR on `optimizer`'s lrs, after PyTorch's initial step (epoch 0);
    /// refuses a `t_max` of 0.
    pub fn new(
        optimizer: &mut dyn Optimizer,
        t_max: usize,
        eta_min: f64,
    ) -> Result<CosineAnnealingLR, OptimError> {
        if t_max == 0 {
            return Err(OptimError::invalid(
                "CosineAnnealingLR: T_max must be positive, got 0",
            ));
        }
        let mut scheduler = CosineAnnealingLR {
            base: Base::new(optimizer),
            t_max,
            eta_min,
        };
        scheduler.step(optimizer)?;
        Ok(scheduler)
    }
}

impl LrScheduler for CosineAnnealingLR {
    fn step(&mut self, optimizer: &mut dyn Optimizer) -> Result<(), OptimError> {
        let (t_max, eta_min) = (self.t_max as f64, self.eta_min);
        let period = 2 * self.t_max as i64;
        self.base.advance(optimizer, |epoch, lr, base_lr| {
            let e = epoch as f64;
            if epoch == 0 {
                lr
            } else if (epoch - 1 - t_max as i64).rem_euclid(period) == 0 {
                // The step out of the minimum, where the ratio below would be 0/0.
                lr + (base_lr - eta_min) * (1.0 - (PI / t_max).cos()) / 2.0
            } else {
                (1.0 + (PI * e / t_max).cos()) / (1.0 + (PI * (e - 1.0) / t_max).cos())
                    * (lr - eta_min)
                    + eta_min
            }
        });
        Ok(())
    }

    fn get_last_lr(&self) -> Vec<f64> {
        self.base.last_lr.clone()
    }

    fn state_dict(&self) -> BTreeMap<String, f64> {
        let mut out = BTreeMap::new();
        self.base.save(&mut out);
        out.insert("T_max".into(), self.t_max as f64);
        out.insert("eta_min".into(), self.eta_min);
        out
    }

    fn load_state_dict(&mut self, state: &BTreeMap<String, f64>) -> Result<(), OptimError> {
        let mut r = Reader::new("CosineAnnealingLR", state);
        let base = self.base.load(&mut r)?;
        let (t_max, eta_min) = (r.count("T_max")?, r.scalar("eta_min")?);
        if t_max == 0 {
            return Err(r.error("'T_max' must be positive".into()));
        }
        r.finish()?;
        *self = CosineAnnealingLR {
            base,
            t_max,
            eta_min,
        };
        Ok(())
    }
}

// ------------------------------------------------------------------ LinearLR

/// `LinearLR` (warm-up): scale the base lr by a factor going linearly from
/// `start_factor` to `end_factor` over `total_iters` epochs, then keep it
/// (closed form `base_lr·(start + (end - start)·min(epoch, total_iters)/total_iters)`).
/// PyTorch's defaults are `start_factor = 1/3`, `end_factor = 1`, `total_iters = 5`.
#[derive(Clone, Debug)]
pub struct LinearLR {
    base: Base,
    start_factor: f64,
    end_factor: f64,
    total_iters: usize,
}

impl LinearLR {
    /// A LinearLR on `optimizer`'s lrs, after PyTorch's initial step (epoch 0, which
    /// scales them by `start_factor`); refuses a `start_factor` outside (0, 1] or an
    /// `end_factor` outside [0, 1].
    pub fn new(
        optimizer: &mut dyn Optimizer,
        start_factor: f64,
        end_factor: f64,
        total_iters: usize,
    ) -> Result<LinearLR, OptimError> {
        check_linear_factors(start_factor, end_factor)?;
        let mut scheduler = LinearLR {
            base: Base::new(optimizer),
            start_factor,
            end_factor,
            total_iters,
        };
        scheduler.step(optimizer)?;
        Ok(scheduler)
    }
}

fn check_linear_factors(start_factor: f64, end_factor: f64) -> Result<(), OptimError> {
    if !(start_factor > 0.0 && start_factor <= 1.0) {
        return Err(OptimError::invalid(format!(
            "Starting multiplicative factor expected to be greater than 0 and less or equal to 1, got {start_factor}"
        )));
    }
    if !(0.0..=1.0).contains(&end_factor) {
        return Err(OptimError::invalid(format!(
            "Ending multiplicative factor expected to be between 0 and 1, got {end_factor}"
        )));
    }
    Ok(())
}

impl LrScheduler for LinearLR {
    fn step(&mut self, optimizer: &mut dyn Optimizer) -> Result<(), OptimError> {
        let (start, end, total) = (self.start_factor, self.end_factor, self.total_iters as i64);
        self.base.advance(optimizer, |epoch, lr, _| {
            if epoch == 0 {
                lr * start
            } else if epoch > total {
                lr
            } else {
                lr * (1.0
                    + (end - start) / (total as f64 * start + (epoch - 1) as f64 * (end - start)))
            }
        });
        Ok(())
    }

    fn get_last_lr(&self) -> Vec<f64> {
        self.base.last_lr.clone()
    }

    fn state_dict(&self) -> BTreeMap<String, f64> {
        let mut out = BTreeMap::new();
        self.base.save(&mut out);
        out.insert("start_factor".into(), self.start_factor);
        out.insert("end_factor".into(), self.end_factor);
        out.insert("total_iters".into(), self.total_iters as f64);
        out
    }

    fn load_state_dict(&mut self, state: &BTreeMap<String, f64>) -> Result<(), OptimError> {
        let mut r = Reader::new("LinearLR", state);
        let base = self.base.load(&mut r)?;
        let (start_factor, end_factor) = (r.scalar("start_factor")?, r.scalar("end_factor")?);
        let total_iters = r.count("total_iters")?;
        check_linear_factors(start_factor, end_factor).map_err(|e| r.error(e.to_string()))?;
        r.finish()?;
        *self = LinearLR {
            base,
            start_factor,
            end_factor,
            total_iters,
        };
        Ok(())
    }
}
