//! Elementwise jobs over slices split across the cores, on the GEMM's pool of
//! spinning helpers (`pool.rs` says why not rayon: a training step's short
//! jobs would pay for waking sleeping workers each time).
//!
//! ```
//! use autograd::parallel::for_each_chunk_mut;
//! let (mut p, g) = (vec![1.0f32; 100_000], vec![0.5f32; 100_000]);
//! for_each_chunk_mut(p.len(), 1 << 16, [&mut p[..]], |range, [p]| {
//!     for (p, &g) in p.iter_mut().zip(&g[range]) {
//!         *p -= 0.1 * g;
//!     }
//! });
//! assert!(p.iter().all(|&p| p == 1.0 - 0.1 * 0.5));
//! ```

use std::marker::PhantomData;
use std::ops::Range;

/// Chunks hold a multiple of this many elements (a cache line of f32, one
/// AVX-512 vector), so that only the last chunk has a scalar tail.
const ALIGN: usize = 16;

/// Calls `f(range, chunks)` for disjoint ranges covering `0..len`, with
/// `chunks[k]` the elements `range` of `slices[k]` (empty if `slices[k]` is),
/// on the calling thread and the pool's helpers (`rayon::current_num_threads()`
/// threads in all). Inputs that are only read can be indexed by `range` inside `f`.
///
/// Runs `f(0..len, slices)` here when there is one thread or `len < min_len`
/// (splitting costs about a microsecond: worth it only for large jobs). Ranges
/// are multiples of 16 elements long, except the last.
///
/// Splitting must not change results: `f`'s result for an element must depend
/// only on that element. `f` must not panic when the job is split (a panic on
/// any thread then aborts the process).
///
/// Panics if a slice's length is neither `len` nor 0.
pub fn for_each_chunk_mut<const N: usize, F>(
    len: usize,
    min_len: usize,
    slices: [&mut [f32]; N],
    f: F,
) where
    F: Fn(Range<usize>, [&mut [f32]; N]) + Sync,
{
    for s in &slices {
        assert!(
            s.len() == len || s.is_empty(),
            "for_each_chunk_mut: a slice of {} elements in a job of {len}",
            s.len()
        );
    }
    let threads = super::pool::threads();
    let chunk = chunk_len(len, min_len, threads);
    if chunk >= len {
        f(0..len, slices);
        return;
    }
    let parts = len.div_ceil(chunk);
    let raw = slices.map(RawSlice::new);
    let body = |part: usize| {
        let range = part * chunk..len.min((part + 1) * chunk);
        // SAFETY: `run_parts` runs each part once, and parts' ranges are
        // disjoint and within `0..len`, so no element is reached twice.
        let chunks = std::array::from_fn(|k| unsafe { raw[k].chunk(range.clone()) });
        f(range, chunks);
    };
    super::pool::run_parts(parts, threads, &body);
}

/// Whether [`for_each_chunk_mut`] with these arguments splits the job (else
/// it runs it here, in one piece): callers that would prepare differently for
/// a split (a zero-filled output) ask first.
pub fn splits(len: usize, min_len: usize) -> bool {
    chunk_len(len, min_len, super::pool::threads()) < len
}

/// Elements per part: `len` (no split) or a multiple of [`ALIGN`].
///
/// One part per thread: with four per thread (smaller parts, to even out a
/// helper that is late), a 2-thread SGD update of 4K to 64K elements took
/// 1.2 to 1.8 times as long, on a quiet machine.
fn chunk_len(len: usize, min_len: usize, threads: usize) -> usize {
    if threads <= 1 || len < min_len.max(2 * ALIGN) {
        return len;
    }
    len.div_ceil(threads).next_multiple_of(ALIGN)
}

/// A mutable slice handed out in disjoint chunks to several threads.
struct RawSlice<'a> {
    ptr: *mut f32,
    len: usize,
    _borrow: PhantomData<&'a mut [f32]>,
}

// SAFETY: a `RawSlice` stands for a `&mut [f32]` (which is `Send` and `Sync`),
// and is only read through `chunk`, whose callers keep chunks disjoint.
unsafe impl Sync for RawSlice<'_> {}

impl<'a> RawSlice<'a> {
    fn new(slice: &'a mut [f32]) -> Self {
        RawSlice {
            ptr: slice.as_mut_ptr(),
            len: slice.len(),
            _borrow: PhantomData,
        }
    }

    /// Elements `range` (none if the slice is empty).
    ///
    /// # Safety
    /// No two live chunks of one `RawSlice` may overlap.
    unsafe fn chunk(&self, range: Range<usize>) -> &'a mut [f32] {
        if self.len == 0 {
            return &mut [];
        }
        assert!(range.start <= range.end && range.end <= self.len);
        // SAFETY: in bounds (checked above) of a slice borrowed mutably for
        // 'a; the caller keeps chunks disjoint, so this one is not aliased.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.add(range.start), range.len()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn in_pool<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("pool")
            .install(f)
    }

    #[test]
    fn chunks_are_aligned_and_cover_the_range() {
        assert_eq!(chunk_len(1000, 1 << 16, 2), 1000, "small: not split");
        assert_eq!(chunk_len(1 << 20, 1 << 16, 1), 1 << 20, "one thread");
        let chunk = chunk_len(100_003, 1 << 16, 2);
        assert_eq!(chunk % ALIGN, 0);
        assert_eq!(100_003_usize.div_ceil(chunk), 2);
    }

    #[test]
    fn every_element_is_visited_once_with_its_range() {
        for threads in [1, 2, 3] {
            for len in [0, 1, 31, 32, 1000, 100_003] {
                let mut index = vec![-1.0f32; len];
                let mut count = vec![0.0f32; len];
                let mut empty: [f32; 0] = [];
                in_pool(threads, || {
                    let slices = [&mut index[..], &mut count[..], &mut empty[..]];
                    for_each_chunk_mut(len, 0, slices, |range, [index, count, empty]| {
                        assert!(empty.is_empty());
                        assert_eq!(index.len(), range.len());
                        for (k, (i, c)) in range.zip(index.iter_mut().zip(count.iter_mut())) {
                            *i = k as f32;
                            *c += 1.0;
                        }
                    })
                });
                assert!(index.iter().enumerate().all(|(k, &i)| i == k as f32));
                assert!(
                    count.iter().all(|&c| c == 1.0),
                    "{threads} threads, len {len}"
                );
            }
        }
    }

    #[test]
    #[should_panic(expected = "a slice of 3 elements in a job of 4")]
    fn slices_of_another_length_are_refused() {
        let (mut a, mut b) = ([0.0f32; 4], [0.0f32; 3]);
        for_each_chunk_mut(4, 0, [&mut a[..], &mut b[..]], |_, _| {});
    }
}
