//! Helpers shared by the tests that compare with PyTorch's values bit for bit.

pub const INF: f32 = f32::INFINITY;
pub const NAN: f32 = f32::NAN;

/// The same values bit for bit (the sign of zeros included), any NaN for NaN.
pub fn assert_same(what: &str, got: &[f32], want: &[f32]) {
    let same = got.len() == want.len()
        && got
            .iter()
            .zip(want)
            .all(|(g, w)| g.to_bits() == w.to_bits() || (g.is_nan() && w.is_nan()));
    assert!(same, "{what}: {got:?}, want {want:?}");
}
