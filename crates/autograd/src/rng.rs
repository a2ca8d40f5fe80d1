//! Seeded random numbers: every random init, shuffle and dropout mask in
//! ferrograd comes from a [`Generator`], so a seed reproduces a run exactly.

use std::sync::Mutex;

use rand_core::{Rng, SeedableRng};
use rand_pcg::Pcg64Mcg;

/// PyTorch's default seed for its CPU generator.
pub const DEFAULT_SEED: u64 = 67280421310721;

/// A seedable pseudo-random generator (PCG-64), like `torch.Generator`.
///
/// ```
/// use autograd::Generator;
/// let (mut a, mut b) = (Generator::new(7), Generator::new(7));
/// assert_eq!(a.uniform(0.0, 1.0), b.uniform(0.0, 1.0));
/// ```
#[derive(Clone, Debug)]
pub struct Generator {
    rng: Pcg64Mcg,
}

impl Generator {
    /// A generator seeded with `seed` (`torch.Generator().manual_seed(seed)`):
    /// equal seeds give equal streams, though not PyTorch's numbers.
    pub fn new(seed: u64) -> Generator {
        Generator {
            rng: Pcg64Mcg::seed_from_u64(seed),
        }
    }

    /// 64 uniformly random bits, say to seed another generator.
    pub fn next_u64(&mut self) -> u64 {
        self.rng.next_u64()
    }

    /// Uniform in `[low, high)`.
    pub fn uniform(&mut self, low: f32, high: f32) -> f32 {
        // 24 random bits give every float in [0, 1) on a 2^-24 grid.
        let unit = (self.rng.next_u32() >> 8) as f32 * (1.0 / (1u32 << 24) as f32);
        low + (high - low) * unit
    }

    /// Normal with the given mean and standard deviation (Box–Muller, in f64).
    pub fn normal(&mut self, mean: f32, std: f32) -> f32 {
        let u1 = ((self.rng.next_u64() >> 11) as f64 + 1.0) * (1.0 / (1u64 << 53) as f64);
        let u2 = (self.rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64);
        let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
        mean + std * z as f32
    }

    /// Uniform integer in `[0, n)`, without modulo bias.
    pub fn below(&mut self, n: u64) -> u64 {
        assert!(n > 0, "Generator::below(0)");
        let zone = u64::MAX - u64::MAX % n;
        loop {
            let x = self.rng.next_u64();
            if x < zone {
                return x % n;
            }
        }
    }

    /// A uniformly random permutation of `0..n` (`torch.randperm`).
    pub fn permutation(&mut self, n: usize) -> Vec<usize> {
        let mut p: Vec<usize> = (0..n).collect();
        // Fisher–Yates.
        for i in (1..n).rev() {
            let j = self.below(i as u64 + 1) as usize;
            p.swap(i, j);
        }
        p
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
