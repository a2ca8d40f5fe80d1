//! Training checkpoints: after epoch N, `DIR/epoch-000N/` holds
//! `model.safetensors` (PyTorch names), `optimizer.safetensors` (buffers, with
//! step counts, hyperparameters and the scheduler's state as metadata) and
//! `trainer.json` (the epoch and the flags that must not change on resume).
//!
//! A checkpoint is written into a hidden temporary directory and renamed into
//! place only when complete, so a crash or kill at any moment leaves the
//! previous checkpoints intact and never a half-written `epoch-*` directory.
//! The shuffle order and the initial weights derive from the seed, so the
//! seed and the epoch are the whole RNG state of a run.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use nn::StateDict;
use optim::OptimizerState;
use serde_json::{json, Value};

const FORMAT: u64 = 1;
const SCHEDULER_PREFIX: &str = "scheduler.";

/// What a checkpoint holds.
pub struct Checkpoint {
    /// Epochs completed.
    pub epoch: u32,
    pub model: StateDict,
    pub optimizer: OptimizerState,
    pub scheduler: BTreeMap<String, f64>,
    /// The flags a resumed run must repeat (dataset, batch size, optimizer, ...).
    pub config: Value,
}

fn epoch_dir(dir: &Path, epoch: u32) -> PathBuf {
    dir.join(format!("epoch-{epoch:04}"))
}

/// Write `ckpt` as `dir/epoch-NNNN`, atomically.
pub fn save(dir: &Path, ckpt: &Checkpoint) -> Result<()> {
    fs::create_dir_all(dir)
        .with_context(|| format!("creating checkpoint directory {}", dir.display()))?;
    let staging = dir.join(format!(
        ".epoch-{:04}.partial-{}",
        ckpt.epoch,
        std::process::id()
    ));
    if staging.exists() {
        fs::remove_dir_all(&staging).with_context(|| format!("removing {}", staging.display()))?;
    }
    fs::create_dir(&staging).with_context(|| format!("creating {}", staging.display()))?;

    nn::save_safetensors(staging.join("model.safetensors"), &ckpt.model)?;
    let mut metadata: BTreeMap<String, String> = ckpt
        .optimizer
        .scalars
        .iter()
        .map(|(k, v)| (k.clone(), format!("{v}")))
        .collect();
    metadata.extend(
        ckpt.scheduler
            .iter()
            .map(|(k, v)| (format!("{SCHEDULER_PREFIX}{k}"), format!("{v}"))),
    );
    let buffers: StateDict = ckpt
        .optimizer
        .tensors
        .iter()
        .map(|(k, t)| (k.clone(), t.clone()))
        .collect();
    nn::save_safetensors_with_metadata(staging.join("optimizer.safetensors"), &buffers, &metadata)?;
    let trainer = json!({ "format": FORMAT, "epoch": ckpt.epoch, "config": ckpt.config });
    write_synced(
        &staging.join("trainer.json"),
        serde_json::to_string_pretty(&trainer)?.as_bytes(),
    )?;
    sync_dir(&staging);

    // Move into place; an older checkpoint of the same epoch is replaced.
    let target = epoch_dir(dir, ckpt.epoch);
    if target.exists() {
        let old = dir.join(format!(
            ".epoch-{:04}.old-{}",
            ckpt.epoch,
            std::process::id()
        ));
        fs::rename(&target, &old).with_context(|| format!("replacing {}", target.display()))?;
        fs::rename(&staging, &target).with_context(|| format!("writing {}", target.display()))?;
        fs::remove_dir_all(&old).ok();
    } else {
        fs::rename(&staging, &target).with_context(|| format!("writing {}", target.display()))?;
    }
    sync_dir(dir);
    Ok(())
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut f = fs::File::create(path).with_context(|| format!("writing {}", path.display()))?;
    f.write_all(bytes)
        .and_then(|_| f.sync_all())
        .with_context(|| format!("writing {}", path.display()))
}

/// Best effort: make the renames in `dir` durable.
fn sync_dir(dir: &Path) {
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

/// The newest complete checkpoint in `dir`, if any.
pub fn latest(dir: &Path) -> Result<Option<PathBuf>> {
    let entries = fs::read_dir(dir)
        .with_context(|| format!("reading checkpoint directory {}", dir.display()))?;
    let mut best: Option<(u32, PathBuf)> = None;
    for entry in entries {
        let path = entry
            .with_context(|| format!("reading checkpoint directory {}", dir.display()))?
            .path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let Some(n) = name
            .strip_prefix("epoch-")
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        if path.join("trainer.json").is_file() && best.as_ref().is_none_or(|(b, _)| n > *b) {
            best = Some((n, path));
        }
    }
    Ok(best.map(|(_, p)| p))
}

/// Read the checkpoint in `path` (an `epoch-NNNN` directory).
pub fn load(path: &Path) -> Result<Checkpoint> {
    let trainer_path = path.join("trainer.json");
    let text = fs::read_to_string(&trainer_path)
        .with_context(|| format!("reading {}", trainer_path.display()))?;
    let trainer: Value = serde_json::from_str(&text)
        .with_context(|| format!("{}: not valid JSON", trainer_path.display()))?;
    if trainer["format"].as_u64() != Some(FORMAT) {
        bail!(
            "{}: unknown checkpoint format {}",
            trainer_path.display(),
            trainer["format"]
        );
    }
    let epoch = trainer["epoch"]
        .as_u64()
        .and_then(|e| u32::try_from(e).ok())
        .ok_or_else(|| anyhow!("{}: no epoch number", trainer_path.display()))?;
    let model = nn::load_safetensors(path.join("model.safetensors"))?;
    let opt_path = path.join("optimizer.safetensors");
    let (buffers, metadata) = nn::load_safetensors_with_metadata(&opt_path)?;
    let mut scalars = BTreeMap::new();
    let mut scheduler = BTreeMap::new();
    for (key, text) in metadata {
        let value: f64 = text.parse().map_err(|_| {
            anyhow!(
                "{}: metadata {key} = '{text}' is not a number",
                opt_path.display()
            )
        })?;
        match key.strip_prefix(SCHEDULER_PREFIX) {
            Some(k) => scheduler.insert(k.to_string(), value),
            None => scalars.insert(key, value),
        };
    }
    let optimizer = OptimizerState {
        tensors: buffers.into_iter().collect(),
        scalars,
    };
    Ok(Checkpoint {
        epoch,
        model,
        optimizer,
        scheduler,
        config: trainer["config"].clone(),
    })
}
