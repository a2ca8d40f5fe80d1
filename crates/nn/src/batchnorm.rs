//! `nn.BatchNorm1d`: per-feature normalisation with running statistics.

use std::sync::atomic::{AtomicBool, Ordering};

use autograd::Tensor;

use crate::module::python_float;
use crate::Module;

/// Normalises each feature (dim 1) of `[N, C]` or `[N, C, L]` inputs, then
/// scales and shifts it by the learned `weight` and `bias` (`nn.BatchNorm1d`).
///
/// - Training mode: normalises with the batch mean and biased variance, and
///   updates `running_mean` / `running_var` (the latter with the unbiased
///   variance) by `running = (1 - momentum) * running + momentum * batch`
///   (with `momentum: None`, the cumulative average: momentum `1 / batches`),
///   and counts `num_batches_tracked`, as PyTorch does.
/// - Eval mode: normalises with the running statistics (with the batch's
///   when `track_running_stats` is false: there are none).
///
/// Buffers `running_mean`, `running_var` and `num_batches_tracked` go into the
/// state dict under PyTorch's names.
///
/// ```
/// use autograd::Tensor;
/// use nn::{BatchNorm1d, BatchNorm1dConfig, Module};
/// let bn = BatchNorm1d::with_config(2, BatchNorm1dConfig { momentum: None, ..Default::default() });
/// bn.forward(&Tensor::from_vec(vec![1.0, 2.0, 3.0, 6.0], &[2, 2]));
/// assert_eq!(bn.running_mean().unwrap().to_vec(), vec![2.0, 4.0]); // the average of one batch
/// ```
pub struct BatchNorm1d {
    config: BatchNorm1dConfig,
    num_features: usize,
    /// `None` without `affine`.
    weight: Option<Tensor>,
    /// `None` without `affine` or `bias`.
    bias: Option<Tensor>,
    /// `None` without `track_running_stats`.
    running: Option<Running>,
    training: AtomicBool,
}

/// `running_mean`, `running_var`, `num_batches_tracked`.
struct Running {
    mean: Tensor,
    var: Tensor,
    count: Tensor,
}

/// Whether a state-dict key names BatchNorm's batch counter
/// (`num_batches_tracked`, at any depth): the one integer buffer of
/// torch.nn's modules, which checkpoints store as I64 and PyTorch lets a
/// state dict leave out.
pub(crate) fn is_batch_counter(key: &str) -> bool {
    key.rsplit('.').next() == Some("num_batches_tracked")
}

/// `nn.BatchNorm1d`'s keyword arguments; `Default` is PyTorch's.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BatchNorm1dConfig {
    /// Added to the variance (1e-5).
    pub eps: f32,
    /// Weight of the batch in the running statistics (0.1); `None`: their
    /// cumulative average over the batches seen.
    pub momentum: Option<f32>,
    /// Learned `weight` (ones) and `bias` (zeros) (true).
    pub affine: bool,
    /// With `affine`, whether there is a `bias` (true; keyword-only in PyTorch).
    pub bias: bool,
    /// Keep running statistics for eval mode (true).
    pub track_running_stats: bool,
}

impl Default for BatchNorm1dConfig {
    fn default() -> Self {
        BatchNorm1dConfig {
            eps: 1e-5,
            momentum: Some(0.1),
            affine: true,
            bias: true,
            track_running_stats: true,
        }
    }
}

impl BatchNorm1d {
    /// `nn.BatchNorm1d(num_features)`: eps 1e-5, momentum 0.1, weight 1, bias 0.
    pub fn new(num_features: usize) -> BatchNorm1d {
        BatchNorm1d::with_config(num_features, BatchNorm1dConfig::default())
    }

    /// `nn.BatchNorm1d(num_features, eps=eps, momentum=momentum)`.
    pub fn with_options(num_features: usize, eps: f32, momentum: f32) -> BatchNorm1d {
        let config = BatchNorm1dConfig {
            eps,
            momentum: Some(momentum),
            ..Default::default()
        };
        BatchNorm1d::with_config(num_features, config)
    }

    /// `nn.BatchNorm1d(num_features, **config)`.
    pub fn with_config(num_features: usize, config: BatchNorm1dConfig) -> BatchNorm1d {
        let param = |t: Tensor| t.requires_grad_(true);
        BatchNorm1d {
            config,
            num_features,
            weight: config.affine.then(|| param(Tensor::ones(&[num_features]))),
            bias: (config.affine && config.bias).then(|| param(Tensor::zeros(&[num_features]))),
            running: config.track_running_stats.then(|| Running {
                mean: Tensor::zeros(&[num_features]),
                var: Tensor::ones(&[num_features]),
                count: Tensor::scalar(0.0),
            }),
            training: AtomicBool::new(true),
        }
    }

    /// `None` without `track_running_stats`.
    pub fn running_mean(&self) -> Option<&Tensor> {
        self.running.as_ref().map(|r| &r.mean)
    }

    /// `None` without `track_running_stats`.
    pub fn running_var(&self) -> Option<&Tensor> {
        self.running.as_ref().map(|r| &r.var)
    }

    /// Update the running statistics from a batch's mean and biased variance
    /// over `n` values per feature (outside the graph).
    fn track(running: &Running, momentum: Option<f32>, mean: &[f32], biased_var: &[f32], n: usize) {
        let count = running.count.with_data_mut(|c| {
            c[0] += 1.0;
            c[0]
        });
        // PyTorch's 1 / count (a double there; the update here runs in f32).
        let m = momentum.unwrap_or((1.0 / count as f64) as f32);
        let unbias = n as f32 / (n - 1) as f32;
        running.mean.with_data_mut(|rm| {
            for (r, &b) in rm.iter_mut().zip(mean) {
                *r = (1.0 - m) * *r + m * b;
            }
        });
        running.var.with_data_mut(|rv| {
            for (r, &b) in rv.iter_mut().zip(biased_var) {
                *r = (1.0 - m) * *r + m * b * unbias;
            }
        });
    }
}

impl Module for BatchNorm1d {
    /// # Panics
    /// On an input that is not `[N, C]` or `[N, C, L]` with `C` features, and
    /// on a single value per feature when normalising with batch statistics,
    /// as PyTorch raises.
    fn forward(&self, x: &Tensor) -> Tensor {
        let c = self.num_features;
        assert!(
            (x.dims() == 2 || x.dims() == 3) && x.shape()[1] == c,
            "BatchNorm1d({c}): expected input of shape [N, {c}] or [N, {c}, L], got {:?}",
            x.shape()
        );
        // Statistics per feature broadcast against x: [1, C] or [1, C, 1].
        let stat_shape: Vec<usize> = (0..x.dims()).map(|d| if d == 1 { c } else { 1 }).collect();
        let per_feature_mean = |t: &Tensor| {
            let t = if t.dims() == 3 {
                t.mean_dim(2, true)
            } else {
                t.clone()
            };
            t.mean_dim(0, true)
        };
        let training = self.training.load(Ordering::Relaxed);
        let (centered, std) = match &self.running {
            Some(running) if !training => {
                // Copies, so that a later in-place update of the buffers cannot
                // change what this graph's backward pass reads.
                let mean = Tensor::from_vec(running.mean.to_vec(), &stat_shape);
                let var = Tensor::from_vec(running.var.to_vec(), &stat_shape);
                (x.sub(&mean), var.add_scalar(self.config.eps).sqrt())
            }
            running => {
                let n = x.numel() / c.max(1);
                assert!(
                    n > 1,
                    "BatchNorm1d: expected more than 1 value per channel when training, got input size {:?}",
                    x.shape()
                );
                let mean = per_feature_mean(x);
                let centered = x.sub(&mean);
                let var = per_feature_mean(&centered.mul(&centered));
                if let Some(running) = running {
                    let momentum = self.config.momentum;
                    BatchNorm1d::track(running, momentum, &mean.to_vec(), &var.to_vec(), n);
                }
                (centered, var.add_scalar(self.config.eps).sqrt())
            }
        };
        let mut y = centered.div(&std);
        if let Some(weight) = &self.weight {
            y = y.mul(&weight.reshape(&stat_shape));
        }
        if let Some(bias) = &self.bias {
            y = y.add(&bias.reshape(&stat_shape));
        }
        y
    }

    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        let weight = self
            .weight
            .iter()
            .map(|w| ("weight".to_string(), w.clone()));
        let bias = self.bias.iter().map(|b| ("bias".to_string(), b.clone()));
        weight.chain(bias).collect()
    }

    fn named_buffers(&self) -> Vec<(String, Tensor)> {
        let Some(running) = &self.running else {
            return Vec::new();
        };
        vec![
            ("running_mean".to_string(), running.mean.clone()),
            ("running_var".to_string(), running.var.clone()),
            ("num_batches_tracked".to_string(), running.count.clone()),
        ]
    }

    fn set_training(&self, training: bool) {
        self.training.store(training, Ordering::Relaxed);
    }

    fn extra_repr(&self) -> String {
        let c = &self.config;
        let momentum = c.momentum.map_or("None".to_string(), python_float);
        let title = |b: bool| if b { "True" } else { "False" };
        format!(
            "{}, eps={}, momentum={momentum}, affine={}, bias={}, track_running_stats={}",
            self.num_features,
            python_float(c.eps),
            title(c.affine),
            title(self.bias.is_some()),
            title(c.track_running_stats)
        )
    }
}
