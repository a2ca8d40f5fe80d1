//! PyTorch's "Quickstart" tutorial, line for line in ferrograd: FashionMNIST,
//! the tutorial's model, 5 epochs of SGD, save, load, predict one test image.
//! Run: `cargo run --release -p ferrograd --example quickstart`
use std::path::Path;

use autograd::no_grad;
use datasets::{DataLoader, Dataset, Mnist, Subset};
use nn::models::NeuralNetwork; // the tutorial's class: a Flatten and a Linear/ReLU stack
use nn::{load_safetensors, save_safetensors, CrossEntropyLoss, Module};
use optim::{Optimizer, SgdConfig, SGD};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn train(dataloader: &DataLoader, model: &impl Module, loss_fn: &CrossEntropyLoss, optimizer: &mut SGD) -> Result<()> {
    let size = dataloader.dataset().len();
    model.train();
    for (batch, (x, y)) in dataloader.iter().enumerate() {
        // Compute prediction error
        let pred = model.forward(&x);
        let loss = loss_fn.forward(&pred, &y);

        // Backpropagation
        loss.backward()?;
        optimizer.step();
        optimizer.zero_grad();

        if batch % 100 == 0 {
            let (loss, current) = (loss.item(), (batch + 1) * x.size(0));
            println!("loss: {loss:>7.6}  [{current:>5}/{size:>5}]");
        }
    }
    Ok(())
}

fn test(dataloader: &DataLoader, model: &impl Module, loss_fn: &CrossEntropyLoss) {
    let size = dataloader.dataset().len();
    let num_batches = dataloader.len();
    model.eval();
    let (mut test_loss, mut correct) = (0.0, 0.0);
    no_grad(|| {
        for (x, y) in dataloader {
            let pred = model.forward(&x);
            test_loss += loss_fn.forward(&pred, &y).item() as f64;
            correct += pred.argmax(1).eq(&y).sum().item() as f64;
        }
    });
    test_loss /= num_batches as f64;
    correct /= size as f64;
    println!("Test Error: \n Accuracy: {:>0.1}%, Avg loss: {test_loss:>8.6} \n", 100.0 * correct);
}

/// The tutorial on the first `limit` images of each split (all of them when `None`),
/// saving the model to `path`.
fn quickstart(limit: Option<usize>, epochs: usize, path: &Path) -> Result<()> {
    let first = |d: Mnist| {
        let n = limit.map_or(d.len(), |l| l.min(d.len()));
        Subset::new(d, (0..n).collect())
    };
    // Download training data from open datasets.
    let training_data = first(Mnist::fashion_mnist("data", true, true)?);
    // Download test data from open datasets.
    let test_data = Mnist::fashion_mnist("data", false, true)?;

    let batch_size = 64;

    // Create data loaders.
    let train_dataloader = DataLoader::new(training_data, batch_size);
    let test_dataloader = DataLoader::new(first(test_data.clone()), batch_size);

    if let Some((x, y)) = test_dataloader.iter().next() {
        println!("Shape of X [N, C, H, W]: {:?}", x.shape());
        println!("Shape of y: {:?} f32", y.shape());
    }

    println!("Using cpu device");
    let model = NeuralNetwork::new();
    println!("{}", model.repr());

    let loss_fn = CrossEntropyLoss::new();
    let mut optimizer = SGD::new(model.parameters(), SgdConfig { lr: 1e-3, ..Default::default() })?;

    for t in 0..epochs {
        println!("Epoch {}\n-------------------------------", t + 1);
        train(&train_dataloader, &model, &loss_fn, &mut optimizer)?;
        test(&test_dataloader, &model, &loss_fn);
    }
    println!("Done!");

    save_safetensors(path, &model.state_dict())?;
    println!("Saved PyTorch Model State to {}", path.display());

    let model = NeuralNetwork::new();
    model.load_state_dict(&load_safetensors(path)?, true)?;

    let classes =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    model.eval();
    let (x, y) = test_data.get(0);
    no_grad(|| {
        let pred = model.forward(&x);
        let (predicted, actual) = (classes[pred.select(0, 0).argmax(0).item() as usize], classes[y as usize]);
        println!("Predicted: \"{predicted}\", Actual: \"{actual}\"");
    });
    Ok(())
}

fn main() -> Result<()> {
    quickstart(None, 5, Path::new("model.safetensors"))
}

/// CI runs the example on a slice of the data (`test = true` in Cargo.toml), so that it cannot rot.
#[test]
fn the_quickstart_runs_on_a_slice_of_the_data() {
    // From the workspace root, as a user runs it: every example's test then
    // shares one data/ (cargo runs a test in its crate's directory).
    std::env::set_current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")).unwrap();
    let path = std::env::temp_dir().join(format!("quickstart-{}.safetensors", std::process::id()));
    let result = quickstart(Some(640), 1, &path);
    let _ = std::fs::remove_file(&path);
    result.expect("the quickstart runs");
}
