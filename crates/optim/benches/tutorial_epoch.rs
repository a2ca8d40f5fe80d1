//! Epochs of the tutorial's workload, timed: what `ferrograd train` does with
//! its defaults (FashionMNIST, batch 64, no shuffle, NeuralNetwork,
//! CrossEntropyLoss, SGD lr 1e-3; the test pass under no_grad), written here
//! against the crates' APIs so that the train and test passes can be timed
//! apart. Also a large square sgemm through the same kernel wrapper as the
//! model's layers, as the machine's reference throughput.
//!
//! Not a criterion bench: `cargo xtask bench` runs it and parses its output.
//! `RAYON_NUM_THREADS=1 cargo bench -p optim --bench tutorial_epoch -- --data-dir DIR --epochs 3`
//! prints one `key value` line per measurement; `--sgemm-only` prints just the
//! square sgemm (run with `FERROGRAD_GEMM=matrixmultiply` for the other kernel).

use std::path::PathBuf;
use std::time::Instant;

use autograd::kernels::gemm::{gemm, MatRef};
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
        for (x, y) in train_loader.iter() {
            let pred = model.forward(&x);
            let loss = loss_fn.forward(&pred, &y);
            last_loss = loss.item();
            loss.backward().expect("backward");
            optimizer.step();
            optimizer.zero_grad();
        }
        let train_secs = start.elapsed().as_secs_f64();

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
