//! Losses and a small MLP against PyTorch's numbers in
//! `reference/pytorch_reference.json` (computed in float64).

use autograd::Tensor;
use nn::functional::{cross_entropy, mse_loss, nll_loss, Reduction};
use nn::{sequential, CrossEntropyLoss, Linear, Module, ReLU, StateDict};
use serde_json::Value;

fn reference() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../reference/pytorch_reference.json"
    );
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    serde_json::from_str(&text).expect("pytorch_reference.json is JSON")
}

/// A JSON number or nested array of numbers, flattened, with its shape.
fn tensor(v: &Value) -> Tensor {
    fn walk(v: &Value, depth: usize, shape: &mut Vec<usize>, out: &mut Vec<f32>) {
        match v {
            Value::Array(items) => {
                if shape.len() == depth {
                    shape.push(items.len());
                }
                items.iter().for_each(|i| walk(i, depth + 1, shape, out));
            }
            _ => out.push(v.as_f64().expect("a number") as f32),
        }
    }
    let (mut shape, mut data) = (Vec::new(), Vec::new());
    walk(v, 0, &mut shape, &mut data);
    Tensor::from_vec(data, &shape)
}

/// Within `tol` absolutely, or relatively for large values: the reference is
/// float64 and we compute in f32, whose spacing at 20.0 is already 2e-6.
fn assert_close(what: &str, got: &Tensor, want: &Tensor, tol: f32) {
    assert_eq!(got.shape(), want.shape(), "{what}: shape");
    for (i, (g, w)) in got.to_vec().iter().zip(want.to_vec()).enumerate() {
        assert!(
            (g - w).abs() <= tol * w.abs().max(1.0),
            "{what}[{i}]: got {g}, PyTorch gives {w}"
        );
    }
}

#[test]
fn every_loss_case_matches_pytorch() {
    let r = reference();
    let losses = r["losses"].as_object().unwrap();
    let logits = tensor(&losses["inputs"]["logits"]);
    let target = tensor(&losses["inputs"]["target"]);
    let classes = logits.shape()[1];
    let mut checked = 0;
    for (name, case) in losses {
        if name == "inputs" {
            continue;
        }
        let (kind, reduction) = name.rsplit_once('/').unwrap();
        let reduction: Reduction = reduction.parse().unwrap();
        let x = logits.detach().requires_grad_(true);
        let out = match kind {
            "cross_entropy" => cross_entropy(&x, &target, None, -100, reduction, 0.0),
            "cross_entropy_label_smoothing_0.1" => {
                cross_entropy(&x, &target, None, -100, reduction, 0.1)
            }
            "nll_of_log_softmax" => nll_loss(&x.log_softmax(1), &target, None, -100, reduction),
            "mse_vs_onehot" => {
                let onehot: Vec<f32> = target
                    .to_vec()
                    .iter()
                    .flat_map(|&t| {
                        (0..classes).map(move |c| if c == t as usize { 1.0 } else { 0.0 })
                    })
                    .collect();
                mse_loss(&x, &Tensor::from_vec(onehot, x.shape()), reduction)
            }
            _ => panic!("a loss case this test does not know: {name}"),
        };
        assert_close(
            &format!("{name} value"),
            &out,
            &tensor(&case["value"]),
            1e-6,
        );
        out.sum().backward().unwrap();
        assert_close(
            &format!("{name} grad"),
            &x.grad().unwrap(),
            &tensor(&case["grad_of_sum_wrt_input"]),
            1e-6,
        );
        checked += 1;
    }
    assert_eq!(checked, 12, "4 losses x 3 reductions");
}

#[test]
fn mlp_loss_and_gradients_match_pytorch() {
    let r = reference();
    let mlp = &r["mlp"];
    assert_eq!(
        mlp["layers"],
        "Linear(4,3) ReLU Linear(3,2), CrossEntropyLoss(mean)"
    );
    let model = sequential![Linear::new(4, 3), ReLU, Linear::new(3, 2)];
    let params: StateDict = mlp["params"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, v)| (name.clone(), tensor(v)))
        .collect();
    let skipped = model.load_state_dict(&params, true).unwrap();
    assert!(skipped.missing_keys.is_empty() && skipped.unexpected_keys.is_empty());

    let logits = model.forward(&tensor(&mlp["input"]));
    let loss = CrossEntropyLoss::new().forward(&logits, &tensor(&mlp["target"]));
    assert!((loss.item() - mlp["loss"].as_f64().unwrap() as f32).abs() < 1e-5);
    loss.backward().unwrap();
    let grads = mlp["grads"].as_object().unwrap();
    assert_eq!(grads.len(), 4);
    for (name, p) in model.named_parameters() {
        assert_close(
            &format!("grad of {name}"),
            &p.grad().unwrap(),
            &tensor(&grads[&name]),
            1e-5,
        );
    }
}
