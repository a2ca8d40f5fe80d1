//! The differentiable ops, one module per family. Each op computes its
//! forward values and records its backward rule right beside them.

mod elementwise;
mod index;
mod matmul;
pub(crate) mod reduce;
mod shape;
mod softmax;
