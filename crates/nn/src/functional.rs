//! Losses as functions (`torch.nn.functional`): `cross_entropy`, `nll_loss`,
//! `mse_loss`, `binary_cross_entropy_with_logits`, `binary_cross_entropy`.
//! The first three are made of autograd ops (log_softmax, gather, mul, sum),
//! so their gradients come from the tape; the binary ones are one elementwise
//! op each with PyTorch's own backward formulas (`elementwise_loss` below),
//! then the same reductions.
//!
//! Class targets are f32 tensors holding integers (docs/decisions.md).
//! A target that is neither a class index in `[0, C)` nor `ignore_index`, a
//! `weight` that is not `[C]` (or, for the binary losses, does not broadcast
//! to the input), a probability outside `[0, 1]` or mismatched shapes are
//! programmer errors and panic with a message naming the function, the value
//! and the shapes, as PyTorch raises; callers validate labels read from
//! outside beforehand.

use std::str::FromStr;

use autograd::{is_grad_enabled, no_grad, Tensor};

/// How per-element losses are combined (`reduction=` in PyTorch).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Reduction {
    /// The (weighted) mean: PyTorch's default.
    #[default]
    Mean,
    /// The sum.
    Sum,
    /// No reduction: one loss per element.
    None,
}

impl FromStr for Reduction {
    type Err = String;

    /// `"mean"`, `"sum"` or `"none"`, as PyTorch spells them.
    fn from_str(s: &str) -> Result<Reduction, String> {
        match s {
            "mean" => Ok(Reduction::Mean),
            "sum" => Ok(Reduction::Sum),
            "none" => Ok(Reduction::None),
            _ => Err(format!(
                "unknown reduction {s:?}: expected \"mean\", \"sum\" or \"none\""
            )),
        }
    }
}

/// Negative log likelihood (`F.nll_loss`) of log-probabilities `input`
/// `[N, C]` (or `[N, C, d1, …]`, or `[C]`) at class indices `target` `[N]`
/// (or `[N, d1, …]`, or `[]`).
///
/// Element `i` loses `-weight[y_i] * input[i, y_i]`, or 0 where
/// `y_i == ignore_index`. The mean divides the sum by the sum of
/// `weight[y_i]` over the elements not ignored (NaN if there are none), as
/// PyTorch does; without `weight`, every class weighs 1.
///
/// # Panics
/// On a target that is not an integer in `[0, C)` nor `ignore_index`, a
/// `weight` that is not `[C]`, or a target shape that does not match.
pub fn nll_loss(
    input: &Tensor,
    target: &Tensor,
    weight: Option<&Tensor>,
    ignore_index: i64,
    reduction: Reduction,
) -> Tensor {
    with_batch_dim(input, target, reduction, |input, target| {
        let picked = pick_targets("nll_loss", input, target, weight, ignore_index);
        reduce_picked(picked.losses.clone(), reduction, &picked)
    })
}

/// Cross entropy between logits `input` `[N, C]` (or `[N, C, d1, …]`, or
/// `[C]`) and `target` (`F.cross_entropy`): `log_softmax` along dim 1 then
/// [`nll_loss`], with PyTorch's options.
///
/// - `target` of the shape of `input` without dim 1 holds class indices;
///   `target` of the same shape as `input` holds class probabilities.
/// - `weight` `[C]`: per-class weights; with class indices, the mean divides
///   by the sum of `weight[y_i]` over the elements not ignored.
/// - `ignore_index`: class-index targets equal to it contribute nothing (and
///   do not count in the mean); PyTorch's default is -100.
/// - `label_smoothing` ε in `[0, 1]`: the target becomes the mixture
///   `(1-ε) * target + ε/C` of the target and the uniform distribution. With
///   class indices this is PyTorch's
///   `(1-ε) * nll + ε/C * Σ_i Σ_c -weight[c] * logp[i, c]`, the second sum
///   reduced like the first (the same weighted-mean denominator).
///
/// ```
/// use autograd::Tensor;
/// use nn::functional::{cross_entropy, Reduction};
/// let logits = Tensor::from_vec(vec![0.0, 0.0], &[1, 2]);
/// let loss = cross_entropy(&logits, &Tensor::from_vec(vec![1.0], &[1]), None, -100, Reduction::Mean, 0.0);
/// assert!((loss.item() - 2f32.ln()).abs() < 1e-6);
/// ```
///
/// # Panics
/// As [`nll_loss`]; also on `label_smoothing` outside `[0, 1]` and on
/// class-probability targets with a non-negative `ignore_index` (PyTorch
/// does not support ignoring those).
pub fn cross_entropy(
    input: &Tensor,
    target: &Tensor,
    weight: Option<&Tensor>,
    ignore_index: i64,
    reduction: Reduction,
    label_smoothing: f32,
) -> Tensor {
    assert!(
        (0.0..=1.0).contains(&label_smoothing),
        "cross_entropy: label_smoothing must be between 0.0 and 1.0, got {label_smoothing}"
    );
    with_batch_dim(input, target, reduction, |input, target| {
        let classes = input.shape()[1];
        if let Some(loss) = fused(
            input,
            target,
            weight,
            ignore_index,
            reduction,
            label_smoothing,
        ) {
            return loss;
        }
        let logp = input.log_softmax(1);
        let weight_bc = weight.map(|w| class_weight("cross_entropy", w, input));
        let eps = label_smoothing;
        if target.shape() == input.shape() {
            assert!(
                ignore_index < 0,
                "cross_entropy: ignore_index is not supported for class-probability targets"
            );
            let target = if eps > 0.0 {
                target
                    .mul_scalar(1.0 - eps)
                    .add_scalar(eps / classes as f32)
            } else {
                target.clone()
            };
            let mut terms = logp.mul(&target);
            if let Some(w) = &weight_bc {
                terms = terms.mul(w);
            }
            // PyTorch's order: the sum of every term, then its negation (so a loss
            // of zero is -0.0, as PyTorch's). The mean is over samples (and
            // positions), never weighted; with no class there are none to count,
            // and the mean is 0/0, as PyTorch's.
            let count = input.numel().checked_div(classes).unwrap_or(0) as f32;
            return match reduction {
                Reduction::None => terms.sum_dim(1, false).neg(),
                Reduction::Sum => terms.sum().neg(),
                Reduction::Mean => terms.sum().neg().div_scalar(count),
            };
        }
        let picked = pick_targets("cross_entropy", &logp, target, weight, ignore_index);
        let nll = reduce_picked(picked.losses.clone(), reduction, &picked);
        if eps == 0.0 {
            return nll;
        }
        let weighted = match &weight_bc {
            Some(w) => logp.mul(w),
            None => logp,
        };
        // -Σ_c weight[c] * logp[i, c] for each element not ignored.
        let smooth = scale_or_zero("mul", &weighted.sum_dim(1, false), picked.neg_valid.clone());
        let smooth = reduce_picked(smooth, reduction, &picked);
        nll.mul_scalar(1.0 - eps)
            .add(&smooth.mul_scalar(eps / classes as f32))
    })
}

/// `cross_entropy` as one op (`Tensor::log_softmax_nll`) for `[N, C]`
/// logits and `[N]` class indices, none ignored, with no class weight or
/// label smoothing and a mean or sum: the same values and gradients as the
/// general path below, bit for bit (tested), without its five nodes. `None`
/// for every other case.
fn fused(
    input: &Tensor,
    target: &Tensor,
    weight: Option<&Tensor>,
    ignore_index: i64,
    reduction: Reduction,
    label_smoothing: f32,
) -> Option<Tensor> {
    let plain = input.dims() == 2
        && target.shape() == [input.shape()[0]]
        && weight.is_none()
        && label_smoothing == 0.0
        && reduction != Reduction::None;
    if !plain {
        return None;
    }
    // None (the general path) if any target is ignored.
    let targets: Vec<usize> =
        target_classes("cross_entropy", target, input.shape()[1], ignore_index)
            .into_iter()
            .collect::<Option<_>>()?;
    let divisor = match reduction {
        Reduction::Mean => targets.len() as f32,
        _ => 1.0,
    };
    Some(input.log_softmax_nll(&targets, divisor))
}

/// Mean squared error `(input - target)^2` (`F.mse_loss`).
///
/// # Panics
/// If the shapes differ: PyTorch broadcasts them with a warning that the
/// result is likely wrong; we refuse instead.
pub fn mse_loss(input: &Tensor, target: &Tensor, reduction: Reduction) -> Tensor {
    const OP: &str = "mse_loss";
    check_same_shape(OP, input, target);
    let diff: Vec<f32> = input
        .to_vec()
        .iter()
        .zip(target.to_vec())
        .map(|(x, y)| x - y)
        .collect();
    let squared = diff.iter().map(|d| d * d).collect();
    // The gradients of `sub` and then `mul(d, d)`: g * d from each factor, added.
    elementwise_loss(OP, squared, input, target, &[], reduction, move |i, g| {
        let dx = g * diff[i] + g * diff[i];
        (dx, -dx)
    })
}

/// Binary cross entropy of logits (`F.binary_cross_entropy_with_logits`):
/// `input` holds logits x and `target`, of the same shape, probabilities y
/// (0/1 labels or soft ones; any value is accepted, as in PyTorch). Element i
/// loses
///
/// `w * ((1 - y) * x + (1 + (pw - 1) * y) * (log1p(exp(-|x|)) + max(-x, 0)))`,
///
/// which is `-w * (pw * y * log σ(x) + (1 - y) * log(1 - σ(x)))` written as
/// PyTorch writes it (through `log σ(x)`), so that `exp` never overflows: the
/// loss is finite for every finite logit, ±1e4 included.
///
/// - `weight` w: per-element weights of any shape that broadcasts to the
///   input's (`[N, 1]` per sample, `[C]` per column, or the input's shape).
/// - `pos_weight` pw: the weight of the positive term, broadcast likewise; a
///   `[C]` pos_weight weighs each class (the last dim) of `[N, C]` input.
/// - The mean divides by the number of elements, whatever the weights.
///
/// Gradients reach `input` (`w * (σ(x) * (1 + (pw - 1) * y) - pw * y)`) and
/// `target` (`w * (log σ(-x) - pw * log σ(x))`), with PyTorch's formulas;
/// `weight` and `pos_weight` are constants.
///
/// ```
/// use autograd::Tensor;
/// use nn::functional::{binary_cross_entropy_with_logits, Reduction};
/// let logits = Tensor::from_vec(vec![0.0, 1e4], &[2]);
/// let target = Tensor::from_vec(vec![1.0, 0.0], &[2]);
/// let loss = binary_cross_entropy_with_logits(&logits, &target, None, None, Reduction::None);
/// // ln 2 for the undecided logit; the confidently wrong one costs its size, not inf.
/// let loss = loss.to_vec();
/// assert!((loss[0] - 2f32.ln()).abs() < 1e-6 && loss[1] == 1e4);
/// ```
///
/// # Panics
/// If `target`'s shape differs from `input`'s, if `weight` or `pos_weight`
/// does not broadcast to it, or if either requires grad while grad mode is on
/// (PyTorch raises: the loss is not differentiable with respect to them).
pub fn binary_cross_entropy_with_logits(
    input: &Tensor,
    target: &Tensor,
    weight: Option<&Tensor>,
    pos_weight: Option<&Tensor>,
    reduction: Reduction,
) -> Tensor {
    const OP: &str = "binary_cross_entropy_with_logits";
    check_same_shape(OP, input, target);
    let w = weight.map(|w| broadcast_constant(OP, "weight", w, input.shape()));
    let pw = pos_weight.map(|p| broadcast_constant(OP, "pos_weight", p, input.shape()));
    let (x, y) = (input.to_vec(), target.to_vec());
    // PyTorch's order of operations, so that rounding matches too:
    // (1 - y) * x - log σ(x) * ((pw - 1) * y + 1), then * w.
    let losses = (0..x.len())
        .map(|i| {
            let log_weight = pw.as_ref().map_or(1.0, |pw| (pw[i] - 1.0) * y[i] + 1.0);
            let loss = (1.0 - y[i]) * x[i] - log_sigmoid(x[i]) * log_weight;
            w.as_ref().map_or(loss, |w| loss * w[i])
        })
        .collect();
    elementwise_loss(
        OP,
        losses,
        input,
        target,
        &[weight, pos_weight],
        reduction,
        move |i, g| {
            let (x, y) = (x[i], y[i]);
            let (dx, dy) = match &pw {
                Some(pw) => {
                    let t = pw[i] * y;
                    let dx = (t + 1.0 - y) * sigmoid(x) - t;
                    (dx, log_sigmoid(-x) - log_sigmoid(x) * pw[i])
                }
                None => (sigmoid(x) - y, -x),
            };
            let w = w.as_ref().map_or(1.0, |w| w[i]);
            (dx * g * w, dy * g * w)
        },
    )
}

/// Binary cross entropy of probabilities (`F.binary_cross_entropy`): `input`
/// holds probabilities p in `[0, 1]` and `target`, of the same shape,
/// probabilities y in `[0, 1]` (0/1 labels or soft ones). Element i loses
///
/// `-w * (y * max(log p, -100) + (1 - y) * max(log(1 - p), -100))`:
///
/// PyTorch clamps each log at -100, so a probability of exactly 0 or 1 on the
/// wrong side costs 100, not inf (and takes `log(1 - p)` as `log1p(-p)`,
/// which keeps the digits of a small p). `weight` w broadcasts to the input's shape
/// as in [`binary_cross_entropy_with_logits`]; the mean divides by the number
/// of elements. Prefer that function on logits: `sigmoid` then this loses
/// every digit of a probability that rounds to 0 or 1.
///
/// Gradients reach `input` and `target` with PyTorch's formulas, which ignore
/// the clamp: `w * (p - y) / max(p * (1 - p), 1e-12)` (so ±1e12 at a wrong 0
/// or 1) and `-w * logit(p)` (±inf at 0 and 1).
///
/// ```
/// use autograd::Tensor;
/// use nn::functional::{binary_cross_entropy, Reduction};
/// let p = Tensor::from_vec(vec![0.5, 0.0], &[2]);
/// let loss = binary_cross_entropy(&p, &Tensor::from_vec(vec![1.0, 1.0], &[2]), None, Reduction::None);
/// let loss = loss.to_vec();
/// assert!((loss[0] - 2f32.ln()).abs() < 1e-6 && loss[1] == 100.0);
/// ```
///
/// # Panics
/// If the shapes differ, if an element of `input` or `target` is outside
/// `[0, 1]` (or NaN) as PyTorch raises, if `weight` does not broadcast to the
/// input's shape, or if it requires grad while grad mode is on.
pub fn binary_cross_entropy(
    input: &Tensor,
    target: &Tensor,
    weight: Option<&Tensor>,
    reduction: Reduction,
) -> Tensor {
    const OP: &str = "binary_cross_entropy";
    check_same_shape(OP, input, target);
    let (x, y) = (input.to_vec(), target.to_vec());
    check_probabilities(OP, "input", &x);
    check_probabilities(OP, "target", &y);
    let w = weight.map(|w| broadcast_constant(OP, "weight", w, input.shape()));
    let losses = (0..x.len())
        .map(|i| {
            let (x, y) = (x[i], y[i]);
            let loss = (y - 1.0) * (-x).ln_1p().max(-100.0) - y * x.ln().max(-100.0);
            w.as_ref().map_or(loss, |w| loss * w[i])
        })
        .collect();
    elementwise_loss(
        OP,
        losses,
        input,
        target,
        &[weight],
        reduction,
        move |i, g| {
            let (x, y) = (x[i], y[i]);
            let dx = g * (x - y) / ((1.0 - x) * x).max(1e-12);
            let dy = -(x / (1.0 - x)).ln() * g;
            let w = w.as_ref().map_or(1.0, |w| w[i]);
            (dx * w, dy * w)
        },
    )
}

// ------------------------------------------------------------------ helpers

/// Per-element `losses` of `input` and `target` (same shape) as one recorded
/// op named `op`, reduced as `reduction` asks (the mean divides by the number
/// of elements) in the same node, so that the loss's `grad_fn` is the loss's,
/// as in PyTorch, not its reduction's. Its backward gives element i of the input's and the target's
/// gradients as `grads(i, g_i)`, `g_i` being the output gradient there: the
/// rule keeps its captures (say, the values it read) and can run again on a
/// retained graph. `constants` (weights) are recorded as inputs without a
/// gradient, so that changing one in place before the backward pass is an
/// error, as for the tensors PyTorch saves.
fn elementwise_loss(
    op: &'static str,
    losses: Vec<f32>,
    input: &Tensor,
    target: &Tensor,
    constants: &[Option<&Tensor>],
    reduction: Reduction,
    grads: impl Fn(usize, f32) -> (f32, f32) + Send + 'static,
) -> Tensor {
    let mut inputs = vec![input, target];
    inputs.extend(constants.iter().flatten());
    let count = inputs.len();
    let shape = input.shape().to_vec();
    let n = losses.len() as f32;
    // The values and gradients of `sum` and `div_scalar(n)` after the
    // elementwise losses, bit for bit, in this one node.
    let (values, out_shape) = match reduction {
        Reduction::None => (losses, shape.clone()),
        Reduction::Sum | Reduction::Mean => {
            let total = no_grad(|| Tensor::from_vec(losses, &shape).sum()).item();
            let total = if reduction == Reduction::Mean {
                total / n
            } else {
                total
            };
            (vec![total], Vec::new())
        }
    };
    let (input_grad, target_grad) = (input.requires_grad(), target.requires_grad());
    Tensor::from_op(values, &out_shape, op, &inputs, move |g| {
        let upstream = |i: usize, g: &[f32]| match reduction {
            Reduction::None => g[i],
            Reduction::Sum => g[0],
            Reduction::Mean => g[0] / n,
        };
        let (gx, gy): (Vec<f32>, Vec<f32>) = g.with_data(|g| {
            (0..shape.iter().product())
                .map(|i| grads(i, upstream(i, g)))
                .unzip()
        });
        let mut out = vec![
            input_grad.then(|| Tensor::from_vec(gx, &shape)),
            target_grad.then(|| Tensor::from_vec(gy, &shape)),
        ];
        out.resize(count, None);
        out
    })
}

/// log σ(x) as PyTorch computes it, `min(x, 0) - log1p(exp(-|x|))`: the
/// argument of `exp` is never positive, so nothing overflows.
fn log_sigmoid(x: f32) -> f32 {
    x.min(0.0) - (-x.abs()).exp().ln_1p()
}

/// σ(x) = 1 / (1 + exp(-x)): exp(-x) may overflow to inf, which gives 0, the
/// right limit.
fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

fn check_same_shape(op: &str, input: &Tensor, target: &Tensor) {
    assert!(
        input.shape() == target.shape(),
        "{op}: input of shape {:?} and target of shape {:?} differ (they must be the same)",
        input.shape(),
        target.shape()
    );
}

/// PyTorch's check in binary_cross_entropy's kernel; NaN fails it too.
fn check_probabilities(op: &str, what: &str, values: &[f32]) {
    if let Some((i, v)) = values
        .iter()
        .enumerate()
        .find(|(_, v)| !(0.0..=1.0).contains(*v))
    {
        panic!("{op}: all elements of {what} should be between 0 and 1, got {v} at flat index {i}");
    }
}

/// The values of `t`, a weight the loss is not differentiated by, broadcast
/// to the input's `shape` (row-major). A weight must fit in the input's
/// shape, as PyTorch's in-place multiply requires: it cannot add dims or
/// grow one.
fn broadcast_constant(op: &str, name: &str, t: &Tensor, shape: &[usize]) -> Vec<f32> {
    assert!(
        t.broadcasts_to(shape),
        "{op}: {name} of shape {:?} does not broadcast to the input's shape {shape:?}",
        t.shape()
    );
    assert_not_differentiable(op, name, t);
    no_grad(|| t.broadcast_to(shape)).to_vec()
}

/// PyTorch refuses, while grad mode is on, a loss's constant (BCE's weights,
/// the class weight with class-index targets) that requires grad: the loss
/// has no gradient for it, and silently giving none would hide that.
fn assert_not_differentiable(op: &str, name: &str, t: &Tensor) {
    assert!(
        !(is_grad_enabled() && t.requires_grad()),
        "{op}: {name} requires grad, but the loss is not differentiable with respect to it \
         (PyTorch raises the same)"
    );
}

/// Run `f` on inputs with a batch dim: an unbatched `[C]` input (and `[]` or
/// `[C]` target) is lifted to `[1, C]`, and an unreduced result is put back.
fn with_batch_dim(
    input: &Tensor,
    target: &Tensor,
    reduction: Reduction,
    f: impl FnOnce(&Tensor, &Tensor) -> Tensor,
) -> Tensor {
    assert!(
        input.dims() >= 1,
        "loss: input must have a class dim, got shape []"
    );
    if input.dims() > 1 {
        return f(input, target);
    }
    let out = f(&input.unsqueeze(0), &target.unsqueeze(0));
    match reduction {
        Reduction::None => out.squeeze(0),
        _ => out,
    }
}

/// `w` `[C]` checked against `input` `[N, C, …]` and shaped to broadcast along dim 1.
fn class_weight(op: &str, w: &Tensor, input: &Tensor) -> Tensor {
    let classes = input.shape()[1];
    assert!(
        w.shape() == [classes],
        "{op}: weight of shape {:?} for {classes} classes: expected [{classes}]",
        w.shape()
    );
    let shape: Vec<usize> = (0..input.dims())
        .map(|d| if d == 1 { classes } else { 1 })
        .collect();
    w.reshape(&shape)
}

/// The losses `-weight[y_i] * logp[i, y_i]` (0 where ignored), and what the
/// mean divides by.
struct Picked {
    /// `[N, d…]`, with gradient to the log-probabilities.
    losses: Tensor,
    /// Σ weight[y_i] over the elements not ignored.
    total_weight: f32,
    /// How many elements are not ignored.
    count: usize,
    /// `[N, d…]`: -1 where a target is not ignored, `None` where it is.
    neg_valid: Vec<Option<f32>>,
}

/// Per target: its class, or None where it equals `ignore_index`.
///
/// # Panics
/// On a target that is neither a class index in `[0, classes)` nor ignored.
fn target_classes(
    op: &str,
    target: &Tensor,
    classes: usize,
    ignore_index: i64,
) -> Vec<Option<usize>> {
    target.with_data(|t| {
        t.iter()
            .enumerate()
            .map(|(i, &v)| {
                if v == ignore_index as f32 {
                    return None;
                }
                assert!(
                    v.fract() == 0.0 && v >= 0.0 && (v as usize) < classes,
                    "{op}: target {v} at index {i} is not a class index in [0, {classes}) \
                     nor ignore_index ({ignore_index})"
                );
                Some(v as usize)
            })
            .collect()
    })
}

fn pick_targets(
    op: &str,
    logp: &Tensor,
    target: &Tensor,
    weight: Option<&Tensor>,
    ignore_index: i64,
) -> Picked {
    let classes = logp.shape()[1];
    let mut expected = logp.shape().to_vec();
    expected.remove(1);
    assert!(
        target.shape() == expected.as_slice(),
        "{op}: target of shape {:?} for input of shape {:?}: expected class indices of shape {expected:?} \
         or class probabilities of shape {:?}",
        target.shape(),
        logp.shape(),
        logp.shape()
    );
    let class_weights: Vec<f32> = match weight {
        Some(w) => {
            assert_not_differentiable(op, "weight", w);
            class_weight(op, w, logp).to_vec()
        }
        None => vec![1.0; classes],
    };
    let picks = target_classes(op, target, classes, ignore_index);
    // gather needs an index of logp's rank: [N, 1, d…]; ignored rows pick class 0.
    let index: Vec<f32> = picks.iter().map(|p| p.unwrap_or(0) as f32).collect();
    let index = Tensor::from_vec(index, target.shape()).unsqueeze(1);
    let neg_weights: Vec<Option<f32>> =
        picks.iter().map(|p| p.map(|c| -class_weights[c])).collect();
    // Summed in f64 from +0.0, as `Tensor::sum` does: an f32 running sum lost digits
    // PyTorch's cascade sum keeps (6e-4 off over 90,000 weighted targets) and stopped
    // counting at 2^24 targets.
    let total_weight = neg_weights
        .iter()
        .flatten()
        .fold(0.0f64, |total, &w| total - w as f64) as f32;
    let neg_valid = picks.iter().map(|p| p.map(|_| -1.0)).collect();
    let losses = scale_or_zero("nll_loss", &logp.gather(1, &index).squeeze(1), neg_weights);
    Picked {
        losses,
        total_weight,
        count: picks.iter().flatten().count(),
        neg_valid,
    }
}

/// `values[i] * scales[i]`, and exactly 0 (with a zero gradient) where the
/// scale is `None`: what PyTorch writes for an ignored target, whatever the
/// log-probability there (a masked `-inf` times 0 would be NaN, and NaN
/// would spread to the reduced loss). Recorded as `op`.
fn scale_or_zero(op: &'static str, values: &Tensor, scales: Vec<Option<f32>>) -> Tensor {
    let out = values.with_data(|v| {
        v.iter()
            .zip(&scales)
            .map(|(&v, s)| s.map_or(0.0, |s| v * s))
            .collect()
    });
    Tensor::from_op(out, values.shape(), op, &[values], move |g| {
        let grad = g.with_data(|g| {
            g.iter()
                .zip(&scales)
                .map(|(&g, s)| s.map_or(0.0, |s| g * s))
                .collect()
        });
        vec![Some(Tensor::from_vec(grad, g.shape()))]
    })
}

/// `reduce` for picked losses, dividing a mean by the total weight, in one
/// node: PyTorch's `nll_loss` is one op, so a loss's `grad_fn` is
/// `NllLossBackward0` (`NllLoss2DBackward0` for `[N, C, d1, …]` inputs) with
/// class weights or ignored targets too. The values and gradients are those
/// of `sum` then `div_scalar`, bit for bit. A mean over no target (every one
/// ignored) is NaN with a zero gradient, as in PyTorch: dividing by 0 would
/// send an infinite gradient into the masks, and inf * 0 is NaN. (A zero
/// total weight over targets not ignored gives NaN gradients in PyTorch, and
/// here, except in rows whose target is ignored: 0 in both.)
fn reduce_picked(losses: Tensor, reduction: Reduction, picked: &Picked) -> Tensor {
    if reduction == Reduction::None {
        return losses;
    }
    let op = if losses.dims() > 1 {
        "nll_loss2d"
    } else {
        "nll_loss"
    };
    let (shape, total) = (losses.shape().to_vec(), picked.total_weight);
    let empty = picked.count == 0;
    let sum = no_grad(|| losses.sum()).item();
    // With every target ignored the mean is 0 / 0, divided at run time as
    // PyTorch does: the processor's NaN (on x86-64 its sign bit is set).
    let value = match reduction {
        Reduction::Mean => sum / total,
        _ => sum,
    };
    Tensor::from_op(vec![value], &[], op, &[&losses], move |g| {
        // The output's gradient, as each loss receives it.
        let g = match reduction {
            Reduction::Mean if empty => g.item() * 0.0,
            Reduction::Mean => g.item() / total,
            _ => g.item(),
        };
        vec![Some(Tensor::full(&shape, g))]
    })
}
