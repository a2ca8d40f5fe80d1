//! Single-precision GEMM: `matrixmultiply`'s sgemm on strided operands, split
//! across rayon's threads when the product is large enough to pay for it.
//! This is the only module of the crate with `unsafe` code.

/// A read-only matrix: `rows x cols` elements of `data` at `data[offset + i*row_stride + j*col_stride]`.
/// Transposing is swapping the strides, with no copy.
#[derive(Clone, Copy, Debug)]
pub struct MatRef<'a> {
    pub data: &'a [f32],
    pub offset: usize,
    pub rows: usize,
    pub cols: usize,
    pub row_stride: usize,
    pub col_stride: usize,
}

impl<'a> MatRef<'a> {
    /// A row-major `rows x cols` matrix at the start of `data`.
    pub fn row_major(data: &'a [f32], rows: usize, cols: usize) -> MatRef<'a> {
        MatRef {
            data,
            offset: 0,
            rows,
            cols,
            row_stride: cols,
            col_stride: 1,
        }
    }

    pub fn t(self) -> MatRef<'a> {
        MatRef {
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
            ..self
        }
    }

    /// Every element this view can address lies inside `data`.
    fn in_bounds(&self) -> bool {
        if self.rows == 0 || self.cols == 0 {
            return true;
        }
        let last =
            self.offset + (self.rows - 1) * self.row_stride + (self.cols - 1) * self.col_stride;
        last < self.data.len()
    }
}

/// Products smaller than this many multiply-adds run on one thread.
const PARALLEL_MIN_FLOPS: usize = 1 << 20;

/// `c = alpha * a @ b + beta * c`, where `c` is row-major `a.rows x b.cols`.
/// With `beta == 0` the old contents of `c` are ignored (never read), so `c`
/// need not be initialised meaningfully.
pub fn gemm(alpha: f32, a: MatRef, b: MatRef, beta: f32, c: &mut [f32]) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    assert_eq!(
        b.rows, k,
        "gemm: inner dimensions differ ({m}x{k} @ {}x{n})",
        b.rows
    );
    assert_eq!(
        c.len(),
        m * n,
        "gemm: output buffer holds {} values, not {m}x{n}",
        c.len()
    );
    assert!(
        a.in_bounds() && b.in_bounds(),
        "gemm: operand view out of bounds"
    );
    if m == 0 || n == 0 {
        return;
    }
    let threads = rayon::current_num_threads();
    if threads == 1 || m * n * k < PARALLEL_MIN_FLOPS {
        // SAFETY: the views were checked in bounds above, `c` holds m*n values
        // with row stride n, and nothing else accesses `c` during the call.
        unsafe { sgemm_raw(alpha, a, b, beta, c.as_mut_ptr(), 0, m, 0, n) };
        return;
    }
    // Split the larger output dimension into one block per thread. Each block
    // is computed exactly as it would be alone (same k order), so the result
    // does not depend on the split.
    let c_ptr = SendPtr(c.as_mut_ptr());
    let split_rows = m >= n;
    let len = if split_rows { m } else { n };
    let chunk = len.div_ceil(threads).next_multiple_of(8).min(len);
    rayon::scope(|s| {
        for start in (0..len).step_by(chunk) {
            let end = (start + chunk).min(len);
            s.spawn(move |_| {
                let c_ptr = c_ptr;
                let (r0, r1, c0, c1) = if split_rows {
                    (start, end, 0, n)
                } else {
                    (0, m, start, end)
                };
                // SAFETY: blocks [r0,r1) x [c0,c1) of the m x n output are
                // disjoint between tasks, so no element is written twice; the
                // operands are only read and were checked in bounds.
                unsafe { sgemm_raw(alpha, a, b, beta, c_ptr.0, r0, r1, c0, c1) };
            });
        }
    });
}

#[derive(Clone, Copy)]
struct SendPtr(*mut f32);
// SAFETY: used only to hand disjoint blocks of one output buffer to scoped tasks.
unsafe impl Send for SendPtr {}
unsafe impl Sync for SendPtr {}

/// Block `[r0, r1) x [c0, c1)` of `c = alpha a b + beta c`, `c` row-major with `n` columns.
///
/// # Safety
/// `a` and `b` must be in bounds; `c` must point to an m x n row-major buffer
/// whose block is not accessed concurrently by anyone else.
#[allow(clippy::too_many_arguments)]
unsafe fn sgemm_raw(
    alpha: f32,
    a: MatRef,
    b: MatRef,
    beta: f32,
    c: *mut f32,
    r0: usize,
    r1: usize,
    c0: usize,
    c1: usize,
) {
    let n = b.cols;
    let a_ptr = a.data.as_ptr().add(a.offset + r0 * a.row_stride);
    let b_ptr = b.data.as_ptr().add(b.offset + c0 * b.col_stride);
    matrixmultiply::sgemm(
        r1 - r0,
        a.cols,
        c1 - c0,
        alpha,
        a_ptr,
        a.row_stride as isize,
        a.col_stride as isize,
        b_ptr,
        b.row_stride as isize,
        b.col_stride as isize,
        beta,
        c.add(r0 * n + c0),
        n as isize,
        1,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(a: MatRef, b: MatRef) -> Vec<f32> {
        let mut c = vec![0.0; a.rows * b.cols];
        for i in 0..a.rows {
            for j in 0..b.cols {
                for p in 0..a.cols {
                    c[i * b.cols + j] += a.data[a.offset + i * a.row_stride + p * a.col_stride]
                        * b.data[b.offset + p * b.row_stride + j * b.col_stride];
                }
            }
        }
        c
    }

    #[test]
    fn matches_naive_for_transposed_and_split_products() {
        let (m, k, n) = (70, 130, 150);
        let a: Vec<f32> = (0..m * k).map(|i| ((i * 7) % 13) as f32 - 6.0).collect();
        let bt: Vec<f32> = (0..n * k).map(|i| ((i * 5) % 11) as f32 - 5.0).collect();
        let a = MatRef::row_major(&a, m, k);
        let b = MatRef::row_major(&bt, n, k).t();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap();
        let mut c = vec![f32::NAN; m * n];
        pool.install(|| gemm(1.0, a, b, 0.0, &mut c));
        assert_eq!(c, naive(a, b));
        // beta = 1 accumulates.
        pool.install(|| gemm(1.0, a, b, 1.0, &mut c));
        assert_eq!(c, naive(a, b).iter().map(|x| 2.0 * x).collect::<Vec<_>>());
    }
}
