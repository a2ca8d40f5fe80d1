//! `ferrograd eval` and `ferrograd predict`: use saved weights (ferrograd's or PyTorch's).

use anyhow::{bail, Context, Result};
use autograd::{no_grad, Tensor};
use datasets::{DataLoader, Dataset};
use nn::models::NeuralNetwork;
use nn::{CrossEntropyLoss, Module};

use crate::args::{EvalArgs, PredictArgs};
use crate::data;

fn load_model(path: &std::path::Path) -> Result<NeuralNetwork> {
    let model = NeuralNetwork::new();
    let weights =
        nn::load_safetensors(path).with_context(|| format!("--weights {}", path.display()))?;
    model
        .load_state_dict(&weights, true)
        .with_context(|| format!("--weights {}", path.display()))?;
    model.eval();
    Ok(model)
}

/// The tutorial's test lines for the weights in `--weights`.
pub fn eval(args: &EvalArgs) -> Result<()> {
    let model = load_model(&args.weights)?;
    let test = data::load(&args.data, false)?;
    let size = test.len();
    let loader = DataLoader::new(test, args.batch_size as usize);
    let loss_fn = CrossEntropyLoss::new();
    let (mut test_loss, mut correct) = (0.0f64, 0usize);
    no_grad(|| {
        for (x, y) in &loader {
            let pred = model.forward(&x);
            test_loss += loss_fn.forward(&pred, &y).item() as f64;
            correct += pred.argmax(1).eq(&y).sum().item() as usize;
        }
    });
    test_loss /= loader.len() as f64;
    let accuracy = correct as f64 / size as f64;
    crate::say(&test_lines(accuracy, test_loss));
    Ok(())
}

/// The tutorial's test report: `Test Error: `, ` Accuracy: 48.5%, Avg loss: 2.158658 `
/// and a blank line, from the accuracy in [0, 1] and the mean of the batch losses.
pub fn test_lines(accuracy: f64, avg_loss: f64) -> String {
    format!(
        "Test Error: \n Accuracy: {:>0.1}%, Avg loss: {} \n",
        100.0 * accuracy,
        python_f(avg_loss, 8)
    )
}

/// `x` as Python's `f"{x:>{width}f}"` prints it: 6 decimals, right-aligned,
/// and `nan` / `inf` / `-inf` in Python's spelling (Rust's is `NaN`).
pub fn python_f(x: f64, width: usize) -> String {
    if x.is_nan() {
        format!("{:>width$}", "nan")
    } else {
        format!("{x:>width$.6}")
    }
}

/// The predicted class of one test image, its probability and the true label.
pub fn predict(args: &PredictArgs) -> Result<()> {
    let model = load_model(&args.weights)?;
    let test = data::load(&args.data, false)?;
    if args.index >= test.len() {
        bail!(
            "--index {} is out of range: the test set has {} images (0 to {})",
            args.index,
            test.len(),
            test.len() - 1
        );
    }
    let (image, label) = test.get(args.index);
    let x = image.unsqueeze(0);
    let logits: Tensor = no_grad(|| model.forward(&x));
    // The class is the logits' argmax, as the quickstart's `pred[0].argmax(0)`
    // (the first NaN wins, as in PyTorch); the softmax of an infinite logit is
    // NaN, and two logits 1e-8 apart have equal probabilities.
    let best = logits.argmax(1).item() as usize;
    let prob = 100.0 * logits.softmax(1).to_vec()[best];
    let prob = if prob.is_nan() {
        "nan".to_string()
    } else {
        format!("{prob:.1}")
    };
    let classes = test.classes();
    crate::say(&format!(
        "Predicted: \"{}\" ({prob}%), Actual: \"{}\"",
        classes[best], classes[label as usize]
    ));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::python_f;

    #[test]
    fn numbers_print_as_pythons_f_format() {
        assert_eq!(python_f(2.158658321, 8), "2.158658");
        assert_eq!(python_f(0.5, 8), "0.500000");
        assert_eq!(python_f(f64::NAN, 8), "     nan");
        assert_eq!(python_f(f64::INFINITY, 8), "     inf");
        assert_eq!(python_f(f64::NEG_INFINITY, 7), "   -inf");
    }
}
