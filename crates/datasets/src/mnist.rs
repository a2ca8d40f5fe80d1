//! MNIST and FashionMNIST in torchvision's layout: `ROOT/MNIST/raw/` and
//! `ROOT/FashionMNIST/raw/` holding the four IDX files.
//!
//! Getting the files, in this order, when `download` is asked:
//! 1. files already in the raw directory (decompressed, or the `.gz`) are used as they are;
//! 2. the Debian package `dataset-fashion-mnist` (`/usr/share/datasets/fashion-mnist/`),
//!    verified by the SHA-256 of the content, decompressed into the raw directory;
//! 3. torchvision's mirrors, verified by md5 (or SHA-256), kept as `.gz` and decompressed.
//!
//! The local package comes before the network: it holds the same verified
//! bytes and needs no connection.

use std::path::{Path, PathBuf};
use std::time::Duration;

use autograd::Tensor;

use crate::download::{install, Fetcher, Resource};
use crate::idx::{read_idx, IdxData};
use crate::{Dataset, DatasetError, Normalize};

/// Which of the two datasets (they share the file format and the code).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MnistVariant {
    /// LeCun's handwritten digits.
    Mnist,
    /// Zalando's clothing images.
    FashionMnist,
}

const FASHION_CLASSES: [&str; 10] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];
const MNIST_CLASSES: [&str; 10] = [
    "0 - zero",
    "1 - one",
    "2 - two",
    "3 - three",
    "4 - four",
    "5 - five",
    "6 - six",
    "7 - seven",
    "8 - eight",
    "9 - nine",
];

// torchvision/datasets/mnist.py: the mirrors and the md5 of each .gz.
const FASHION_MIRRORS: [&str; 1] = ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"];
const MNIST_MIRRORS: [&str; 2] = [
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
];

const FASHION_RESOURCES: [Resource; 4] = [
    Resource {
        file: "train-images-idx3-ubyte",
        md5: "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        sha256: Some("c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"),
        size: 16 + 60_000 * 784,
    },
    Resource {
        file: "train-labels-idx1-ubyte",
        md5: "25c81989df183df01b3e8a0aad5dffbe",
        sha256: Some("bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"),
        size: 8 + 60_000,
    },
    Resource {
        file: "t10k-images-idx3-ubyte",
        md5: "bef4ecab320f06d8554ea6380940ec79",
        sha256: Some("5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"),
        size: 16 + 10_000 * 784,
    },
    Resource {
        file: "t10k-labels-idx1-ubyte",
        md5: "bb300cfdad3c16e7a12a480ee83cd310",
        sha256: Some("0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"),
        size: 8 + 10_000,
    },
];
const MNIST_RESOURCES: [Resource; 4] = [
    Resource {
        file: "train-images-idx3-ubyte",
        md5: "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        sha256: None,
        size: 16 + 60_000 * 784,
    },
    Resource {
        file: "train-labels-idx1-ubyte",
        md5: "d53e105ee54ea40749a09fcbcd1e9432",
        sha256: None,
        size: 8 + 60_000,
    },
    Resource {
        file: "t10k-images-idx3-ubyte",
        md5: "9fb629c4189551a2d022fa330f9573f3",
        sha256: None,
        size: 16 + 10_000 * 784,
    },
    Resource {
        file: "t10k-labels-idx1-ubyte",
        md5: "ec29112dd5afa0611ce80d1b7f02629c",
        sha256: None,
        size: 8 + 10_000,
    },
];

/// Where the Debian package `dataset-fashion-mnist` puts its files.
pub const DEBIAN_FASHION_MNIST_DIR: &str = "/usr/share/datasets/fashion-mnist";

impl MnistVariant {
    /// torchvision's class name, also the directory under the root: `MNIST` or `FashionMNIST`.
    pub fn name(self) -> &'static str {
        match self {
            MnistVariant::Mnist => "MNIST",
            MnistVariant::FashionMnist => "FashionMNIST",
        }
    }

    /// The class names, indexed by label (torchvision's `classes`).
    pub fn classes(self) -> &'static [&'static str] {
        match self {
            MnistVariant::Mnist => &MNIST_CLASSES,
            MnistVariant::FashionMnist => &FASHION_CLASSES,
        }
    }

    /// torchvision's mirrors, tried in order; each serves `<file>.gz`.
    pub fn mirrors(self) -> &'static [&'static str] {
        match self {
            MnistVariant::Mnist => &MNIST_MIRRORS,
            MnistVariant::FashionMnist => &FASHION_MIRRORS,
        }
    }

    /// The local copy a Debian package provides, if one exists.
    pub fn debian_dir(self) -> Option<&'static str> {
        match self {
            MnistVariant::Mnist => None,
            MnistVariant::FashionMnist => Some(DEBIAN_FASHION_MNIST_DIR),
        }
    }

    /// The four file names (decompressed): train images, train labels, test images, test labels.
    pub fn files(self) -> [&'static str; 4] {
        self.resources().map(|r| r.file)
    }

    fn resources(self) -> [Resource; 4] {
        match self {
            MnistVariant::Mnist => MNIST_RESOURCES,
            MnistVariant::FashionMnist => FASHION_RESOURCES,
        }
    }
}

/// MNIST or FashionMNIST, one split, held in memory as u8 pixels
/// (47 MB for the 60,000 training images) and turned into f32 per sample or
/// per batch: `ToTensor` (`x / 255`), then `Normalize` if one is set.
///
/// ```no_run
/// use datasets::{DataLoader, Dataset, Mnist};
/// let train = Mnist::fashion_mnist("data", true, true)?;
/// assert_eq!((train.len(), train.classes()[9]), (60000, "Ankle boot"));
/// let loader = DataLoader::new(train, 64).shuffle(true);
/// assert_eq!(loader.len(), 938);
/// # Ok::<(), datasets::DatasetError>(())
/// ```
#[derive(Clone, Debug)]
pub struct Mnist {
    variant: MnistVariant,
    train: bool,
    images: Vec<u8>,
    labels: Vec<u8>,
    rows: usize,
    cols: usize,
    normalize: Option<Normalize>,
}

impl Mnist {
    /// `torchvision.datasets.FashionMNIST(root, train=train, download=download)`.
    pub fn fashion_mnist(
        root: impl AsRef<Path>,
        train: bool,
        download: bool,
    ) -> Result<Mnist, DatasetError> {
        Mnist::builder(MnistVariant::FashionMnist, root)
            .train(train)
            .download(download)
            .load()
    }

    /// `torchvision.datasets.MNIST(root, train=train, download=download)`.
    // Named after the dataset, beside `fashion_mnist`, rather than `new`.
    #[allow(clippy::self_named_constructors)]
    pub fn mnist(
        root: impl AsRef<Path>,
        train: bool,
        download: bool,
    ) -> Result<Mnist, DatasetError> {
        Mnist::builder(MnistVariant::Mnist, root)
            .train(train)
            .download(download)
            .load()
    }

    /// All the options: split, download, mirrors, Debian directory, timeout, retries, progress.
    pub fn builder(variant: MnistVariant, root: impl AsRef<Path>) -> MnistBuilder {
        MnistBuilder {
            variant,
            root: root.as_ref().to_path_buf(),
            train: true,
            download: false,
            mirrors: variant.mirrors().iter().map(|m| m.to_string()).collect(),
            debian_dir: variant.debian_dir().map(PathBuf::from),
            timeout: Duration::from_secs(30),
            retries: 2,
            progress: true,
            resources: variant.resources(),
        }
    }

    /// Apply `Normalize` after `ToTensor` (single channel: one mean, one std).
    pub fn with_normalize(mut self, normalize: Normalize) -> Mnist {
        assert_eq!(
            normalize.mean().len(),
            1,
            "Mnist images have one channel: Normalize needs one mean and one std"
        );
        self.normalize = Some(normalize);
        self
    }

    /// Which dataset this is: MNIST or FashionMNIST.
    pub fn variant(&self) -> MnistVariant {
        self.variant
    }

    /// True for the training split, false for the test split.
    pub fn train(&self) -> bool {
        self.train
    }

    /// The class names, indexed by label (torchvision's `classes`).
    pub fn classes(&self) -> &'static [&'static str] {
        self.variant.classes()
    }

    /// `(rows, cols)` of every image, as the image file says: `(28, 28)` in
    /// the real data sets (not checked, as in torchvision).
    pub fn image_size(&self) -> (usize, usize) {
        (self.rows, self.cols)
    }

    /// All pixels, image after image, row-major (torchvision's `.data`).
    pub fn images(&self) -> &[u8] {
        &self.images
    }

    /// All labels (torchvision's `.targets`), each below `classes().len()`.
    pub fn labels(&self) -> &[u8] {
        &self.labels
    }

    /// The pixels of image `index`.
    pub fn image(&self, index: usize) -> &[u8] {
        let n = self.rows * self.cols;
        &self.images[index * n..(index + 1) * n]
    }

    /// The directory the files are read from: `ROOT/<name>/raw`.
    pub fn raw_folder(root: impl AsRef<Path>, variant: MnistVariant) -> PathBuf {
        root.as_ref().join(variant.name()).join("raw")
    }
}

impl Dataset for Mnist {
    fn len(&self) -> usize {
        self.labels.len()
    }

    /// `(image [1, 28, 28], label)`, after `ToTensor` and `Normalize`.
    fn get(&self, index: usize) -> (Tensor, f32) {
        let mut values = Vec::with_capacity(self.rows * self.cols);
        let label = self.get_into(index, &mut values);
        (Tensor::from_vec(values, &[1, self.rows, self.cols]), label)
    }

    fn sample_shape(&self) -> Vec<usize> {
        vec![1, self.rows, self.cols]
    }

    /// One table lookup per pixel, no tensor: the DataLoader's fast path.
    fn get_into(&self, index: usize, out: &mut Vec<f32>) -> f32 {
        assert!(
            index < self.len(),
            "{}: index {index} out of range for {} samples",
            self.variant.name(),
            self.len()
        );
        Normalize::extend_pixels(self.normalize.as_ref(), self.image(index), out);
        self.labels[index] as f32
    }
}

/// Options for loading [`Mnist`]; from [`Mnist::builder`].
#[derive(Clone, Debug)]
pub struct MnistBuilder {
    variant: MnistVariant,
    root: PathBuf,
    train: bool,
    download: bool,
    mirrors: Vec<String>,
    debian_dir: Option<PathBuf>,
    timeout: Duration,
    retries: u32,
    progress: bool,
    /// The variant's files and checksums (replaced by tests to serve small files).
    resources: [Resource; 4],
}

impl MnistBuilder {
    /// The training split (default) or the test split.
    pub fn train(mut self, train: bool) -> MnistBuilder {
        self.train = train;
        self
    }

    /// Fetch missing files (default false): from the Debian package's
    /// directory, then from the mirrors.
    pub fn download(mut self, download: bool) -> MnistBuilder {
        self.download = download;
        self
    }

    /// Base URLs tried in order, each serving `<file>.gz` (default: torchvision's).
    pub fn mirrors(mut self, mirrors: impl IntoIterator<Item = impl Into<String>>) -> MnistBuilder {
        self.mirrors = mirrors.into_iter().map(Into::into).collect();
        self
    }

    /// Local directory holding `<file>.gz` (default: the Debian package's
    /// for FashionMNIST, none for MNIST); `None` skips this source.
    pub fn debian_dir(mut self, dir: Option<PathBuf>) -> MnistBuilder {
        self.debian_dir = dir;
        self
    }

    /// How long a connection, a response or a single read may stall (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> MnistBuilder {
        self.timeout = timeout;
        self
    }

    /// Extra attempts per mirror after a network failure (default 2).
    pub fn retries(mut self, retries: u32) -> MnistBuilder {
        self.retries = retries;
        self
    }

    /// Report downloads on stderr, with a progress bar when stderr is a terminal (default true).
    pub fn progress(mut self, progress: bool) -> MnistBuilder {
        self.progress = progress;
        self
    }

    /// Make sure the four files are in the raw directory (fetching them if
    /// `download`), then read the chosen split.
    pub fn load(self) -> Result<Mnist, DatasetError> {
        let raw = Mnist::raw_folder(&self.root, self.variant);
        if self.download {
            self.fetch_missing(&raw)?;
        }
        let [train_images, train_labels, test_images, test_labels] = self.variant.files();
        let (images, labels) = if self.train {
            (train_images, train_labels)
        } else {
            (test_images, test_labels)
        };
        let images_path = self.find(&raw, images)?;
        let labels_path = self.find(&raw, labels)?;
        self.read(&images_path, &labels_path)
    }

    /// `raw/<file>`, or else `raw/<file>.gz`.
    fn find(&self, raw: &Path, file: &str) -> Result<PathBuf, DatasetError> {
        present(raw, file).ok_or_else(|| self.not_found(raw, file, Vec::new()))
    }

    fn fetch_missing(&self, raw: &Path) -> Result<(), DatasetError> {
        for resource in self.resources {
            if present(raw, resource.file).is_some() {
                continue;
            }
            std::fs::create_dir_all(raw).map_err(|source| DatasetError::Io {
                path: raw.to_path_buf(),
                source,
            })?;
            let mut attempts = Vec::new();
            if let Some(dir) = &self.debian_dir {
                let src = dir.join(format!("{}.gz", resource.file));
                if !src.exists() {
                    attempts.push(format!("{} does not exist", src.display()));
                } else {
                    match install(&src, &src, &resource, raw) {
                        Ok(()) => continue,
                        Err(e) => attempts.push(e.to_string()),
                    }
                }
            }
            let fetcher = Fetcher {
                timeout: self.timeout,
                retries: self.retries,
                progress: self.progress,
            };
            let mut fetched = false;
            for mirror in &self.mirrors {
                let url = format!("{}/{}.gz", mirror.trim_end_matches('/'), resource.file);
                match fetcher.fetch(&url, &resource, raw) {
                    Ok(()) => {
                        fetched = true;
                        break;
                    }
                    Err(e) => {
                        if self.progress {
                            eprintln!("{e} (trying the next source)");
                        }
                        attempts.push(e.to_string());
                    }
                }
            }
            if !fetched {
                return Err(self.not_found(raw, resource.file, attempts));
            }
        }
        Ok(())
    }

    fn not_found(&self, raw: &Path, file: &str, attempts: Vec<String>) -> DatasetError {
        let mut ways = vec![format!(
            "download it ({} with download=true; ferrograd downloads unless --no-download is given) from {}",
            self.variant.name(),
            self.variant.mirrors().join(" or ")
        )];
        if let Some(dir) = self.variant.debian_dir() {
            ways.push(format!("install the Debian package (apt-get install dataset-fashion-mnist, files in {dir}/) and load with download=true (ferrograd: without --no-download)"));
        }
        let files = self.variant.files().map(|f| format!("{f}.gz")).join(", ");
        ways.push(format!(
            "copy the four files {files} (gzipped or not) into {}/",
            raw.display()
        ));
        let help = format!(
            "To get the data, either {}",
            ways.iter()
                .enumerate()
                .map(|(i, w)| format!("({}) {w}", i + 1))
                .collect::<Vec<_>>()
                .join(", or ")
        );
        DatasetError::NotFound {
            dataset: self.variant.name(),
            file: file.to_string(),
            dir: raw.to_path_buf(),
            attempts,
            help,
        }
    }

    /// Read and cross-check an image file and a label file.
    fn read(&self, images_path: &Path, labels_path: &Path) -> Result<Mnist, DatasetError> {
        let invalid = |path: &Path, message: String| DatasetError::Invalid {
            path: path.to_path_buf(),
            message,
        };
        let images = read_idx(images_path)?;
        let (n, rows, cols, pixels) = match (images.dims.as_slice(), images.data) {
            (&[n, rows, cols], IdxData::U8(pixels)) => (n, rows, cols, pixels),
            (dims, data) => {
                let kind = data.element_type();
                return Err(invalid(
                    images_path,
                    format!("expected u8 images [N, rows, cols], found {kind} of shape {dims:?}"),
                ));
            }
        };
        let labels = read_idx(labels_path)?;
        let labels = match (labels.dims.as_slice(), labels.data) {
            (&[m], IdxData::U8(labels)) if m == n => labels,
            (&[m], IdxData::U8(_)) => {
                return Err(invalid(
                    labels_path,
                    format!("{m} labels for the {n} images of {}", images_path.display()),
                ))
            }
            (dims, data) => {
                let kind = data.element_type();
                return Err(invalid(
                    labels_path,
                    format!("expected u8 labels [N], found {kind} of shape {dims:?}"),
                ));
            }
        };
        let classes = self.variant.classes().len();
        if let Some(i) = labels.iter().position(|&l| l as usize >= classes) {
            return Err(invalid(
                labels_path,
                format!("label {} at index {i} is not below {classes}", labels[i]),
            ));
        }
        Ok(Mnist {
            variant: self.variant,
            train: self.train,
            images: pixels,
            labels,
            rows,
            cols,
            normalize: None,
        })
    }
}

/// The file as torchvision leaves it (decompressed) or as the mirrors serve it (`.gz`).
fn present(raw: &Path, file: &str) -> Option<PathBuf> {
    [raw.join(file), raw.join(format!("{file}.gz"))]
        .into_iter()
        .find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::time::Instant;

    use md5::Md5;
    use sha2::{Digest, Sha256};

    use super::*;
    use crate::download::hex;
    use crate::testing::{gzip, idx_bytes, Reply, Server, TempDir};

    /// A small FashionMNIST: 5 training and 3 test images of 28x28, pixel
    /// values from a formula, labels 0..9. Returns the four files' IDX bytes.
    fn tiny() -> [Vec<u8>; 4] {
        let images = |n: u32, salt: u32| {
            let pixels: Vec<u8> = (0..n * 784).map(|i| ((i * 7 + salt) % 256) as u8).collect();
            idx_bytes(0x08, &[n, 28, 28], &pixels)
        };
        [
            images(5, 0),
            idx_bytes(0x08, &[5], &[9, 0, 3, 7, 2]),
            images(3, 1),
            idx_bytes(0x08, &[3], &[1, 8, 4]),
        ]
    }

    /// Resources whose checksums are those of `files` gzipped by `gzip` (md5 of
    /// the .gz, SHA-256 of the content), computed here with the md-5 and sha2 crates.
    fn resources_for(files: &[Vec<u8>; 4]) -> [Resource; 4] {
        let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
        let names = MnistVariant::FashionMnist.files();
        std::array::from_fn(|i| Resource {
            file: names[i],
            md5: leak(hex(&Md5::digest(gzip(&files[i])))),
            sha256: Some(leak(hex(&Sha256::digest(&files[i])))),
            size: files[i].len() as u64,
        })
    }

    fn write_raw(root: &Path, files: &[Vec<u8>; 4], gzipped: bool) {
        let raw = Mnist::raw_folder(root, MnistVariant::FashionMnist);
        std::fs::create_dir_all(&raw).unwrap();
        for (name, bytes) in MnistVariant::FashionMnist.files().iter().zip(files) {
            match gzipped {
                true => std::fs::write(raw.join(format!("{name}.gz")), gzip(bytes)).unwrap(),
                false => std::fs::write(raw.join(name), bytes).unwrap(),
            }
        }
    }

    /// A builder that reaches nothing outside the test: no Debian directory,
    /// no mirror, short timeout, no retries, no output.
    fn offline(root: &Path) -> MnistBuilder {
        let mut b = Mnist::builder(MnistVariant::FashionMnist, root)
            .download(true)
            .debian_dir(None)
            .mirrors(Vec::<String>::new())
            .timeout(Duration::from_millis(500))
            .retries(0)
            .progress(false);
        b.resources = resources_for(&tiny());
        b
    }

    fn routes(base: &str, files: &[Vec<u8>; 4]) -> HashMap<String, Reply> {
        let names = MnistVariant::FashionMnist.files();
        (0..4)
            .map(|i| {
                (
                    format!("/{base}/{}.gz", names[i]),
                    Reply::Body(gzip(&files[i])),
                )
            })
            .collect()
    }

    /// Every file in the raw directory, sorted (to show nothing partial is left).
    fn listing(root: &Path) -> Vec<String> {
        let raw = Mnist::raw_folder(root, MnistVariant::FashionMnist);
        let mut names: Vec<String> = match std::fs::read_dir(raw) {
            Ok(entries) => entries
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect(),
            Err(_) => Vec::new(),
        };
        names.sort();
        names
    }

    #[test]
    fn loads_both_splits_from_the_raw_directory() {
        let dir = TempDir::new("mnist-load");
        write_raw(dir.path(), &tiny(), false);
        let train = Mnist::fashion_mnist(dir.path(), true, false).unwrap();
        assert_eq!(
            (train.len(), train.image_size(), train.train()),
            (5, (28, 28), true)
        );
        assert_eq!(train.labels(), &[9, 0, 3, 7, 2]);
        assert_eq!(train.classes()[9], "Ankle boot");
        assert_eq!(train.images().len(), 5 * 784);
        let (x, y) = train.get(1);
        assert_eq!((x.shape(), y), (&[1, 28, 28][..], 0.0));
        // Image 1 starts at pixel 784: (784 * 7) % 256 = 112.
        assert_eq!(x.to_vec()[0], 112.0 / 255.0);
        assert_eq!(train.image(1)[0], 112);
        let test = Mnist::fashion_mnist(dir.path(), false, false).unwrap();
        assert_eq!((test.len(), test.labels()), (3, &[1, 8, 4][..]));
    }

    #[test]
    fn reads_gzipped_files_in_place() {
        let dir = TempDir::new("mnist-gz");
        write_raw(dir.path(), &tiny(), true);
        let test = Mnist::fashion_mnist(dir.path(), false, false).unwrap();
        assert_eq!(test.labels(), &[1, 8, 4]);
    }

    #[test]
    fn normalize_applies_after_to_tensor() {
        let dir = TempDir::new("mnist-norm");
        write_raw(dir.path(), &tiny(), false);
        let n = Normalize::new(&[0.2860], &[0.3530]);
        let train = Mnist::fashion_mnist(dir.path(), true, false)
            .unwrap()
            .with_normalize(n.clone());
        let expected = n
            .apply(&crate::ToTensor.apply(train.image(2), 28, 28))
            .to_vec();
        assert_eq!(train.get(2).0.to_vec(), expected);
        let mut out = Vec::new();
        assert_eq!(train.get_into(2, &mut out), 3.0);
        assert_eq!(out, expected);
    }

    #[test]
    fn missing_files_without_download_list_the_three_ways() {
        let dir = TempDir::new("mnist-missing");
        let e = Mnist::fashion_mnist(dir.path(), true, false).unwrap_err();
        let message = e.to_string();
        for needle in [
            "FashionMNIST: train-images-idx3-ubyte is not in",
            "download=true",
            "fashion-mnist.s3-website.eu-central-1.amazonaws.com",
            "apt-get install dataset-fashion-mnist",
            "copy the four files train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz",
        ] {
            assert!(message.contains(needle), "{needle:?} not in {message}");
        }
        // MNIST has no Debian package, so only two ways.
        let message = Mnist::mnist(dir.path(), false, false)
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("MNIST: t10k-images-idx3-ubyte") && !message.contains("apt-get"),
            "{message}"
        );
    }

    fn with_files(tag: &str, edit: impl FnOnce(&mut [Vec<u8>; 4])) -> (TempDir, DatasetError) {
        let dir = TempDir::new(tag);
        let mut files = tiny();
        edit(&mut files);
        write_raw(dir.path(), &files, false);
        let e = Mnist::fashion_mnist(dir.path(), true, false).unwrap_err();
        (dir, e)
    }

    #[test]
    fn images_of_the_wrong_type_are_invalid() {
        let (_d, e) = with_files("mnist-i32", |f| {
            f[0] = idx_bytes(0x0C, &[5, 28, 28], &vec![0; 5 * 784 * 4])
        });
        assert!(matches!(e, DatasetError::Invalid { .. }), "{e:?}");
        assert!(
            e.to_string()
                .contains("train-images-idx3-ubyte: expected u8 images"),
            "{e}"
        );
        assert!(
            e.to_string().contains("found i32 of shape [5, 28, 28]"),
            "{e}"
        );
    }

    #[test]
    fn images_of_the_wrong_rank_are_invalid() {
        let (_d, e) = with_files("mnist-rank", |f| {
            f[0] = idx_bytes(0x08, &[5, 784], &vec![0; 5 * 784])
        });
        assert!(e.to_string().contains("found u8 of shape [5, 784]"), "{e}");
    }

    #[test]
    fn label_and_image_counts_must_agree() {
        let (_d, e) = with_files("mnist-count", |f| {
            f[1] = idx_bytes(0x08, &[4], &[1, 2, 3, 4])
        });
        assert!(
            e.to_string()
                .contains("train-labels-idx1-ubyte: 4 labels for the 5 images"),
            "{e}"
        );
    }

    #[test]
    fn labels_must_be_class_indices() {
        let (_d, e) = with_files("mnist-label", |f| {
            f[1] = idx_bytes(0x08, &[5], &[1, 2, 10, 4, 5])
        });
        assert!(
            e.to_string()
                .contains("label 10 at index 2 is not below 10"),
            "{e}"
        );
        let (_d, e) = with_files("mnist-label-type", |f| {
            f[1] = idx_bytes(0x09, &[5], &[1, 2, 3, 4, 5])
        });
        assert!(
            e.to_string().contains("expected u8 labels [N], found i8"),
            "{e}"
        );
    }

    #[test]
    fn a_corrupt_file_in_the_raw_directory_is_reported() {
        let (_d, e) = with_files("mnist-trunc", |f| {
            f[0].truncate(100);
        });
        assert!(
            matches!(
                e,
                DatasetError::Truncated {
                    expected: 3936,
                    actual: 100,
                    ..
                }
            ),
            "{e:?}"
        );
    }

    #[test]
    fn downloads_verifies_and_installs_each_file() {
        let files = tiny();
        let server = Server::start(routes("fm", &files));
        let dir = TempDir::new("mnist-download");
        let train = offline(dir.path())
            .mirrors([format!("{}fm", server.url())])
            .load()
            .unwrap();
        assert_eq!(train.labels(), &[9, 0, 3, 7, 2]);
        // torchvision's layout: each .gz and its decompressed file, nothing else.
        let names = MnistVariant::FashionMnist.files();
        let mut expected: Vec<String> = names
            .iter()
            .flat_map(|n| [n.to_string(), format!("{n}.gz")])
            .collect();
        expected.sort();
        assert_eq!(listing(dir.path()), expected);
        let raw = Mnist::raw_folder(dir.path(), MnistVariant::FashionMnist);
        assert_eq!(std::fs::read(raw.join(names[3])).unwrap(), files[3]);
        assert_eq!(server.requests().len(), 4);
        // Present files are not fetched again.
        offline(dir.path())
            .mirrors([format!("{}fm", server.url())])
            .train(false)
            .load()
            .unwrap();
        assert_eq!(server.requests().len(), 4);
    }

    #[test]
    fn a_recompressed_file_is_accepted_by_the_sha256_of_its_content() {
        let files = tiny();
        let server = Server::start(routes("fm", &files));
        let dir = TempDir::new("mnist-sha");
        let mut b = offline(dir.path()).mirrors([server.url() + "fm"]);
        for r in &mut b.resources {
            r.md5 = "00000000000000000000000000000000";
        }
        assert_eq!(b.load().unwrap().len(), 5);
    }

    #[test]
    fn a_file_matching_only_its_md5_is_accepted() {
        // MNIST publishes no SHA-256: the md5 of the .gz decides.
        let files = tiny();
        let server = Server::start(routes("fm", &files));
        let dir = TempDir::new("mnist-md5");
        let mut b = offline(dir.path()).mirrors([server.url() + "fm"]);
        for r in &mut b.resources {
            r.sha256 = None;
        }
        assert_eq!(b.load().unwrap().len(), 5);
    }

    #[test]
    fn a_corrupt_download_is_rejected_and_the_next_mirror_tried() {
        let files = tiny();
        let mut bad = routes("bad", &files);
        bad.insert(
            "/bad/train-labels-idx1-ubyte.gz".into(),
            Reply::Body(gzip(&idx_bytes(8, &[5], &[1, 1, 1, 1, 1]))),
        );
        bad.extend(routes("good", &files));
        let server = Server::start(bad);

        // The corrupt mirror alone: a checksum error, and no file left behind for it.
        let dir = TempDir::new("mnist-corrupt");
        let e = offline(dir.path())
            .mirrors([server.url() + "bad"])
            .load()
            .unwrap_err();
        let message = e.to_string();
        assert!(matches!(e, DatasetError::NotFound { .. }), "{e:?}");
        assert!(
            message.contains("/bad/train-labels-idx1-ubyte.gz: checksum mismatch"),
            "{message}"
        );
        assert!(
            message.contains("apt-get install dataset-fashion-mnist"),
            "{message}"
        );
        assert!(!listing(dir.path())
            .iter()
            .any(|n| n.starts_with("train-labels") || n.contains("part")));
        // The corrupt answer is not retried, even with retries allowed.
        let before = server.requests().len();
        let dir = TempDir::new("mnist-corrupt2");
        let _ = offline(dir.path())
            .retries(2)
            .mirrors([server.url() + "bad"])
            .load();
        let labels_requests = server.requests()[before..]
            .iter()
            .filter(|p| p.contains("train-labels"))
            .count();
        assert_eq!(labels_requests, 1);

        // With a good mirror after it, the load succeeds.
        let dir = TempDir::new("mnist-corrupt3");
        let train = offline(dir.path())
            .mirrors([server.url() + "bad", server.url() + "good"])
            .load()
            .unwrap();
        assert_eq!(train.labels(), &[9, 0, 3, 7, 2]);
        assert!(server
            .requests()
            .contains(&"/good/train-labels-idx1-ubyte.gz".to_string()));
    }

    #[test]
    fn a_truncated_download_is_retried_then_rejected() {
        let files = tiny();
        let mut r = routes("fm", &files);
        r.insert(
            "/fm/train-images-idx3-ubyte.gz".into(),
            Reply::Truncated(gzip(&files[0])),
        );
        let server = Server::start(r);
        let dir = TempDir::new("mnist-truncated");
        let e = offline(dir.path())
            .retries(1)
            .mirrors([server.url() + "fm"])
            .load()
            .unwrap_err();
        let message = e.to_string();
        // ureq reports the early close; were it silent, the length check would.
        assert!(
            message.contains("/fm/train-images-idx3-ubyte.gz: stopped after 174 bytes"),
            "{message}"
        );
        let tries = server
            .requests()
            .iter()
            .filter(|p| p.contains("train-images"))
            .count();
        assert_eq!(tries, 2, "one retry after a short body");
        assert!(!listing(dir.path())
            .iter()
            .any(|n| n.starts_with("train-images") || n.contains("part")));
    }

    #[test]
    fn a_missing_file_404_moves_to_the_next_mirror_without_retrying() {
        let files = tiny();
        let server = Server::start(routes("good", &files));
        let dir = TempDir::new("mnist-404");
        let train = offline(dir.path())
            .retries(3)
            .mirrors([server.url() + "empty", server.url() + "good"])
            .load()
            .unwrap();
        assert_eq!(train.len(), 5);
        let misses = server
            .requests()
            .iter()
            .filter(|p| p.starts_with("/empty/"))
            .count();
        assert_eq!(
            misses, 4,
            "one request per file on the 404 mirror, no retries"
        );
    }

    #[test]
    fn a_stalled_server_times_out() {
        let mut r = HashMap::new();
        r.insert(
            "/stall/train-images-idx3-ubyte.gz".to_string(),
            Reply::Stall,
        );
        let server = Server::start(r);
        let dir = TempDir::new("mnist-stall");
        let start = Instant::now();
        let e = offline(dir.path())
            .timeout(Duration::from_millis(300))
            .mirrors([server.url() + "stall"])
            .load()
            .unwrap_err();
        let elapsed = start.elapsed();
        assert!(e.to_string().to_lowercase().contains("timeout"), "{e}");
        assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");
        assert!(listing(dir.path()).is_empty(), "{:?}", listing(dir.path()));
    }

    #[test]
    fn the_debian_directory_is_used_before_the_network() {
        let files = tiny();
        let debian = TempDir::new("mnist-debian-src");
        for (name, bytes) in MnistVariant::FashionMnist.files().iter().zip(&files) {
            // Recompressed at another level, as Debian did: the md5 differs, the content does not.
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
            std::io::Write::write_all(&mut e, bytes).unwrap();
            std::fs::write(
                debian.path().join(format!("{name}.gz")),
                e.finish().unwrap(),
            )
            .unwrap();
        }
        let server = Server::start(routes("fm", &files));
        let dir = TempDir::new("mnist-debian");
        let train = offline(dir.path())
            .debian_dir(Some(debian.path().to_path_buf()))
            .mirrors([server.url() + "fm"])
            .load()
            .unwrap();
        assert_eq!(train.labels(), &[9, 0, 3, 7, 2]);
        assert!(
            server.requests().is_empty(),
            "the network was used: {:?}",
            server.requests()
        );
        // Decompressed copies only (the Debian .gz would not match torchvision's md5).
        let mut expected: Vec<String> = MnistVariant::FashionMnist
            .files()
            .map(String::from)
            .to_vec();
        expected.sort();
        assert_eq!(listing(dir.path()), expected);
    }

    #[test]
    fn a_corrupt_debian_file_falls_back_to_the_mirrors() {
        let files = tiny();
        let debian = TempDir::new("mnist-debian-bad-src");
        for (name, bytes) in MnistVariant::FashionMnist.files().iter().zip(&files) {
            std::fs::write(debian.path().join(format!("{name}.gz")), gzip(bytes)).unwrap();
        }
        std::fs::write(
            debian.path().join("t10k-labels-idx1-ubyte.gz"),
            gzip(b"not the labels"),
        )
        .unwrap();
        let server = Server::start(routes("fm", &files));
        let dir = TempDir::new("mnist-debian-bad");
        let test = offline(dir.path())
            .debian_dir(Some(debian.path().to_path_buf()))
            .mirrors([server.url() + "fm"])
            .train(false)
            .load()
            .unwrap();
        assert_eq!(test.labels(), &[1, 8, 4]);
        assert_eq!(
            server.requests(),
            vec!["/fm/t10k-labels-idx1-ubyte.gz".to_string()]
        );
    }

    #[test]
    fn when_nothing_works_one_error_lists_what_was_tried_and_the_three_ways() {
        let server = Server::start(HashMap::new());
        let dir = TempDir::new("mnist-nothing");
        let no_debian = dir.path().join("no-such-debian-dir");
        let e = offline(dir.path())
            .debian_dir(Some(no_debian.clone()))
            .mirrors([server.url() + "fm"])
            .load()
            .unwrap_err();
        let message = e.to_string();
        for needle in [
            "FashionMNIST: train-images-idx3-ubyte is not in",
            "no-such-debian-dir/train-images-idx3-ubyte.gz does not exist",
            "/fm/train-images-idx3-ubyte.gz: HTTP 404",
            "(1) download it",
            "(2) install the Debian package",
            "(3) copy the four files",
        ] {
            assert!(message.contains(needle), "{needle:?} not in {message}");
        }
        assert!(!message.contains('\n'), "one line for the CLI: {message}");
    }
}
