//! The GEMM shapes of one training step of the tutorial's MLP (batch 64,
//! 784 -> 512 -> 512 -> 10), through the same kernel wrapper the ops use,
//! and a large square product as the machine's reference throughput.
//!
//! `CARGO_TARGET_DIR=... cargo bench -p autograd --bench gemm` (set
//! `RAYON_NUM_THREADS=1` for one thread).

use std::hint::black_box;
use std::time::Duration;

use autograd::kernels::gemm::{gemm, MatRef};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

const BATCH: usize = 64;
/// (fan_in, fan_out) of the three Linear layers.
const LAYERS: [(usize, usize); 3] = [(784, 512), (512, 512), (512, 10)];

/// Deterministic values in [-1, 1) (no RNG needed for timing).
fn values(n: usize, seed: usize) -> Vec<f32> {
    (0..n)
        .map(|i| ((i * 2654435761 + seed) % 2001) as f32 / 1000.0 - 1.0)
        .collect()
}

fn shapes(c: &mut Criterion) {
    let mut group = c.benchmark_group("gemm");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2));
    for (fan_in, fan_out) in LAYERS {
        let x = values(BATCH * fan_in, 1);
        let w = values(fan_out * fan_in, 2);
        let g = values(BATCH * fan_out, 3);
        let xm = MatRef::row_major(&x, BATCH, fan_in);
        let wm = MatRef::row_major(&w, fan_out, fan_in);
        let gm = MatRef::row_major(&g, BATCH, fan_out);
        let flops = 2 * BATCH * fan_in * fan_out;
        group.throughput(Throughput::Elements(flops as u64));
        // Forward: y = x @ W^T, [64, in] @ [in, out].
        let mut y = vec![0.0; BATCH * fan_out];
        group.bench_function(
            format!("forward {BATCH}x{fan_in} @ {fan_in}x{fan_out}"),
            |b| b.iter(|| gemm(1.0, black_box(xm), wm.t(), 0.0, &mut y)),
        );
        // Input gradient: dx = g @ W, [64, out] @ [out, in].
        let mut dx = vec![0.0; BATCH * fan_in];
        group.bench_function(
            format!("input grad {BATCH}x{fan_out} @ {fan_out}x{fan_in}"),
            |b| b.iter(|| gemm(1.0, black_box(gm), wm, 0.0, &mut dx)),
        );
        // Weight gradient: dW = g^T @ x, [out, 64] @ [64, in].
        let mut dw = vec![0.0; fan_out * fan_in];
        group.bench_function(
            format!("weight grad {fan_out}x{BATCH} @ {BATCH}x{fan_in}"),
            |b| b.iter(|| gemm(1.0, black_box(gm).t(), xm, 0.0, &mut dw)),
        );
    }
    // The reference: a large square product, where sgemm reaches its peak.
    let n = 1024;
    let a = values(n * n, 4);
    let bm = values(n * n, 5);
    let mut out = vec![0.0; n * n];
    group.throughput(Throughput::Elements(2 * (n * n * n) as u64));
    group.bench_function(format!("square {n}x{n} @ {n}x{n}"), |b| {
        b.iter(|| {
            gemm(
                1.0,
                black_box(MatRef::row_major(&a, n, n)),
                MatRef::row_major(&bm, n, n),
                0.0,
                &mut out,
            )
        })
    });
    group.finish();
}

criterion_group!(benches, shapes);
criterion_main!(benches);
