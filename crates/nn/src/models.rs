//! Ready-made models: the tutorial's `NeuralNetwork`.

use autograd::Tensor;

use crate::{sequential, Flatten, Linear, Module, ReLU, Sequential};

/// The model of PyTorch's "Build the Neural Network" tutorial, for 28×28
/// FashionMNIST images and 10 classes:
///
/// ```python
/// class NeuralNetwork(nn.Module):
///     def __init__(self):
///         super().__init__()
///         self.flatten = nn.Flatten()
///         self.linear_relu_stack = nn.Sequential(
///             nn.Linear(28*28, 512), nn.ReLU(),
///             nn.Linear(512, 512), nn.ReLU(),
///             nn.Linear(512, 10),
///         )
///     def forward(self, x):
///         x = self.flatten(x)
///         logits = self.linear_relu_stack(x)
///         return logits
/// ```
///
/// Its parameters have PyTorch's names (`linear_relu_stack.0.weight`, …,
/// `linear_relu_stack.4.bias`), so its checkpoints load in either framework.
pub struct NeuralNetwork {
    flatten: Flatten,
    linear_relu_stack: Sequential,
}

impl NeuralNetwork {
    /// A new model, initialised from the default generator
    /// (seeded by [`autograd::manual_seed`]).
    pub fn new() -> NeuralNetwork {
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

impl Default for NeuralNetwork {
    fn default() -> NeuralNetwork {
        NeuralNetwork::new()
    }
}

impl Module for NeuralNetwork {
    /// Images `[N, 1, 28, 28]` (or `[N, 784]`) to logits `[N, 10]`.
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
