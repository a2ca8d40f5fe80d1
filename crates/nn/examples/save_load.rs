//! PyTorch's "Save and Load the Model" tutorial, line for line (each Python
//! line above its Rust), with the tutorial's own model in place of VGG16.
//! Weights go to a safetensors file under PyTorch's state_dict names, which
//! PyTorch reads back with `safetensors.torch.load_file` (README.md).
//! Pickling a whole model (`torch.save(model)`) has no counterpart: a model
//! is its Rust type plus its state_dict.
//! Run with `cargo run -p nn --example save_load`.

use nn::models::NeuralNetwork;
use nn::{load_safetensors, save_safetensors, Module};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path =
        std::env::temp_dir().join(format!("model_weights-{}.safetensors", std::process::id()));

    // model = models.vgg16(weights='IMAGENET1K_V1')
    // torch.save(model.state_dict(), 'model_weights.pth')
    let model = NeuralNetwork::new();
    save_safetensors(&path, &model.state_dict())?;

    // model = models.vgg16() # we do not specify ``weights``, i.e. create untrained model
    // model.load_state_dict(torch.load('model_weights.pth', weights_only=True))
    // model.eval()
    let loaded = NeuralNetwork::new();
    loaded.load_state_dict(&load_safetensors(&path)?, true)?;
    loaded.eval();

    let same = model
        .state_dict()
        .iter()
        .zip(loaded.state_dict().iter())
        .all(|((n1, t1), (n2, t2))| n1 == n2 && t1.to_vec() == t2.to_vec());
    println!(
        "Saved {} tensors to {}; loaded back equal: {same}",
        model.state_dict().len(),
        path.display()
    );
    std::fs::remove_file(&path)?;
    assert!(same, "the loaded model differs from the saved one");
    Ok(())
}

/// CI runs the example (`test = true` in Cargo.toml), so that it cannot rot.
#[test]
fn the_example_runs() {
    main().expect("the example runs");
}
