//! Getting the data set and the worker threads ready, shared by every command.

use anyhow::{bail, Context, Result};
use datasets::{Dataset, Mnist, MnistVariant};

use crate::args::{DataArgs, DatasetName};

/// The train or test split of the data set the flags name: files already in
/// `--data-dir`, else the Debian package, else the network (unless `--no-download`).
pub fn load(data: &DataArgs, train: bool) -> Result<Mnist> {
    let variant = match data.dataset {
        DatasetName::FashionMnist => MnistVariant::FashionMnist,
        DatasetName::Mnist => MnistVariant::Mnist,
    };
    let split = if train { "training" } else { "test" };
    let set = Mnist::builder(variant, &data.data_dir)
        .train(train)
        .download(!data.no_download)
        .load()
        .with_context(|| {
            format!(
                "loading the {} {split} set from {}",
                variant.name(),
                data.data_dir.display()
            )
        })?;
    let images = || {
        Mnist::raw_folder(&data.data_dir, variant).join(variant.files()[if train { 0 } else { 2 }])
    };
    if set.is_empty() {
        bail!(
            "{}: the {} {split} set holds no images",
            images().display(),
            variant.name()
        );
    }
    // The network's first layer takes 784 pixels.
    let (rows, cols) = set.image_size();
    if (rows, cols) != (28, 28) {
        bail!(
            "{}: the {} {split} set's images are {rows}x{cols}; the network takes 28x28",
            images().display(),
            variant.name()
        );
    }
    Ok(set)
}

/// `ferrograd download`: make sure both splits are present and verified.
pub fn download(data: &DataArgs) -> Result<()> {
    for train in [true, false] {
        let set = load(data, train)?;
        crate::say(&format!(
            "{}: {} images ready in {}",
            set.variant().name(),
            set.len(),
            data.data_dir.display()
        ));
    }
    Ok(())
}

/// Size rayon's global pool once, before any kernel runs (default: all cores).
pub fn set_threads(threads: Option<u16>) -> Result<()> {
    if let Some(n) = threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n as usize)
            .build_global()
            .context("setting up the worker threads")?;
    }
    Ok(())
}
