//! `nn::init` against torch.nn.init: gains and fans are torch's numbers; each
//! random fill draws within torch's bound (or with torch's standard
//! deviation), both computed by torch's own calculate_gain and fans in
//! `tests/pytorch/init_reference.py`. These tests check the range and spread
//! of the values; `random_streams.rs` checks the values themselves (our
//! default generator is torch's).
// The constants are the digits torch printed, not approximations of ours.
#![allow(clippy::excessive_precision, clippy::approx_constant)]

use autograd::{manual_seed, BackwardError, Tensor};
use nn::init::{self, FanMode, Nonlinearity};

const GAINS: [(Nonlinearity, f64); 7] = [
    (Nonlinearity::Linear, 1.0),
    (Nonlinearity::Sigmoid, 1.0),
    (Nonlinearity::Tanh, 1.6666666666666667),
    (Nonlinearity::Relu, 1.4142135623730951),
    (Nonlinearity::LeakyRelu(0.01), 1.4141428569978354),
    (Nonlinearity::LeakyRelu(0.2), 1.3867504905630728),
    (Nonlinearity::Selu, 0.75),
];
const FANS: [(&[usize], (usize, usize)); 4] = [
    (&[512, 784], (784, 512)),
    (&[10, 512], (512, 10)),
    (&[16, 3, 5, 5], (75, 400)),
    (&[7, 2, 3], (6, 21)),
];
const KAIMING: [(&[usize], FanMode, Nonlinearity, f64, f64); 4] = [
    (
        &[256, 784],
        FanMode::FanIn,
        Nonlinearity::LeakyRelu(0.0),
        0.08748177652797065,
        0.05050762722761054,
    ),
    (
        &[256, 784],
        FanMode::FanIn,
        Nonlinearity::LeakyRelu(2.23606797749979),
        0.03571428571428571,
        0.020619652471058063,
    ),
    (
        &[784, 256],
        FanMode::FanOut,
        Nonlinearity::Relu,
        0.08748177652797065,
        0.05050762722761054,
    ),
    (
        &[64, 3, 5, 5],
        FanMode::FanIn,
        Nonlinearity::Tanh,
        0.33333333333333326,
        0.19245008972987523,
    ),
];
const XAVIER: [(&[usize], f64, f64, f64); 2] = [
    (&[256, 784], 1.0, 0.07595545253127499, 0.04385290096535146),
    (
        &[64, 3, 5, 5],
        1.4142135623730951,
        0.0846414739030318,
        0.048867777742522094,
    ),
];
const LINEAR_784_BOUND: f64 = 0.03571428571428571;

fn mean_and_std(v: &[f32]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().map(|&x| x as f64).sum::<f64>() / n;
    let var = v.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n;
    (mean, var.sqrt())
}

/// Every value within ±bound, the extremes near it, and the mean and spread
/// of a uniform (0 and bound / sqrt(3)), to 5 standard errors of `n` samples
/// (the generator is shared by this binary's tests, so which values a test
/// draws may change; these checks cannot).
fn assert_uniform(t: &Tensor, bound: f64, what: &str) {
    let v = t.to_vec();
    let n = v.len() as f64;
    let max = v.iter().fold(0.0f64, |m, &x| m.max(x.abs() as f64));
    // P(max |x| < (1 - 20/n) bound) is about e^-20.
    assert!(
        max <= bound && max > (1.0 - 20.0 / n) * bound,
        "{what}: max |x| {max}, bound {bound}"
    );
    let (mean, std) = mean_and_std(&v);
    let expected_std = bound / 3f64.sqrt();
    assert!(
        mean.abs() < 5.0 * expected_std / n.sqrt(),
        "{what}: mean {mean}"
    );
    // The sample std of a uniform has a relative standard error of sqrt(0.8 / (4n)).
    assert!(
        (std / expected_std - 1.0).abs() < 5.0 * (0.2 / n).sqrt(),
        "{what}: std {std}, expected {expected_std}"
    );
}

fn assert_normal(t: &Tensor, std: f64, what: &str) {
    let v = t.to_vec();
    let n = v.len() as f64;
    let (mean, sample_std) = mean_and_std(&v);
    assert!(mean.abs() < 5.0 * std / n.sqrt(), "{what}: mean {mean}");
    // Relative standard error of a normal's sample std: 1 / sqrt(2n).
    assert!(
        (sample_std / std - 1.0).abs() < 5.0 / (2.0 * n).sqrt(),
        "{what}: std {sample_std}, expected {std}"
    );
}

#[test]
fn gains_and_fans_are_pytorchs() {
    for (nonlinearity, gain) in GAINS {
        assert_eq!(init::calculate_gain(nonlinearity), gain, "{nonlinearity:?}");
    }
    for (shape, fans) in FANS {
        assert_eq!(
            init::calculate_fan_in_and_fan_out(&Tensor::zeros(shape)),
            fans,
            "{shape:?}"
        );
    }
}

#[test]
#[should_panic(expected = "fewer than 2 dimensions")]
fn fans_of_a_vector_panic() {
    init::calculate_fan_in_and_fan_out(&Tensor::zeros(&[5]));
}

#[test]
fn kaiming_and_xavier_draw_with_pytorchs_bounds_and_spreads() {
    manual_seed(3);
    for (shape, mode, nonlinearity, bound, std) in KAIMING {
        let what = format!("kaiming {shape:?} {mode:?} {nonlinearity:?}");
        assert_uniform(
            init::kaiming_uniform_(&Tensor::zeros(shape), mode, nonlinearity),
            bound,
            &what,
        );
        assert_normal(
            init::kaiming_normal_(&Tensor::zeros(shape), mode, nonlinearity),
            std,
            &what,
        );
    }
    for (shape, gain, bound, std) in XAVIER {
        let what = format!("xavier {shape:?} gain {gain}");
        assert_uniform(
            init::xavier_uniform_(&Tensor::zeros(shape), gain),
            bound,
            &what,
        );
        assert_normal(
            init::xavier_normal_(&Tensor::zeros(shape), gain),
            std,
            &what,
        );
    }
    let w = Tensor::zeros(&[512, 784]);
    assert_uniform(
        init::kaiming_uniform_(&w, FanMode::FanIn, Nonlinearity::LeakyRelu(5f64.sqrt())),
        LINEAR_784_BOUND,
        "nn.Linear's init",
    );
    assert_uniform(
        init::uniform_(&Tensor::zeros(&[100_000]), -0.5, 0.5),
        0.5,
        "uniform_",
    );
    let t = Tensor::zeros(&[100_000]);
    let (mean, std) = mean_and_std(&init::normal_(&t, 2.0, 0.5).to_vec());
    assert!(
        (mean - 2.0).abs() < 0.01 && (std - 0.5).abs() < 0.005,
        "normal_: {mean} {std}"
    );
}

#[test]
fn constant_fills_and_eye() {
    let t = Tensor::zeros(&[2, 3]);
    assert_eq!(init::constant_(&t, 0.25).to_vec(), vec![0.25; 6]);
    assert_eq!(init::ones_(&t).to_vec(), vec![1.0; 6]);
    assert_eq!(init::zeros_(&t).to_vec(), vec![0.0; 6]);
    let e = Tensor::zeros(&[3, 5]);
    init::eye_(&e);
    assert_eq!(e.to_vec(), Tensor::eye(3, 5).to_vec());
    // Through a view: the transposed storage gets the transposed identity.
    let base = Tensor::zeros(&[5, 3]);
    init::eye_(&base.t());
    assert_eq!(base.to_vec(), Tensor::eye(5, 3).to_vec());
    // Zero-element tensors are left alone, as PyTorch does (before it would
    // compute the fans, which a 1-D tensor has not).
    let empty = Tensor::zeros(&[0]);
    init::kaiming_uniform_(&empty, FanMode::FanIn, Nonlinearity::Relu);
    init::kaiming_normal_(&empty, FanMode::FanOut, Nonlinearity::Tanh);
    assert_eq!(empty.shape(), [0]);
}

/// As in PyTorch: a parameter that requires grad is filled in place (no
/// graph records it), and a graph that read its old values can no longer be
/// backpropagated.
#[test]
fn init_writes_a_grad_leaf_and_bumps_its_version() {
    let w = Tensor::ones(&[3, 2]).requires_grad_(true);
    let loss = w.mul(&w).sum();
    init::xavier_uniform_(&w, 1.0);
    assert!(w.requires_grad() && w.is_leaf());
    assert_ne!(w.to_vec(), vec![1.0; 6]);
    assert!(matches!(
        loss.backward(),
        Err(BackwardError::ModifiedInPlace { .. })
    ));
}

/// torch 2.15 raises "normal expects std >= 0.0, but found std -1" for
/// `normal_(t, 0, -1)` (and so `sparse_` with a negative std), and "uniform_
/// expects to return a [from, to) range, but found from=2 > to=1" for
/// `uniform_(t, 2, 1)`; `uniform_(t, 1, 1)` and `normal_(t, 0, 0)` run.
#[test]
fn bad_ranges_and_deviations_panic_as_pytorch_raises() {
    let t = || Tensor::zeros(&[3, 4]);
    let panics = |f: &dyn Fn()| std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).is_err();
    assert!(panics(&|| {
        init::normal_(&t(), 0.0, -1.0);
    }));
    assert!(panics(&|| {
        init::sparse_(&t(), 0.5, -1.0);
    }));
    assert!(panics(&|| {
        init::uniform_(&t(), 2.0, 1.0);
    }));
    assert_eq!(init::uniform_(&t(), 1.0, 1.0).to_vec(), vec![1.0; 12]);
    assert_eq!(init::normal_(&t(), 0.0, 0.0).to_vec(), vec![0.0; 12]);
}
