//! Data-parallel training over MPI (cargo feature `distributed`): what
//! PyTorch's `DistributedDataParallel` does, on the MPI a cluster already runs.
//!
//! `mpirun -np N ferrograd train ...` runs one replica of the model per rank:
//! - rank 0's initial weights are broadcast to every rank;
//! - `--batch-size` stays the global batch: every rank builds the same batch
//!   (same order, shuffled or not, since it depends only on the seed and the
//!   epoch) and keeps its contiguous shard, rows `B*r/N .. B*(r+1)/N`;
//! - after the backward pass one allreduce over a flat buffer sums the
//!   gradients weighted by `shard/B`, so every rank holds the gradient of the
//!   mean loss over the whole batch (exact for an uneven last batch too) and
//!   the optimizers step identically;
//! - the test pass is sharded the same way and its sums reduced;
//! - rank 0 alone prints and writes files (`--save`, `--metrics`, `--plot`,
//!   checkpoints).
//!
//! Faults: an error in any rank prints `ferrograd: error: rank R of N: ...`
//! and calls `MPI_Abort`, which ends every rank. A rank that dies (killed,
//! crashed) makes `mpirun` end the others. A rank that hangs leaves the
//! others waiting in a collective: a watchdog aborts the job when one
//! collective waits longer than `FERROGRAD_MPI_TIMEOUT` seconds (default
//! [`DEFAULT_TIMEOUT_SECS`]).
//!
//! Without `mpirun` (no launcher variables in the environment) MPI is not
//! started and [`Comm`] is the single process: every method is the identity.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use autograd::Tensor;
use datasets::DataLoader;
use mpi::collective::SystemOperation;
use mpi::environment::{Threading, Universe};
use mpi::topology::SimpleCommunicator;
use mpi::traits::*;
use nn::Module;

/// How long one collective may wait for the other ranks before the job is
/// aborted, unless `FERROGRAD_MPI_TIMEOUT` says otherwise. Long enough for
/// rank 0 to write a checkpoint while the others wait at the next step.
pub const DEFAULT_TIMEOUT_SECS: f64 = 120.0;

/// MPI stays initialized from [`Comm::world`] to [`finish`], which finalizes
/// it (`MPI_Finalize`) on success or aborts the job on an error.
static UNIVERSE: Mutex<Option<Universe>> = Mutex::new(None);

/// This process's place in the job: rank 0 of 1 when not started by an MPI
/// launcher.
pub struct Comm {
    world: Option<SimpleCommunicator>,
    rank: usize,
    size: usize,
    watchdog: Option<Watchdog>,
}

impl Comm {
    /// Join the MPI job this process was started in by `mpirun`/`mpiexec`/
    /// `srun`, or stand alone when there is none.
    pub fn world() -> Result<Comm> {
        let launched = ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"]
            .iter()
            .any(|v| std::env::var_os(v).is_some());
        if !launched {
            return Ok(Comm {
                world: None,
                rank: 0,
                size: 1,
                watchdog: None,
            });
        }
        let timeout = timeout_from_env()?;
        // Multiple: the watchdog thread may call MPI_Abort while the main
        // thread waits in a collective.
        let (universe, _) = mpi::initialize_with_threading(Threading::Multiple)
            .context("MPI was already initialized")?;
        let world = universe.world();
        *UNIVERSE.lock().unwrap_or_else(|e| e.into_inner()) = Some(universe);
        let (rank, size) = (world.rank() as usize, world.size() as usize);
        Ok(Comm {
            world: Some(world),
            rank,
            size,
            watchdog: Some(Watchdog::start(rank, size, timeout)),
        })
    }

    /// Rank 0 prints and writes files.
    pub fn is_root(&self) -> bool {
        self.rank == 0
    }

    /// Make every rank start from rank 0's weights, check that every rank
    /// resumed from the same epoch, and that every batch of `loaders` gives
    /// each rank at least one sample (an empty shard's mean loss is NaN).
    pub fn start(
        &self,
        model: &dyn Module,
        first_epoch: u32,
        loaders: &[&DataLoader],
    ) -> Result<()> {
        let Some(world) = &self.world else {
            return Ok(());
        };
        for loader in loaders {
            let (len, batch_size) = (loader.dataset().len(), loader.batch_size());
            let smallest = match len % batch_size {
                0 => batch_size.min(len),
                last => last,
            };
            if len > 0 && smallest < self.size {
                bail!(
                    "a batch of {smallest} samples (--batch-size {batch_size}, {len} samples) cannot be \
                     split over {} ranks: use fewer ranks or another --batch-size",
                    self.size
                );
            }
        }
        let root = world.process_at_rank(0);
        let mut epoch = first_epoch;
        self.guard("broadcasting the epoch", || root.broadcast_into(&mut epoch));
        if epoch != first_epoch {
            bail!(
                "--resume: this rank found the checkpoint of epoch {first_epoch}, rank 0 that of epoch {epoch}; \
                 every rank must see the same checkpoint directory"
            );
        }
        let tensors: Vec<Tensor> = model.state_dict().iter().map(|(_, t)| t.clone()).collect();
        let mut flat = flatten(&tensors);
        self.guard("broadcasting the initial weights", || {
            root.broadcast_into(&mut flat[..])
        });
        unflatten(&flat, &tensors);
        Ok(())
    }

    /// This rank's contiguous shard of a batch, and its share of the batch
    /// (`shard / batch`) that weights its mean loss and gradients.
    pub fn shard(&self, x: Tensor, y: Tensor) -> (Tensor, Tensor, f64) {
        if self.size == 1 {
            return (x, y, 1.0);
        }
        let n = x.size(0);
        let (lo, hi) = (n * self.rank / self.size, n * (self.rank + 1) / self.size);
        let rows = |t: &Tensor| {
            let row: usize = t.shape()[1..].iter().product();
            let mut shape = t.shape().to_vec();
            shape[0] = hi - lo;
            let data = t.with_data(|d| d[lo * row..hi * row].to_vec());
            Tensor::from_vec(data, &shape)
        };
        let share = (hi - lo) as f64 / n as f64;
        (rows(&x), rows(&y), share)
    }

    /// The mean loss over the whole batch, from each rank's shard mean.
    pub fn mean_loss(&self, local: f32, share: f64) -> f32 {
        let [loss] = self.sum([share * local as f64]);
        loss as f32
    }

    /// Replace every parameter's gradient by the gradient of the mean loss
    /// over the whole batch: `sum over ranks of share * gradient`. One
    /// allreduce over a flat buffer holding every gradient and, per
    /// parameter, whether any rank has one (a parameter no rank reached keeps
    /// `None`, as in one process).
    pub fn average_gradients(&self, parameters: &[Tensor], share: f64) {
        let Some(world) = self.world.as_ref().filter(|_| self.size > 1) else {
            return;
        };
        let share = share as f32;
        let total: usize = parameters.iter().map(|p| p.numel()).sum();
        let mut send = Vec::with_capacity(total + parameters.len());
        for p in parameters {
            match p.grad() {
                Some(g) => g.with_data(|d| send.extend(d.iter().map(|v| v * share))),
                None => send.resize(send.len() + p.numel(), 0.0),
            }
        }
        send.extend(parameters.iter().map(|p| p.grad().map_or(0.0, |_| 1.0)));
        let mut sum = vec![0.0f32; send.len()];
        self.guard("the allreduce of the gradients", || {
            world.all_reduce_into(&send[..], &mut sum[..], SystemOperation::sum())
        });
        let (grads, has_grad) = sum.split_at(total);
        let mut offset = 0;
        for (p, &any) in parameters.iter().zip(has_grad) {
            let part = &grads[offset..offset + p.numel()];
            offset += p.numel();
            if any == 0.0 {
                continue;
            }
            // A new tensor: the local gradient may be a view or share storage.
            p.set_grad(Some(Tensor::from_vec(part.to_vec(), p.shape())));
        }
        debug_assert_eq!(offset, grads.len());
    }

    /// The elementwise sum of `values` over the ranks.
    pub fn sum<const K: usize>(&self, values: [f64; K]) -> [f64; K] {
        let Some(world) = self.world.as_ref().filter(|_| self.size > 1) else {
            return values;
        };
        let mut sum = [0.0f64; K];
        self.guard("an allreduce of the losses", || {
            world.all_reduce_into(&values[..], &mut sum[..], SystemOperation::sum())
        });
        sum
    }

    /// Run one collective under the watchdog.
    fn guard<T>(&self, what: &'static str, f: impl FnOnce() -> T) -> T {
        match &self.watchdog {
            Some(w) => {
                w.enter(what);
                let out = f();
                w.leave();
                out
            }
            None => f(),
        }
    }
}

/// Aborts the job when one collective waits too long: another rank is hung
/// or gone without MPI noticing.
struct Watchdog {
    waiting: Arc<Mutex<Option<(Instant, &'static str)>>>,
}

impl Watchdog {
    fn start(rank: usize, size: usize, timeout: Duration) -> Watchdog {
        let waiting: Arc<Mutex<Option<(Instant, &'static str)>>> = Arc::new(Mutex::new(None));
        let shared = waiting.clone();
        let tick = (timeout / 10).clamp(Duration::from_millis(10), Duration::from_secs(1));
        let spawned = std::thread::Builder::new()
            .name("ferrograd-mpi-watchdog".into())
            .spawn(move || loop {
                std::thread::sleep(tick);
                let stuck = match *shared.lock().unwrap_or_else(|e| e.into_inner()) {
                    Some((since, what)) if since.elapsed() > timeout => Some(what),
                    _ => None,
                };
                if let Some(what) = stuck {
                    eprintln!(
                        "ferrograd: error: rank {rank} of {size}: waited more than {:.0} s in {what}: \
                         another rank is hung or dead (FERROGRAD_MPI_TIMEOUT sets the limit); aborting the job",
                        timeout.as_secs_f64()
                    );
                    abort();
                }
            });
        // Without its thread the job still runs; only hangs go undetected.
        if let Err(e) = spawned {
            eprintln!("ferrograd: warning: rank {rank}: no watchdog thread ({e}): a hung rank will not be detected");
        }
        Watchdog { waiting }
    }

    fn enter(&self, what: &'static str) {
        *self.waiting.lock().unwrap_or_else(|e| e.into_inner()) = Some((Instant::now(), what));
    }

    fn leave(&self) {
        *self.waiting.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

fn timeout_from_env() -> Result<Duration> {
    let Some(text) = std::env::var_os("FERROGRAD_MPI_TIMEOUT") else {
        return Ok(Duration::from_secs_f64(DEFAULT_TIMEOUT_SECS));
    };
    let text = text.to_string_lossy();
    match text.trim().parse::<f64>() {
        Ok(s) if s.is_finite() && s > 0.0 => Ok(Duration::from_secs_f64(s)),
        _ => bail!("FERROGRAD_MPI_TIMEOUT must be a number of seconds > 0, got '{text}'"),
    }
}

/// `MPI_Abort` on every rank: ends the whole job.
fn abort() -> ! {
    SimpleCommunicator::world().abort(1)
}

/// The end of a command: when MPI runs, finalize it after a success, or
/// print the error naming this rank and abort the whole job (the other ranks
/// may be waiting for this one in a collective). Without MPI, `result` as is.
pub fn finish(result: Result<()>) -> Result<()> {
    let mut universe = UNIVERSE.lock().unwrap_or_else(|e| e.into_inner());
    if universe.is_none() {
        return result;
    }
    match result {
        Ok(()) => {
            // Dropping the universe calls MPI_Finalize.
            universe.take();
            Ok(())
        }
        Err(e) => {
            let world = SimpleCommunicator::world();
            let chain: Vec<String> = e.chain().map(|c| c.to_string()).collect();
            eprintln!(
                "ferrograd: error: rank {} of {}: {}",
                world.rank(),
                world.size(),
                chain.join(": ")
            );
            abort()
        }
    }
}

/// Every tensor's values, one after the other.
fn flatten(tensors: &[Tensor]) -> Vec<f32> {
    let mut flat = Vec::with_capacity(tensors.iter().map(|t| t.numel()).sum());
    for t in tensors {
        t.with_data(|d| flat.extend_from_slice(d));
    }
    flat
}

/// Write `flat` back into `tensors` (in place: they share storage with the model).
fn unflatten(flat: &[f32], tensors: &[Tensor]) {
    let mut offset = 0;
    for t in tensors {
        t.copy_from_slice(&flat[offset..offset + t.numel()]);
        offset += t.numel();
    }
}
