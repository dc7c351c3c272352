//! Running a program under the recorder.
//!
//! [`record`] checks the program, probes the interpreter ([`crate::python::probe`]), builds the
//! recorder for it if the cache does not have it ([`crate::build`]), and runs
//!
//! ```text
//! python <build dir>/_gclab_boot.py TARGET ARG...
//! ```
//!
//! with `GCLAB_RECORD_RAW` (the raw log's path), `GCLAB_RECORD_PROGRAM` (`script` or `-m`),
//! `PYTHONPATH` starting with the build directory and, on 3.11/3.12, `LD_PRELOAD` starting with
//! the shim. The launcher also passes the program's own `PYTHONPATH` and `LD_PRELOAD` (as
//! `GCLAB_RECORD_ORIG_*`: `=value`, or `-` for unset), which the boot script puts back before
//! the program starts, so the program and its child processes see the environment they would
//! see without the recorder. Standard input, output and error are inherited.

use std::ffi::{OsStr, OsString};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::build::{self, Built};
use crate::error::RecordError;
use crate::python::{self, Interpreter};

/// What to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Program {
    /// `python PATH ARGS...`
    Script {
        /// The script (a file, or a directory or zip file with a `__main__.py`).
        path: PathBuf,
        /// Its arguments (`sys.argv[1:]`).
        args: Vec<String>,
    },
    /// `python -m NAME ARGS...`
    Module {
        /// The module's dotted name.
        name: String,
        /// Its arguments (`sys.argv[1:]`).
        args: Vec<String>,
    },
}

/// What [`record`] needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordOptions {
    /// The interpreter (`python3` on `PATH` if `None`).
    pub python: Option<PathBuf>,
    /// The program to record.
    pub program: Program,
    /// Where to write the raw event log (created or truncated).
    pub raw_out: PathBuf,
    /// Extra environment variables for the program (they win over gclab's own environment;
    /// a `PYTHONPATH` or `LD_PRELOAD` here is what the program sees).
    pub env: Vec<(String, String)>,
}

/// How the recorded program ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatusInfo {
    /// It exited with this code (`sys.exit(3)` gives 3, an uncaught exception 1).
    Code(i32),
    /// It was killed by this signal (an uncaught `KeyboardInterrupt` ends with `SIGINT`, 2).
    Signal(i32),
}

impl ExitStatusInfo {
    /// Whether the program exited with code 0.
    pub fn success(self) -> bool {
        self == ExitStatusInfo::Code(0)
    }

    fn from_status(status: std::process::ExitStatus) -> Self {
        use std::os::unix::process::ExitStatusExt;
        match (status.code(), status.signal()) {
            (Some(code), _) => ExitStatusInfo::Code(code),
            (None, Some(signal)) => ExitStatusInfo::Signal(signal),
            (None, None) => ExitStatusInfo::Code(-1),
        }
    }
}

impl std::fmt::Display for ExitStatusInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExitStatusInfo::Code(c) => write!(f, "exit code {c}"),
            ExitStatusInfo::Signal(s) => write!(f, "killed by signal {s}"),
        }
    }
}

/// What [`record`] returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordOutcome {
    /// The interpreter that ran the program.
    pub interpreter: Interpreter,
    /// How the program ended.
    pub status: ExitStatusInfo,
    /// Wall time from starting the interpreter to its exit, in nanoseconds (the recorder's own
    /// start and the interpreter's start-up included).
    pub wall_ns: u64,
}

/// A recording ready to run: the command and what it was built from ([`prepare`]).
#[derive(Debug)]
pub struct Prepared {
    /// `python <boot> TARGET ARG...` with the recorder's environment; stdio not yet set.
    pub command: Command,
    /// The probed interpreter.
    pub interpreter: Interpreter,
    /// The recorder build it uses.
    pub built: Built,
}

/// Records `opts.program` into `opts.raw_out`, building the recorder into the default cache
/// ([`build::cache_root`]) on first use. The program's stdin, stdout and stderr are gclab's.
pub fn record(opts: &RecordOptions) -> Result<RecordOutcome, RecordError> {
    record_in(opts, &build::cache_root()?)
}

/// [`record`] with the recorder's cache under `cache_root`.
pub fn record_in(opts: &RecordOptions, cache_root: &Path) -> Result<RecordOutcome, RecordError> {
    let Prepared {
        mut command,
        interpreter,
        ..
    } = prepare(opts, cache_root)?;
    let start = Instant::now();
    let status = command.status().map_err(|source| RecordError::Launch {
        python: interpreter.path.clone(),
        source,
    })?;
    let wall_ns = u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX);
    Ok(RecordOutcome {
        interpreter,
        status: ExitStatusInfo::from_status(status),
        wall_ns,
    })
}

/// Everything [`record_in`] does before running: checks the program, probes the interpreter,
/// builds the recorder, creates the raw log's file, and returns the command to run (for callers
/// that capture the program's output or set its working directory).
pub fn prepare(opts: &RecordOptions, cache_root: &Path) -> Result<Prepared, RecordError> {
    let (mode, target, args) = match &opts.program {
        Program::Script { path, args } => {
            fs::metadata(path).map_err(|source| RecordError::ScriptNotFound {
                path: path.clone(),
                source,
            })?;
            ("script", path.as_os_str().to_owned(), args)
        }
        Program::Module { name, args } => {
            if !is_module_name(name) {
                return Err(RecordError::BadModuleName { name: name.clone() });
            }
            ("-m", OsString::from(name), args)
        }
    };
    let interpreter = python::probe(opts.python.as_deref())?;
    let built = build::ensure_built_in(&interpreter, cache_root)?;
    let raw = absolute(&opts.raw_out);
    fs::File::create(&raw).map_err(|source| RecordError::RawOutput {
        path: opts.raw_out.clone(),
        source,
    })?;

    let mut command = Command::new(&interpreter.path);
    // CPython stops reading options at the boot script: TARGET and ARGS reach it untouched
    command.arg(&built.boot).arg(&target).args(args);
    for (k, v) in &opts.env {
        command.env(k, v);
    }
    let program_env = |name: &str| -> Option<OsString> {
        match opts.env.iter().rev().find(|(k, _)| k == name) {
            Some((_, v)) => Some(OsString::from(v)),
            None => std::env::var_os(name),
        }
    };
    let mut set_prefixed = |name: &str, first: &Path, sep: &str| {
        let orig = program_env(name);
        let mut value = first.as_os_str().to_owned();
        if let Some(o) = orig.as_ref().filter(|o| !o.is_empty()) {
            value.push(sep);
            value.push(o);
        }
        command.env(name, value);
        command.env(format!("GCLAB_RECORD_ORIG_{name}"), saved(orig.as_deref()));
    };
    set_prefixed("PYTHONPATH", &built.dir, ":");
    if let Some(shim) = &built.shim {
        set_prefixed("LD_PRELOAD", shim, ":");
    }
    command.env("GCLAB_RECORD_RAW", &raw);
    command.env("GCLAB_RECORD_PROGRAM", mode);
    Ok(Prepared {
        command,
        interpreter,
        built,
    })
}

/// `=value` for a set variable, `-` for an unset one (the boot script's encoding).
fn saved(value: Option<&OsStr>) -> OsString {
    match value {
        Some(v) => {
            let mut s = OsString::from("=");
            s.push(v);
            s
        }
        None => OsString::from("-"),
    }
}

fn absolute(p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|d| d.join(p))
            .unwrap_or_else(|_| p.to_path_buf())
    }
}

/// Dotted Python identifiers (ASCII letters, digits and `_`, or any non-ASCII character, as
/// Python 3 allows; not starting with a digit).
fn is_module_name(name: &str) -> bool {
    !name.is_empty()
        && name.split('.').all(|part| {
            let mut chars = part.chars();
            match chars.next() {
                Some(c) if c == '_' || c.is_alphabetic() => {
                    chars.all(|c| c == '_' || c.is_alphanumeric())
                }
                _ => false,
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_names() {
        for ok in ["a", "pkg.mod", "_x.y1", "héllo"] {
            assert!(is_module_name(ok), "{ok}");
        }
        for bad in ["", "1a", "a..b", "a.", ".a", "a-b", "a b", "-m"] {
            assert!(!is_module_name(bad), "{bad}");
        }
    }

    #[test]
    fn saved_values() {
        assert_eq!(saved(None), OsString::from("-"));
        assert_eq!(saved(Some(OsStr::new(""))), OsString::from("="));
        assert_eq!(saved(Some(OsStr::new("/a:/b"))), OsString::from("=/a:/b"));
    }

    #[test]
    fn statuses() {
        assert!(ExitStatusInfo::Code(0).success());
        assert!(!ExitStatusInfo::Code(3).success());
        assert!(!ExitStatusInfo::Signal(2).success());
        assert_eq!(ExitStatusInfo::Signal(2).to_string(), "killed by signal 2");
    }

    #[test]
    fn a_missing_script_is_a_usage_error_before_any_probe() {
        let opts = RecordOptions {
            python: Some("/nonexistent/python".into()),
            program: Program::Script {
                path: "/nonexistent/script.py".into(),
                args: vec![],
            },
            raw_out: "/tmp/x.raw".into(),
            env: vec![],
        };
        let e = prepare(&opts, Path::new("/nonexistent/cache")).unwrap_err();
        assert!(matches!(e, RecordError::ScriptNotFound { .. }), "{e}");
        assert!(e.is_usage());
    }
}
