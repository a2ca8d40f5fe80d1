//! Fused multiply-adds at the speed of the hardware instruction.
//!
//! PyTorch's CPU kernels round some element-wise updates once, not twice:
//! `param.add_(grad, alpha=-lr)` is `fma(-lr, grad, param)` in its AVX2 and
//! AVX-512 kernels, and so are `lerp` and `addcmul`. `f32::mul_add` computes
//! the same value on every CPU, but in a build for generic x86-64 (ours:
//! docs/decisions.md, "Build") it is a call into libm per element. [`with_fma`]
//! runs code compiled with the FMA instructions where the CPU has them.
//!
//! ```
//! use autograd::kernels::fma::{with_fma, FmaBody};
//!
//! /// `p = p - lr * g`, rounded once.
//! struct Step<'a> {
//!     p: &'a mut [f32],
//!     g: &'a [f32],
//!     lr: f32,
//! }
//!
//! impl FmaBody for Step<'_> {
//!     type Output = ();
//!     #[inline(always)]
//!     fn run(self) {
//!         for (p, &g) in self.p.iter_mut().zip(self.g) {
//!             *p = (-self.lr).mul_add(g, *p);
//!         }
//!     }
//! }
//!
//! let mut p = vec![1.0f32; 3];
//! with_fma(Step { p: &mut p, g: &[0.5, 0.25, 2.0], lr: 0.1 });
//! assert_eq!(p, [0.95, 0.975, 0.8]);
//! ```

/// Element-wise code for [`with_fma`]. Its `run` must be `#[inline(always)]`,
/// and so must every function it calls that has a `mul_add` in it: only code
/// inlined into `with_fma`'s FMA-enabled function is compiled with the
/// instruction. (Not a closure: a closure cannot be marked `inline(always)`
/// on stable Rust, and LLVM left a large one out of line, which made the SGD
/// update 9x slower through libm's `fmaf`.)
pub trait FmaBody {
    /// What `run` returns.
    type Output;
    /// The code.
    fn run(self) -> Self::Output;
}

/// Runs `body`, compiled with AVX2 and FMA enabled when the CPU has both, so
/// that each `f32::mul_add` in it is one instruction; elsewhere as it is, with
/// the same results (libm's `fmaf` rounds once too, only slower).
#[inline]
pub fn with_fma<B: FmaBody>(body: B) -> B::Output {
    #[cfg(target_arch = "x86_64")]
    if available() {
        // SAFETY: the CPU has AVX2 and FMA (`available`).
        return unsafe { with_avx2_fma(body) };
    }
    body.run()
}

/// Whether [`with_fma`] runs its body with the FMA instructions: where it
/// does not, `mul_add` is a library call, and code that only needs to be
/// fast can take another way.
#[inline]
pub fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// `body.run()`, with AVX2 and FMA instructions allowed in it.
///
/// # Safety
/// The CPU must have AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn with_avx2_fma<B: FmaBody>(body: B) -> B::Output {
    body.run()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 1 + 2^-12 squared is 1 + 2^-11 + 2^-24: rounded to f32 first (ties to
    /// even) the last term is lost, so `a * a - (1 + 2^-11)` is 0 with two
    /// roundings and 2^-24 with one.
    #[test]
    fn rounds_once() {
        let a = 1.0 + 2f32.powi(-12);
        let c = -(1.0 + 2f32.powi(-11));
        struct Fused(f32, f32);
        impl FmaBody for Fused {
            type Output = f32;
            #[inline(always)]
            fn run(self) -> f32 {
                self.0.mul_add(self.0, self.1)
            }
        }
        let fused = with_fma(Fused(std::hint::black_box(a), c));
        assert_eq!(fused, 2f32.powi(-24));
        assert_eq!(std::hint::black_box(a) * a + c, 0.0);
    }
}
