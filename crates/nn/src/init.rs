//! `torch.nn.init`: fill a parameter in place with the values a layer should
//! start from. All of PyTorch's fills are here: [`uniform_`], [`normal_`],
//! [`trunc_normal_`], [`constant_`], [`ones_`], [`zeros_`], [`eye_`],
//! [`dirac_`], [`xavier_uniform_`], [`xavier_normal_`], [`kaiming_uniform_`],
//! [`kaiming_normal_`], [`orthogonal_`], [`sparse_`], with [`calculate_gain`]
//! and [`calculate_fan_in_and_fan_out`]. Each function runs without recording
//! (PyTorch's run under `no_grad`), so it takes a leaf that requires grad,
//! and bumps its version counter, as PyTorch's do; random ones draw from the
//! default generator ([`autograd::manual_seed`]), whose values are not
//! torch's. The formulas, fans, samplers and argument checks are PyTorch's
//! (a bad argument panics where PyTorch raises).
//!
//! ```
//! use autograd::Tensor;
//! use nn::init::{self, FanMode, Nonlinearity};
//! let w = Tensor::zeros(&[512, 784]).requires_grad_(true);
//! init::kaiming_uniform_(&w, FanMode::FanIn, Nonlinearity::Relu);
//! let bound = (2.0f64).sqrt() * (3.0f64 / 784.0).sqrt(); // gain * sqrt(3 / fan_in)
//! assert!(w.to_vec().iter().all(|v| v.abs() as f64 <= bound));
//! ```

use autograd::{rng, Tensor};

/// The activation a layer feeds, for [`calculate_gain`] (PyTorch's
/// `nonlinearity` strings; the convolutions' gain is the linear one).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Nonlinearity {
    /// `"linear"`, `"conv1d"`, `"conv2d"`, ...: gain 1.
    Linear,
    /// `"sigmoid"`: gain 1.
    Sigmoid,
    /// `"tanh"`: gain 5/3.
    Tanh,
    /// `"relu"`: gain sqrt(2).
    Relu,
    /// `"leaky_relu"` with its negative slope (PyTorch's default 0.01): gain
    /// sqrt(2 / (1 + slope^2)).
    LeakyRelu(f64),
    /// `"selu"`: gain 3/4.
    Selu,
}

/// Which fan keeps the variance (`mode=` of the kaiming functions).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FanMode {
    /// The forward pass's (PyTorch's default).
    FanIn,
    /// The backward pass's.
    FanOut,
}

/// The recommended gain for `nonlinearity` (`nn.init.calculate_gain`).
///
/// ```
/// use nn::init::{calculate_gain, Nonlinearity};
/// assert_eq!(calculate_gain(Nonlinearity::Relu), 2.0f64.sqrt());
/// ```
pub fn calculate_gain(nonlinearity: Nonlinearity) -> f64 {
    match nonlinearity {
        Nonlinearity::Linear | Nonlinearity::Sigmoid => 1.0,
        Nonlinearity::Tanh => 5.0 / 3.0,
        Nonlinearity::Relu => 2.0f64.sqrt(),
        Nonlinearity::LeakyRelu(slope) => (2.0 / (1.0 + slope * slope)).sqrt(),
        Nonlinearity::Selu => 3.0 / 4.0,
    }
}

/// `(fan_in, fan_out)` of a weight `[out, in, k...]`: `in` and `out` times
/// the receptive field (the product of the `k`s), as PyTorch counts them.
///
/// # Panics
/// On a tensor of fewer than 2 dims, as PyTorch raises.
pub fn calculate_fan_in_and_fan_out(tensor: &Tensor) -> (usize, usize) {
    let shape = tensor.shape();
    assert!(
        shape.len() >= 2,
        "Fan in and fan out can not be computed for tensor with fewer than 2 dimensions \
         (shape {shape:?})"
    );
    let receptive_field: usize = shape[2..].iter().product();
    (shape[1] * receptive_field, shape[0] * receptive_field)
}

/// Uniform in `[a, b)` (`nn.init.uniform_`).
///
/// # Panics
/// If `a > b`, as PyTorch raises.
pub fn uniform_(tensor: &Tensor, a: f64, b: f64) -> &Tensor {
    assert!(
        a <= b,
        "uniform_ expects to return a [from, to) range, but found from={a} > to={b}"
    );
    rng::with_default(|g| write(tensor, || g.uniform(a as f32, b as f32)))
}

/// Normal with mean `mean` and standard deviation `std` (`nn.init.normal_`).
///
/// # Panics
/// If `std` is negative (or NaN), as PyTorch raises.
pub fn normal_(tensor: &Tensor, mean: f64, std: f64) -> &Tensor {
    check_std("normal_", std);
    rng::with_default(|g| {
        if tensor.is_contiguous() {
            let mut values = vec![0.0; tensor.numel()];
            g.fill_normal(&mut values, mean, std);
            write_values(tensor, values)
        } else {
            // PyTorch draws a strided tensor's values one at a time (`write`
            // goes in memory order), each as a draw of fewer than 16.
            write(tensor, || {
                let mut v = 0.0;
                g.fill_normal(std::slice::from_mut(&mut v), mean, std);
                v
            })
        }
    })
}

/// PyTorch's check of a normal's standard deviation.
fn check_std(op: &str, std: f64) {
    assert!(
        std >= 0.0,
        "{op}: normal expects std >= 0.0, but found std {std}"
    );
}

/// Normal with mean `mean` and standard deviation `std`, truncated to
/// `[a, b]` (`nn.init.trunc_normal_`; PyTorch's defaults are `0, 1, -2, 2`):
/// a value outside the window is redrawn until it falls inside, so the values
/// follow the truncated normal exactly, with no clamping.
///
/// The sampler is PyTorch's (2.15): when the window holds more than 0.3 of
/// the normal's mass, it draws normals and redraws those outside; otherwise
/// it proposes uniform values in `[a, b]` and keeps each with probability
/// density / the window's peak density, which stays efficient and exact
/// however far into the tail the window lies. The bounds are compared as
/// `f32`, the tensor's type. PyTorch warns when `mean` is more than `2 * std`
/// outside `[a, b]`; we have no warnings, and the values are right anyway.
///
/// ```
/// use autograd::Tensor;
/// use nn::init;
/// let w = Tensor::zeros(&[64, 768]).requires_grad_(true);
/// init::trunc_normal_(&w, 0.0, 0.02, -0.04, 0.04); // ViT's init: 2 std either side
/// assert!(w.to_vec().iter().all(|&v| (-0.04..=0.04).contains(&v)));
/// ```
///
/// # Panics
/// If `std` is not positive or `a > b` (PyTorch raises: a division by zero,
/// or `uniform_`'s range check), or if the window needs the uniform proposals
/// and a bound is infinite (PyTorch's `uniform_` raises too).
pub fn trunc_normal_(tensor: &Tensor, mean: f64, std: f64, a: f64, b: f64) -> &Tensor {
    let sampler = TruncNormal::new(mean, std, a, b);
    rng::with_default(|g| {
        write(tensor, || {
            sampler.sample(&mut |draw| match draw {
                Draw::Normal { mean, std } => g.normal(mean, std),
                Draw::Uniform { low, high } => g.uniform(low, high),
            })
        })
    })
}

/// Every element `value` (`nn.init.constant_`).
pub fn constant_(tensor: &Tensor, value: f64) -> &Tensor {
    autograd::no_grad(|| tensor.fill_(value as f32));
    tensor
}

/// Every element 1 (`nn.init.ones_`).
pub fn ones_(tensor: &Tensor) -> &Tensor {
    constant_(tensor, 1.0)
}

/// Every element 0 (`nn.init.zeros_`).
pub fn zeros_(tensor: &Tensor) -> &Tensor {
    constant_(tensor, 0.0)
}

/// The identity matrix, for a 2-D tensor (`nn.init.eye_`): ones where the
/// row and column indices agree.
///
/// # Panics
/// On a tensor that is not 2-D, as PyTorch raises.
pub fn eye_(tensor: &Tensor) -> &Tensor {
    assert!(
        tensor.dims() == 2,
        "eye_: only tensors with 2 dimensions are supported, got shape {:?}",
        tensor.shape()
    );
    let eye = Tensor::eye(tensor.shape()[0], tensor.shape()[1]);
    autograd::no_grad(|| tensor.copy_(&eye));
    tensor
}

/// The Dirac delta (`nn.init.dirac_`), for a convolution's weight
/// `[out, in, k...]` of 3, 4 or 5 dims: zeros, except a 1 at the kernel's
/// centre (index `k / 2` of each kernel dim) where output channel `d` of
/// each of the `groups` groups meets input channel `d`, for `d` below
/// `min(out / groups, in)`. The convolution then passes as many of its input
/// channels through unchanged as it can.
///
/// ```
/// use autograd::Tensor;
/// use nn::init;
/// let w = Tensor::zeros(&[2, 2, 3]);
/// init::dirac_(&w, 1);
/// assert_eq!(w.to_vec(), [0., 1., 0., 0., 0., 0., 0., 0., 0., 0., 1., 0.]);
/// ```
///
/// # Panics
/// On a tensor of other than 3, 4 or 5 dims, or if `groups` does not divide
/// its size 0 (PyTorch raises on both, and on `groups` 0).
pub fn dirac_(tensor: &Tensor, groups: usize) -> &Tensor {
    let shape = tensor.shape().to_vec();
    assert!(
        (3..=5).contains(&shape.len()),
        "dirac_: only tensors with 3, 4, or 5 dimensions are supported, got shape {shape:?}"
    );
    assert!(
        groups > 0 && shape[0].is_multiple_of(groups),
        "dirac_: dim 0 must be divisible by groups, got shape {shape:?} and groups {groups}"
    );
    let mut values = vec![0.0f32; tensor.numel()];
    // A zero-size kernel has no centre to set (PyTorch would fail to index it).
    if !values.is_empty() {
        let per_group = shape[0] / groups;
        let kernel: usize = shape[2..].iter().product();
        let centre = shape[2..].iter().fold(0, |at, &k| at * k + k / 2);
        for group in 0..groups {
            for d in 0..per_group.min(shape[1]) {
                let out = group * per_group + d;
                values[(out * shape[1] + d) * kernel + centre] = 1.0;
            }
        }
    }
    write_values(tensor, values)
}

/// Glorot uniform (`nn.init.xavier_uniform_`): `U(-bound, bound)` with
/// `bound = gain * sqrt(6 / (fan_in + fan_out))`.
pub fn xavier_uniform_(tensor: &Tensor, gain: f64) -> &Tensor {
    let (fan_in, fan_out) = calculate_fan_in_and_fan_out(tensor);
    let std = gain * (2.0 / (fan_in + fan_out) as f64).sqrt();
    let bound = 3.0f64.sqrt() * std;
    uniform_(tensor, -bound, bound)
}

/// Glorot normal (`nn.init.xavier_normal_`): `N(0, std^2)` with
/// `std = gain * sqrt(2 / (fan_in + fan_out))`.
pub fn xavier_normal_(tensor: &Tensor, gain: f64) -> &Tensor {
    let (fan_in, fan_out) = calculate_fan_in_and_fan_out(tensor);
    let std = gain * (2.0 / (fan_in + fan_out) as f64).sqrt();
    normal_(tensor, 0.0, std)
}

/// He uniform (`nn.init.kaiming_uniform_`): `U(-bound, bound)` with
/// `bound = gain * sqrt(3 / fan)`, the gain of `nonlinearity`. PyTorch's
/// default (`a=0`, `nonlinearity='leaky_relu'`) is `LeakyRelu(0.0)`; its `a`
/// is the slope that `LeakyRelu` carries. `nn.Linear`'s own init is
/// `kaiming_uniform_(w, FanIn, LeakyRelu(5f64.sqrt()))`, `U(±1/sqrt(in))`,
/// which [`crate::Linear`] draws directly.
pub fn kaiming_uniform_(tensor: &Tensor, mode: FanMode, nonlinearity: Nonlinearity) -> &Tensor {
    if tensor.numel() == 0 {
        return tensor; // PyTorch: "Initializing zero-element tensors is a no-op"
    }
    let bound = 3.0f64.sqrt() * kaiming_std(tensor, mode, nonlinearity);
    uniform_(tensor, -bound, bound)
}

/// He normal (`nn.init.kaiming_normal_`): `N(0, std^2)` with
/// `std = gain / sqrt(fan)`; the arguments as [`kaiming_uniform_`]'s.
pub fn kaiming_normal_(tensor: &Tensor, mode: FanMode, nonlinearity: Nonlinearity) -> &Tensor {
    if tensor.numel() == 0 {
        return tensor;
    }
    let std = kaiming_std(tensor, mode, nonlinearity);
    normal_(tensor, 0.0, std)
}

/// A (semi-)orthogonal matrix times `gain` (`nn.init.orthogonal_`, Saxe et
/// al. 2013): the tensor, seen as `[rows, cols]` with `rows` its size 0 and
/// its other dims flattened, gets orthonormal columns if it is tall or
/// square and orthonormal rows if it is wide, scaled by `gain`.
///
/// As PyTorch: a standard normal `[rows, cols]` matrix (transposed if wide)
/// is factored as QR with Householder reflections, as LAPACK does, and each
/// column of Q is multiplied by the sign of R's diagonal entry, so that Q is
/// uniformly distributed over the orthogonal matrices. We factor in `f64`
/// (PyTorch in the tensor's `f32`).
///
/// ```
/// use autograd::Tensor;
/// use nn::init;
/// let w = Tensor::zeros(&[3, 5]).requires_grad_(true);
/// init::orthogonal_(&w, 2.0);
/// let gram = w.matmul(&w.t()).to_vec(); // w wᵀ = gain² I
/// let eye = Tensor::eye(3, 3).to_vec();
/// assert!(gram.iter().zip(eye).all(|(g, e)| (g - 4.0 * e).abs() < 1e-5));
/// ```
///
/// # Panics
/// On a tensor of fewer than 2 dims, as PyTorch raises. A zero-element
/// tensor is left as it is, as PyTorch does.
pub fn orthogonal_(tensor: &Tensor, gain: f64) -> &Tensor {
    assert!(
        tensor.dims() >= 2,
        "orthogonal_: only tensors with 2 or more dimensions are supported, got shape {:?}",
        tensor.shape()
    );
    let numel = tensor.numel();
    if numel == 0 {
        return tensor;
    }
    let rows = tensor.shape()[0];
    let cols = numel / rows;
    // PyTorch: a new [rows, cols] tensor's normal_(0, 1).
    let mut drawn = vec![0.0f32; numel];
    rng::with_default(|g| g.fill_normal(&mut drawn, 0.0, 1.0));
    let drawn: Vec<f64> = drawn.iter().map(|&v| v as f64).collect();
    let q = orthogonalize(&drawn, rows, cols);
    write_values(tensor, q.iter().map(|&v| (gain * v) as f32).collect())
}

/// A sparse matrix (`nn.init.sparse_`, Martens 2010): every element drawn
/// from `N(0, std^2)` (PyTorch's default `std` is 0.01), then in each column
/// `ceil(sparsity * rows)` rows chosen at random (all of them if that is
/// more) set to 0.
///
/// ```
/// use autograd::Tensor;
/// use nn::init;
/// let w = Tensor::zeros(&[10, 4]);
/// init::sparse_(&w, 0.25, 0.01); // ceil(2.5) = 3 zeros per column
/// let v = w.to_vec();
/// assert!((0..4).all(|c| (0..10).filter(|&r| v[r * 4 + c] == 0.0).count() == 3));
/// ```
///
/// # Panics
/// On a tensor that is not 2-D or a negative `std`, as PyTorch raises, and on a `sparsity`
/// that is NaN, infinite (PyTorch raises too) or negative (PyTorch would
/// read `-k` zeros through Python's slicing as all rows but the last `k`).
pub fn sparse_(tensor: &Tensor, sparsity: f64, std: f64) -> &Tensor {
    assert!(
        tensor.dims() == 2,
        "sparse_: only tensors with 2 dimensions are supported, got shape {:?}",
        tensor.shape()
    );
    assert!(
        sparsity.is_finite() && sparsity >= 0.0,
        "sparse_: sparsity must be a finite fraction >= 0, got {sparsity}"
    );
    check_std("sparse_", std);
    let (rows, cols) = (tensor.shape()[0], tensor.shape()[1]);
    let zeros = ((sparsity * rows as f64).ceil() as usize).min(rows);
    rng::with_default(|g| {
        let mut values = vec![0.0f32; rows * cols];
        g.fill_normal(&mut values, 0.0, std);
        for col in 0..cols {
            // The first `zeros` of a random permutation, as PyTorch's randperm.
            for &row in &g.permutation(rows)[..zeros] {
                values[row * cols + col] = 0.0;
            }
        }
        write_values(tensor, values)
    })
}

fn kaiming_std(tensor: &Tensor, mode: FanMode, nonlinearity: Nonlinearity) -> f64 {
    let (fan_in, fan_out) = calculate_fan_in_and_fan_out(tensor);
    let fan = match mode {
        FanMode::FanIn => fan_in,
        FanMode::FanOut => fan_out,
    };
    calculate_gain(nonlinearity) / (fan as f64).sqrt()
}

/// What [`TruncNormal::sample`] asks its source for.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Draw {
    Normal { mean: f32, std: f32 },
    Uniform { low: f32, high: f32 },
}

/// PyTorch's sampler of the normal `N(mean, std^2)` truncated to `[a, b]`:
/// one of two rejection samplers, chosen by the window's mass `p`.
#[derive(Debug)]
struct TruncNormal {
    mean: f64,
    std: f64,
    /// The bounds as `f32`, the tensor's type, as PyTorch compares them.
    lo: f32,
    hi: f32,
    /// Whether the window's mass is not above 0.3, where redrawing normals
    /// would waste too many.
    by_uniform: bool,
    /// The standardized mode over `[a, b]` (the mean clamped into the
    /// window), where the density peaks.
    z_mode: f64,
}

impl TruncNormal {
    fn new(mean: f64, std: f64, a: f64, b: f64) -> TruncNormal {
        assert!(std > 0.0, "trunc_normal_: std must be positive, got {std}");
        assert!(
            a <= b,
            "trunc_normal_: the bounds must have a <= b, got a = {a}, b = {b}"
        );
        let p = normal_cdf((b - mean) / std) - normal_cdf((a - mean) / std);
        let by_uniform = p.is_nan() || p <= 0.3; // PyTorch's branch for a NaN too
        assert!(
            !by_uniform || (a.is_finite() && b.is_finite()),
            "trunc_normal_: [{a}, {b}] holds {p} of the normal's mass, so it draws uniformly \
             in it, which needs finite bounds"
        );
        let mode = a.max(mean.min(b));
        TruncNormal {
            mean,
            std,
            lo: a as f32,
            hi: b as f32,
            by_uniform,
            z_mode: (mode - mean) / std,
        }
    }

    /// One value, drawing from `draw` until one is accepted.
    fn sample(&self, draw: &mut impl FnMut(Draw) -> f32) -> f32 {
        if !self.by_uniform {
            loop {
                let x = draw(Draw::Normal {
                    mean: self.mean as f32,
                    std: self.std as f32,
                });
                // Rejected as PyTorch does (a NaN is not).
                let rejected = x < self.lo || x > self.hi;
                if !rejected {
                    return x;
                }
            }
        }
        loop {
            let x = draw(Draw::Uniform {
                low: self.lo,
                high: self.hi,
            });
            let u = draw(Draw::Uniform {
                low: 0.0,
                high: 1.0,
            });
            // Keep x with probability density(x) / peak density, whose log
            // is -(z^2 - z_mode^2) / 2, factored so that a window far in the
            // tail (both squares large) loses no precision.
            let z = (x as f64 - self.mean) / self.std;
            let log_ratio = -0.5 * (z - self.z_mode) * (z + self.z_mode);
            // Rejected as PyTorch does (a NaN is not), so no NaN loops forever.
            let rejected = (u as f64).ln() > log_ratio;
            if !rejected {
                return x;
            }
        }
    }
}

/// The standard normal's CDF, through erf as PyTorch computes it.
fn normal_cdf(x: f64) -> f64 {
    (1.0 + erf(x / std::f64::consts::SQRT_2)) / 2.0
}

/// The error function (not in std), within a few ulps of C's `erf`: the
/// Maclaurin series below 1.5 (little cancellation there), 1 - erfc above,
/// with erfc from its continued fraction (100 terms: converged for x >= 1.5).
fn erf(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    let ax = x.abs();
    let value = if ax < 1.5 {
        // erf(x) = 2/sqrt(pi) * sum_n (-1)^n x^(2n+1) / (n! (2n+1))
        let x2 = ax * ax;
        let (mut power, mut sum, mut n) = (ax, ax, 0.0);
        loop {
            n += 1.0;
            power *= -x2 / n;
            let term = power / (2.0 * n + 1.0);
            sum += term;
            if term.abs() <= sum.abs() * 1e-17 {
                break;
            }
        }
        std::f64::consts::FRAC_2_SQRT_PI * sum
    } else if ax < 6.0 {
        // erfc(x) = exp(-x^2) / sqrt(pi) / (x + (1/2) / (x + 1 / (x + (3/2) / (x + ...))))
        let mut fraction = ax;
        for k in (1..=100).rev() {
            fraction = ax + (k as f64 / 2.0) / fraction;
        }
        1.0 - (-ax * ax).exp() * (std::f64::consts::FRAC_2_SQRT_PI / 2.0) / fraction
    } else {
        1.0 // erfc(6) = 2e-17 is below half an ulp of 1
    };
    value.copysign(x)
}

/// The deterministic part of [`orthogonal_`]: a `[rows, cols]` row-major
/// matrix to PyTorch's orthogonal one (without the gain). A wide matrix is
/// transposed first, so the factored one, `m x n`, has `m >= n`; then
/// Householder QR as LAPACK's geqrf (including its case of a column with
/// nothing below the diagonal: no reflection), Q formed from the reflectors
/// as orgqr, and Q's columns times the signs of R's diagonal (0 for a zero
/// entry, as `torch.sign`).
fn orthogonalize(matrix: &[f64], rows: usize, cols: usize) -> Vec<f64> {
    let wide = rows < cols;
    let (m, n) = if wide { (cols, rows) } else { (rows, cols) };
    // Column-major, so that each column (and each reflector) is contiguous.
    // The transposed matrix of the wide case is the row-major input itself.
    let mut a = if wide {
        matrix.to_vec()
    } else {
        transpose(matrix, rows, cols)
    };
    let dot = |x: &[f64], y: &[f64]| x.iter().zip(y).map(|(p, q)| p * q).sum::<f64>();
    // Reflector k: H = I - tau v vᵀ, v = (1, a[k+1.., k]) below the diagonal.
    let mut taus = vec![0.0; n];
    let mut diagonal = vec![0.0; n];
    for k in 0..n {
        let (done, rest) = a.split_at_mut((k + 1) * m);
        let column = &mut done[k * m..];
        let alpha = column[k];
        let below_norm = dot(&column[k + 1..], &column[k + 1..]).sqrt();
        if below_norm == 0.0 {
            diagonal[k] = alpha;
            continue;
        }
        let beta = -alpha.hypot(below_norm).copysign(alpha);
        let tau = (beta - alpha) / beta;
        let scale = 1.0 / (alpha - beta);
        column[k + 1..].iter_mut().for_each(|v| *v *= scale);
        column[k] = beta;
        diagonal[k] = beta;
        taus[k] = tau;
        let v = &column[k + 1..];
        for other in rest.chunks_exact_mut(m) {
            let w = other[k] + dot(v, &other[k + 1..]);
            other[k] -= tau * w;
            other[k + 1..]
                .iter_mut()
                .zip(v)
                .for_each(|(o, vi)| *o -= tau * w * vi);
        }
    }
    // Q = H_0 ... H_{n-1} applied to I's first n columns, last reflector
    // first; H_k leaves columns j < k as they are.
    let mut q = vec![0.0; m * n];
    for j in 0..n {
        q[j * m + j] = 1.0;
    }
    for k in (0..n).rev() {
        let tau = taus[k];
        if tau == 0.0 {
            continue;
        }
        let v = &a[k * m + k + 1..(k + 1) * m];
        for column in q.chunks_exact_mut(m).skip(k) {
            let w = column[k] + dot(v, &column[k + 1..]);
            column[k] -= tau * w;
            column[k + 1..]
                .iter_mut()
                .zip(v)
                .for_each(|(o, vi)| *o -= tau * w * vi);
        }
    }
    for (column, &d) in q.chunks_exact_mut(m).zip(&diagonal) {
        let sign = if d > 0.0 {
            1.0
        } else if d < 0.0 {
            -1.0
        } else {
            0.0
        };
        column.iter_mut().for_each(|v| *v *= sign);
    }
    // Q is m x n column-major: its transpose, row-major, is the wide result;
    // the tall one is Q itself, row-major.
    if wide {
        q
    } else {
        transpose(&q, n, m)
    }
}

/// The row-major `[cols, rows]` transpose of a row-major `[rows, cols]` matrix.
fn transpose(matrix: &[f64], rows: usize, cols: usize) -> Vec<f64> {
    (0..cols)
        .flat_map(|j| (0..rows).map(move |i| matrix[i * cols + j]))
        .collect()
}

/// Overwrite every element with `next()`, drawn in memory order (`memory_order`): in place,
/// unrecorded, one change for the version counter.
fn write(tensor: &Tensor, mut next: impl FnMut() -> f32) -> &Tensor {
    let mut values = vec![0.0; tensor.numel()];
    for i in memory_order(tensor) {
        values[i] = next();
    }
    write_values(tensor, values)
}

/// The row-major indices of `tensor`'s elements in the order they lie in
/// memory: the order in which PyTorch's kernels draw a strided tensor's values
/// (`w.t()` is filled along its columns). `0..n` for a contiguous tensor.
fn memory_order(tensor: &Tensor) -> Vec<usize> {
    let n = tensor.numel();
    if tensor.is_contiguous() {
        return (0..n).collect();
    }
    let (shape, strides) = (tensor.shape(), tensor.strides());
    let mut index = vec![0usize; shape.len()];
    let mut offsets = Vec::with_capacity(n);
    for _ in 0..n {
        offsets.push(index.iter().zip(strides).map(|(i, s)| i * s).sum::<usize>());
        for d in (0..shape.len()).rev() {
            index[d] += 1;
            if index[d] < shape[d] {
                break;
            }
            index[d] = 0;
        }
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| offsets[i]);
    order
}

/// Overwrite every element with `values` (row-major), as [`write`] does.
fn write_values(tensor: &Tensor, values: Vec<f32>) -> &Tensor {
    autograd::no_grad(|| tensor.copy_(&Tensor::from_vec(values, tensor.shape())));
    tensor
}

/// The deterministic parts against PyTorch's numbers, from
/// `tests/pytorch/init_more_reference.py` (the public functions' behaviour is
/// tested in `tests/init_more.rs`).
#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn reference() -> Value {
        serde_json::from_str(include_str!("../tests/pytorch/init_more_reference.json"))
            .expect("init_more_reference.json is JSON")
    }

    fn floats(v: &Value) -> Vec<f64> {
        v.as_array()
            .expect("an array")
            .iter()
            .map(|x| x.as_f64().expect("a number"))
            .collect()
    }

    #[test]
    fn erf_is_pythons_to_a_few_ulps() {
        for pair in reference()["erf"].as_array().unwrap() {
            let (x, expected) = (pair[0].as_f64().unwrap(), pair[1].as_f64().unwrap());
            let got = erf(x);
            assert!(
                (got - expected).abs() <= 4.0 * f64::EPSILON * expected.abs().max(1e-300),
                "erf({x}) = {got}, Python: {expected}"
            );
        }
        assert_eq!(erf(0.0), 0.0);
        assert!(erf(f64::NAN).is_nan());
        assert_eq!(erf(f64::INFINITY), 1.0);
    }

    #[test]
    fn orthogonalize_matches_torchs_qr_steps() {
        for case in reference()["orthogonal"].as_array().unwrap() {
            let name = case["name"].as_str().unwrap();
            let rows = case["rows"].as_u64().unwrap() as usize;
            let cols = case["cols"].as_u64().unwrap() as usize;
            let gain = case["gain"].as_f64().unwrap();
            let q = orthogonalize(&floats(&case["input"]), rows, cols);
            let expected = floats(&case["expected"]);
            assert_eq!(q.len(), expected.len(), "{name}");
            for (i, (got, want)) in q.iter().zip(&expected).enumerate() {
                assert!(
                    (gain * got - want).abs() < 1e-13,
                    "{name}: element {i} is {}, torch (float64) {want}",
                    gain * got
                );
            }
            // torch's own float32 orthogonal_ of the same draws, to f32 rounding.
            if let Some(torch32) = case.get("torch_float32") {
                for (got, want) in q.iter().zip(floats(torch32)) {
                    assert!((gain * got - want).abs() < 1e-5, "{name}: {got} vs {want}");
                }
            }
        }
    }

    /// Fed torch's own draws, element by element up to the one torch
    /// accepted, the sampler takes the same branch, accepts at the same draw
    /// and returns torch's value.
    #[test]
    fn trunc_normal_sampler_replays_torchs_draws() {
        for case in reference()["trunc_normal"].as_array().unwrap() {
            let [mean, std, a, b] = ["mean", "std", "a", "b"].map(|k| case[k].as_f64().unwrap());
            let what = format!("trunc_normal({mean}, {std}, {a}, {b})");
            let p = normal_cdf((b - mean) / std) - normal_cdf((a - mean) / std);
            let torch_p = case["p"].as_f64().unwrap();
            assert!(
                (p - torch_p).abs() < 1e-15,
                "{what}: p {p}, torch {torch_p}"
            );
            let sampler = TruncNormal::new(mean, std, a, b);
            let by_uniform = case["branch"].as_str().unwrap() == "uniform";
            assert_eq!(sampler.by_uniform, by_uniform, "{what}");
            let outputs = floats(&case["torch_output"]);
            for (i, draws) in case["draws"].as_array().unwrap().iter().enumerate() {
                // Normal draws, or (candidate, uniform) pairs, in drawing order.
                let mut queue: Vec<f64> = if by_uniform {
                    draws.as_array().unwrap().iter().flat_map(floats).collect()
                } else {
                    floats(draws)
                };
                queue.reverse();
                let got = sampler.sample(&mut |draw| {
                    let value = queue.pop().expect("asked for more draws than torch made") as f32;
                    match draw {
                        Draw::Normal { mean: m, std: s } => {
                            assert!(!by_uniform && m == mean as f32 && s == std as f32)
                        }
                        Draw::Uniform { low, high } => {
                            assert!(by_uniform && (low..=high).contains(&value))
                        }
                    }
                    value
                });
                assert!(queue.is_empty(), "{what}: element {i} accepted early");
                assert_eq!(got, outputs[i] as f32, "{what}: element {i}");
            }
        }
    }
}
