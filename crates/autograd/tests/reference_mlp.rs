//! The tiny MLP of reference/pytorch_reference.json (computed by
//! PyTorch in float64): Linear - ReLU - Linear (4-3-2 there) and a
//! cross-entropy built from log_softmax + gather + mean (or sum, as the file
//! says). Loss and every gradient to 1e-5.

use autograd::Tensor;
use serde_json::Value;

// The reference files (the shared one, and another MLP in the second).
#[path = "../../nn/tests/pytorch/references.rs"]
mod references;
use references::references;

/// A JSON array of arrays (or of numbers) as a tensor.
fn tensor(v: &Value) -> Tensor {
    let rows = v.as_array().expect("array");
    if rows.first().map(|r| r.is_array()).unwrap_or(false) {
        let data: Vec<f32> = rows
            .iter()
            .flat_map(|r| {
                r.as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_f64().unwrap() as f32)
            })
            .collect();
        Tensor::from_vec(data, &[rows.len(), rows[0].as_array().unwrap().len()])
    } else {
        Tensor::from_vec(
            rows.iter().map(|x| x.as_f64().unwrap() as f32).collect(),
            &[rows.len()],
        )
    }
}

fn assert_close(name: &str, got: &[f32], want: &[f32], tol: f32) {
    assert_eq!(got.len(), want.len(), "{name}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= tol, "{name}[{i}]: got {g}, PyTorch {w}");
    }
}

/// Build the reference MLP with `forward(x, w0, b0, w2, b2) -> logits`, take
/// the mean cross-entropy (log_softmax + gather + mean), backpropagate, and
/// compare the loss and every parameter gradient with PyTorch's.
fn check_mlp(forward: impl Fn(&Tensor, &Tensor, &Tensor, &Tensor, &Tensor) -> Tensor) {
    for (_, reference) in references() {
        check_mlp_of(&reference["mlp"], &forward);
    }
}

fn check_mlp_of(
    r: &Value,
    forward: &impl Fn(&Tensor, &Tensor, &Tensor, &Tensor, &Tensor) -> Tensor,
) {
    let layers = r["layers"].as_str().unwrap();
    let (architecture, loss) = layers.split_once(", ").unwrap();
    let linear_relu_linear = architecture.split_whitespace().collect::<Vec<_>>();
    assert!(
        matches!(linear_relu_linear[..], [l0, "ReLU", l2] if l0.starts_with("Linear(") && l2.starts_with("Linear(")),
        "an MLP this test does not build: {layers}"
    );
    let names = ["0.weight", "0.bias", "2.weight", "2.bias"];
    let params: Vec<Tensor> = names
        .iter()
        .map(|k| tensor(&r["params"][*k]).requires_grad_(true))
        .collect();
    let (x, target) = (tensor(&r["input"]), tensor(&r["target"]));
    let logits = forward(&x, &params[0], &params[1], &params[2], &params[3]);
    let picked = logits.log_softmax(1).gather(1, &target.unsqueeze(1));
    let loss = match loss {
        "CrossEntropyLoss(mean)" => picked.mean().neg(),
        "CrossEntropyLoss(sum)" => picked.sum().neg(),
        other => panic!("a loss this test does not know: {other}"),
    };
    loss.backward().unwrap();
    let want = r["loss"].as_f64().unwrap() as f32;
    assert_close("loss", &[loss.item()], &[want], 1e-5 * want.abs().max(1.0));
    for (name, param) in names.iter().zip(&params) {
        let want = tensor(&r["grads"][*name]).to_vec();
        assert_close(name, &param.grad().unwrap().to_vec(), &want, 1e-5);
    }
}

#[test]
fn tiny_mlp_matches_pytorch() {
    check_mlp(|x, w0, b0, w2, b2| x.linear(w0, Some(b0)).relu().linear(w2, Some(b2)));
}

/// The same network with linear + ReLU as one op.
#[test]
fn tiny_mlp_with_linear_relu_matches_pytorch() {
    check_mlp(|x, w0, b0, w2, b2| x.linear_relu(w0, Some(b0)).linear(w2, Some(b2)));
}

/// The same network through matmul + broadcast add instead of the fused linear.
#[test]
fn tiny_mlp_through_matmul_matches_pytorch() {
    check_mlp(|x, w0, b0, w2, b2| x.matmul(&w0.t()).add(b0).relu().matmul(&w2.t()).add(b2));
}
