//! `--optimizer adam`, checked against what must hold without PyTorch: the
//! exact shape of Adam's first step, and fast convergence on the real data.

mod common;

use nn::models::NeuralNetwork;
use nn::{CrossEntropyLoss, Module};

use common::{
    accuracy_line, arg, number_after, real_data, run, tutorial_weights, write_synthetic, TempDir,
};

const LR: f64 = 1e-3;

/// Adam's first step, on a data set of exactly one batch (64 images, batch
/// size 64), so one epoch is one step.
///
/// Why every weight moves by `-lr * g / (|g| + eps)`: with `m0 = v0 = 0`,
/// step 1 gives `m1 = (1 - b1) g` and `v1 = (1 - b2) g^2`; the bias
/// corrections divide by `1 - b1^1` and `1 - b2^1`, so `m̂ = g` and
/// `v̂ = g^2`, and the update `lr * m̂ / (sqrt(v̂) + eps)` is
/// `lr * g / (|g| + eps)` (eps = 1e-8, no weight decay). Hence:
/// - `|Δ| <= lr` (up to f32 rounding),
/// - `sign(Δ) = -sign(g)` wherever `g != 0`,
/// - `|Δ| = lr * |g| / (|g| + 1e-8)`, within 1e-4 of lr once `|g| > 1e-4`,
/// - `Δ = 0` exactly where `g = 0` (0 / (0 + eps)).
///
/// The gradient is computed here with nn's model and loss on the same batch.
#[test]
fn the_first_adam_step_moves_every_weight_by_lr_against_its_gradient() {
    let tmp = TempDir::new("adam-first-step");
    let data = tmp.join("data");
    let (train, _) = write_synthetic(&data, 64, 64, 7);
    let init = tmp.join("init.safetensors");
    let out_path = tmp.join("out.safetensors");
    nn::save_safetensors(&init, &tutorial_weights(42)).unwrap();

    let out = run([
        "train",
        "--optimizer",
        "adam",
        "--lr",
        &LR.to_string(),
        "--epochs",
        "1",
        "--init",
        &arg(&init),
        "--save",
        &arg(&out_path),
        "--data-dir",
        &arg(&data),
        "--no-download",
    ]);
    out.assert_success();

    // The gradient of the one batch at the initial weights.
    let model = NeuralNetwork::new();
    model
        .load_state_dict(&nn::load_safetensors(&init).unwrap(), true)
        .unwrap();
    let (x, y) = train.batch(0..64);
    let loss = CrossEntropyLoss::new().forward(&model.forward(&x), &y);
    loss.backward().unwrap();

    // The one loss line is the loss of that batch at the initial weights.
    let loss_line = out.stdout.lines().find(|l| l.starts_with("loss:")).unwrap();
    assert_eq!(loss_line.split_once("  [").unwrap().1, "   64/   64]");
    let printed = number_after(loss_line, "loss: ");
    assert!(
        (printed - loss.item() as f64).abs() <= 1e-5,
        "printed {printed}, expected {}",
        loss.item()
    );

    let after = nn::load_safetensors(&out_path).unwrap();
    let (mut zero_grads, mut large_grads) = (0usize, 0usize);
    for (name, param) in model.named_parameters() {
        let g = param
            .grad()
            .expect("a gradient for every parameter")
            .to_vec();
        let before = param.to_vec();
        let now = after.get(&name).unwrap().to_vec();
        assert_eq!(now.len(), before.len(), "{name}");
        for i in 0..g.len() {
            let (g, w0, w1) = (g[i] as f64, before[i] as f64, now[i] as f64);
            let delta = w1 - w0; // exact: both are f32
                                 // Storing the new weight in f32 rounds it by up to one ulp of its
                                 // magnitude, on top of the update's own few f32 roundings.
            let ulp = f32::EPSILON as f64 * w0.abs().max(w1.abs());
            let at = || format!("{name}[{i}]: w {w0} -> {w1}, Δ {delta:e}, g {g:e}");
            assert!(
                delta.abs() <= LR * (1.0 + 1e-6) + ulp,
                "|Δ| > lr at {}",
                at()
            );
            if g == 0.0 {
                zero_grads += 1;
                assert_eq!(delta, 0.0, "moved without a gradient at {}", at());
            }
            if g.abs() > 1e-6 {
                assert_eq!(delta.signum(), -g.signum(), "wrong direction at {}", at());
            }
            if g.abs() > 1e-4 {
                large_grads += 1;
                assert!(
                    (delta.abs() - LR).abs() <= 0.01 * LR,
                    "|Δ| not ≈ lr at {}",
                    at()
                );
            }
        }
    }
    // The zero border of every image leaves first-layer weights without a
    // gradient; most others have one. Both checks above must have had work.
    assert!(zero_grads >= 512 * 100, "only {zero_grads} zero gradients");
    assert!(large_grads > 100_000, "only {large_grads} gradients > 1e-4");
}

/// One epoch of Adam at lr 1e-3 on FashionMNIST from ferrograd's own init.
///
/// Why 75%: SGD at the same lr moves each weight by lr * g, with |g| mostly far
/// below 1, and reaches about 45% after one epoch (PyTorch's reference run:
/// 44.8%). Adam moves each weight by about lr per step regardless of |g|, so
/// in 938 steps this network gets where a well-tuned SGD gets in several
/// epochs; the tutorial's network trained that far scores above 80% (a
/// linear classifier alone reaches about 84% on FashionMNIST). 75% leaves
/// room for the init and the order of the data while failing an Adam that
/// behaves like plain SGD, takes no steps, or steps the wrong way.
#[test]
fn one_adam_epoch_on_fashion_mnist_beats_75_percent() {
    let data = real_data();
    let out = run([
        "train",
        "--optimizer",
        "adam",
        "--lr",
        "1e-3",
        "--epochs",
        "1",
        "--data-dir",
        &arg(&data),
        "--no-download",
    ]);
    out.assert_success();
    let test_line = out
        .stdout
        .lines()
        .find(|l| l.starts_with(" Accuracy: "))
        .unwrap_or_else(|| panic!("no test line: {out:?}"));
    let (accuracy, avg_loss) = accuracy_line(test_line);
    assert!(accuracy > 75.0, "Adam reached only {accuracy}%: {out:?}");
    // SGD's epoch ends at an average loss of 2.15; a network this accurate
    // has a cross-entropy around 0.4 to 0.5.
    assert!(avg_loss < 0.7, "Adam's test loss is {avg_loss}: {out:?}");
}
