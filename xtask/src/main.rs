//! `cargo xtask <task>`: the project's own commands, in Rust so they need nothing but cargo.
//!
//! - `cargo xtask train [FLAGS]`: build in release mode and run the tutorial (`ferrograd train FLAGS`).
//! - `cargo xtask download [FLAGS]`: fetch and verify the dataset (`ferrograd download FLAGS`).
//! - `cargo xtask bench [--vs-pytorch]`: time the tutorial's workload (and PyTorch's) and write
//!   the table into docs/benchmarks.md (see `bench.rs`).

mod bench;

use std::process::{exit, Command};

const USAGE: &str = "usage: cargo xtask <train|download|bench> [FLAGS]
  train     build ferrograd in release mode and run the tutorial (flags: see `cargo xtask train --help`)
  download  fetch and verify FashionMNIST or MNIST into ./data (flags: see `cargo xtask download --help`)
  bench     time the tutorial workload, write docs/benchmarks.md (flags: --vs-pytorch, --epochs N,
            --data-dir DIR, --no-criterion)";

fn main() {
    let mut args = std::env::args().skip(1);
    let task = args.next().unwrap_or_default();
    let rest: Vec<String> = args.collect();
    let status = match task.as_str() {
        "train" | "download" => run_ferrograd(&task, &rest),
        "bench" => bench::run(&rest),
        "-h" | "--help" | "help" => {
            println!("{USAGE}");
            exit(0);
        }
        other => {
            eprintln!("xtask: unknown task '{other}'\n{USAGE}");
            exit(2);
        }
    };
    exit(status);
}

/// `cargo run --release -p ferrograd -- <subcommand> <args>`, passing the exit code through.
fn run_ferrograd(subcommand: &str, args: &[String]) -> i32 {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args([
            "run",
            "--release",
            "--quiet",
            "--package",
            "ferrograd",
            "--",
            subcommand,
        ])
        .args(args)
        .status();
    match status {
        Ok(s) => s.code().unwrap_or(1),
        Err(e) => {
            eprintln!("xtask: could not run cargo: {e}");
            1
        }
    }
}
