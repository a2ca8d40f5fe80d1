//! Seeded random numbers: every random init, shuffle and dropout mask in
//! ferrograd comes from a [`Generator`], so a seed reproduces a run exactly.
//!
//! The generator is PyTorch's CPU generator: the 32-bit Mersenne Twister
//! seeded with the seed's low 32 bits, and uniform and normal values made
//! from its output as PyTorch's CPU kernels make them. So
//! `manual_seed(s)` then `nn::Linear::new(784, 512)` gives the weights that
//! `torch.manual_seed(s)` then `nn.Linear(784, 512)` gives, bit for bit, and
//! `Tensor::rand` those of `torch.rand` (tested against PyTorch's values).
//! Normal values of 16 or more at once follow PyTorch's algorithm, but its
//! vectorized `log`, `cos` and `sin` round differently from the C library's
//! in about one value in six (by 1-3 ulps of a standard normal value, before
//! the mean and standard deviation are applied). [`Generator::permutation`] is
//! `torch.randperm`'s, so `random_split` and the DataLoader's shuffle give
//! PyTorch's orders for the same seed. Dropout masks are torch 2.15's too
//! (tested on an Intel CPU; PyTorch's source also has a path that hands the
//! draws to MKL there, which did not show: docs/decisions.md).

use std::sync::Mutex;

use rand_mt::Mt;

/// The seed of the default generator until [`manual_seed`]: libtorch's
/// `default_rng_seed_val`, so that a run is reproducible by default. (Python's
/// `torch` starts from a random seed instead: `torch.initial_seed()` differs
/// from one process to the next.)
pub const DEFAULT_SEED: u64 = 67280421310721;

/// A seedable pseudo-random generator, `torch.Generator` on the CPU: the
/// same stream of numbers for the same seed.
///
/// ```
/// use autograd::Generator;
/// let (mut a, mut b) = (Generator::new(7), Generator::new(7));
/// assert_eq!(a.uniform(0.0, 1.0), b.uniform(0.0, 1.0));
/// // torch.manual_seed(0); torch.rand(2)
/// let mut g = Generator::new(0);
/// assert_eq!([g.uniform(0.0, 1.0), g.uniform(0.0, 1.0)], [0.49625659, 0.768221796]);
/// ```
#[derive(Clone)]
pub struct Generator {
    mt: Mt,
    /// The second value of the last pair of normal values drawn one at a
    /// time, for the next such draw (PyTorch's `next_double_normal_sample`).
    next_normal: Option<f64>,
}

impl std::fmt::Debug for Generator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Generator").finish_non_exhaustive()
    }
}

impl Generator {
    /// A generator seeded with `seed` (`torch.Generator().manual_seed(seed)`):
    /// a Mersenne Twister seeded with the low 32 bits, as PyTorch's.
    pub fn new(seed: u64) -> Generator {
        Generator {
            mt: Mt::new(seed as u32),
            next_normal: None,
        }
    }

    /// 32 uniformly random bits: the Mersenne Twister's next output.
    pub fn next_u32(&mut self) -> u32 {
        self.mt.next_u32()
    }

    /// 64 uniformly random bits, two outputs, the first in the high half
    /// (PyTorch's `random64`); say to seed another generator.
    pub fn next_u64(&mut self) -> u64 {
        self.mt.next_u64()
    }

    /// Uniform in `[low, high)`, as `torch.Tensor.uniform_` makes a float:
    /// 24 bits of one output on a 2^-24 grid, scaled in `f64`, rounded once.
    pub fn uniform(&mut self, low: f32, high: f32) -> f32 {
        let unit = (self.next_u32() & 0xff_ffff) as f64 / (1u32 << 24) as f64;
        (unit * (high - low) as f64 + low as f64) as f32
    }

    /// Normal with the given mean and standard deviation, drawn one at a time
    /// as PyTorch draws each value of a tensor of fewer than 16 (its
    /// `normal_distribution<double>`): Box–Muller in `f64` from two 53-bit
    /// uniforms, the pair's second value kept for the next call.
    pub fn normal(&mut self, mean: f32, std: f32) -> f32 {
        self.normal_f64(mean as f64, std as f64) as f32
    }

    /// Uniform in `[0, 1)` on a 2^-53 grid, from 53 bits of
    /// [`next_u64`](Self::next_u64) (PyTorch's `uniform_real_distribution<double>`).
    fn unit_f64(&mut self) -> f64 {
        (self.next_u64() & ((1 << 53) - 1)) as f64 / (1u64 << 53) as f64
    }

    /// True with probability `p`: a uniform `f64` below `p` (PyTorch's
    /// `bernoulli_distribution<double>`, the kernel of `bernoulli_(p)`).
    pub fn bernoulli(&mut self, p: f64) -> bool {
        self.unit_f64() < p
    }

    fn normal_f64(&mut self, mean: f64, std: f64) -> f64 {
        let z = match self.next_normal.take() {
            Some(z) => z,
            None => {
                let (u1, u2) = (self.unit_f64(), self.unit_f64());
                let r = (-2.0 * (-u2).ln_1p()).sqrt();
                let theta = std::f64::consts::TAU * u1;
                self.next_normal = Some(r * theta.sin());
                r * theta.cos()
            }
        };
        z * std + mean
    }

    /// Fills `out` with normal values as `torch.Tensor.normal_` fills a
    /// contiguous float tensor: with 16 or more, every value first drawn
    /// uniform, then Box–Muller in `f32` on each block of 16 (the first 8
    /// against the last 8), a ragged end redrawn as a last block of 16;
    /// with fewer, [`normal`](Self::normal)'s draws one at a time.
    pub fn fill_normal(&mut self, out: &mut [f32], mean: f64, std: f64) {
        let n = out.len();
        if n < 16 {
            out.iter_mut()
                .for_each(|v| *v = self.normal_f64(mean, std) as f32);
            return;
        }
        let (mean, std) = (mean as f32, std as f32);
        out.iter_mut().for_each(|v| *v = self.uniform(0.0, 1.0));
        out.chunks_exact_mut(16)
            .for_each(|block| box_muller_16(block, mean, std));
        if !n.is_multiple_of(16) {
            let last = &mut out[n - 16..];
            last.iter_mut().for_each(|v| *v = self.uniform(0.0, 1.0));
            box_muller_16(last, mean, std);
        }
    }

    /// Uniform integer in `[0, n)`, without modulo bias.
    pub fn below(&mut self, n: u64) -> u64 {
        assert!(n > 0, "Generator::below(0)");
        let zone = u64::MAX - u64::MAX % n;
        loop {
            let x = self.next_u64();
            if x < zone {
                return x % n;
            }
        }
    }

    /// A uniformly random permutation of `0..n`, as `torch.randperm(n,
    /// generator=g)` makes it: Fisher–Yates from the front, swapping `i` with
    /// `i + next_u32() % (n - i)`. (PyTorch switches to another algorithm
    /// from `u32::MAX / 20` values, about 214 million; there we keep the same
    /// walk with unbiased 64-bit draws.)
    ///
    /// ```
    /// use autograd::Generator;
    /// // torch.randperm(10, generator=torch.Generator().manual_seed(42))
    /// assert_eq!(Generator::new(42).permutation(10), [2, 6, 1, 8, 4, 5, 0, 9, 3, 7]);
    /// ```
    pub fn permutation(&mut self, n: usize) -> Vec<usize> {
        let mut p: Vec<usize> = (0..n).collect();
        let small = n < (u32::MAX / 20) as usize;
        for i in 0..n.saturating_sub(1) {
            let left = (n - i) as u64;
            let z = if small {
                self.next_u32() as u64 % left
            } else {
                self.below(left)
            };
            p.swap(i, i + z as usize);
        }
        p
    }
}

/// PyTorch's `normal_fill_16_AVX2`: 16 uniforms in `[0, 1)` become 16
/// normals, value `j` and `j + 8` from one Box–Muller pair, in `f32`.
fn box_muller_16(block: &mut [f32], mean: f32, std: f32) {
    for j in 0..8 {
        let u1 = 1.0 - block[j]; // (0, 1], for the log
        let u2 = block[j + 8];
        let radius = (-2.0 * u1.ln()).sqrt();
        let theta = std::f32::consts::TAU * u2;
        // One rounding for `* std + mean`, as PyTorch's AVX2 loop's fmadd.
        block[j] = (radius * theta.cos()).mul_add(std, mean);
        block[j + 8] = (radius * theta.sin()).mul_add(std, mean);
    }
}

static DEFAULT: Mutex<Option<Generator>> = Mutex::new(None);

/// Reseed the default generator (`torch.manual_seed`).
pub fn manual_seed(seed: u64) {
    *DEFAULT.lock().expect("default generator lock poisoned") = Some(Generator::new(seed));
}

/// Run `f` with the default generator, seeded with [`DEFAULT_SEED`] until
/// [`manual_seed`] is called.
pub fn with_default<R>(f: impl FnOnce(&mut Generator) -> R) -> R {
    let mut guard = DEFAULT.lock().expect("default generator lock poisoned");
    f(guard.get_or_insert_with(|| Generator::new(DEFAULT_SEED)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_and_normal_have_the_right_moments() {
        let mut g = Generator::new(1);
        let n = 200_000;
        let u: Vec<f64> = (0..n).map(|_| g.uniform(-1.0, 3.0) as f64).collect();
        let mean = u.iter().sum::<f64>() / n as f64;
        assert!((mean - 1.0).abs() < 0.02, "uniform mean {mean}");
        assert!(u.iter().all(|&x| (-1.0..3.0).contains(&x)));
        let z: Vec<f64> = (0..n).map(|_| g.normal(2.0, 0.5) as f64).collect();
        let m = z.iter().sum::<f64>() / n as f64;
        let var = z.iter().map(|x| (x - m).powi(2)).sum::<f64>() / n as f64;
        assert!(
            (m - 2.0).abs() < 0.01 && (var.sqrt() - 0.5).abs() < 0.01,
            "normal {m} {var}"
        );
    }

    #[test]
    fn permutation_is_a_permutation() {
        let mut p = Generator::new(3).permutation(1000);
        assert_ne!(p, (0..1000).collect::<Vec<_>>());
        p.sort();
        assert_eq!(p, (0..1000).collect::<Vec<_>>());
    }
}
