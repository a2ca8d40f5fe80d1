//! Losses and a small MLP against PyTorch's numbers in
//! `reference/pytorch_reference.json` (computed in float64).

use autograd::Tensor;
use nn::functional::{cross_entropy, mse_loss, nll_loss, Reduction};
use nn::{CrossEntropyLoss, Linear, Module, ReLU, Sequential, StateDict};
use serde_json::Value;

// The reference files (label smoothing 0.2, five classes and another MLP in
// the second).
#[path = "pytorch/references.rs"]
mod references;
use references::references;

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

/// Every loss case the file holds, named `<loss>/<reduction>`: `cross_entropy`,
/// `cross_entropy_label_smoothing_<s>`, `nll_of_log_softmax` and
/// `mse_vs_onehot`, on the file's logits and class targets.
#[test]
fn every_loss_case_matches_pytorch() {
    references().iter().for_each(|(_, r)| losses_match(r));
}

fn losses_match(r: &Value) {
    let losses = r["losses"].as_object().unwrap();
    let logits = tensor(&losses["inputs"]["logits"]);
    let target = tensor(&losses["inputs"]["target"]);
    let classes = logits.shape()[1];
    let mut checked = 0;
    for (name, case) in losses {
        if name == "inputs" {
            continue;
        }
        let (kind, reduction) = name
            .rsplit_once('/')
            .unwrap_or_else(|| panic!("loss case {name}: not <loss>/<reduction>"));
        let reduction: Reduction = reduction.parse().unwrap();
        let x = logits.detach().requires_grad_(true);
        let smoothing = kind
            .strip_prefix("cross_entropy_label_smoothing_")
            .map(|s| {
                s.parse::<f32>()
                    .unwrap_or_else(|_| panic!("{name}: smoothing"))
            });
        let out = match (kind, smoothing) {
            (_, Some(s)) => cross_entropy(&x, &target, None, -100, reduction, s),
            ("cross_entropy", _) => cross_entropy(&x, &target, None, -100, reduction, 0.0),
            ("nll_of_log_softmax", _) => {
                nll_loss(&x.log_softmax(1), &target, None, -100, reduction)
            }
            ("mse_vs_onehot", _) => {
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
    assert!(checked > 0, "no loss case in the file");
}

/// The model and loss the file describes, as `Linear(4,3) ReLU Linear(3,2),
/// CrossEntropyLoss(mean)`: layers separated by spaces, then the loss with
/// its reduction.
fn model_and_loss(description: &str) -> (Sequential, CrossEntropyLoss) {
    let (layers, loss) = description
        .split_once(", ")
        .unwrap_or_else(|| panic!("{description}: no loss after the layers"));
    let layers: Vec<Box<dyn Module>> = layers
        .split_whitespace()
        .map(|layer| -> Box<dyn Module> {
            if layer == "ReLU" {
                return Box::new(ReLU);
            }
            let sizes = layer
                .strip_prefix("Linear(")
                .and_then(|s| s.strip_suffix(')'))
                .unwrap_or_else(|| panic!("a layer this test does not know: {layer}"));
            let (fan_in, fan_out) = sizes.split_once(',').unwrap();
            Box::new(Linear::new(
                fan_in.trim().parse().unwrap(),
                fan_out.trim().parse().unwrap(),
            ))
        })
        .collect();
    let reduction = loss
        .strip_prefix("CrossEntropyLoss(")
        .and_then(|s| s.strip_suffix(')'))
        .unwrap_or_else(|| panic!("a loss this test does not know: {loss}"));
    let loss = CrossEntropyLoss::new().reduction(reduction.parse().unwrap());
    (Sequential::new(layers), loss)
}

#[test]
fn mlp_loss_and_gradients_match_pytorch() {
    references().iter().for_each(|(_, r)| mlp_matches(r));
}

fn mlp_matches(r: &Value) {
    let mlp = &r["mlp"];
    let (model, loss_fn) = model_and_loss(mlp["layers"].as_str().unwrap());
    let params: StateDict = mlp["params"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, v)| (name.clone(), tensor(v)))
        .collect();
    let skipped = model.load_state_dict(&params, true).unwrap();
    assert!(skipped.missing_keys.is_empty() && skipped.unexpected_keys.is_empty());

    let logits = model.forward(&tensor(&mlp["input"]));
    let loss = loss_fn.forward(&logits, &tensor(&mlp["target"]));
    let want = mlp["loss"].as_f64().unwrap() as f32;
    assert!(
        (loss.item() - want).abs() <= 1e-5 * want.abs().max(1.0),
        "loss {}, PyTorch gives {want}",
        loss.item()
    );
    loss.backward().unwrap();
    let grads = mlp["grads"].as_object().unwrap();
    assert_eq!(
        grads.len(),
        model.named_parameters().len(),
        "a grad per parameter"
    );
    for (name, p) in model.named_parameters() {
        assert_close(
            &format!("grad of {name}"),
            &p.grad().unwrap(),
            &tensor(&grads[&name]),
            1e-5,
        );
    }
}
