//! `ferrograd train`: the tutorial's training run, with the flags around it
//! (init, save, checkpoints and resume, metrics, plot).

use std::fs::{File, OpenOptions};
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use autograd::no_grad;
use datasets::{DataLoader, Dataset};
use nn::models::NeuralNetwork;
use nn::{CrossEntropyLoss, Module};
use optim::{LrScheduler, OptimOptions, Optimizer};
use serde_json::{json, Value};

use crate::args::{OptimizerName, TrainArgs};
use crate::checkpoint::{self, Checkpoint};
use crate::data;
use crate::plot::{self, EpochPoint, StepPoint};

/// Everything a training run keeps between epochs.
struct Run {
    model: NeuralNetwork,
    loss_fn: CrossEntropyLoss,
    optimizer: Box<dyn Optimizer>,
    scheduler: Option<Box<dyn LrScheduler>>,
    metrics: Option<File>,
    quiet: bool,
    start: Instant,
    steps: Vec<StepPoint>,
    epochs: Vec<EpochPoint>,
    /// Under `mpirun`: this rank's place in the job (see distributed.rs).
    #[cfg(feature = "distributed")]
    comm: crate::distributed::Comm,
}

pub fn run(args: &TrainArgs) -> Result<()> {
    validate(args)?;
    #[cfg(feature = "distributed")]
    let comm = crate::distributed::Comm::world()?;
    // Only the rank that writes checks the outputs (every run has one; under mpirun, rank 0).
    #[cfg(feature = "distributed")]
    let writes_outputs = comm.is_root();
    #[cfg(not(feature = "distributed"))]
    let writes_outputs = true;
    if writes_outputs {
        check_outputs(args)?;
    }
    let train_data = data::load(&args.data, true)?;
    let test_data = data::load(&args.data, false)?;
    let size = train_data.len();
    let train_loader = DataLoader::new(train_data, args.batch_size as usize)
        .shuffle(args.shuffle)
        .seed(args.seed);
    let test_loader = DataLoader::new(test_data, args.batch_size as usize);

    autograd::manual_seed(args.seed);
    let model = NeuralNetwork::new();
    if let Some(init) = &args.init {
        // The file's own errors name it.
        let weights = nn::load_safetensors(init).context("--init")?;
        model
            .load_state_dict(&weights, true)
            .with_context(|| format!("--init {}", init.display()))?;
        // Training from them would stop at the first batch, blaming the lr.
        for (name, tensor) in weights.iter() {
            let values = tensor.to_vec();
            if let Some(at) = values.iter().position(|v| !v.is_finite()) {
                bail!(
                    "--init {}: tensor \"{name}\" holds a non-finite value ({} at flat index {at}); \
                     training cannot start from it",
                    init.display(),
                    values[at]
                );
            }
        }
    }
    let options = OptimOptions {
        lr: Some(args.lr),
        momentum: args.momentum,
        weight_decay: args.weight_decay,
        nesterov: args.nesterov,
    };
    let mut optimizer = optim::build(args.optimizer.as_str(), model.parameters(), &options)
        .context("--optimizer")?;
    let scheduler = match &args.scheduler {
        Some(spec) => Some(
            optim::build_scheduler(
                spec,
                optimizer.as_mut(),
                args.epochs as usize,
                train_loader.len(),
            )
            .context("--scheduler")?,
        ),
        None => None,
    };
    let mut run = Run {
        model,
        loss_fn: CrossEntropyLoss::new(),
        optimizer,
        scheduler,
        metrics: None,
        quiet: args.quiet,
        start: Instant::now(),
        steps: Vec::new(),
        epochs: Vec::new(),
        #[cfg(feature = "distributed")]
        comm,
    };

    let config = config_of(args);
    let mut first_epoch = 0;
    if let Some(dir) = &args.resume {
        first_epoch = run.resume(dir, &config)?;
    }
    // Distributed: rank 0's weights everywhere; the other ranks stay silent.
    #[cfg(feature = "distributed")]
    {
        run.comm
            .start(&run.model, first_epoch, &[&train_loader, &test_loader])?;
        run.quiet |= !run.comm.is_root();
    }
    if let Some(path) = args.metrics.as_ref().filter(|_| run.is_root()) {
        let file = OpenOptions::new()
            .create(true)
            .append(args.resume.is_some())
            .write(true)
            .truncate(args.resume.is_none())
            .open(path)
            .with_context(|| format!("--metrics {}", path.display()))?;
        run.metrics = Some(file);
    }

    for t in first_epoch..args.epochs {
        run.say(&format!("Epoch {}\n-------------------------------", t + 1));
        train_loader.set_epoch(t as u64);
        run.train_loop(&train_loader, size, t + 1)?;
        let (accuracy, avg_loss) = run.test_loop(&test_loader, t + 1)?;
        if let Some(s) = run.scheduler.as_mut().filter(|s| !s.per_batch()) {
            s.step_with_metric(run.optimizer.as_mut(), avg_loss)
                .context("--scheduler")?;
        }
        if let Some(dir) = args.checkpoint_dir.as_ref().filter(|_| run.is_root()) {
            let ckpt = Checkpoint {
                epoch: t + 1,
                model: run.model.state_dict(),
                optimizer: run.optimizer.state_dict(),
                scheduler: run
                    .scheduler
                    .as_ref()
                    .map(|s| s.state_dict())
                    .unwrap_or_default(),
                config: config.clone(),
            };
            checkpoint::save(dir, &ckpt)
                .with_context(|| format!("--checkpoint-dir {}", dir.display()))?;
        }
        run.log(
            json!({"kind": "epoch", "epoch": t + 1, "accuracy": accuracy, "avg_loss": avg_loss}),
        )?;
    }
    run.say("Done!");

    if let Some(path) = args.save.as_ref().filter(|_| run.is_root()) {
        nn::save_safetensors(path, &run.model.state_dict())
            .with_context(|| format!("--save {}", path.display()))?;
    }
    if let Some(path) = args.plot.as_ref().filter(|_| run.is_root()) {
        plot::draw(path, &run.steps, &run.epochs)
            .with_context(|| format!("--plot {}", path.display()))?;
    }
    Ok(())
}

impl Run {
    /// Only rank 0 writes files (always true in one process).
    fn is_root(&self) -> bool {
        #[cfg(feature = "distributed")]
        return self.comm.is_root();
        #[cfg(not(feature = "distributed"))]
        true
    }

    fn say(&self, line: &str) {
        if !self.quiet {
            crate::say(line);
        }
    }

    /// One JSON line in the --metrics file, with the time and learning rate added.
    fn log(&mut self, mut record: Value) -> Result<()> {
        record["lr"] = json!(self.optimizer.lr());
        record["seconds"] = json!(self.start.elapsed().as_secs_f64());
        if let Some(f) = &mut self.metrics {
            writeln!(f, "{record}")
                .and_then(|_| f.flush())
                .context("writing --metrics")?;
        }
        Ok(())
    }

    /// The tutorial's `train_loop`.
    fn train_loop(&mut self, loader: &DataLoader, size: usize, epoch: u32) -> Result<()> {
        self.model.train();
        let bar = progress_bar(loader.len(), self.quiet);
        let batch_size = loader.batch_size();
        for (batch, (x, y)) in loader.iter().enumerate() {
            let batch_len = x.size(0);
            // Distributed: this rank's shard of the batch, and its share.
            #[cfg(feature = "distributed")]
            let (x, y, share) = self.comm.shard(x, y);
            // Compute prediction and loss
            let pred = self.model.forward(&x);
            let loss = self.loss_fn.forward(&pred, &y);
            let loss_value = loss.item();
            #[cfg(feature = "distributed")]
            let loss_value = self.comm.mean_loss(loss_value, share);
            if !loss_value.is_finite() {
                bail!(
                    "the training loss became {loss_value} at epoch {epoch}, batch {batch} (lr {}): \
                     training diverged; try a smaller --lr (no checkpoint was written for this epoch)",
                    self.optimizer.lr()
                );
            }
            // Backpropagation
            loss.backward()?;
            // Distributed: every rank gets the gradient of the whole batch's mean loss.
            #[cfg(feature = "distributed")]
            self.comm.average_gradients(&self.model.parameters(), share);
            self.optimizer.step();
            self.optimizer.zero_grad();
            if let Some(s) = self.scheduler.as_mut().filter(|s| s.per_batch()) {
                s.step(self.optimizer.as_mut()).context("--scheduler")?;
            }
            if let Some(b) = &bar {
                b.inc(1);
            }
            if batch % 100 == 0 {
                let current = batch * batch_size + batch_len;
                self.say(&format!(
                    "loss: {}  [{current:>5}/{size:>5}]",
                    crate::eval::python_f(loss_value as f64, 7)
                ));
                let samples_seen = (epoch as u64 - 1) * size as u64 + current as u64;
                self.steps.push(StepPoint {
                    epoch,
                    samples_seen,
                    loss: loss_value as f64,
                });
                self.log(json!({"kind": "step", "epoch": epoch, "step": batch, "samples": current, "loss": loss_value}))?;
            }
        }
        if let Some(b) = bar {
            b.finish_and_clear();
        }
        Ok(())
    }

    /// The tutorial's `test_loop`: returns (accuracy in [0, 1], average batch loss).
    fn test_loop(&mut self, loader: &DataLoader, epoch: u32) -> Result<(f64, f64)> {
        self.model.eval();
        let size = loader.dataset().len();
        let num_batches = loader.len();
        let (mut test_loss, mut correct) = (0.0f64, 0usize);
        no_grad(|| {
            for (x, y) in loader {
                #[cfg(feature = "distributed")]
                let (x, y, share) = self.comm.shard(x, y);
                let pred = self.model.forward(&x);
                let batch_loss = self.loss_fn.forward(&pred, &y).item() as f64;
                #[cfg(feature = "distributed")]
                let batch_loss = share * batch_loss;
                test_loss += batch_loss;
                correct += pred.argmax(1).eq(&y).sum().item() as usize;
            }
        });
        // Distributed: the sums over every rank's shards.
        #[cfg(feature = "distributed")]
        let (mut test_loss, correct) = {
            let [loss, correct] = self.comm.sum([test_loss, correct as f64]);
            (loss, correct as usize)
        };
        test_loss /= num_batches as f64;
        let accuracy = correct as f64 / size as f64;
        if !test_loss.is_finite() {
            bail!("the test loss became {test_loss} after epoch {epoch}: training diverged; try a smaller --lr");
        }
        self.say(&crate::eval::test_lines(accuracy, test_loss));
        self.epochs.push(EpochPoint {
            epoch,
            accuracy,
            avg_loss: test_loss,
        });
        Ok((accuracy, test_loss))
    }

    /// Load the last complete checkpoint in `dir`; returns the number of epochs it completed.
    fn resume(&mut self, dir: &Path, config: &Value) -> Result<u32> {
        let path = checkpoint::latest(dir)
            .with_context(|| format!("--resume {}", dir.display()))?
            .with_context(|| {
                format!(
                    "--resume {}: no complete checkpoint (epoch-NNNN directory) there",
                    dir.display()
                )
            })?;
        let ckpt =
            checkpoint::load(&path).with_context(|| format!("--resume {}", path.display()))?;
        // Checkpoints written before `epochs` was one of these flags lack it.
        let mut config = config.clone();
        if ckpt.config.get("epochs").is_none() {
            if let Some(flags) = config.as_object_mut() {
                flags.remove("epochs");
            }
        }
        if ckpt.config != config {
            bail!(
                "--resume {}: the checkpoint was made with other flags: {}; resume with the same flags",
                path.display(),
                differences(&ckpt.config, &config)
            );
        }
        let context = || format!("--resume {}", path.display());
        self.model
            .load_state_dict(&ckpt.model, true)
            .with_context(context)?;
        self.optimizer
            .load_state_dict(&ckpt.optimizer)
            .with_context(context)?;
        if let Some(s) = self.scheduler.as_mut() {
            s.load_state_dict(&ckpt.scheduler).with_context(context)?;
        }
        Ok(ckpt.epoch)
    }
}

/// The flags that define a run: a resumed run must repeat them. `--epochs`
/// may grow on resume, unless the schedule spans the run: OneCycleLR, and
/// CosineAnnealingLR without its own T_MAX.
fn config_of(args: &TrainArgs) -> Value {
    let spans_the_run = args
        .scheduler
        .as_deref()
        .is_some_and(optim::scheduler_uses_epochs);
    let mut config = json!({
        "dataset": format!("{:?}", args.data.dataset),
        "batch_size": args.batch_size,
        "lr": args.lr,
        "optimizer": args.optimizer.as_str(),
        "momentum": args.momentum,
        "weight_decay": args.weight_decay,
        "nesterov": args.nesterov,
        "scheduler": args.scheduler,
        "shuffle": args.shuffle,
        "seed": args.seed,
        "init": args.init.as_ref().map(|p| p.display().to_string()),
    });
    if spans_the_run {
        config["epochs"] = json!(args.epochs);
    }
    config
}

/// The flags on which two configs differ: `"lr": 0.01 then, 0.1 now; ...`.
fn differences(then: &Value, now: &Value) -> String {
    let empty = serde_json::Map::new();
    let (then, now) = (
        then.as_object().unwrap_or(&empty),
        now.as_object().unwrap_or(&empty),
    );
    let keys: std::collections::BTreeSet<&String> = then.keys().chain(now.keys()).collect();
    let show = |v: Option<&Value>| v.map_or("absent".to_string(), Value::to_string);
    keys.into_iter()
        .filter(|k| then.get(*k) != now.get(*k))
        .map(|k| {
            format!(
                "{k:?}: {} then, {} now",
                show(then.get(k)),
                show(now.get(k))
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn validate(args: &TrainArgs) -> Result<()> {
    let finite_non_negative = |name: &str, v: f64| -> Result<()> {
        if !v.is_finite() || v < 0.0 {
            bail!("{name} must be a finite number >= 0, got {v}");
        }
        Ok(())
    };
    finite_non_negative("--lr", args.lr)?;
    finite_non_negative("--momentum", args.momentum)?;
    if let Some(wd) = args.weight_decay {
        finite_non_negative("--weight-decay", wd)?;
    }
    if args.nesterov && args.optimizer != OptimizerName::Sgd {
        bail!("--nesterov applies to --optimizer sgd only");
    }
    if args.nesterov && args.momentum == 0.0 {
        // PyTorch's "Nesterov momentum requires a momentum and zero dampening", in flags.
        bail!("--nesterov needs a --momentum above 0");
    }
    Ok(())
}

/// Every output is checked before training, not found unwritable after it.
fn check_outputs(args: &TrainArgs) -> Result<()> {
    for (flag, path) in [
        ("--save", &args.save),
        ("--plot", &args.plot),
        ("--metrics", &args.metrics),
    ] {
        if let Some(path) = path {
            check_writable(path).with_context(|| format!("{flag} {}", path.display()))?;
        }
    }
    if let Some(path) = &args.plot {
        plot::check_format(path).context("--plot")?;
    }
    if let Some(dir) = &args.checkpoint_dir {
        std::fs::create_dir_all(dir)
            .map_err(anyhow::Error::from)
            .and_then(|_| check_writable(&dir.join("probe")))
            .with_context(|| format!("--checkpoint-dir {}", dir.display()))?;
    }
    Ok(())
}

/// Fail before training, not after, if `path` cannot be written.
fn check_writable(path: &Path) -> Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if path.is_dir() {
        bail!("{} is a directory", path.display());
    }
    let probe = dir.join(format!(".ferrograd-write-test-{}", std::process::id()));
    File::create(&probe).with_context(|| format!("cannot write into {}", dir.display()))?;
    std::fs::remove_file(&probe).ok();
    Ok(())
}

/// A progress bar on stderr, only when stderr is a terminal (stdout keeps the tutorial's format).
fn progress_bar(len: usize, quiet: bool) -> Option<indicatif::ProgressBar> {
    if quiet || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(len as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} batches  {elapsed} < {eta}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    Some(bar)
}
