//! Reuse of large value buffers from one training step to the next.
//!
//! A step allocates the same large buffers every time (activations, their
//! gradients, weight gradients: 128 KB to 1.6 MB each) and frees them when
//! the graph is released. Handed back to the system allocator, glibc returns
//! such blocks to the kernel and the next step faults them in again: measured,
//! 557,000 page faults per epoch of `ferrograd train`, a fifth of its time.
//! So a tensor's storage gives its buffer back here when the last view of it
//! goes, and the kernels that make new values take a buffer from here first
//! (PyTorch's caching allocator does the same for the same reason).
//! [`take`] is public for code outside the crate that builds tensors each step.

use std::ops::{Deref, DerefMut};
use std::sync::Mutex;

/// Buffers smaller than this (in values) go back to the allocator: cheap to get.
const MIN_LEN: usize = 1 << 14;
/// At most this many values wait for reuse (16 MB, several steps' worth); more go
/// back to the allocator (the DataLoader's batches, made on its own thread, arrive
/// here too and would otherwise pile up).
const MAX_POOLED: usize = 1 << 22;

/// Free buffers, and the values they can hold in all.
static POOL: Mutex<(Vec<Vec<f32>>, usize)> = Mutex::new((Vec::new(), 0));

/// An empty vector with room for `len` values: a buffer given back by a
/// dropped tensor if one fits (at most twice as large as needed), else a new
/// allocation. For values that will become a tensor each step, such as the
/// DataLoader's batches: a new allocation of that size each time comes back
/// from the kernel with its pages unmapped and cold.
///
/// ```
/// let mut v = autograd::buffer::take(1 << 16);
/// v.extend((0..1 << 16).map(|i| i as f32));
/// let t = autograd::Tensor::from_vec(v, &[256, 256]);
/// drop(t); // its buffer goes back for the next `take`
/// ```
pub fn take(len: usize) -> Vec<f32> {
    if len >= MIN_LEN {
        let mut pool = POOL.lock().unwrap_or_else(|p| p.into_inner());
        let (free, pooled) = &mut *pool;
        let best = (0..free.len())
            .filter(|&i| (len..=2 * len).contains(&free[i].capacity()))
            .min_by_key(|&i| free[i].capacity());
        if let Some(i) = best {
            let mut v = free.swap_remove(i);
            *pooled -= v.capacity();
            v.clear();
            return v;
        }
    }
    Vec::with_capacity(len)
}

/// Keeps `v` for a later `take`, if it is large and there is room.
fn give(v: Vec<f32>) {
    if v.capacity() < MIN_LEN {
        return;
    }
    let mut pool = POOL.lock().unwrap_or_else(|p| p.into_inner());
    let (free, pooled) = &mut *pool;
    if *pooled + v.capacity() <= MAX_POOLED {
        *pooled += v.capacity();
        free.push(v);
    }
}

/// A tensor's values: a `Vec<f32>` that goes back to the pool when dropped,
/// and how many times they were changed in place (PyTorch's version counter:
/// a recorded op notes its inputs' versions, and the backward pass refuses
/// to read values changed since).
#[derive(Default)]
pub(crate) struct Buffer {
    values: Vec<f32>,
    pub(crate) version: u64,
}

impl From<Vec<f32>> for Buffer {
    fn from(values: Vec<f32>) -> Buffer {
        Buffer { values, version: 0 }
    }
}

impl Deref for Buffer {
    type Target = Vec<f32>;
    fn deref(&self) -> &Vec<f32> {
        &self.values
    }
}

impl DerefMut for Buffer {
    fn deref_mut(&mut self) -> &mut Vec<f32> {
        &mut self.values
    }
}

impl Drop for Buffer {
    fn drop(&mut self) {
        give(std::mem::take(&mut self.values));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dropped_large_buffer_is_taken_again_and_small_ones_are_not_kept() {
        let v: Vec<f32> = Vec::with_capacity(3 * MIN_LEN);
        let ptr = v.as_ptr();
        drop(Buffer::from(v));
        // Another test may take it first (tests run in parallel): then this
        // one gets a fresh buffer, which is also correct; only check sizes.
        let w = take(2 * MIN_LEN);
        assert!(w.is_empty() && w.capacity() >= 2 * MIN_LEN);
        if w.as_ptr() == ptr {
            assert_eq!(w.capacity(), 3 * MIN_LEN);
        }
        // Too large a buffer for the request is not handed out.
        drop(Buffer::from(Vec::<f32>::with_capacity(8 * MIN_LEN)));
        assert!(take(MIN_LEN).capacity() < 8 * MIN_LEN);
    }
}
