//! `torch.utils.data.DataLoader`: batches of `(inputs, targets)`, built on the
//! training loop's thread when asked for, or with `prefetch(n)` on a
//! background thread a bounded queue ahead of it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SendError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use autograd::{Generator, Tensor};

use crate::Dataset;

/// Batches of a [`Dataset`]: `(inputs [B, ...sample_shape], targets [B])`.
///
/// Defaults as PyTorch's: no shuffle, the last partial batch kept, so
/// FashionMNIST's 60,000 training images give 938 batches of 64.
///
/// With `shuffle`, each epoch is a new permutation of all samples, PyTorch's
/// for the same seed: with [`seed`](DataLoader::seed) it depends only on
/// `(seed, epoch)` (every call to [`iter`](DataLoader::iter) uses the current
/// epoch and then advances it, and [`set_epoch`](DataLoader::set_epoch) lets
/// a resumed run replay exactly the order an uninterrupted run would have
/// had); without one, each epoch draws its order from the default generator.
///
/// ```
/// use autograd::Tensor;
/// use datasets::{DataLoader, TensorDataset};
/// let ds = TensorDataset::new(Tensor::zeros(&[10, 1, 2, 2]), Tensor::zeros(&[10]));
/// let loader = DataLoader::new(ds, 4).shuffle(true).seed(7);
/// assert_eq!(loader.len(), 3);
/// for (images, labels) in &loader {
///     assert_eq!(&images.shape()[1..], &[1, 2, 2]);
///     assert_eq!(labels.dims(), 1);
/// }
/// ```
pub struct DataLoader {
    dataset: Arc<dyn Dataset>,
    batch_size: usize,
    shuffle: bool,
    drop_last: bool,
    seed: Option<u64>,
    /// With a seed: the generator as it stands at the start of an epoch, so
    /// that epochs in order cost one permutation each (`order`).
    replay: Mutex<Option<(u64, Generator)>>,
    epoch: AtomicU64,
    /// Batches a background thread prepares ahead; 0: no thread.
    prefetch: usize,
}

impl DataLoader {
    /// A loader over `dataset` in batches of `batch_size` (panics if 0).
    pub fn new(dataset: impl Dataset + 'static, batch_size: usize) -> DataLoader {
        assert!(batch_size > 0, "DataLoader: batch_size must be positive");
        DataLoader {
            dataset: Arc::new(dataset),
            batch_size,
            shuffle: false,
            drop_last: false,
            seed: None,
            replay: Mutex::new(None),
            epoch: AtomicU64::new(0),
            prefetch: 0,
        }
    }

    /// Reshuffle every epoch (default false). Without [`seed`](Self::seed),
    /// each epoch draws its order from autograd's default generator when it
    /// starts, as PyTorch's sampler does (two 64-bit draws: the iterator's
    /// base seed, unused here, then the seed of that epoch's
    /// `torch.randperm`), so `autograd::manual_seed` gives PyTorch's orders.
    /// A run that resumes with `set_epoch` should give a seed.
    pub fn shuffle(mut self, shuffle: bool) -> DataLoader {
        self.shuffle = shuffle;
        self
    }

    /// The seed of the shuffle: PyTorch's
    /// `generator=torch.Generator().manual_seed(seed)`, whose stream runs on
    /// from one epoch to the next (each epoch read to its end: one 64-bit
    /// draw for the iterator's base seed, then two `torch.randperm`s, the
    /// second for no samples). Leaves autograd's default generator untouched.
    pub fn seed(mut self, seed: u64) -> DataLoader {
        self.seed = Some(seed);
        self
    }

    /// Drop the last batch if it is smaller than `batch_size` (default false).
    pub fn drop_last(mut self, drop_last: bool) -> DataLoader {
        self.drop_last = drop_last;
        self
    }

    /// How many batches one background thread prepares ahead (PyTorch's
    /// `num_workers=1` with `prefetch_factor=n`). By default 0: each batch is
    /// built on the calling thread when it is asked for (PyTorch's
    /// `num_workers=0`).
    /// Worth it when building a batch is slow (costly transforms) and a core
    /// is free; for the tutorial's batches (about 7 µs each) it saved
    /// nothing, on a free core or a shared one (docs/decisions.md).
    pub fn prefetch(mut self, batches: usize) -> DataLoader {
        self.prefetch = batches;
        self
    }

    /// The epoch the next [`iter`](Self::iter) will use (its shuffle order).
    pub fn set_epoch(&self, epoch: u64) {
        self.epoch.store(epoch, Ordering::SeqCst);
    }

    /// The epoch the next [`iter`](Self::iter) will use.
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::SeqCst)
    }

    /// Samples per batch (`loader.batch_size`); the last batch may hold fewer.
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// The dataset the batches are drawn from (`loader.dataset`).
    pub fn dataset(&self) -> &dyn Dataset {
        &*self.dataset
    }

    /// Number of batches in an epoch (`len(loader)`).
    pub fn len(&self) -> usize {
        let n = self.dataset.len();
        if self.drop_last {
            n / self.batch_size
        } else {
            n.div_ceil(self.batch_size)
        }
    }

    /// True when an epoch has no batch.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The sample order of `epoch`: `0..n` without shuffle; with a seed, the
    /// permutation PyTorch's loader with that seeded generator gives in that
    /// epoch (the generator's draws of the epochs before it replayed, or
    /// taken up where the last call left them); without one, the next
    /// permutation from the default generator, whatever `epoch` (its seed
    /// drawn as PyTorch's sampler draws it; `iter` first draws the
    /// iterator's base seed, as PyTorch's does).
    pub fn order(&self, epoch: u64) -> Vec<usize> {
        let n = self.dataset.len();
        if !self.shuffle {
            return (0..n).collect();
        }
        let Some(seed) = self.seed else {
            let seed = autograd::rng::with_default(|g| g.next_u64() % (1 << 63));
            return Generator::new(seed).permutation(n);
        };
        let mut replay = self.replay.lock().unwrap_or_else(|p| p.into_inner());
        let (mut at, mut g) = match replay.take() {
            Some((at, g)) if at <= epoch => (at, g),
            _ => (0, Generator::new(seed)),
        };
        loop {
            let _base_seed = g.next_u64();
            let order = g.permutation(n);
            // PyTorch's sampler, read to its end, draws one more permutation
            // for the `num_samples % n` (here none) samples after the whole ones.
            let _leftover = g.permutation(n);
            at += 1;
            if at > epoch {
                *replay = Some((at, g));
                return order;
            }
        }
    }

    /// One epoch of batches (see [`prefetch`](Self::prefetch) for where
    /// they are built). Uses the current epoch and advances it. Dropping the
    /// iterator early stops the background thread, if any.
    pub fn iter(&self) -> Batches {
        let epoch = self.epoch.fetch_add(1, Ordering::SeqCst);
        if self.seed.is_none() {
            // PyTorch's iterator draws its base seed (for workers) from the
            // default generator every epoch, shuffled or not, before its
            // sampler draws the shuffle's: the same draw keeps the default
            // stream where PyTorch's is. (With a seed, `order` replays it.)
            autograd::rng::with_default(|g| g.next_u64());
        }
        let mut order = self.order(epoch);
        let batches = self.len();
        order.truncate(batches * self.batch_size); // drop_last
        let (dataset, batch_size) = (self.dataset.clone(), self.batch_size);
        let shape = if dataset.is_empty() {
            Vec::new()
        } else {
            dataset.sample_shape()
        };
        if self.prefetch == 0 {
            return Batches {
                source: Source::Here {
                    dataset,
                    order,
                    batch_size,
                    shape,
                },
                remaining: batches,
            };
        }
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let spare_core = rayon::current_num_threads() < cores;
        let (sender, receiver) = sync_channel(self.prefetch);
        let worker = std::thread::Builder::new()
            .name("ferrograd-dataloader".into())
            .spawn(move || {
                for indices in order.chunks(batch_size) {
                    // A send fails only when the iterator was dropped: stop quietly.
                    if send(&sender, collate(&*dataset, indices, &shape), spare_core).is_err() {
                        return;
                    }
                }
            })
            .expect("DataLoader: cannot spawn its background thread");
        Batches {
            source: Source::Worker {
                receiver: Some(receiver),
                worker: Some(worker),
            },
            remaining: batches,
        }
    }
}

impl IntoIterator for &DataLoader {
    type Item = (Tensor, Tensor);
    type IntoIter = Batches;
    fn into_iter(self) -> Batches {
        self.iter()
    }
}

/// How long a worker with a core to itself, facing a full queue, yields the
/// core (checking for room in between) before it blocks.
const YIELD: Duration = Duration::from_millis(2);

/// Sends `batch`, waiting for room. A blocked worker is woken by the training
/// loop's next `recv`, and when the worker's core is otherwise idle, that
/// wake costs the loop about 40 µs per batch on a virtual machine (waking a
/// halted vCPU): 2.5% of a 1-thread tutorial step. So with `spare_core` (fewer
/// compute threads than cores) the worker first yields its core for up to
/// `YIELD`, longer than a step, and blocks only when the loop has stopped
/// taking batches (an evaluation, a checkpoint), as the GEMM helpers do
/// (autograd's `pool.rs`). Without a spare core it blocks at once: yielding,
/// it took time from a GEMM helper on the same core (2 threads: 2-4% slower).
fn send<T>(sender: &SyncSender<T>, batch: T, spare_core: bool) -> Result<(), SendError<T>> {
    let start = Instant::now();
    let mut batch = batch;
    while spare_core && start.elapsed() < YIELD {
        match sender.try_send(batch) {
            Ok(()) => return Ok(()),
            Err(TrySendError::Full(b)) => batch = b,
            Err(TrySendError::Disconnected(b)) => return Err(SendError(b)),
        }
        std::thread::yield_now();
    }
    sender.send(batch)
}

/// Stack the samples at `indices` into `(inputs [B, ...shape], targets [B])`.
fn collate(dataset: &dyn Dataset, indices: &[usize], shape: &[usize]) -> (Tensor, Tensor) {
    let sample: usize = shape.iter().product();
    // A buffer that an earlier batch (or any dropped tensor) gave back.
    let mut inputs = autograd::buffer::take(indices.len() * sample);
    let targets: Vec<f32> = indices
        .iter()
        .map(|&i| {
            let target = dataset.get_into(i, &mut inputs);
            assert_eq!(
                inputs.len() % sample.max(1),
                0,
                "DataLoader: sample {i} does not have shape {shape:?}"
            );
            target
        })
        .collect();
    assert_eq!(
        inputs.len(),
        indices.len() * sample,
        "DataLoader: samples do not all have shape {shape:?}"
    );
    let batch_shape: Vec<usize> = std::iter::once(indices.len())
        .chain(shape.iter().copied())
        .collect();
    (
        Tensor::from_vec(inputs, &batch_shape),
        Tensor::from_vec(targets, &[indices.len()]),
    )
}

/// The batches of one epoch, from [`DataLoader::iter`].
pub struct Batches {
    source: Source,
    remaining: usize,
}

/// Where the batches come from.
enum Source {
    /// Built in `next`, on the caller's thread, from the epoch's sample order.
    Here {
        dataset: Arc<dyn Dataset>,
        order: Vec<usize>,
        batch_size: usize,
        shape: Vec<usize>,
    },
    /// Built ahead by a background thread.
    Worker {
        receiver: Option<Receiver<(Tensor, Tensor)>>,
        worker: Option<JoinHandle<()>>,
    },
}

impl Iterator for Batches {
    type Item = (Tensor, Tensor);

    fn next(&mut self) -> Option<(Tensor, Tensor)> {
        match &mut self.source {
            Source::Here {
                dataset,
                order,
                batch_size,
                shape,
            } => {
                let batch = order.len().div_ceil(*batch_size) - self.remaining;
                let indices = order.chunks(*batch_size).nth(batch)?;
                self.remaining -= 1;
                Some(collate(&**dataset, indices, shape))
            }
            Source::Worker { receiver, worker } => match receiver.as_ref()?.recv() {
                Ok(batch) => {
                    self.remaining -= 1;
                    Some(batch)
                }
                Err(_) => {
                    // The worker has finished. If it panicked (a dataset's `get`
                    // did), re-raise here rather than end the epoch short.
                    *receiver = None;
                    if let Some(Err(panic)) = worker.take().map(JoinHandle::join) {
                        std::panic::resume_unwind(panic);
                    }
                    None
                }
            },
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl ExactSizeIterator for Batches {}

impl Drop for Batches {
    fn drop(&mut self) {
        if let Source::Worker { receiver, worker } = &mut self.source {
            // Closing the channel first makes a worker blocked in `send`
            // return, so the join below cannot hang.
            *receiver = None;
            if let Some(worker) = worker.take() {
                let _ = worker.join();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TensorDataset;

    /// Both ways of waiting for room deliver every item in order, and stop
    /// with the item when the receiver goes away while they wait.
    #[test]
    fn send_waits_for_room_and_gives_up_when_the_receiver_is_gone() {
        for spare_core in [true, false] {
            let (tx, rx) = sync_channel(1);
            let producer = std::thread::spawn(move || {
                for i in 0..200 {
                    send(&tx, i, spare_core).unwrap();
                }
            });
            assert_eq!(rx.iter().collect::<Vec<_>>(), (0..200).collect::<Vec<_>>());
            producer.join().unwrap();

            let (tx, rx) = sync_channel(1);
            send(&tx, 0, spare_core).unwrap();
            let producer = std::thread::spawn(move || send(&tx, 1, spare_core));
            std::thread::sleep(Duration::from_millis(5)); // past YIELD: blocked
            drop(rx);
            assert_eq!(producer.join().unwrap(), Err(SendError(1)));
        }
    }

    /// Sample i is the single value i, target i.
    fn counting(n: usize) -> TensorDataset {
        let v: Vec<f32> = (0..n).map(|i| i as f32).collect();
        TensorDataset::new(
            Tensor::from_vec(v.clone(), &[n, 1]),
            Tensor::from_vec(v, &[n]),
        )
    }

    fn epoch_targets(loader: &DataLoader) -> Vec<usize> {
        loader
            .iter()
            .flat_map(|(_, y)| y.to_vec())
            .map(|t| t as usize)
            .collect()
    }

    #[test]
    fn batches_in_order_by_default_with_the_last_partial_batch() {
        let loader = DataLoader::new(counting(10), 4);
        assert_eq!(loader.len(), 3);
        let batches: Vec<_> = loader.iter().collect();
        assert_eq!(batches.len(), 3);
        assert_eq!(batches[0].0.shape(), &[4, 1]);
        assert_eq!(batches[2].0.shape(), &[2, 1]);
        assert_eq!(batches[2].0.to_vec(), vec![8.0, 9.0]);
        assert_eq!(batches[2].1.to_vec(), vec![8.0, 9.0]);
    }

    #[test]
    fn drop_last_drops_the_partial_batch() {
        let loader = DataLoader::new(counting(10), 4).drop_last(true);
        assert_eq!(loader.len(), 2);
        assert_eq!(epoch_targets(&loader), (0..8).collect::<Vec<_>>());
        // An exact multiple keeps every batch.
        assert_eq!(DataLoader::new(counting(8), 4).drop_last(true).len(), 2);
    }

    #[test]
    fn fashion_mnist_batch_counts() {
        // ceil(60000 / 64) = 938 and ceil(10000 / 64) = 157, as PyTorch reports.
        let loader = |n| {
            DataLoader::new(
                TensorDataset::new(Tensor::zeros(&[n, 1]), Tensor::zeros(&[n])),
                64,
            )
        };
        assert_eq!(loader(60000).len(), 938);
        assert_eq!(loader(10000).len(), 157);
        assert_eq!(loader(60000).iter().count(), 938);
    }

    #[test]
    fn shuffle_depends_on_seed_and_epoch_only() {
        let loader = DataLoader::new(counting(100), 8).shuffle(true).seed(1);
        let e0 = epoch_targets(&loader);
        let e1 = epoch_targets(&loader);
        assert_ne!(e0, (0..100).collect::<Vec<_>>());
        assert_ne!(e0, e1, "a new permutation each epoch");
        let mut sorted = e1.clone();
        sorted.sort();
        assert_eq!(
            sorted,
            (0..100).collect::<Vec<_>>(),
            "each epoch sees every sample once"
        );

        // Same seed: same orders; a resumed run replays epoch 1 exactly.
        let again = DataLoader::new(counting(100), 8).shuffle(true).seed(1);
        assert_eq!(epoch_targets(&again), e0);
        let resumed = DataLoader::new(counting(100), 8).shuffle(true).seed(1);
        resumed.set_epoch(1);
        assert_eq!(epoch_targets(&resumed), e1);
        assert_eq!(resumed.epoch(), 2);

        let other = DataLoader::new(counting(100), 8).shuffle(true).seed(2);
        assert_ne!(epoch_targets(&other), e0, "another seed, another order");
    }

    /// PyTorch's orders, printed by torch 2.15: `DataLoader(range(20),
    /// shuffle=True, generator=torch.Generator().manual_seed(9))` for three
    /// epochs. (Without a generator: `tests/shuffle_from_manual_seed.rs`.)
    #[test]
    fn shuffle_gives_pytorchs_orders() {
        let seeded = [
            [
                14, 11, 16, 12, 15, 18, 19, 6, 0, 13, 1, 17, 8, 5, 3, 7, 4, 10, 2, 9,
            ],
            [
                17, 7, 12, 15, 13, 11, 14, 6, 5, 9, 8, 3, 1, 0, 4, 2, 16, 18, 10, 19,
            ],
            [
                12, 10, 6, 14, 5, 3, 11, 2, 0, 1, 7, 8, 19, 18, 15, 9, 16, 4, 13, 17,
            ],
        ];
        let loader = DataLoader::new(counting(20), 6).shuffle(true).seed(9);
        for want in seeded {
            assert_eq!(epoch_targets(&loader), want);
        }
        // Epochs out of order, or from a new loader: the same.
        assert_eq!(loader.order(1), seeded[1]);
        assert_eq!(loader.order(0), seeded[0]);
        let resumed = DataLoader::new(counting(20), 6).shuffle(true).seed(9);
        assert_eq!(resumed.order(2), seeded[2]);
    }

    #[test]
    fn shuffle_without_seed_follows_manual_seed() {
        // Two loaders whose first epoch starts right after the same manual_seed
        // get the same order. (Reseed and draw in one step: other tests may use
        // the default generator concurrently.)
        let order = || {
            let loader = DataLoader::new(counting(50), 5).shuffle(true);
            autograd::manual_seed(123);
            loader.order(3)
        };
        let a = order();
        assert_eq!(a, order());
        assert_ne!(a, (0..50).collect::<Vec<_>>());
    }

    #[test]
    fn dropping_the_iterator_mid_epoch_stops_the_worker() {
        // Many batches, a queue of 1: the worker is blocked in `send` when we drop.
        let loader = DataLoader::new(counting(10_000), 1).prefetch(1);
        let mut batches = loader.iter();
        assert_eq!(batches.next().unwrap().1.to_vec(), vec![0.0]);
        assert_eq!(batches.len(), 9_999);
        drop(batches); // must return: joins the worker
                       // The loader is still usable and the next epoch starts from the beginning.
        assert_eq!(loader.iter().next().unwrap().1.to_vec(), vec![0.0]);
    }

    /// Built on the calling thread or on a background thread, an epoch is
    /// the same batches: shuffled, with and without the last partial batch.
    #[test]
    fn batches_are_the_same_wherever_they_are_built() {
        for drop_last in [false, true] {
            let epoch = |prefetch| {
                let loader = DataLoader::new(counting(23), 5)
                    .shuffle(true)
                    .seed(4)
                    .drop_last(drop_last)
                    .prefetch(prefetch);
                let batches: Vec<(Vec<f32>, Vec<f32>)> = loader
                    .iter()
                    .map(|(x, y)| (x.to_vec(), y.to_vec()))
                    .collect();
                assert_eq!(batches.len(), loader.len());
                batches
            };
            let here = epoch(0);
            assert_eq!(here.len(), if drop_last { 4 } else { 5 });
            assert_eq!(here, epoch(1));
            assert_eq!(here, epoch(3));
        }
    }

    struct Panicky;
    impl Dataset for Panicky {
        fn len(&self) -> usize {
            4
        }
        fn get(&self, index: usize) -> (Tensor, f32) {
            assert!(index < 2, "sample {index} is broken");
            (Tensor::zeros(&[1]), 0.0)
        }
    }

    #[test]
    #[should_panic(expected = "sample 2 is broken")]
    fn a_panic_in_the_dataset_reaches_the_training_loop_from_a_worker() {
        let loader = DataLoader::new(Panicky, 2).prefetch(1);
        for _ in &loader {}
    }

    #[test]
    #[should_panic(expected = "sample 2 is broken")]
    fn a_panic_in_the_dataset_reaches_the_training_loop_from_here() {
        let loader = DataLoader::new(Panicky, 2).prefetch(0);
        for _ in &loader {}
    }

    #[test]
    fn an_empty_dataset_has_no_batches() {
        let loader = DataLoader::new(
            TensorDataset::new(Tensor::zeros(&[0, 3]), Tensor::zeros(&[0])),
            4,
        );
        assert!(loader.is_empty());
        assert_eq!(loader.iter().count(), 0);
    }
}
