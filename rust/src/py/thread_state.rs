//! A Python thread state kept for the whole life of an engine thread that calls Python.
//!
//! Attaching from a thread that has no Python thread state makes `CPython` create one and delete
//! it again when the call returns (an allocation, a walk of the interpreter's thread list and the
//! frame stack's first chunk each time): about half of a delivery's latency when measured. A
//! delivery thread makes its state once here and keeps it between calls, so each attach inside
//! only takes the GIL.

use pyo3::prelude::*;

/// Run `body` detached, with this thread's Python state created up front and kept until `body`
/// returns; without an interpreter to attach to, `body` just runs.
///
/// Giving the state back means attaching once more. If the interpreter is finalizing by then,
/// `CPython` would end the thread inside that call (unwinding through Rust frames), so the thread
/// parks for good instead and leaves its state to the interpreter's teardown; its caller sees
/// this as a function that never returns.
pub fn keep_thread_state(body: &mut (dyn FnMut() + Send)) {
    let mut ran = false;
    let _ = Python::try_attach(|py| {
        py.detach(|| {
            ran = true;
            body();
            if Python::try_attach(|_| ()).is_none() {
                park_forever();
            }
        });
    });
    if !ran {
        body();
    }
}

fn park_forever() -> ! {
    loop {
        std::thread::park();
    }
}
