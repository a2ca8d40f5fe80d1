//! `OneCycleLR`: the 1cycle policy, stepped after every batch.

use std::collections::BTreeMap;
use std::f64::consts::PI;

use crate::error::OptimError;
use crate::optimizer::Optimizer;
use crate::scheduler::{Base, LrScheduler, Reader};

/// How OneCycleLR moves between two values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AnnealStrategy {
    /// `end + (start - end)/2 · (1 + cos(π·pct))`.
    Cos,
    /// `start + (end - start)·pct`.
    Linear,
}

/// `OneCycleLR`'s optional arguments, with PyTorch's defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct OneCycleConfig {
    /// Fraction of the steps spent raising the lr.
    pub pct_start: f64,
    /// `anneal_strategy` in OneCycleLR: how the lr and momentum move within a phase (`Cos`).
    pub anneal_strategy: AnnealStrategy,
    /// Cycle the optimizer's momentum (SGD, RMSprop) or `betas[0]` (Adam)
    /// inversely to the lr. As in PyTorch, this sets SGD's momentum even if it
    /// was built without one.
    pub cycle_momentum: bool,
    /// `base_momentum` in OneCycleLR: the momentum when the lr is at `max_lr` (0.85).
    pub base_momentum: f64,
    /// `max_momentum` in OneCycleLR: the momentum at the start and the end of the cycle (0.95).
    pub max_momentum: f64,
    /// The first lr is `max_lr / div_factor`.
    pub div_factor: f64,
    /// The last lr is `max_lr / div_factor / final_div_factor`.
    pub final_div_factor: f64,
    /// Three phases (up, down to the first lr, then down to the last) instead of two.
    pub three_phase: bool,
}

impl Default for OneCycleConfig {
    fn default() -> Self {
        OneCycleConfig {
            pct_start: 0.3,
            anneal_strategy: AnnealStrategy::Cos,
            cycle_momentum: true,
            base_momentum: 0.85,
            max_momentum: 0.95,
            div_factor: 25.0,
            final_div_factor: 1e4,
            three_phase: false,
        }
    }
}

/// `OneCycleLR`: from `max_lr/div_factor` up to `max_lr` over `pct_start` of
/// `total_steps`, then down to `max_lr/div_factor/final_div_factor`; one
/// `step()` per batch. Stepping more than `total_steps` times is an error.
/// Every parameter group gets the same `max_lr`.
#[derive(Clone, Debug)]
pub struct OneCycleLR {
    base: Base,
    max_lr: f64,
    total_steps: usize,
    config: OneCycleConfig,
}

impl OneCycleLR {
    /// A OneCycleLR peaking at `max_lr` over `total_steps` batches; makes the initial
    /// step. Refuses `total_steps` 0, a `pct_start` outside [0, 1], and `cycle_momentum`
    /// with an optimizer without momentum (Adagrad).
    pub fn new(
        optimizer: &mut dyn Optimizer,
        max_lr: f64,
        total_steps: usize,
        config: OneCycleConfig,
    ) -> Result<OneCycleLR, OptimError> {
        check(total_steps, &config)?;
        if config.cycle_momentum {
            if optimizer.group_momentum(0).is_none() {
                return Err(OptimError::invalid(
                    "optimizer must support momentum or beta1 with `cycle_momentum` option enabled",
                ));
            }
            for g in 0..optimizer.num_groups() {
                optimizer.set_group_momentum(g, config.max_momentum);
            }
        }
        // Unlike the other schedulers, OneCycleLR sets `initial_lr` even when
        // an earlier scheduler did (PyTorch's), and so it is the base lr.
        for g in 0..optimizer.num_groups() {
            optimizer.set_group_initial_lr(g, max_lr / config.div_factor);
        }
        let mut scheduler = OneCycleLR {
            base: Base::new(optimizer),
            max_lr,
            total_steps,
            config,
        };
        scheduler.step(optimizer)?;
        Ok(scheduler)
    }

    /// The (lr, momentum) at `step` of the cycle (PyTorch's `get_lr`).
    fn at(&self, step: i64) -> Result<(f64, f64), OptimError> {
        let c = &self.config;
        let (t, pct) = (self.total_steps as f64, c.pct_start);
        let initial = self.max_lr / c.div_factor;
        let (max, min) = (self.max_lr, initial / c.final_div_factor);
        let (m_max, m_base) = (c.max_momentum, c.base_momentum);
        // (end step, start lr, end lr, start momentum, end momentum)
        let phases: &[(f64, f64, f64, f64, f64)] = if c.three_phase {
            &[
                (pct * t - 1.0, initial, max, m_max, m_base),
                (2.0 * pct * t - 2.0, max, initial, m_base, m_max),
                (t - 1.0, initial, min, m_max, m_max),
            ]
        } else {
            &[
                (pct * t - 1.0, initial, max, m_max, m_base),
                (t - 1.0, max, min, m_base, m_max),
            ]
        };
        let step_num = step as f64;
        let mut start_step = 0.0;
        for (i, &(end_step, lr0, lr1, m0, m1)) in phases.iter().enumerate() {
            if step_num <= end_step || i == phases.len() - 1 {
                if end_step == start_step {
                    // PyTorch divides by zero here (ZeroDivisionError).
                    return Err(OptimError::invalid(format!(
                        "OneCycleLR: phase {i} has no steps (pct_start {pct}, total_steps {})",
                        self.total_steps
                    )));
                }
                let pct = (step_num - start_step) / (end_step - start_step);
                return Ok((self.anneal(lr0, lr1, pct), self.anneal(m0, m1, pct)));
            }
            start_step = end_step;
        }
        unreachable!("the last phase always matches")
    }

    fn anneal(&self, start: f64, end: f64, pct: f64) -> f64 {
        match self.config.anneal_strategy {
            AnnealStrategy::Cos => end + (start - end) / 2.0 * ((PI * pct).cos() + 1.0),
            AnnealStrategy::Linear => (end - start) * pct + start,
        }
    }
}

fn check(total_steps: usize, config: &OneCycleConfig) -> Result<(), OptimError> {
    if total_steps == 0 {
        return Err(OptimError::invalid(
            "Expected positive integer total_steps, but got 0",
        ));
    }
    if !(0.0..=1.0).contains(&config.pct_start) {
        return Err(OptimError::invalid(format!(
            "Expected float between 0 and 1 pct_start, but got {}",
            config.pct_start
        )));
    }
    Ok(())
}

impl LrScheduler for OneCycleLR {
    fn step(&mut self, optimizer: &mut dyn Optimizer) -> Result<(), OptimError> {
        let step = self.base.last_epoch + 1;
        if step > self.total_steps as i64 {
            return Err(OptimError::invalid(format!(
                "Tried to step {step} times. The specified number of total steps is {}",
                self.total_steps
            )));
        }
        let (lr, momentum) = self.at(step)?;
        self.base.advance(optimizer, |_, _, _| lr);
        if self.config.cycle_momentum {
            for g in 0..optimizer.num_groups() {
                optimizer.set_group_momentum(g, momentum);
            }
        }
        Ok(())
    }

    fn get_last_lr(&self) -> Vec<f64> {
        self.base.last_lr.clone()
    }

    fn per_batch(&self) -> bool {
        true
    }

    fn state_dict(&self) -> BTreeMap<String, f64> {
        let mut out = BTreeMap::new();
        self.base.save(&mut out);
        let c = &self.config;
        let flag = |b: bool| if b { 1.0 } else { 0.0 };
        for (key, value) in [
            ("max_lr", self.max_lr),
            ("total_steps", self.total_steps as f64),
            ("pct_start", c.pct_start),
            ("anneal_cos", flag(c.anneal_strategy == AnnealStrategy::Cos)),
            ("cycle_momentum", flag(c.cycle_momentum)),
            ("base_momentum", c.base_momentum),
            ("max_momentum", c.max_momentum),
            ("div_factor", c.div_factor),
            ("final_div_factor", c.final_div_factor),
            ("three_phase", flag(c.three_phase)),
        ] {
            out.insert(key.into(), value);
        }
        out
    }

    fn load_state_dict(&mut self, state: &BTreeMap<String, f64>) -> Result<(), OptimError> {
        let mut r = Reader::new("OneCycleLR", state);
        let base = self.base.load(&mut r)?;
        let max_lr = r.scalar("max_lr")?;
        let total_steps = r.count("total_steps")?;
        let config = OneCycleConfig {
            pct_start: r.scalar("pct_start")?,
            anneal_strategy: if r.flag("anneal_cos")? {
                AnnealStrategy::Cos
            } else {
                AnnealStrategy::Linear
            },
            cycle_momentum: r.flag("cycle_momentum")?,
            base_momentum: r.scalar("base_momentum")?,
            max_momentum: r.scalar("max_momentum")?,
            div_factor: r.scalar("div_factor")?,
            final_div_factor: r.scalar("final_div_factor")?,
            three_phase: r.flag("three_phase")?,
        };
        check(total_steps, &config).map_err(|e| r.error(e.to_string()))?;
        r.finish()?;
        *self = OneCycleLR {
            base,
            max_lr,
            total_steps,
            config,
        };
        Ok(())
    }
}
