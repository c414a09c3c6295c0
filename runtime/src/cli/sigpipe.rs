//! A closed stdout ends a command quietly. Rust ignores SIGPIPE, so `println!` into a pipe
//! whose reader has gone (`ilm incident list | head -1`) panics; a command that prints and
//! exits gets the default disposition back and ends as any Unix tool does. The runtime's
//! long-running commands (`serve`, `run`, `worker`) keep ignoring it: a log reader that
//! goes away must never kill them with incidents in flight.

/// Lets SIGPIPE end the process, as it does for C programs.
pub fn end_quietly_on_closed_stdout() {
    // SAFETY: `signal` only sets this process's disposition for SIGPIPE to the default; it
    // runs at start-up before any other thread exists, and no handler is involved. Sockets
    // are unaffected: the standard library sends on them with MSG_NOSIGNAL.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
