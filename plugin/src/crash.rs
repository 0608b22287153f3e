//! Crash points, for tests that kill a plugin at every step it takes and
//! check that the next DEL (or a retried ADD) still puts everything back.
//!
//! Only in builds with debug assertions: a release build has no crash
//! points and reads no variable for them. In a debug build,
//! `NETPLUMB_CRASH_AT=N` makes the Nth crash point the invocation reaches
//! kill it with SIGKILL, as a runtime's timeout or an OOM kill would: no
//! destructor runs, no lock is released but by the kernel. Each point
//! reached is logged to stderr as `crash point N: what`, so a test can
//! tell how many an invocation has.

/// The variable that names the crash point to die at.
pub const CRASH_AT: &str = "NETPLUMB_CRASH_AT";

/// A crash point: the invocation dies here if this is the one
/// [`CRASH_AT`] names.
#[cfg(debug_assertions)]
pub(crate) fn point(what: impl FnOnce() -> String) {
    use std::sync::atomic::{AtomicU32, Ordering};
    static REACHED: AtomicU32 = AtomicU32::new(0);
    let Some(at) = std::env::var(CRASH_AT)
        .ok()
        .and_then(|n| n.parse::<u32>().ok())
    else {
        return;
    };
    let n = REACHED.fetch_add(1, Ordering::SeqCst) + 1;
    eprintln!("crash point {n}: {}", what());
    if n == at {
        let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGKILL);
    }
}

/// A crash point: nothing in a release build.
#[cfg(not(debug_assertions))]
#[inline(always)]
pub(crate) fn point(_what: impl FnOnce() -> String) {}
