//! # gclab-record
//!
//! Records what a real CPython program does to its heap, and turns the recording into a gclab
//! op stream that CPython's model replays as the interpreter ran: every object creation and
//! death, and at every cycle collection the collector's generations (objects, reference counts,
//! referents), in a raw event log of 16-byte records, converted into a trace.
//!
//! ```text
//! probe (python.rs) --> build, cached (build.rs) --> python _gclab_boot.py (launch.rs)
//!                                                      |  _gclab_recorder (C extension)
//!                                                      |  + libgclab_shim.so (3.11/3.12)
//!                                                      v
//!              raw event log (raw.rs) --> convert/ --> trace + collector log (files.rs)
//! ```
//!
//! * [`python`] asks an interpreter about itself and decides whether and how it can be recorded:
//!   3.13 through its reference tracer (`PyRefTracer_SetTracer`), 3.11 and 3.12 through an
//!   `LD_PRELOAD` shim that interposes `_Py_NewReference` and `_Py_Dealloc` in a shared libpython.
//! * [`build`] compiles the extension (and the shim) for that interpreter once, into a cache
//!   keyed by the sources and the interpreter.
//! * [`launch`] runs a script or module under the recorder and returns its exit status.
//! * [`raw`] reads the raw event log; [`convert`] turns it into an op stream; [`files`] writes
//!   and reads a recording's files (the trace, the real collector log, the meta file).
//! * [`error`] says what went wrong and what is needed.
//!
//! The C and Python sources are embedded in this crate (`c/`, `python/`); `docs/recording.md`
//! describes the raw format, the conversion and what it can and cannot reproduce.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod build;
pub mod convert;
pub mod error;
pub mod files;
pub mod launch;
pub mod python;
pub mod raw;

pub use error::RecordError;
