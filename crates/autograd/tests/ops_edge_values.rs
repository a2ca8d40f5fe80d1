//! Edge values of pow, div, a scalar over a tensor and the ops along a dim of a 0-d tensor, as
//! PyTorch 2.15 gives them on the CPU (tests/pytorch/ops_edge_values.py).

mod common;

use autograd::Tensor;
use common::{assert_same, INF, NAN};

fn leaf(v: &[f32]) -> Tensor {
    Tensor::from_slice(v, &[v.len()]).requires_grad_(true)
}

/// Exponents PyTorch computes by sqrt, products and quotients: `(-inf) ** 0.5`
/// is NaN (powf: inf), `(-0.0) ** 0.5` is -0.0, `7 ** -0.5` is `1 / sqrt(7)`,
/// `0.1 ** -2` is `1 / (0.1 * 0.1)`; others by powf.
#[test]
fn pow_takes_pytorchs_special_exponents() {
    let x = Tensor::from_vec(vec![-INF, -0.0, 0.0, 7.0, 0.1, 3.0, INF, NAN], &[8]);
    let cases: [(f32, [f32; 8]); 8] = [
        (
            0.5,
            [NAN, -0.0, 0.0, 2.6457512, 0.31622776, 1.7320508, INF, NAN],
        ),
        (2.0, [INF, 0.0, 0.0, 49.0, 0.010000001, 9.0, INF, NAN]),
        (3.0, [-INF, -0.0, 0.0, 343.0, 0.001, 27.0, INF, NAN]),
        (
            -0.5,
            [NAN, -INF, INF, 0.3779645, 3.1622777, 0.57735026, 0.0, NAN],
        ),
        (
            -1.0,
            [-0.0, -INF, INF, 0.14285715, 10.0, 0.33333334, 0.0, NAN],
        ),
        (
            -2.0,
            [0.0, INF, INF, 0.020408163, 99.99999, 0.11111111, 0.0, NAN],
        ),
        (0.0, [1.0; 8]),
        (
            1.5,
            [INF, 0.0, 0.0, 18.52026, 0.031_622_78, 5.196152, INF, NAN],
        ),
    ];
    for (p, want) in cases {
        assert_same(&format!("x ** {p}"), &x.pow(p).to_vec(), &want);
    }
}

/// The gradient of `x ** 0` is 0 everywhere (x = 0 gave NaN: 0 * 0 ** -1),
/// and the derivative's power takes the same special exponents
/// (`0.5 * (-0.0) ** -0.5` is -inf).
#[test]
fn pow_gradient_is_pytorchs() {
    let cases: [(f32, [f32; 6]); 3] = [
        (0.0, [0.0; 6]),
        (0.5, [INF, -INF, 0.35355338, NAN, NAN, 0.0]),
        (3.0, [0.0, 0.0, 12.0, 3.0, NAN, INF]),
    ];
    for (p, want) in cases {
        let x = leaf(&[0.0, -0.0, 2.0, -1.0, NAN, INF]);
        x.pow(p).backward_with(Tensor::ones(&[6])).unwrap();
        assert_same(&format!("d(x ** {p})"), &x.grad().unwrap().to_vec(), &want);
    }
}

/// The divisor's gradient is `-g * ((a / b) / b)`, as PyTorch orders it:
/// `g * a / (b * b)` was inf for a = 1e-20, b = 1e-25 (b * b underflows).
#[test]
fn div_gradient_of_the_divisor_does_not_overflow() {
    let a = leaf(&[1e-20, 1e20, 3.0]);
    let b = leaf(&[1e-25, 1e25, 7.0]);
    a.div(&b).backward_with(Tensor::ones(&[3])).unwrap();
    assert_same(
        "da",
        &a.grad().unwrap().to_vec(),
        &[1e25, 1e-25, 0.14285715],
    );
    assert_same(
        "db",
        &b.grad().unwrap().to_vec(),
        &[-9.9999994e29, -1.0000001e-30, -0.06122449],
    );
}

/// `3.0 / x` is `x.reciprocal() * 3.0`, as PyTorch's `__rtruediv__`: two
/// roundings, so `3 / 7` and `3 / 13` are a bit off the quotient, and `1 / x`
/// overflows for x = 2e-39 where `3 / x` would not; the gradient goes back
/// through `MulBackward0` and `ReciprocalBackward0` (`-g * (y * y)`).
/// `2.0 - x` is `rsub` (`RsubBackward1`).
#[test]
fn a_scalar_over_a_tensor_is_pytorchs_reciprocal_times_the_scalar() {
    let x = leaf(&[
        7.0, 3.0, 0.1, -1.7, 1e-39, 2e-39, 0.0, -0.0, 1e30, INF, 11.0, 13.0,
    ]);
    let y = 3.0 / &x;
    assert_eq!(y.grad_fn(), Some("MulBackward0"));
    let g = [1.0, -2.0, 0.5, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.25, 3.0];
    y.backward_with(Tensor::from_slice(&g, &[12])).unwrap();
    let bits = |b: &[u32]| b.iter().map(|&b| f32::from_bits(b)).collect::<Vec<_>>();
    #[rustfmt::skip]
    let want = bits(&[
        0x3edb6db8, 0x3f800000, 0x41f00000, 0xbfe1e1e1, 0x7f800000, 0x7f800000,
        0x7f800000, 0xff800000, 0x0e736390, 0x00000000, 0x3e8ba2e9, 0x3e6c4ec6,
    ]);
    assert_same("3 / x", &y.to_vec(), &want);
    #[rustfmt::skip]
    let want = bits(&[
        0xbd7ac689, 0x3f2aaaac, 0xc3160000, 0xbf84df39, 0xff800000, 0xff800000,
        0xff800000, 0xff800000, 0x80000000, 0x80000000, 0xbbcb1b82, 0xbd5a2155,
    ]);
    assert_same("d(3 / x)", &x.grad().unwrap().to_vec(), &want);
    assert_ne!(3.0f32 / 7.0, f32::from_bits(0x3edb6db8), "not the quotient");
    assert_eq!(x.reciprocal().grad_fn(), Some("ReciprocalBackward0"));
    let z = 2.0 - &x;
    assert_eq!(z.grad_fn(), Some("RsubBackward1"));
    assert_same("2 - x", &z.to_vec()[..4], &[-5.0, -1.0, 1.9, 3.7]);
}

/// dim 0 or -1 of a 0-d tensor is a dim of size 1 and the result is 0-d,
/// with keepdim too (these panicked on an internal slice index).
#[test]
fn ops_along_a_dim_of_a_0d_tensor_are_pytorchs() {
    for dim in [0, -1] {
        for keepdim in [false, true] {
            let x = Tensor::scalar(3.0);
            let case = format!("dim {dim}, keepdim {keepdim}");
            let (max, at) = x.max_dim(dim, keepdim);
            for (name, t, want) in [
                ("sum_dim", x.sum_dim(dim, keepdim), 3.0),
                ("mean_dim", x.mean_dim(dim, keepdim), 3.0),
                ("max_dim", max, 3.0),
                ("max_dim's index", at, 0.0),
            ] {
                assert_eq!(t.shape(), &[] as &[usize], "{name}, {case}");
                assert_eq!(t.item(), want, "{name}, {case}");
            }
        }
        let x = Tensor::scalar(3.0).requires_grad_(true);
        let (softmax, log_softmax) = (x.softmax(dim), x.log_softmax(dim));
        let picked = x.gather(dim, &Tensor::scalar(0.0));
        for (name, t, want) in [
            ("softmax", &softmax, 1.0),
            ("log_softmax", &log_softmax, 0.0),
            ("argmax", &x.argmax(dim), 0.0),
            ("gather", &picked, 3.0),
        ] {
            assert_eq!(t.shape(), &[] as &[usize], "{name}, dim {dim}");
            assert_eq!(t.item(), want, "{name}, dim {dim}");
        }
        // squeeze and transpose give the 0-d tensor back (PyTorch 2.15).
        let (squeezed, transposed) = (x.squeeze(dim), x.transpose(0, dim));
        for (name, t) in [("squeeze", &squeezed), ("transpose", &transposed)] {
            assert_eq!(t.shape(), &[] as &[usize], "{name}, dim {dim}");
            assert_eq!(t.item(), 3.0, "{name}, dim {dim}");
        }
        // 2 * 0 + 3 * 0 + 5 + 7 + 11 + 13 + 17 + 19, as PyTorch gives.
        let out = softmax
            .mul_scalar(2.0)
            .add(&log_softmax.mul_scalar(3.0))
            .add(&x.sum_dim(dim, false).mul_scalar(5.0))
            .add(&x.mean_dim(dim, false).mul_scalar(7.0))
            .add(&x.max_dim(dim, false).0.mul_scalar(11.0))
            .add(&picked.mul_scalar(13.0))
            .add(&squeezed.mul_scalar(17.0))
            .add(&transposed.mul_scalar(19.0));
        out.backward().unwrap();
        assert_eq!(x.grad().unwrap().item(), 72.0, "dim {dim}");
    }
}

/// Other dims of a 0-d tensor are out of range, as in PyTorch, with a clear
/// message.
#[test]
#[should_panic(expected = "dimension 1 out of range for a tensor of shape []")]
fn dim_1_of_a_0d_tensor_is_out_of_range() {
    Tensor::scalar(3.0).sum_dim(1, false);
}

#[test]
#[should_panic(expected = "dimension -2 out of range for a tensor of shape []")]
fn dim_minus_2_of_a_0d_tensor_is_out_of_range() {
    Tensor::scalar(3.0).softmax(-2);
}
