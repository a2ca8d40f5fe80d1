//! PyTorch's "Build the Neural Network" tutorial, line for line (each Python
//! line above its Rust). The class is defined here, as the tutorial does; it
//! is also the crate's `nn::models::NeuralNetwork`. One thing Rust asks that
//! Python does not: a module lists its children (`named_children`), which is
//! how `parameters()`, `state_dict()` and printing find the layers.
//! Run with `cargo run -p nn --example build_model`.

use autograd::{manual_seed, Tensor};
use nn::{sequential, Flatten, Linear, Module, ReLU, Sequential, Softmax};

// class NeuralNetwork(nn.Module):
//     def __init__(self):
//         super().__init__()
//         self.flatten = nn.Flatten()
//         self.linear_relu_stack = nn.Sequential(
//             nn.Linear(28*28, 512),
//             nn.ReLU(),
//             nn.Linear(512, 512),
//             nn.ReLU(),
//             nn.Linear(512, 10),
//         )
struct NeuralNetwork {
    flatten: Flatten,
    linear_relu_stack: Sequential,
}

impl NeuralNetwork {
    fn new() -> NeuralNetwork {
        NeuralNetwork {
            flatten: Flatten::new(),
            linear_relu_stack: sequential![
                Linear::new(28 * 28, 512),
                ReLU,
                Linear::new(512, 512),
                ReLU,
                Linear::new(512, 10),
            ],
        }
    }
}

impl Module for NeuralNetwork {
    //     def forward(self, x):
    //         x = self.flatten(x)
    //         logits = self.linear_relu_stack(x)
    //         return logits
    fn forward(&self, x: &Tensor) -> Tensor {
        let x = self.flatten.forward(x);
        self.linear_relu_stack.forward(&x)
    }

    fn named_children(&self) -> Vec<(String, &dyn Module)> {
        vec![
            ("flatten".to_string(), &self.flatten),
            ("linear_relu_stack".to_string(), &self.linear_relu_stack),
        ]
    }
}

fn main() {
    manual_seed(0);

    // model = NeuralNetwork().to(device)
    // print(model)
    println!("Using cpu device");
    let model = NeuralNetwork::new();
    println!("{}", model.repr());

    // X = torch.rand(1, 28, 28, device=device)
    // logits = model(X)
    // pred_probab = nn.Softmax(dim=1)(logits)
    // y_pred = pred_probab.argmax(1)
    // print(f"Predicted class: {y_pred}")
    let x = Tensor::rand(&[1, 28, 28]);
    let logits = model.forward(&x);
    let pred_probab = Softmax::new(1).forward(&logits);
    let y_pred = pred_probab.argmax(1);
    println!("Predicted class: {y_pred}");

    // input_image = torch.rand(3,28,28)
    // print(input_image.size())
    let input_image = Tensor::rand(&[3, 28, 28]);
    println!("{:?}", input_image.shape());

    // flatten = nn.Flatten()
    // flat_image = flatten(input_image)
    // print(flat_image.size())
    let flatten = Flatten::new();
    let flat_image = flatten.forward(&input_image);
    println!("{:?}", flat_image.shape());

    // layer1 = nn.Linear(in_features=28*28, out_features=20)
    // hidden1 = layer1(flat_image)
    // print(hidden1.size())
    let layer1 = Linear::new(28 * 28, 20);
    let hidden1 = layer1.forward(&flat_image);
    println!("{:?}", hidden1.shape());

    // print(f"Before ReLU: {hidden1}\n\n")
    // hidden1 = nn.ReLU()(hidden1)
    // print(f"After ReLU: {hidden1}")
    println!("Before ReLU: {hidden1}\n\n");
    let hidden1 = ReLU.forward(&hidden1);
    println!("After ReLU: {hidden1}");

    // seq_modules = nn.Sequential(flatten, layer1, nn.ReLU(), nn.Linear(20, 10))
    // input_image = torch.rand(3,28,28)
    // logits = seq_modules(input_image)
    // softmax = nn.Softmax(dim=1)
    // pred_probab = softmax(logits)
    let seq_modules = sequential![flatten, layer1, ReLU, Linear::new(20, 10)];
    let input_image = Tensor::rand(&[3, 28, 28]);
    let logits = seq_modules.forward(&input_image);
    let softmax = Softmax::new(1);
    let _pred_probab = softmax.forward(&logits);

    // print(f"Model structure: {model}\n\n")
    // for name, param in model.named_parameters():
    //     print(f"Layer: {name} | Size: {param.size()} | Values : {param[:2]} \n")
    println!("Model structure: {}\n\n", model.repr());
    for (name, param) in model.named_parameters() {
        let first_two = param.narrow(0, 0, 2);
        println!(
            "Layer: {name} | Size: {:?} | Values : {first_two} \n",
            param.shape()
        );
    }
}

/// CI runs the example (`test = true` in Cargo.toml), so that it cannot rot.
#[test]
fn the_example_runs() {
    main();
}
