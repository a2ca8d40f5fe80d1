//! A tiny fork-join pool for splitting one GEMM across the cores, with helper
//! threads that spin for a few milliseconds after each job before they sleep.
//!
//! Why not rayon here: a training step runs a GEMM every few hundred
//! microseconds with elementwise work in between, long enough for rayon's idle
//! workers to go to sleep. Waking a sleeping thread costs 100 µs or more on a
//! virtual machine (the vCPU halted), as much as half of a batch-64 GEMM, so
//! with rayon the second core added almost nothing to a training step
//! (measured: docs/benchmarks.md). OpenMP, which PyTorch uses, keeps its
//! workers spinning for the same reason. The number of threads still comes
//! from rayon's pool (`RAYON_NUM_THREADS`, `ferrograd --threads`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, TryLockError};
use std::time::{Duration, Instant};

/// How long an idle helper busy-waits (pause instructions) before yielding its core.
const SPIN: Duration = Duration::from_micros(50);
/// How long an idle helper keeps yielding before it sleeps on a condition variable.
const YIELD: Duration = Duration::from_millis(2);

type Part = dyn Fn(usize) + Sync;

/// A part of a job: the caller's closure (lifetime erased), the part index
/// and the job's generation.
struct Job(*const Part, usize, usize);

// SAFETY: the closure behind the pointer is `Sync`; see `run_parts` for why
// it outlives every use.
unsafe impl Send for Job {}

struct Helper {
    /// Generation of the last job posted to this helper (wakes it).
    posted: AtomicUsize,
    /// Generation of the last job this helper ran to the end.
    finished: AtomicUsize,
    /// The posted part, until the helper or the caller takes it to run it.
    job: Mutex<Option<Job>>,
    sleeping: Mutex<bool>,
    wake: Condvar,
}

/// Helpers started so far; locked by the caller for the whole of a parallel call.
static HELPERS: Mutex<Vec<&'static Helper>> = Mutex::new(Vec::new());

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Runs `part(i)` for every `i` in `0..parts` and returns when all are done:
/// part 0 on the calling thread, the others offered to helper threads. A part
/// that no helper has started by the time the caller is done with its own is
/// run by the caller, so a busy or sleeping helper costs no more than running
/// serially. If another thread is using the helpers, all parts run here. The
/// parts must compute the same result wherever they run. `part` must not panic.
pub(crate) fn run_parts<'a>(parts: usize, part: &'a (dyn Fn(usize) + Sync + 'a)) {
    let mut helpers = match HELPERS.try_lock() {
        Ok(h) => h,
        Err(TryLockError::Poisoned(p)) => p.into_inner(),
        Err(TryLockError::WouldBlock) => {
            (0..parts).for_each(part);
            return;
        }
    };
    while helpers.len() + 1 < parts {
        let helper: &'static Helper = Box::leak(Box::new(Helper {
            posted: AtomicUsize::new(0),
            finished: AtomicUsize::new(0),
            job: Mutex::new(None),
            sleeping: Mutex::new(false),
            wake: Condvar::new(),
        }));
        let spawned = std::thread::Builder::new()
            .name(format!("ferrograd-gemm-{}", helpers.len() + 1))
            .spawn(move || helper_loop(helper));
        if spawned.is_err() {
            break; // no more threads: the caller runs the remaining parts
        }
        helpers.push(helper);
    }
    // SAFETY: a helper dereferences the pointer only after taking its `Job`
    // out of `job`, and then this function waits for its `finished` before
    // returning; jobs nobody took are taken back below. So the closure
    // outlives every use and the erased lifetime never escapes.
    let erased: *const Part =
        unsafe { std::mem::transmute::<&'a (dyn Fn(usize) + Sync + 'a), &'static Part>(part) };
    let used = &helpers[..(parts - 1).min(helpers.len())];
    let mut generations = Vec::with_capacity(used.len());
    for (i, h) in used.iter().enumerate() {
        let generation = h.posted.load(Ordering::Relaxed) + 1;
        *lock(&h.job) = Some(Job(erased, i + 1, generation));
        h.posted.store(generation, Ordering::Release);
        if *lock(&h.sleeping) {
            h.wake.notify_one();
        }
        generations.push(generation);
    }
    // Even if our own parts panic, settle the helpers' parts before
    // unwinding: they still read the closure.
    let ours = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        part(0);
        (used.len() + 1..parts).for_each(part);
    }));
    for (h, generation) in used.iter().zip(generations) {
        let unstarted = lock(&h.job).take();
        if let Some(Job(_, index, _)) = unstarted {
            if ours.is_ok() {
                part(index);
            }
            continue;
        }
        let waiting_since = Instant::now();
        while h.finished.load(Ordering::Acquire) != generation {
            if waiting_since.elapsed() < SPIN {
                std::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
        }
    }
    if let Err(panic) = ours {
        std::panic::resume_unwind(panic);
    }
}

fn helper_loop(h: &'static Helper) {
    let mut seen = 0;
    loop {
        // Wait for the next job: spin, then yield the core, then sleep.
        let idle_since = Instant::now();
        let mut polls = 0u32;
        while h.posted.load(Ordering::Acquire) == seen {
            polls = polls.wrapping_add(1);
            if !polls.is_multiple_of(64) {
                std::hint::spin_loop();
                continue;
            }
            let idle = idle_since.elapsed();
            if idle < SPIN {
                continue;
            }
            if idle < YIELD {
                std::thread::yield_now();
                continue;
            }
            let mut sleeping = lock(&h.sleeping);
            *sleeping = true;
            while h.posted.load(Ordering::Acquire) == seen {
                sleeping = h.wake.wait(sleeping).unwrap_or_else(|p| p.into_inner());
            }
            *sleeping = false;
        }
        seen = h.posted.load(Ordering::Acquire);
        let job = lock(&h.job).take();
        if let Some(Job(part, index, generation)) = job {
            // A panic here would leave the caller waiting forever: abort instead.
            let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                // SAFETY: the caller waits for `finished == generation` before
                // the closure goes out of scope (see `run_parts`).
                unsafe { (*part)(index) }
            }));
            if ran.is_err() {
                std::process::abort();
            }
            h.finished.store(generation, Ordering::Release);
        }
    }
}
