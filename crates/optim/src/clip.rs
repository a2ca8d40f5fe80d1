//! Gradient clipping, as `torch.nn.utils.clip_grad_norm_` / `clip_grad_value_`.

use autograd::Tensor;

use crate::error::OptimError;

/// Scale the gradients of `params` in place so that their global `norm_type`
/// norm (the norm of all gradients as one vector) is at most `max_norm`;
/// returns that total norm before clipping.
///
/// As PyTorch: the scale is `max_norm / (total + 1e-6)` clamped to 1;
/// parameters without a grad are ignored (none at all gives 0); `norm_type`
/// is any `p > 0` or `f64::INFINITY` (the largest |g|). A non-finite total
/// norm is returned as is and makes the scaled gradients non-finite
/// (PyTorch's default `error_if_nonfinite=False`).
///
/// ```
/// use autograd::Tensor;
/// let w = Tensor::zeros(&[2]);
/// w.set_grad(Some(Tensor::from_vec(vec![3.0, 4.0], &[2])));
/// let total = optim::clip_grad_norm_(&[w.clone()], 1.0, 2.0).unwrap();
/// assert_eq!(total, 5.0);
/// let g = w.grad().unwrap().to_vec(); // scaled by 1 / (5 + 1e-6)
/// assert!((g[0] - 0.6).abs() < 1e-6 && (g[1] - 0.8).abs() < 1e-6);
/// ```
pub fn clip_grad_norm_(
    params: &[Tensor],
    max_norm: f64,
    norm_type: f64,
) -> Result<f32, OptimError> {
    clip_grad_norm_with(params, max_norm, norm_type, false)
}

/// [`clip_grad_norm_`] with PyTorch's `error_if_nonfinite`: when true, a NaN
/// or infinite total norm is an error and no gradient is changed.
///
/// ```
/// use autograd::Tensor;
/// let w = Tensor::zeros(&[2]);
/// w.set_grad(Some(Tensor::from_vec(vec![f32::NAN, 1.0], &[2])));
/// assert!(optim::clip_grad_norm_with(&[w.clone()], 1.0, 2.0, true).is_err());
/// assert_eq!(w.grad().unwrap().to_vec()[1], 1.0);
/// ```
pub fn clip_grad_norm_with(
    params: &[Tensor],
    max_norm: f64,
    norm_type: f64,
    error_if_nonfinite: bool,
) -> Result<f32, OptimError> {
    if norm_type.is_nan() || norm_type <= 0.0 {
        return Err(OptimError::invalid(format!(
            "clip_grad_norm_: norm_type must be positive or inf, got {norm_type}"
        )));
    }
    let grads = grads(params);
    if grads.is_empty() {
        return Ok(0.0);
    }
    // As PyTorch: the norm of each gradient (an f32), then the norm of those norms.
    let norms: Vec<f32> = grads
        .iter()
        .map(|g| g.with_data(|d| vector_norm(d, norm_type)))
        .collect();
    let total = vector_norm(&norms, norm_type);
    if error_if_nonfinite && !total.is_finite() {
        return Err(OptimError::invalid(format!(
            "The total norm of order {norm_type} for gradients from `parameters` is non-finite, \
             so it cannot be clipped. To disable this error and scale the gradients by the \
             non-finite norm anyway, set `error_if_nonfinite=False`"
        )));
    }
    // PyTorch's `max_norm / (total + 1e-6)` divides a Python float by a
    // tensor, which `Tensor.__rtruediv__` computes as `reciprocal() *
    // max_norm`: two roundings, not one (an ulp apart for about a quarter of
    // totals).
    let coef = (1.0 / (total + 1e-6)) * max_norm as f32;
    // `torch.clamp(coef, max=1.0)`, which keeps a NaN.
    let coef = if coef > 1.0 { 1.0 } else { coef };
    for g in &grads {
        map_in_place(g, |x| x * coef);
    }
    Ok(total)
}

/// Clamp the gradients of `params` to `[-clip_value, clip_value]` in place
/// (`torch.nn.utils.clip_grad_value_`); `clip_value` must not be negative.
///
/// ```
/// use autograd::Tensor;
/// let w = Tensor::zeros(&[3]);
/// w.set_grad(Some(Tensor::from_vec(vec![-2.0, 0.5, 3.0], &[3])));
/// optim::clip_grad_value_(&[w.clone()], 1.0).unwrap();
/// assert_eq!(w.grad().unwrap().to_vec(), vec![-1.0, 0.5, 1.0]);
/// ```
pub fn clip_grad_value_(params: &[Tensor], clip_value: f64) -> Result<(), OptimError> {
    if clip_value.is_nan() || clip_value < 0.0 {
        return Err(OptimError::invalid(format!(
            "clip_grad_value_: clip_value must not be negative, got {clip_value}"
        )));
    }
    let c = clip_value as f32;
    for g in grads(params) {
        // `f32::clamp` keeps a NaN, as `torch.clamp` does.
        map_in_place(&g, |x| x.clamp(-c, c));
    }
    Ok(())
}

/// `g = f(g)` element by element, in place: through the strides of a
/// gradient the user set as a strided view, as PyTorch's in-place ops write.
fn map_in_place(g: &Tensor, f: impl Fn(f32) -> f32) {
    if g.is_contiguous() {
        g.with_data_mut(|d| d.iter_mut().for_each(|x| *x = f(*x)));
    } else {
        let mapped: Vec<f32> = g.to_vec().into_iter().map(f).collect();
        autograd::no_grad(|| g.copy_(&Tensor::from_vec(mapped, g.shape())));
    }
}

/// The grads of `params` that exist, as PyTorch lists them (a gradient tensor
/// shared by two parameters counts, and is scaled, twice there too).
fn grads(params: &[Tensor]) -> Vec<Tensor> {
    params.iter().filter_map(Tensor::grad).collect()
}

/// `torch.linalg.vector_norm(x, p)` for `p > 0` or inf, accumulated in f64.
fn vector_norm(x: &[f32], p: f64) -> f32 {
    if p == f64::INFINITY {
        return x.iter().fold(0.0f32, |m, &v| {
            if v.abs() > m || v.is_nan() {
                v.abs()
            } else {
                m
            }
        });
    }
    let norm = if p == 2.0 {
        x.iter()
            .map(|&v| (v as f64) * (v as f64))
            .sum::<f64>()
            .sqrt()
    } else if p == 1.0 {
        x.iter().map(|&v| (v as f64).abs()).sum::<f64>()
    } else {
        x.iter()
            .map(|&v| (v as f64).abs().powf(p))
            .sum::<f64>()
            .powf(1.0 / p)
    };
    norm as f32
}
