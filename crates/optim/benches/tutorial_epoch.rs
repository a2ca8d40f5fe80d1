//! Epochs of the tutorial's workload, timed: what `ferrograd train` does with
//! its defaults (FashionMNIST, batch 64, no shuffle, NeuralNetwork,
//! CrossEntropyLoss, SGD lr 1e-3; the test pass under no_grad), written here
//! against the crates' APIs so that the train and test passes can be timed
//! apart. Also a large square sgemm through the same kernel wrapper as the
//! model's layers, as the machine's reference throughput, and the GEMM
//! kernel's ceiling (`fma_peak_gflops`: its inner loop with nothing to wait for).
//!
//! Not a criterion bench: `cargo xtask bench` runs it and parses its output.
//! `RAYON_NUM_THREADS=1 cargo bench -p optim --bench tutorial_epoch -- --data-dir DIR --epochs 3`
//! prints one `key value` line per measurement; `--sgemm-only` prints just the
//! square sgemm (run with `FERROGRAD_GEMM=matrixmultiply` for the other kernel).
//! `--trace` also records the last epoch's parallel jobs (`autograd::kernels::trace`)
//! and prints the median step as a timeline: each job's caller time, its wait for
//! the helpers, the helpers' time, and the caller's serial time before it.

use std::path::PathBuf;
use std::time::Instant;

use autograd::kernels::gemm::{fma_peak_gflops, gemm, MatRef};
use autograd::kernels::trace::{self, Event, What};
use autograd::{no_grad, Tensor};
use datasets::{DataLoader, Dataset, Mnist, MnistVariant};
use nn::models::NeuralNetwork;
use nn::{CrossEntropyLoss, Module};
use optim::OptimOptions;

/// As in the `ferrograd` binary: tensors start on cache lines.
#[global_allocator]
static ALLOC: autograd::CacheAligned = autograd::CacheAligned;

fn main() {
    let (mut data_dir, mut epochs, mut sgemm_only) = (PathBuf::from("data"), 3usize, false);
    let mut tracing = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--data-dir" => data_dir = args.next().expect("--data-dir DIR").into(),
            "--epochs" => {
                epochs = args
                    .next()
                    .and_then(|e| e.parse().ok())
                    .expect("--epochs N")
            }
            "--sgemm-only" => sgemm_only = true,
            "--trace" => tracing = true,
            _ => {} // `cargo bench` passes `--bench`
        }
    }
    if sgemm_only {
        println!("sgemm_gflops {:.1}", square_sgemm_gflops());
        return;
    }
    let load = |train| {
        Mnist::builder(MnistVariant::FashionMnist, &data_dir)
            .train(train)
            .progress(false)
            .load()
            .unwrap_or_else(|e| panic!("loading FashionMNIST from {}: {e}", data_dir.display()))
    };
    let (train, test) = (load(true), load(false));
    let size = train.len();
    let train_loader = DataLoader::new(train, 64);
    let test_loader = DataLoader::new(test, 64);

    println!("threads {}", rayon::current_num_threads());
    println!("sgemm_gflops {:.1}", square_sgemm_gflops());
    if let Some(peak) = fma_peak_gflops(rayon::current_num_threads()) {
        println!("fma_peak_gflops {peak:.1}");
    }

    autograd::manual_seed(0);
    let model = NeuralNetwork::new();
    let loss_fn = CrossEntropyLoss::new();
    let options = OptimOptions {
        lr: Some(1e-3),
        ..OptimOptions::default()
    };
    let mut optimizer = optim::build("sgd", model.parameters(), &options).expect("sgd");
    for epoch in 0..epochs {
        train_loader.set_epoch(epoch as u64);
        let start = Instant::now();
        model.train();
        let mut last_loss = 0.0;
        if tracing && epoch + 1 == epochs {
            trace::start();
        }
        for (x, y) in train_loader.iter() {
            trace::mark("step");
            let pred = model.forward(&x);
            trace::mark("forward");
            let loss = loss_fn.forward(&pred, &y);
            last_loss = loss.item();
            trace::mark("loss");
            loss.backward().expect("backward");
            trace::mark("backward");
            optimizer.step();
            trace::mark("optimizer.step");
            optimizer.zero_grad();
        }
        let train_secs = start.elapsed().as_secs_f64();
        if tracing && epoch + 1 == epochs {
            print_timeline(&trace::finish());
        }

        let start = Instant::now();
        model.eval();
        let (mut test_loss, mut correct) = (0.0f64, 0usize);
        no_grad(|| {
            for (x, y) in test_loader.iter() {
                let pred = model.forward(&x);
                test_loss += loss_fn.forward(&pred, &y).item() as f64;
                correct += count_equal(&pred.argmax(1), &y);
            }
        });
        let test_secs = start.elapsed().as_secs_f64();
        println!("train_secs {train_secs:.4}");
        println!("test_secs {test_secs:.4}");
        // Printed so that a broken build cannot time a no-op.
        println!(
            "epoch {} last_loss {last_loss:.6} test_loss {:.6} accuracy {:.4} samples {size}",
            epoch + 1,
            test_loss / test_loader.len() as f64,
            correct as f64 / test_loader.dataset().len() as f64
        );
    }
}

/// The median step of a traced epoch, event by event (see the module docs):
/// microseconds, medians over the steps after the first ten.
fn print_timeline(events: &[Event]) {
    // The caller's events (jobs and marks) in order, each step from a "step" mark.
    let mut caller: Vec<&Event> = events
        .iter()
        .filter(|e| !matches!(e.what, What::HelperPart { .. }))
        .collect();
    caller.sort_by_key(|e| e.start);
    // Step k runs from its "step" mark to the next one, included: the serial
    // time before that mark is the end of the step (the next batch).
    let marks: Vec<usize> = (0..caller.len())
        .filter(|&i| matches!(caller[i].what, What::Mark("step")))
        .collect();
    let steps: Vec<&[&Event]> = marks
        .windows(2)
        .skip(10) // warming up
        .map(|w| &caller[w[0]..=w[1]])
        .collect();
    let Some(len) = steps.first().map(|s| s.len()) else {
        println!("trace: no steps recorded");
        return;
    };
    let us = |a: std::time::Instant, b: std::time::Instant| (b - a).as_secs_f64() * 1e6;
    let helpers = |e: &Event| -> f64 {
        events
            .iter()
            .filter(|h| matches!(h.what, What::HelperPart { .. }))
            .filter(|h| h.start >= e.start && h.end <= e.end)
            .map(|h| us(h.start, h.end))
            .sum()
    };
    // Rows: [serial time before, caller's parts, caller's wait, helpers' parts].
    let mut rows = vec![Vec::new(); len];
    for step in steps.iter().filter(|s| s.len() == len) {
        for (i, e) in step.iter().enumerate() {
            let before = if i == 0 {
                0.0
            } else {
                us(step[i - 1].end, e.start)
            };
            let row = match e.what {
                What::Job { caller_done, .. } => [
                    before,
                    us(e.start, caller_done),
                    us(caller_done, e.end),
                    helpers(e),
                ],
                _ => [before, 0.0, 0.0, 0.0],
            };
            rows[i].push(row);
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(0.0)
    };
    println!("trace: median of {} steps, in microseconds", rows[0].len());
    println!("  event                 serial before  caller  caller waits  helpers");
    let mut totals = [0.0; 4];
    for (i, e) in steps[0].iter().enumerate() {
        let cols: Vec<f64> = (0..4)
            .map(|c| median(&mut rows[i].iter().map(|r| r[c]).collect()))
            .collect();
        cols.iter().zip(&mut totals).for_each(|(c, t)| *t += c);
        let name = match e.what {
            What::Job { parts, .. } => format!("job of {parts} parts"),
            What::Mark(label) => format!("mark {label}"),
            What::HelperPart { .. } => unreachable!("filtered out"),
        };
        println!(
            "  {name:20} {:14.1} {:7.1} {:13.1} {:8.1}",
            cols[0], cols[1], cols[2], cols[3]
        );
    }
    println!(
        "  {:20} {:14.1} {:7.1} {:13.1} {:8.1}",
        "sum", totals[0], totals[1], totals[2], totals[3]
    );
}

fn count_equal(a: &Tensor, b: &Tensor) -> usize {
    a.with_data(|a| b.with_data(|b| a.iter().zip(b).filter(|(x, y)| x == y).count()))
}

/// GFLOP/s of `C = A @ B` on 1024 x 1024 matrices through autograd's GEMM
/// wrapper (the one `linear` calls), best of 20 after a warm-up.
fn square_sgemm_gflops() -> f64 {
    let n = 1024;
    let a: Vec<f32> = (0..n * n).map(|i| (i % 97) as f32 / 97.0 - 0.5).collect();
    let b: Vec<f32> = (0..n * n).map(|i| (i % 89) as f32 / 89.0 - 0.5).collect();
    let mut c = vec![0.0f32; n * n];
    let run = |c: &mut [f32]| {
        gemm(
            1.0,
            MatRef::row_major(&a, n, n),
            MatRef::row_major(&b, n, n),
            0.0,
            c,
        )
    };
    for _ in 0..3 {
        run(&mut c);
    }
    let best = (0..20)
        .map(|_| {
            let start = Instant::now();
            run(&mut c);
            start.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min);
    2.0 * (n * n * n) as f64 / best / 1e9
}
