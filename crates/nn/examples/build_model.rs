//! PyTorch's "Build the Neural Network" tutorial, line for line.
//!
//! The model is the crate's `nn::models::NeuralNetwork` (its doc shows the
//! Python class it mirrors); printing it shows its definition, as
//! `print(model)` does. Run with `cargo run -p nn --example build_model`.

use autograd::{manual_seed, no_grad, Tensor};
use nn::models::NeuralNetwork;
use nn::{Module, Softmax};

fn main() {
    manual_seed(0);

    // model = NeuralNetwork()
    // print(f"Model structure: {model}\n\n")
    let model = NeuralNetwork::new();
    println!("Model structure: {}\n", model.repr());

    // X = torch.rand(3, 1, 28, 28)
    // logits = model(X)
    // pred_probab = nn.Softmax(dim=1)(logits)
    // y_pred = pred_probab.argmax(1)
    let x = Tensor::rand(&[3, 1, 28, 28]);
    let (pred_probab, y_pred) = no_grad(|| {
        let logits = model.forward(&x);
        let pred_probab = Softmax::new(1).forward(&logits);
        let y_pred = pred_probab.argmax(1);
        (pred_probab, y_pred)
    });
    println!("Predicted class probabilities:");
    for (i, row) in pred_probab.to_vec().chunks(10).enumerate() {
        let row: Vec<String> = row.iter().map(|p| format!("{p:.4}")).collect();
        println!("  image {i}: [{}]", row.join(", "));
    }
    let classes: Vec<usize> = y_pred.to_vec().iter().map(|&c| c as usize).collect();
    println!("Predicted class: {classes:?}\n");

    // for name, param in model.named_parameters():
    //     print(f"Layer: {name} | Size: {param.size()} | Values : {param[:2]} \n")
    for (name, param) in model.named_parameters() {
        let first_two: Vec<String> = param
            .to_vec()
            .iter()
            .take(2)
            .map(|v| format!("{v:.4}"))
            .collect();
        println!(
            "Layer: {name} | Size: {:?} | Values : [{}, ...]",
            param.shape(),
            first_two.join(", ")
        );
    }
}
