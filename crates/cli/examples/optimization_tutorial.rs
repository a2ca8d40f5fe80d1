//! PyTorch's "Optimizing Model Parameters" tutorial, line for line in ferrograd.
//! Run: `cargo run --release -p ferrograd --example optimization_tutorial`
use autograd::no_grad;
use datasets::{DataLoader, Dataset, Mnist, Subset};
use nn::models::NeuralNetwork; // the tutorial's class: a Flatten and a Linear/ReLU stack
use nn::{CrossEntropyLoss, Module};
use optim::{Optimizer, SgdConfig, SGD};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn train_loop(
    dataloader: &DataLoader,
    model: &impl Module,
    loss_fn: &CrossEntropyLoss,
    optimizer: &mut SGD,
) -> Result<()> {
    let size = dataloader.dataset().len();
    // Set the model to training mode - important for batch normalization and dropout layers
    model.train();
    for (batch, (x, y)) in dataloader.iter().enumerate() {
        // Compute prediction and loss
        let pred = model.forward(&x);
        let loss = loss_fn.forward(&pred, &y);

        // Backpropagation
        loss.backward()?;
        optimizer.step();
        optimizer.zero_grad();

        if batch % 100 == 0 {
            let (loss, current) = (loss.item(), batch * dataloader.batch_size() + x.size(0));
            println!("loss: {loss:>7.6}  [{current:>5}/{size:>5}]");
        }
    }
    Ok(())
}

fn test_loop(dataloader: &DataLoader, model: &impl Module, loss_fn: &CrossEntropyLoss) -> f64 {
    // Set the model to evaluation mode - important for batch normalization and dropout layers
    model.eval();
    let size = dataloader.dataset().len();
    let num_batches = dataloader.len();
    let (mut test_loss, mut correct) = (0.0, 0.0);

    // Evaluating the model with no_grad ensures that no gradients are computed during test mode
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
    correct
}

/// The tutorial on the first `limit` images of each split (all of them when `None`).
fn tutorial(limit: Option<usize>, epochs: usize) -> Result<f64> {
    let first = |d: Mnist| {
        let n = limit.map_or(d.len(), |l| l.min(d.len()));
        Subset::new(d, (0..n).collect())
    };
    let training_data = first(Mnist::fashion_mnist("data", true, true)?);
    let test_data = first(Mnist::fashion_mnist("data", false, true)?);

    let (learning_rate, batch_size) = (1e-3, 64);
    let train_dataloader = DataLoader::new(training_data, batch_size);
    let test_dataloader = DataLoader::new(test_data, batch_size);

    let model = NeuralNetwork::new();
    let loss_fn = CrossEntropyLoss::new();
    let mut optimizer = SGD::new(model.parameters(), SgdConfig { lr: learning_rate, ..Default::default() })?;

    let mut accuracy = 0.0;
    for t in 0..epochs {
        println!("Epoch {}\n-------------------------------", t + 1);
        train_loop(&train_dataloader, &model, &loss_fn, &mut optimizer)?;
        accuracy = test_loop(&test_dataloader, &model, &loss_fn);
    }
    println!("Done!");
    Ok(accuracy)
}

fn main() -> Result<()> {
    tutorial(None, 10).map(|_| ())
}

/// CI runs the example on a slice of the data, so that it cannot rot.
#[test]
fn the_tutorial_runs_on_a_slice_of_the_data() {
    // From the workspace root, as a user runs it: every example's test then
    // shares one data/ (cargo runs a test in its crate's directory).
    std::env::set_current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")).unwrap();
    let accuracy = tutorial(Some(640), 1).expect("the tutorial runs");
    assert!((0.0..=1.0).contains(&accuracy));
}
