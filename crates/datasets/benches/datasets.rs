//! Data speed on the real FashionMNIST (the Debian package `dataset-fashion-mnist`):
//! decoding all 70,000 images, and one epoch of batches of 64 without a model.
//!
//! `CARGO_TARGET_DIR=... cargo bench -p datasets`

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use datasets::{
    read_idx, DataLoader, Dataset, Mnist, MnistVariant, Normalize, DEBIAN_FASHION_MNIST_DIR,
};

/// A root holding FashionMNIST/raw, filled once through the offline path.
fn root() -> PathBuf {
    let root = std::env::temp_dir().join("ferrograd-bench-datasets");
    Mnist::builder(MnistVariant::FashionMnist, &root)
        .download(true)
        .mirrors(Vec::<String>::new())
        .progress(false)
        .load()
        .unwrap_or_else(|e| {
            panic!("{e}\n(the benchmark needs `apt-get install dataset-fashion-mnist`)")
        });
    root
}

fn decode(c: &mut Criterion) {
    let root = root();
    let mut group = c.benchmark_group("decode");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(5));
    // What every run after the first does: the decompressed files in ROOT/FashionMNIST/raw.
    group.bench_function("70k images + labels, raw IDX", |b| {
        b.iter(|| {
            let train = Mnist::fashion_mnist(&root, true, false).unwrap();
            let test = Mnist::fashion_mnist(&root, false, false).unwrap();
            black_box(train.len() + test.len())
        })
    });
    // Straight from the gzipped files (the copy-the-.gz-files way).
    let gz = PathBuf::from(DEBIAN_FASHION_MNIST_DIR);
    group.bench_function("70k images, gzip IDX", |b| {
        b.iter(|| {
            let train = read_idx(gz.join("train-images-idx3-ubyte.gz")).unwrap();
            let test = read_idx(gz.join("t10k-images-idx3-ubyte.gz")).unwrap();
            black_box(train.numel() + test.numel())
        })
    });
    group.finish();
}

fn epoch(c: &mut Criterion) {
    let root = root();
    let train = Mnist::fashion_mnist(&root, true, false).unwrap();
    let mut group = c.benchmark_group("epoch");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(5));
    let plain = DataLoader::new(train.clone(), 64);
    group.bench_function("938 batches of 64", |b| {
        b.iter(|| {
            plain
                .iter()
                .map(|(x, y)| black_box(x.numel() + y.numel()))
                .sum::<usize>()
        })
    });
    let shuffled = DataLoader::new(
        train.with_normalize(Normalize::new(&[0.2860], &[0.3530])),
        64,
    )
    .shuffle(true)
    .seed(0);
    group.bench_function("938 batches of 64, shuffled + Normalize", |b| {
        b.iter(|| {
            shuffled
                .iter()
                .map(|(x, y)| black_box(x.numel() + y.numel()))
                .sum::<usize>()
        })
    });
    group.finish();
}

criterion_group!(benches, decode, epoch);
criterion_main!(benches);
