//! A tiny fork-join pool for splitting one GEMM (or an elementwise job,
//! `parallel.rs`) across the cores, with helper threads that spin for a few
//! milliseconds after each job before they sleep.
//!
//! Why not rayon here: a training step runs a GEMM every few hundred
//! microseconds with elementwise work in between, long enough for rayon's idle
//! workers to go to sleep. Waking a sleeping thread costs 100 µs or more on a
//! virtual machine (the vCPU halted), as much as half of a batch-64 GEMM, so
//! with rayon the second core added almost nothing to a training step
//! (measured: docs/benchmarks.md). OpenMP, which PyTorch uses, keeps its
//! workers spinning for the same reason. The number of threads still comes
//! from rayon's pool (`RAYON_NUM_THREADS`, `ferrograd --threads`).

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, TryLockError};
use std::time::{Duration, Instant};

use super::trace;

/// How long an idle helper busy-waits (pause instructions) before yielding its
/// core. Short: between the products of a step a yielding helper still answers
/// within microseconds, and the DataLoader's thread gets the core meanwhile
/// (2-thread epochs about 1% shorter than with a 50 µs spin, median of 10).
const SPIN: Duration = Duration::from_micros(5);
/// How long an idle helper keeps yielding before it sleeps on a condition variable.
const YIELD: Duration = Duration::from_millis(2);

type Part = dyn Fn(usize) + Sync;

/// The job being run: everyone (the caller and the helpers) claims parts from
/// `claim` until they run out, so a helper that is slow to wake (or not
/// scheduled, on a loaded machine) only takes fewer parts.
struct Shared {
    /// `generation << 32 | next part`: a claim succeeds only for the
    /// generation whose closure the claimer read, so a helper that wakes late
    /// can never run a part of a job that has already returned.
    claim: AtomicU64,
    /// Parts of the current generation finished.
    done: AtomicUsize,
    /// The current job: generation, closure (lifetime erased), number of parts.
    job: Mutex<(u64, Option<PartPtr>, usize)>,
    sleeping: Mutex<usize>,
    wake: Condvar,
}

#[derive(Clone, Copy)]
struct PartPtr(*const Part);
// SAFETY: the closure behind the pointer is `Sync`; `run_parts` explains why
// it outlives every use.
unsafe impl Send for PartPtr {}

static SHARED: Shared = Shared {
    claim: AtomicU64::new(0),
    done: AtomicUsize::new(0),
    job: Mutex::new((0, None, 0)),
    sleeping: Mutex::new(0),
    wake: Condvar::new(),
};

/// Number of helper threads started; locked by the caller for the whole of a
/// parallel call, so one job runs at a time.
static HELPERS: Mutex<usize> = Mutex::new(0);

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

thread_local! {
    /// Whether this thread is running a part of a job (see `threads`).
    static IN_PART: Cell<bool> = const { Cell::new(false) };
    /// Whether this is one of the pool's helper threads (for `trace`).
    static IS_HELPER: Cell<bool> = const { Cell::new(false) };
}

/// Threads a job started here may use: rayon's count (`RAYON_NUM_THREADS`,
/// `ferrograd --threads`), or 1 inside a part of another job, whose helpers
/// are busy (a nested product then runs as one serial product, not as parts
/// queued on this thread).
pub(crate) fn threads() -> usize {
    if IN_PART.with(Cell::get) {
        1
    } else {
        rayon::current_num_threads()
    }
}

/// Runs `a` and `b`, at the same time on two threads when there are two,
/// and returns both results. Neither may panic.
pub(crate) fn join<A: Send, B: Send>(
    a: impl FnOnce() -> A + Send,
    b: impl FnOnce() -> B + Send,
) -> (A, B) {
    let threads = threads();
    if threads == 1 {
        return (a(), b());
    }
    // Each closure is taken (and its result left) by the thread that runs
    // its part; the locks are never contended.
    let tasks = (Mutex::new(Some(a)), Mutex::new(Some(b)));
    let results = (Mutex::new(None), Mutex::new(None));
    run_parts(2, threads, &|i| {
        if i == 0 {
            let a = lock(&tasks.0).take().expect("part 0 runs once");
            *lock(&results.0) = Some(a());
        } else {
            let b = lock(&tasks.1).take().expect("part 1 runs once");
            *lock(&results.1) = Some(b());
        }
    });
    (done(results.0), done(results.1))
}

/// The result a part left.
fn done<T>(result: Mutex<Option<T>>) -> T {
    let result = result.into_inner().unwrap_or_else(|p| p.into_inner());
    result.expect("every part ran")
}

/// Claims and runs parts of generation `generation` until none are left.
fn work(generation: u64, part: PartPtr, parts: usize) {
    let s = &SHARED;
    loop {
        let c = s.claim.load(Ordering::Acquire);
        let next = (c & 0xffff_ffff) as usize;
        if c >> 32 != generation || next >= parts {
            return;
        }
        if s.claim
            .compare_exchange_weak(c, c + 1, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            continue;
        }
        // SAFETY: the claim succeeded for this generation, so its caller is
        // still inside `run_parts`, waiting for `done` to count this part
        // before the closure goes out of scope.
        run_claimed(unsafe { &*part.0 }, next);
    }
}

/// Runs part `i`, claimed by this thread, and counts it done.
fn run_claimed(part: &(dyn Fn(usize) + Sync), i: usize) {
    let start = trace::on().then(Instant::now);
    // A panic here would leave the caller waiting forever: abort instead.
    let ran = as_part(|| std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| part(i))));
    if ran.is_err() {
        std::process::abort();
    }
    if let Some(start) = start {
        if IS_HELPER.with(Cell::get) {
            trace::push(trace::What::HelperPart { index: i }, start, Instant::now());
        }
    }
    SHARED.done.fetch_add(1, Ordering::AcqRel);
}

/// Runs `f` as a part of a job: a job it starts gets one thread (`threads`).
fn as_part<R>(f: impl FnOnce() -> R) -> R {
    /// Puts the flag back even if `f` unwinds.
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            IN_PART.with(|p| p.set(self.0));
        }
    }
    let _restore = Restore(IN_PART.with(|p| p.replace(true)));
    f()
}

/// Runs `part(i)` for every `i` in `0..parts` and returns when all are done,
/// on the calling thread and up to `threads - 1` helper threads, each taking
/// the next part not yet taken. If another thread is using the helpers, all
/// parts run here. The parts must compute the same result wherever they run.
/// `part` must not panic.
pub(crate) fn run_parts<'a>(parts: usize, threads: usize, part: &'a (dyn Fn(usize) + Sync + 'a)) {
    if parts == 0 {
        return;
    }
    if threads <= 1 {
        // Not published: helpers started by an earlier job with more
        // threads would otherwise claim parts of a one-thread job.
        (0..parts).for_each(part);
        return;
    }
    let mut helpers = match HELPERS.try_lock() {
        Ok(h) => h,
        Err(TryLockError::Poisoned(p)) => p.into_inner(),
        Err(TryLockError::WouldBlock) => {
            // Parts all the same, like the helpers': a job nested in one runs
            // here too, rather than race for the helpers again.
            as_part(|| (0..parts).for_each(part));
            return;
        }
    };
    while *helpers + 1 < threads {
        let spawned = std::thread::Builder::new()
            .name(format!("ferrograd-gemm-{}", *helpers + 1))
            .spawn(helper_loop);
        if spawned.is_err() {
            break; // no more threads: fewer hands
        }
        *helpers += 1;
    }
    let s = &SHARED;
    // SAFETY: the pointer is dereferenced only by a successful claim of this
    // generation (see `work`), and this function returns only after `done`
    // counts every part, so the closure outlives every use; the next call
    // starts a new generation, which makes the old pointer unclaimable.
    let erased = PartPtr(unsafe {
        std::mem::transmute::<&'a (dyn Fn(usize) + Sync + 'a), &'static Part>(part)
    });
    let generation = {
        let mut job = lock(&s.job);
        let generation = (job.0 + 1) & 0xffff_ffff;
        *job = (generation, Some(erased), parts);
        s.done.store(0, Ordering::Release);
        // Part 0 is the caller's: a helper that is already spinning would
        // otherwise sometimes claim it first, and a product's (and the SGD
        // update's) halves would change cores from one step to the next.
        s.claim.store(generation << 32 | 1, Ordering::Release);
        generation
    };
    let start = trace::on().then(Instant::now);
    if *lock(&s.sleeping) > 0 {
        s.wake.notify_all();
    }
    run_claimed(part, 0);
    work(generation, erased, parts);
    let waiting_since = Instant::now();
    while s.done.load(Ordering::Acquire) < parts {
        if waiting_since.elapsed() < SPIN {
            std::hint::spin_loop();
        } else {
            std::thread::yield_now();
        }
    }
    lock(&s.job).1 = None;
    if let Some(start) = start {
        let what = trace::What::Job {
            parts,
            caller_done: waiting_since,
        };
        trace::push(what, start, Instant::now());
    }
}

fn helper_loop() {
    IS_HELPER.with(|h| h.set(true));
    let s = &SHARED;
    let mut seen = 0u64;
    loop {
        // Wait for a new generation: spin, then yield the core, then sleep.
        let idle_since = Instant::now();
        let mut polls = 0u32;
        while s.claim.load(Ordering::Acquire) >> 32 == seen {
            polls = polls.wrapping_add(1);
            if polls & 63 != 0 {
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
            let mut sleeping = lock(&s.sleeping);
            *sleeping += 1;
            while s.claim.load(Ordering::Acquire) >> 32 == seen {
                sleeping = s.wake.wait(sleeping).unwrap_or_else(|p| p.into_inner());
            }
            *sleeping -= 1;
        }
        let (generation, part, parts) = *lock(&s.job);
        seen = generation;
        if let Some(part) = part {
            work(generation, part, parts);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Inside either closure (a part, or with one thread the caller itself)
    /// a new job gets one thread and runs all its parts where it is.
    #[test]
    fn join_returns_both_results_and_nested_jobs_run_in_place() {
        for n in [1, 2, 3] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build()
                .unwrap();
            let (a, b) = pool.install(|| {
                join(
                    || (threads(), (0..100).sum::<i32>()),
                    || {
                        let here = std::thread::current().id();
                        let elsewhere = AtomicUsize::new(0);
                        run_parts(4, threads(), &|_| {
                            if std::thread::current().id() != here {
                                elsewhere.fetch_add(1, Ordering::Relaxed);
                            }
                        });
                        (threads(), elsewhere.into_inner())
                    },
                )
            });
            assert_eq!(a, (1, 4950), "{n} threads");
            assert_eq!(b, (1, 0), "{n} threads");
            assert_eq!(pool.install(threads), n, "outside a part");
        }
    }

    /// While another job holds the helpers, a job's parts all run on its
    /// caller, still as parts: a job nested in one gets one thread. (Not so,
    /// the test above failed now and then, when another test held them.)
    #[test]
    fn parts_run_here_while_the_helpers_are_busy_are_still_parts() {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        let busy = lock(&HELPERS);
        let inside = pool.install(|| {
            let seen = Mutex::new(Vec::new());
            run_parts(2, threads(), &|_| lock(&seen).push(threads()));
            seen.into_inner().unwrap()
        });
        drop(busy);
        assert_eq!(inside, vec![1, 1]);
        assert_eq!(pool.install(threads), 2, "outside a part");
    }

    /// A traced job is recorded with its parts and the caller's end of work
    /// inside it, and the part a helper ran inside it too.
    #[test]
    fn a_traced_job_is_recorded_with_its_helper_part() {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        // Parts long enough that a helper claims the second.
        let sleep = |_: usize| std::thread::sleep(Duration::from_millis(5));
        // Another test may hold the helpers (then the parts run here, not as
        // a job), or a loaded machine may not run the helper in time: try
        // again, a bounded number of times.
        let recorded = (0..50).any(|_| {
            trace::start();
            trace::mark("before");
            pool.install(|| run_parts(2, threads(), &sleep));
            trace::mark("after");
            let events = trace::finish();
            let time_of = |label| {
                events
                    .iter()
                    .find(|e| matches!(e.what, trace::What::Mark(l) if l == label))
                    .map(|e| e.start)
                    .expect("the marks are recorded")
            };
            let (before, after) = (time_of("before"), time_of("after"));
            // Other tests' jobs may be recorded between the marks too (the
            // trace is global): every job keeps its caller's end inside it,
            // and ours is the one whose caller and helper each slept 5 ms.
            let long = Duration::from_millis(5);
            let jobs = events.iter().filter(|e| {
                matches!(e.what, trace::What::Job { parts: 2, .. })
                    && e.start >= before
                    && e.end <= after
            });
            jobs.filter(|job| {
                let trace::What::Job { caller_done, .. } = job.what else {
                    unreachable!()
                };
                assert!(job.start <= caller_done && caller_done <= job.end);
                caller_done - job.start >= long
            })
            .any(|job| {
                events.iter().any(|e| {
                    matches!(e.what, trace::What::HelperPart { index: 1 })
                        && e.start >= job.start
                        && e.end <= job.end
                        && e.end - e.start >= long
                })
            })
        });
        assert!(recorded, "a job and its helper's part were recorded");
    }
}
