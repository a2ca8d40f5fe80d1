//! Helpers shared by the integration tests of the `ferrograd` binary: running
//! it, temporary directories, a tiny synthetic FashionMNIST, the real data
//! (prepared once), and safetensors comparisons.

// Each test file compiles its own copy of this module and uses only part of it.
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use autograd::{Generator, Tensor};
use nn::StateDict;

/// FashionMNIST's class names, in label order.
pub const CLASSES: [&str; 10] = [
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

/// The `ferrograd` binary, ready to take arguments.
pub fn ferrograd() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ferrograd"))
}

/// What a finished run printed.
pub struct Run {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}\n--- stdout ---\n{}--- stderr ---\n{}",
            self.status, self.stdout, self.stderr
        )
    }
}

/// Run `ferrograd ARGS` to the end.
pub fn run<S: AsRef<std::ffi::OsStr>>(args: impl IntoIterator<Item = S>) -> Run {
    let out = ferrograd()
        .args(args)
        .output()
        .expect("starting the ferrograd binary");
    Run {
        status: out.status,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

impl Run {
    /// Exit code 0, nothing on stderr.
    pub fn assert_success(&self) -> &Run {
        assert!(self.status.success(), "ferrograd failed: {self:?}");
        assert!(self.stderr.is_empty(), "unexpected stderr: {self:?}");
        self
    }

    /// One of our own errors: exit code 1, no panic, and exactly one line on
    /// stderr, `ferrograd: error: ...`, containing every one of `needles`.
    pub fn assert_error(&self, needles: &[&str]) -> &Run {
        assert_eq!(
            self.status.code(),
            Some(1),
            "expected exit code 1: {self:?}"
        );
        assert!(!self.stderr.contains("panicked"), "a panic: {self:?}");
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "expected a one-line error: {self:?}");
        assert!(
            lines[0].starts_with("ferrograd: error: "),
            "not our error line: {self:?}"
        );
        for needle in needles {
            assert!(
                lines[0].contains(needle),
                "error lacks {needle:?}: {self:?}"
            );
        }
        self
    }

    /// A flag clap rejects: exit code 2, no panic, the first line of stderr is
    /// `error: ...` containing every one of `needles` (clap adds a usage hint
    /// on the following lines).
    pub fn assert_usage_error(&self, needles: &[&str]) -> &Run {
        assert_eq!(
            self.status.code(),
            Some(2),
            "expected exit code 2: {self:?}"
        );
        assert!(!self.stderr.contains("panicked"), "a panic: {self:?}");
        let first = self.stderr.lines().next().unwrap_or("");
        assert!(first.starts_with("error: "), "not clap's error: {self:?}");
        for needle in needles {
            assert!(first.contains(needle), "error lacks {needle:?}: {self:?}");
        }
        self
    }

    /// Training never started: no epoch header, no loss line.
    pub fn assert_no_training(&self) -> &Run {
        assert!(
            !self.stdout.contains("Epoch") && !self.stdout.contains("loss:"),
            "training started before the error: {self:?}"
        );
        self
    }
}

/// A fresh directory under Cargo's temporary directory for integration tests,
/// removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "{tag}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).expect("creating a temporary directory");
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// `path` as a `String` for an argument list.
pub fn arg(path: &Path) -> String {
    path.to_str().expect("a UTF-8 path").to_string()
}

/// A split of a synthetic data set: `n` images of 28x28 bytes, row-major, and labels.
pub struct Split {
    pub images: Vec<u8>,
    pub labels: Vec<u8>,
}

impl Split {
    /// The batch the DataLoader makes of images `range` (ToTensor: pixel / 255)
    /// and its labels as f32, as ferrograd's losses take them.
    pub fn batch(&self, range: std::ops::Range<usize>) -> (Tensor, Tensor) {
        let n = range.len();
        let pixels: Vec<f32> = self.images[range.start * 784..range.end * 784]
            .iter()
            .map(|&p| p as f32 / 255.0)
            .collect();
        let labels: Vec<f32> = self.labels[range].iter().map(|&l| l as f32).collect();
        (
            Tensor::from_vec(pixels, &[n, 1, 28, 28]),
            Tensor::from_vec(labels, &[n]),
        )
    }
}

/// Random images and labels; the outermost ring of pixels is 0 in every
/// image (as in FashionMNIST), so some first-layer weights get no gradient.
pub fn synthetic_split(n: usize, generator: &mut Generator) -> Split {
    let mut images = vec![0u8; n * 784];
    for (i, p) in images.iter_mut().enumerate() {
        let (row, col) = ((i % 784) / 28, i % 28);
        if (1..27).contains(&row) && (1..27).contains(&col) {
            *p = generator.below(256) as u8;
        }
    }
    let labels = (0..n).map(|_| generator.below(10) as u8).collect();
    Split { images, labels }
}

/// The IDX file of `n` images of 28x28 (magic 00 00 08 03, big-endian dims).
pub fn idx_images(split: &Split) -> Vec<u8> {
    let n = split.labels.len() as u32;
    let mut bytes = vec![0, 0, 8, 3];
    for d in [n, 28, 28] {
        bytes.extend(d.to_be_bytes());
    }
    bytes.extend(&split.images);
    bytes
}

/// The IDX file of labels (magic 00 00 08 01, big-endian count).
pub fn idx_labels(split: &Split) -> Vec<u8> {
    let mut bytes = vec![0, 0, 8, 1];
    bytes.extend((split.labels.len() as u32).to_be_bytes());
    bytes.extend(&split.labels);
    bytes
}

/// Where `ferrograd --data-dir ROOT` looks for FashionMNIST.
pub fn raw_dir(root: &Path) -> PathBuf {
    root.join("FashionMNIST").join("raw")
}

/// Write a synthetic FashionMNIST (the four uncompressed IDX files) under
/// `root` in torchvision's layout; returns the training and test splits.
pub fn write_synthetic(root: &Path, n_train: usize, n_test: usize, seed: u64) -> (Split, Split) {
    let mut generator = Generator::new(seed);
    let train = synthetic_split(n_train, &mut generator);
    let test = synthetic_split(n_test, &mut generator);
    let raw = raw_dir(root);
    fs::create_dir_all(&raw).unwrap();
    fs::write(raw.join("train-images-idx3-ubyte"), idx_images(&train)).unwrap();
    fs::write(raw.join("train-labels-idx1-ubyte"), idx_labels(&train)).unwrap();
    fs::write(raw.join("t10k-images-idx3-ubyte"), idx_images(&test)).unwrap();
    fs::write(raw.join("t10k-labels-idx1-ubyte"), idx_labels(&test)).unwrap();
    (train, test)
}

/// A temporary directory holding a synthetic FashionMNIST of 256 training and
/// 64 test images: use it with `--data-dir DIR --no-download`.
pub fn synthetic_data(tag: &str) -> TempDir {
    let dir = TempDir::new(tag);
    write_synthetic(dir.path(), 256, 64, 1);
    dir
}

/// Weights for the tutorial's network with PyTorch's names and `nn.Linear`'s
/// default init (uniform in ±1/sqrt(fan_in), weights and biases), from `seed`.
pub fn tutorial_weights(seed: u64) -> StateDict {
    let mut generator = Generator::new(seed);
    let mut sd = StateDict::new();
    for (i, (fan_out, fan_in)) in [(512, 784), (512, 512), (10, 512)].into_iter().enumerate() {
        let bound = 1.0 / (fan_in as f32).sqrt();
        let w = Tensor::rand_uniform(&[fan_out, fan_in], -bound, bound, &mut generator);
        let b = Tensor::rand_uniform(&[fan_out], -bound, bound, &mut generator);
        sd.insert(format!("linear_relu_stack.{}.weight", 2 * i), w);
        sd.insert(format!("linear_relu_stack.{}.bias", 2 * i), b);
    }
    sd
}

/// The real FashionMNIST, decompressed once for all tests into
/// `CARGO_TARGET_TMPDIR/fashion-mnist-data` by `ferrograd download` (from the
/// Debian package, else the network). Tests then pass `--no-download`.
///
/// Within one test binary the `OnceLock` makes the other tests wait. Across
/// binaries running at once (e.g. under nextest) it is safe too: the datasets
/// crate decompresses each file to a name holding the process id and renames
/// it into place, so a reader sees either no file or a whole one.
pub fn real_data() -> PathBuf {
    static READY: OnceLock<PathBuf> = OnceLock::new();
    READY
        .get_or_init(|| {
            let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fashion-mnist-data");
            let out = run(["download", "--data-dir", &arg(&dir)]);
            assert!(
                out.status.success(),
                "preparing FashionMNIST in {} (install the Debian package dataset-fashion-mnist): {out:?}",
                dir.display()
            );
            dir
        })
        .clone()
}

/// `reference/fidelity/NAME`: values computed by PyTorch.
pub fn reference(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../reference/fidelity")
        .join(name)
}

/// Each tensor's name, shape and raw f32 bits, in file order.
pub fn tensor_bits(sd: &StateDict) -> Vec<(String, Vec<usize>, Vec<u32>)> {
    sd.iter()
        .map(|(name, t)| {
            let bits = t.to_vec().iter().map(|v| v.to_bits()).collect();
            (name.to_string(), t.shape().to_vec(), bits)
        })
        .collect()
}

/// The number in `line` right after `label` (spaces skipped), e.g. 2.3 for
/// `number_after("loss: 2.3  [", "loss: ")`. Panics if there is none.
pub fn number_after(line: &str, label: &str) -> f64 {
    let start = line
        .find(label)
        .unwrap_or_else(|| panic!("no {label:?} in {line:?}"))
        + label.len();
    let rest = line[start..].trim_start();
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == 'e'))
        .unwrap_or(rest.len());
    rest[..end]
        .parse()
        .unwrap_or_else(|_| panic!("no number after {label:?} in {line:?}"))
}

/// The accuracy (in %) and average loss of a tutorial test line
/// ` Accuracy: 44.8%, Avg loss: 2.149437 `.
pub fn accuracy_line(line: &str) -> (f64, f64) {
    (
        number_after(line, "Accuracy: "),
        number_after(line, "Avg loss: "),
    )
}
