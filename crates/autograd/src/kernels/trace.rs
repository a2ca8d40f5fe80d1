//! A timeline of the pool's parallel jobs, for finding where a training
//! step's time goes when a sampling profile cannot say: which job's halves
//! wait on each other, and how long the caller works alone between jobs
//! while the helpers idle. Off unless [`start`] is called; then each job,
//! each part a helper runs, and each [`mark`] is recorded with its times.
//!
//! ```
//! use autograd::kernels::trace::{self, What};
//! trace::start();
//! trace::mark("step");
//! let events = trace::finish();
//! assert!(matches!(events[0].what, What::Mark("step")));
//! ```

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Instant;

static ON: AtomicBool = AtomicBool::new(false);
static EVENTS: Mutex<Vec<Event>> = Mutex::new(Vec::new());

/// Something that happened, from `start` to `end`.
#[derive(Clone, Copy, Debug)]
pub struct Event {
    /// What it was.
    pub what: What,
    /// When it began.
    pub start: Instant,
    /// When it ended (`start` for a mark).
    pub end: Instant,
}

/// The kinds of [`Event`].
#[derive(Clone, Copy, Debug)]
pub enum What {
    /// A job split into `parts`, from its caller's side: the caller ran
    /// parts until `caller_done`, then waited for the helpers until `end`.
    Job {
        /// Number of parts.
        parts: usize,
        /// When the caller had no part left to run.
        caller_done: Instant,
    },
    /// Part `index` of a job, run by a helper thread.
    HelperPart {
        /// Which part.
        index: usize,
    },
    /// A point in the caller's code ([`mark`]).
    Mark(&'static str),
}

/// Starts recording, dropping whatever was recorded before.
pub fn start() {
    lock().clear();
    ON.store(true, Ordering::Release);
}

/// Stops recording and returns the events, in the order they ended.
pub fn finish() -> Vec<Event> {
    ON.store(false, Ordering::Release);
    std::mem::take(&mut *lock())
}

/// Records a point in the caller's code, such as the start of a step.
pub fn mark(label: &'static str) {
    if on() {
        let now = Instant::now();
        push(What::Mark(label), now, now);
    }
}

/// Whether events are being recorded: one relaxed load for the pool's
/// callers to skip taking the time when they are not.
pub(crate) fn on() -> bool {
    ON.load(Ordering::Relaxed)
}

pub(crate) fn push(what: What, start: Instant, end: Instant) {
    lock().push(Event { what, start, end });
}

fn lock() -> std::sync::MutexGuard<'static, Vec<Event>> {
    EVENTS.lock().unwrap_or_else(|p| p.into_inner())
}
