//! # datasets: from files on disk (or the network) to batches of tensors
//!
//! What torchvision and `torch.utils.data` do for the tutorial:
//! - [`read_idx`] / [`parse_idx`] → [`IdxArray`] ([`IdxData`]): the IDX format,
//!   every element type, raw or gzip (recognised by its magic bytes).
//! - [`Mnist`] ([`MnistVariant`], [`MnistBuilder`]): MNIST and FashionMNIST in
//!   torchvision's layout `ROOT/FashionMNIST/raw/`, train or test split, with
//!   `download` (Debian package `dataset-fashion-mnist` first, then torchvision's
//!   mirrors; verified, written under a temporary name, then renamed).
//! - [`Dataset`] (len, get), [`TensorDataset`], [`Subset`], [`random_split`]
//!   (by lengths; [`random_split_fractions`] by fractions), [`Transformed`]
//!   (`transform=` and `target_transform=` on any dataset).
//! - Transforms [`ToTensor`] (`u8 / 255`, `[1, H, W]`) and [`Normalize`].
//! - [`DataLoader`]: `batch_size`, `shuffle` (seeded, a new permutation per
//!   epoch, `set_epoch` to resume), `drop_last`; batches `(images [B,1,28,28],
//!   labels [B])` ([`Batches`]) built on the caller's thread, or ahead on a
//!   background thread with `prefetch(n)`.
//! - [`DatasetError`]: every failure from outside, naming the file or URL.
//!
//! ```no_run
//! use datasets::{DataLoader, Mnist};
//! let train = Mnist::fashion_mnist("data", true, true)?;
//! let loader = DataLoader::new(train, 64).shuffle(true).seed(0);
//! for (images, labels) in &loader {
//!     assert_eq!(images.shape()[1..], [1, 28, 28]);
//!     # let _ = labels;
//! }
//! # Ok::<(), datasets::DatasetError>(())
//! ```

#![warn(missing_docs)]

mod dataloader;
mod dataset;
mod download;
mod error;
mod idx;
mod mnist;
mod transforms;

#[cfg(test)]
mod testing;

pub use dataloader::{Batches, DataLoader};
pub use dataset::{
    random_split, random_split_fractions, Dataset, Subset, TensorDataset, Transformed,
};
pub use error::DatasetError;
pub use idx::{parse_idx, read_idx, IdxArray, IdxData};
pub use mnist::{Mnist, MnistBuilder, MnistVariant, DEBIAN_FASHION_MNIST_DIR};
pub use transforms::{Normalize, ToTensor};
