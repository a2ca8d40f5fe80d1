//! Reverse-mode autodiff in the micrograd way: every recorded op keeps its
//! inputs and a backward closure; `backward()` sorts the graph topologically
//! and runs the closures from the output back to the leaves.
//!
//! - Only leaves (tensors not made by a recorded op) keep gradients, and they
//!   accumulate across passes until `zero_grad`, as in PyTorch.
//! - Each node's inputs and closure are *taken* when it runs, so the graph's
//!   memory is released by the pass and a second pass is an error, unless the
//!   pass retains the graph (PyTorch's `retain_graph=True`).

use std::cell::Cell;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use crate::tensor::{Inner, Tensor};

/// PyTorch's name for the backward function of our op `op` (its `grad_fn`),
/// for printing: a fused op takes the name of the last op it stands for
/// (`linear_relu` is `ReluBackward0`, the fused cross entropy
/// `NllLossBackward0`); an op without a counterpart keeps its own name.
pub(crate) fn backward_name(op: &'static str) -> &'static str {
    match op {
        "add" | "add_scalar" => "AddBackward0",
        "sub" | "sub_scalar" => "SubBackward0",
        "rsub_scalar" => "RsubBackward1",
        "reciprocal" => "ReciprocalBackward0",
        "mul" | "mul_scalar" | "mul_mask" => "MulBackward0",
        "div" | "div_scalar" => "DivBackward0",
        "neg" => "NegBackward0",
        "exp" => "ExpBackward0",
        "log" => "LogBackward0",
        "sqrt" => "SqrtBackward0",
        "pow" => "PowBackward0",
        "abs" => "AbsBackward0",
        "sin" => "SinBackward0",
        "sigmoid" => "SigmoidBackward0",
        "tanh" => "TanhBackward0",
        "relu" | "linear_relu" => "ReluBackward0",
        "clamp" => "ClampBackward1",
        "clamp_min" => "ClampMinBackward0",
        "clamp_max" => "ClampMaxBackward0",
        "sum" => "SumBackward0",
        "sum_dim" | "sum_to" => "SumBackward1",
        "mean" => "MeanBackward0",
        "mean_dim" => "MeanBackward1",
        "max" => "MaxBackward1",
        "min" => "MinBackward1",
        "max_dim" => "MaxBackward0",
        "matmul" | "linear_no_bias" => "MmBackward0",
        "linear" => "AddmmBackward0",
        "softmax" => "SoftmaxBackward0",
        "log_softmax" => "LogSoftmaxBackward0",
        "log_softmax_nll" | "nll_loss" => "NllLossBackward0",
        "nll_loss2d" => "NllLoss2DBackward0",
        "gather" => "GatherBackward0",
        "reshape" | "view" => "ViewBackward0",
        "reshape_alias" => "ReshapeAliasBackward0",
        "unsafe_view" => "UnsafeViewBackward0",
        "squeeze" => "SqueezeBackward1",
        "unsqueeze" => "UnsqueezeBackward0",
        "t" => "TBackward0",
        "permute" => "PermuteBackward0",
        "transpose" => "TransposeBackward0",
        "narrow" => "SliceBackward0",
        "select" => "SelectBackward0",
        "cat" => "CatBackward0",
        "clone" => "CloneBackward0",
        "broadcast_to" => "ExpandBackward0",
        "binary_cross_entropy_with_logits" => "BinaryCrossEntropyWithLogitsBackward0",
        "binary_cross_entropy" => "BinaryCrossEntropyBackward0",
        "mse_loss" => "MseLossBackward0",
        other => other,
    }
}

/// Gives the gradients of an op's inputs from the gradient of its output.
pub(crate) type BackwardFn = Box<dyn Fn(&Tensor) -> Vec<Option<Tensor>> + Send>;

pub(crate) struct Node {
    pub op: &'static str,
    /// The op's inputs and its backward rule; `None` once a backward pass used them.
    saved: Mutex<Option<(Vec<Tensor>, BackwardFn)>>,
    /// The inputs' versions when the op ran: the values its rule reads.
    versions: Vec<u64>,
    /// The output's version then: some rules read it (exp, tanh, softmax).
    output_version: u64,
    /// Which inputs required grad when the op ran: only those get a gradient,
    /// as in PyTorch, even if a flag is turned on before the backward pass.
    needs_grad: Vec<bool>,
}

impl Node {
    pub fn new(
        op: &'static str,
        inputs: Vec<Tensor>,
        output_version: u64,
        backward: BackwardFn,
    ) -> Node {
        Node {
            op,
            versions: inputs.iter().map(Tensor::version).collect(),
            output_version,
            needs_grad: inputs.iter().map(Tensor::requires_grad).collect(),
            saved: Mutex::new(Some((inputs, backward))),
        }
    }

    /// An error if `output` (this node's) or an input was changed in place
    /// since the op ran.
    fn check_versions(&self, output: &Tensor) -> Result<(), BackwardError> {
        let version = output.version();
        if version != self.output_version {
            return Err(BackwardError::OutputModifiedInPlace {
                op: self.op,
                version,
                recorded: self.output_version,
            });
        }
        let saved = self.saved.lock().expect("node lock poisoned");
        let Some((inputs, _)) = saved.as_ref() else {
            return Err(BackwardError::GraphFreed { op: self.op });
        };
        for (input, (&recorded, tensor)) in self.versions.iter().zip(inputs).enumerate() {
            let version = tensor.version();
            if version != recorded {
                return Err(BackwardError::ModifiedInPlace {
                    op: self.op,
                    input,
                    version,
                    recorded,
                });
            }
        }
        Ok(())
    }

    /// The inputs that required grad when the op ran (none if a pass took them).
    fn inputs_needing_grad(&self) -> Option<Vec<Tensor>> {
        self.saved
            .lock()
            .expect("node lock poisoned")
            .as_ref()
            .map(|(inputs, _)| {
                let needed = inputs.iter().zip(&self.needs_grad).filter(|(_, &n)| n);
                needed.map(|(input, _)| input.clone()).collect()
            })
    }

    /// Run the backward rule on `g`: the op's inputs and their gradients.
    /// Without `retain`, the inputs and the rule are released by the call.
    fn run(
        &self,
        g: &Tensor,
        retain: bool,
    ) -> Result<(Vec<Tensor>, Vec<Option<Tensor>>), BackwardError> {
        let mut saved = self.saved.lock().expect("node lock poisoned");
        if retain {
            let (inputs, rule) = saved
                .as_ref()
                .ok_or(BackwardError::GraphFreed { op: self.op })?;
            Ok((inputs.clone(), rule(g)))
        } else {
            let (inputs, rule) = saved
                .take()
                .ok_or(BackwardError::GraphFreed { op: self.op })?;
            drop(saved);
            let grads = rule(g);
            Ok((inputs, grads))
        }
    }

    /// Drop the backward closure and hand back the inputs (none if a pass took them).
    fn release(&mut self) -> Vec<Tensor> {
        let saved = self.saved.get_mut().unwrap_or_else(|e| e.into_inner());
        // The closure goes first: the tensors it keeps are mostly inputs too,
        // whose last handles are then the returned ones.
        saved
            .take()
            .map_or_else(Vec::new, |(inputs, _backward)| inputs)
    }
}

/// Frees the graph below a node with a loop: dropped field by field, a chain
/// of 100k ops recursed once per node and overflowed the stack.
impl Drop for Node {
    fn drop(&mut self) {
        let mut pending = self.release();
        while let Some(tensor) = pending.pop() {
            // Only the last handle to a tensor frees it; its node is emptied
            // first, so that the node's own drop has nothing left to recurse into.
            if let Some(mut inner) = Arc::into_inner(tensor.0) {
                if let Some(node) = &mut inner.node {
                    pending.extend(node.release());
                }
            }
        }
    }
}

/// Why a backward pass could not run.
#[derive(Debug, Clone, PartialEq)]
pub enum BackwardError {
    /// `backward()` without a gradient needs a one-element output, as in PyTorch.
    NotScalar {
        /// The output's shape.
        shape: Vec<usize>,
    },
    /// The output does not depend on any tensor that requires grad.
    DoesNotRequireGrad,
    /// The graph below `op` was already freed by an earlier backward pass.
    GraphFreed {
        /// The op whose saved values are gone.
        op: &'static str,
    },
    /// The explicit upstream gradient has the wrong shape.
    GradShape {
        /// The output's shape.
        expected: Vec<usize>,
        /// The gradient's shape.
        got: Vec<usize>,
    },
    /// Input `input` of `op` was changed in place (`with_data_mut`, say an
    /// optimizer step) after the op ran: its rule would read the new values.
    ModifiedInPlace {
        /// The op that read the input.
        op: &'static str,
        /// The input's position among the op's inputs, from 0.
        input: usize,
        /// The input's version counter now (shared by views of its storage).
        version: u64,
        /// Its version when the op ran.
        recorded: u64,
    },
    /// The output of `op` was changed in place after the op ran. Checked for
    /// every op, stricter than PyTorch, which checks only outputs a rule
    /// reads (exp, tanh, sigmoid, sqrt, reciprocal, softmax).
    OutputModifiedInPlace {
        /// The op whose output it is.
        op: &'static str,
        /// The output's version counter now (shared by views of its storage).
        version: u64,
        /// Its version when the op ran.
        recorded: u64,
    },
}

impl fmt::Display for BackwardError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BackwardError::NotScalar { shape } => write!(
                f,
                "backward(): grad can be implicitly created only for scalar outputs, \
                 but the output has shape {shape:?}; use backward_with(grad)"
            ),
            BackwardError::DoesNotRequireGrad => write!(
                f,
                "backward(): the tensor does not require grad and has no grad_fn"
            ),
            BackwardError::GraphFreed { op } => write!(
                f,
                "backward(): trying to backward through the graph a second time \
                 (the saved values of '{op}' were freed by the first pass)"
            ),
            BackwardError::GradShape { expected, got } => write!(
                f,
                "backward_with(): gradient of shape {got:?} for an output of shape {expected:?}"
            ),
            BackwardError::ModifiedInPlace {
                op,
                input,
                version,
                recorded,
            } => write!(
                f,
                "backward(): one of the variables needed for gradient computation has been \
                 modified by an inplace operation: input {input} of '{op}' is at version \
                 {version}; expected version {recorded} instead"
            ),
            BackwardError::OutputModifiedInPlace {
                op,
                version,
                recorded,
            } => write!(
                f,
                "backward(): one of the variables needed for gradient computation has been \
                 modified by an inplace operation: the output of '{op}' is at version \
                 {version}; expected version {recorded} instead"
            ),
        }
    }
}

impl std::error::Error for BackwardError {}

/// The arguments of PyTorch's `backward(gradient=None, retain_graph=None)`.
#[derive(Clone, Debug, Default)]
pub struct BackwardOptions {
    /// The gradient of the output; `None` means 1, for a one-element output.
    pub gradient: Option<Tensor>,
    /// Keep the graph's saved values so that it can be backpropagated again.
    pub retain_graph: bool,
}

impl Tensor {
    /// Backpropagate from a one-element tensor (`loss.backward()`).
    pub fn backward(&self) -> Result<(), BackwardError> {
        self.backward_opts(BackwardOptions::default())
    }

    /// Backpropagate with an explicit gradient of this tensor
    /// (`out.backward(grad)`), the vector of a vector-Jacobian product.
    pub fn backward_with(&self, grad: Tensor) -> Result<(), BackwardError> {
        self.backward_opts(BackwardOptions {
            gradient: Some(grad),
            ..BackwardOptions::default()
        })
    }

    /// Backpropagate with PyTorch's keyword arguments, say to keep the graph
    /// for another pass (`out.backward(torch.ones_like(out), retain_graph=True)`):
    ///
    /// ```
    /// use autograd::{BackwardOptions, Tensor};
    /// let x = Tensor::from_vec(vec![1.0, 2.0], &[2]).requires_grad_(true);
    /// let y = x.mul(&x).sum();
    /// let retain = BackwardOptions { retain_graph: true, ..Default::default() };
    /// y.backward_opts(retain).unwrap();
    /// y.backward().unwrap(); // the second pass frees the graph
    /// assert_eq!(x.grad().unwrap().to_vec(), vec![4.0, 8.0]); // 2x, twice
    /// assert!(y.backward().is_err());
    /// ```
    pub fn backward_opts(&self, options: BackwardOptions) -> Result<(), BackwardError> {
        let grad = match options.gradient {
            Some(grad) => grad,
            None if self.numel() == 1 => Tensor::ones(self.shape()),
            None => {
                return Err(BackwardError::NotScalar {
                    shape: self.shape().to_vec(),
                })
            }
        };
        if !self.requires_grad() {
            return Err(BackwardError::DoesNotRequireGrad);
        }
        if grad.shape() != self.shape() {
            return Err(BackwardError::GradShape {
                expected: self.shape().to_vec(),
                got: grad.shape().to_vec(),
            });
        }
        let order = topological_order(self)?;
        // Checked before any gradient moves, so that an error leaves every
        // leaf's grad as it was.
        for tensor in &order {
            if let Some(node) = &tensor.0.node {
                node.check_versions(tensor)?;
            }
        }
        let _no_grad = NoGradGuard::new();
        let mut grads: HashMap<*const Inner, Tensor> = HashMap::new();
        grads.insert(key(self), grad.detach());
        for tensor in order {
            let Some(g) = grads.remove(&key(&tensor)) else {
                continue;
            };
            let Some(node) = &tensor.0.node else {
                accumulate_into_leaf(&tensor, g);
                continue;
            };
            let (inputs, input_grads) = node.run(&g, options.retain_graph)?;
            assert_eq!(
                input_grads.len(),
                inputs.len(),
                "backward of '{}': one gradient per input",
                node.op
            );
            for ((input, input_grad), &needed) in
                inputs.iter().zip(input_grads).zip(&node.needs_grad)
            {
                let Some(input_grad) = input_grad else {
                    continue;
                };
                if !needed {
                    continue;
                }
                assert_eq!(
                    input_grad.shape(),
                    input.shape(),
                    "backward of '{}' gave a gradient of the wrong shape",
                    node.op
                );
                match grads.remove(&key(input)) {
                    Some(previous) => grads.insert(key(input), add_grads(previous, input_grad)),
                    None => grads.insert(key(input), input_grad),
                };
            }
        }
        Ok(())
    }
}

fn key(t: &Tensor) -> *const Inner {
    Arc::as_ptr(&t.0)
}

/// Every tensor that `root` depends on through grad-requiring paths, each
/// after all the tensors that consume it (root first).
fn topological_order(root: &Tensor) -> Result<Vec<Tensor>, BackwardError> {
    let mut post_order = Vec::new();
    let mut visited = std::collections::HashSet::new();
    // Iterative DFS so that deep graphs cannot overflow the stack.
    let mut stack = vec![(root.clone(), false)];
    while let Some((t, children_done)) = stack.pop() {
        if children_done {
            post_order.push(t);
            continue;
        }
        if !visited.insert(key(&t)) {
            continue;
        }
        let inputs = match &t.0.node {
            Some(node) => node
                .inputs_needing_grad()
                .ok_or(BackwardError::GraphFreed { op: node.op })?,
            None => Vec::new(),
        };
        stack.push((t, true));
        for input in inputs {
            if !visited.contains(&key(&input)) {
                stack.push((input, false));
            }
        }
    }
    post_order.reverse();
    Ok(post_order)
}

/// No other handle or view reaches this tensor's buffer, so it may be written in place.
fn is_exclusive(t: &Tensor) -> bool {
    Arc::strong_count(&t.0) == 1 && Arc::strong_count(&t.0.storage) == 1 && t.is_contiguous()
}

/// A handle whose buffer may be written in place: `t`'s own when nothing else
/// reaches it, else a contiguous copy.
pub(crate) fn writable(t: &Tensor) -> Tensor {
    if is_exclusive(t) {
        t.clone()
    } else {
        Tensor::from_vec(t.to_vec(), t.shape())
    }
}

/// Sum two gradients, in place when `a`'s buffer is not shared with anything.
fn add_grads(a: Tensor, b: Tensor) -> Tensor {
    if is_exclusive(&a) {
        b.with_data(|src| {
            a.with_data_mut(|dst| dst.iter_mut().zip(src).for_each(|(d, s)| *d += s))
        });
        a
    } else {
        a.add(&b)
    }
}

fn accumulate_into_leaf(leaf: &Tensor, g: Tensor) {
    // A view made under no_grad requires grad but keeps none, as in PyTorch.
    if !leaf.requires_grad() || leaf.0.view == crate::tensor::ViewKind::MadeInNoGrad {
        return;
    }
    let mut slot = leaf.0.grad.lock().expect("grad lock poisoned");
    *slot = Some(match slot.take() {
        // The first gradient is stored as is (no zero-filled buffer, no add),
        // copied only if another tensor shares its buffer.
        None => writable(&g),
        // The stored grad is the leaf's own (copied above if it was shared),
        // or one the user set: accumulate in place, so that every handle and
        // view of it the user holds sees the sum, as in PyTorch.
        // (Not when `g` is a view of the stored grad, as when the grad a
        // backward pass was given was that grad itself: reading one while
        // writing the other would never return.)
        Some(previous) if previous.is_contiguous() && !g.shares_storage(&previous) => {
            g.with_data(|src| {
                previous.with_data_mut(|dst| dst.iter_mut().zip(src).for_each(|(d, s)| *d += s))
            });
            previous
        }
        // A strided view the user set, or a grad `g` shares storage with:
        // the sum computed first, then written through it.
        Some(previous) => {
            previous.copy_(&previous.add(&g));
            previous
        }
    });
}

// -------------------------------------------------------------------- grad mode

thread_local! {
    static GRAD_ENABLED: Cell<bool> = const { Cell::new(true) };
}

/// Whether ops record themselves on this thread (`torch.is_grad_enabled()`).
pub fn is_grad_enabled() -> bool {
    GRAD_ENABLED.with(|g| g.get())
}

pub(crate) fn is_recording(inputs: &[&Tensor]) -> bool {
    is_grad_enabled() && inputs.iter().any(|t| t.requires_grad())
}

/// Disables recording until dropped (`with torch.no_grad():`).
pub struct NoGradGuard {
    previous: bool,
}

impl NoGradGuard {
    /// Turn recording off on this thread; dropping the guard restores the
    /// previous mode, so guards nest.
    #[allow(clippy::new_without_default)]
    pub fn new() -> NoGradGuard {
        let previous = GRAD_ENABLED.with(|g| g.replace(false));
        NoGradGuard { previous }
    }
}

impl Drop for NoGradGuard {
    fn drop(&mut self) {
        GRAD_ENABLED.with(|g| g.set(self.previous));
    }
}

/// Run `f` with recording disabled, as `with torch.no_grad():` does.
///
/// ```
/// use autograd::{no_grad, Tensor};
/// let w = Tensor::ones(&[2]).requires_grad_(true);
/// let y = no_grad(|| w.mul_scalar(3.0));
/// assert!(!y.requires_grad());
/// ```
pub fn no_grad<R>(f: impl FnOnce() -> R) -> R {
    let _guard = NoGradGuard::new();
    f()
}
