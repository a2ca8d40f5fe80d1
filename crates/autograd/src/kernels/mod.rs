//! Numeric kernels, one module per family. Unsafe code lives only here.

pub mod alloc;
pub mod fma;
pub mod gemm;
pub mod parallel;
pub(crate) mod pool;
pub mod trace;
