//! Bad input from outside: each ends the run with its own clear error
//! (exit code non-zero, one line naming what and where, no panic), before any
//! training when it can be known before, and never overwrites a good file.
//!
//! Most tests use a synthetic FashionMNIST (256 training, 64 test images)
//! with `--no-download`, so nothing but the files written here is read.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use autograd::Tensor;

use common::{arg, raw_dir, run, synthetic_data, tutorial_weights, write_synthetic, Run, TempDir};

/// `ferrograd train --data-dir DATA --no-download EXTRA...`
fn train(data: &Path, extra: &[&str]) -> Run {
    let mut args = vec![
        "train".to_string(),
        "--data-dir".to_string(),
        arg(data),
        "--no-download".to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    run(args)
}

fn predict(data: &Path, weights: &Path, index: &str) -> Run {
    run([
        "predict",
        "--weights",
        &arg(weights),
        "--index",
        index,
        "--data-dir",
        &arg(data),
        "--no-download",
    ])
}

/// A file of `len` pseudo-random bytes (deterministic, first byte non-zero so
/// it cannot pass for an IDX or safetensors header by chance).
fn random_bytes(len: usize) -> Vec<u8> {
    let mut generator = autograd::Generator::new(99);
    let mut bytes: Vec<u8> = (0..len).map(|_| generator.below(256) as u8).collect();
    bytes[0] |= 0x80;
    bytes
}

/// Save the tutorial's weights, changed by `edit`, as a safetensors file.
fn weights_file(
    dir: &TempDir,
    name: &str,
    edit: impl FnOnce(&mut Vec<(String, Tensor)>),
) -> PathBuf {
    let mut entries: Vec<(String, Tensor)> = tutorial_weights(5)
        .iter()
        .map(|(k, t)| (k.to_string(), t.clone()))
        .collect();
    edit(&mut entries);
    let path = dir.join(name);
    nn::save_safetensors(&path, &entries.into_iter().collect()).unwrap();
    path
}

// ------------------------------------------------------------------ data

#[test]
fn missing_data_without_download_names_the_file_and_the_ways_to_get_it() {
    let tmp = TempDir::new("bad-missing-data");
    let data = tmp.join("nothing-here");
    let raw = arg(&raw_dir(&data));
    train(&data, &[])
        .assert_error(&[
            "train-images-idx3-ubyte",
            &raw,
            "(1) download",
            "(2) install the Debian package",
            "apt-get install dataset-fashion-mnist",
            "(3) copy the four files",
        ])
        .assert_no_training();
}

/// The datasets crate's advice names "the CLI's --download", a flag ferrograd
/// does not have; what stopped the download here is `--no-download`.
#[test]
fn missing_data_without_download_points_at_no_download() {
    let tmp = TempDir::new("bad-missing-data-flag");
    let out = train(&tmp.join("nothing-here"), &[]);
    out.assert_error(&["--no-download"]);
    assert!(!out.stderr.contains("--download)"), "{out:?}");
}

#[test]
fn random_bytes_as_training_images_name_the_file() {
    let data = synthetic_data("bad-random-images");
    let file = raw_dir(data.path()).join("train-images-idx3-ubyte");
    fs::write(&file, random_bytes(4096)).unwrap();
    train(data.path(), &[])
        .assert_error(&[&arg(&file), "not an IDX file"])
        .assert_no_training();
}

#[test]
fn truncated_training_images_name_the_file_and_the_sizes() {
    let data = synthetic_data("bad-truncated-images");
    let file = raw_dir(data.path()).join("train-images-idx3-ubyte");
    let bytes = fs::read(&file).unwrap();
    fs::write(&file, &bytes[..bytes.len() / 2]).unwrap();
    // 256 images of 784 bytes and a 16-byte header.
    let expected = format!("{} bytes expected", 16 + 256 * 784);
    train(data.path(), &[])
        .assert_error(&[&arg(&file), "truncated", &expected])
        .assert_no_training();
}

#[test]
fn labels_out_of_range_name_the_file() {
    let data = synthetic_data("bad-labels");
    let file = raw_dir(data.path()).join("t10k-labels-idx1-ubyte");
    let mut bytes = fs::read(&file).unwrap();
    bytes[8 + 3] = 10; // label of test image 3: FashionMNIST has classes 0 to 9
    fs::write(&file, bytes).unwrap();
    train(data.path(), &[])
        .assert_error(&[&arg(&file), "label 10 at index 3"])
        .assert_no_training();
}

/// A well-formed IDX file of 64 images of 14x14 (the test split): the
/// network takes 784 pixels, so this is an error naming the file, not a
/// panic in the first layer.
#[test]
fn images_that_are_not_28x28_name_the_file_and_the_size() {
    let data = synthetic_data("bad-image-size");
    let file = raw_dir(data.path()).join("t10k-images-idx3-ubyte");
    let mut bytes = vec![0, 0, 0x08, 3, 0, 0, 0, 64, 0, 0, 0, 14, 0, 0, 0, 14];
    bytes.extend(random_bytes(64 * 14 * 14));
    fs::write(&file, bytes).unwrap();
    train(data.path(), &[])
        .assert_error(&[&arg(&file), "14x14", "28x28"])
        .assert_no_training();
    let weights = weights_file(&data, "w.safetensors", |_| {});
    let (data, weights) = (arg(data.path()), arg(&weights));
    let common = ["--data-dir", &data, "--no-download", "--weights", &weights];
    for command in [&["eval"][..], &["predict", "--index", "0"]] {
        run(command.iter().chain(&common)).assert_error(&[&arg(&file), "14x14", "28x28"]);
    }
}

// ------------------------------------------------------------------ --init

#[test]
fn init_from_a_missing_file_names_it() {
    let data = synthetic_data("bad-init-missing");
    let init = data.join("no-such-weights.safetensors");
    train(data.path(), &["--init", &arg(&init)])
        .assert_error(&["--init", &arg(&init), "does not exist"])
        .assert_no_training();
}

#[test]
fn init_missing_a_tensor_names_the_key() {
    let data = synthetic_data("bad-init-key");
    let init = weights_file(&data, "init.safetensors", |entries| {
        entries.retain(|(k, _)| k != "linear_relu_stack.4.bias")
    });
    train(data.path(), &["--init", &arg(&init)])
        .assert_error(&["--init", &arg(&init), "missing", "linear_relu_stack.4.bias"])
        .assert_no_training();
}

#[test]
fn init_with_an_unexpected_tensor_names_the_key() {
    let data = synthetic_data("bad-init-extra");
    let init = weights_file(&data, "init.safetensors", |entries| {
        entries.push((
            "linear_relu_stack.6.weight".into(),
            Tensor::zeros(&[10, 10]),
        ))
    });
    train(data.path(), &["--init", &arg(&init)])
        .assert_error(&[
            "--init",
            &arg(&init),
            "unexpected",
            "linear_relu_stack.6.weight",
        ])
        .assert_no_training();
}

/// An --init tensor holding NaN or inf is named, before any training (it
/// failed at the first batch as a diverged run, blaming the lr).
#[test]
fn init_with_a_non_finite_value_names_the_tensor() {
    let data = synthetic_data("bad-init-nan");
    let init = weights_file(&data, "init.safetensors", |entries| {
        let b = entries
            .iter_mut()
            .find(|(k, _)| k == "linear_relu_stack.2.bias")
            .unwrap();
        let mut values = b.1.to_vec();
        values[7] = f32::NAN;
        b.1 = Tensor::from_vec(values, &[512]);
    });
    train(data.path(), &["--init", &arg(&init)])
        .assert_error(&[
            "--init",
            &arg(&init),
            "linear_relu_stack.2.bias",
            "non-finite",
            "NaN at flat index 7",
        ])
        .assert_no_training();
}

#[test]
fn init_with_a_wrong_shape_names_the_key_and_both_shapes() {
    let data = synthetic_data("bad-init-shape");
    let init = weights_file(&data, "init.safetensors", |entries| {
        let w = entries
            .iter_mut()
            .find(|(k, _)| k == "linear_relu_stack.2.weight")
            .unwrap();
        w.1 = Tensor::zeros(&[512, 511]);
    });
    train(data.path(), &["--init", &arg(&init)])
        .assert_error(&[
            "--init",
            &arg(&init),
            "linear_relu_stack.2.weight",
            "512, 512",
            "512, 511",
        ])
        .assert_no_training();
}

#[test]
fn init_of_random_bytes_is_not_a_safetensors_file() {
    let data = synthetic_data("bad-init-random");
    let init = data.join("random.safetensors");
    fs::write(&init, random_bytes(10_000)).unwrap();
    train(data.path(), &["--init", &arg(&init)])
        .assert_error(&["--init", &arg(&init), "not a valid safetensors file"])
        .assert_no_training();
}

// ------------------------------------------------------------------ --save

#[test]
fn save_into_a_missing_directory_fails_before_training() {
    let data = synthetic_data("bad-save-missing-dir");
    let dir = data.join("no-such-dir");
    let save = dir.join("out.safetensors");
    train(data.path(), &["--save", &arg(&save)])
        .assert_error(&["--save", &arg(&dir), "No such file or directory"])
        .assert_no_training();
    assert!(!dir.exists());
}

#[test]
fn save_onto_a_directory_fails_before_training() {
    let data = synthetic_data("bad-save-is-dir");
    train(data.path(), &["--save", &arg(data.path())])
        .assert_error(&["--save", &arg(data.path()), "is a directory"])
        .assert_no_training();
}

#[test]
fn save_into_an_unwritable_directory_fails_before_training() {
    use std::os::unix::fs::PermissionsExt;
    let data = synthetic_data("bad-save-unwritable");
    let dir = data.join("read-only");
    fs::create_dir(&dir).unwrap();
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o555)).unwrap();
    // Root writes into read-only directories; sysfs refuses new files even to root.
    let dir = if fs::write(dir.join("probe"), b"").is_ok() {
        PathBuf::from("/sys")
    } else {
        dir
    };
    let save = dir.join("out.safetensors");
    train(data.path(), &["--save", &arg(&save)])
        .assert_error(&["--save", &arg(&dir), "Permission denied"])
        .assert_no_training();
    assert!(!save.exists());
}

// ------------------------------------------------------------------ other outputs

#[test]
fn an_unwritable_checkpoint_dir_fails_before_training() {
    let data = synthetic_data("bad-ckpt-dir");
    // A directory cannot be made inside a regular file, whoever runs this.
    let blocker = data.join("a-file");
    fs::write(&blocker, b"").unwrap();
    let ckpt = blocker.join("ckpt");
    train(data.path(), &["--checkpoint-dir", &arg(&ckpt)])
        .assert_error(&["--checkpoint-dir", &arg(&ckpt)])
        .assert_no_training();
}

#[test]
fn a_plot_of_unknown_format_fails_before_training() {
    let data = synthetic_data("bad-plot-format");
    let plot = data.join("curves.jpg");
    train(data.path(), &["--plot", &arg(&plot)])
        .assert_error(&["--plot", &arg(&plot), ".png or .svg"])
        .assert_no_training();
}

#[test]
fn a_plot_into_a_missing_directory_fails_before_training() {
    let data = synthetic_data("bad-plot-dir");
    let plot = data.join("no-such-dir/curves.png");
    train(data.path(), &["--plot", &arg(&plot)])
        .assert_error(&["--plot", "no-such-dir"])
        .assert_no_training();
}

#[test]
fn metrics_into_a_missing_directory_fails_before_training() {
    let data = synthetic_data("bad-metrics-dir");
    let metrics = data.join("no-such-dir/metrics.jsonl");
    train(data.path(), &["--metrics", &arg(&metrics)])
        .assert_error(&["--metrics", &arg(&metrics), "No such file or directory"])
        .assert_no_training();
}

// ------------------------------------------------------------------ flags

#[test]
fn a_negative_learning_rate_is_rejected() {
    let data = synthetic_data("bad-lr");
    train(data.path(), &["--lr=-1"])
        .assert_error(&["--lr", ">= 0", "-1"])
        .assert_no_training();
}

#[test]
fn a_scheduler_that_would_make_the_lr_negative_or_nan_is_rejected() {
    let data = synthetic_data("bad-scheduler");
    train(data.path(), &["--scheduler", "exponential:-1"])
        .assert_error(&["--scheduler", "GAMMA must not be negative"])
        .assert_no_training();
    train(data.path(), &["--scheduler", "onecycle:nan"])
        .assert_error(&["--scheduler", "MAX_LR must be a finite number"])
        .assert_no_training();
}

/// `--lr -1` (two words) is how most people type it.
#[test]
fn a_negative_learning_rate_as_a_separate_word_is_rejected_as_negative() {
    let data = synthetic_data("bad-lr-word");
    train(data.path(), &["--lr", "-1"])
        .assert_error(&["--lr", ">= 0", "-1"])
        .assert_no_training();
}

#[test]
fn a_nan_learning_rate_is_rejected() {
    let data = synthetic_data("bad-lr-nan");
    train(data.path(), &["--lr", "NaN"])
        .assert_error(&["--lr", "finite"])
        .assert_no_training();
}

#[test]
fn a_batch_size_of_zero_is_rejected() {
    let data = synthetic_data("bad-batch-size");
    train(data.path(), &["--batch-size", "0"])
        .assert_usage_error(&["'0'", "--batch-size"])
        .assert_no_training();
}

#[test]
fn a_negative_count_is_rejected_as_a_value_not_a_flag() {
    let data = synthetic_data("bad-negative-count");
    for (flag, value) in [
        ("--batch-size", "-5"),
        ("--epochs", "-1"),
        ("--threads", "-2"),
    ] {
        train(data.path(), &[flag, value])
            .assert_usage_error(&[&format!("'{value}'"), flag, "is not in 1..="])
            .assert_no_training();
    }
    train(data.path(), &["--seed", "-1"])
        .assert_usage_error(&["'-1'", "--seed", "invalid digit"])
        .assert_no_training();
}

#[test]
fn zero_epochs_are_rejected() {
    let data = synthetic_data("bad-epochs");
    train(data.path(), &["--epochs", "0"])
        .assert_usage_error(&["'0'", "--epochs"])
        .assert_no_training();
}

#[test]
fn an_unknown_optimizer_is_rejected_with_the_known_ones() {
    let data = synthetic_data("bad-optimizer");
    let out = train(data.path(), &["--optimizer", "bogus"]);
    out.assert_usage_error(&["'bogus'", "--optimizer"])
        .assert_no_training();
    assert!(out.stderr.contains("sgd, adam, adamw, rmsprop"), "{out:?}");
}

#[test]
fn an_unknown_dataset_is_rejected_with_the_known_ones() {
    let data = synthetic_data("bad-dataset");
    let out = train(data.path(), &["--dataset", "bogus"]);
    out.assert_usage_error(&["'bogus'", "--dataset"])
        .assert_no_training();
    assert!(out.stderr.contains("fashion-mnist, mnist"), "{out:?}");
}

#[test]
fn an_unknown_scheduler_is_rejected_with_the_known_ones() {
    let data = synthetic_data("bad-scheduler");
    train(data.path(), &["--scheduler", "bogus"])
        .assert_error(&["--scheduler", "'bogus'", "step", "cosine", "plateau"])
        .assert_no_training();
}

#[test]
fn nesterov_without_momentum_is_rejected() {
    let data = synthetic_data("bad-nesterov");
    train(data.path(), &["--nesterov"])
        .assert_error(&["--nesterov", "--momentum"])
        .assert_no_training();
}

#[test]
fn nesterov_with_another_optimizer_is_rejected() {
    let data = synthetic_data("bad-nesterov-adam");
    train(data.path(), &["--nesterov", "--optimizer", "adam"])
        .assert_error(&["--nesterov", "sgd"])
        .assert_no_training();
}

// ------------------------------------------------------------------ divergence

#[test]
fn a_diverging_run_stops_with_an_error_and_writes_nothing() {
    let data = synthetic_data("bad-diverge");
    let ckpt = data.join("ckpt");
    let save = data.join("keep.safetensors");
    let previous = b"an earlier run's weights".to_vec();
    fs::write(&save, &previous).unwrap();
    let out = train(
        data.path(),
        &[
            "--lr",
            "1e9",
            "--epochs",
            "3",
            "--checkpoint-dir",
            &arg(&ckpt),
            "--save",
            &arg(&save),
        ],
    );
    out.assert_error(&["loss became", "diverged", "--lr"]);
    let line = out.stderr.trim_end();
    assert!(
        line.contains("NaN") || line.contains("inf"),
        "the error should say the loss is NaN or infinite: {line}"
    );
    assert!(!out.stdout.contains("Done!"), "{out:?}");
    let checkpoints: Vec<_> = fs::read_dir(&ckpt)
        .map(|d| {
            d.map(|e| e.unwrap().file_name())
                .filter(|n| n.to_string_lossy().starts_with("epoch-"))
                .collect()
        })
        .unwrap_or_default();
    assert!(
        checkpoints.is_empty(),
        "checkpoints written: {checkpoints:?}"
    );
    assert_eq!(
        fs::read(&save).unwrap(),
        previous,
        "--save file overwritten"
    );
}

// ------------------------------------------------------------------ eval, predict

#[test]
fn predict_with_an_index_out_of_range_names_the_range() {
    let data = synthetic_data("bad-predict-index");
    let weights = weights_file(&data, "w.safetensors", |_| {});
    let out = predict(data.path(), &weights, "64");
    out.assert_error(&["--index 64", "out of range", "64 images"]);
    assert!(out.stdout.is_empty(), "{out:?}");
}

/// `predict` names the class of the largest logit, as PyTorch's
/// `pred[0].argmax(0)`: with the last layer's weights zeroed, a bias of +inf
/// on class 3 makes every probability NaN (PyTorch's softmax too), and a bias
/// of 1e-8 on class 1 leaves the two largest probabilities equal (0.5 and
/// 0.5) while the logits still differ. It picked from the probabilities: the
/// first class, at "-inf%".
#[test]
fn predict_takes_the_argmax_of_the_logits() {
    let data = synthetic_data("predict-argmax");
    for (class, bias, name, probability) in [
        (3, f32::INFINITY, "Dress", "nan"),
        (1, 1e-8, "Trouser", "50.0"),
    ] {
        let weights = weights_file(&data, "w.safetensors", |entries| {
            for (key, t) in entries.iter_mut() {
                if key == "linear_relu_stack.4.weight" {
                    *t = Tensor::zeros(t.shape());
                }
                if key == "linear_relu_stack.4.bias" {
                    let mut b = vec![0.0; 10];
                    b[class] = bias;
                    if bias < 1.0 {
                        b.iter_mut().skip(2).for_each(|v| *v = -10.0);
                    }
                    *t = Tensor::from_vec(b, &[10]);
                }
            }
        });
        let out = predict(data.path(), &weights, "0");
        out.assert_success();
        let want = format!("Predicted: \"{name}\" ({probability}%), Actual: ");
        assert!(out.stdout.starts_with(&want), "{want:?} expected: {out:?}");
    }
}

#[test]
fn eval_with_missing_weights_names_the_file() {
    let data = synthetic_data("bad-eval-weights");
    let weights = data.join("missing.safetensors");
    let out = run([
        "eval",
        "--weights",
        &arg(&weights),
        "--data-dir",
        &arg(data.path()),
        "--no-download",
    ]);
    out.assert_error(&["--weights", &arg(&weights), "does not exist"]);
    assert!(out.stdout.is_empty(), "{out:?}");
}

/// A data set whose test split holds no image: valid IDX files, N = 0.
fn empty_test_set(tag: &str) -> (TempDir, PathBuf) {
    let data = TempDir::new(tag);
    write_synthetic(data.path(), 64, 0, 3);
    let weights = weights_file(&data, "w.safetensors", |_| {});
    (data, weights)
}

#[test]
fn predict_on_an_empty_test_set_is_an_error() {
    let (data, weights) = empty_test_set("bad-predict-empty");
    let out = predict(data.path(), &weights, "0");
    out.assert_error(&["t10k-images-idx3-ubyte", "no images"]);
}

#[test]
fn eval_on_an_empty_test_set_is_an_error() {
    let (data, weights) = empty_test_set("bad-eval-empty");
    let out = run([
        "eval",
        "--weights",
        &arg(&weights),
        "--data-dir",
        &arg(data.path()),
        "--no-download",
    ]);
    out.assert_error(&["t10k-images-idx3-ubyte", "no images"]);
    assert!(!out.stdout.contains("NaN"), "{out:?}");
}

#[test]
fn train_on_an_empty_test_set_is_an_error_before_training() {
    let (data, _) = empty_test_set("bad-train-empty");
    train(data.path(), &[])
        .assert_error(&["t10k-images-idx3-ubyte", "no images"])
        .assert_no_training();
}

/// `ferrograd train | head -1`: when the reader goes, the run stops quietly
/// with the status of a process killed by SIGPIPE (141), not a panic.
#[test]
fn a_closed_stdout_stops_the_run_without_a_panic() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let data = synthetic_data("closed-stdout");
    let mut child = common::ferrograd()
        .args([
            "train",
            "--data-dir",
            &arg(data.path()),
            "--no-download",
            "--epochs",
            "1000",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert_eq!(first, "Epoch 1\n");
    // The reader (and with it the pipe's read end) is dropped here.
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(141), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
