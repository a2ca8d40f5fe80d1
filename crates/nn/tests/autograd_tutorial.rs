//! PyTorch's "Automatic Differentiation with torch.autograd" tutorial, from
//! the same random `w` and `b` as PyTorch's `torch.manual_seed(0)`: the loss
//! and gradients of its one-layer example, `requires_grad` through `no_grad`
//! and `detach`. Every number comes from `tests/pytorch/autograd_tutorial.py`.
//! (Its Jacobian-product section is autograd's
//! `retain_graph_allows_more_passes_as_in_the_autograd_tutorial`.)

use autograd::{no_grad, Tensor};
use nn::functional::{binary_cross_entropy_with_logits, Reduction};

const W: [f32; 15] = [
    1.5409961,
    -0.2934289,
    -2.1787894,
    0.56843126,
    -1.0845224,
    -1.3985955,
    0.40334684,
    0.83802634,
    -0.7192576,
    -0.40334353,
    -0.59663534,
    0.18203649,
    -0.8566746,
    1.1006042,
    -1.0711874,
];
const B: [f32; 3] = [0.12270124, -0.5663175, 0.37311465];
const LOSS: [f32; 1] = [0.6818513];
const W_GRAD: [f32; 15] = [
    0.26608682,
    0.11794123,
    0.0026868538,
    0.26608682,
    0.11794123,
    0.0026868538,
    0.26608682,
    0.11794123,
    0.0026868538,
    0.26608682,
    0.11794123,
    0.0026868538,
    0.26608682,
    0.11794123,
    0.0026868538,
];
const B_GRAD: [f32; 3] = [0.26608682, 0.11794123, 0.0026868538];

fn assert_close(actual: &[f32], expected: &[f32], what: &str) {
    assert_eq!(actual.len(), expected.len(), "{what}");
    for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
        assert!(
            (a - e).abs() <= 1e-6 * e.abs().max(1.0),
            "{what}[{i}]: {a} vs {e}"
        );
    }
}

#[test]
fn one_layer_loss_and_gradients() {
    let x = Tensor::ones(&[5]); // input tensor
    let y = Tensor::zeros(&[3]); // expected output
    let w = Tensor::from_vec(W.to_vec(), &[5, 3]).requires_grad_(true);
    let b = Tensor::from_vec(B.to_vec(), &[3]).requires_grad_(true);
    let z = x.matmul(&w).add(&b);
    let loss = binary_cross_entropy_with_logits(&z, &y, None, None, Reduction::Mean);
    // The tutorial prints `<AddBackward0 object at ...>` and
    // `<BinaryCrossEntropyWithLogitsBackward0 object at ...>`.
    assert_eq!(z.grad_fn(), Some("AddBackward0"));
    assert_eq!(
        loss.grad_fn(),
        Some("BinaryCrossEntropyWithLogitsBackward0")
    );
    loss.backward().unwrap();
    assert_close(&loss.to_vec(), &LOSS, "loss");
    assert_close(&w.grad().unwrap().to_vec(), &W_GRAD, "w.grad");
    assert_close(&b.grad().unwrap().to_vec(), &B_GRAD, "b.grad");

    // Disabling gradient tracking.
    let z = x.matmul(&w).add(&b);
    assert!(z.requires_grad());
    let z = no_grad(|| x.matmul(&w).add(&b));
    assert!(!z.requires_grad());
    let z_det = x.matmul(&w).add(&b).detach();
    assert!(!z_det.requires_grad());
}
