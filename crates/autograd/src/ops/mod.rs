//! The differentiable ops, one module per family. Each op computes its
//! forward values and records its backward rule right beside them. The
//! in-place ops (`inplace`) write values and record nothing.

mod elementwise;
mod index;
mod inplace;
mod matmul;
mod operators;
pub(crate) mod reduce;
mod shape;
mod softmax;
