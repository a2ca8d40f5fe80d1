//! Losses as functions (`torch.nn.functional`): `cross_entropy`, `nll_loss`,
//! `mse_loss`. They are made of autograd ops (log_softmax, gather, mul, sum),
//! so their gradients come from the tape.
//!
//! Class targets are f32 tensors holding integers (docs/decisions.md).
//! A target that is neither a class index in `[0, C)` nor `ignore_index`, a
//! `weight` that is not `[C]` or mismatched shapes are programmer errors and
//! panic with a message naming the function, the value and the shapes, as
//! PyTorch raises; callers validate labels read from outside beforehand.

use std::str::FromStr;

use autograd::Tensor;

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
            // The mean is over samples (and positions), never weighted.
            let per_sample = terms.sum_dim(1, false).neg();
            let count = (input.numel() / classes) as f32;
            return reduce(per_sample, reduction, count);
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
        let smooth = weighted.sum_dim(1, false).mul_mask(&picked.neg_valid);
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
    assert!(
        input.shape() == target.shape(),
        "mse_loss: input of shape {:?} and target of shape {:?} differ",
        input.shape(),
        target.shape()
    );
    let diff = input.sub(target);
    let squared = diff.mul(&diff);
    reduce(squared, reduction, input.numel() as f32)
}

// ------------------------------------------------------------------ helpers

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
    /// `[N, d…]`: -1 where a target is not ignored, 0 where it is.
    neg_valid: Tensor,
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
        Some(w) => class_weight(op, w, logp).to_vec(),
        None => vec![1.0; classes],
    };
    let picks = target_classes(op, target, classes, ignore_index);
    // gather needs an index of logp's rank: [N, 1, d…]; ignored rows pick class 0.
    let index: Vec<f32> = picks.iter().map(|p| p.unwrap_or(0) as f32).collect();
    let index = Tensor::from_vec(index, target.shape()).unsqueeze(1);
    let neg_weights: Vec<f32> = picks
        .iter()
        .map(|p| p.map_or(0.0, |c| -class_weights[c]))
        .collect();
    let total_weight = -neg_weights.iter().sum::<f32>();
    let neg_valid: Vec<f32> = picks
        .iter()
        .map(|p| if p.is_some() { -1.0 } else { 0.0 })
        .collect();
    let losses = logp
        .gather(1, &index)
        .squeeze(1)
        .mul_mask(&Tensor::from_vec(neg_weights, target.shape()));
    Picked {
        losses,
        total_weight,
        count: picks.iter().flatten().count(),
        neg_valid: Tensor::from_vec(neg_valid, target.shape()),
    }
}

/// `reduce` for picked losses, dividing a mean by the total weight. A mean
/// over no target (every one ignored) is NaN with a zero gradient, as in
/// PyTorch: dividing by 0 would send an infinite gradient into the masks, and
/// inf * 0 is NaN. (A zero total weight over targets not ignored gives NaN
/// gradients in PyTorch, and here; PyTorch's stay 0 in rows whose target is
/// ignored, ours are NaN there too.)
fn reduce_picked(losses: Tensor, reduction: Reduction, picked: &Picked) -> Tensor {
    if reduction == Reduction::Mean && picked.count == 0 {
        return losses.sum().mul_scalar(0.0).add_scalar(f32::NAN);
    }
    reduce(losses, reduction, picked.total_weight)
}

/// Combine per-element losses; the mean divides the sum by `mean_divisor`.
fn reduce(losses: Tensor, reduction: Reduction, mean_divisor: f32) -> Tensor {
    match reduction {
        Reduction::None => losses,
        Reduction::Sum => losses.sum(),
        Reduction::Mean => losses.sum().div_scalar(mean_divisor),
    }
}
