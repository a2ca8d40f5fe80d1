//! The default generator: one test alone in its binary, since every test
//! thread of a binary shares that generator.

use autograd::manual_seed;
use nn::models::NeuralNetwork;
use nn::{Dropout, Module};

#[test]
fn manual_seed_makes_models_and_dropout_reproducible() {
    let run = || {
        manual_seed(11);
        let model = NeuralNetwork::new();
        let drop = Dropout::new(0.5);
        let mask = drop.forward(&autograd::Tensor::ones(&[64])).to_vec();
        (
            model
                .parameters()
                .iter()
                .map(|p| p.to_vec())
                .collect::<Vec<_>>(),
            mask,
        )
    };
    let (a, b) = (run(), run());
    assert_eq!(a, b);
    manual_seed(12);
    assert_ne!(NeuralNetwork::new().parameters()[0].to_vec(), a.0[0]);
}
