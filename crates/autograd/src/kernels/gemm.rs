//! Single-precision GEMM on strided operands, split across threads (`pool`)
//! when the product is large enough to pay for it; the number of threads is
//! rayon's (`RAYON_NUM_THREADS`, `ferrograd --threads`). On CPUs with AVX-512
//! our own kernel (`avx512`) runs; elsewhere `matrixmultiply`'s sgemm.
//! `FERROGRAD_GEMM=matrixmultiply` forces the latter (for comparisons).

#[cfg(target_arch = "x86_64")]
mod avx512;

/// A read-only matrix: `rows x cols` elements of `data` at `data[offset + i*row_stride + j*col_stride]`.
/// Transposing is swapping the strides, with no copy.
#[derive(Clone, Copy, Debug)]
pub struct MatRef<'a> {
    /// The storage the elements are read from.
    pub data: &'a [f32],
    /// Index in `data` of element `(0, 0)`.
    pub offset: usize,
    /// Number of rows.
    pub rows: usize,
    /// Number of columns.
    pub cols: usize,
    /// Step in `data` from one row to the next.
    pub row_stride: usize,
    /// Step in `data` from one column to the next (along a row).
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

    /// The transpose, `cols x rows`: the strides swapped, no copy.
    pub fn t(self) -> MatRef<'a> {
        MatRef {
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
            ..self
        }
    }

    /// Every element this view can address lies inside `data` (with no
    /// overflow on the way: the fields are public, so anything can arrive).
    fn in_bounds(&self) -> bool {
        if self.rows == 0 || self.cols == 0 {
            return true;
        }
        let last = (self.rows - 1)
            .checked_mul(self.row_stride)
            .and_then(|r| r.checked_add((self.cols - 1).checked_mul(self.col_stride)?))
            .and_then(|x| x.checked_add(self.offset));
        // Strides also become `isize` pointer offsets in the kernels.
        let small =
            self.row_stride <= isize::MAX as usize && self.col_stride <= isize::MAX as usize;
        small && last.is_some_and(|last| last < self.data.len())
    }
}

/// The GEMM kernel's ceiling on this machine now, in GFLOP/s summed over
/// `threads` threads running at once: its micro-kernel's inner loop with the
/// operands in registers (and L1). None where the AVX-512 kernel is not the
/// one in use. For benchmarks: `cargo xtask bench` compares a training
/// epoch's throughput with it. Takes about a tenth of a second.
pub fn fma_peak_gflops(threads: usize) -> Option<f64> {
    match Kernel::detect() {
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx512 => Some(avx512::peak_gflops(threads)),
        Kernel::Portable => None,
    }
}

/// Products smaller than this many multiply-adds run on one thread, with
/// matrixmultiply (the AVX-512 kernel has its own threshold).
const PARALLEL_MIN_FLOPS: usize = 1 << 20;

/// `c = alpha * a @ b + beta * c`, where `c` is row-major `a.rows x b.cols`.
/// With `beta == 0` the old contents of `c` are ignored (never read), so `c`
/// need not be initialised meaningfully.
pub fn gemm(alpha: f32, a: MatRef, b: MatRef, beta: f32, c: &mut [f32]) {
    assert_eq!(
        Some(c.len()),
        a.rows.checked_mul(b.cols),
        "gemm: output buffer holds {} values, not {}x{}",
        c.len(),
        a.rows,
        b.cols
    );
    check(a, b);
    // SAFETY: `check` verified the operands; `c` holds m*n values and is ours.
    unsafe { gemm_ptr(alpha, a, b, beta, c.as_mut_ptr()) }
}

/// `a @ b` in a new row-major `a.rows x b.cols` buffer.
pub fn gemm_new(a: MatRef, b: MatRef) -> Vec<f32> {
    gemm_linear_new(a, b, None, false)
}

/// `a @ b + bias` (the bias, `b.cols` values, added to every row), then
/// ReLU (`relu_f32`) if `relu`, in a new row-major buffer: `F.linear` (and a
/// following `F.relu`). The AVX-512 kernel does both as it writes each tile;
/// the results are those of the separate passes, bit for bit. The buffer is
/// not zero-filled first: every element is written once.
pub fn gemm_linear_new(a: MatRef, b: MatRef, bias: Option<&[f32]>, relu: bool) -> Vec<f32> {
    check(a, b);
    if let Some(bias) = bias {
        assert_eq!(
            bias.len(),
            b.cols,
            "gemm: bias of {} values for {} columns",
            bias.len(),
            b.cols
        );
    }
    let len = a.rows * b.cols;
    if a.cols == 0 {
        // An empty sum, plus the bias.
        let c = bias.map_or_else(|| vec![0.0; len], |bias| bias.repeat(a.rows));
        return if relu {
            c.into_iter().map(relu_f32).collect()
        } else {
            c
        };
    }
    let mut c: Vec<f32> = crate::buffer::take(len);
    // SAFETY: `check` verified the operands; the spare capacity holds `len`
    // values. With beta = 0 and k > 0 either kernel writes each of the m x n
    // elements without reading them: the AVX-512 tiles cover C without overlap
    // and read C only when beta != 0; the portable path writes the bias rows
    // first, or matrixmultiply ("If beta is zero, then C does not need to be
    // initialized") writes them. So all `len` values are initialised when
    // `set_len` runs.
    unsafe {
        let out = c.spare_capacity_mut().as_mut_ptr().cast();
        gemm_ptr_with(Kernel::detect(), 1.0, a, b, bias, relu, 0.0, out);
        c.set_len(len);
    }
    c
}

/// PyTorch's ReLU of one value (its CPU clamp): 0 for x < 0, x otherwise, so
/// NaN stays NaN and -0.0 stays -0.0, as `torch.relu` gives.
pub fn relu_f32(x: f32) -> f32 {
    if x < 0.0 {
        0.0
    } else {
        x
    }
}

fn check(a: MatRef, b: MatRef) {
    assert_eq!(
        b.rows, a.cols,
        "gemm: inner dimensions differ ({}x{} @ {}x{})",
        a.rows, a.cols, b.rows, b.cols
    );
    assert!(
        a.in_bounds() && b.in_bounds(),
        "gemm: operand view out of bounds"
    );
    assert!(
        a.rows
            .checked_mul(b.cols)
            .is_some_and(|n| n <= isize::MAX as usize / 4),
        "gemm: a {}x{} output is too large",
        a.rows,
        b.cols
    );
}

/// # Safety
/// `a` and `b` must have passed `check`; `c` must point to `a.rows * b.cols`
/// writable values (initialised unless `beta == 0`) that nobody else accesses.
unsafe fn gemm_ptr(alpha: f32, a: MatRef, b: MatRef, beta: f32, c: *mut f32) {
    // SAFETY: forwarded.
    unsafe { gemm_ptr_with(Kernel::detect(), alpha, a, b, None, false, beta, c) }
}

/// Which sgemm runs.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Kernel {
    /// `avx512.rs`, when the CPU has AVX-512F.
    #[cfg(target_arch = "x86_64")]
    Avx512,
    /// `matrixmultiply`, everywhere.
    Portable,
}

/// Whether two independent `m x k @ k x n` products (a linear layer's input
/// and weight gradients) should run side by side, one per thread, rather
/// than one after the other, each split across the threads.
pub(crate) fn side_by_side(m: usize, k: usize, n: usize) -> bool {
    let below = match Kernel::detect() {
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx512 => avx512::SIDE_BY_SIDE_BELOW,
        Kernel::Portable => PARALLEL_MIN_FLOPS,
    };
    m * k * n < below
}

impl Kernel {
    fn detect() -> Kernel {
        static KERNEL: std::sync::OnceLock<Kernel> = std::sync::OnceLock::new();
        *KERNEL.get_or_init(|| {
            let forced = std::env::var("FERROGRAD_GEMM").is_ok_and(|v| v == "matrixmultiply");
            #[cfg(target_arch = "x86_64")]
            if !forced && avx512::available() {
                return Kernel::Avx512;
            }
            let _ = forced;
            Kernel::Portable
        })
    }
}

/// `c = alpha * a @ b + bias + beta * c`, `bias` (`n` values, if any) added
/// to every row, then ReLU (`relu_f32`) if `relu`.
///
/// # Safety
/// As for `gemm_ptr`; `Kernel::Avx512` only where `avx512::available()`.
#[allow(clippy::too_many_arguments)]
unsafe fn gemm_ptr_with(
    kernel: Kernel,
    alpha: f32,
    a: MatRef,
    b: MatRef,
    bias: Option<&[f32]>,
    relu: bool,
    mut beta: f32,
    c: *mut f32,
) {
    let (m, n) = (a.rows, b.cols);
    if m == 0 || n == 0 {
        return;
    }
    let threads = super::pool::threads();
    #[cfg(target_arch = "x86_64")]
    if kernel == Kernel::Avx512 {
        // SAFETY: forwarded; the caller checked that the CPU has AVX-512F.
        unsafe { avx512::gemm(alpha, a, b, bias, relu, beta, c, threads) };
        return;
    }
    if let Some(bias) = bias {
        // The bias rows (plus beta * c) first, then the product onto them.
        for i in 0..m {
            // SAFETY: row i of the m x n output; initialised unless beta == 0,
            // in which case it is only written.
            let row = unsafe {
                std::slice::from_raw_parts_mut(c.add(i * n).cast::<std::mem::MaybeUninit<f32>>(), n)
            };
            for (x, &b) in row.iter_mut().zip(bias) {
                // SAFETY: read only when beta != 0, when the value is initialised.
                let old = if beta == 0.0 {
                    0.0
                } else {
                    beta * unsafe { x.assume_init() }
                };
                x.write(b + old);
            }
        }
        beta = 1.0;
    }
    // SAFETY: forwarded.
    unsafe { portable(alpha, a, b, beta, c, threads) };
    if relu {
        // SAFETY: `c` holds the m*n values just computed, and is ours.
        let c = unsafe { std::slice::from_raw_parts_mut(c, m * n) };
        c.iter_mut().for_each(|x| *x = relu_f32(*x));
    }
}

/// `c = alpha * a @ b + beta * c` by `matrixmultiply`, split across threads
/// when the product is large enough.
///
/// # Safety
/// As for `gemm_ptr`.
unsafe fn portable(alpha: f32, a: MatRef, b: MatRef, beta: f32, c: *mut f32, threads: usize) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    if threads == 1 || m * n * k < PARALLEL_MIN_FLOPS {
        // SAFETY: the views were checked in bounds above, `c` holds m*n values
        // with row stride n, and nothing else accesses `c` during the call.
        unsafe { sgemm_raw(alpha, a, b, beta, c, 0, m, 0, n) };
        return;
    }
    // Split the larger output dimension into two blocks per thread (so a
    // thread that starts late, or a busy core, only means fewer blocks for
    // it), in multiples of 16. Each block is computed exactly as it would be
    // alone (same k order for every element), so the result does not depend
    // on the split or the number of threads.
    let c_ptr = SendPtr(c);
    let split_rows = m >= n;
    let len = if split_rows { m } else { n };
    let chunk = len.div_ceil(2 * threads).next_multiple_of(16).min(len);
    let parts = len.div_ceil(chunk);
    let body = move |i: usize| {
        let c_ptr = c_ptr;
        let (start, end) = (i * chunk, ((i + 1) * chunk).min(len));
        let (r0, r1, c0, c1) = if split_rows {
            (start, end, 0, n)
        } else {
            (0, m, start, end)
        };
        // SAFETY: blocks [r0,r1) x [c0,c1) of the m x n output are disjoint
        // between parts, so no element is written twice; the operands are
        // only read and were checked in bounds; `c` outlives `run_parts`.
        unsafe { sgemm_raw(alpha, a, b, beta, c_ptr.0, r0, r1, c0, c1) };
    };
    super::pool::run_parts(parts, threads, &body);
}

#[derive(Clone, Copy)]
struct SendPtr(*mut f32);
// SAFETY: used only to hand disjoint blocks of one output buffer to scoped tasks.
unsafe impl Send for SendPtr {}
unsafe impl Sync for SendPtr {}

impl SendPtr {
    /// The pointer (a method, so that closures capture the whole `SendPtr`,
    /// which is `Sync`, rather than the raw pointer field alone).
    fn get(self) -> *mut f32 {
        self.0
    }
}

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

    /// Measured where the AVX-512 kernel runs, a plausible rate (above a
    /// GFLOP/s, finite); nothing elsewhere.
    #[test]
    fn fma_peak_is_measured_where_the_avx512_kernel_runs() {
        let peak = fma_peak_gflops(1);
        match Kernel::detect() {
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512 => assert!(peak.is_some_and(|g| g.is_finite() && g > 1.0), "{peak:?}"),
            Kernel::Portable => assert_eq!(peak, None),
        }
    }

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

    /// Both kernels against an f64 product, over shapes with ragged edges
    /// (not multiples of the 14 x 32 tile), both operand layouts, offsets,
    /// k = 0 and 1, alpha and beta, and a NaN-filled output with beta = 0
    /// (which must be ignored, as BLAS and PyTorch do).
    #[test]
    fn every_kernel_matches_an_f64_product() {
        let mut kernels = vec![Kernel::Portable];
        #[cfg(target_arch = "x86_64")]
        if avx512::available() {
            kernels.push(Kernel::Avx512);
        }
        let mut g = crate::Generator::new(3);
        let shapes = [
            (1, 1, 1),
            (1, 0, 5),
            (3, 1, 2),
            (13, 17, 33),
            (64, 784, 10),
            (10, 64, 512),
            (25, 70, 100),
            (100, 9, 47),
            // One output column (a 1-output layer): the AVX-512 plan writes
            // C transposed, which with n = 1 has unit strides both ways.
            (64, 784, 1),
            (40, 64, 1),
        ];
        for kernel in kernels {
            for (m, k, n) in shapes {
                // (a transposed, b transposed, every other element: neither stride 1)
                for (a_t, b_t, gap) in [
                    (false, false, false),
                    (false, true, false),
                    (true, false, false),
                    (true, true, false),
                    (false, false, true),
                    (true, true, true),
                ] {
                    for (alpha, beta, with_bias) in [
                        (1.0, 0.0, false),
                        (0.5, 1.0, false),
                        (-2.0, 0.25, false),
                        (1.0, 0.0, true),
                        (0.5, 0.25, true),
                    ] {
                        let off = 3;
                        let bias_values: Vec<f32> = (0..n).map(|_| g.normal(0.0, 1.0)).collect();
                        let bias = with_bias.then_some(&bias_values[..]);
                        let a: Vec<f32> = (0..off + m * k).map(|_| g.normal(0.0, 1.0)).collect();
                        let b: Vec<f32> = (0..off + k * n).map(|_| g.normal(0.0, 1.0)).collect();
                        let (a, b) = if gap {
                            (
                                a.iter().flat_map(|&x| [x, f32::NAN]).collect::<Vec<f32>>(),
                                b.iter().flat_map(|&x| [x, f32::NAN]).collect::<Vec<f32>>(),
                            )
                        } else {
                            (a, b)
                        };
                        fn view(
                            data: &[f32],
                            rows: usize,
                            cols: usize,
                            t: bool,
                            off: usize,
                            gap: bool,
                        ) -> MatRef<'_> {
                            let mut v = if t {
                                MatRef::row_major(data, cols, rows).t()
                            } else {
                                MatRef::row_major(data, rows, cols)
                            };
                            v.offset = off;
                            if gap {
                                // Every stride doubled: the NaNs between are never read.
                                (v.offset, v.row_stride, v.col_stride) =
                                    (2 * off, 2 * v.row_stride, 2 * v.col_stride);
                            }
                            v
                        }
                        let (am, bm) =
                            (view(&a, m, k, a_t, off, gap), view(&b, k, n, b_t, off, gap));
                        let c0: Vec<f32> = if beta == 0.0 {
                            vec![f32::NAN; m * n]
                        } else {
                            (0..m * n).map(|_| g.normal(0.0, 1.0)).collect()
                        };
                        let mut c = c0.clone();
                        check(am, bm);
                        // SAFETY: checked above; `c` holds m*n initialised values.
                        unsafe {
                            gemm_ptr_with(kernel, alpha, am, bm, bias, false, beta, c.as_mut_ptr())
                        };
                        for i in 0..m {
                            for j in 0..n {
                                let mut want = 0f64;
                                for p in 0..k {
                                    let x =
                                        am.data[am.offset + i * am.row_stride + p * am.col_stride];
                                    let y =
                                        bm.data[bm.offset + p * bm.row_stride + j * bm.col_stride];
                                    want += x as f64 * y as f64;
                                }
                                want *= alpha as f64;
                                if beta != 0.0 {
                                    want += beta as f64 * c0[i * n + j] as f64;
                                }
                                if with_bias {
                                    want += bias_values[j] as f64;
                                }
                                let got = c[i * n + j] as f64;
                                assert!(
                                    (got - want).abs() <= 1e-5 * (1.0 + want.abs()) * (k as f64).sqrt().max(1.0),
                                    "{kernel:?} {m}x{k}x{n} a_t={a_t} b_t={b_t} gap={gap} alpha={alpha} beta={beta} bias={with_bias} at ({i},{j}): {got} vs {want}"
                                );
                            }
                        }
                    }
                }
            }
        }
    }

    /// Data whose rows are zero across whole 32-column panels here and there,
    /// as a batch of images is across its background.
    fn with_zero_runs(g: &mut crate::Generator, rows: usize, cols: usize) -> Vec<f32> {
        let mut x: Vec<f32> = (0..rows * cols).map(|_| g.normal(0.0, 1.0)).collect();
        for row in x.chunks_mut(cols) {
            for run in row.chunks_mut(32) {
                // All zero; zero in one half only (not to be skipped); a -0.0.
                let half = run.len().min(16);
                match g.uniform(0.0, 1.0) {
                    u if u < 0.3 => run.fill(0.0),
                    u if u < 0.4 => run[..half].fill(0.0),
                    u if u < 0.5 => run[half..].fill(0.0),
                    u if u < 0.6 => run[0] = -0.0,
                    _ => {}
                }
            }
        }
        x
    }

    /// A row-major `rows x cols` matrix stored the other way round.
    fn transpose(x: &[f32], rows: usize, cols: usize) -> Vec<f32> {
        (0..rows * cols)
            .map(|i| x[(i % rows) * cols + i / rows])
            .collect()
    }

    /// The AVX-512 kernel leaves out the steps against rows of its panel
    /// operand that are zero across the panel (`pack_nonzero_rows`). Each
    /// element is still exactly the chain of fused multiply-adds over all
    /// of k in order, then `alpha * acc + bias`, `+ beta * c`, ReLU: the
    /// skipped steps would have added nothing. For any thread count.
    #[test]
    fn skipped_zero_rows_give_the_full_chain_of_multiply_adds() {
        if Kernel::detect() == Kernel::Portable {
            return;
        }
        let mut g = crate::Generator::new(11);
        // (m, k, n, x transposed), a stored transposed (zero rows are
        // skipped only when its columns are contiguous): the first layer's
        // weight gradient, g^T @ x; a product with a bias and ReLU; a ragged
        // one (last panel 13 wide); then with x stored transposed, so that
        // its panels are transposed in registers before their zero rows go:
        // a hidden layer's input gradient W^T @ g^T, with a bias and ReLU, ragged.
        for (m, k, n, x_t, bias, relu) in [
            (512, 64, 784, false, false, false),
            (100, 40, 70, false, true, true),
            (45, 30, 77, false, false, true),
            (512, 512, 64, true, false, false),
            (100, 40, 70, true, true, true),
            (30, 45, 77, true, false, false),
        ] {
            // a is k x m in memory, used as its transpose.
            let a: Vec<f32> = (0..m * k).map(|_| g.normal(0.0, 1.0)).collect();
            let x = with_zero_runs(&mut g, k, n);
            let x_stored = transpose(&x, k, n);
            let bias_values: Vec<f32> = (0..n).map(|_| g.normal(0.0, 1.0)).collect();
            let c0: Vec<f32> = (0..m * n).map(|_| g.normal(0.0, 1.0)).collect();
            let am = MatRef::row_major(&a, k, m).t();
            let xm = if x_t {
                MatRef::row_major(&x_stored, n, k).t()
            } else {
                MatRef::row_major(&x, k, n)
            };
            let bias = bias.then_some(&bias_values[..]);
            for (alpha, beta) in [(1.0f32, 0.0f32), (0.5, 1.0)] {
                let mut want = Vec::with_capacity(m * n);
                for i in 0..m {
                    for j in 0..n {
                        let acc = (0..k).fold(0.0f32, |acc, p| {
                            let y = x[p * n + j];
                            let a = a[p * m + i];
                            a.mul_add(y, acc)
                        });
                        let mut v = alpha.mul_add(acc, bias.map_or(0.0, |b| b[j]));
                        if beta != 0.0 {
                            v = beta.mul_add(c0[i * n + j], v);
                        }
                        want.push(if relu { relu_f32(v) } else { v });
                    }
                }
                for threads in [1, 2, 3] {
                    let pool = rayon::ThreadPoolBuilder::new()
                        .num_threads(threads)
                        .build()
                        .unwrap();
                    let mut c = c0.clone();
                    check(am, xm);
                    // SAFETY: checked above; `c` holds m*n initialised values.
                    pool.install(|| unsafe {
                        gemm_ptr_with(
                            Kernel::detect(),
                            alpha,
                            am,
                            xm,
                            bias,
                            relu,
                            beta,
                            c.as_mut_ptr(),
                        )
                    });
                    for (idx, (got, want)) in c.iter().zip(&want).enumerate() {
                        assert_eq!(
                            got.to_bits(),
                            want.to_bits(),
                            "{m}x{k}x{n} alpha={alpha} beta={beta} threads={threads} at {idx}: {got} vs {want}"
                        );
                    }
                }
            }
        }
    }

    /// An infinity or NaN in one operand times a zero in the other is NaN,
    /// in PyTorch and here: the zero rows the AVX-512 kernel would skip are
    /// multiplied when the other operand is not finite.
    #[test]
    fn a_non_finite_value_meeting_zero_rows_still_gives_nan() {
        let mut g = crate::Generator::new(12);
        // The first layer's weight gradient (x's rows contiguous) and a
        // hidden layer's input gradient (x stored transposed, its panels
        // transposed in registers); a stored transposed in both.
        for (m, k, n, transposed) in [(512, 64, 784, false), (512, 512, 64, true)] {
            for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
                let mut a: Vec<f32> = (0..k * m).map(|_| g.normal(0.0, 1.0)).collect();
                let mut x = with_zero_runs(&mut g, k, n);
                // Row 5 of x all zero; a's (7, 5) non-finite.
                x[5 * n..6 * n].fill(0.0);
                a[5 * m + 7] = bad;
                let am = MatRef::row_major(&a, k, m).t();
                let x_t = transpose(&x, k, n);
                let xm = if transposed {
                    MatRef::row_major(&x_t, n, k).t()
                } else {
                    MatRef::row_major(&x, k, n)
                };
                for threads in [1, 2] {
                    let pool = rayon::ThreadPoolBuilder::new()
                        .num_threads(threads)
                        .build()
                        .unwrap();
                    let c = pool.install(|| gemm_new(am, xm));
                    for i in 0..m {
                        for j in 0..n {
                            let v = c[i * n + j];
                            assert_eq!(
                                v.is_nan(),
                                i == 7,
                                "{m}x{k}x{n} {bad} threads={threads} at ({i},{j}): {v}"
                            );
                        }
                    }
                }
            }
        }
    }

    /// Views whose extent overflows `usize` are refused (`MatRef`'s fields
    /// are public): a wrapped size must not pass the bounds check.
    #[test]
    fn views_that_overflow_are_refused() {
        let one = [1.0f32; 3];
        let huge = MatRef {
            rows: 1 << 32,
            cols: 1,
            row_stride: 0,
            col_stride: 0,
            ..MatRef::row_major(&one, 1, 1)
        };
        let wide = MatRef {
            rows: 1,
            cols: 1 << 32,
            row_stride: 0,
            col_stride: 0,
            ..MatRef::row_major(&one, 1, 1)
        };
        let r = std::panic::catch_unwind(|| gemm(1.0, huge, wide, 0.0, &mut []));
        assert!(r.is_err(), "a 2^32 x 2^32 product into an empty buffer");
        let wrapping = MatRef {
            rows: 4,
            row_stride: (usize::MAX / 3) + 1,
            ..MatRef::row_major(&one, 1, 1)
        };
        assert!(!wrapping.in_bounds());
    }

    /// Splitting the output across threads must not change a single bit:
    /// results for a seed are reproducible whatever the thread count.
    #[test]
    fn results_are_bitwise_the_same_for_any_thread_count() {
        let mut g = crate::Generator::new(7);
        let mut values = |n: usize| (0..n).map(|_| g.normal(0.0, 1.0)).collect::<Vec<f32>>();
        // The training step's shapes: forward, input gradient, weight gradient.
        for (m, k, n, a_t, b_t) in [
            (64, 784, 512, false, true),
            (64, 512, 784, false, false),
            (512, 64, 784, true, false),
            (40, 300, 200, false, false),
            // Panels too large to pack per thread (packed once, shared).
            (300, 600, 300, false, false),
            (20, 900, 400, true, true),
        ] {
            let (a, b, c0) = (values(m * k), values(k * n), values(m * n));
            let am = if a_t {
                MatRef::row_major(&a, k, m).t()
            } else {
                MatRef::row_major(&a, m, k)
            };
            let bm = if b_t {
                MatRef::row_major(&b, n, k).t()
            } else {
                MatRef::row_major(&b, k, n)
            };
            let run = |threads: usize, beta: f32| {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap();
                let mut c = c0.clone();
                pool.install(|| gemm(0.5, am, bm, beta, &mut c));
                c.iter().map(|x| x.to_bits()).collect::<Vec<u32>>()
            };
            for beta in [0.0, 1.0] {
                let one = run(1, beta);
                assert_eq!(one, run(2, beta), "{m}x{k}x{n}, 2 threads");
                assert_eq!(one, run(3, beta), "{m}x{k}x{n}, 3 threads");
                assert_eq!(one, run(2, beta), "{m}x{k}x{n}, run to run");
            }
        }
    }
}
