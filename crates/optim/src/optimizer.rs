//! The [`Optimizer`] trait and [`Optim`], the one implementation behind SGD,
//! Adam, AdamW, RMSprop and Adagrad: parameter groups, per-parameter state,
//! `step`, `zero_grad` and the state dict. What differs between algorithms is
//! a [`Rule`]: a config struct and its fused per-parameter update.
//!
//! As in PyTorch, an optimizer holds handles to the model's parameters (they
//! share storage), `step()` reads each parameter's `.grad()` and updates the
//! parameter in place, outside the graph; parameters without a grad are skipped.

use std::collections::BTreeMap;
use std::fmt;

use autograd::kernels::fma::{with_fma, FmaBody};
use autograd::{parallel, Tensor};

use crate::error::OptimError;

/// What a training loop and a scheduler need from an optimizer.
///
/// ```
/// use autograd::Tensor;
/// use optim::{Optimizer, SgdConfig, SGD};
/// let w = Tensor::from_vec(vec![1.0, -2.0], &[2]).requires_grad_(true);
/// let mut opt = SGD::new(vec![w.clone()], SgdConfig { lr: 0.1, ..Default::default() }).unwrap();
/// w.mul(&w).sum().backward().unwrap(); // grad = 2w
/// opt.step();
/// opt.zero_grad();
/// assert_eq!(w.to_vec(), vec![0.8, -1.6]);
/// assert!(w.grad().is_none());
/// ```
pub trait Optimizer: Send {
    /// One update of every parameter that has a grad (`optimizer.step()`).
    fn step(&mut self);

    /// Set every parameter's grad to `None` (PyTorch 2's default `zero_grad()`).
    fn zero_grad(&mut self) {
        self.zero_grad_with(true);
    }

    /// `zero_grad(set_to_none)`: with `false`, existing grads are filled with
    /// zeros in place instead.
    fn zero_grad_with(&mut self, set_to_none: bool);

    /// Number of parameter groups.
    fn num_groups(&self) -> usize;

    /// Learning rate of a group (`param_groups[group]["lr"]`).
    fn group_lr(&self, group: usize) -> f64;

    /// Set the learning rate of a group (what schedulers do).
    fn set_group_lr(&mut self, group: usize, lr: f64);

    /// A group's `initial_lr` (PyTorch's `param_groups[group]["initial_lr"]`):
    /// the lr the first scheduler found there, which every scheduler built
    /// later takes as its base lr. `None` until a scheduler sets it.
    fn group_initial_lr(&self, group: usize) -> Option<f64>;

    /// Set a group's `initial_lr` (schedulers do, when it is unset; OneCycleLR
    /// always).
    fn set_group_initial_lr(&mut self, group: usize, lr: f64);

    /// The momentum OneCycleLR cycles: `momentum` (SGD, RMSprop) or `betas[0]`
    /// (Adam, AdamW) of a group; `None` for Adagrad.
    fn group_momentum(&self, group: usize) -> Option<f64>;

    /// Set a group's momentum (or `betas[0]`); ignored by optimizers without one.
    fn set_group_momentum(&mut self, group: usize, momentum: f64);

    /// Learning rate of group 0.
    fn lr(&self) -> f64 {
        self.group_lr(0)
    }

    /// Set the learning rate of every group.
    fn set_lr(&mut self, lr: f64) {
        for group in 0..self.num_groups() {
            self.set_group_lr(group, lr);
        }
    }

    /// A copy of the optimizer's state and hyperparameters (see [`OptimizerState`]).
    fn state_dict(&self) -> OptimizerState;

    /// Restore a state taken by [`Optimizer::state_dict`] from an optimizer of the
    /// same kind over parameters of the same shapes. On error nothing is changed.
    fn load_state_dict(&mut self, state: &OptimizerState) -> Result<(), OptimError>;
}

/// An optimizer's state as named f32 tensors and f64 scalars, so that a
/// checkpoint can hold it exactly.
///
/// Keys (parameters are numbered 0.. across groups in order, as in PyTorch):
/// - `tensors["state.<i>.<buffer>"]`: per-parameter buffers, with the parameter's
///   shape: `momentum_buffer` (SGD, RMSprop), `exp_avg`, `exp_avg_sq`,
///   `max_exp_avg_sq` (Adam, AdamW), `square_avg`, `grad_avg` (RMSprop), `sum` (Adagrad).
/// - `scalars["state.<i>.step"]`: steps taken by parameter `i`.
/// - `scalars["param_groups.<g>.<name>"]`: group `g`'s hyperparameters (`lr`,
///   `weight_decay`, `momentum`, `beta1`, ...; booleans as 0 or 1), `num_params`,
///   and `initial_lr` once a scheduler has set it.
///
/// To store scalars as text, `format!("{v}")` and `str::parse::<f64>` round-trip
/// them exactly (inf included); JSON needs serde_json's `float_roundtrip` feature.
#[derive(Clone, Debug, Default)]
pub struct OptimizerState {
    /// Per-parameter buffers, `state.<i>.<buffer>`.
    pub tensors: BTreeMap<String, Tensor>,
    /// Step counts, `state.<i>.step`, and group hyperparameters, `param_groups.<g>.<name>`.
    pub scalars: BTreeMap<String, f64>,
}

/// Parameters with their own learning rate or weight decay; `None` takes the
/// optimizer's value (PyTorch's `{"params": ..., "lr": ...}` dicts).
///
/// ```
/// use autograd::Tensor;
/// use optim::{Optimizer, ParamGroup, SgdConfig, SGD};
/// let (w, b) = (Tensor::zeros(&[2, 2]), Tensor::zeros(&[2]));
/// let groups = vec![ParamGroup::new(vec![w]), ParamGroup::new(vec![b]).lr(0.5).weight_decay(0.0)];
/// let opt = SGD::with_groups(groups, SgdConfig { lr: 0.1, ..Default::default() }).unwrap();
/// assert_eq!((opt.group_lr(0), opt.group_lr(1)), (0.1, 0.5));
/// ```
#[derive(Clone, Debug, Default)]
pub struct ParamGroup {
    /// The group's parameters.
    pub params: Vec<Tensor>,
    /// The group's learning rate; `None` takes the optimizer's.
    pub lr: Option<f64>,
    /// The group's weight decay; `None` takes the optimizer's.
    pub weight_decay: Option<f64>,
}

impl ParamGroup {
    /// A group of `params` with the optimizer's lr and weight decay.
    pub fn new(params: Vec<Tensor>) -> ParamGroup {
        ParamGroup {
            params,
            lr: None,
            weight_decay: None,
        }
    }

    /// Give the group its own learning rate.
    pub fn lr(mut self, lr: f64) -> ParamGroup {
        self.lr = Some(lr);
        self
    }

    /// Give the group its own weight decay.
    pub fn weight_decay(mut self, weight_decay: f64) -> ParamGroup {
        self.weight_decay = Some(weight_decay);
        self
    }
}

/// An update rule with its hyperparameters. Implemented by the config structs
/// ([`crate::SgdConfig`], [`crate::AdamConfig`], ...); [`Optim`] does the rest.
///
/// A step of one parameter is [`Rule::begin`], once, then [`Rule::update`] on
/// ranges of its elements, several at once on large parameters.
pub trait Rule: Clone + fmt::Debug + Send + 'static {
    /// PyTorch's class name, for messages.
    const NAME: &'static str;
    /// PyTorch's names of the per-parameter buffers, in the order `update` gets
    /// them (at most three).
    const BUFFERS: &'static [&'static str];
    /// Names of the hyperparameters kept in the state dict (booleans as 0/1);
    /// includes `lr` and `weight_decay`.
    const HYPERPARAMETERS: &'static [&'static str];
    /// The hyperparameter OneCycleLR cycles (`momentum` or `beta1`), if any.
    const MOMENTUM: Option<&'static str>;
    /// What `update` needs for one step of one parameter: the hyperparameters
    /// as f32 and per-step scalars (step size, bias corrections).
    type Step: Sync;

    /// PyTorch's argument checks.
    fn validate(&self) -> Result<(), OptimError>;
    /// The value of a name from [`Rule::HYPERPARAMETERS`].
    fn get(&self, name: &str) -> f64;
    /// Set a name from [`Rule::HYPERPARAMETERS`].
    fn set(&mut self, name: &str, value: f64);
    /// Start a step of a parameter of `len` elements: allocate the buffers this
    /// step uses (a buffer is `None` until the rule first needs it) and compute
    /// the step's scalars. `step` counts this step (1 at the first).
    fn begin(&self, step: u64, len: usize, buffers: &mut [Option<Vec<f32>>]) -> Self::Step;
    /// Update elements of a parameter in place: `param`, `grad` and each of
    /// `buffers` (empty if not allocated) hold the same range of elements. An
    /// element's update depends only on that element (ranges run on several
    /// threads) and must not panic. Write PyTorch's fused multiply-adds (its
    /// `add(x, alpha=a)`, `lerp`, `addcmul`) as `f32::mul_add`, and mark this
    /// function `#[inline(always)]`: it is compiled inside
    /// [`with_fma`](autograd::kernels::fma::with_fma), where `mul_add` is one
    /// instruction. So must be what it calls, and its loops should use no
    /// closures and copy the step's scalars to locals: code LLVM keeps out of
    /// line is compiled without FMA (SGD 9x slower through libm), and scalars
    /// read through `step` inside a loop kept Adam's and RMSprop's loops from
    /// vectorizing (4x slower).
    fn update(step: &Self::Step, param: &mut [f32], grad: &[f32], buffers: &mut [&mut [f32]]);
}

/// One range of a parameter's update (`Rule::update`), run by `with_fma`.
struct Update<'a, 'b, R: Rule> {
    step: &'a R::Step,
    param: &'a mut [f32],
    grad: &'a [f32],
    buffers: &'a mut [&'b mut [f32]],
}

impl<R: Rule> FmaBody for Update<'_, '_, R> {
    type Output = ();
    #[inline(always)]
    fn run(self) {
        // Blocks from the last to the first, each walked forwards: see `BLOCK`.
        let (mut end, n) = (self.param.len(), self.buffers.len());
        while end > 0 {
            let start = (end - 1) / BLOCK * BLOCK;
            let mut blocks: [&mut [f32]; MAX_BUFFERS] = Default::default();
            for (block, buffer) in blocks.iter_mut().zip(self.buffers.iter_mut()) {
                if !buffer.is_empty() {
                    *block = &mut buffer[start..end];
                }
            }
            R::update(
                self.step,
                &mut self.param[start..end],
                &self.grad[start..end],
                &mut blocks[..n],
            );
            end = start;
        }
    }
}

/// Parameters with fewer elements are updated on one thread. Handing half to
/// the pool's other thread costs about a microsecond, as much as an SGD update
/// of some 4K elements (data in L3): measured on 2 cores, an update of 8K
/// elements took as long on both, 16K 0.7 times as long, 32K 0.6, 64K 0.5.
const PARALLEL_MIN_LEN: usize = 1 << 15;
/// Elements per block of an update, which walks a range's blocks from the
/// last to the first. The backward pass writes a weight's gradient from its
/// first row to its last, so when the update starts the last rows are the
/// ones most likely still in L2; walked from the first, each line the update
/// brought in pushed out the gradient lines it was about to read. The
/// tutorial's update at 1 thread: 170 -> 159 us a step. (Walking every element
/// backwards, which the hardware prefetchers follow less well, was slower.)
const BLOCK: usize = 4096;
/// The most buffers a rule has ([`Rule::BUFFERS`]).
const MAX_BUFFERS: usize = 3;

/// An optimizer running rule `R` over parameter groups; use it through the
/// aliases [`crate::SGD`], [`crate::Adam`], [`crate::AdamW`], [`crate::RMSprop`],
/// [`crate::Adagrad`].
#[derive(Clone, Debug)]
pub struct Optim<R: Rule> {
    groups: Vec<Group<R>>,
    /// One entry per parameter, numbered across groups in order.
    state: Vec<ParamState>,
}

#[derive(Clone, Debug)]
struct Group<R> {
    params: Vec<Tensor>,
    /// The optimizer's config with this group's lr and weight decay.
    config: R,
    /// Set by the first scheduler (`Optimizer::group_initial_lr`).
    initial_lr: Option<f64>,
}

#[derive(Clone, Debug, Default)]
struct ParamState {
    step: u64,
    /// One slot per name in `Rule::BUFFERS`.
    buffers: Vec<Option<Vec<f32>>>,
}

impl<R: Rule> Optim<R> {
    /// An optimizer over `params` (one group), e.g.
    /// `SGD::new(params, SgdConfig { lr: 1e-3, momentum: 0.9, ..Default::default() })`.
    pub fn new(params: Vec<Tensor>, config: R) -> Result<Self, OptimError> {
        Self::with_groups(vec![ParamGroup::new(params)], config)
    }

    /// An optimizer over parameter groups, each with optional lr / weight decay.
    pub fn with_groups(groups: Vec<ParamGroup>, config: R) -> Result<Self, OptimError> {
        config.validate()?;
        if groups.iter().all(|g| g.params.is_empty()) {
            return Err(OptimError::invalid("optimizer got an empty parameter list"));
        }
        let mut seen: Vec<Tensor> = Vec::new();
        let mut resolved = Vec::with_capacity(groups.len());
        for group in groups {
            for param in &group.params {
                let index = seen.len();
                if !param.is_leaf() {
                    return Err(OptimError::invalid(format!(
                        "can't optimize a non-leaf Tensor (parameter {index})"
                    )));
                }
                if !param.is_contiguous() {
                    return Err(OptimError::invalid(format!(
                        "parameter {index} is a non-contiguous view; parameters are updated in place"
                    )));
                }
                if seen.iter().any(|p| p.same(param)) {
                    return Err(OptimError::invalid(format!(
                        "some parameters appear more than once in the parameter groups (parameter {index})"
                    )));
                }
                seen.push(param.clone());
            }
            let mut config = config.clone();
            if let Some(lr) = group.lr {
                config.set("lr", lr);
            }
            if let Some(weight_decay) = group.weight_decay {
                config.set("weight_decay", weight_decay);
            }
            config.validate()?;
            resolved.push(Group {
                params: group.params,
                config,
                initial_lr: None,
            });
        }
        let state = vec![
            ParamState {
                step: 0,
                buffers: vec![None; R::BUFFERS.len()]
            };
            seen.len()
        ];
        Ok(Optim {
            groups: resolved,
            state,
        })
    }

    /// The hyperparameters of a group.
    pub fn config(&self, group: usize) -> &R {
        &self.groups[group].config
    }

    /// Every parameter, across groups in order.
    pub fn params(&self) -> impl Iterator<Item = &Tensor> {
        self.groups.iter().flat_map(|g| g.params.iter())
    }

    fn check_group(&self, group: usize) {
        assert!(
            group < self.groups.len(),
            "{}: parameter group {group} out of range ({} groups)",
            R::NAME,
            self.groups.len()
        );
    }
}

impl<R: Rule> Optimizer for Optim<R> {
    fn step(&mut self) {
        // Checked when a rule is compiled in, not at every step.
        const {
            assert!(
                R::BUFFERS.len() <= MAX_BUFFERS,
                "a Rule has too many buffers"
            )
        };
        let params = self
            .groups
            .iter()
            .flat_map(|g| g.params.iter().map(move |p| (p, &g.config)));
        for ((param, config), state) in params.zip(self.state.iter_mut()) {
            let Some(mut grad) = param.grad() else {
                continue;
            };
            // A grad that is a view of the parameter itself (`p.grad =
            // p.detach()`) is read from a copy: the update reads it while
            // writing the parameter, and holding both locks of one storage
            // would never return. As in PyTorch, each element reads its
            // grad before its new value is written.
            if grad.shares_storage(param) {
                grad = grad.copy();
            }
            state.step += 1;
            let len = param.numel();
            let step = config.begin(state.step, len, &mut state.buffers);
            let mut slots = state.buffers.iter_mut();
            let [b0, b1, b2] = std::array::from_fn(|_| {
                slots
                    .next()
                    .and_then(|b| b.as_deref_mut())
                    .unwrap_or_default()
            });
            // The grad is read in place (no copy) while the parameter is
            // written, in ranges on several threads if it is large.
            grad.with_data(|g| {
                assert_eq!(
                    g.len(),
                    len,
                    "{}: gradient and parameter sizes differ",
                    R::NAME
                );
                param.with_data_mut(|p| {
                    let slices = [p, b0, b1, b2];
                    parallel::for_each_chunk_mut(len, PARALLEL_MIN_LEN, slices, |range, chunks| {
                        let [p, b0, b1, b2] = chunks;
                        let buffers = &mut [b0, b1, b2][..R::BUFFERS.len()];
                        with_fma(Update::<R> {
                            step: &step,
                            param: p,
                            grad: &g[range],
                            buffers,
                        });
                    })
                })
            });
        }
    }

    fn zero_grad_with(&mut self, set_to_none: bool) {
        for param in self.params() {
            if set_to_none {
                param.set_grad(None);
            } else {
                param.zero_grad_();
            }
        }
    }

    fn num_groups(&self) -> usize {
        self.groups.len()
    }

    fn group_lr(&self, group: usize) -> f64 {
        self.check_group(group);
        self.groups[group].config.get("lr")
    }

    fn set_group_lr(&mut self, group: usize, lr: f64) {
        self.check_group(group);
        self.groups[group].config.set("lr", lr);
    }

    fn group_initial_lr(&self, group: usize) -> Option<f64> {
        self.check_group(group);
        self.groups[group].initial_lr
    }

    fn set_group_initial_lr(&mut self, group: usize, lr: f64) {
        self.check_group(group);
        self.groups[group].initial_lr = Some(lr);
    }

    fn group_momentum(&self, group: usize) -> Option<f64> {
        self.check_group(group);
        R::MOMENTUM.map(|name| self.groups[group].config.get(name))
    }

    fn set_group_momentum(&mut self, group: usize, momentum: f64) {
        self.check_group(group);
        if let Some(name) = R::MOMENTUM {
            self.groups[group].config.set(name, momentum);
        }
    }

    fn state_dict(&self) -> OptimizerState {
        let mut out = OptimizerState::default();
        for (g, group) in self.groups.iter().enumerate() {
            let prefix = format!("param_groups.{g}");
            out.scalars
                .insert(format!("{prefix}.num_params"), group.params.len() as f64);
            for name in R::HYPERPARAMETERS {
                out.scalars
                    .insert(format!("{prefix}.{name}"), group.config.get(name));
            }
            if let Some(lr) = group.initial_lr {
                out.scalars.insert(format!("{prefix}.initial_lr"), lr);
            }
        }
        for (i, (param, state)) in self.params().zip(&self.state).enumerate() {
            if state.step > 0 {
                out.scalars
                    .insert(format!("state.{i}.step"), state.step as f64);
            }
            for (name, buffer) in R::BUFFERS.iter().zip(&state.buffers) {
                if let Some(values) = buffer {
                    let tensor = Tensor::from_vec(values.clone(), param.shape());
                    out.tensors.insert(format!("state.{i}.{name}"), tensor);
                }
            }
        }
        out
    }

    fn load_state_dict(&mut self, saved: &OptimizerState) -> Result<(), OptimError> {
        let bad = |message: String| OptimError::bad_state(format!("{}: {message}", R::NAME));
        let saved_groups = saved
            .scalars
            .keys()
            .filter(|k| k.starts_with("param_groups.") && k.ends_with(".num_params"))
            .count();
        if saved_groups != self.groups.len() {
            return Err(bad(format!(
                "loaded state dict has a different number of parameter groups ({saved_groups}, \
                 the optimizer has {})",
                self.groups.len()
            )));
        }
        // Build the new groups and state aside, so that an error changes nothing.
        let mut groups = self.groups.clone();
        for (g, group) in groups.iter_mut().enumerate() {
            let get = |name: &str| {
                let key = format!("param_groups.{g}.{name}");
                saved.scalars.get(&key).copied().ok_or_else(|| {
                    bad(format!(
                        "missing key '{key}' (was the state saved from another optimizer?)"
                    ))
                })
            };
            if get("num_params")? != group.params.len() as f64 {
                return Err(bad(format!(
                    "loaded state dict contains a parameter group that doesn't match the size of \
                     optimizer's group (group {g}: {} saved parameters, {} here)",
                    get("num_params")?,
                    group.params.len()
                )));
            }
            for name in R::HYPERPARAMETERS {
                group.config.set(name, get(name)?);
            }
            // As in PyTorch, the saved groups replace ours, `initial_lr` (set
            // by a scheduler) included or absent.
            group.initial_lr = get("initial_lr").ok();
            // The lr's sign and the momentum (or beta1) are checked when an
            // optimizer is built, as in PyTorch, and not on load, as PyTorch
            // does not check there: schedulers may have left them out of
            // range. LinearLR annealed to 0 ends at -3e-18; OneCycleLR's
            // linear anneal overshoots on its last step (lr below 0, beta1
            // above 1), and a `base_momentum` of 0 leaves a Nesterov SGD
            // without momentum at the peak. So the other hyperparameters
            // are validated with the lr's sign dropped and the momentum set
            // to 0.5, which every rule accepts. A NaN lr or momentum is
            // refused (PyTorch would load it).
            let lr = group.config.get("lr");
            if lr.is_nan() {
                return Err(bad(format!("param_groups.{g}: the learning rate is NaN")));
            }
            let momentum = R::MOMENTUM.map(|name| (name, group.config.get(name)));
            if let Some((name, m)) = momentum {
                if m.is_nan() {
                    return Err(bad(format!("param_groups.{g}: {name} is NaN")));
                }
                group.config.set(name, 0.5);
            }
            group.config.set("lr", lr.abs());
            group
                .config
                .validate()
                .map_err(|e| bad(format!("param_groups.{g}: {e}")))?;
            group.config.set("lr", lr);
            if let Some((name, m)) = momentum {
                group.config.set(name, m);
            }
        }
        let params: Vec<&Tensor> = self.params().collect();
        let mut state = vec![
            ParamState {
                step: 0,
                buffers: vec![None; R::BUFFERS.len()]
            };
            params.len()
        ];
        for (key, &value) in &saved.scalars {
            if key.starts_with("param_groups.") && is_group_key::<R>(key, groups.len()) {
                continue;
            }
            let (i, name) = parse_state_key(key, params.len())
                .ok_or_else(|| bad(format!("unexpected key '{key}'")))?;
            if name != "step" {
                return Err(bad(format!("unexpected key '{key}'")));
            }
            if !(value >= 0.0 && value.fract() == 0.0 && value <= u64::MAX as f64) {
                return Err(bad(format!("'{key}' must be a step count, got {value}")));
            }
            state[i].step = value as u64;
        }
        for (key, tensor) in &saved.tensors {
            let parsed = parse_state_key(key, params.len());
            let Some((i, slot)) =
                parsed.and_then(|(i, name)| Some((i, R::BUFFERS.iter().position(|b| *b == name)?)))
            else {
                return Err(bad(format!("unexpected tensor '{key}'")));
            };
            if tensor.shape() != params[i].shape() {
                return Err(bad(format!(
                    "'{key}' has shape {:?} but parameter {i} has shape {:?}",
                    tensor.shape(),
                    params[i].shape()
                )));
            }
            state[i].buffers[slot] = Some(tensor.to_vec());
        }
        self.groups = groups;
        self.state = state;
        Ok(())
    }
}

/// `param_groups.<g>.<name>` with `g` in range and `name` known.
fn is_group_key<R: Rule>(key: &str, num_groups: usize) -> bool {
    let mut parts = key.splitn(3, '.');
    let (_, g, name) = (parts.next(), parts.next(), parts.next());
    let group_ok = g
        .and_then(|g| g.parse::<usize>().ok())
        .is_some_and(|g| g < num_groups);
    let name_ok = name
        .is_some_and(|n| n == "num_params" || n == "initial_lr" || R::HYPERPARAMETERS.contains(&n));
    group_ok && name_ok
}

/// `state.<i>.<name>` with `i` in range: `(i, name)`.
fn parse_state_key(key: &str, num_params: usize) -> Option<(usize, &str)> {
    let rest = key.strip_prefix("state.")?;
    let (i, name) = rest.split_once('.')?;
    let i: usize = i.parse().ok()?;
    (i < num_params).then_some((i, name))
}

/// The gradient as the rules use it: `±grad` (`-` with `maximize`), plus the
/// L2 penalty `weight_decay · param` when there is one (`sign` is ±1), rounded
/// once as PyTorch's `grad.add(param, alpha=weight_decay)` is.
#[inline(always)]
pub(crate) fn decayed_grad(sign: f32, weight_decay: Option<f32>, grad: f32, param: f32) -> f32 {
    match weight_decay {
        Some(wd) => wd.mul_add(param, sign * grad),
        None => sign * grad,
    }
}

/// PyTorch's `lerp` kernel: `start + weight * (end - start)`, computed from the
/// nearer end for accuracy (`torch.lerp`, used by Adam's and RMSprop's
/// averages), with one rounding after the product as its `fmadd` has.
#[inline(always)]
pub(crate) fn lerp(start: f32, end: f32, weight: f32) -> f32 {
    if weight.abs() < 0.5 {
        weight.mul_add(end - start, start)
    } else {
        (weight - 1.0).mul_add(end - start, end)
    }
}

/// The buffer in `slot`, allocated with `fill` on first use.
pub(crate) fn buffer(slot: &mut Option<Vec<f32>>, len: usize, fill: f32) -> &mut Vec<f32> {
    slot.get_or_insert_with(|| vec![fill; len])
}

/// f64 from a boolean hyperparameter, and back.
pub(crate) fn flag(value: bool) -> f64 {
    if value {
        1.0
    } else {
        0.0
    }
}
