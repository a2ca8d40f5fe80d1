//! `nn.BatchNorm1d`: per-feature normalisation with running statistics.

use std::sync::atomic::{AtomicBool, Ordering};

use autograd::Tensor;

use crate::Module;

/// Normalises each feature (dim 1) of `[N, C]` or `[N, C, L]` inputs, then
/// scales and shifts it by the learned `weight` and `bias` (`nn.BatchNorm1d`).
///
/// - Training mode: normalises with the batch mean and biased variance, and
///   updates `running_mean` / `running_var` (the latter with the unbiased
///   variance) by `running = (1 - momentum) * running + momentum * batch`,
///   and counts `num_batches_tracked`, as PyTorch does.
/// - Eval mode: normalises with the running statistics.
///
/// Buffers `running_mean`, `running_var` and `num_batches_tracked` go into the
/// state dict under PyTorch's names.
pub struct BatchNorm1d {
    eps: f32,
    momentum: f32,
    weight: Tensor,
    bias: Tensor,
    running_mean: Tensor,
    running_var: Tensor,
    num_batches_tracked: Tensor,
    training: AtomicBool,
}

impl BatchNorm1d {
    /// `nn.BatchNorm1d(num_features)`: eps 1e-5, momentum 0.1, weight 1, bias 0.
    pub fn new(num_features: usize) -> BatchNorm1d {
        BatchNorm1d::with_options(num_features, 1e-5, 0.1)
    }

    /// `nn.BatchNorm1d(num_features, eps=eps, momentum=momentum)`.
    pub fn with_options(num_features: usize, eps: f32, momentum: f32) -> BatchNorm1d {
        BatchNorm1d {
            eps,
            momentum,
            weight: Tensor::ones(&[num_features]).requires_grad_(true),
            bias: Tensor::zeros(&[num_features]).requires_grad_(true),
            running_mean: Tensor::zeros(&[num_features]),
            running_var: Tensor::ones(&[num_features]),
            num_batches_tracked: Tensor::scalar(0.0),
            training: AtomicBool::new(true),
        }
    }

    pub fn running_mean(&self) -> &Tensor {
        &self.running_mean
    }

    pub fn running_var(&self) -> &Tensor {
        &self.running_var
    }

    /// Update the running statistics from a batch's mean and biased variance
    /// over `n` values per feature (outside the graph).
    fn track(&self, mean: &[f32], biased_var: &[f32], n: usize) {
        let m = self.momentum;
        let unbias = n as f32 / (n - 1) as f32;
        self.running_mean.with_data_mut(|rm| {
            for (r, &b) in rm.iter_mut().zip(mean) {
                *r = (1.0 - m) * *r + m * b;
            }
        });
        self.running_var.with_data_mut(|rv| {
            for (r, &b) in rv.iter_mut().zip(biased_var) {
                *r = (1.0 - m) * *r + m * b * unbias;
            }
        });
        self.num_batches_tracked.with_data_mut(|c| c[0] += 1.0);
    }
}

impl Module for BatchNorm1d {
    /// # Panics
    /// On an input that is not `[N, C]` or `[N, C, L]` with `C` features, and
    /// in training mode on a single value per feature, as PyTorch raises.
    fn forward(&self, x: &Tensor) -> Tensor {
        let c = self.weight.numel();
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
        let (centered, std) = if self.training.load(Ordering::Relaxed) {
            let n = x.numel() / c.max(1);
            assert!(
                n > 1,
                "BatchNorm1d: expected more than 1 value per channel when training, got input size {:?}",
                x.shape()
            );
            let mean = per_feature_mean(x);
            let centered = x.sub(&mean);
            let var = per_feature_mean(&centered.mul(&centered));
            self.track(&mean.to_vec(), &var.to_vec(), n);
            (centered, var.add_scalar(self.eps).sqrt())
        } else {
            // Copies, so that a later in-place update of the buffers cannot
            // change what this graph's backward pass reads.
            let mean = Tensor::from_vec(self.running_mean.to_vec(), &stat_shape);
            let var = Tensor::from_vec(self.running_var.to_vec(), &stat_shape);
            (x.sub(&mean), var.add_scalar(self.eps).sqrt())
        };
        centered
            .div(&std)
            .mul(&self.weight.reshape(&stat_shape))
            .add(&self.bias.reshape(&stat_shape))
    }

    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        vec![
            ("weight".to_string(), self.weight.clone()),
            ("bias".to_string(), self.bias.clone()),
        ]
    }

    fn named_buffers(&self) -> Vec<(String, Tensor)> {
        vec![
            ("running_mean".to_string(), self.running_mean.clone()),
            ("running_var".to_string(), self.running_var.clone()),
            (
                "num_batches_tracked".to_string(),
                self.num_batches_tracked.clone(),
            ),
        ]
    }

    fn set_training(&self, training: bool) {
        self.training.store(training, Ordering::Relaxed);
    }

    fn extra_repr(&self) -> String {
        // Python prints 1e-5 as "1e-05".
        let eps = format!("{:e}", self.eps);
        let eps = match eps.split_once("e-") {
            Some((m, e)) if e.len() == 1 => format!("{m}e-0{e}"),
            _ => eps,
        };
        format!(
            "{}, eps={eps}, momentum={}, affine=True, track_running_stats=True",
            self.weight.numel(),
            self.momentum
        )
    }
}
