//! Checkpoints and `--resume`: a run killed with SIGKILL in the middle of an
//! epoch resumes from its last checkpoint and ends with bit for bit the
//! weights of an uninterrupted run; resuming from nothing, or with other
//! flags, is a clear error.

mod common;

use std::fs;
use std::path::Path;
use std::process::Stdio;
use std::thread::sleep;
use std::time::{Duration, Instant};

use nn::models::NeuralNetwork;
use nn::Module;

use common::{arg, ferrograd, real_data, run, synthetic_data, tensor_bits, Run, TempDir};

/// The flags of the run that is interrupted and resumed: shuffling and
/// momentum give it state beyond the weights (permutation, momentum buffers).
fn run_flags(data: &Path) -> Vec<String> {
    [
        "train",
        "--shuffle",
        "--momentum",
        "0.9",
        "--seed",
        "3",
        "--epochs",
        "2",
        "--data-dir",
        &arg(data),
        "--no-download",
        // (a) and (b) run at the same time: one core each.
        "--threads",
        "1",
    ]
    .map(String::from)
    .to_vec()
}

/// The `epoch-*` entries of a checkpoint directory, sorted.
fn epoch_dirs(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = match fs::read_dir(dir) {
        Ok(entries) => entries
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("epoch-"))
            .collect(),
        Err(_) => Vec::new(),
    };
    names.sort();
    names
}

#[test]
fn a_run_killed_mid_epoch_resumes_to_the_uninterrupted_weights() {
    let data = real_data();
    let tmp = TempDir::new("resume-kill");
    let (a_path, b_path, ckpt) = (
        tmp.join("a.safetensors"),
        tmp.join("b.safetensors"),
        tmp.join("ckpt"),
    );

    // (a) The uninterrupted run, in the background while (b) runs.
    let uninterrupted = ferrograd()
        .args(run_flags(&data))
        .args(["--save", &arg(&a_path)])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    // (b) The same run with checkpoints, killed (SIGKILL) as soon as the
    // checkpoint of epoch 1 is in place, i.e. early in epoch 2.
    let mut killed = ferrograd()
        .args(run_flags(&data))
        .args(["--checkpoint-dir", &arg(&ckpt)])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let first = ckpt.join("epoch-0001");
    let start = Instant::now();
    while !first.exists() {
        if let Some(status) = killed.try_wait().unwrap() {
            panic!("the run to interrupt ended ({status}) before writing epoch-0001");
        }
        assert!(start.elapsed() < Duration::from_secs(120), "no epoch-0001");
        sleep(Duration::from_millis(20));
    }
    killed.kill().unwrap();
    let status = killed.wait().unwrap();
    assert!(!status.success(), "the run finished before it was killed");
    assert_eq!(
        epoch_dirs(&ckpt),
        ["epoch-0001"],
        "killed mid epoch 2: only the first checkpoint may exist"
    );

    // The checkpoint the kill left is complete and loads.
    let trainer = fs::read_to_string(first.join("trainer.json")).unwrap();
    assert!(trainer.contains("\"epoch\": 1"), "{trainer}");
    let model = NeuralNetwork::new();
    model
        .load_state_dict(
            &nn::load_safetensors(first.join("model.safetensors")).unwrap(),
            true,
        )
        .unwrap();
    let (buffers, _) = nn::load_safetensors_with_metadata(first.join("optimizer.safetensors"))
        .expect("the optimizer state of epoch 1 loads");
    assert!(!buffers.is_empty(), "momentum buffers expected in epoch 1");

    // (c) Resume: epoch 2 only, then the same weights as (a).
    let resumed = run(run_flags(&data).into_iter().chain([
        "--resume".to_string(),
        arg(&ckpt),
        "--checkpoint-dir".to_string(),
        arg(&ckpt),
        "--save".to_string(),
        arg(&b_path),
    ]));
    resumed.assert_success();
    assert!(
        resumed.stdout.starts_with("Epoch 2\n") && !resumed.stdout.contains("Epoch 1"),
        "the resumed run must run epoch 2 only: {resumed:?}"
    );
    assert_eq!(epoch_dirs(&ckpt), ["epoch-0001", "epoch-0002"]);

    let uninterrupted = uninterrupted.wait_with_output().unwrap();
    let a_stdout = String::from_utf8(uninterrupted.stdout).unwrap();
    assert!(
        uninterrupted.status.success(),
        "{}",
        String::from_utf8_lossy(&uninterrupted.stderr)
    );
    // Epoch 2 printed the same losses and test line in both.
    let a_epoch2 = &a_stdout[a_stdout.find("Epoch 2").expect(&a_stdout)..];
    assert_eq!(resumed.stdout, a_epoch2);

    let a = nn::load_safetensors(&a_path).unwrap();
    let b = nn::load_safetensors(&b_path).unwrap();
    assert_eq!(tensor_bits(&a).len(), 6);
    assert!(
        tensor_bits(&a) == tensor_bits(&b),
        "the resumed run's weights differ from the uninterrupted run's"
    );
}

#[test]
fn resume_from_an_empty_directory_is_an_error() {
    let data = synthetic_data("resume-empty-data");
    let empty = TempDir::new("resume-empty");
    let out = run([
        "train",
        "--resume",
        &arg(empty.path()),
        "--data-dir",
        &arg(data.path()),
        "--no-download",
    ]);
    out.assert_error(&["--resume", &arg(empty.path()), "no complete checkpoint"])
        .assert_no_training();
}

#[test]
fn resume_from_a_missing_directory_is_an_error() {
    let data = synthetic_data("resume-missing-data");
    let missing = data.join("no-such-checkpoints");
    let out = run([
        "train",
        "--resume",
        &arg(&missing),
        "--data-dir",
        &arg(data.path()),
        "--no-download",
    ]);
    out.assert_error(&["--resume", &arg(&missing), "No such file or directory"])
        .assert_no_training();
}

/// `ferrograd train --data-dir DATA --no-download --checkpoint-dir CKPT EXTRA...`
fn train_checkpointed(data: &TempDir, ckpt: &Path, extra: &[&str]) -> Run {
    let (data, ckpt) = (arg(data.path()), arg(ckpt));
    let common = [
        "train",
        "--data-dir",
        &data,
        "--no-download",
        "--checkpoint-dir",
        &ckpt,
    ];
    run(common.iter().chain(extra))
}

#[test]
fn resume_with_other_flags_is_an_error_naming_them() {
    let data = synthetic_data("resume-flags-data");
    let ckpt = data.join("ckpt");
    train_checkpointed(&data, &ckpt, &["--epochs", "1", "--lr", "0.001"]).assert_success();
    assert_eq!(epoch_dirs(&ckpt), ["epoch-0001"]);

    let resumed = ["--epochs", "2", "--lr", "0.01", "--resume", &arg(&ckpt)];
    train_checkpointed(&data, &ckpt, &resumed)
        .assert_error(&[
            "--resume",
            "epoch-0001",
            "other flags",
            "\"lr\": 0.001 then, 0.01 now",
        ])
        .assert_no_training();
    // The checkpoint is still the only one, and still loads.
    assert_eq!(epoch_dirs(&ckpt), ["epoch-0001"]);
    nn::load_safetensors(ckpt.join("epoch-0001/model.safetensors")).unwrap();
}

/// OneCycleLR spans the whole run: resuming with more epochs would step it
/// past its end, so the changed --epochs is refused up front (other
/// schedules may be resumed with more epochs).
#[test]
fn resume_with_more_epochs_of_a_one_cycle_schedule_is_an_error() {
    let data = synthetic_data("resume-onecycle-data");
    let ckpt = data.join("ckpt");
    let schedule = ["--scheduler", "onecycle:0.01"];
    train_checkpointed(&data, &ckpt, &[&schedule[..], &["--epochs", "1"]].concat())
        .assert_success();
    let ckpt_arg = arg(&ckpt);
    let resumed = [&schedule[..], &["--epochs", "2", "--resume", &ckpt_arg]].concat();
    train_checkpointed(&data, &ckpt, &resumed)
        .assert_error(&["--resume", "other flags", "\"epochs\": 1 then, 2 now"])
        .assert_no_training();
}

/// A checkpoint from before `epochs` was recorded (its trainer.json lacks
/// it) still resumes with the same flags.
#[test]
fn a_checkpoint_without_recorded_epochs_still_resumes() {
    let data = synthetic_data("resume-old-format-data");
    let ckpt = data.join("ckpt");
    let flags = ["--scheduler", "onecycle:0.01", "--epochs", "2"];
    train_checkpointed(&data, &ckpt, &flags).assert_success();
    fs::remove_dir_all(ckpt.join("epoch-0002")).unwrap();
    let trainer = ckpt.join("epoch-0001/trainer.json");
    let text = fs::read_to_string(&trainer).unwrap();
    let mut json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json["config"]
        .as_object_mut()
        .unwrap()
        .remove("epochs")
        .unwrap();
    fs::write(&trainer, json.to_string()).unwrap();
    let ckpt_arg = arg(&ckpt);
    let resumed = [&flags[..], &["--resume", &ckpt_arg]].concat();
    train_checkpointed(&data, &ckpt, &resumed).assert_success();
    assert_eq!(epoch_dirs(&ckpt), ["epoch-0001", "epoch-0002"]);
}

/// Without --shuffle and with Adam (two buffers and a step count per
/// parameter): one epoch, then a resumed second one, equals two epochs.
#[test]
fn one_epoch_then_a_resumed_one_equal_two_epochs_with_adam() {
    let data = synthetic_data("resume-adam");
    let (a_path, b_path, ckpt) = (
        data.join("a.safetensors"),
        data.join("b.safetensors"),
        data.join("ckpt"),
    );
    let common = [
        "train",
        "--data-dir",
        &arg(data.path()),
        "--no-download",
        "--optimizer",
        "adam",
        "--lr",
        "0.002",
    ];
    let two = run(common
        .iter()
        .chain(&["--epochs", "2", "--save", &arg(&a_path)]));
    two.assert_success();
    run(common
        .iter()
        .chain(&["--epochs", "1", "--checkpoint-dir", &arg(&ckpt)]))
    .assert_success();
    let resumed = run(common.iter().chain(&[
        "--epochs",
        "2",
        "--resume",
        &arg(&ckpt),
        "--save",
        &arg(&b_path),
    ]));
    resumed.assert_success();
    assert_eq!(
        resumed.stdout,
        two.stdout[two.stdout.find("Epoch 2").unwrap()..]
    );
    let a = nn::load_safetensors(&a_path).unwrap();
    let b = nn::load_safetensors(&b_path).unwrap();
    assert!(tensor_bits(&a) == tensor_bits(&b), "the weights differ");
}
