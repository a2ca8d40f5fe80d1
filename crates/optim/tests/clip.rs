//! Gradient clipping against hand-derived values.

use autograd::Tensor;
use optim::{clip_grad_norm_, clip_grad_norm_with, clip_grad_value_};

/// Parameters whose grads are [3, 4] and [12] (a third has no grad).
fn params() -> Vec<Tensor> {
    let w = Tensor::zeros(&[2]).requires_grad_(true);
    let v = Tensor::zeros(&[1, 1]).requires_grad_(true);
    let none = Tensor::zeros(&[5]).requires_grad_(true);
    w.set_grad(Some(Tensor::from_vec(vec![3.0, 4.0], &[2])));
    v.set_grad(Some(Tensor::from_vec(vec![12.0], &[1, 1])));
    vec![w, v, none]
}

fn grads(params: &[Tensor]) -> Vec<f32> {
    params
        .iter()
        .filter_map(|p| p.grad())
        .flat_map(|g| g.to_vec())
        .collect()
}

fn assert_close(got: &[f32], want: &[f64]) {
    for (&g, &w) in got.iter().zip(want) {
        assert!(
            (g as f64 - w).abs() <= 1e-6 * w.abs().max(1.0),
            "got {got:?}, want {want:?}"
        );
    }
}

#[test]
fn l2_norm_clips_to_max_norm() {
    let p = params();
    // sqrt(9 + 16 + 144) = 13; scale 6.5 / (13 + 1e-6).
    let total = clip_grad_norm_(&p, 6.5, 2.0).unwrap();
    assert_eq!(total, 13.0);
    let scale = 6.5 / (13.0 + 1e-6);
    assert_close(&grads(&p), &[3.0 * scale, 4.0 * scale, 12.0 * scale]);
}

#[test]
fn l1_inf_and_fractional_norms() {
    let p = params();
    assert_eq!(clip_grad_norm_(&p, 1.9, 1.0).unwrap(), 19.0); // 7 + 12
    assert_close(&grads(&p), &[0.3, 0.4, 1.2]); // scaled by 1.9 / 19

    let p = params();
    assert_eq!(clip_grad_norm_(&p, 6.0, f64::INFINITY).unwrap(), 12.0);
    assert_close(&grads(&p), &[1.5, 2.0, 6.0]);

    // p = 3: the norm of the norms, (91^(1/3))^3 + 12^3 = 1819.
    let p = params();
    let total = clip_grad_norm_(&p, 100.0, 3.0).unwrap();
    assert!((total as f64 - 1819f64.cbrt()).abs() < 1e-5, "{total}");
    // p = 0.5: (sqrt 3 + sqrt 4)^2 = 13.928..., then with sqrt 12.
    let total = clip_grad_norm_(&p, 100.0, 0.5).unwrap();
    let n1 = (3f64.sqrt() + 2.0).powi(2);
    assert!(
        (total as f64 - (n1.sqrt() + 12f64.sqrt()).powi(2)).abs() < 1e-4,
        "{total}"
    );
}

#[test]
fn small_gradients_are_left_exactly_as_they_are() {
    let p = params();
    assert_eq!(clip_grad_norm_(&p, 100.0, 2.0).unwrap(), 13.0);
    assert_eq!(grads(&p), vec![3.0, 4.0, 12.0]);
    let none = vec![Tensor::zeros(&[2]).requires_grad_(true)];
    assert_eq!(clip_grad_norm_(&none, 1.0, 2.0).unwrap(), 0.0);
}

#[test]
fn bad_norm_types_are_errors() {
    for bad in [0.0, -1.0, f64::NAN, f64::NEG_INFINITY] {
        let err = clip_grad_norm_(&params(), 1.0, bad)
            .unwrap_err()
            .to_string();
        assert!(err.contains("norm_type must be positive or inf"), "{err}");
    }
}

/// `error_if_nonfinite=True`: a NaN or infinite total norm is an error that
/// leaves every gradient as it was; a finite one clips as without it.
#[test]
fn a_nonfinite_norm_is_an_error_when_asked() {
    for bad in [f32::NAN, f32::INFINITY] {
        let p = params();
        p[0].set_grad(Some(Tensor::from_vec(vec![bad, 4.0], &[2])));
        let err = clip_grad_norm_with(&p, 1.0, 2.0, true)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("is non-finite, so it cannot be clipped"),
            "{err}"
        );
        let g = grads(&p);
        assert_eq!((g[1], g[2]), (4.0, 12.0), "unchanged");
    }
    let p = params();
    assert_eq!(clip_grad_norm_with(&p, 6.5, 2.0, true).unwrap(), 13.0);
    assert!((grads(&p)[2] - 6.0).abs() < 1e-5);
}

#[test]
fn clip_grad_value_clamps_each_element() {
    let p = params();
    p[0].set_grad(Some(Tensor::from_vec(vec![-2.0, f32::NAN], &[2])));
    clip_grad_value_(&p, 1.5).unwrap();
    let g = grads(&p);
    assert_eq!((g[0], g[2]), (-1.5, 1.5));
    assert!(g[1].is_nan(), "NaN stays NaN, as torch.clamp");
    assert!(clip_grad_value_(&p, -1.0)
        .unwrap_err()
        .to_string()
        .contains("must not be negative"));
}

/// A gradient the user set as a strided view is clipped through its strides
/// (it panicked): `w.grad = m.t()` then clipping changes m, as in PyTorch.
#[test]
fn a_strided_grad_is_clipped_in_place() {
    let w = Tensor::zeros(&[2, 2]).requires_grad_(true);
    let m = Tensor::from_vec(vec![-3.0, 0.5, 2.0, 0.0], &[2, 2]);
    w.set_grad(Some(m.t()));
    clip_grad_value_(std::slice::from_ref(&w), 1.0).unwrap();
    assert_eq!(m.to_vec(), vec![-1.0, 0.5, 1.0, 0.0]);
    // Norm 2 of [-1, 0.5, 1, 0] is 1.5: scaled by 0.75 / (1.5 + 1e-6), to
    // the values PyTorch 2.15 gives for the same `w.grad = m.t()`.
    clip_grad_norm_(std::slice::from_ref(&w), 0.75, 2.0).unwrap();
    let want: [f32; 4] = [-0.4999997, 0.24999985, 0.4999997, 0.0];
    assert_eq!(m.to_vec(), want);
}

/// The scale is PyTorch's `max_norm / (total + 1e-6)`, which it computes as
/// `(total + 1e-6).reciprocal() * max_norm`, rounding twice: one gradient of
/// one value (its norm is exact on both sides) clipped to the bits PyTorch
/// 2.15 gives (`torch.nn.utils.clip_grad_norm_`, float32).
#[test]
fn clip_grad_norm_scales_as_pytorch_rounds() {
    let cases = [
        (28.931087f32, 5.0, 5.0f32),
        (3.7, 1.0, 0.99999976),
        (123.456, 0.7, 0.6999999),
        (0.3, 0.1, 0.099999666),
        (-17.25, 3.3, -3.2999997),
    ];
    for (g, max_norm, want) in cases {
        let w = Tensor::zeros(&[1]);
        w.set_grad(Some(Tensor::from_vec(vec![g], &[1])));
        clip_grad_norm_(std::slice::from_ref(&w), max_norm, 2.0).unwrap();
        let got = w.grad().unwrap().to_vec()[0];
        assert_eq!(
            got.to_bits(),
            want.to_bits(),
            "{g} clipped to {max_norm}: {got}, want {want}"
        );
    }
}
