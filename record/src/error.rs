//! What can go wrong when recording, each error saying what was wrong and what is needed.
//!
//! [`RecordError::is_usage`] separates the user's mistakes (an unsupported or missing
//! interpreter, a missing script, an unwritable output path) from problems of the environment
//! (no C compiler, a failed compile, an unwritable cache, a process that could not start).

use std::io;
use std::path::PathBuf;

/// Why an interpreter cannot be recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unsupported {
    /// Not CPython (the implementation's name).
    NotCPython(String),
    /// Older than 3.11.
    TooOld,
    /// 3.14 or later: its collector keeps its state differently.
    TooNew,
    /// A free-threaded build (`Py_GIL_DISABLED`).
    FreeThreaded,
    /// 3.11 or 3.12 with libpython linked into the executable.
    StaticLibpython,
    /// `Python.h` or `include/internal/pycore_gc.h` is missing.
    NoHeaders,
}

impl std::fmt::Display for Unsupported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unsupported::NotCPython(name) => write!(f, "the recorder needs CPython, not {name}"),
            Unsupported::TooOld => write!(f, "the recorder needs CPython 3.11 or later"),
            Unsupported::TooNew => write!(
                f,
                "the recorder supports CPython 3.11 to 3.13; 3.14 and later keep the cycle \
                 collector's state differently"
            ),
            Unsupported::FreeThreaded => write!(
                f,
                "free-threaded builds (Py_GIL_DISABLED) are not supported: use a build with the GIL"
            ),
            Unsupported::StaticLibpython => write!(
                f,
                "3.11/3.12 must link libpython dynamically (configure --enable-shared) so that \
                 the recorder's LD_PRELOAD shim can interpose _Py_NewReference and _Py_Dealloc"
            ),
            Unsupported::NoHeaders => write!(
                f,
                "the recorder needs the interpreter's C headers, including include/internal \
                 (Python.h and internal/pycore_gc.h; a distribution's python3-dev package or a \
                 source build has them)"
            ),
        }
    }
}

/// Everything [`crate::launch::record`] and the steps before it can fail with.
#[derive(thiserror::Error, Debug)]
pub enum RecordError {
    /// The interpreter could not be started at all.
    #[error(
        "no Python interpreter at {python}: {source}; pass --python PATH to a CPython 3.11-3.13"
    )]
    PythonNotFound {
        /// What was tried.
        python: PathBuf,
        /// Why it could not run.
        source: io::Error,
    },
    /// The interpreter ran but did not describe itself (not Python, or broken).
    #[error(
        "{python} did not answer the recorder's probe ({detail}); pass --python PATH to a \
         CPython 3.11-3.13"
    )]
    ProbeFailed {
        /// The interpreter.
        python: PathBuf,
        /// Its exit status and error output, or why its answer was unreadable.
        detail: String,
    },
    /// The interpreter cannot be recorded.
    #[error("{python} (Python {version}): {reason}")]
    Unsupported {
        /// The interpreter.
        python: PathBuf,
        /// Its version, `major.minor.micro`.
        version: String,
        /// What is missing.
        reason: Unsupported,
    },
    /// The script to record does not exist.
    #[error("script {path} not found: {source}")]
    ScriptNotFound {
        /// The path as given.
        path: PathBuf,
        /// The file system's answer.
        source: io::Error,
    },
    /// The module name to record is not a dotted Python name.
    #[error("{name:?} is not a module name (dotted Python identifiers, as for python -m)")]
    BadModuleName {
        /// The name as given.
        name: String,
    },
    /// The raw event log cannot be created.
    #[error("cannot create the raw event log {path}: {source}")]
    RawOutput {
        /// The path.
        path: PathBuf,
        /// The file system's answer.
        source: io::Error,
    },
    /// No C compiler: the recorder compiles its extension for each interpreter.
    #[error(
        "no C compiler found (tried {tried}): the recorder compiles a small CPython extension \
         for each interpreter; install one (e.g. gcc) or set CC"
    )]
    NoCompiler {
        /// The command that was looked for.
        tried: String,
    },
    /// The C compiler failed.
    #[error("compiling {what} failed: {command}\n{stderr}")]
    CompileFailed {
        /// What was being compiled (`the recorder extension for ...`, `the LD_PRELOAD shim`).
        what: String,
        /// The command line.
        command: String,
        /// The compiler's error output.
        stderr: String,
    },
    /// No cache directory could be determined (no `GCLAB_CACHE_DIR`, `XDG_CACHE_HOME` or `HOME`).
    #[error(
        "no cache directory for the compiled recorder: set GCLAB_CACHE_DIR (or XDG_CACHE_HOME or \
         HOME)"
    )]
    NoCacheDir,
    /// A file operation of the recorder itself failed (the cache, a temporary directory).
    #[error("{context}: {source}")]
    Io {
        /// What was being done, with the path.
        context: String,
        /// The file system's answer.
        source: io::Error,
    },
    /// The recorded program's interpreter could not be started or waited for.
    #[error("could not run {python} under the recorder: {source}")]
    Launch {
        /// The interpreter.
        python: PathBuf,
        /// The operating system's answer.
        source: io::Error,
    },
}

impl RecordError {
    /// Whether the error is the user's to fix (the interpreter, the program, the output path)
    /// rather than the environment's (compiler, cache, process start).
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            RecordError::PythonNotFound { .. }
                | RecordError::ProbeFailed { .. }
                | RecordError::Unsupported { .. }
                | RecordError::ScriptNotFound { .. }
                | RecordError::BadModuleName { .. }
                | RecordError::RawOutput { .. }
        )
    }

    /// An [`RecordError::Io`] with its context.
    pub(crate) fn io(context: impl Into<String>, source: io::Error) -> Self {
        RecordError::Io {
            context: context.into(),
            source,
        }
    }
}
