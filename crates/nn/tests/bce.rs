//! `binary_cross_entropy_with_logits` and `binary_cross_entropy` (and their
//! modules) against PyTorch's float32 numbers in `pytorch/bce_reference.json`,
//! made by `pytorch/bce_reference.py`: the loss and the gradients with respect
//! to input and target of every case, each reduction. Then finite
//! differences, a retained graph, and the errors.

use autograd::gradcheck::gradcheck;
use autograd::{no_grad, BackwardError, BackwardOptions, Tensor};
use nn::functional::{binary_cross_entropy, binary_cross_entropy_with_logits, Reduction};
use nn::{BCELoss, BCEWithLogitsLoss};
use serde_json::Value;

fn reference() -> Value {
    serde_json::from_str(include_str!("pytorch/bce_reference.json"))
        .expect("bce_reference.json is JSON")
}

/// `{"shape": [...], "data": [...]}`, infinities and NaN written as strings.
fn tensor(v: &Value) -> Tensor {
    let shape: Vec<usize> = v["shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_u64().unwrap() as usize)
        .collect();
    let data = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| match x {
            Value::String(s) => s.parse::<f32>().unwrap(),
            _ => x.as_f64().unwrap() as f32,
        })
        .collect();
    Tensor::from_vec(data, &shape)
}

/// Both computed in float32 by different code (libm against vectorized
/// kernels, our f64 sum against PyTorch's pairwise one): 2 ulps apart at
/// most when written (2e-7 relative), with room for another libm.
/// Infinities and NaNs must match exactly.
fn assert_close(what: &str, got: &Tensor, want: &Tensor) {
    assert_eq!(got.shape(), want.shape(), "{what}: shape");
    for (i, (g, w)) in got.to_vec().iter().zip(want.to_vec()).enumerate() {
        let ok = if w.is_finite() {
            (g - w).abs() <= 1e-6 * w.abs() + 1e-12
        } else {
            g == &w || (g.is_nan() && w.is_nan())
        };
        assert!(ok, "{what}[{i}]: got {g}, PyTorch gives {w}");
    }
}

fn reduction(case: &Value) -> Reduction {
    case["reduction"].as_str().unwrap().parse().unwrap()
}

fn optional(case: &Value, key: &str) -> Option<Tensor> {
    case.get(key).map(tensor)
}

/// Backpropagate `loss` as the script does: from 1, or from `grad_output`
/// for an unreduced loss.
fn backward(case: &Value, loss: &Tensor) {
    match case.get("grad_output") {
        Some(g) => loss.backward_with(tensor(g)).unwrap(),
        None => loss.backward().unwrap(),
    }
}

fn check_case(op: &str, case: &Value, loss: &Tensor, x: &Tensor, y: &Tensor) -> String {
    let what = format!(
        "{op} {} ({})",
        case["name"].as_str().unwrap(),
        case["reduction"].as_str().unwrap()
    );
    assert_close(&format!("{what}: loss"), loss, &tensor(&case["loss"]));
    backward(case, loss);
    let dx = x.grad().unwrap();
    let dy = y.grad().unwrap();
    assert_close(
        &format!("{what}: input grad"),
        &dx,
        &tensor(&case["input_grad"]),
    );
    assert_close(
        &format!("{what}: target grad"),
        &dy,
        &tensor(&case["target_grad"]),
    );
    what
}

#[test]
fn bce_with_logits_matches_pytorch() {
    let r = reference();
    let cases = r["binary_cross_entropy_with_logits"].as_array().unwrap();
    for case in cases {
        let x = tensor(&case["input"]).requires_grad_(true);
        let y = tensor(&case["target"]).requires_grad_(true);
        let (w, pw) = (optional(case, "weight"), optional(case, "pos_weight"));
        let mut loss_fn = BCEWithLogitsLoss::new().reduction(reduction(case));
        if let Some(w) = &w {
            loss_fn = loss_fn.weight(w.clone());
        }
        if let Some(pw) = &pw {
            loss_fn = loss_fn.pos_weight(pw.clone());
        }
        let loss = loss_fn.forward(&x, &y);
        let direct =
            binary_cross_entropy_with_logits(&x, &y, w.as_ref(), pw.as_ref(), reduction(case));
        assert_eq!(loss.to_vec(), direct.to_vec(), "module and function");
        let what = check_case("bce_with_logits", case, &loss, &x, &y);
        // ±100 and ±1e4 logits: exp(1e4) is inf in f32, the loss must not be.
        for t in [loss, x.grad().unwrap(), y.grad().unwrap()] {
            assert!(t.to_vec().iter().all(|v| v.is_finite()), "{what}: {t:?}");
        }
    }
    assert_eq!(cases.len(), 36);
}

#[test]
fn bce_matches_pytorch() {
    let r = reference();
    let cases = r["binary_cross_entropy"].as_array().unwrap();
    for case in cases {
        let x = tensor(&case["input"]).requires_grad_(true);
        let y = tensor(&case["target"]).requires_grad_(true);
        let w = optional(case, "weight");
        let mut loss_fn = BCELoss::new().reduction(reduction(case));
        if let Some(w) = &w {
            loss_fn = loss_fn.weight(w.clone());
        }
        let loss = loss_fn.forward(&x, &y);
        let direct = binary_cross_entropy(&x, &y, w.as_ref(), reduction(case));
        assert_eq!(loss.to_vec(), direct.to_vec(), "module and function");
        check_case("bce", case, &loss, &x, &y);
        // Probabilities of exactly 0 and 1: the -100 clamp keeps the loss finite.
        assert!(loss.to_vec().iter().all(|v| v.is_finite()));
    }
    assert_eq!(cases.len(), 18);
}

#[test]
fn small_losses_keep_their_digits() {
    // log1p, not log(1 + ·): a logit of 20 on a positive costs
    // log1p(exp(-20)) = 2.0611537e-9 (PyTorch: 2.06115369216775e-09), not 0.
    let loss = binary_cross_entropy_with_logits(
        &Tensor::scalar(20.0),
        &Tensor::scalar(1.0),
        None,
        None,
        Reduction::Sum,
    );
    assert!((loss.item() as f64 / 2.06115369216775e-09 - 1.0).abs() < 1e-6);
    // And 1 - p by log1p(-p): p = 1e-10 on a negative costs 1e-10 (PyTorch:
    // 1.000000013351432e-10), where log(1 - p) rounds to 0.
    let p = Tensor::scalar(1e-10);
    let loss = binary_cross_entropy(&p, &Tensor::scalar(0.0), None, Reduction::Mean);
    assert!((loss.item() as f64 / 1.000000013351432e-10 - 1.0).abs() < 1e-6);
}

#[test]
fn only_the_target_may_require_grad() {
    // PyTorch differentiates both losses with respect to the target alone
    // too; the input then gets no gradient.
    let x = Tensor::from_vec(vec![0.5, -2.0], &[2]);
    let y = Tensor::from_vec(vec![0.25, 1.0], &[2]).requires_grad_(true);
    binary_cross_entropy_with_logits(&x, &y, None, None, Reduction::Sum)
        .backward()
        .unwrap();
    // d/dy = -x without pos_weight.
    assert_eq!(y.grad().unwrap().to_vec(), vec![-0.5, 2.0]);
    assert!(x.grad().is_none());
}

#[test]
fn gradients_agree_with_finite_differences() {
    let x = Tensor::from_vec(
        (0..12).map(|i| 2.5 * (i as f32 * 0.9).sin()).collect(),
        &[4, 3],
    );
    let y = Tensor::from_vec(
        (0..12)
            .map(|i| 0.5 + 0.4 * (i as f32 * 1.7).cos())
            .collect(),
        &[4, 3],
    );
    let w = Tensor::from_vec(vec![1.0, 0.5, 2.0, 1.5], &[4, 1]);
    let pw = Tensor::from_vec(vec![3.0, 0.5, 1.0], &[3]);
    for r in [Reduction::Mean, Reduction::Sum, Reduction::None] {
        gradcheck(
            |t| binary_cross_entropy_with_logits(&t[0], &t[1], Some(&w), Some(&pw), r),
            &[x.clone(), y.clone()],
        )
        .unwrap();
        gradcheck(
            |t| binary_cross_entropy_with_logits(&t[0], &t[1], None, None, r),
            &[x.clone(), y.clone()],
        )
        .unwrap();
        // Probabilities in [0.1, 0.9], so that the steps stay inside [0, 1].
        let p = x.sigmoid().mul_scalar(0.8).add_scalar(0.1);
        gradcheck(
            |t| binary_cross_entropy(&t[0], &t[1], Some(&w), r),
            &[p, y.clone()],
        )
        .unwrap();
    }
}

#[test]
fn a_retained_graph_runs_the_rule_again() {
    let x = Tensor::from_vec(vec![0.5, -1.0, 3.0], &[3]).requires_grad_(true);
    let y = Tensor::from_vec(vec![1.0, 0.0, 0.5], &[3]);
    let pw = Tensor::scalar(2.0);
    for bce in [
        |x: &Tensor, y: &Tensor, pw: &Tensor| {
            binary_cross_entropy_with_logits(x, y, None, Some(pw), Reduction::Mean)
        },
        |x: &Tensor, y: &Tensor, _: &Tensor| {
            binary_cross_entropy(&x.sigmoid(), y, None, Reduction::Mean)
        },
    ] {
        x.zero_grad_();
        let loss = bce(&x, &y, &pw);
        let retain = BackwardOptions {
            retain_graph: true,
            ..Default::default()
        };
        loss.backward_opts(retain).unwrap();
        let once = x.grad().unwrap().to_vec();
        loss.backward().unwrap();
        let twice: Vec<f32> = once.iter().map(|g| 2.0 * g).collect();
        assert_eq!(x.grad().unwrap().to_vec(), twice);
    }
}

#[test]
fn a_weight_changed_before_backward_is_an_error() {
    // The rule uses the weights' values at the forward: changing them in
    // place in between is PyTorch's "modified by an inplace operation".
    let x = Tensor::from_vec(vec![0.5, -1.0], &[2]).requires_grad_(true);
    let y = Tensor::from_vec(vec![1.0, 0.0], &[2]);
    let pw = Tensor::from_vec(vec![2.0, 2.0], &[2]);
    let loss = binary_cross_entropy_with_logits(&x, &y, None, Some(&pw), Reduction::Mean);
    pw.with_data_mut(|v| v[0] = 5.0);
    assert!(matches!(
        loss.backward(),
        Err(BackwardError::ModifiedInPlace { .. })
    ));
}

#[test]
fn weights_requiring_grad_are_fine_without_grad_mode() {
    // PyTorch refuses them only when it would record the op.
    let w = Tensor::ones(&[2]).requires_grad_(true);
    let loss = no_grad(|| {
        binary_cross_entropy_with_logits(
            &Tensor::zeros(&[2]),
            &Tensor::zeros(&[2]),
            Some(&w),
            Some(&w),
            Reduction::Mean,
        )
    });
    assert!((loss.item() - 2f32.ln()).abs() < 1e-6);
}

#[test]
fn empty_input_has_nan_mean_and_zero_sum() {
    let e = Tensor::zeros(&[0, 3]);
    let pw = Tensor::ones(&[3]);
    let bce = |r| binary_cross_entropy_with_logits(&e, &e, None, Some(&pw), r).to_vec();
    assert!(bce(Reduction::Mean)[0].is_nan());
    assert_eq!(bce(Reduction::Sum), vec![0.0]);
    assert!(binary_cross_entropy(&e, &e, None, Reduction::Mean)
        .item()
        .is_nan());
}

#[test]
fn losses_print_their_options() {
    let loss_fn = BCEWithLogitsLoss::default().reduction(Reduction::Sum);
    let text = format!("{loss_fn:?}");
    assert!(text.starts_with("BCEWithLogitsLoss {") && text.contains("reduction: Sum"));
    assert!(format!("{:?}", BCELoss::new()).starts_with("BCELoss {"));
}

#[test]
#[should_panic(
    expected = "binary_cross_entropy_with_logits: input of shape [3, 1] and target of shape [3] differ"
)]
fn bce_with_logits_refuses_other_shapes() {
    BCEWithLogitsLoss::new().forward(&Tensor::zeros(&[3, 1]), &Tensor::zeros(&[3]));
}

#[test]
#[should_panic(
    expected = "binary_cross_entropy: input of shape [3, 1] and target of shape [3] differ"
)]
fn bce_refuses_other_shapes() {
    BCELoss::new().forward(&Tensor::zeros(&[3, 1]), &Tensor::zeros(&[3]));
}

#[test]
#[should_panic(
    expected = "binary_cross_entropy_with_logits: pos_weight of shape [2] does not broadcast to the input's shape [4, 3]"
)]
fn pos_weight_must_broadcast() {
    let pw = Tensor::ones(&[2]);
    binary_cross_entropy_with_logits(
        &Tensor::zeros(&[4, 3]),
        &Tensor::zeros(&[4, 3]),
        None,
        Some(&pw),
        Reduction::Mean,
    );
}

#[test]
#[should_panic(
    expected = "binary_cross_entropy: weight of shape [2, 3] does not broadcast to the input's shape [3]"
)]
fn weight_cannot_grow_the_input() {
    // PyTorch: "output with shape [3] doesn't match the broadcast shape [2, 3]".
    let w = Tensor::ones(&[2, 3]);
    binary_cross_entropy(
        &Tensor::zeros(&[3]),
        &Tensor::zeros(&[3]),
        Some(&w),
        Reduction::Sum,
    );
}

#[test]
#[should_panic(
    expected = "binary_cross_entropy_with_logits: weight requires grad, but the loss is not differentiable"
)]
fn weight_requiring_grad_panics() {
    let w = Tensor::ones(&[2]).requires_grad_(true);
    binary_cross_entropy_with_logits(
        &Tensor::zeros(&[2]),
        &Tensor::zeros(&[2]),
        Some(&w),
        None,
        Reduction::Mean,
    );
}

#[test]
fn bce_refuses_values_outside_0_1() {
    let inputs = [
        ("input", 1.5, "got 1.5 at flat index 1"),
        ("input", -0.1, "got -0.1 at flat index 1"),
        ("input", f32::NAN, "got NaN at flat index 1"),
        ("target", 1.5, "got 1.5 at flat index 1"),
    ];
    for (what, bad, detail) in inputs {
        let good = Tensor::from_vec(vec![0.5, 0.5], &[2]);
        let bad_t = Tensor::from_vec(vec![0.5, bad], &[2]);
        let (p, y) = if what == "input" {
            (bad_t, good)
        } else {
            (good, bad_t)
        };
        let err = std::panic::catch_unwind(|| {
            binary_cross_entropy(&p, &y, None, Reduction::Mean);
        })
        .expect_err("a value outside [0, 1] panics");
        let message = err.downcast_ref::<String>().unwrap();
        let want = format!(
            "binary_cross_entropy: all elements of {what} should be between 0 and 1, {detail}"
        );
        assert_eq!(message, &want);
    }
}
