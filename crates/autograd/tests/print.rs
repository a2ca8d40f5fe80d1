//! `print(tensor)` text against PyTorch's own, for every formatting mode
//! (integer, fixed, scientific, non-finite, wrapped, summarized, empty).
//! The strings come from `tests/pytorch/tensor_print.py` (torch 2.15).

use autograd::Tensor;
use serde_json::Value;

#[test]
fn display_matches_pytorch_print() {
    let cases: serde_json::Map<String, Value> =
        serde_json::from_str(include_str!("pytorch/tensor_print.json")).unwrap();
    assert!(cases.len() >= 20);
    for (name, case) in &cases {
        let shape: Vec<usize> = case["shape"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_u64().unwrap() as usize)
            .collect();
        let values: Vec<f32> = case["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| match v {
                Value::String(s) => s.parse::<f32>().unwrap(), // "nan", "inf", "-inf"
                v => v.as_f64().unwrap() as f32,
            })
            .collect();
        let mut t = Tensor::from_vec(values, &shape);
        if case.get("requires_grad").is_some() {
            t = t.requires_grad_(true);
        }
        assert_eq!(t.to_string(), case["str"].as_str().unwrap(), "case {name}");
    }
}

/// `grad_fn` names PyTorch's backward functions, as torch 2.15 prints them
/// (`print(torch.ones(2, requires_grad=True) * 2)`, and
/// `type(t.grad_fn).__name__` for the others).
#[test]
fn display_names_the_grad_fn() {
    let x = Tensor::ones(&[2]).requires_grad_(true);
    assert_eq!(
        x.mul_scalar(2.0).to_string(),
        "tensor([2., 2.], grad_fn=<MulBackward0>)"
    );
    let w = Tensor::ones(&[3, 2]).requires_grad_(true);
    let b = Tensor::zeros(&[3]).requires_grad_(true);
    let input = Tensor::ones(&[4, 2]);
    let names = [
        (input.linear(&w, Some(&b)).relu(), "ReluBackward0"),
        (input.linear(&w, Some(&b)), "AddmmBackward0"),
        (input.linear(&w, None), "MmBackward0"),
        (w.unsqueeze(0), "UnsqueezeBackward0"),
        (w.unsqueeze(0).squeeze(0), "SqueezeBackward1"),
        (input.matmul(&w.t()), "MmBackward0"),
        (w.t(), "TBackward0"),
        (w.transpose(0, 1), "TransposeBackward0"),
        (w.reshape(&[6]), "ViewBackward0"),
        (w.t().reshape(&[6]), "UnsafeViewBackward0"),
        (w.select(1, 0).reshape(&[1, 3]), "ReshapeAliasBackward0"),
        (w.sum(), "SumBackward0"),
        (w.sum_dim(0, false), "SumBackward1"),
        (w.mean(), "MeanBackward0"),
        (w.mean_dim(0, false), "MeanBackward1"),
        (w.exp(), "ExpBackward0"),
        (w.copy(), "CloneBackward0"),
        (w.narrow(0, 0, 1), "SliceBackward0"),
        (w.select(0, 1), "SelectBackward0"),
        (w.softmax(1), "SoftmaxBackward0"),
        (w.log_softmax_nll(&[0, 1, 0], 3.0), "NllLossBackward0"),
        (w.max(), "MaxBackward1"),
        (w.clamp(Some(0.0), Some(1.0)), "ClampBackward1"),
        (&w + 2.0, "AddBackward0"),
        (&w - 2.0, "SubBackward0"),
        (2.0 - &w, "RsubBackward1"),
        (&w / 2.0, "DivBackward0"),
        (2.0 / &w, "MulBackward0"),
        (w.reciprocal(), "ReciprocalBackward0"),
    ];
    for (t, name) in names {
        assert_eq!(t.grad_fn(), Some(name));
    }
}

#[test]
fn display_of_a_transposed_view_follows_its_logical_order() {
    let t = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]).t();
    assert_eq!(
        t.to_string(),
        "tensor([[1., 4.],\n        [2., 5.],\n        [3., 6.]])"
    );
}
