//! Data-parallel training over MPI (feature `distributed`): `mpirun -np 2
//! ferrograd train` gives the weights and printed numbers of one process
//! within 1e-5; only rank 0 prints and writes; a killed or hung rank ends the
//! job within seconds, naming the rank, and the run resumes from its last
//! checkpoint. Needs OpenMPI's `mpirun` on PATH: without it each test says it
//! is skipped and why.
//!
//! `cargo test -p ferrograd --features distributed --test distributed`
#![cfg(feature = "distributed")]

mod common;

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use common::{accuracy_line, arg, number_after, write_synthetic, Run, TempDir};

/// `mpirun -np N ferrograd ...`, or `None` (and a note on stderr) when
/// OpenMPI's mpirun cannot be started.
fn mpirun(np: usize) -> Option<Command> {
    let works = Command::new("mpirun")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !works {
        eprintln!(
            "skipped: no working `mpirun` on PATH (install OpenMPI: apt-get install openmpi-bin libopenmpi-dev)"
        );
        return None;
    }
    let mut cmd = Command::new("mpirun");
    // Root in CI containers; more ranks than cores on small machines.
    cmd.env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        .args(["--oversubscribe", "-np", &np.to_string()])
        .arg(env!("CARGO_BIN_EXE_ferrograd"));
    Some(cmd)
}

fn output(cmd: &mut Command) -> Run {
    let out = cmd.output().expect("starting mpirun");
    Run {
        status: out.status,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Flags of a small run with state beyond the weights (shuffle, momentum)
/// and uneven batches: 250 = 15 x 16 + 10 training and 70 = 4 x 16 + 6 test
/// samples.
fn flags(data: &Path, epochs: u32) -> Vec<String> {
    let epochs = epochs.to_string();
    [
        "train",
        "--data-dir",
        &arg(data),
        "--no-download",
        "--threads",
        "1",
        "--batch-size",
        "16",
        "--shuffle",
        "--seed",
        "5",
        "--momentum",
        "0.9",
        // Not larger: at 0.05 with momentum 0.9 these random labels make
        // training chaotic, and rounding differences (1e-8) grow to 1e-2.
        "--lr",
        "0.02",
        "--epochs",
        &epochs,
    ]
    .map(String::from)
    .to_vec()
}

/// The largest difference between two safetensors files' tensors (same names and shapes).
fn max_difference(a: &Path, b: &Path) -> f32 {
    let (a, b) = (
        nn::load_safetensors(a).unwrap(),
        nn::load_safetensors(b).unwrap(),
    );
    let names = |sd: &nn::StateDict| sd.iter().map(|(n, _)| n.to_string()).collect::<Vec<_>>();
    assert_eq!(names(&a), names(&b));
    let mut max = 0.0f32;
    for ((_, x), (_, y)) in a.iter().zip(b.iter()) {
        assert_eq!(x.shape(), y.shape());
        for (p, q) in x.to_vec().iter().zip(y.to_vec()) {
            max = max.max((p - q).abs());
        }
    }
    max
}

/// Every number the tutorial's lines print, in order.
fn printed_numbers(stdout: &str) -> Vec<f64> {
    let mut numbers = Vec::new();
    for line in stdout.lines() {
        if line.starts_with("loss:") {
            numbers.push(number_after(line, "loss: "));
        } else if line.contains("Accuracy:") {
            let (accuracy, loss) = accuracy_line(line);
            numbers.extend([accuracy, loss]);
        }
    }
    numbers
}

fn assert_same_numbers(one: &str, two: &str) {
    let (a, b) = (printed_numbers(one), printed_numbers(two));
    assert!(!a.is_empty());
    assert_eq!(a.len(), b.len(), "one process:\n{one}\ntwo ranks:\n{two}");
    for (x, y) in a.iter().zip(&b) {
        // The lines print 6 decimals: allow 1e-5 plus the last digit's rounding.
        assert!((x - y).abs() <= 1e-5 + 1e-6, "{x} vs {y}\n{one}\n{two}");
    }
}

#[test]
fn two_ranks_train_the_weights_of_one_process() {
    let Some(mut two) = mpirun(2) else { return };
    let tmp = TempDir::new("mpi-equal");
    write_synthetic(tmp.path(), 250, 70, 11);
    let (one_w, two_w) = (tmp.join("one.safetensors"), tmp.join("two.safetensors"));
    let (one_m, two_m) = (tmp.join("one.jsonl"), tmp.join("two.jsonl"));

    let one = common::run(flags(tmp.path(), 2).into_iter().chain([
        "--save".into(),
        arg(&one_w),
        "--metrics".into(),
        arg(&one_m),
    ]));
    one.assert_success();
    let two = output(two.args(flags(tmp.path(), 2)).args([
        "--save",
        &arg(&two_w),
        "--metrics",
        &arg(&two_m),
    ]));
    assert!(two.status.success(), "{two:?}");

    let diff = max_difference(&one_w, &two_w);
    assert!(diff <= 1e-5, "weights differ by {diff}");
    assert_same_numbers(&one.stdout, &two.stdout);
    // One voice: rank 1 printed nothing and wrote no second set of metrics.
    assert_eq!(
        one.stdout.lines().count(),
        two.stdout.lines().count(),
        "{two:?}"
    );
    let lines = |p: &Path| fs::read_to_string(p).unwrap().lines().count();
    assert_eq!(lines(&one_m), lines(&two_m));
}

#[test]
fn three_ranks_split_the_uneven_batches_exactly() {
    // 16 = 5 + 5 + 6 and the last batches of 10 and 6 split unevenly.
    let Some(mut three) = mpirun(3) else { return };
    let tmp = TempDir::new("mpi-three");
    write_synthetic(tmp.path(), 250, 70, 12);
    let (one_w, three_w) = (tmp.join("one.safetensors"), tmp.join("three.safetensors"));
    let one = common::run(
        flags(tmp.path(), 1)
            .into_iter()
            .chain(["--save".into(), arg(&one_w)]),
    );
    one.assert_success();
    let three = output(
        three
            .args(flags(tmp.path(), 1))
            .args(["--save", &arg(&three_w)]),
    );
    assert!(three.status.success(), "{three:?}");
    let diff = max_difference(&one_w, &three_w);
    assert!(diff <= 1e-5, "weights differ by {diff}");
    assert_same_numbers(&one.stdout, &three.stdout);
}

#[test]
fn a_batch_smaller_than_the_rank_count_is_a_clear_error() {
    let Some(mut two) = mpirun(2) else { return };
    let tmp = TempDir::new("mpi-small");
    write_synthetic(tmp.path(), 33, 8, 13);
    let mut args = flags(tmp.path(), 1);
    let at = args.iter().position(|a| a == "--batch-size").unwrap();
    args[at + 1] = "4".into(); // 33 = 8 x 4 + 1: the last batch has one sample
    let out = output(two.args(args));
    assert!(!out.status.success(), "{out:?}");
    assert!(
        out.stderr.contains("ferrograd: error: rank ")
            && out.stderr.contains("a batch of 1 samples")
            && out.stderr.contains("cannot be split over 2 ranks"),
        "{out:?}"
    );
    assert!(!out.stdout.contains("Epoch"), "{out:?}");
}

/// The process ids of `parent`'s children (Linux /proc).
fn children(parent: u32) -> Vec<u32> {
    let mut pids = Vec::new();
    for entry in fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // "pid (comm) state ppid ...": comm may hold spaces, so split after ')'.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        if ppid == Some(parent) {
            pids.push(pid);
        }
    }
    pids
}

/// The MPI rank of process `pid`, from the environment mpirun gave it.
fn rank_of(pid: u32) -> usize {
    let environ = fs::read(format!("/proc/{pid}/environ")).unwrap();
    environ
        .split(|&b| b == 0)
        .find_map(|v| v.strip_prefix(b"OMPI_COMM_WORLD_RANK="))
        .and_then(|r| std::str::from_utf8(r).ok()?.parse().ok())
        .expect("OMPI_COMM_WORLD_RANK in the rank's environment")
}

/// Start a long 2-rank run with checkpoints, wait for the checkpoint of
/// epoch 1, send `signal` to one rank and return what mpirun printed and how
/// long the job took to end after the signal, and the rank signalled.
fn signal_one_rank(
    tmp: &TempDir,
    signal: &str,
    timeout_env: Option<&str>,
) -> (Run, Duration, usize) {
    let mut cmd = mpirun(2).expect("checked by the caller");
    if let Some(t) = timeout_env {
        cmd.env("FERROGRAD_MPI_TIMEOUT", t);
    }
    let ckpt = tmp.join("ckpt");
    let child = cmd
        .args(flags(tmp.path(), 50))
        .args(["--checkpoint-dir", &arg(&ckpt)])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while !ckpt.join("epoch-0001").exists() {
        assert!(start.elapsed() < Duration::from_secs(60), "no checkpoint");
        sleep(Duration::from_millis(20));
    }
    let ranks = children(child.id());
    assert_eq!(ranks.len(), 2, "mpirun's children: {ranks:?}");
    let victim = ranks[0];
    let rank = rank_of(victim);
    let killed = Instant::now();
    let status = Command::new("kill")
        .args([signal, &victim.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    let took = killed.elapsed();
    // A stopped rank that mpirun did not end would linger: make sure.
    let _ = Command::new("kill")
        .args(["-KILL", &victim.to_string()])
        .stderr(Stdio::null())
        .status();
    let run = Run {
        status: out.status,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    (run, took, rank)
}

/// The last checkpoint is intact: two ranks resume from it, train one more
/// epoch and end with the weights of an uninterrupted run in one process.
fn assert_resumes(tmp: &TempDir) {
    let ckpt = tmp.join("ckpt");
    let last = fs::read_dir(&ckpt)
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            name.strip_prefix("epoch-")?.parse::<u32>().ok()
        })
        .max()
        .expect("a checkpoint");
    let (one_w, two_w) = (tmp.join("one.safetensors"), tmp.join("two.safetensors"));
    let one = common::run(
        flags(tmp.path(), last + 1)
            .into_iter()
            .chain(["--save".into(), arg(&one_w)]),
    );
    one.assert_success();
    let resumed = output(mpirun(2).unwrap().args(flags(tmp.path(), last + 1)).args([
        "--resume",
        &arg(&ckpt),
        "--save",
        &arg(&two_w),
    ]));
    assert!(resumed.status.success(), "{resumed:?}");
    // Only the one epoch after the checkpoint ran.
    assert_eq!(resumed.stdout.matches("Epoch ").count(), 1, "{resumed:?}");
    assert!(
        resumed.stdout.contains(&format!("Epoch {}\n", last + 1)),
        "{resumed:?}"
    );
    let diff = max_difference(&one_w, &two_w);
    assert!(diff <= 1e-5, "weights differ by {diff}");
}

#[test]
fn a_killed_rank_ends_the_job_naming_it_and_the_run_resumes() {
    if mpirun(2).is_none() {
        return;
    }
    let tmp = TempDir::new("mpi-kill");
    // Big enough that the run is still going when it is killed.
    write_synthetic(tmp.path(), 800, 70, 14);
    let (out, took, rank) = signal_one_rank(&tmp, "-KILL", None);
    assert!(!out.status.success(), "{out:?}");
    assert!(took < Duration::from_secs(10), "took {took:?}: {out:?}");
    // OpenMPI's mpirun: "process rank 1 with PID ... exited on signal 9 (Killed)".
    assert!(
        out.stderr.contains(&format!("rank {rank} ")) && out.stderr.contains("signal 9"),
        "{out:?}"
    );
    assert_resumes(&tmp);
}

#[test]
fn a_hung_rank_ends_the_job_within_the_timeout() {
    if mpirun(2).is_none() {
        return;
    }
    let tmp = TempDir::new("mpi-hang");
    write_synthetic(tmp.path(), 800, 70, 15);
    // SIGSTOP: the rank stays alive, so only our watchdog can notice.
    let (out, took, rank) = signal_one_rank(&tmp, "-STOP", Some("2"));
    assert!(!out.status.success(), "{out:?}");
    assert!(took < Duration::from_secs(15), "took {took:?}: {out:?}");
    // The rank still running reports it.
    let other = format!(
        "ferrograd: error: rank {} of 2: waited more than 2 s",
        1 - rank
    );
    assert!(out.stderr.contains(&other), "{out:?}");
    assert_resumes(&tmp);
}
