//! `nn.Sequential`: layers applied in order, named "0", "1", …

use autograd::Tensor;

use crate::Module;

/// Layers applied one after the other (`nn.Sequential`); child `i` is named
/// `"i"`, so its parameters are `"0.weight"`, `"0.bias"`, `"2.weight"`, …
///
/// Build it with [`sequential!`](crate::sequential), which reads like the Python:
///
/// ```
/// use nn::{Linear, Module, ReLU};
/// let stack = nn::sequential![Linear::new(784, 512), ReLU, Linear::new(512, 10)];
/// assert_eq!(stack.named_parameters()[2].0, "2.weight");
/// ```
pub struct Sequential {
    layers: Vec<Box<dyn Module>>,
}

impl Sequential {
    /// The given layers, in order; [`sequential!`](crate::sequential) boxes them for you.
    pub fn new(layers: Vec<Box<dyn Module>>) -> Sequential {
        Sequential { layers }
    }

    /// Append a layer, builder style (`seq.append(layer)` in PyTorch).
    pub fn append(mut self, layer: impl Module + 'static) -> Sequential {
        self.layers.push(Box::new(layer));
        self
    }

    /// The layer at `index` (`seq[index]` in PyTorch).
    pub fn get(&self, index: usize) -> Option<&dyn Module> {
        self.layers.get(index).map(|l| l.as_ref())
    }

    /// The number of layers (`len(seq)` in PyTorch).
    pub fn len(&self) -> usize {
        self.layers.len()
    }

    /// Whether there are no layers.
    pub fn is_empty(&self) -> bool {
        self.layers.is_empty()
    }
}

impl Module for Sequential {
    /// Each layer in turn; a layer followed by [`ReLU`](crate::ReLU) runs as
    /// one step ([`Module::forward_relu`]: a `Linear` applies the ReLU as it
    /// writes its output).
    fn forward(&self, x: &Tensor) -> Tensor {
        let mut x = x.clone();
        let mut layers = self.layers.iter().peekable();
        while let Some(layer) = layers.next() {
            if layers.peek().is_some_and(|next| next.is_relu()) {
                layers.next();
                x = layer.forward_relu(&x);
            } else {
                x = layer.forward(&x);
            }
        }
        x
    }

    fn named_children(&self) -> Vec<(String, &dyn Module)> {
        self.layers
            .iter()
            .enumerate()
            .map(|(i, l)| (i.to_string(), l.as_ref()))
            .collect()
    }
}

/// `nn.Sequential(a, b, c)`: `sequential![a, b, c]` boxes each layer into a
/// [`Sequential`](crate::Sequential).
#[macro_export]
macro_rules! sequential {
    ($($layer:expr),* $(,)?) => {
        $crate::Sequential::new(vec![$(Box::new($layer) as Box<dyn $crate::Module>),*])
    };
}
