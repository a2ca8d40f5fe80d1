//! Loss cases beyond the PyTorch reference file, with expectations derived by
//! hand from PyTorch's documented formulas (each in a comment), or printed by
//! PyTorch from a script in `tests/pytorch/` (named at the test).
//!
//! Logits are chosen so that softmax is a simple fraction: a row
//! `[0, ln 2, ln 3]` has softmax `[1/6, 2/6, 3/6]`.

use autograd::gradcheck::gradcheck;
use autograd::Tensor;
use nn::functional::{cross_entropy, nll_loss, Reduction};
use nn::{CrossEntropyLoss, NLLLoss};

const LN2: f64 = std::f64::consts::LN_2;

fn ln(x: f64) -> f64 {
    x.ln()
}

fn assert_close(what: &str, got: &[f32], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g as f64 - w).abs() <= 1e-6 * w.abs().max(1.0),
            "{what}[{i}]: got {g}, expected {w}"
        );
    }
}

/// Rows with softmax [1/6, 1/3, 1/2], [1/3, 1/3, 1/3], [1/2, 1/6, 1/3], [1/3, 1/3, 1/3].
fn logits() -> Tensor {
    let (l2, l3) = (LN2 as f32, 3f32.ln());
    Tensor::from_vec(
        vec![0.0, l2, l3, 0.0, 0.0, 0.0, l3, 0.0, l2, 0.0, 0.0, 0.0],
        &[4, 3],
    )
}

/// Targets 2, 0, 1 and an ignored one (PyTorch's default ignore_index, -100).
fn targets() -> Tensor {
    Tensor::from_vec(vec![2.0, 0.0, 1.0, -100.0], &[4])
}

fn weight() -> Tensor {
    Tensor::from_vec(vec![0.5, 2.0, 1.0], &[3])
}

#[test]
fn weighted_cross_entropy_with_ignored_target() {
    // loss_i = -w[y_i] * log p[i, y_i]:
    //   row 0: y=2, p=1/2, w=1   -> ln 2
    //   row 1: y=0, p=1/3, w=0.5 -> 0.5 ln 3
    //   row 2: y=1, p=1/6, w=2   -> 2 ln 6
    //   row 3: ignored           -> 0
    let none = [LN2, 0.5 * ln(3.0), 2.0 * ln(6.0), 0.0];
    let sum: f64 = none.iter().sum();
    // The mean divides by the weights of the rows not ignored: 1 + 0.5 + 2.
    let mean = sum / 3.5;

    let ce = |r| cross_entropy(&logits(), &targets(), Some(&weight()), -100, r, 0.0);
    assert_close("none", &ce(Reduction::None).to_vec(), &none);
    assert_close("sum", &ce(Reduction::Sum).to_vec(), &[sum]);
    assert_close("mean", &ce(Reduction::Mean).to_vec(), &[mean]);

    // d(mean)/dx[i] = w[y_i] * (p_i - onehot(y_i)) / 3.5, and 0 for the ignored row.
    let x = logits().requires_grad_(true);
    let loss_fn = CrossEntropyLoss::new().weight(weight());
    loss_fn.forward(&x, &targets()).backward().unwrap();
    let grad: Vec<f64> = [
        [1.0 / 6.0, 1.0 / 3.0, 0.5 - 1.0].map(|g| 1.0 * g),
        [1.0 / 3.0 - 1.0, 1.0 / 3.0, 1.0 / 3.0].map(|g| 0.5 * g),
        [0.5, 1.0 / 6.0 - 1.0, 1.0 / 3.0].map(|g| 2.0 * g),
        [0.0; 3],
    ]
    .iter()
    .flatten()
    .map(|g| g / 3.5)
    .collect();
    assert_close("grad", &x.grad().unwrap().to_vec(), &grad);
}

#[test]
fn ignore_index_can_be_a_real_class() {
    // ignore_index = 1: rows whose target is 1 are skipped. Targets 2, 0, 1, 1:
    // row 0 -> ln 2, row 1 -> ln 3, rows 2 and 3 ignored; mean over 2 rows.
    let t = Tensor::from_vec(vec![2.0, 0.0, 1.0, 1.0], &[4]);
    let loss = NLLLoss::new()
        .ignore_index(1)
        .forward(&logits().log_softmax(1), &t);
    assert_close("mean", &loss.to_vec(), &[(LN2 + ln(3.0)) / 2.0]);
    let sum = cross_entropy(&logits(), &t, None, 1, Reduction::Sum, 0.0);
    assert_close("sum", &sum.to_vec(), &[LN2 + ln(3.0)]);
}

#[test]
fn mean_of_only_ignored_targets_is_nan_as_in_pytorch() {
    // 0 / 0: PyTorch returns nan for a mean over no element.
    let t = Tensor::from_vec(vec![-100.0; 4], &[4]);
    assert!(
        cross_entropy(&logits(), &t, None, -100, Reduction::Mean, 0.0)
            .item()
            .is_nan()
    );
    assert_eq!(
        cross_entropy(&logits(), &t, None, -100, Reduction::Sum, 0.0).item(),
        0.0
    );
    // Nothing depends on the input, so PyTorch's gradient is zero (not the
    // NaN of 0 * (1 / 0)): one optimizer step on such a batch changes nothing.
    for smoothing in [0.0, 0.2] {
        for weight in [None, Some(weight())] {
            let x = logits().requires_grad_(true);
            let loss = cross_entropy(&x, &t, weight.as_ref(), -100, Reduction::Mean, smoothing);
            assert!(loss.item().is_nan());
            loss.backward().unwrap();
            let what = format!("cross_entropy grad, smoothing {smoothing}, weight {weight:?}");
            assert_close(&what, &x.grad().unwrap().to_vec(), &[0.0; 12]);
        }
    }
    let x = logits().log_softmax(1).detach().requires_grad_(true);
    let loss = nll_loss(&x, &t, None, -100, Reduction::Mean);
    assert!(loss.item().is_nan());
    loss.backward().unwrap();
    assert_close("nll_loss grad", &x.grad().unwrap().to_vec(), &[0.0; 12]);
    // Targets that are not ignored but weigh 0 in all: PyTorch's gradient is
    // NaN at the picked entries (-0 * 1/0) and 0 elsewhere.
    let x = logits().log_softmax(1).detach().requires_grad_(true);
    let t = Tensor::from_vec(vec![1.0, 1.0, 2.0, 2.0], &[4]);
    let w = Tensor::from_vec(vec![1.0, 0.0, 0.0], &[3]);
    let loss = nll_loss(&x, &t, Some(&w), -100, Reduction::Mean);
    assert!(loss.item().is_nan());
    loss.backward().unwrap();
    let nan_at: Vec<bool> = x
        .grad()
        .unwrap()
        .to_vec()
        .iter()
        .map(|g| g.is_nan())
        .collect();
    let picked = [1, 4, 8, 11];
    assert_eq!(
        nan_at,
        (0..12).map(|i| picked.contains(&i)).collect::<Vec<_>>()
    );
}

#[test]
fn label_smoothing_with_weight_and_ignore_index() {
    // PyTorch (aten cross_entropy_loss_label_smoothing):
    //   (1-ε) * nll + ε/C * smooth, smooth_i = -Σ_c w[c] log p[i, c] (0 if ignored),
    //   both reduced alike; the mean divides both by Σ w[y_i] over rows not ignored.
    let eps = 0.3;
    let nll = [LN2, 0.5 * ln(3.0), 2.0 * ln(6.0), 0.0];
    // w = [0.5, 2, 1]:
    //   row 0: p = [1/6, 1/3, 1/2] -> 0.5 ln 6 + 2 ln 3 + ln 2
    //   row 1: p = 1/3 each        -> 3.5 ln 3
    //   row 2: p = [1/2, 1/6, 1/3] -> 0.5 ln 2 + 2 ln 6 + ln 3
    let smooth = [
        0.5 * ln(6.0) + 2.0 * ln(3.0) + LN2,
        3.5 * ln(3.0),
        0.5 * LN2 + 2.0 * ln(6.0) + ln(3.0),
        0.0,
    ];
    let none: Vec<f64> = nll
        .iter()
        .zip(&smooth)
        .map(|(n, s)| (1.0 - eps) * n + eps / 3.0 * s)
        .collect();
    let sum: f64 = none.iter().sum();
    let ce = |r| cross_entropy(&logits(), &targets(), Some(&weight()), -100, r, eps as f32);
    assert_close("none", &ce(Reduction::None).to_vec(), &none);
    assert_close("sum", &ce(Reduction::Sum).to_vec(), &[sum]);
    assert_close("mean", &ce(Reduction::Mean).to_vec(), &[sum / 3.5]);
}

#[test]
fn class_probability_targets() {
    // Row 0: logits [0, 0]    -> p = [1/2, 1/2], target [0.25, 0.75]
    // Row 1: logits [0, ln 3] -> p = [1/4, 3/4], target [1, 0]
    // loss_i = -Σ_c w[c] t[i, c] log p[i, c], w = [2, 1]:
    //   row 0: (2 * 0.25 + 0.75) ln 2 = 1.25 ln 2;  row 1: 2 ln 4 = 4 ln 2
    // The mean is over rows (2), not over weights.
    let x = Tensor::from_vec(vec![0.0, 0.0, 0.0, 3f32.ln()], &[2, 2]);
    let t = Tensor::from_vec(vec![0.25, 0.75, 1.0, 0.0], &[2, 2]);
    let w = Tensor::from_vec(vec![2.0, 1.0], &[2]);
    let ce = |r, eps| cross_entropy(&x, &t, Some(&w), -100, r, eps);
    assert_close(
        "none",
        &ce(Reduction::None, 0.0).to_vec(),
        &[1.25 * LN2, 4.0 * LN2],
    );
    assert_close(
        "mean",
        &ce(Reduction::Mean, 0.0).to_vec(),
        &[5.25 * LN2 / 2.0],
    );
    // ε = 0.2, C = 2: targets become t * 0.8 + 0.1 = [0.3, 0.7] and [0.9, 0.1]:
    //   row 0: (2 * 0.3 + 0.7) ln 2 = 1.3 ln 2
    //   row 1: 2 * 0.9 * ln 4 - 0.1 * ln(3/4) = 3.6 ln 2 - 0.1 ln 0.75
    let row1 = 3.6 * LN2 - 0.1 * ln(0.75);
    assert_close(
        "smoothed",
        &ce(Reduction::Sum, 0.2).to_vec(),
        &[1.3 * LN2 + row1],
    );
}

#[test]
fn one_hot_probabilities_equal_class_indices() {
    // Without weights, one-hot probability targets are the same loss as indices,
    // with or without label smoothing (PyTorch documents both forms as equal).
    let x = Tensor::from_vec(vec![0.3, -1.2, 2.0, 0.7, 0.1, -0.4], &[2, 3]);
    let idx = Tensor::from_vec(vec![2.0, 0.0], &[2]);
    let onehot = Tensor::from_vec(vec![0.0, 0.0, 1.0, 1.0, 0.0, 0.0], &[2, 3]);
    for eps in [0.0, 0.25] {
        let a = cross_entropy(&x, &idx, None, -100, Reduction::None, eps).to_vec();
        let b = cross_entropy(&x, &onehot, None, -100, Reduction::None, eps).to_vec();
        assert_close(
            "one-hot",
            &a,
            &b.iter().map(|&v| v as f64).collect::<Vec<_>>(),
        );
    }
}

#[test]
fn spatial_targets_equal_the_flattened_loss() {
    // [N, C, d] logits with [N, d] targets are [N*d, C] rows with [N*d] targets.
    let x = Tensor::from_vec(
        (0..12).map(|i| (i as f32 * 0.37).sin()).collect(),
        &[2, 3, 2],
    );
    let t = Tensor::from_vec(vec![0.0, 2.0, 1.0, -100.0], &[2, 2]);
    let w = weight();
    let rows = x.permute(&[0, 2, 1]).contiguous().reshape(&[4, 3]);
    for r in [Reduction::None, Reduction::Mean] {
        let a = cross_entropy(&x, &t, Some(&w), -100, r, 0.1);
        let b = cross_entropy(&rows, &t.reshape(&[4]), Some(&w), -100, r, 0.1);
        assert_eq!(
            a.shape(),
            if r == Reduction::None {
                &[2, 2][..]
            } else {
                &[][..]
            }
        );
        let want: Vec<f64> = b.to_vec().iter().map(|&v| v as f64).collect();
        assert_close("spatial", &a.to_vec(), &want);
    }
}

#[test]
fn unbatched_input_has_no_batch_dim() {
    // logits [C] with a 0-d target: loss of one sample, `none` gives a 0-d tensor.
    let x = Tensor::from_vec(vec![0.0, 0.0], &[2]);
    let loss = cross_entropy(&x, &Tensor::scalar(1.0), None, -100, Reduction::None, 0.0);
    assert_eq!(loss.shape(), &[] as &[usize]);
    assert_close("unbatched", &loss.to_vec(), &[LN2]);
}

#[test]
fn gradients_agree_with_finite_differences() {
    let x = Tensor::from_vec((0..12).map(|i| (i as f32 * 0.71).cos()).collect(), &[4, 3]);
    gradcheck(
        |t| {
            cross_entropy(
                &t[0],
                &targets(),
                Some(&weight()),
                -100,
                Reduction::Mean,
                0.2,
            )
        },
        std::slice::from_ref(&x),
    )
    .unwrap();
    let probs = Tensor::from_vec(
        vec![0.2, 0.3, 0.5, 1.0, 0.0, 0.0, 0.1, 0.1, 0.8, 0.4, 0.4, 0.2],
        &[4, 3],
    );
    gradcheck(
        |t| cross_entropy(&t[0], &probs, Some(&weight()), -100, Reduction::Sum, 0.1),
        std::slice::from_ref(&x),
    )
    .unwrap();
    gradcheck(
        |t| {
            nll_loss(
                &t[0].log_softmax(1),
                &targets(),
                None,
                -100,
                Reduction::Mean,
            )
        },
        &[x],
    )
    .unwrap();
}

#[test]
#[should_panic(expected = "cross_entropy: target 3 at index 1 is not a class index in [0, 3)")]
fn target_out_of_range_panics() {
    cross_entropy(
        &logits(),
        &Tensor::from_vec(vec![0.0, 3.0, 0.0, 0.0], &[4]),
        None,
        -100,
        Reduction::Mean,
        0.0,
    );
}

#[test]
#[should_panic(expected = "target 0.5 at index 0 is not a class index")]
fn fractional_target_panics() {
    nll_loss(
        &logits(),
        &Tensor::from_vec(vec![0.5, 0.0, 0.0, 0.0], &[4]),
        None,
        -100,
        Reduction::Sum,
    );
}

#[test]
#[should_panic(expected = "weight of shape [2] for 3 classes")]
fn weight_of_wrong_size_panics() {
    let w = Tensor::from_vec(vec![1.0, 1.0], &[2]);
    cross_entropy(&logits(), &targets(), Some(&w), -100, Reduction::Mean, 0.0);
}

/// An ignored target's unreduced loss is +0.0, the 0 PyTorch writes there
/// (it was -0.0: a negative log-probability times a zero mask).
#[test]
fn ignored_targets_lose_positive_zero() {
    let target = Tensor::from_vec(vec![0.0, -100.0, 2.0, -100.0], &[4]);
    let losses = cross_entropy(&logits(), &target, None, -100, Reduction::None, 0.0).to_vec();
    for i in [1, 3] {
        assert!(
            losses[i] == 0.0 && losses[i].is_sign_positive(),
            "{losses:?}"
        );
    }
    assert!(losses[0] > 0.0 && losses[2] > 0.0);
}

/// An ignored row adds exactly 0, whatever its log-probabilities: a class
/// masked to -inf there made the loss NaN (-inf times a zero mask). Values
/// from torch 2.15: `F.cross_entropy([[1, 2], [-inf, 3]], [0, -100])` is
/// 1.31326162815094 with gradient [[-0.7310586, 0.7310586], [0, 0]], and
/// 1.2632615566253662 with label_smoothing=0.1 ([[-0.6810585, 0.6810586], [0, 0]]);
/// `F.nll_loss([[-0.5, -1], [-inf, -0.1]], [0, -100], reduction='none')` is [0.5, 0].
// The digits are those PyTorch printed (f32 values written as f64).
#[allow(clippy::excessive_precision)]
#[test]
fn an_ignored_row_with_an_infinite_logit_adds_zero() {
    let target = Tensor::from_vec(vec![0.0, -100.0], &[2]);
    for (smoothing, want, grad) in [
        (
            0.0,
            1.31326162815094,
            [-0.7310585975646973, 0.7310585975646973],
        ),
        (
            0.1,
            1.2632615566253662,
            [-0.6810585260391235, 0.6810585856437683],
        ),
    ] {
        let x =
            Tensor::from_vec(vec![1.0, 2.0, f32::NEG_INFINITY, 3.0], &[2, 2]).requires_grad_(true);
        let loss = cross_entropy(&x, &target, None, -100, Reduction::Mean, smoothing);
        assert!(
            (loss.item() - want).abs() < 1e-6,
            "{smoothing}: {}",
            loss.item()
        );
        loss.backward().unwrap();
        let g = x.grad().unwrap().to_vec();
        assert!(
            (g[0] - grad[0]).abs() < 1e-6 && (g[1] - grad[1]).abs() < 1e-6,
            "{g:?}"
        );
        assert_eq!(&g[2..], &[0.0, 0.0]);
    }
    let logp = Tensor::from_vec(vec![-0.5, -1.0, f32::NEG_INFINITY, -0.1], &[2, 2]);
    let losses = nll_loss(&logp, &target, None, -100, Reduction::None).to_vec();
    assert_eq!(losses, vec![0.5, 0.0]);
    assert!(losses[1].is_sign_positive());
}

/// PyTorch 2.15 raises "The function 'nll_loss_forward' is not
/// differentiable with respect to argument 'weight'" for a class weight that
/// requires grad with class-index targets (with or without label smoothing),
/// in grad mode; under no_grad, and with probability targets (where the
/// weight is differentiable), it computes the loss.
#[test]
fn a_class_weight_that_requires_grad_is_refused_with_class_indices() {
    let w = || Tensor::from_vec(vec![1.0, 2.0, 3.0], &[3]).requires_grad_(true);
    for smoothing in [0.0, 0.1] {
        let refused = std::panic::catch_unwind(|| {
            cross_entropy(
                &logits(),
                &targets(),
                Some(&w()),
                -100,
                Reduction::Mean,
                smoothing,
            )
        });
        assert!(refused.is_err(), "label smoothing {smoothing}");
    }
    let refused = std::panic::catch_unwind(|| {
        nll_loss(
            &logits().log_softmax(1),
            &targets(),
            Some(&w()),
            -100,
            Reduction::Sum,
        )
    });
    assert!(refused.is_err(), "nll_loss");

    let under_no_grad = autograd::no_grad(|| {
        cross_entropy(
            &logits(),
            &targets(),
            Some(&w()),
            -100,
            Reduction::Mean,
            0.0,
        )
    });
    assert!(under_no_grad.item().is_finite());
    let probabilities = logits().softmax(1);
    let weight = w();
    cross_entropy(
        &logits(),
        &probabilities,
        Some(&weight),
        -100,
        Reduction::Mean,
        0.0,
    )
    .backward()
    .unwrap();
    assert!(
        weight.grad().is_some(),
        "differentiable with probability targets"
    );
}

#[test]
#[should_panic(expected = "target of shape [3] for input of shape [4, 3]")]
fn target_of_wrong_shape_panics() {
    cross_entropy(
        &logits(),
        &Tensor::zeros(&[3]),
        None,
        -100,
        Reduction::Mean,
        0.0,
    );
}

/// `mse_loss` is one node (PyTorch's `MseLossBackward0`) with the values and
/// gradients of `(input - target)^2` written out with `sub`, `mul` and the
/// reduction, bit for bit, for input and target.
#[test]
fn mse_loss_is_its_composite_bit_for_bit() {
    use autograd::Generator;
    let mut g = Generator::new(5);
    let x0 = Tensor::rand_uniform(&[6, 7], -3.0, 3.0, &mut g);
    let y0 = Tensor::rand_uniform(&[6, 7], -3.0, 3.0, &mut g);
    let bits = |t: &Tensor| t.to_vec().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    for reduction in [Reduction::None, Reduction::Sum, Reduction::Mean] {
        let (x, y) = (
            x0.detach().requires_grad_(true),
            y0.detach().requires_grad_(true),
        );
        let loss = nn::functional::mse_loss(&x, &y, reduction);
        assert_eq!(loss.grad_fn(), Some("MseLossBackward0"));
        let (a, b) = (
            x0.detach().requires_grad_(true),
            y0.detach().requires_grad_(true),
        );
        let d = a.sub(&b);
        let squared = d.mul(&d);
        let composite = match reduction {
            Reduction::None => squared,
            Reduction::Sum => squared.sum(),
            Reduction::Mean => squared.sum().div_scalar(42.0),
        };
        assert_eq!(bits(&loss), bits(&composite), "{reduction:?}");
        let weights = Tensor::rand_uniform(loss.shape(), 0.5, 2.0, &mut g);
        loss.mul(&weights).sum().backward().unwrap();
        composite.mul(&weights).sum().backward().unwrap();
        assert_eq!(
            bits(&x.grad().unwrap()),
            bits(&a.grad().unwrap()),
            "{reduction:?}"
        );
        assert_eq!(
            bits(&y.grad().unwrap()),
            bits(&b.grad().unwrap()),
            "{reduction:?}"
        );
    }
}

/// `nll_loss` is one op in PyTorch, so a loss's `grad_fn` is
/// `NllLossBackward0` with class weights or ignored targets too
/// (`NllLoss2DBackward0` for `[N, C, d]` inputs); label smoothing adds two
/// losses (`AddBackward0`). Names from tests/pytorch/loss_grad_fn_names.py.
/// With every target ignored the mean is NaN and its gradient 0.
#[test]
fn loss_names_are_pytorchs() {
    let x = Tensor::randn(&[4, 3]).requires_grad_(true);
    let y = Tensor::from_slice(&[0.0, 1.0, 2.0, 1.0], &[4]);
    let w = Tensor::from_slice(&[1.0, 2.0, 3.0], &[3]);
    let ones = Tensor::ones(&[4]);
    let x3 = Tensor::randn(&[2, 3, 5]).requires_grad_(true);
    let y3 = Tensor::from_slice(&[0.0, 1.0, 2.0, 1.0, 0.0, 2.0, 2.0, 1.0, 0.0, 0.0], &[2, 5]);
    for reduction in [Reduction::Mean, Reduction::Sum] {
        let ce = |x: &Tensor, y: &Tensor, w, ignore, smoothing| {
            cross_entropy(x, y, w, ignore, reduction, smoothing).grad_fn()
        };
        let nll = Some("NllLossBackward0");
        assert_eq!(ce(&x, &y, None, -100, 0.0), nll, "{reduction:?}");
        assert_eq!(ce(&x, &y, Some(&w), -100, 0.0), nll, "weight");
        assert_eq!(ce(&x, &y, None, 1, 0.0), nll, "ignore");
        assert_eq!(ce(&x, &ones, None, 1, 0.0), nll, "all ignored");
        let loss = nll_loss(&x, &y, Some(&w), -100, reduction);
        assert_eq!(loss.grad_fn(), nll, "nll_loss weight");
        assert_eq!(ce(&x3, &y3, None, -100, 0.0), Some("NllLoss2DBackward0"));
        assert_eq!(ce(&x.select(0, 0), &y.select(0, 0), None, -100, 0.0), nll);
        assert_eq!(ce(&x, &y, Some(&w), -100, 0.1), Some("AddBackward0"));
    }
    let none = cross_entropy(&x, &y, Some(&w), -100, Reduction::None, 0.0);
    assert_eq!(none.grad_fn(), Some("NllLossBackward0"));
    // Class probabilities: the negated sum of every term, as PyTorch's; its
    // mean is `DivBackward1` there (docs/decisions.md).
    let p = Tensor::full(&[4, 3], 1.0 / 3.0);
    let names = [
        (Reduction::Mean, "DivBackward0"),
        (Reduction::Sum, "NegBackward0"),
        (Reduction::None, "NegBackward0"),
    ];
    for (reduction, name) in names {
        let loss = cross_entropy(&x, &p, None, -100, reduction, 0.0);
        assert_eq!(loss.grad_fn(), Some(name), "probabilities, {reduction:?}");
    }

    let loss = cross_entropy(&x, &ones, Some(&w), 1, Reduction::Mean, 0.0);
    assert!(loss.item().is_nan());
    loss.backward().unwrap();
    assert!(x.grad().unwrap().to_vec().iter().all(|&g| g == 0.0));
}

/// The mean over targets that are all ignored is 0 / 0 as in PyTorch: NaN,
/// with the bits PyTorch 2.15 gives on x86-64 (0xffc00000, the processor's
/// default NaN; tests/pytorch/loss_grad_fn_names.py), with and without class
/// weights and label smoothing, for `[N, C]` and `[N, C, d]` inputs.
#[test]
fn all_ignored_mean_is_pytorchs_nan() {
    let x = Tensor::randn(&[4, 3]);
    let w = Tensor::from_slice(&[1.0, 2.0, 3.0], &[3]);
    let ones = Tensor::ones(&[4]);
    let x3 = Tensor::randn(&[2, 3, 5]);
    let ones3 = Tensor::ones(&[2, 5]);
    let mean = Reduction::Mean;
    let cases = [
        ("plain", cross_entropy(&x, &ones, None, 1, mean, 0.0)),
        ("weight", cross_entropy(&x, &ones, Some(&w), 1, mean, 0.0)),
        ("smoothing", cross_entropy(&x, &ones, None, 1, mean, 0.1)),
        (
            "smoothing weight",
            cross_entropy(&x, &ones, Some(&w), 1, mean, 0.1),
        ),
        ("nll", nll_loss(&x, &ones, None, 1, mean)),
        ("[N, C, d]", cross_entropy(&x3, &ones3, None, 1, mean, 0.0)),
    ];
    for (name, loss) in cases {
        let value = loss.item();
        assert!(value.is_nan(), "{name}: {value}");
        #[cfg(target_arch = "x86_64")]
        assert_eq!(value.to_bits(), 0xffc0_0000, "{name}");
    }
}

/// A weighted mean over many targets divides by their summed weight as PyTorch
/// does: an f32 running sum of 90,000 weights was 6e-4 off, and the loss and
/// every gradient with it. Inputs and expected values from
/// tests/pytorch/large_weighted_mean.py (PyTorch 2.15, float32).
#[test]
fn weighted_mean_over_many_targets_matches_pytorch() {
    let n = 100_000;
    let logits: Vec<f32> = (0..n * 3)
        .map(|k| ((7 * (k / 3) + 3 * (k % 3)) % 11) as f32 / 4.0 - 1.0)
        .collect();
    let logits = Tensor::from_vec(logits, &[n, 3]);
    let target: Vec<f32> = (0..n)
        .map(|i| if i % 10 == 0 { -100.0 } else { (i % 3) as f32 })
        .collect();
    let target = Tensor::from_vec(target, &[n]);
    let w = Tensor::from_vec(vec![0.1, 0.7, 0.35], &[3]);
    // Within a few f32 roundings of PyTorch's float32 values.
    let close = |what: &str, got: &[f32], want: &[f64]| {
        assert_eq!(got.len(), want.len(), "{what}: length");
        for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
            assert!(
                (g as f64 - w).abs() <= 2e-6 * w.abs() + 1e-12,
                "{what}[{i}]: got {g}, expected {w}"
            );
        }
    };
    let cases = [
        (
            0.0,
            1.3517448902130127,
            [
                5.9614585552481e-06,
                -7.669445949431974e-06,
                1.7079864846891724e-06,
                1.3350892231756006e-06,
                2.8263834792596754e-06,
                -4.161473043495789e-06,
            ],
        ),
        (
            0.1,
            1.3517541885375977,
            [
                5.595155926130246e-06,
                -6.8877116063958965e-06,
                1.2925562486998388e-06,
                1.2511859495134559e-06,
                2.1769728846265934e-06,
                -3.4281592888874e-06,
            ],
        ),
    ];
    for (smoothing, loss, grad) in cases {
        let x = logits.detach().requires_grad_(true);
        let out = cross_entropy(&x, &target, Some(&w), -100, Reduction::Mean, smoothing);
        close(
            &format!("cross_entropy, smoothing {smoothing}"),
            &out.to_vec(),
            &[loss],
        );
        out.backward().unwrap();
        // Rows 1 and 2 (row 0 is ignored).
        let g = x.grad().unwrap().narrow(0, 1, 2).to_vec();
        close(&format!("grad, smoothing {smoothing}"), &g, &grad);
    }
    let logp = logits.log_softmax(1).requires_grad_(true);
    let out = nll_loss(&logp, &target, Some(&w), -100, Reduction::Mean);
    close("nll_loss", &out.to_vec(), &[1.3517448902130127]);
    out.backward().unwrap();
    let g = logp.grad().unwrap().narrow(0, 1, 2).to_vec();
    let grad = [
        0.0,
        -2.0289855456212536e-05,
        0.0,
        0.0,
        0.0,
        -1.0144927728106268e-05,
    ];
    close("nll_loss grad", &g, &grad);
}

/// Class probabilities over no class (`[2, 0]`) give what PyTorch gives (a
/// NaN mean, -0.0 otherwise: the negated sum; tests/pytorch/large_weighted_mean.py),
/// not an integer division by zero. A loss of zero is -0.0 with classes too.
#[test]
fn class_probabilities_with_no_class_do_not_panic() {
    let (x, t) = (Tensor::zeros(&[2, 0]), Tensor::zeros(&[2, 0]));
    let ce = |r| cross_entropy(&x, &t, None, -100, r, 0.0);
    let bits = |t: Tensor| t.to_vec().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    assert!(ce(Reduction::Mean).item().is_nan());
    assert_eq!(bits(ce(Reduction::Sum)), [(-0.0f32).to_bits()]);
    assert_eq!(bits(ce(Reduction::None)), [(-0.0f32).to_bits(); 2]);
    // One class: log-probability 0, so every term is 0 and PyTorch's sum is -0.0.
    let (x, t) = (Tensor::zeros(&[3, 1]), Tensor::ones(&[3, 1]));
    let sum = cross_entropy(&x, &t, None, -100, Reduction::Sum, 0.0);
    assert_eq!(bits(sum), [(-0.0f32).to_bits()]);
}
