//! One training step of the tutorial's model (forward, loss, backward, SGD
//! step, zero_grad) on a batch of 64, and the SGD step alone.
//!
//! `CARGO_TARGET_DIR=... cargo bench -p optim --bench step` (set
//! `RAYON_NUM_THREADS=1` for one thread).

use std::hint::black_box;
use std::time::Duration;

use autograd::{Generator, Tensor};
use criterion::{criterion_group, criterion_main, Criterion};
use nn::models::NeuralNetwork;
use nn::{CrossEntropyLoss, Module};
use optim::{OptimOptions, Optimizer};

/// As in the `ferrograd` binary: tensors start on cache lines.
#[global_allocator]
static ALLOC: autograd::CacheAligned = autograd::CacheAligned;

fn batch() -> (Tensor, Tensor) {
    let mut g = Generator::new(0);
    let x = Tensor::rand_uniform(&[64, 1, 28, 28], 0.0, 1.0, &mut g);
    let y = Tensor::from_vec((0..64).map(|i| (i % 10) as f32).collect(), &[64]);
    (x, y)
}

fn sgd(model: &NeuralNetwork) -> Box<dyn Optimizer> {
    let options = OptimOptions {
        lr: Some(1e-3),
        ..OptimOptions::default()
    };
    optim::build("sgd", model.parameters(), &options).expect("sgd")
}

fn steps(c: &mut Criterion) {
    let mut group = c.benchmark_group("step");
    group
        .sample_size(30)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    let (x, y) = batch();
    let model = NeuralNetwork::new();
    let loss_fn = CrossEntropyLoss::new();
    let mut optimizer = sgd(&model);
    group.bench_function("train step, batch 64", |b| {
        b.iter(|| {
            let loss = loss_fn.forward(&model.forward(black_box(&x)), &y);
            loss.backward().expect("backward");
            optimizer.step();
            optimizer.zero_grad();
            loss.item()
        })
    });
    // The optimizer alone, with the gradients of one backward pass in place.
    loss_fn
        .forward(&model.forward(&x), &y)
        .backward()
        .expect("backward");
    group.bench_function("SGD step, 669,706 parameters", |b| {
        b.iter(|| optimizer.step())
    });
    group.finish();
}

criterion_group!(benches, steps);
criterion_main!(benches);
