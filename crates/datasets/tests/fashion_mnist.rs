//! The real FashionMNIST, from the Debian package `dataset-fashion-mnist`
//! (which `.ci/run` installs), through the crate's offline path into a
//! temporary root; and the download path over loopback with the real files
//! and the real published checksums.
//!
//! The expected values come from the files themselves, decoded independently
//! with Python's standard library:
//! ```text
//! python3 -c "import gzip; d=gzip.open('/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz').read(); print(sum(d[16:16+784]))"
//! 76247
//! python3 -c "import gzip; d=gzip.open('/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz').read(); print(sum(d[16:16+784]))"
//! 33456
//! python3 -c "import gzip; print(list(gzip.open('/usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz').read()[8:18]))"
//! [9, 0, 0, 3, 0, 2, 7, 2, 5, 5]
//! python3 -c "import gzip; print(list(gzip.open('/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz').read()[8:18]))"
//! [9, 2, 1, 1, 6, 1, 4, 6, 5, 7]
//! ```
//! The SHA-256 values are the ones the issue publishes for the decompressed files.

#[allow(dead_code)]
#[path = "../src/testing.rs"]
mod testing;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use datasets::{DataLoader, Dataset, Mnist, MnistVariant, DEBIAN_FASHION_MNIST_DIR};
use sha2::{Digest, Sha256};
use testing::{Reply, Server, TempDir};

const SHA256: [(&str, &str); 4] = [
    (
        "train-images-idx3-ubyte",
        "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    ),
    (
        "train-labels-idx1-ubyte",
        "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    ),
    (
        "t10k-images-idx3-ubyte",
        "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    ),
    (
        "t10k-labels-idx1-ubyte",
        "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    ),
];

/// The Debian package's directory, or a failure that says how to get it.
fn debian_dir() -> PathBuf {
    let dir = PathBuf::from(DEBIAN_FASHION_MNIST_DIR);
    let complete = SHA256
        .iter()
        .all(|(name, _)| dir.join(format!("{name}.gz")).is_file());
    assert!(
        complete,
        "the real FashionMNIST is missing from {DEBIAN_FASHION_MNIST_DIR}: install it with \
         `apt-get install dataset-fashion-mnist` (.ci/run does)"
    );
    dir
}

fn sha256_hex(path: &Path) -> String {
    Sha256::digest(std::fs::read(path).unwrap())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn the_real_fashion_mnist_through_the_offline_path() {
    let debian = debian_dir();
    let root = TempDir::new("real-fashion");
    // No mirrors: this must work with no network at all.
    let load = |train| {
        Mnist::builder(MnistVariant::FashionMnist, root.path())
            .train(train)
            .download(true)
            .debian_dir(Some(debian.clone()))
            .mirrors(Vec::<String>::new())
            .progress(false)
            .load()
            .unwrap()
    };
    let train = load(true);
    let test = load(false);

    // The decompressed copies in ROOT/FashionMNIST/raw are the published bytes.
    let raw = Mnist::raw_folder(root.path(), MnistVariant::FashionMnist);
    for (name, sha) in SHA256 {
        assert_eq!(sha256_hex(&raw.join(name)), sha, "{name}");
    }

    assert_eq!((train.len(), test.len()), (60000, 10000));
    assert_eq!(
        (train.image_size(), test.image_size()),
        ((28, 28), (28, 28))
    );
    assert_eq!(train.images().len(), 60000 * 784);
    assert_eq!(train.classes()[0], "T-shirt/top");
    assert_eq!(train.labels()[..10], [9, 0, 0, 3, 0, 2, 7, 2, 5, 5]);
    assert_eq!(test.labels()[..10], [9, 2, 1, 1, 6, 1, 4, 6, 5, 7]);
    let pixel_sum = |m: &Mnist| m.image(0).iter().map(|&p| p as u64).sum::<u64>();
    assert_eq!((pixel_sum(&train), pixel_sum(&test)), (76247, 33456));

    let (image, label) = train.get(0);
    assert_eq!((image.shape(), label), (&[1, 28, 28][..], 9.0));
    let scaled_sum: f64 = image.to_vec().iter().map(|&v| v as f64).sum();
    assert!((scaled_sum * 255.0 - 76247.0).abs() < 1e-2, "{scaled_sum}");

    // PyTorch's batch counts at batch size 64, and the last partial batches.
    let train_loader = DataLoader::new(train, 64);
    let test_loader = DataLoader::new(test, 64);
    assert_eq!((train_loader.len(), test_loader.len()), (938, 157));
    let mut count = 0;
    let mut last = None;
    for (i, (images, labels)) in train_loader.iter().enumerate() {
        if i == 0 {
            assert_eq!(
                (images.shape(), labels.shape()),
                (&[64, 1, 28, 28][..], &[64][..])
            );
            assert_eq!(images.to_vec()[..784], image.to_vec()[..]);
            assert_eq!(labels.to_vec()[..3], [9.0, 0.0, 0.0]);
        }
        count += 1;
        last = Some(images.shape().to_vec());
    }
    assert_eq!(
        (count, last.unwrap()),
        (938, vec![60000 - 937 * 64, 1, 28, 28])
    );
    assert_eq!(
        test_loader.iter().last().unwrap().1.shape(),
        &[10000 - 156 * 64]
    );
}

#[test]
fn the_real_files_downloaded_over_loopback_pass_the_published_checksums() {
    // The Debian .gz differ from torchvision's (recompressed): they are accepted
    // by the SHA-256 of their content, the path a re-packed mirror would take.
    let debian = debian_dir();
    let routes: HashMap<String, Reply> = SHA256
        .iter()
        .map(|(name, _)| {
            let gz = std::fs::read(debian.join(format!("{name}.gz"))).unwrap();
            (format!("/mirror/{name}.gz"), Reply::Body(gz))
        })
        .collect();
    let server = Server::start(routes);
    let root = TempDir::new("real-download");
    let test = Mnist::builder(MnistVariant::FashionMnist, root.path())
        .train(false)
        .download(true)
        .debian_dir(None)
        .mirrors([server.url() + "mirror"])
        .progress(false)
        .load()
        .unwrap();
    assert_eq!(test.len(), 10000);
    assert_eq!(server.requests().len(), 4);
    let raw = Mnist::raw_folder(root.path(), MnistVariant::FashionMnist);
    for (name, sha) in SHA256 {
        assert_eq!(sha256_hex(&raw.join(name)), sha, "{name}");
        assert!(
            raw.join(format!("{name}.gz")).is_file(),
            "{name}.gz kept beside it"
        );
    }
}
