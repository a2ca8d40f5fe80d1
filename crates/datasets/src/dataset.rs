//! `torch.utils.data.Dataset` and friends: a map-style dataset of
//! `(input, class index)` samples, an in-memory `TensorDataset`, `Subset` and
//! `random_split`.

use std::sync::Arc;

use autograd::{Generator, Tensor};

/// A map-style dataset: `len` samples, each an input tensor and a target
/// (a class index held in an f32, see docs/decisions.md).
///
/// Implement `len` and `get`; a [`DataLoader`](crate::DataLoader) batches
/// through `get_into`, which datasets held as raw bytes override to skip the
/// per-sample tensor.
pub trait Dataset: Send + Sync {
    /// Number of samples (`__len__`).
    fn len(&self) -> usize;

    /// Sample `index` (`__getitem__`): `(input, target)`. Panics if
    /// `index >= len()`, like indexing a slice.
    fn get(&self, index: usize) -> (Tensor, f32);

    /// True when there is no sample.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The shape of one input; every sample must have it.
    fn sample_shape(&self) -> Vec<usize> {
        self.get(0).0.shape().to_vec()
    }

    /// Append sample `index`'s input values (row-major) to `out` and return
    /// its target. Must agree with `get`.
    fn get_into(&self, index: usize, out: &mut Vec<f32>) -> f32 {
        let (input, target) = self.get(index);
        input.with_data(|values| out.extend_from_slice(values));
        target
    }
}

/// Shared datasets are datasets: a `DataLoader` and a `Subset` can hold an
/// `Arc` while the caller keeps another.
impl<D: Dataset + ?Sized> Dataset for Arc<D> {
    fn len(&self) -> usize {
        (**self).len()
    }
    fn get(&self, index: usize) -> (Tensor, f32) {
        (**self).get(index)
    }
    fn sample_shape(&self) -> Vec<usize> {
        (**self).sample_shape()
    }
    fn get_into(&self, index: usize, out: &mut Vec<f32>) -> f32 {
        (**self).get_into(index, out)
    }
}

/// Inputs `[N, ...]` and targets `[N]` held in memory
/// (`torch.utils.data.TensorDataset(inputs, targets)`).
///
/// ```
/// use autograd::Tensor;
/// use datasets::{Dataset, TensorDataset};
/// let ds = TensorDataset::new(Tensor::from_vec(vec![1., 2., 3., 4.], &[2, 2]), Tensor::from_vec(vec![0., 1.], &[2]));
/// let (x, y) = ds.get(1);
/// assert_eq!((x.to_vec(), y), (vec![3., 4.], 1.));
/// ```
pub struct TensorDataset {
    inputs: Tensor,
    targets: Tensor,
}

impl TensorDataset {
    /// Panics if `targets` is not `[N]` with `N` the first dimension of `inputs`.
    pub fn new(inputs: Tensor, targets: Tensor) -> TensorDataset {
        assert!(
            inputs.dims() >= 1 && targets.dims() == 1 && inputs.size(0) == targets.size(0),
            "TensorDataset: inputs {:?} and targets {:?} need the same first dimension, targets 1-d",
            inputs.shape(),
            targets.shape()
        );
        // Detached and contiguous: samples are slices of one buffer.
        TensorDataset {
            inputs: inputs.detach().contiguous(),
            targets: targets.detach().contiguous(),
        }
    }

    /// All inputs, `[N, ...]` (detached and contiguous).
    pub fn inputs(&self) -> &Tensor {
        &self.inputs
    }

    /// All targets, `[N]` (detached and contiguous).
    pub fn targets(&self) -> &Tensor {
        &self.targets
    }
}

impl Dataset for TensorDataset {
    fn len(&self) -> usize {
        self.targets.numel()
    }

    fn get(&self, index: usize) -> (Tensor, f32) {
        let mut values = Vec::new();
        let target = self.get_into(index, &mut values);
        (Tensor::from_vec(values, &self.inputs.shape()[1..]), target)
    }

    fn sample_shape(&self) -> Vec<usize> {
        self.inputs.shape()[1..].to_vec()
    }

    fn get_into(&self, index: usize, out: &mut Vec<f32>) -> f32 {
        assert!(
            index < self.len(),
            "TensorDataset: index {index} out of range for {} samples",
            self.len()
        );
        let row: usize = self.inputs.shape()[1..].iter().product();
        self.inputs
            .with_data(|v| out.extend_from_slice(&v[index * row..(index + 1) * row]));
        self.targets.with_data(|t| t[index])
    }
}

/// The samples of `dataset` at `indices`, in that order (`torch.utils.data.Subset`).
pub struct Subset {
    dataset: Arc<dyn Dataset>,
    indices: Vec<usize>,
}

impl Subset {
    /// Panics if an index is out of range for `dataset`.
    pub fn new(dataset: impl Dataset + 'static, indices: Vec<usize>) -> Subset {
        let n = dataset.len();
        assert!(
            indices.iter().all(|&i| i < n),
            "Subset: an index is out of range for {n} samples"
        );
        Subset {
            dataset: Arc::new(dataset),
            indices,
        }
    }

    /// The indices into the underlying dataset, in order (`Subset.indices`).
    pub fn indices(&self) -> &[usize] {
        &self.indices
    }
}

impl Dataset for Subset {
    fn len(&self) -> usize {
        self.indices.len()
    }
    fn get(&self, index: usize) -> (Tensor, f32) {
        self.dataset.get(self.indices[index])
    }
    fn sample_shape(&self) -> Vec<usize> {
        self.dataset.sample_shape()
    }
    fn get_into(&self, index: usize, out: &mut Vec<f32>) -> f32 {
        self.dataset.get_into(self.indices[index], out)
    }
}

/// `dataset` with each sample passed through functions: torchvision's
/// `transform=` on the input and `target_transform=` on the target (a class
/// index here, so it maps to another index). The functions run wherever the
/// sample is read, in `get` or on a [`DataLoader`](crate::DataLoader)'s
/// thread, so they must be `Send + Sync`; a random transform keeps its
/// generator behind a `Mutex`.
///
/// ```
/// use autograd::Tensor;
/// use datasets::{Dataset, TensorDataset, Transformed};
/// let ds = TensorDataset::new(Tensor::from_vec(vec![1., 2., 3., 4.], &[2, 2]), Tensor::from_vec(vec![0., 1.], &[2]));
/// // Inputs halved; classes counted from the other end.
/// let ds = Transformed::new(ds, |x: Tensor| x.mul_scalar(0.5)).target_transform(|y| 1.0 - y);
/// let (x, y) = ds.get(1);
/// assert_eq!((x.to_vec(), y), (vec![1.5, 2.0], 0.0));
/// ```
pub struct Transformed<D> {
    dataset: D,
    transform: Box<dyn Fn(Tensor) -> Tensor + Send + Sync>,
    target_transform: Option<Box<dyn Fn(f32) -> f32 + Send + Sync>>,
}

impl<D: Dataset> Transformed<D> {
    /// `dataset` with `transform` applied to each input.
    pub fn new(
        dataset: D,
        transform: impl Fn(Tensor) -> Tensor + Send + Sync + 'static,
    ) -> Transformed<D> {
        Transformed {
            dataset,
            transform: Box::new(transform),
            target_transform: None,
        }
    }

    /// Also apply `target_transform` to each target.
    pub fn target_transform(
        mut self,
        target_transform: impl Fn(f32) -> f32 + Send + Sync + 'static,
    ) -> Transformed<D> {
        self.target_transform = Some(Box::new(target_transform));
        self
    }

    /// The dataset underneath.
    pub fn dataset(&self) -> &D {
        &self.dataset
    }
}

impl<D: Dataset> Dataset for Transformed<D> {
    fn len(&self) -> usize {
        self.dataset.len()
    }
    // `sample_shape` and `get_into` go through `get`: the transform decides
    // the shape, and the input must become a tensor for it anyway.
    fn get(&self, index: usize) -> (Tensor, f32) {
        let (input, target) = self.dataset.get(index);
        let target = self.target_transform.as_ref().map_or(target, |f| f(target));
        ((self.transform)(input), target)
    }
}

/// Split `dataset` into non-overlapping random subsets of the given lengths
/// (`torch.utils.data.random_split`): a random permutation of all indices
/// (`torch.randperm`'s, [`Generator::permutation`]), cut in order, so the
/// same seed gives PyTorch's splits. Panics if the lengths do not add up to
/// `dataset.len()`.
///
/// ```
/// use autograd::{Generator, Tensor};
/// use datasets::{random_split, Dataset, TensorDataset};
/// let ds = TensorDataset::new(Tensor::zeros(&[10, 3]), Tensor::zeros(&[10]));
/// let parts = random_split(ds, &[8, 2], &mut Generator::new(42));
/// assert_eq!((parts[0].len(), parts[1].len()), (8, 2));
/// ```
pub fn random_split(
    dataset: impl Dataset + 'static,
    lengths: &[usize],
    generator: &mut Generator,
) -> Vec<Subset> {
    let n = dataset.len();
    assert!(
        lengths
            .iter()
            .try_fold(0usize, |sum, &l| sum.checked_add(l))
            == Some(n),
        "random_split: lengths {lengths:?} do not add up to the dataset's {n} samples"
    );
    let dataset: Arc<dyn Dataset> = Arc::new(dataset);
    let permutation = generator.permutation(n);
    let mut start = 0;
    lengths
        .iter()
        .map(|&len| {
            let indices = permutation[start..start + len].to_vec();
            start += len;
            Subset {
                dataset: dataset.clone(),
                indices,
            }
        })
        .collect()
}

/// [`random_split`] by fractions of the dataset that add up to 1, as
/// `torch.utils.data.random_split` takes them: each split gets
/// `floor(len * fraction)` samples, and the remainder goes one by one to the
/// splits in order.
///
/// ```
/// use autograd::{Generator, Tensor};
/// use datasets::{random_split_fractions, Dataset, TensorDataset};
/// let ds = TensorDataset::new(Tensor::zeros(&[10, 3]), Tensor::zeros(&[10]));
/// let parts = random_split_fractions(ds, &[0.33, 0.33, 0.34], &mut Generator::new(0));
/// assert_eq!(parts.iter().map(|p| p.len()).collect::<Vec<_>>(), [4, 3, 3]);
/// ```
///
/// # Panics
/// If a fraction is not in `[0, 1]` or they do not add up to 1 (within
/// Python's `math.isclose`, and not above 1), as PyTorch raises.
pub fn random_split_fractions(
    dataset: impl Dataset + 'static,
    fractions: &[f64],
    generator: &mut Generator,
) -> Vec<Subset> {
    let total: f64 = fractions.iter().sum();
    assert!(
        (total - 1.0).abs() <= 1e-9 && total <= 1.0,
        "random_split: fractions {fractions:?} do not add up to 1"
    );
    let n = dataset.len();
    let mut lengths: Vec<usize> = fractions
        .iter()
        .enumerate()
        .map(|(i, &f)| {
            assert!(
                (0.0..=1.0).contains(&f),
                "random_split: fraction at index {i} is not between 0 and 1"
            );
            (n as f64 * f).floor() as usize
        })
        .collect();
    let remainder = n - lengths.iter().sum::<usize>();
    for i in 0..remainder {
        let split = i % lengths.len();
        lengths[split] += 1;
    }
    random_split(dataset, &lengths, generator)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A transform that changes the shape and a target transform, read
    /// through `get` and batched by a DataLoader, on the caller's thread and
    /// on a background one: each batch is the stack of the transformed samples.
    #[test]
    fn transformed_samples_are_what_the_loader_batches() {
        let inputs: Vec<f32> = (0..30).map(|v| v as f32).collect();
        let ds = TensorDataset::new(
            Tensor::from_vec(inputs, &[5, 2, 3]),
            Tensor::from_vec(vec![0., 1., 2., 0., 1.], &[5]),
        );
        let ds = Arc::new(
            Transformed::new(ds, |x: Tensor| x.flatten(0).mul_scalar(2.0))
                .target_transform(|y| 2.0 - y),
        );
        assert_eq!((ds.len(), ds.sample_shape()), (5, vec![6]));
        let (x, y) = ds.get(1);
        assert_eq!(x.to_vec(), [12., 14., 16., 18., 20., 22.]);
        assert_eq!(y, 1.0);
        for prefetch in [0, 2] {
            let loader = crate::DataLoader::new(ds.clone(), 2)
                .shuffle(true)
                .seed(3)
                .prefetch(prefetch);
            let order = loader.order(0);
            let mut seen = 0;
            for (batch, (xb, yb)) in loader.iter().enumerate() {
                let rows = xb.shape()[0];
                assert_eq!(xb.shape()[1..], [6]);
                for r in 0..rows {
                    let (x, y) = ds.get(order[2 * batch + r]);
                    assert_eq!(xb.to_vec()[6 * r..6 * r + 6], x.to_vec()[..]);
                    assert_eq!(yb.to_vec()[r], y);
                }
                seen += rows;
            }
            assert_eq!(seen, 5);
        }
    }

    /// Lengths from PyTorch 2.15's random_split with the same fractions.
    #[test]
    fn fractions_split_as_in_pytorch() {
        let lens = |n: usize, fractions: &[f64]| -> Vec<usize> {
            let ds = TensorDataset::new(Tensor::zeros(&[n, 1]), Tensor::zeros(&[n]));
            random_split_fractions(ds, fractions, &mut Generator::new(0))
                .iter()
                .map(|s| s.len())
                .collect()
        };
        assert_eq!(lens(10, &[0.33, 0.33, 0.34]), [4, 3, 3]);
        assert_eq!(lens(7, &[0.5, 0.5]), [4, 3]);
        assert_eq!(lens(5, &[0.1, 0.1, 0.8]), [1, 0, 4]);
    }

    #[test]
    #[should_panic(expected = "do not add up to 1")]
    fn fractions_must_add_up_to_one() {
        let ds = TensorDataset::new(Tensor::zeros(&[10, 1]), Tensor::zeros(&[10]));
        random_split_fractions(ds, &[0.5, 0.6], &mut Generator::new(0));
    }

    #[test]
    #[should_panic(expected = "do not add up to the dataset's 11 samples")]
    fn lengths_that_overflow_are_refused() {
        let ds = TensorDataset::new(Tensor::zeros(&[11, 1]), Tensor::zeros(&[11]));
        random_split(ds, &[usize::MAX, 12], &mut Generator::new(0));
    }

    fn counting(n: usize) -> TensorDataset {
        let inputs: Vec<f32> = (0..2 * n).map(|i| i as f32).collect();
        let targets: Vec<f32> = (0..n).map(|i| i as f32).collect();
        TensorDataset::new(
            Tensor::from_vec(inputs, &[n, 2]),
            Tensor::from_vec(targets, &[n]),
        )
    }

    #[test]
    fn tensor_dataset_get_and_get_into_agree() {
        let ds = counting(5);
        assert_eq!(ds.len(), 5);
        assert_eq!(ds.sample_shape(), vec![2]);
        let (x, y) = ds.get(3);
        assert_eq!((x.shape(), x.to_vec(), y), (&[2][..], vec![6.0, 7.0], 3.0));
        let mut out = vec![-1.0];
        assert_eq!(ds.get_into(4, &mut out), 4.0);
        assert_eq!(out, vec![-1.0, 8.0, 9.0]);
    }

    #[test]
    fn tensor_dataset_of_a_transposed_view_reads_rows() {
        // [[0, 2], [1, 3]] seen through a transpose: rows must be the logical ones.
        let inputs = Tensor::from_vec(vec![0.0, 1.0, 2.0, 3.0], &[2, 2]).t();
        let ds = TensorDataset::new(inputs, Tensor::from_vec(vec![0.0, 1.0], &[2]));
        assert_eq!(ds.get(0).0.to_vec(), vec![0.0, 2.0]);
    }

    #[test]
    #[should_panic(expected = "same first dimension")]
    fn tensor_dataset_rejects_mismatched_lengths() {
        TensorDataset::new(Tensor::zeros(&[3, 2]), Tensor::zeros(&[4]));
    }

    /// PyTorch's splits for the same seed: `random_split(range(10), lengths,
    /// generator=torch.Generator().manual_seed(seed))`, printed by torch 2.15.
    #[test]
    fn random_split_gives_pytorchs_splits_for_the_same_seed() {
        let indices = |parts: Vec<Subset>| -> Vec<Vec<usize>> {
            parts.iter().map(|p| p.indices().to_vec()).collect()
        };
        let split = |lengths: &[usize], seed| {
            indices(random_split(
                counting(10),
                lengths,
                &mut Generator::new(seed),
            ))
        };
        let fractions = |fractions: &[f64], seed| {
            indices(random_split_fractions(
                counting(10),
                fractions,
                &mut Generator::new(seed),
            ))
        };
        assert_eq!(
            split(&[7, 3], 0),
            [vec![4, 1, 7, 5, 3, 9, 0], vec![8, 6, 2]]
        );
        assert_eq!(
            split(&[7, 3], 42),
            [vec![2, 6, 1, 8, 4, 5, 0], vec![9, 3, 7]]
        );
        assert_eq!(
            fractions(&[0.5, 0.3, 0.2], 0),
            [vec![4, 1, 7, 5, 3], vec![9, 0, 8], vec![6, 2]]
        );
        assert_eq!(
            fractions(&[0.5, 0.3, 0.2], 42),
            [vec![2, 6, 1, 8, 4], vec![5, 0, 9], vec![3, 7]]
        );
    }

    #[test]
    fn random_split_partitions_and_is_seeded() {
        let parts = random_split(counting(10), &[7, 3], &mut Generator::new(5));
        let targets = |s: &Subset| {
            (0..s.len())
                .map(|i| s.get(i).1 as usize)
                .collect::<Vec<_>>()
        };
        let mut all: Vec<usize> = parts.iter().flat_map(targets).collect();
        assert_ne!(
            all,
            (0..10).collect::<Vec<_>>(),
            "a seeded split should shuffle"
        );
        all.sort();
        assert_eq!(all, (0..10).collect::<Vec<_>>());
        // The split is Generator::permutation cut in order.
        let p = Generator::new(5).permutation(10);
        assert_eq!(parts[0].indices(), &p[..7]);
        assert_eq!(parts[1].indices(), &p[7..]);
        let again = random_split(counting(10), &[7, 3], &mut Generator::new(5));
        assert_eq!(again[1].indices(), parts[1].indices());
    }

    #[test]
    #[should_panic(expected = "do not add up")]
    fn random_split_checks_lengths() {
        random_split(counting(10), &[5, 4], &mut Generator::new(0));
    }
}
