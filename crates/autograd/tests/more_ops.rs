//! arange, rand_like/randn_like, abs, clamp and whole-tensor max/min against
//! PyTorch 2.15 (CPU, float32): the numbers below are what
//! tests/pytorch/more_ops.py prints.

mod common;

use autograd::{manual_seed, Tensor};
use common::{assert_same, INF, NAN};

/// FNV-1a (64-bit) over the values' f32 bits, little-endian bytes (as more_ops.py).
fn fnv1a(values: &[f32]) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for b in values.iter().flat_map(|v| v.to_bits().to_le_bytes()) {
        h = (h ^ b as u64).wrapping_mul(0x0100_0000_01b3);
    }
    h
}

// ---------------------------------------------------------------- arange

/// Lengths `ceil((end - start) / step)` and values bit for bit, with f64
/// bounds as Python's floats: `arange(0, 0.3, 0.1)` has 3 values,
/// `arange(-1, 1, 0.2)` has 5.551115e-17 (not 0) in the middle, and
/// `arange(-0.0, -20, -1)` starts with -0.0. Past 16 values PyTorch's kernel
/// rounds in vectors of 8 (`10 -> -10 by -0.3`, `0.1 -> 3.3 by 0.05`), and
/// its fused multiply-adds keep 5.551115e-17 and -2.220446e-16 (indices 5 and
/// 24 of the last two) from rounding to 0.
#[test]
fn arange_has_pytorchs_lengths_and_values() {
    #[rustfmt::skip]
    let cases: [(f64, f64, f64, &[f32]); 15] = [
        (0.0, 1.0, 0.1, &[0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]),
        (0.0, 0.3, 0.1, &[0.0, 0.1, 0.2]),
        (-1.0, 1.0, 0.2, &[-1.0, -0.8, -0.6, -0.4, -0.2, 5.551115e-17, 0.2, 0.4, 0.6, 0.8]),
        (5.0, 0.0, -1.5, &[5.0, 3.5, 2.0, 0.5]),
        (0.0, 10.0, 3.0, &[0.0, 3.0, 6.0, 9.0]),
        (1.0, 2.5, 0.5, &[1.0, 1.5, 2.0]),
        (0.0, 5.0, 0.7, &[0.0, 0.7, 1.4, 2.1, 2.8, 3.5, 4.2, 4.9]),
        (10.0, -10.0, -0.3, &[10.0, 9.7, 9.4, 9.1, 8.8, 8.5, 8.2, 7.9, 7.6, 7.2999997, 7.0, 6.7, 6.4, 6.1, 5.7999997, 5.5, 5.2, 4.8999996, 4.6, 4.2999997, 3.9999998, 3.6999998, 3.3999999, 3.1, 2.8, 2.5, 2.2, 1.9, 1.5999999, 1.3, 0.99999994, 0.6999999, 0.4, 0.10000001, -0.19999999, -0.5, -0.8, -1.1, -1.4, -1.7, -2.0, -2.3, -2.6, -2.9, -3.2, -3.5, -3.8, -4.1, -4.4, -4.7000003, -5.0, -5.3, -5.6, -5.9, -6.2000003, -6.5, -6.8, -7.1000004, -7.4, -7.7000003, -8.0, -8.3, -8.6, -8.900001, -9.2, -9.5, -9.8]),
        (0.1, 3.3, 0.05, &[0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 1.0, 1.05, 1.1, 1.15, 1.1999999, 1.25, 1.3, 1.3499999, 1.4, 1.4499999, 1.5, 1.55, 1.5999999, 1.65, 1.7, 1.75, 1.8000001, 1.85, 1.9000001, 1.95, 2.0, 2.05, 2.1, 2.1499999, 2.1999998, 2.25, 2.3, 2.35, 2.3999999, 2.4499998, 2.5, 2.55, 2.6, 2.65, 2.7, 2.75, 2.8, 2.85, 2.9, 2.95, 3.0, 3.0500002, 3.1000001, 3.15, 3.2, 3.25]),
        (-0.0, -20.0, -1.0, &[-0.0, -1.0, -2.0, -3.0, -4.0, -5.0, -6.0, -7.0, -8.0, -9.0, -10.0, -11.0, -12.0, -13.0, -14.0, -15.0, -16.0, -17.0, -18.0, -19.0]),
        (2.0, 2.5, 1.0, &[2.0]),
        (0.0, 0.0, 1.0, &[]),
        (3.0, 3.0, -1.0, &[]),
        (-1.0, 3.0, 0.2, &[-1.0, -0.8, -0.6, -0.4, -0.2, 5.551115e-17, 0.2, 0.4, 0.6, 0.8, 1.0, 1.2, 1.4, 1.6, 1.8000001, 2.0, 2.2, 2.4, 2.6, 2.8]),
        (-2.4000000000000004, 1.6, 0.1, &[-2.4, -2.3000002, -2.2, -2.1000001, -2.0, -1.9000001, -1.8000001, -1.7, -1.6, -1.5, -1.4, -1.3000001, -1.2, -1.1, -1.0, -0.90000004, -0.8, -0.7, -0.6, -0.5, -0.4, -0.3, -0.20000002, -0.10000001, -2.220446e-16, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3, 1.4, 1.5]),
    ];
    for (start, end, step, want) in cases {
        let t = Tensor::arange(start, end, step);
        assert_eq!(t.shape(), &[want.len()], "arange({start}, {end}, {step})");
        assert_same(
            &format!("arange({start}, {end}, {step})"),
            &t.to_vec(),
            want,
        );
    }
}

/// f32 bounds are taken as they are, widened exactly, as torch.arange given
/// those values: 0.3f32 / 0.1f32 is just above 3, so 4 values.
#[test]
fn arange_with_f32_bounds_is_pytorchs_with_the_same_values() {
    #[rustfmt::skip]
    let cases: [(f32, f32, f32, &[f32]); 3] = [
        (0.0, 0.3, 0.1, &[0.0, 0.1, 0.2, 0.3]),
        (0.0, 1.0, 0.1, &[0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.90000004]),
        (-1.0, 1.0, 0.2, &[-1.0, -0.8, -0.6, -0.39999998, -0.19999999, 1.4901161e-08, 0.20000002, 0.40000004, 0.6, 0.8]),
    ];
    for (start, end, step, want) in cases {
        let t = Tensor::arange(start, end, step);
        assert_same(
            &format!("arange({start}f32, {end}f32, {step}f32)"),
            &t.to_vec(),
            want,
        );
    }
    // Integers widen too.
    assert_same(
        "arange(0, 5, 2)",
        &Tensor::arange(0, 5, 2).to_vec(),
        &[0.0, 2.0, 4.0],
    );
}

/// Long ranges, every value through a hash of its bits. The second is longer
/// than 32768 values, where PyTorch's values depend on its thread count: these
/// are its values with one thread (more_ops.py sets it).
#[test]
fn long_aranges_are_pytorchs_bit_for_bit() {
    #[rustfmt::skip]
    let cases: [(f64, f64, f64, usize, u64, [f32; 4]); 3] = [
        (-3.7, 500.0, 0.0173, 29116, 0x74747367cea1021c, [-3.7, 13.6, 209.8685, 499.9895]),
        (0.1234, 1000.0, 0.0301, 33219, 0x07ced7d61a66f1aa, [0.1234, 30.2234, 371.7079, 999.9852]),
        (250.0, -1.0, -0.0077, 32598, 0x14ca66603c1cc588, [250.0, 242.3, 154.9435, -0.9969]),
    ];
    for (start, end, step, len, hash, samples) in cases {
        let v = Tensor::arange(start, end, step).to_vec();
        let case = format!("arange({start}, {end}, {step})");
        assert_eq!(v.len(), len, "{case}");
        assert_same(&case, &[v[0], v[1000], v[12345], v[len - 1]], &samples);
        assert_eq!(fnv1a(&v), hash, "{case}: some value differs from PyTorch's");
    }
}

#[test]
#[should_panic(expected = "arange: step must be nonzero")]
fn arange_step_zero_panics() {
    Tensor::arange(0.0, 1.0, 0.0);
}

#[test]
#[should_panic(expected = "arange: step must be nonzero")]
fn arange_step_minus_zero_panics() {
    Tensor::arange(0.0, 1.0, -0.0);
}

#[test]
#[should_panic(expected = "arange: step must be finite but got NaN")]
fn arange_step_nan_panics() {
    Tensor::arange(0.0, 1.0, f64::NAN);
}

#[test]
#[should_panic(expected = "arange: step must be finite but got inf")]
fn arange_step_inf_panics() {
    Tensor::arange(0.0, 1.0, f64::INFINITY);
}

#[test]
#[should_panic(expected = "arange: unsupported range: 0 -> inf")]
fn arange_to_infinity_panics() {
    Tensor::arange(0.0, f64::INFINITY, 1.0);
}

#[test]
#[should_panic(expected = "arange: unsupported range: NaN -> 1")]
fn arange_from_nan_panics() {
    Tensor::arange(f64::NAN, 1.0, 1.0);
}

#[test]
#[should_panic(expected = "arange: upper bound and lower bound inconsistent with step sign")]
fn arange_negative_step_upwards_panics() {
    Tensor::arange(0.0, 1.0, -1.0);
}

#[test]
#[should_panic(expected = "arange: upper bound and lower bound inconsistent with step sign")]
fn arange_positive_step_downwards_panics() {
    Tensor::arange(1.0, 0.0, 1.0);
}

// ---------------------------------------------------------------- rand_like

/// The shape of the argument, the values of rand/randn from the default
/// generator (the only test of this binary that draws from it).
#[test]
fn rand_like_and_randn_like_draw_from_the_default_generator() {
    let x = Tensor::zeros(&[3, 2]).t();
    manual_seed(5);
    let (u, n) = (Tensor::rand_like(&x), Tensor::randn_like(&x));
    manual_seed(5);
    let (u2, n2) = (Tensor::rand(&[2, 3]), Tensor::randn(&[2, 3]));
    assert_eq!((u.shape(), n.shape()), (&[2, 3][..], &[2, 3][..]));
    assert_eq!((u.to_vec(), n.to_vec()), (u2.to_vec(), n2.to_vec()));
    assert!(u.to_vec().iter().all(|v| (0.0..1.0).contains(v)));
    assert!(!u.requires_grad() && !n.requires_grad());
}

// ---------------------------------------------------------------- abs

/// `|-0.0|` is 0.0; the gradient is `g * sign(x)`: 0 at ±0 and NaN, so an
/// infinite `g` at 0 gives NaN, as in PyTorch.
#[test]
fn abs_values_and_gradient_are_pytorchs() {
    #[rustfmt::skip]
    let (x, g, values, grad): ([f32; 8], [f32; 8], [f32; 8], [f32; 8]) = (
        [-2.0, -0.0, 0.0, 3.0, NAN, -INF, INF, -1e-45], // x
        [1.0, INF, 2.0, -1.5, 1.0, 3.0, 4.0, NAN], // g
        [2.0, 0.0, 0.0, 3.0, NAN, INF, INF, 1e-45], // values
        [-1.0, NAN, 0.0, -1.5, 0.0, -3.0, 4.0, NAN], // grad
    );
    let x = Tensor::from_slice(&x, &[8]).requires_grad_(true);
    let y = x.abs();
    assert_same("abs", &y.to_vec(), &values);
    y.backward_with(Tensor::from_slice(&g, &[8])).unwrap();
    assert_same("abs grad", &x.grad().unwrap().to_vec(), &grad);
    assert_eq!(y.grad_fn(), Some("AbsBackward0"));
}

// ---------------------------------------------------------------- clamp

/// Values at the bounds, ±0 against zero bounds, ±inf, NaN in `x` and in a
/// bound, `min > max` (all `max`). PyTorch 2.15's gradient is 0 at a value
/// equal to a bound (strictly inside passes `g`), and 0 for NaN.
#[test]
fn clamp_values_and_gradient_are_pytorchs() {
    #[rustfmt::skip]
    let (x, g): ([f32; 11], [f32; 11]) = (
        [-INF, -2.0, -1.0, -0.5, -0.0, 0.0, 0.5, 1.0, 2.0, INF, NAN], // x
        [0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0, 5.5], // g
    );
    type Case = (Option<f32>, Option<f32>, [f32; 11], [f32; 11]);
    #[rustfmt::skip]
    let cases: [Case; 13] = [
        (Some(-1.0), Some(1.0), [-1.0, -1.0, -1.0, -0.5, -0.0, 0.0, 0.5, 1.0, 1.0, 1.0, NAN], [0.0, 0.0, 0.0, 2.0, 2.5, 3.0, 3.5, 0.0, 0.0, 0.0, 0.0]),
        (Some(1.0), Some(-1.0), [-1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, NAN], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]),
        (None, Some(0.5), [-INF, -2.0, -1.0, -0.5, -0.0, 0.0, 0.5, 0.5, 0.5, 0.5, NAN], [0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 0.0, 0.0, 0.0, 0.0, 0.0]),
        (Some(0.5), None, [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 1.0, 2.0, INF, NAN], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 4.0, 4.5, 5.0, 0.0]),
        (Some(0.0), Some(0.0), [0.0, 0.0, 0.0, 0.0, -0.0, 0.0, 0.0, 0.0, 0.0, 0.0, NAN], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]),
        (Some(-0.0), Some(-0.0), [-0.0, -0.0, -0.0, -0.0, -0.0, 0.0, -0.0, -0.0, -0.0, -0.0, NAN], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]),
        (Some(-1.0), Some(-1.0), [-1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, NAN], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]),
        (Some(NAN), Some(1.0), [NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]),
        (Some(0.0), Some(NAN), [NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]),
        (None, Some(NAN), [NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]),
        (Some(-INF), Some(INF), [-INF, -2.0, -1.0, -0.5, -0.0, 0.0, 0.5, 1.0, 2.0, INF, NAN], [0.0, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 0.0, 0.0]),
        (None, Some(-0.0), [-INF, -2.0, -1.0, -0.5, -0.0, 0.0, -0.0, -0.0, -0.0, -0.0, NAN], [0.5, 1.0, 1.5, 2.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]),
        (Some(0.0), None, [0.0, 0.0, 0.0, 0.0, -0.0, 0.0, 0.5, 1.0, 2.0, INF, NAN], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 3.5, 4.0, 4.5, 5.0, 0.0]),
    ];
    for (min, max, values, grad) in cases {
        let run = |name: String, op: &dyn Fn(&Tensor) -> Tensor| {
            let x = Tensor::from_slice(&x, &[11]).requires_grad_(true);
            let y = op(&x);
            assert_same(&name, &y.to_vec(), &values);
            y.backward_with(Tensor::from_slice(&g, &[11])).unwrap();
            assert_same(&format!("{name} grad"), &x.grad().unwrap().to_vec(), &grad);
        };
        run(format!("clamp({min:?}, {max:?})"), &|x| x.clamp(min, max));
        match (min, max) {
            (Some(m), None) => run(format!("clamp_min({m})"), &|x| x.clamp_min(m)),
            (None, Some(m)) => run(format!("clamp_max({m})"), &|x| x.clamp_max(m)),
            _ => {}
        }
    }
}

#[test]
#[should_panic(expected = "clamp: at least one of 'min' or 'max' must not be None")]
fn clamp_without_bounds_panics() {
    Tensor::zeros(&[2]).clamp(None, None);
}

// ---------------------------------------------------------------- max, min

/// `x.max()` and `x.min()` are the 0-d reductions (not `Ord::max`). Ties
/// share the gradient evenly (1/3 each), NaN wins and the NaNs share it, ±inf
/// ties, a 0-d input, ±0 ties (the later zero's sign, as PyTorch for fewer
/// than 8 elements), an upstream gradient other than 1.
#[test]
fn max_and_min_values_and_gradient_are_pytorchs() {
    type Case<'a> = (&'a [f32], &'a [usize], f32, f32, &'a [f32], f32, &'a [f32]);
    #[rustfmt::skip]
    let cases: [Case; 14] = [
        (&[1.0, 3.0, 3.0], &[3], 1.0, 3.0, &[0.0, 0.5, 0.5], 1.0, &[1.0, 0.0, 0.0]),
        (&[1.0, 1.0, 3.0, 1.0], &[4], 1.0, 3.0, &[0.0, 0.0, 1.0, 0.0], 1.0, &[0.33333334, 0.33333334, 0.0, 0.33333334]),
        (&[1.0, NAN, 3.0, NAN], &[4], 1.0, NAN, &[0.0, 0.5, 0.0, 0.5], NAN, &[0.0, 0.5, 0.0, 0.5]),
        (&[2.0, -1.0, 5.0, 5.0, 0.0, 5.0], &[2, 3], 1.0, 5.0, &[0.0, 0.0, 0.33333334, 0.33333334, 0.0, 0.33333334], -1.0, &[0.0, 1.0, 0.0, 0.0, 0.0, 0.0]),
        (&[2.0, -1.0, 5.0, 5.0, -1.0, 5.0], &[2, 3], -2.0, 5.0, &[0.0, 0.0, -0.6666667, -0.6666667, 0.0, -0.6666667], -1.0, &[0.0, -1.0, 0.0, 0.0, -1.0, 0.0]),
        (&[5.0], &[], 3.0, 5.0, &[3.0], 5.0, &[3.0]),
        (&[INF, INF, 1.0], &[3], 1.0, INF, &[0.5, 0.5, 0.0], 1.0, &[0.0, 0.0, 1.0]),
        (&[-INF, 2.0, -INF, -INF], &[4], 1.0, 2.0, &[0.0, 1.0, 0.0, 0.0], -INF, &[0.33333334, 0.0, 0.33333334, 0.33333334]),
        (&[-0.0, 0.0], &[2], 1.0, 0.0, &[0.5, 0.5], 0.0, &[0.5, 0.5]),
        (&[0.0, -0.0], &[2], 1.0, -0.0, &[0.5, 0.5], -0.0, &[0.5, 0.5]),
        (&[-0.0, 0.0, -0.0], &[3], 3.0, -0.0, &[1.0, 1.0, 1.0], -0.0, &[1.0, 1.0, 1.0]),
        (&[0.0, -0.0, 0.0, -0.0, 0.0, -0.0, 0.0], &[7], 1.0, 0.0, &[0.14285715, 0.14285715, 0.14285715, 0.14285715, 0.14285715, 0.14285715, 0.14285715], 0.0, &[0.14285715, 0.14285715, 0.14285715, 0.14285715, 0.14285715, 0.14285715, 0.14285715]),
        (&[0.0, 2.0, 4.0, 1.0, 3.0, 0.0, 2.0, 4.0, 1.0, 3.0, 0.0, 2.0, 4.0, 1.0, 3.0, 0.0, 2.0, 4.0, 1.0, 3.0], &[4, 5], 1.0, 4.0, &[0.0, 0.0, 0.25, 0.0, 0.0, 0.0, 0.0, 0.25, 0.0, 0.0, 0.0, 0.0, 0.25, 0.0, 0.0, 0.0, 0.0, 0.25, 0.0, 0.0], 0.0, &[0.25, 0.0, 0.0, 0.0, 0.0, 0.25, 0.0, 0.0, 0.0, 0.0, 0.25, 0.0, 0.0, 0.0, 0.0, 0.25, 0.0, 0.0, 0.0, 0.0]),
        (&[NAN, NAN, NAN], &[3], 1.0, NAN, &[0.33333334, 0.33333334, 0.33333334], NAN, &[0.33333334, 0.33333334, 0.33333334]),
    ];
    for (v, shape, g, max, max_grad, min, min_grad) in cases {
        for (name, want, want_grad) in [("max", max, max_grad), ("min", min, min_grad)] {
            let x = Tensor::from_slice(v, shape).requires_grad_(true);
            let y = if name == "max" { x.max() } else { x.min() };
            let case = format!("{name} of {v:?}");
            assert_eq!(y.shape(), &[] as &[usize], "{case}");
            assert_same(&case, &y.to_vec(), &[want]);
            y.backward_with(Tensor::scalar(g)).unwrap();
            assert_same(
                &format!("{case}, grad"),
                &x.grad().unwrap().to_vec(),
                want_grad,
            );
        }
    }
}

/// A strided (transposed) input: the gradient lands in the leaf's layout.
#[test]
fn max_and_min_of_a_transposed_view() {
    #[rustfmt::skip]
    let (max, max_grad, min, min_grad): (f32, &[f32], f32, &[f32]) =
        (4.0, &[0.33333334, 0.0, 0.33333334, 0.0, 0.33333334, 0.0], -1.0, &[0.0, 0.5, 0.0, 0.0, 0.0, 0.5]);
    for (name, want, want_grad) in [("max", max, max_grad), ("min", min, min_grad)] {
        let x =
            Tensor::from_vec(vec![4.0, -1.0, 4.0, 0.0, 4.0, -1.0], &[2, 3]).requires_grad_(true);
        let y = if name == "max" {
            x.t().max()
        } else {
            x.t().min()
        };
        assert_same(name, &y.to_vec(), &[want]);
        y.backward().unwrap();
        assert_same(
            &format!("{name} grad"),
            &x.grad().unwrap().to_vec(),
            want_grad,
        );
    }
}

#[test]
#[should_panic(expected = "max(): the tensor of shape [0] is empty")]
fn max_of_an_empty_tensor_panics() {
    Tensor::zeros(&[0]).max();
}

#[test]
#[should_panic(expected = "min(): the tensor of shape [2, 0] is empty")]
fn min_of_an_empty_tensor_panics() {
    Tensor::zeros(&[2, 0]).min();
}

// ---------------------------------------------------------------- softmax of large logits, squeeze

/// `got` within 2e-6 relative of `want`, element by element.
#[track_caller]
fn assert_close(what: &str, got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= 2e-6 * w.abs(),
            "{what}[{i}]: {g} vs PyTorch's {w}"
        );
    }
}

/// One row of logits and what PyTorch computes from it.
struct LargeLogits {
    row: &'static [f32],
    log_softmax: &'static [f32],
    /// The gradient of `log_softmax(x).sum()`.
    log_softmax_grad: &'static [f32],
    softmax: &'static [f32],
    /// The gradient of `softmax(x)[0]`.
    softmax_grad: &'static [f32],
    /// `cross_entropy([row], [0])` and its gradient.
    cross_entropy: f32,
    cross_entropy_grad: &'static [f32],
}

/// The small log-probabilities of large logits, as tests/pytorch/softmax_large_logits.py
/// prints them. Folding the max into the log-sum (`x - (max + log(sum))`) lost them
/// to the max's ulp: `log_softmax([100, 90])[0]` was 0.8% off, and the cross
/// entropy of `[1000, 985]` against class 0 was 0, with a zero gradient at the target.
// The digits are those PyTorch printed (f32 values written as f64).
#[allow(clippy::excessive_precision)]
#[test]
fn large_logits_keep_their_small_log_probabilities() {
    let cases = [
        LargeLogits {
            row: &[100.0, 90.0],
            log_softmax: &[-4.541770613286644e-05, -10.000045776367188],
            log_softmax_grad: &[-0.9999091625213623, 0.9999092221260071],
            softmax: &[0.9999545812606812, 4.539786823443137e-05],
            softmax_grad: &[4.5416676584864035e-05, -4.539580550044775e-05],
            cross_entropy: 4.541770613286644e-05,
            cross_entropy_grad: &[-4.5418739318847656e-05, 4.5397850044537336e-05],
        },
        LargeLogits {
            row: &[1000.0, 985.0],
            log_softmax: &[-3.576278118089249e-07, -15.0],
            log_softmax_grad: &[-0.9999992847442627, 0.9999994039535522],
            softmax: &[0.9999996423721313, 3.0590220490012143e-07],
            softmax_grad: &[3.5762775496550603e-07, -3.059020912132837e-07],
            cross_entropy: 3.576278118089249e-07,
            cross_entropy_grad: &[-3.5762786865234375e-07, 3.0590231858695915e-07],
        },
        LargeLogits {
            row: &[-50.0, 30.0, 29.5],
            log_softmax: &[-80.47407531738281, -0.4740769863128662, -0.9740769863128662],
            log_softmax_grad: &[1.0, -0.8673780560493469, -0.13262203335762024],
            softmax: &[1.123446583374746e-35, 0.622459352016449, 0.3775406777858734],
            softmax_grad: &[
                1.123446583374746e-35,
                -6.99299824340737e-36,
                -4.241467949072496e-36,
            ],
            cross_entropy: 80.47407531738281,
            cross_entropy_grad: &[-1.0, 0.622459352016449, 0.3775406777858734],
        },
    ];
    for case in cases {
        let n = case.row.len();
        let leaf =
            |shape: &[usize]| Tensor::from_vec(case.row.to_vec(), shape).requires_grad_(true);

        let x = leaf(&[n]);
        let y = x.log_softmax(0);
        assert_close("log_softmax", &y.to_vec(), case.log_softmax);
        y.sum().backward().unwrap();
        assert_close(
            "log_softmax grad",
            &x.grad().unwrap().to_vec(),
            case.log_softmax_grad,
        );

        let x = leaf(&[n]);
        let y = x.softmax(0);
        assert_close("softmax", &y.to_vec(), case.softmax);
        y.select(0, 0).backward().unwrap();
        assert_close(
            "softmax grad",
            &x.grad().unwrap().to_vec(),
            case.softmax_grad,
        );

        let x = leaf(&[1, n]);
        let loss = x.log_softmax_nll(&[0], 1.0);
        assert_close("cross entropy", &[loss.item()], &[case.cross_entropy]);
        loss.backward().unwrap();
        assert_close(
            "cross entropy grad",
            &x.grad().unwrap().to_vec(),
            case.cross_entropy_grad,
        );
    }
}

/// `squeeze(dim)` of a dim whose size is not 1 leaves the tensor as it is, as
/// PyTorch does (it was a panic), and the gradient passes through.
#[test]
fn squeeze_of_a_dim_that_is_not_1_is_a_no_op() {
    let x = Tensor::from_vec(vec![1.0, 2.0, 3.0], &[1, 3]).requires_grad_(true);
    let y = x.squeeze(1);
    assert_eq!(y.shape(), &[1, 3]);
    y.mul(&Tensor::from_vec(vec![1.0, 2.0, 3.0], &[1, 3]))
        .sum()
        .backward()
        .unwrap();
    assert_eq!(x.grad().unwrap().to_vec(), vec![1.0, 2.0, 3.0]);
    assert_eq!(Tensor::zeros(&[3]).squeeze(-1).shape(), &[3]);
}

/// `randint(low, high, shape)`: integers in `[low, high)`, every one of them
/// drawn in 2,000 draws over 7 values, reproducible from the seed; `high <=
/// low` panics, as torch raises ("random_ expects 'from' to be less than 'to'").
#[test]
fn randint_draws_each_integer_in_its_range() {
    manual_seed(3);
    let t = Tensor::randint(-3, 4, &[2, 1000]);
    assert_eq!(t.shape(), &[2, 1000]);
    let values = t.to_vec();
    for v in -3..4 {
        assert!(values.contains(&(v as f32)), "{v} never drawn");
    }
    assert!(values
        .iter()
        .all(|v| (-3.0..4.0).contains(v) && v.fract() == 0.0));
    manual_seed(3);
    assert_eq!(Tensor::randint(-3, 4, &[2, 1000]).to_vec(), values);
    assert!(std::panic::catch_unwind(|| Tensor::randint(5, 5, &[1])).is_err());
}

/// `zero_()` zeroes through a view, as `t[:, 1].zero_()` does in PyTorch.
#[test]
fn zero_writes_through_a_view() {
    let t = Tensor::ones(&[2, 3]);
    t.select(1, 1).zero_();
    assert_eq!(t.to_vec(), vec![1.0, 0.0, 1.0, 1.0, 0.0, 1.0]);
}

/// `gather` with an index smaller than the input outside `dim` reads the
/// leading part of those dims and scatters its gradient back there, as
/// `torch.gather` does (values from PyTorch 2.15); a larger one is refused.
#[test]
fn gather_with_a_smaller_index_picks_from_the_leading_rows() {
    let x = Tensor::from_vec((0..12).map(|v| v as f32).collect(), &[3, 4]).requires_grad_(true);
    let y = x.gather(1, &Tensor::from_vec(vec![1.0, 0.0, 3.0], &[1, 3]));
    assert_eq!(y.shape(), &[1, 3]);
    assert_eq!(y.to_vec(), vec![1.0, 0.0, 3.0]);
    y.mul(&Tensor::from_vec(vec![1.0, 2.0, 3.0], &[1, 3]))
        .sum()
        .backward()
        .unwrap();
    let want = [2.0, 1.0, 0.0, 3.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0];
    assert_eq!(x.grad().unwrap().to_vec(), want);

    let x3 = Tensor::from_vec((0..24).map(|v| v as f32).collect(), &[2, 3, 4]);
    let y3 = x3.gather(1, &Tensor::from_vec(vec![2.0, 0.0], &[1, 2, 1]));
    assert_eq!((y3.shape(), y3.to_vec()), (&[1, 2, 1][..], vec![8.0, 0.0]));
    let index = Tensor::from_vec(vec![0.0, 1.0, 1.0, 1.0, 0.0, 0.0], &[1, 2, 3]);
    assert_eq!(
        x3.gather(2, &index).to_vec(),
        vec![0.0, 1.0, 1.0, 5.0, 4.0, 4.0]
    );

    let larger = std::panic::catch_unwind(|| {
        Tensor::zeros(&[3, 4]).gather(1, &Tensor::zeros(&[4, 1]));
    });
    assert!(larger.is_err());
}
