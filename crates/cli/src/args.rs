//! Command-line flags (clap). Each flag's help says what it does and its default.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Parser, Debug)]
#[command(
    name = "ferrograd",
    version,
    about = "Train, evaluate and run PyTorch's tutorial network on FashionMNIST or MNIST, in pure Rust.",
    long_about = None
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Train the tutorial's network (Flatten, Linear 784-512, ReLU, Linear 512-512, ReLU, Linear 512-10)
    /// and print the tutorial's lines.
    Train(TrainArgs),
    /// Print the tutorial's test lines (accuracy, average loss) for saved weights.
    Eval(EvalArgs),
    /// Print the predicted class, its probability and the true label of one test image.
    Predict(PredictArgs),
    /// Download (or find offline) and verify the dataset.
    Download(DataArgs),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DatasetName {
    #[value(name = "fashion-mnist")]
    FashionMnist,
    #[value(name = "mnist")]
    Mnist,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OptimizerName {
    Sgd,
    Adam,
    Adamw,
    Rmsprop,
}

impl OptimizerName {
    pub fn as_str(self) -> &'static str {
        match self {
            OptimizerName::Sgd => "sgd",
            OptimizerName::Adam => "adam",
            OptimizerName::Adamw => "adamw",
            OptimizerName::Rmsprop => "rmsprop",
        }
    }
}

/// Where the data is and which data set.
#[derive(Args, Debug, Clone)]
pub struct DataArgs {
    /// Root directory of the data, in torchvision's layout (ROOT/FashionMNIST/raw/, ROOT/MNIST/raw/).
    #[arg(long, default_value = "data")]
    pub data_dir: PathBuf,
    /// Which data set.
    #[arg(long, value_enum, default_value = "fashion-mnist")]
    pub dataset: DatasetName,
    /// Use only the files already in --data-dir (torchvision's download=False); without it, missing files
    /// are copied from the Debian package dataset-fashion-mnist if installed, else downloaded.
    #[arg(long)]
    pub no_download: bool,
    /// Worker threads for the numeric kernels (default: all cores).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..), allow_negative_numbers = true)]
    pub threads: Option<u16>,
}

#[derive(Args, Debug, Clone)]
pub struct TrainArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Number of passes over the training set.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..), allow_negative_numbers = true)]
    pub epochs: u32,
    /// Samples per batch (the last batch of an epoch may be smaller).
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..), allow_negative_numbers = true)]
    pub batch_size: u32,
    /// Learning rate (for --scheduler, the initial one).
    #[arg(long, default_value_t = 1e-3, allow_negative_numbers = true)]
    pub lr: f64,
    /// Optimizer, with PyTorch's defaults for everything not given here.
    #[arg(long, value_enum, default_value = "sgd")]
    pub optimizer: OptimizerName,
    /// Momentum (SGD, RMSprop).
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub momentum: f64,
    /// Weight decay (default: 0, or 0.01 for AdamW as in PyTorch).
    #[arg(long, allow_negative_numbers = true)]
    pub weight_decay: Option<f64>,
    /// Nesterov momentum (SGD; needs --momentum > 0).
    #[arg(long)]
    pub nesterov: bool,
    /// Learning-rate schedule, stepped once per epoch; see `ferrograd train --help` for the forms.
    #[arg(long, long_help = SCHEDULER_HELP)]
    pub scheduler: Option<String>,
    /// Shuffle the training set: a new permutation each epoch, PyTorch's for `DataLoader(shuffle=True, generator=torch.Generator().manual_seed(SEED))`.
    #[arg(long)]
    pub shuffle: bool,
    /// Seed of the initial weights (those of `torch.manual_seed(SEED)` then the tutorial's `NeuralNetwork()`) and of the shuffling.
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
    pub seed: u64,
    /// Start from these weights (safetensors with PyTorch's state_dict names, e.g. saved by PyTorch).
    #[arg(long, value_name = "FILE.safetensors")]
    pub init: Option<PathBuf>,
    /// Save the final weights here (safetensors, PyTorch's names: loads with safetensors.torch.load_file).
    #[arg(long, value_name = "FILE.safetensors")]
    pub save: Option<PathBuf>,
    /// Write a checkpoint (model, optimizer, schedule and RNG state) here after every epoch, atomically.
    #[arg(long, value_name = "DIR")]
    pub checkpoint_dir: Option<PathBuf>,
    /// Continue from the last complete checkpoint in DIR (give the same other flags as the first run).
    #[arg(long, value_name = "DIR")]
    pub resume: Option<PathBuf>,
    /// Write one JSON line per logged step and per epoch (epoch, step, loss, lr, accuracy, avg loss, seconds);
    /// the file is replaced, or appended to with --resume.
    #[arg(long, value_name = "FILE")]
    pub metrics: Option<PathBuf>,
    /// Draw the loss and accuracy curves at the end (.png or .svg).
    #[arg(long, value_name = "FILE")]
    pub plot: Option<PathBuf>,
    /// Print nothing on stdout (errors still go to stderr).
    #[arg(long)]
    pub quiet: bool,
}

const SCHEDULER_HELP: &str =
    "Learning-rate schedule, stepped once per epoch (onecycle: once per batch). Forms (PyTorch's schedulers):
  step:STEP_SIZE[:GAMMA]          StepLR (gamma 0.1)
  multistep:M1,M2,...[:GAMMA]     MultiStepLR (gamma 0.1)
  exponential:GAMMA               ExponentialLR
  cosine[:T_MAX[:ETA_MIN]]        CosineAnnealingLR (T_MAX: --epochs, 0)
  linear[:START[:END[:ITERS]]]    LinearLR (1/3, 1, 5)
  onecycle:MAX_LR                 OneCycleLR over all epochs
  plateau[:FACTOR[:PATIENCE]]     ReduceLROnPlateau on the test loss (0.1, 10)";

#[derive(Args, Debug, Clone)]
pub struct EvalArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Weights to evaluate (safetensors, PyTorch's state_dict names).
    #[arg(long, value_name = "FILE.safetensors")]
    pub weights: PathBuf,
    /// Samples per batch.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..), allow_negative_numbers = true)]
    pub batch_size: u32,
}

#[derive(Args, Debug, Clone)]
pub struct PredictArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Weights to use (safetensors, PyTorch's state_dict names).
    #[arg(long, value_name = "FILE.safetensors")]
    pub weights: PathBuf,
    /// Index of the test image (0-based).
    // A negative number is read as a value, so that the error is about it,
    // not about an unknown flag.
    #[arg(long, allow_negative_numbers = true)]
    pub index: usize,
}
