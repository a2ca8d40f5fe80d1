//! The AVX-512 sgemm, chosen at run time when the CPU has `avx512f`
//! (docs/decisions.md: "Own AVX-512 GEMM").
//!
//! The shapes of a batch-64 training step are short and wide (64 x 784 @
//! 784 x 512), so the classic approach of packing both operands spends much
//! of its time packing the 1.6 MB weight, which 64 rows reuse little. Here
//! only the operand that must be read as 32-wide rows (the "panel" operand)
//! is packed, into 64-byte aligned panels; the other is read in place through
//! its strides and broadcast element by element (or, where its steps lie far
//! apart and many panels reuse them, from a small copy: `packs_broadcast_rows`).
//! Of `C = A B` and `C^T = B^T A^T` the plan takes the one whose panel operand
//! is cheaper to pack, which makes the small activation matrix the packed one
//! and leaves the weight in place; a transposed result is transposed in
//! registers.
//!
//! Every element of C is one chain of fused multiply-adds over `p = 0..k` in
//! order, then `alpha * acc + beta * c`: the result does not depend on how
//! the work is split between threads. Steps against a row of the panel
//! operand that is zero across the whole panel are left out when the other
//! operand is finite (`pack_nonzero_rows`, `compact_zero_rows`; for a
//! broadcast operand with contiguous columns, `skips_zero_rows`): they would
//! add exactly nothing.

use std::arch::x86_64::*;
use std::cell::RefCell;
use std::ops::Range;

use super::{MatRef, SendPtr};

/// Rows of a micro-tile (broadcast operand).
const MR: usize = 14;
/// Columns of a micro-tile: two 16-lane vectors.
const NR: usize = 32;
/// Steps before the end of a tile's loop at which its lines of C are fetched.
const C_AHEAD: usize = 24;

/// Products smaller than this many multiply-adds run on one thread. The
/// 10-class layer's forward (64 x 512 x 10, 327,680) is split in two panels:
/// 9.4 -> 5.6 us at 2 threads on the Xeon (it once took 1.4-2x as long split,
/// on the Zen 4 with an older kernel).
pub(super) const PARALLEL_MIN_FLOPS: usize = 1 << 18;

/// Two independent products smaller than this (`gemm::side_by_side`) run one
/// per thread: the 10-class layer's two backward products each split took
/// the step 2.8 us longer than side by side (the Xeon, 2026-12-06).
pub(super) const SIDE_BY_SIDE_BELOW: usize = 1 << 19;

/// Layouts of the broadcast operand, for `Tile::kernel_with`: rows contiguous
/// (`a_cs == 1`), columns contiguous (`a_rs == 1`), neither, or copied one
/// column to a line (`pack_broadcast_rows`: `a_rs == 1`, `a_cs == 16`).
const ROWS_CONTIGUOUS: u8 = 0;
const COLUMNS_CONTIGUOUS: u8 = 1;
const STRIDED: u8 = 2;
const PACKED_COLUMNS: u8 = 3;

/// Where a tile's row `r` of a broadcast operand with contiguous rows is read
/// (`Tile::kernel_with`): `(b, m)` is row `3 * b + m`, at `m` row strides
/// from the pointer to row `3 * b`. With `m` in {0, 1, 2, 4, 8}, an x86 load
/// takes that address in one instruction from the pointer and one register
/// holding the stride in bytes, so a step costs five pointer increments.
/// Addressed from one pointer, the rows took a chain of 13 adds a step, which
/// made the forward products 3-6% slower (a standalone loop with the stride a
/// constant, where LLVM folds the offsets, was 2-3% faster still).
const ROW_BASES: [(usize, isize); MR] = [
    (0, 0),
    (0, 1),
    (0, 2),
    (1, 0),
    (0, 4),
    (1, 2),
    (2, 0),
    (1, 4),
    (0, 8),
    (3, 0),
    (2, 4),
    (1, 8),
    (4, 0),
    (3, 4),
];

/// `p`, through an empty `asm!` that LLVM cannot see into, so that it cannot
/// tell how `p` relates to other values: without it, LLVM rebuilt the row
/// pointers of `ROW_BASES` from one pointer with its chain of adds.
#[inline(always)]
#[allow(clippy::pointers_in_nomem_asm_block)] // passed through, never read
fn hidden(mut p: *const f32) -> *const f32 {
    // SAFETY: the template is empty: no instruction, no memory touched.
    unsafe {
        std::arch::asm!("/* {0} */", inout(reg) p, options(pure, nomem, nostack, preserves_flags))
    };
    p
}

/// As `hidden`, for the stride in bytes.
#[inline(always)]
fn hidden_stride(mut x: isize) -> isize {
    // SAFETY: as in `hidden`.
    unsafe {
        std::arch::asm!("/* {0} */", inout(reg) x, options(pure, nomem, nostack, preserves_flags))
    };
    x
}

/// Bytes of packed panels that a block of broadcast rows is streamed against.
const PANELS_IN_L2: usize = 512 * 1024;

/// 64 bytes, so that a `Vec<Line>` is cache-line aligned.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Line([f32; 16]);

thread_local! {
    /// Packed panels, kept between calls so that a training step allocates nothing.
    static PACKED: RefCell<Vec<Line>> = const { RefCell::new(Vec::new()) };
    /// A block of broadcast rows, one step to a line (`pack_broadcast_rows`).
    static BROADCAST_ROWS: RefCell<Vec<Line>> = const { RefCell::new(Vec::new()) };
    /// For panels packed without their zero rows (`Skips`).
    static SKIPS: RefCell<Skips> = const {
        RefCell::new(Skips { kept: Vec::new(), counts: Vec::new(), skipped: Vec::new() })
    };
}

/// For panels packed without their zero rows (`pack_nonzero_rows`,
/// `compact_zero_rows`): the rows kept (panel `jp`'s from `jp * k`), how many
/// each panel kept, and which rows some panel left out (a bit per row, 16 to
/// a word), whose columns of the broadcast operand must then be finite.
struct Skips {
    kept: Vec<u32>,
    counts: Vec<usize>,
    skipped: Vec<u16>,
}

pub(super) fn available() -> bool {
    std::arch::is_x86_feature_detected!("avx512f")
}

/// A strided view by raw pointer (already checked in bounds by the caller).
#[derive(Clone, Copy)]
struct View {
    ptr: *const f32,
    rows: usize,
    cols: usize,
    rs: isize,
    cs: isize,
}

// SAFETY: a view is only read, and its data outlives the parallel call that
// shares it (the caller waits for every part).
unsafe impl Send for View {}
unsafe impl Sync for View {}

impl View {
    fn of(m: MatRef) -> View {
        View {
            // SAFETY (of the pointer arithmetic): `offset` lies inside `data`
            // or the view is empty, checked by the caller.
            ptr: m.data.as_ptr().wrapping_add(m.offset),
            rows: m.rows,
            cols: m.cols,
            rs: m.row_stride as isize,
            cs: m.col_stride as isize,
        }
    }

    fn t(self) -> View {
        View {
            rows: self.cols,
            cols: self.rows,
            rs: self.cs,
            cs: self.rs,
            ..self
        }
    }
}

/// Estimated cost of `bcast @ panel`, used only to pick the orientation:
/// 12 per step of a micro-tile (set when tiles had 12 rows; the step's shapes
/// still get the orientation measured faster), plus packing `panel` (a tenth of a
/// cycle per value when its rows are contiguous, a third when it is
/// transposed in registers), plus a third per value of a transposed result.
fn cost(bcast: View, panel: View, transposed: bool) -> f64 {
    let (m, k, n) = (bcast.rows, bcast.cols, panel.cols);
    let steps = m.div_ceil(MR) * n.div_ceil(NR) * k;
    let pack = (k * n) as f64 * if panel.cs == 1 { 0.1 } else { 0.3 };
    let out = if transposed {
        (m * n) as f64 * 0.3
    } else {
        0.0
    };
    12.0 * steps as f64 + pack + out
}

/// `c = alpha * a @ b + bias + beta * c` with `c` row-major `a.rows x b.cols`
/// and `bias` (if any) `b.cols` values added to every row; then, with `relu`,
/// `max(c, 0)` (NaN stays NaN, as in PyTorch).
///
/// # Safety
/// `avx512f` must be available (`available()`); the views must be in bounds;
/// `c` must point to `a.rows * b.cols` writable values, initialised unless
/// `beta == 0`, that nobody else accesses during the call.
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn gemm(
    alpha: f32,
    a: MatRef,
    b: MatRef,
    bias: Option<&[f32]>,
    relu: bool,
    beta: f32,
    c: *mut f32,
    threads: usize,
) {
    let n = b.cols;
    let (a, b) = (View::of(a), View::of(b));
    // C = A B, written row by row; or C^T = B^T A^T, transposed on the way out.
    let transposed = cost(a, b, false) > cost(b.t(), a.t(), true);
    let (bcast, panel, c_rs, c_cs) = if transposed {
        (b.t(), a.t(), 1, n as isize)
    } else {
        (a, b, n as isize, 1)
    };
    let panels = panel.cols.div_ceil(NR);
    let job = Job {
        alpha,
        beta,
        bcast,
        k: panel.rows,
        panels,
        cols: panel.cols,
        panel,
        in_place: panel.cs == 1 && bcast.rows <= MR,
        c: SendPtr(c),
        c_rs,
        c_cs,
        transposed,
        bias: SendPtr(bias.map_or(std::ptr::null_mut(), |b| b.as_ptr().cast_mut())),
        relu,
    };
    // SAFETY: forwarded from the caller.
    unsafe { job.run(threads) };
}

/// Whether a panel of `cols` columns is read where it is rather than from the
/// packed buffer: with `in_place` (`Job::in_place`), whole panels only.
fn reads_in_place(in_place: bool, cols: usize) -> bool {
    in_place && cols == NR
}

/// Runs `f` with this thread's `buffer`, grown to hold `lines` lines (64-byte
/// aligned). Every value a product reads from one is written first (by its
/// packing), so a buffer is filled only when it grows.
fn with_lines<R>(
    buffer: &'static std::thread::LocalKey<RefCell<Vec<Line>>>,
    lines: usize,
    f: impl FnOnce(*mut f32) -> R,
) -> R {
    buffer.with(|buffer| {
        let mut buffer = buffer.borrow_mut();
        if buffer.len() < lines {
            buffer.resize(lines, Line([0.0; 16]));
        }
        f(buffer.as_mut_ptr().cast::<f32>())
    })
}

/// Runs `f` with this thread's panel buffer, grown to hold `lines` lines.
fn with_packed<R>(lines: usize, f: impl FnOnce(SendPtr) -> R) -> R {
    with_lines(&PACKED, lines, |packed| f(SendPtr(packed)))
}

/// Runs `f` with this thread's `Skips`, grown to hold `panels` panels of `k`
/// rows, no row marked skipped.
fn with_skips<R>(panels: usize, k: usize, f: impl FnOnce(&mut Skips) -> R) -> R {
    SKIPS.with(|skips| {
        let skips = &mut *skips.borrow_mut();
        if skips.kept.len() < panels * k {
            skips.kept.resize(panels * k, 0);
        }
        if skips.counts.len() < panels {
            skips.counts.resize(panels, 0);
        }
        skips.skipped.clear();
        skips.skipped.resize(k.div_ceil(16), 0);
        f(skips)
    })
}

/// GFLOP/s of the micro-kernel's inner loop with nothing to wait for, on
/// each of `threads` threads at once (summed): a whole tile's 28
/// accumulators, its 14 broadcasts read from L1 and its two panel vectors
/// held in registers, the instructions of a step of `Tile::kernel_with` less
/// the panel loads. No product can run faster on this machine at this
/// moment (these VMs' clocks drift): `cargo xtask bench` reports the
/// epoch's throughput against it. Best of 5 runs of about 50M multiply-adds.
pub(super) fn peak_gflops(threads: usize) -> f64 {
    const STEPS: usize = 1 << 21;
    let threads = threads.max(1);
    let run = |_| {
        // SAFETY: `peak_gflops` is only called where `available()`.
        std::hint::black_box(unsafe { register_steps(STEPS) });
    };
    // Timed from outside, so that parts that ran one after the other (a
    // helper that did not wake) count as the slower rate they give.
    let best = (0..5)
        .map(|_| {
            let start = std::time::Instant::now();
            super::super::pool::run_parts(threads, threads, &run);
            start.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min);
    (threads * STEPS * MR * NR * 2) as f64 / best / 1e9
}

/// `steps` steps of a 14 x 32 tile against fixed panel values (see
/// `peak_gflops`); returns a sum of the accumulators, so that none is idle.
///
/// # Safety
/// `avx512f` must be available.
#[target_feature(enable = "avx512f")]
unsafe fn register_steps(steps: usize) -> f32 {
    let a = [1.0f32 - 1e-7; MR];
    let bv = [_mm512_set1_ps(1.0 + 1e-7); 2];
    let mut acc = [[_mm512_setzero_ps(); 2]; MR];
    for _ in 0..steps {
        // Read through an opaque pointer, as the kernel reads its operand,
        // so that the broadcasts stay in the loop.
        let a = std::hint::black_box(a.as_ptr());
        for (r, acc) in acc.iter_mut().enumerate() {
            // SAFETY: r < MR, inside `a`.
            let x = _mm512_set1_ps(unsafe { *a.add(r) });
            for (acc, &b) in acc.iter_mut().zip(&bv) {
                *acc = _mm512_fmadd_ps(x, b, *acc);
            }
        }
    }
    let sum = acc
        .iter()
        .flatten()
        .fold(_mm512_setzero_ps(), |s, &v| _mm512_add_ps(s, v));
    _mm512_reduce_add_ps(sum)
}

/// Whether a row of a panel, as two 16-lane halves, is zero in every lane.
/// Ordered compare: a NaN is not zero, and -0.0 is.
#[target_feature(enable = "avx512f")]
fn is_zero_row(halves: [__m512; 2]) -> bool {
    let zero = _mm512_setzero_ps();
    let zeros = halves.map(|half| _mm512_cmp_ps_mask::<_CMP_EQ_OQ>(half, zero));
    zeros == [0xffff, 0xffff]
}

/// Marks row `p` as left out by some panel, in `skipped` (a bit per row).
///
/// # Safety
/// `skipped` holds at least `p / 16 + 1` words.
unsafe fn mark_skipped(skipped: *mut u16, p: usize) {
    *skipped.add(p / 16) |= 1 << (p % 16);
}

/// Packs panel `jp` of `v` (k x n, rows contiguous) as `pack_rows` does, but
/// leaves out the rows that are zero across the panel's columns: the kept
/// rows are packed one after the other, their indices written to `kept`, and
/// their number returned; the others are marked in `skipped`. A step of the
/// micro-kernel against a zero row adds `a * 0` to each accumulator, which
/// leaves it as it is when `a` is finite, so skipping those steps changes
/// nothing (the caller checks `a`: `skipped_are_finite`). Batches of images
/// are where this pays: in FashionMNIST 13% of the (image, 32 pixels) pairs
/// are background, and the first layer's weight gradient, `g^T @ x`, has the
/// images as its panel operand.
///
/// # Safety
/// As for `pack_rows` with `p0..p1 = 0..k` and `v.cs == 1`; `kept` has room
/// for `k` values, `skipped` for `k` bits.
#[target_feature(enable = "avx512f")]
unsafe fn pack_nonzero_rows(
    v: View,
    dst: *mut f32,
    jp: usize,
    kept: *mut u32,
    skipped: *mut u16,
) -> usize {
    let (k, n) = (v.rows, v.cols);
    let j0 = jp * NR;
    let width = (n - j0).min(NR);
    let masks = [lanes(width), lanes(width.saturating_sub(16))];
    let panel = dst.add(jp * k * NR);
    let mut count = 0;
    for p in 0..k {
        // SAFETY: row p, columns j0..j0+width are in the view (the masks
        // cover no lane past them).
        let row = v.ptr.offset(p as isize * v.rs + j0 as isize);
        let halves = [0, 1].map(|h| _mm512_maskz_loadu_ps(masks[h], row.wrapping_add(16 * h)));
        if is_zero_row(halves) {
            mark_skipped(skipped, p);
            continue;
        }
        for (h, half) in halves.into_iter().enumerate() {
            _mm512_store_ps(panel.add(count * NR + 16 * h), half);
        }
        *kept.add(count) = p as u32;
        count += 1;
    }
    count
}

/// Removes the zero rows from panel `jp` of `dst` (k rows, packed by
/// `pack_rows`), moving the others up in order: as `pack_nonzero_rows`, for
/// panels packed some other way (transposed in registers). The activations
/// of a ReLU and their gradients have such rows where a unit is off for all
/// 32 samples of a panel: 6% of the first hidden layer's (unit, 32 samples)
/// pairs in the tutorial, 11-13% of the second's.
///
/// # Safety
/// `avx512f` must be available; panel `jp` of `dst` is packed and ours;
/// `kept` has room for `k` values, `skipped` for `k` bits.
#[target_feature(enable = "avx512f")]
unsafe fn compact_zero_rows(
    dst: *mut f32,
    jp: usize,
    k: usize,
    kept: *mut u32,
    skipped: *mut u16,
) -> usize {
    let panel = dst.add(jp * k * NR);
    let mut count = 0;
    for p in 0..k {
        // SAFETY: row p of the panel, NR aligned values.
        let halves = [0, 1].map(|h| _mm512_load_ps(panel.add(p * NR + 16 * h)));
        if is_zero_row(halves) {
            mark_skipped(skipped, p);
            continue;
        }
        if count < p {
            for (h, half) in halves.into_iter().enumerate() {
                _mm512_store_ps(panel.add(count * NR + 16 * h), half);
            }
        }
        *kept.add(count) = p as u32;
        count += 1;
    }
    count
}

/// Whether steps against the zero rows of the panels are left out for this
/// broadcast operand: only when its columns are contiguous (a transposed
/// activation or weight, as in the weight and input gradients), and it has a
/// whole tile of rows. With its rows contiguous (a weight in the forward) the
/// R addresses of a step take more registers than are left, and the loop
/// that looks up each step's column ran 13% slower than the one that walks
/// them, more than it saved. With fewer rows, the pass that finds the zero
/// rows costs more than the steps it saves (1 x 4096 @ 4096 x 64, panel
/// transposed: 56 us against 45 without).
fn skips_zero_rows(bcast: View) -> bool {
    bcast.rs == 1 && bcast.rows >= MR
}

/// Whether the elements of rows `r0..r1` of `v` in the columns marked in
/// `skipped` (a bit per column) are all finite (no infinity, no NaN): those
/// that would have met the skipped zero rows.
///
/// # Safety
/// `v` must be in bounds, with its columns contiguous (`v.rs == 1`), those
/// rows exist, and no bit is set for a column past `v.cols`.
unsafe fn skipped_are_finite(v: View, r0: usize, r1: usize, skipped: &[u16]) -> bool {
    // An all-ones exponent is an infinity or a NaN.
    const EXP: u32 = 0x7f80_0000;
    debug_assert_eq!(v.rs, 1);
    (0..v.cols)
        .filter(|&p| skipped[p / 16] >> (p % 16) & 1 != 0)
        .all(|p| {
            // SAFETY: rows r0..r1 of column p, contiguous (forwarded).
            let column = unsafe {
                std::slice::from_raw_parts(v.ptr.offset(p as isize * v.cs + r0 as isize), r1 - r0)
            };
            // Or-ed together without a branch per value, so that it vectorises.
            !column
                .iter()
                .fold(false, |bad, x| bad | (x.to_bits() & EXP == EXP))
        })
}

/// Whether a block of broadcast rows is copied, one step to a 64-byte line,
/// before it meets the panels (`pack_broadcast_rows`): when a step's values
/// lie together but the steps lie a row of the matrix apart (columns
/// contiguous: a transposed gradient, whose rows are 2 KB apart in the
/// tutorial), the steps of a tile fall in few of L1's sets, more of them
/// than those sets hold, and each was read again from L2 by every panel. Only
/// when 4 or more panels reuse the copy, and it is small (k <= 1024 lines).
/// Measured: the weight gradients 512x64 @ 64x512 and @ 64x784 6-12% faster;
/// the input gradient (two panels, k = 512, the copy pushed out of L1 by the
/// panels) 10-15% slower with a copy.
fn packs_broadcast_rows(bcast: View, panels: usize) -> bool {
    bcast.rs == 1 && panels >= 4 && bcast.cols <= 1024
}

/// Copies rows `i..i + rows` of `a` (columns contiguous) to `dst`, column
/// `p` to line `p`: element `(i + r, p)` at `dst[16 * p + r]`, the lanes
/// past `rows` zero.
///
/// # Safety
/// `avx512f` must be available; `a` is in bounds with `a.rs == 1` and rows
/// `i..i + rows` (`rows <= 16`); `dst` is 64-byte aligned with room for
/// `a.cols` lines, and ours.
#[target_feature(enable = "avx512f")]
unsafe fn pack_broadcast_rows(a: View, i: usize, rows: usize, dst: *mut f32) {
    let mask = lanes(rows);
    for p in 0..a.cols {
        // SAFETY: `rows` values of column p from row i, contiguous (the mask
        // covers no lane past them); line p of `dst`.
        let column = a.ptr.offset(i as isize + p as isize * a.cs);
        _mm512_store_ps(dst.add(16 * p), _mm512_maskz_loadu_ps(mask, column));
    }
}

/// Copies rows `p0..p1` of panel `jp` of `v` (k x n) into `dst`, which holds
/// `n.div_ceil(NR)` panels of `k x NR` values: rows of a panel contiguous, zero-padded
/// past column n.
///
/// # Safety
/// `avx512f` must be available; `v` must be in bounds; `dst` must have room
/// for the panels, and this part of it must not be accessed by anyone else.
#[target_feature(enable = "avx512f")]
unsafe fn pack_rows(v: View, dst: *mut f32, jp: usize, p0: usize, p1: usize) {
    let (k, n) = (v.rows, v.cols);
    let j0 = jp * NR;
    let width = (n - j0).min(NR);
    let panel = dst.add(jp * k * NR);
    for h in 0..2 {
        let cols = width.saturating_sub(16 * h).min(16);
        let half = panel.add(16 * h);
        let first = j0 + 16 * h;
        if v.cs == 1 {
            // Rows of the view are contiguous: one (masked) load per row.
            let mask = lanes(cols);
            for p in p0..p1 {
                // SAFETY: row p, columns first..first+cols are in the view.
                let src = v.ptr.offset(p as isize * v.rs + first as isize);
                _mm512_store_ps(half.add(p * NR), _mm512_maskz_loadu_ps(mask, src));
            }
        } else if v.rs == 1 {
            // Columns are contiguous (a transposed row-major matrix):
            // load 16 columns of 16 values and transpose them in registers.
            let mut p = p0;
            if cols == 16 {
                // Whole 16 x 16 blocks (all but the edges): no masks or
                // branches, so the block stays in registers.
                while p + 16 <= p1 {
                    let block: [__m512; 16] = std::array::from_fn(|q| {
                        // SAFETY: column first+q, rows p..p+16 are in the view.
                        _mm512_loadu_ps(v.ptr.offset((first + q) as isize * v.cs + p as isize))
                    });
                    let rows = transpose16(block);
                    for (dp, row) in rows.into_iter().enumerate() {
                        _mm512_store_ps(half.add((p + dp) * NR), row);
                    }
                    p += 16;
                }
            }
            while p < p1 {
                let rows = (p1 - p).min(16);
                let mask = lanes(rows);
                let block: [__m512; 16] = std::array::from_fn(|q| {
                    if q < cols {
                        // SAFETY: column first+q, rows p..p+rows are in the view.
                        let src = v.ptr.offset((first + q) as isize * v.cs + p as isize);
                        _mm512_maskz_loadu_ps(mask, src)
                    } else {
                        _mm512_setzero_ps()
                    }
                });
                for (dp, row) in transpose16(block).iter().enumerate().take(rows) {
                    _mm512_store_ps(half.add((p + dp) * NR), *row);
                }
                p += rows;
            }
        } else {
            for p in p0..p1 {
                let row: [f32; 16] = std::array::from_fn(|q| {
                    if q < cols {
                        // SAFETY: (p, first+q) is in the view.
                        *v.ptr
                            .offset(p as isize * v.rs + (first + q) as isize * v.cs)
                    } else {
                        0.0
                    }
                });
                _mm512_store_ps(half.add(p * NR), _mm512_loadu_ps(row.as_ptr()));
            }
        }
    }
}

/// One product after packing: `bcast` (M x k) times the packed panels (k x N)
/// into C at `c[i * c_rs + j * c_cs]`.
#[derive(Clone, Copy)]
struct Job {
    alpha: f32,
    beta: f32,
    bcast: View,
    k: usize,
    panels: usize,
    cols: usize,
    /// The panel operand (`k x cols`).
    panel: View,
    /// Whether whole panels are read where they are, through `panel`'s row
    /// stride, rather than packed: when its rows are contiguous and one
    /// block of broadcast rows reads each panel once, so that a packed copy
    /// would not be reused. (The 10-class layer's weight gradient, 10 x 64
    /// @ 64 x 512, took half the time. Read in place by 37 row blocks, the
    /// 512 x 64 @ 64 x 784 one was 1% slower than packed.)
    in_place: bool,
    c: SendPtr,
    c_rs: isize,
    c_cs: isize,
    /// Whether the tiles are of C^T (each tile's rows are columns of C, and
    /// `store` transposes them): the strides cannot tell when C has one
    /// column (both are 1).
    transposed: bool,
    /// One value per column of C, or null. Only read.
    bias: SendPtr,
    relu: bool,
}

impl Job {
    /// Packs the panels not read in place and multiplies, on up to `threads`
    /// threads.
    ///
    /// # Safety
    /// As for `gemm`.
    unsafe fn run(self, threads: usize) {
        let panel = self.panel;
        let rows = self.bcast.rows;
        if rows == 0 || self.cols == 0 {
            return;
        }
        let (k, panels) = (self.k, self.panels);
        let lines = panels * k * (NR / 16);
        let row_blocks = rows.div_ceil(MR);
        // SAFETY (of every `pack`): `packed` holds `lines` lines, room for
        // every panel; each thread packs into its own buffer, or (shared
        // panels) into disjoint rows of the caller's before anyone reads them.
        let pack = |packed: SendPtr, jp: usize, p0: usize, p1: usize| unsafe {
            pack_rows(panel, packed.get(), jp, p0, p1)
        };
        // One part per thread along whichever of rows and panels has more
        // blocks; one part in all for a small product. One part each, not
        // more: part 0 is always the caller's (`pool::run_parts`), so it
        // takes the first rows of every product of a step, and the SGD
        // update splits the same way, so each core keeps working on the same
        // half of a weight in its own L2.
        // Measured, 2 threads: epochs 4% shorter than with two parts per
        // thread, 6% shorter than with four.
        let by_rows = row_blocks >= panels;
        let units = if by_rows { row_blocks } else { panels };
        let parts = if threads == 1 || rows * self.cols * k < PARALLEL_MIN_FLOPS {
            1
        } else {
            units.min(threads)
        };
        // Split by rows, the parts get equal numbers of rows, each ending in
        // a short tile (512 rows: 18 x 14 + 4 each), not whole tiles (252 and
        // 260 rows): on the Zen 4 the caller's wait for the helper at the end
        // of a step's products fell from 74 to 25 us per step, and 2-thread
        // epochs were 1-2% shorter. (A 4-row tile still runs at the FMA
        // peak there; on the Xeon, with two FMA units to keep busy, it did
        // not, and whole tiles were faster.)
        let range = move |i: usize| {
            if by_rows {
                (i * rows / parts, (i + 1) * rows / parts)
            } else {
                (i * units / parts, (i + 1) * units / parts)
            }
        };
        if parts == 1 || !by_rows || lines * 64 <= PANELS_IN_L2 {
            // Each part packs the panels it reads into its own thread's
            // buffer: all of them (small: 100-200 KB for the batch-64 shapes)
            // when split by rows. Packing them once, shared, made each core
            // read the other's half from the other core's cache on every
            // product: 10-15% slower at 2 threads.
            let body = move |i: usize| {
                let (u0, u1) = range(i);
                let ((r0, r1), (p0, p1)) = if by_rows {
                    ((u0, u1), (0, panels))
                } else {
                    ((0, rows), (u0, u1))
                };
                let packs = (p0..p1)
                    .filter(|&jp| !reads_in_place(self.in_place, (self.cols - jp * NR).min(NR)));
                with_packed(lines, |packed| {
                    with_skips(panels, k, |skips| {
                        let (rows_kept, counts) =
                            (skips.kept.as_mut_ptr(), skips.counts.as_mut_ptr());
                        let skipped = skips.skipped.as_mut_ptr();
                        let mut any = false;
                        if !skips_zero_rows(self.bcast) {
                            packs.clone().for_each(|jp| pack(packed, jp, 0, k));
                        } else {
                            for jp in packs.clone() {
                                // SAFETY: as `pack`, with k rows of room in
                                // `rows_kept` for each panel, a count each,
                                // and k bits in `skipped`.
                                unsafe {
                                    let kept = rows_kept.add(jp * k);
                                    let n = if panel.cs == 1 {
                                        pack_nonzero_rows(panel, packed.get(), jp, kept, skipped)
                                    } else {
                                        pack(packed, jp, 0, k);
                                        compact_zero_rows(packed.get(), jp, k, kept, skipped)
                                    };
                                    *counts.add(jp) = n;
                                    any |= n < k;
                                }
                            }
                        }
                        // SAFETY: rows r0..r1 of the broadcast operand exist;
                        // bits are set only for rows of the panels (its columns).
                        if any && !unsafe { skipped_are_finite(self.bcast, r0, r1, &skips.skipped) }
                        {
                            // An infinity or NaN times a skipped zero is
                            // NaN: pack every row, as PyTorch multiplies them.
                            packs.clone().for_each(|jp| pack(packed, jp, 0, k));
                            any = false;
                        }
                        let kept = if any {
                            Kept {
                                rows: rows_kept,
                                counts,
                            }
                        } else {
                            Kept::ALL
                        };
                        // SAFETY: the parts write disjoint blocks of C; the rest
                        // is forwarded from the caller, who waits for every part.
                        unsafe { self.block(packed, kept, r0, r1, p0, p1) }
                    })
                });
            };
            if parts == 1 {
                body(0);
            } else {
                super::super::pool::run_parts(parts, threads, &body);
            }
            return;
        }
        // Large panels, split by rows: packed once into the caller's buffer,
        // the packing split across threads (each panel in slices of 16 rows
        // or more, about one slice per thread in all), then shared.
        with_packed(lines, |packed| {
            let slices = threads.div_ceil(panels);
            let slice = k.div_ceil(slices).next_multiple_of(16).max(16);
            let per_panel = k.div_ceil(slice).max(1);
            let pack_part = move |i: usize| {
                let (jp, s) = (i / per_panel, i % per_panel);
                pack(packed, jp, s * slice, ((s + 1) * slice).min(k));
            };
            super::super::pool::run_parts(panels * per_panel, threads, &pack_part);
            let body = move |i: usize| {
                let (u0, u1) = range(i);
                // SAFETY: as above; every panel was packed before this call.
                unsafe { self.block(packed, Kept::ALL, u0, u1, 0, panels) }
            };
            super::super::pool::run_parts(parts, threads, &body);
        });
    }

    /// Rows `r0..r1` (in blocks of MR rows from `r0`) times panels `p0..p1`,
    /// packed in `packed` (panel `jp` at `jp * k * NR`), with the rows `kept`.
    ///
    /// # Safety
    /// As for `run`; panels `p0..p1` are packed as `kept` says; no one else
    /// writes this block of C meanwhile.
    unsafe fn block(self, packed: SendPtr, kept: Kept, r0: usize, r1: usize, p0: usize, p1: usize) {
        let a = self.bcast;
        let k = self.k;
        // The tiles of the block of rows from row `i` in `panels`, in one
        // call: a k = 64 tile is short enough that building and dispatching
        // each tile on its own showed in a profile.
        let rows_outer = (p1 - p0) * k * NR * 4 <= PANELS_IN_L2;
        let copy_rows = rows_outer && packs_broadcast_rows(a, p1 - p0);
        let tiles = |i: usize, panels: Range<usize>| {
            let rows = (r1 - i).min(MR);
            let first = Tile {
                k,
                a: a.ptr.offset(i as isize * a.rs),
                a_rs: a.rs,
                a_cs: a.cs,
                a_packed: false,
                b: packed.get(),
                b_src: if self.in_place {
                    self.panel.ptr
                } else {
                    std::ptr::null()
                },
                b_rs: self.panel.rs,
                kept,
                alpha: self.alpha,
                beta: self.beta,
                c: self.c.0.offset(i as isize * self.c_rs),
                c_rs: self.c_rs,
                c_cs: self.c_cs,
                transposed: self.transposed,
                cols: self.cols,
                // The bias follows C's columns: the tile's if C is written
                // as is, its rows' if transposed.
                bias: if self.bias.0.is_null() || !self.transposed {
                    self.bias.0.cast_const()
                } else {
                    self.bias.0.add(i).cast_const()
                },
                relu: self.relu,
            };
            if !copy_rows {
                // SAFETY: rows i..i+rows of `a` and all of C's columns exist;
                // the panels hold k x NR values each.
                return unsafe { first.run(rows, panels) };
            }
            with_lines(&BROADCAST_ROWS, k, |copy| {
                // SAFETY: rows i..i+rows <= MR of `a` exist, its columns
                // contiguous (`packs_broadcast_rows`); `copy` holds k lines.
                // Then as above, reading those rows from the copy.
                unsafe {
                    pack_broadcast_rows(a, i, rows, copy);
                    let tile = Tile {
                        a: copy.cast_const(),
                        a_rs: 1,
                        a_cs: 16,
                        a_packed: true,
                        ..first
                    };
                    tile.run(rows, panels)
                }
            })
        };
        // When all the panels fit in L2 (the batch-64 shapes: 100-200 KB),
        // keep a block of broadcast rows in L1 and stream the panels past it;
        // else keep one panel in cache and stream the broadcast rows.
        if rows_outer {
            for i in (r0..r1).step_by(MR) {
                tiles(i, p0..p1);
            }
        } else {
            for jp in p0..p1 {
                for i in (r0..r1).step_by(MR) {
                    tiles(i, jp..jp + 1);
                }
            }
        }
    }
}

/// Which rows of the packed panels are there: all of them, or for each panel
/// those listed (`pack_nonzero_rows`).
#[derive(Clone, Copy)]
struct Kept {
    /// Null (all rows), or panel `jp`'s kept rows from `jp * k`.
    rows: *const u32,
    /// The number of rows each panel kept.
    counts: *const usize,
}

impl Kept {
    const ALL: Kept = Kept {
        rows: std::ptr::null(),
        counts: std::ptr::null(),
    };

    /// Panel `jp`'s kept rows, or None when it has all `k` of them.
    ///
    /// # Safety
    /// Panel `jp` was packed as this says.
    unsafe fn of(self, jp: usize, k: usize) -> Option<(*const u32, usize)> {
        if self.rows.is_null() {
            return None;
        }
        let n = *self.counts.add(jp);
        (n < k).then(|| (self.rows.add(jp * k), n))
    }
}

/// One micro-tile: up to MR rows of the broadcast operand times one panel.
#[derive(Clone, Copy)]
struct Tile {
    k: usize,
    a: *const f32,
    a_rs: isize,
    a_cs: isize,
    /// Whether `a` is a copy in L1 (`pack_broadcast_rows`), not fetched ahead.
    a_packed: bool,
    /// The packed panels (panel `jp` at `jp * k * NR`).
    b: *const f32,
    /// Null, or the panel operand, whose whole panels are read in place
    /// (panel `jp` from column `jp * NR`, `b_rs` between rows).
    b_src: *const f32,
    /// `b_src`'s row stride.
    b_rs: isize,
    /// The rows the packed panels hold.
    kept: Kept,
    alpha: f32,
    beta: f32,
    c: *mut f32,
    c_rs: isize,
    c_cs: isize,
    /// As `Job::transposed`.
    transposed: bool,
    cols: usize,
    /// Null, or the bias of C's first column in this tile.
    bias: *const f32,
    relu: bool,
}

/// Where one panel's tile goes: C's first element, columns (at most NR) and
/// bias (null, or that of the tile's first column of C). Passed to the
/// micro-kernel on its own so that the `Tile` is not rebuilt for each panel
/// (its fields went through the stack: 1.5% of a weight-gradient product).
#[derive(Clone, Copy)]
struct Dest {
    c: *mut f32,
    cols: usize,
    bias: *const f32,
}

impl Tile {
    /// Runs the tiles of panels `panels` of this row block, `self` being its
    /// tile of panel 0 with `cols` all of C's columns.
    ///
    /// # Safety
    /// `rows <= MR` rows of `a` and `cols` columns of C from `c` are in
    /// bounds and ours; `b` points to room for k x NR panels, those of
    /// `panels` that are not read in place from `b_src` packed.
    unsafe fn run(&self, rows: usize, panels: Range<usize>) {
        // SAFETY (all arms): forwarded; avx512f was detected before any call.
        unsafe {
            match rows {
                14 => self.kernel::<14>(panels),
                13 => self.kernel::<13>(panels),
                12 => self.kernel::<12>(panels),
                11 => self.kernel::<11>(panels),
                10 => self.kernel::<10>(panels),
                9 => self.kernel::<9>(panels),
                8 => self.kernel::<8>(panels),
                7 => self.kernel::<7>(panels),
                6 => self.kernel::<6>(panels),
                5 => self.kernel::<5>(panels),
                4 => self.kernel::<4>(panels),
                3 => self.kernel::<3>(panels),
                2 => self.kernel::<2>(panels),
                _ => self.kernel::<1>(panels),
            }
        }
    }

    /// # Safety
    /// As for `run`, with `R` rows.
    #[target_feature(enable = "avx512f")]
    unsafe fn kernel<const R: usize>(&self, panels: Range<usize>) {
        if self.a_packed {
            self.kernels::<R, PACKED_COLUMNS>(panels)
        } else if self.a_cs == 1 {
            self.kernels::<R, ROWS_CONTIGUOUS>(panels)
        } else if self.a_rs == 1 {
            self.kernels::<R, COLUMNS_CONTIGUOUS>(panels)
        } else {
            self.kernels::<R, STRIDED>(panels)
        }
    }

    /// # Safety
    /// As for `run`, with `R` rows; `LAYOUT` must match the strides.
    #[target_feature(enable = "avx512f")]
    unsafe fn kernels<const R: usize, const LAYOUT: u8>(&self, panels: Range<usize>) {
        for jp in panels {
            let j = jp * NR;
            let cols = (self.cols - j).min(NR);
            let (b, b_rs, kept) = if reads_in_place(!self.b_src.is_null(), cols) {
                (self.b_src.add(j), self.b_rs, None)
            } else {
                (
                    self.b.add(jp * self.k * NR),
                    NR as isize,
                    self.kept.of(jp, self.k),
                )
            };
            let dest = Dest {
                c: self.c.offset(j as isize * self.c_cs),
                cols,
                bias: if self.bias.is_null() || self.transposed {
                    self.bias
                } else {
                    self.bias.add(j)
                },
            };
            // A last panel of 16 columns or fewer (the 784-column weight
            // gradient's) gets one vector per row, not two with one of zeros.
            match (cols <= 16, kept) {
                (true, None) => {
                    self.kernel_with::<R, LAYOUT, 1, false>(b, b_rs, dest, (std::ptr::null(), 0))
                }
                (false, None) => {
                    self.kernel_with::<R, LAYOUT, 2, false>(b, b_rs, dest, (std::ptr::null(), 0))
                }
                (true, Some(kept)) => self.kernel_with::<R, LAYOUT, 1, true>(b, b_rs, dest, kept),
                (false, Some(kept)) => self.kernel_with::<R, LAYOUT, 2, true>(b, b_rs, dest, kept),
            }
        }
    }

    /// The micro-kernel, for one layout of the broadcast operand (`LAYOUT`),
    /// `V` vectors of 16 columns wide: the tile of the panel at `b` (`b_rs`
    /// between its rows) into `dest`. With `INDEXED`, the panel holds only
    /// the `kept.1` rows listed at `kept.0` (steps of `a` against zero rows
    /// skipped); else all k.
    ///
    /// # Safety
    /// As for `run`, with `R` rows; `b` reaches k rows (`kept.1` with
    /// `INDEXED`) of `16 * V` readable values, `b_rs` apart; `dest` is the
    /// tile's block of C (`dest.cols <= 16 * V` columns, ours) and its bias
    /// (null, or a value per column of C in the tile); `LAYOUT` must match
    /// the strides.
    #[target_feature(enable = "avx512f")]
    #[inline]
    unsafe fn kernel_with<const R: usize, const LAYOUT: u8, const V: usize, const INDEXED: bool>(
        &self,
        mut b: *const f32,
        b_rs: isize,
        dest: Dest,
        kept: (*const u32, usize),
    ) {
        let steps = if INDEXED { kept.1 } else { self.k };
        let mut acc = [[_mm512_setzero_ps(); V]; R];
        let mut a = self.a;
        let last_row = (R - 1) as isize * self.a_rs;
        // With contiguous columns (the common case) the R addresses are
        // constant offsets from `a`; in a copy, so are the steps.
        let a_rs = if LAYOUT == COLUMNS_CONTIGUOUS || LAYOUT == PACKED_COLUMNS {
            1
        } else {
            self.a_rs
        };
        let a_cs = if LAYOUT == PACKED_COLUMNS {
            16
        } else {
            self.a_cs
        };
        // With contiguous rows, each row's value is read from one of five
        // pointers that step along together (`ROW_BASES`), a multiple of one
        // stride in bytes from it.
        let row_stride = hidden_stride(self.a_rs * 4);
        let mut bases: [*const f32; 5] =
            std::array::from_fn(|i| self.a.wrapping_offset(3 * i as isize * self.a_rs));
        let mut step = |p: usize| {
            if INDEXED {
                // SAFETY: p < kept.1, the number of rows listed.
                let row = unsafe { *kept.0.add(p) };
                a = self.a.wrapping_offset(row as isize * a_cs);
            }
            // The broadcast operand, read in place, comes often straight from
            // L3 (the weight, just updated by the optimizer), in R streams of
            // 4 bytes per step that the hardware prefetchers follow poorly:
            // fetch ahead by hand (not from a copy, already in L1). (No
            // data-dependent branch in this loop: one makes LLVM spill the
            // accumulators.)
            if LAYOUT == ROWS_CONTIGUOUS {
                // One row's line per step, 4 lines (64 values) ahead.
                let r = (p % 16).min(R - 1);
                let ahead = a.wrapping_offset(r as isize * self.a_rs + 64);
                _mm_prefetch::<_MM_HINT_T0>(ahead.cast());
            } else if LAYOUT == COLUMNS_CONTIGUOUS {
                // Column p + 8: its first and last rows' lines.
                let ahead = a.wrapping_offset(8 * self.a_cs);
                _mm_prefetch::<_MM_HINT_T0>(ahead.cast());
                _mm_prefetch::<_MM_HINT_T0>(ahead.wrapping_offset(last_row).cast());
            }
            // SAFETY: the panel row p has 16 * V values (NR when packed).
            let bv: [__m512; V] = std::array::from_fn(|v| _mm512_loadu_ps(b.add(16 * v)));
            for (r, acc) in acc.iter_mut().enumerate() {
                let at = if LAYOUT == ROWS_CONTIGUOUS {
                    let (base, times) = ROW_BASES[r];
                    bases[base]
                        .cast::<u8>()
                        .offset(times * row_stride)
                        .cast::<f32>()
                } else {
                    a.offset(r as isize * a_rs)
                };
                // SAFETY: element (i + r, p) of the broadcast operand.
                let x = _mm512_set1_ps(*at);
                for (acc, &b) in acc.iter_mut().zip(&bv) {
                    *acc = _mm512_fmadd_ps(x, b, *acc);
                }
            }
            // Past the operand after the last step: never read there.
            if !INDEXED {
                a = a.wrapping_offset(a_cs);
            }
            if LAYOUT == ROWS_CONTIGUOUS {
                // The next column (a_cs is 1), for the rows' pointers in use.
                for base in bases.iter_mut().take(R.div_ceil(3)) {
                    *base = hidden(base.wrapping_add(1));
                }
            }
            b = b.wrapping_offset(b_rs);
        };
        // Ask for the tile's lines of C some steps before the end, so that
        // they have arrived when they are written, and the loop's own reads
        // have not evicted them yet. (`_MM_HINT_ET0` compiles to `prefetcht0`
        // here: `prefetchw` needs the `prfchw` target feature, unstable.)
        let fetch_c_at = steps.saturating_sub(C_AHEAD);
        for p in 0..fetch_c_at {
            step(p);
        }
        if !self.transposed {
            for r in 0..R {
                let row = dest.c.wrapping_offset(r as isize * self.c_rs);
                _mm_prefetch::<_MM_HINT_ET0>(row.cast_const().cast());
                _mm_prefetch::<_MM_HINT_ET0>(row.wrapping_add(16).cast_const().cast());
            }
        } else {
            for q in 0..dest.cols {
                let row = dest.c.wrapping_offset(q as isize * self.c_cs);
                _mm_prefetch::<_MM_HINT_ET0>(row.cast_const().cast());
                _mm_prefetch::<_MM_HINT_ET0>(row.wrapping_add(R - 1).cast_const().cast());
            }
        }
        for p in fetch_c_at..steps {
            step(p);
        }
        if !self.transposed && dest.cols == 16 * V && dest.bias.is_null() && !self.relu {
            // SAFETY: a whole tile of C, R rows of 16 * V values, is ours.
            unsafe { self.store_plain::<R, V>(dest, acc) };
        } else {
            self.store::<R, V>(dest, acc);
        }
    }

    /// `store` for a whole tile written as is, without bias or ReLU (the
    /// weight gradients): the same values, but straight from the registers.
    /// Through `store` the accumulators went by the stack, which cost a
    /// k = 64 product 3-4%.
    ///
    /// # Safety
    /// As for `run`, with `R` rows and `dest.cols == 16 * V` columns; not
    /// `transposed`.
    #[inline(always)]
    unsafe fn store_plain<const R: usize, const V: usize>(
        &self,
        dest: Dest,
        acc: [[__m512; V]; R],
    ) {
        let (alpha, beta) = (_mm512_set1_ps(self.alpha), _mm512_set1_ps(self.beta));
        for (r, acc) in acc.iter().enumerate() {
            let row = dest.c.offset(r as isize * self.c_rs);
            for (v, &acc) in acc.iter().enumerate() {
                let dst = row.add(16 * v);
                // As `write`: alpha * acc + 0, rounded once, then + beta * c.
                let mut x = _mm512_fmadd_ps(alpha, acc, _mm512_setzero_ps());
                if self.beta != 0.0 {
                    x = _mm512_fmadd_ps(beta, _mm512_loadu_ps(dst), x);
                }
                _mm512_storeu_ps(dst, x);
            }
        }
    }

    /// `c = alpha * acc + bias + beta * c`, then ReLU if asked, for the
    /// tile's valid columns.
    ///
    /// # Safety
    /// As for `run`.
    #[target_feature(enable = "avx512f")]
    unsafe fn store<const R: usize, const V: usize>(&self, dest: Dest, acc: [[__m512; V]; R]) {
        if !self.transposed {
            let masks = [lanes(dest.cols), lanes(dest.cols.saturating_sub(16))];
            let bias = if dest.bias.is_null() {
                [_mm512_setzero_ps(); 2]
            } else {
                // SAFETY: one bias value per valid column of the tile.
                [0, 1].map(|v| _mm512_maskz_loadu_ps(masks[v], dest.bias.wrapping_add(16 * v)))
            };
            for (r, acc) in acc.iter().enumerate() {
                let row = dest.c.offset(r as isize * self.c_rs);
                for (v, &acc) in acc.iter().enumerate() {
                    // The second half may lie past C when the tile has <= 16
                    // columns; its mask is then empty and nothing is accessed.
                    // SAFETY: masked to the tile's columns.
                    self.write(acc, bias[v], row.wrapping_add(16 * v), masks[v]);
                }
            }
        } else {
            // Transposed result: C^T's tile row r, column q is C's row q,
            // column r. Transpose each 16-column half in registers so that
            // each row of C gets one store of R contiguous values.
            let row_mask = lanes(R);
            let bias = if dest.bias.is_null() {
                _mm512_setzero_ps()
            } else {
                // SAFETY: one bias value per row of the tile (C's columns).
                _mm512_maskz_loadu_ps(row_mask, dest.bias)
            };
            for v in 0..V {
                let mut m = [_mm512_setzero_ps(); 16];
                for (r, acc) in acc.iter().enumerate() {
                    m[r] = acc[v];
                }
                let valid = dest.cols.saturating_sub(16 * v).min(16);
                for (q, &x) in transpose16(m).iter().enumerate().take(valid) {
                    let dst = dest.c.offset((16 * v + q) as isize * self.c_cs);
                    // SAFETY: R values of C's row, inside the tile.
                    self.write(x, bias, dst, row_mask);
                }
            }
        }
    }

    /// `alpha * acc + bias` (rounded once after the product, exactly as when
    /// the bias was C and beta 1), `+ beta * c` when beta != 0 (C is not read
    /// otherwise), then ReLU if asked: stored at `dst` in the lanes of `mask`.
    ///
    /// # Safety
    /// The lanes of `mask` at `dst` are ours to read and write.
    #[target_feature(enable = "avx512f")]
    unsafe fn write(&self, acc: __m512, bias: __m512, dst: *mut f32, mask: __mmask16) {
        let mut x = _mm512_fmadd_ps(_mm512_set1_ps(self.alpha), acc, bias);
        if self.beta != 0.0 {
            // SAFETY: masked to our lanes (forwarded).
            let old = _mm512_maskz_loadu_ps(mask, dst);
            x = _mm512_fmadd_ps(_mm512_set1_ps(self.beta), old, x);
        }
        if self.relu {
            x = relu16(x);
        }
        // SAFETY: masked to our lanes (forwarded).
        _mm512_mask_storeu_ps(dst, mask, x);
    }
}

/// `relu_f32` on 16 lanes: 0.0 where x < 0, x elsewhere (NaN and -0.0
/// included: the ordered compare is false for both).
#[target_feature(enable = "avx512f")]
fn relu16(x: __m512) -> __m512 {
    let negative = _mm512_cmp_ps_mask::<_CMP_LT_OQ>(x, _mm512_setzero_ps());
    _mm512_maskz_mov_ps(!negative, x)
}

/// Transposes a 16 x 16 matrix held as 16 row vectors.
#[target_feature(enable = "avx512f")]
fn transpose16(r: [__m512; 16]) -> [__m512; 16] {
    // Pairs of rows interleaved within 128-bit lanes, then groups of four,
    // then the 128-bit lanes themselves moved into place.
    let mut a = [_mm512_setzero_ps(); 16];
    for k in 0..8 {
        a[2 * k] = _mm512_unpacklo_ps(r[2 * k], r[2 * k + 1]);
        a[2 * k + 1] = _mm512_unpackhi_ps(r[2 * k], r[2 * k + 1]);
    }
    // b[4k + c], 128-bit lane l: rows 4k..4k+4 of column 4l + c.
    let mut b = [_mm512_setzero_ps(); 16];
    for k in 0..4 {
        b[4 * k] = _mm512_shuffle_ps::<0x44>(a[4 * k], a[4 * k + 2]);
        b[4 * k + 1] = _mm512_shuffle_ps::<0xEE>(a[4 * k], a[4 * k + 2]);
        b[4 * k + 2] = _mm512_shuffle_ps::<0x44>(a[4 * k + 1], a[4 * k + 3]);
        b[4 * k + 3] = _mm512_shuffle_ps::<0xEE>(a[4 * k + 1], a[4 * k + 3]);
    }
    let mut out = [_mm512_setzero_ps(); 16];
    for c in 0..4 {
        let d0 = _mm512_shuffle_f32x4::<0x88>(b[c], b[4 + c]);
        let d1 = _mm512_shuffle_f32x4::<0xDD>(b[c], b[4 + c]);
        let d2 = _mm512_shuffle_f32x4::<0x88>(b[8 + c], b[12 + c]);
        let d3 = _mm512_shuffle_f32x4::<0xDD>(b[8 + c], b[12 + c]);
        out[c] = _mm512_shuffle_f32x4::<0x88>(d0, d2);
        out[8 + c] = _mm512_shuffle_f32x4::<0xDD>(d0, d2);
        out[4 + c] = _mm512_shuffle_f32x4::<0x88>(d1, d3);
        out[12 + c] = _mm512_shuffle_f32x4::<0xDD>(d1, d3);
    }
    out
}

/// A mask of the first `n` (at most 16) lanes.
fn lanes(n: usize) -> __mmask16 {
    if n >= 16 {
        0xffff
    } else {
        ((1u32 << n) - 1) as __mmask16
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transpose16_transposes() {
        if !available() {
            return;
        }
        let m: Vec<f32> = (0..256).map(|i| i as f32).collect();
        let mut out = [0f32; 256];
        // SAFETY: avx512f checked above; 16 rows of 16 values each.
        unsafe {
            let rows: [__m512; 16] =
                std::array::from_fn(|i| _mm512_loadu_ps(m.as_ptr().add(16 * i)));
            for (i, v) in transpose16(rows).iter().enumerate() {
                _mm512_storeu_ps(out.as_mut_ptr().add(16 * i), *v);
            }
        }
        for i in 0..16 {
            for j in 0..16 {
                assert_eq!(out[16 * i + j], m[16 * j + i], "({i}, {j})");
            }
        }
    }

    /// `relu16` is `relu_f32` lane by lane, bit for bit, at the edge values:
    /// NaN (either sign) and -0.0 kept, negatives (subnormal, -inf) to +0.0.
    #[test]
    fn relu16_is_relu_f32_at_edge_values() {
        if !available() {
            return;
        }
        let x = [
            f32::NAN,
            -f32::NAN,
            -0.0,
            0.0,
            -1.0,
            2.0,
            f32::NEG_INFINITY,
            f32::INFINITY,
            -1e-45,
            1e-45,
            f32::MIN,
            f32::MAX,
            -0.5,
            0.5,
            -3.0,
            7.0,
        ];
        let mut out = [0f32; 16];
        // SAFETY: avx512f checked above; 16 values in and out.
        unsafe { _mm512_storeu_ps(out.as_mut_ptr(), relu16(_mm512_loadu_ps(x.as_ptr()))) };
        for (x, y) in x.iter().zip(out) {
            let want = crate::kernels::gemm::relu_f32(*x);
            assert_eq!(y.to_bits(), want.to_bits(), "relu({x}) = {y}, want {want}");
        }
    }
}
