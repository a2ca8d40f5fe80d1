//! Check an op's backward rule against central finite differences.
//!
//! Tensors are f32, so the check is tuned for it: the step is large enough
//! that rounding (about 1e-7 relative) stays far below the tolerance, and
//! small enough that the O(h²) truncation error does too, while a wrong rule
//! (a missing factor, a sign, a transposed index) is off by far more.

use crate::{Generator, Tensor};

/// Settings of [`gradcheck`].
#[derive(Clone, Copy, Debug)]
pub struct GradCheck {
    /// Finite-difference step.
    pub eps: f64,
    /// Allowed |analytic - numeric| is `atol + rtol * |numeric|`.
    pub atol: f64,
    /// Relative part of that tolerance.
    pub rtol: f64,
}

impl Default for GradCheck {
    fn default() -> Self {
        GradCheck {
            eps: 1e-2,
            atol: 2e-3,
            rtol: 1e-2,
        }
    }
}

/// Compare the gradients of `sum(f(inputs) * w)` (with a fixed random `w`, so
/// that every output element matters differently) against finite differences,
/// for every element of every input. Returns a description of the first mismatch.
///
/// ```
/// use autograd::{gradcheck::gradcheck, Tensor};
/// let x = Tensor::from_vec(vec![0.5, -1.0, 2.0], &[3]);
/// gradcheck(|t| t[0].tanh(), &[x]).unwrap();
/// ```
pub fn gradcheck(f: impl Fn(&[Tensor]) -> Tensor, inputs: &[Tensor]) -> Result<(), String> {
    gradcheck_with(GradCheck::default(), f, inputs)
}

/// [`gradcheck`] with the given step and tolerances instead of
/// [`GradCheck::default`].
pub fn gradcheck_with(
    cfg: GradCheck,
    f: impl Fn(&[Tensor]) -> Tensor,
    inputs: &[Tensor],
) -> Result<(), String> {
    let leaves: Vec<Tensor> = inputs
        .iter()
        .map(|t| Tensor::from_vec(t.to_vec(), t.shape()).requires_grad_(true))
        .collect();
    let out = f(&leaves);
    let weights = Tensor::rand_uniform(out.shape(), 0.5, 1.5, &mut Generator::new(12345));
    out.mul(&weights)
        .sum()
        .backward()
        .map_err(|e| e.to_string())?;

    let objective = |values: &[Vec<f32>]| -> f64 {
        let ts: Vec<Tensor> = values
            .iter()
            .zip(inputs)
            .map(|(v, t)| Tensor::from_slice(v, t.shape()))
            .collect();
        let y = crate::no_grad(|| f(&ts));
        y.to_vec()
            .iter()
            .zip(weights.to_vec())
            .map(|(&y, w)| y as f64 * w as f64)
            .sum()
    };
    let mut values: Vec<Vec<f32>> = inputs.iter().map(|t| t.to_vec()).collect();
    for (which, leaf) in leaves.iter().enumerate() {
        let analytic = leaf
            .grad()
            .map(|g| g.to_vec())
            .unwrap_or_else(|| vec![0.0; leaf.numel()]);
        for i in 0..values[which].len() {
            let original = values[which][i];
            values[which][i] = (original as f64 + cfg.eps) as f32;
            let plus = objective(&values);
            values[which][i] = (original as f64 - cfg.eps) as f32;
            let minus = objective(&values);
            values[which][i] = original;
            let numeric = (plus - minus) / (2.0 * cfg.eps);
            let got = analytic[i] as f64;
            if (got - numeric).abs() > cfg.atol + cfg.rtol * numeric.abs() {
                return Err(format!(
                    "input {which}, element {i}: analytic gradient {got} but finite differences give {numeric}"
                ));
            }
        }
    }
    Ok(())
}
