//! `+ - * /` and unary `-` on tensors, as in PyTorch (`a * b`, `x + 1.0`):
//! shorthand for `add`, `sub`, `mul`, `div` (broadcasting), their `_scalar`
//! forms and `neg`, recorded on the tape like them. Operands may be tensors,
//! references to them, or an `f32` on either side.
//!
//! ```
//! use autograd::Tensor;
//! let a = Tensor::from_vec(vec![1.0, 2.0], &[2]);
//! let b = Tensor::from_vec(vec![3.0, 4.0], &[2]);
//! assert_eq!((&a * &b + 1.0).to_vec(), vec![4.0, 9.0]);
//! assert_eq!((1.0 - 2.0 * &a).to_vec(), vec![-1.0, -3.0]);
//! assert_eq!((-(a / 2.0)).to_vec(), vec![-0.5, -1.0]);
//! ```

use std::ops::{Add, Div, Mul, Neg, Sub};

use crate::Tensor;

macro_rules! binary {
    ($trait:ident, $method:ident, $op:ident, $scalar_op:ident) => {
        impl $trait<&Tensor> for &Tensor {
            type Output = Tensor;
            fn $method(self, rhs: &Tensor) -> Tensor {
                self.$op(rhs)
            }
        }
        impl $trait<Tensor> for &Tensor {
            type Output = Tensor;
            fn $method(self, rhs: Tensor) -> Tensor {
                self.$op(&rhs)
            }
        }
        impl $trait<&Tensor> for Tensor {
            type Output = Tensor;
            fn $method(self, rhs: &Tensor) -> Tensor {
                (&self).$op(rhs)
            }
        }
        impl $trait<Tensor> for Tensor {
            type Output = Tensor;
            fn $method(self, rhs: Tensor) -> Tensor {
                (&self).$op(&rhs)
            }
        }
        impl $trait<f32> for &Tensor {
            type Output = Tensor;
            fn $method(self, rhs: f32) -> Tensor {
                self.$scalar_op(rhs)
            }
        }
        impl $trait<f32> for Tensor {
            type Output = Tensor;
            fn $method(self, rhs: f32) -> Tensor {
                (&self).$scalar_op(rhs)
            }
        }
    };
}

/// `scalar op tensor`, as PyTorch's `__radd__`, `__rsub__`, `__rmul__` and
/// `__rtruediv__` compute it: `s + x`, `s - x` (`rsub`), `x * s`, and
/// `x.reciprocal() * s`.
macro_rules! scalar_left {
    ($trait:ident, $method:ident, |$s:ident, $x:ident| $body:expr) => {
        impl $trait<&Tensor> for f32 {
            type Output = Tensor;
            fn $method(self, rhs: &Tensor) -> Tensor {
                let ($s, $x) = (self, rhs);
                $body
            }
        }
        impl $trait<Tensor> for f32 {
            type Output = Tensor;
            fn $method(self, rhs: Tensor) -> Tensor {
                let ($s, $x) = (self, &rhs);
                $body
            }
        }
    };
}

scalar_left!(Add, add, |s, x| x.add_scalar(s));
scalar_left!(Sub, sub, |s, x| x.rsub_scalar(s));
scalar_left!(Mul, mul, |s, x| x.mul_scalar(s));
scalar_left!(Div, div, |s, x| x.reciprocal().mul_scalar(s));

binary!(Add, add, add, add_scalar);
binary!(Sub, sub, sub, sub_scalar);
binary!(Mul, mul, mul, mul_scalar);
binary!(Div, div, div, div_scalar);

impl Neg for &Tensor {
    type Output = Tensor;
    fn neg(self) -> Tensor {
        Tensor::neg(self)
    }
}

impl Neg for Tensor {
    type Output = Tensor;
    fn neg(self) -> Tensor {
        Tensor::neg(&self)
    }
}
