//! `nn::init`'s `trunc_normal_`, `orthogonal_`, `sparse_` and `dirac_`
//! against torch.nn.init. `dirac_` is deterministic: its values are torch's,
//! from `tests/pytorch/init_more_reference.json`. The others draw from the
//! default generator (torch's), but not all as torch does (`orthogonal_`
//! factors in f64, `sparse_` picks rows by its own permutation), so their
//! values differ from torch's; what they
//! must share is checked here: orthogonality and scale, the truncated
//! normal's window and moments (those computed by the script from the
//! standard formulas), the count of zeros per column. Their deterministic
//! parts (the QR steps, the sampler fed torch's own draws) are checked
//! against torch's numbers by the unit tests in `src/init.rs`.
//!
//! The default generator is shared by this binary's tests, which run in
//! parallel, so which values a test draws may change: no check depends on
//! them (the statistical ones allow 6 standard errors).

use autograd::{manual_seed, BackwardError, Tensor};
use nn::init;
use serde_json::Value;

fn reference() -> Value {
    serde_json::from_str(include_str!("pytorch/init_more_reference.json"))
        .expect("init_more_reference.json is JSON")
}

fn mean_and_std(v: &[f32]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().map(|&x| x as f64).sum::<f64>() / n;
    let var = v.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n;
    (mean, var.sqrt())
}

/// `w` seen as `[rows, cols]` times its transpose on the short side: `gain^2 I`.
fn assert_semi_orthogonal(w: &Tensor, gain: f64) {
    let rows = w.shape()[0];
    let cols = w.numel() / rows;
    let m = w.reshape(&[rows, cols]);
    let (gram, k) = if rows < cols {
        (m.matmul(&m.t()), rows)
    } else {
        (m.t().matmul(&m), cols)
    };
    let gram = gram.to_vec();
    for i in 0..k {
        for j in 0..k {
            let expected = if i == j { gain * gain } else { 0.0 };
            let got = gram[i * k + j] as f64;
            assert!(
                (got - expected).abs() < 1e-5 * gain * gain * (cols.max(rows) as f64).sqrt(),
                "{:?} gain {gain}: gram[{i}][{j}] = {got}, expected {expected}",
                w.shape()
            );
        }
    }
}

#[test]
fn orthogonal_gives_orthonormal_rows_or_columns_times_gain() {
    let cases: [(&[usize], f64); 8] = [
        (&[5, 5], 1.0),
        (&[64, 64], 1.0),
        (&[8, 3], 2.0),
        (&[3, 8], 0.5),
        (&[16, 4, 3, 3], 2f64.sqrt()), // a conv weight: [16, 36]
        (&[40, 2, 3], 1.0),            // tall after flattening: [40, 6]
        (&[1, 7], 1.0),
        (&[7, 1], 3.0),
    ];
    for (shape, gain) in cases {
        let w = Tensor::zeros(shape).requires_grad_(true);
        init::orthogonal_(&w, gain);
        assert_eq!(w.shape(), shape);
        assert_semi_orthogonal(&w, gain);
    }
    // Random: two draws differ, and Q's diagonal has both signs (all 32 of
    // one sign is about as likely as 2^-31 for a uniformly random Q).
    let (a, b) = (Tensor::zeros(&[32, 32]), Tensor::zeros(&[32, 32]));
    init::orthogonal_(&a, 1.0);
    init::orthogonal_(&b, 1.0);
    assert_ne!(a.to_vec(), b.to_vec());
    let diag: Vec<f32> = (0..32).map(|i| a.to_vec()[i * 33]).collect();
    assert!(diag.iter().any(|&d| d > 0.0) && diag.iter().any(|&d| d < 0.0));
    // PyTorch leaves a zero-element tensor alone.
    init::orthogonal_(&Tensor::zeros(&[0, 3]), 1.0);
}

#[test]
#[should_panic(expected = "only tensors with 2 or more dimensions are supported")]
fn orthogonal_of_a_vector_panics() {
    init::orthogonal_(&Tensor::zeros(&[4]), 1.0);
}

#[test]
fn trunc_normal_stays_in_the_window_with_the_truncated_moments() {
    manual_seed(11);
    let n = 200_000;
    for case in reference()["trunc_normal"].as_array().unwrap() {
        let [mean, std, a, b, truncated_mean, truncated_std] =
            ["mean", "std", "a", "b", "truncated_mean", "truncated_std"]
                .map(|k| case[k].as_f64().unwrap());
        let what = format!("trunc_normal_({mean}, {std}, {a}, {b})");
        let t = Tensor::zeros(&[n]);
        let v = init::trunc_normal_(&t, mean, std, a, b).to_vec();
        assert!(
            v.iter().all(|&x| a as f32 <= x && x <= b as f32),
            "{what}: a value outside the window"
        );
        let (m, s) = mean_and_std(&v);
        let n = n as f64;
        assert!(
            (m - truncated_mean).abs() < 6.0 * truncated_std / n.sqrt(),
            "{what}: mean {m}, expected {truncated_mean}"
        );
        // The sample std's relative standard error is sqrt((kurtosis - 1) / 4n);
        // a truncated normal's kurtosis is below 9 (the exponential's, its
        // limit far in a tail).
        assert!(
            (s / truncated_std - 1.0).abs() < 6.0 * (2.0 / n).sqrt(),
            "{what}: std {s}, expected {truncated_std}"
        );
    }
    // An unbounded window is the normal itself.
    let t = Tensor::zeros(&[100_000]);
    init::trunc_normal_(&t, 1.0, 2.0, f64::NEG_INFINITY, f64::INFINITY);
    let (m, s) = mean_and_std(&t.to_vec());
    assert!((m - 1.0).abs() < 6.0 * 2.0 / 316.0 && (s / 2.0 - 1.0).abs() < 6.0 / 447.0);
    // a == b: every value is a, as in PyTorch.
    let t = Tensor::zeros(&[10]);
    assert_eq!(
        init::trunc_normal_(&t, 0.0, 1.0, 0.5, 0.5).to_vec(),
        vec![0.5; 10]
    );
}

#[test]
#[should_panic(expected = "std must be positive")]
fn trunc_normal_with_zero_std_panics() {
    init::trunc_normal_(&Tensor::zeros(&[3]), 0.0, 0.0, -2.0, 2.0);
}

#[test]
#[should_panic(expected = "a <= b")]
fn trunc_normal_with_reversed_bounds_panics() {
    init::trunc_normal_(&Tensor::zeros(&[3]), 0.0, 1.0, 2.0, -2.0);
}

#[test]
#[should_panic(expected = "needs finite bounds")]
fn trunc_normal_far_in_an_unbounded_tail_panics() {
    init::trunc_normal_(&Tensor::zeros(&[3]), 0.0, 1.0, 3.0, f64::INFINITY);
}

#[test]
fn sparse_zeroes_ceil_sparsity_rows_of_every_column() {
    // (rows, cols, sparsity, zeros per column: Python's math.ceil(sparsity * rows);
    // 0.07 * 100 is 7.000000000000001 in f64, so 8, as in PyTorch).
    let cases = [
        (50, 40, 0.1, 5),
        (10, 6, 0.33, 4),
        (100, 5, 0.07, 8),
        (7, 3, 0.0, 0),
        (7, 3, 1.0, 7),
        (7, 3, 1.5, 7),
        (3, 4, 0.01, 1),
    ];
    for (rows, cols, sparsity, zeros) in cases {
        let w = Tensor::zeros(&[rows, cols]).requires_grad_(true);
        let v = init::sparse_(&w, sparsity, 0.01).to_vec();
        for c in 0..cols {
            let count = (0..rows).filter(|&r| v[r * cols + c] == 0.0).count();
            assert_eq!(
                count, zeros,
                "[{rows}, {cols}] sparsity {sparsity}, column {c}"
            );
        }
    }
    // The zeros are chosen per column, the rest is N(0, std^2).
    let (rows, cols) = (1000, 100);
    let w = Tensor::zeros(&[rows, cols]);
    let v = init::sparse_(&w, 0.2, 0.05).to_vec();
    let zero_rows =
        |c: usize| -> Vec<usize> { (0..rows).filter(|&r| v[r * cols + c] == 0.0).collect() };
    assert!((1..cols).any(|c| zero_rows(c) != zero_rows(0)));
    let nonzero: Vec<f32> = v.iter().copied().filter(|&x| x != 0.0).collect();
    assert_eq!(nonzero.len(), 800 * cols);
    let (m, s) = mean_and_std(&nonzero);
    let n = nonzero.len() as f64;
    assert!(m.abs() < 6.0 * 0.05 / n.sqrt(), "mean {m}");
    assert!((s / 0.05 - 1.0).abs() < 6.0 / (2.0 * n).sqrt(), "std {s}");
}

#[test]
#[should_panic(expected = "only tensors with 2 dimensions are supported")]
fn sparse_of_a_3d_tensor_panics() {
    init::sparse_(&Tensor::zeros(&[2, 3, 4]), 0.5, 0.01);
}

#[test]
#[should_panic(expected = "sparsity must be a finite fraction")]
fn sparse_with_negative_sparsity_panics() {
    init::sparse_(&Tensor::zeros(&[4, 3]), -0.1, 0.01);
}

#[test]
fn dirac_is_torchs() {
    for case in reference()["dirac"].as_array().unwrap() {
        let shape: Vec<usize> = case["shape"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_u64().unwrap() as usize)
            .collect();
        let groups = case["groups"].as_u64().unwrap() as usize;
        let expected: Vec<f32> = case["expected"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap() as f32)
            .collect();
        // Every element is overwritten, whatever was there.
        let w = Tensor::full(&shape, 7.0).requires_grad_(true);
        assert_eq!(
            init::dirac_(&w, groups).to_vec(),
            expected,
            "{shape:?} groups {groups}"
        );
    }
}

#[test]
#[should_panic(expected = "only tensors with 3, 4, or 5 dimensions are supported")]
fn dirac_of_a_matrix_panics() {
    init::dirac_(&Tensor::zeros(&[3, 3]), 1);
}

#[test]
#[should_panic(expected = "dim 0 must be divisible by groups")]
fn dirac_with_groups_not_dividing_out_panics() {
    init::dirac_(&Tensor::zeros(&[6, 2, 3]), 4);
}

#[test]
#[should_panic(expected = "dim 0 must be divisible by groups")]
fn dirac_with_zero_groups_panics() {
    init::dirac_(&Tensor::zeros(&[6, 2, 3]), 0);
}

/// As the other fills: a parameter that requires grad is written in place,
/// unrecorded, and a graph that read its old values can no longer be
/// backpropagated.
#[test]
fn each_writes_a_grad_leaf_and_bumps_its_version() {
    fn check(shape: &[usize], fill: impl Fn(&Tensor)) {
        let w = Tensor::full(shape, 5.0).requires_grad_(true);
        let loss = w.mul(&w).sum();
        fill(&w);
        assert!(w.requires_grad() && w.is_leaf() && w.grad().is_none());
        assert!(w.to_vec().iter().all(|&v| v != 5.0));
        assert!(matches!(
            loss.backward(),
            Err(BackwardError::ModifiedInPlace { .. })
        ));
    }
    check(&[4, 3], |w| {
        init::trunc_normal_(w, 0.0, 1.0, -2.0, 2.0);
    });
    check(&[4, 3], |w| {
        init::orthogonal_(w, 1.0);
    });
    check(&[4, 3], |w| {
        init::sparse_(w, 0.5, 0.01);
    });
    check(&[2, 2, 3], |w| {
        init::dirac_(w, 1);
    });
}
