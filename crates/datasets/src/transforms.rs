//! `torchvision.transforms.ToTensor` and `Normalize`, with the same arithmetic
//! (`x / 255`, then `(x - mean) / std`) so values match PyTorch's bit for bit.

use autograd::kernels::fma::{self, with_fma, FmaBody};
use autograd::Tensor;

/// u8 grayscale pixels to an f32 tensor `[1, height, width]` in `[0, 1]`
/// (`x / 255`), as `torchvision.transforms.ToTensor` does for an 8-bit image.
///
/// ```
/// use datasets::ToTensor;
/// let t = ToTensor.apply(&[0, 51, 255, 102], 2, 2);
/// assert_eq!(t.shape(), &[1, 2, 2]);
/// assert_eq!(t.to_vec(), vec![0.0, 0.2, 1.0, 0.4]);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct ToTensor;

impl ToTensor {
    /// Panics if `pixels.len() != height * width`.
    pub fn apply(&self, pixels: &[u8], height: usize, width: usize) -> Tensor {
        assert_eq!(
            pixels.len(),
            height * width,
            "ToTensor: {} pixels for a {height}x{width} image",
            pixels.len()
        );
        Tensor::from_vec(
            pixels.iter().map(|&p| p as f32 / 255.0).collect(),
            &[1, height, width],
        )
    }
}

/// `(x - mean[c]) / std[c]` for each channel `c` of a `[..., C, H, W]` tensor
/// (`torchvision.transforms.Normalize`). One mean and std apply to every channel.
///
/// ```
/// use datasets::{Normalize, ToTensor};
/// let x = ToTensor.apply(&[0, 255], 1, 2);
/// let y = Normalize::new(&[0.5], &[0.5]).apply(&x);
/// assert_eq!(y.to_vec(), vec![-1.0, 1.0]);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Normalize {
    mean: Vec<f32>,
    std: Vec<f32>,
}

impl Normalize {
    /// Panics if the lengths differ, are zero, or a std is zero (PyTorch raises
    /// `ValueError` for a zero std).
    pub fn new(mean: &[f32], std: &[f32]) -> Normalize {
        assert!(
            !mean.is_empty() && mean.len() == std.len(),
            "Normalize: {} means and {} stds",
            mean.len(),
            std.len()
        );
        assert!(
            std.iter().all(|&s| s != 0.0),
            "Normalize: std {std:?} has a zero, division by zero"
        );
        Normalize {
            mean: mean.to_vec(),
            std: std.to_vec(),
        }
    }

    /// The mean of each channel, as given to [`new`](Self::new).
    pub fn mean(&self) -> &[f32] {
        &self.mean
    }

    /// The standard deviation of each channel, as given to [`new`](Self::new).
    pub fn std(&self) -> &[f32] {
        &self.std
    }

    /// The normalized copy of `x` (shape `[..., C, H, W]`, or any shape with
    /// a single mean and std). Panics if `C` is not the number of means.
    pub fn apply(&self, x: &Tensor) -> Tensor {
        let channels = self.mean.len();
        let plane = if channels == 1 {
            x.numel().max(1)
        } else {
            assert!(
                x.dims() >= 3 && x.size(-3) == channels,
                "Normalize: {channels} means for a tensor of shape {:?} (expected [..., {channels}, H, W])",
                x.shape()
            );
            x.size(-1) * x.size(-2)
        };
        let mut values = x.to_vec();
        for (i, chunk) in values.chunks_mut(plane.max(1)).enumerate() {
            let c = i % channels;
            for v in chunk {
                *v = (*v - self.mean[c]) / self.std[c];
            }
        }
        Tensor::from_vec(values, x.shape())
    }

    /// Appends `image`'s pixels as they are after `ToTensor` then, if given,
    /// `normalize` (single channel): the same values (`p / 255` exactly, then
    /// the same arithmetic in the same order), in one pass that the compiler
    /// vectorizes (about 10x faster than a 256-entry lookup table per pixel).
    pub(crate) fn extend_pixels(normalize: Option<&Normalize>, image: &[u8], out: &mut Vec<f32>) {
        if fma::available() {
            with_fma(Pixels {
                normalize,
                image,
                out,
            });
        } else {
            extend_with(normalize, image, out, |p| p as f32 / 255.0);
        }
    }
}

/// `out.extend(...)` with each pixel `p` as `to_unit(p)` (`p / 255`), then
/// normalized if asked.
#[inline(always)]
fn extend_with(
    normalize: Option<&Normalize>,
    image: &[u8],
    out: &mut Vec<f32>,
    to_unit: impl Fn(u8) -> f32,
) {
    match normalize {
        None => out.extend(image.iter().map(|&p| to_unit(p))),
        Some(n) => {
            let (mean, std) = (n.mean[0], n.std[0]);
            out.extend(image.iter().map(|&p| (to_unit(p) - mean) / std));
        }
    }
}

/// `extend_pixels` compiled with AVX2 and FMA (`with_fma`), with `div255`
/// for the division. The shipped build targets generic x86-64, where the loop
/// gets 4-wide SSE divisions: building a batch of 64 images took 16 us, on
/// the critical path of a 2-thread training step; with 8-wide divisions 8.5
/// us, and 5.8 us with `div255` (criterion, 938 batches: 7.95 and 5.45 ms).
struct Pixels<'a> {
    normalize: Option<&'a Normalize>,
    image: &'a [u8],
    out: &'a mut Vec<f32>,
}

impl FmaBody for Pixels<'_> {
    type Output = ();
    #[inline(always)]
    fn run(self) {
        extend_with(self.normalize, self.image, self.out, div255);
    }
}

/// `p as f32 / 255.0`, bit for bit (checked for all 256 bytes), from the
/// reciprocal and one correction by fused multiply-adds, which the vector
/// units run several times as fast as a division. Only where FMA is an
/// instruction: elsewhere `mul_add` is a slow library call.
#[inline(always)]
fn div255(p: u8) -> f32 {
    const R: f32 = 1.0 / 255.0;
    let x = p as f32;
    let q = x * R;
    // The residual x - 255 q is exact in an FMA; adding residual / 255 to q
    // rounds to the quotient.
    (-q).mul_add(255.0, x).mul_add(R, q)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn div255_is_the_division_for_every_byte() {
        for p in 0..=255u8 {
            let want = p as f32 / 255.0;
            assert_eq!(div255(p).to_bits(), want.to_bits(), "{p}");
        }
    }

    #[test]
    fn to_tensor_divides_by_255() {
        let t = ToTensor.apply(&[0, 1, 128, 255], 2, 2);
        // Division (not multiplication by 1/255) is what PyTorch does: `img.float().div(255)`.
        assert_eq!(t.to_vec(), vec![0.0, 1.0 / 255.0, 128.0 / 255.0, 1.0]);
    }

    #[test]
    fn normalize_is_per_channel() {
        let x = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 1, 2]);
        let y = Normalize::new(&[1.0, 2.0], &[2.0, 4.0]).apply(&x);
        assert_eq!(y.to_vec(), vec![0.0, 0.5, 0.25, 0.5]);
        // A batch [B, C, H, W] cycles through the channels per image.
        let x = Tensor::from_vec(vec![1.0, 2.0, 1.0, 2.0], &[2, 2, 1, 1]);
        assert_eq!(
            Normalize::new(&[1.0, 2.0], &[1.0, 1.0]).apply(&x).to_vec(),
            vec![0.0; 4]
        );
    }

    #[test]
    fn extend_pixels_matches_to_tensor_then_normalize() {
        let n = Normalize::new(&[0.1307], &[0.3081]);
        let pixels: Vec<u8> = (0..=255).collect();
        let mut got = Vec::new();
        Normalize::extend_pixels(Some(&n), &pixels, &mut got);
        let expected = n.apply(&ToTensor.apply(&pixels, 16, 16)).to_vec();
        assert_eq!(got, expected);
        got.clear();
        Normalize::extend_pixels(None, &pixels, &mut got);
        assert_eq!(got, ToTensor.apply(&pixels, 16, 16).to_vec());
    }

    #[test]
    #[should_panic(expected = "zero")]
    fn zero_std_panics() {
        Normalize::new(&[0.0], &[0.0]);
    }
}
