//! # gclab-record
//!
//! Records what a real CPython program does to its heap: every object creation and death, and at
//! every cycle collection the collector's generations (objects, reference counts, referents), in
//! a raw event log of 16-byte records.
//!
//! ```text
//! probe (python.rs) --> build, cached (build.rs) --> python _gclab_boot.py (launch.rs)
//!                                                      |  _gclab_recorder (C extension)
//!                                                      |  + libgclab_shim.so (3.11/3.12)
//!                                                      v
//!                                                   raw event log
//! ```
//!
//! * [`python`] asks an interpreter about itself and decides whether and how it can be recorded:
//!   3.13 through its reference tracer (`PyRefTracer_SetTracer`), 3.11 and 3.12 through an
//!   `LD_PRELOAD` shim that interposes `_Py_NewReference` and `_Py_Dealloc` in a shared libpython.
//! * [`build`] compiles the extension (and the shim) for that interpreter once, into a cache
//!   keyed by the sources and the interpreter.
//! * [`launch`] runs a script or module under the recorder and returns its exit status.
//! * [`error`] says what went wrong and what is needed.
//!
//! The C and Python sources are embedded in this crate (`c/`, `python/`); the raw format is
//! described in `c/gclab_recorder.c` (the `K_*` table) and in the crate's tests, which read it.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod build;
pub mod error;
pub mod launch;
pub mod python;

pub use error::RecordError;
