//! Asking an interpreter about itself, and deciding whether and how it can be recorded.
//!
//! [`probe`] runs the interpreter once with `-c` and a script that prints one JSON line (its
//! version, build options, header and library locations), then decides the [`Mechanism`]:
//!
//! * CPython 3.13 (a GIL build, with its internal headers): [`Mechanism::RefTracer`], the
//!   public reference tracer `PyRefTracer_SetTracer` added in 3.13.
//! * CPython 3.11 and 3.12: [`Mechanism::Interposition`], only with a shared libpython
//!   (`Py_ENABLE_SHARED=1`), whose calls to `_Py_NewReference` and `_Py_Dealloc` go through the
//!   PLT where an `LD_PRELOAD` shim can interpose them.
//!
//! Anything else is an [`Unsupported`] error that says what is needed.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;

use crate::error::{RecordError, Unsupported};

/// How object creations and deaths reach the recorder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mechanism {
    /// CPython 3.13's reference tracer (`PyRefTracer_SetTracer`).
    RefTracer,
    /// The `LD_PRELOAD` shim interposing `_Py_NewReference` / `_Py_Dealloc` (3.11, 3.12).
    Interposition,
}

/// A CPython interpreter that can be recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interpreter {
    /// The executable the recorder runs (`sys.executable`, or the path as given if Python
    /// reports none).
    pub path: PathBuf,
    /// `sys.version_info[:3]`.
    pub version: (u32, u32, u32),
    /// `sys.hexversion` (`PY_VERSION_HEX`), as written in the raw log's header.
    pub hexversion: u32,
    /// How events reach the recorder.
    pub mechanism: Mechanism,
    /// The C header directory (`sysconfig.get_paths()['include']`).
    pub include_dir: PathBuf,
    /// The file name suffix of extension modules (`EXT_SUFFIX`).
    pub ext_suffix: String,
    /// Whether libpython is a shared library (`Py_ENABLE_SHARED`).
    pub shared: bool,
    /// `LIBDIR`, where libpython is installed.
    pub libdir: Option<PathBuf>,
    /// `LDLIBRARY`, libpython's file name.
    pub ldlibrary: Option<String>,
}

impl Interpreter {
    /// `major.minor.micro`.
    pub fn version_string(&self) -> String {
        let (a, b, c) = self.version;
        format!("{a}.{b}.{c}")
    }
}

/// The probe: runs under any Python from 2.7 on (so an old interpreter is reported as too old,
/// not as broken) and prints one JSON line.
const PROBE: &str = r#"
import json, os, sys, sysconfig
inc = sysconfig.get_paths().get("include") or ""
cv = sysconfig.get_config_var
impl = getattr(sys, "implementation", None)
print(json.dumps({
    "implementation": impl.name if impl is not None else "cpython",
    "version": list(sys.version_info[:3]),
    "hexversion": sys.hexversion,
    "executable": sys.executable or "",
    "shared": cv("Py_ENABLE_SHARED"),
    "gil_disabled": cv("Py_GIL_DISABLED"),
    "include": inc,
    "ext_suffix": cv("EXT_SUFFIX") or cv("SO") or "",
    "python_h": os.path.isfile(os.path.join(inc, "Python.h")),
    "internal_headers": os.path.isfile(os.path.join(inc, "internal", "pycore_gc.h")),
    "libdir": cv("LIBDIR"),
    "ldlibrary": cv("LDLIBRARY"),
}))
"#;

/// What the probe prints.
#[derive(Debug, Deserialize)]
struct ProbeAnswer {
    implementation: String,
    version: (u32, u32, u32),
    hexversion: u32,
    executable: String,
    shared: Option<serde_json::Value>,
    gil_disabled: Option<serde_json::Value>,
    include: String,
    ext_suffix: String,
    python_h: bool,
    internal_headers: bool,
    libdir: Option<String>,
    ldlibrary: Option<String>,
}

/// A config variable that is 1 (CPython stores them as ints, sometimes as strings).
fn flag(v: &Option<serde_json::Value>) -> bool {
    match v {
        Some(serde_json::Value::Number(n)) => n.as_i64() == Some(1),
        Some(serde_json::Value::String(s)) => s.trim() == "1",
        Some(serde_json::Value::Bool(b)) => *b,
        _ => false,
    }
}

/// The interpreter to probe when none is given: `python3` on `PATH`.
pub const DEFAULT_PYTHON: &str = "python3";

/// Probes `python` (or `python3` on `PATH`) and decides how to record it.
///
/// Errors: [`RecordError::PythonNotFound`] if it cannot be run, [`RecordError::ProbeFailed`]
/// if it does not answer like a Python, [`RecordError::Unsupported`] if it cannot be recorded.
pub fn probe(python: Option<&Path>) -> Result<Interpreter, RecordError> {
    let given = python.unwrap_or(Path::new(DEFAULT_PYTHON)).to_path_buf();
    let out = Command::new(&given)
        .arg("-c")
        .arg(PROBE)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|source| RecordError::PythonNotFound {
            python: given.clone(),
            source,
        })?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let last = stderr.lines().last().unwrap_or("").trim().to_string();
        return Err(RecordError::ProbeFailed {
            python: given,
            detail: format!("it exited with {}: {last}", out.status),
        });
    }
    // the last line that parses: a sitecustomize may print before us
    let answer = stdout
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str::<ProbeAnswer>(l.trim()).ok())
        .ok_or_else(|| RecordError::ProbeFailed {
            python: given.clone(),
            detail: format!("unreadable answer {:?}", stdout.trim()),
        })?;
    decide(&given, answer)
}

fn decide(given: &Path, a: ProbeAnswer) -> Result<Interpreter, RecordError> {
    let path = if a.executable.is_empty() {
        given.to_path_buf()
    } else {
        PathBuf::from(&a.executable)
    };
    let unsupported = |reason| RecordError::Unsupported {
        python: path.clone(),
        version: format!("{}.{}.{}", a.version.0, a.version.1, a.version.2),
        reason,
    };
    if a.implementation != "cpython" {
        return Err(unsupported(Unsupported::NotCPython(
            a.implementation.clone(),
        )));
    }
    let (major, minor, _) = a.version;
    if (major, minor) < (3, 11) {
        return Err(unsupported(Unsupported::TooOld));
    }
    if (major, minor) >= (3, 14) {
        return Err(unsupported(Unsupported::TooNew));
    }
    if flag(&a.gil_disabled) {
        return Err(unsupported(Unsupported::FreeThreaded));
    }
    if !a.python_h || !a.internal_headers {
        return Err(unsupported(Unsupported::NoHeaders));
    }
    let shared = flag(&a.shared);
    let mechanism = if (major, minor) >= (3, 13) {
        Mechanism::RefTracer
    } else if shared {
        Mechanism::Interposition
    } else {
        return Err(unsupported(Unsupported::StaticLibpython));
    };
    Ok(Interpreter {
        path,
        version: a.version,
        hexversion: a.hexversion,
        mechanism,
        include_dir: PathBuf::from(a.include),
        ext_suffix: a.ext_suffix,
        shared,
        libdir: a.libdir.filter(|s| !s.is_empty()).map(PathBuf::from),
        ldlibrary: a.ldlibrary.filter(|s| !s.is_empty()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(version: (u32, u32, u32)) -> ProbeAnswer {
        ProbeAnswer {
            implementation: "cpython".into(),
            version,
            hexversion: (version.0 << 24) | (version.1 << 16) | (version.2 << 8) | 0xf0,
            executable: "/x/bin/python3".into(),
            shared: Some(serde_json::json!(1)),
            gil_disabled: Some(serde_json::json!(0)),
            include: "/x/include/python3".into(),
            ext_suffix: ".so".into(),
            python_h: true,
            internal_headers: true,
            libdir: Some("/x/lib".into()),
            ldlibrary: Some("libpython3.so".into()),
        }
    }

    fn reason(a: ProbeAnswer) -> Option<Unsupported> {
        match decide(Path::new("python3"), a) {
            Err(RecordError::Unsupported { reason, .. }) => Some(reason),
            Err(e) => panic!("unexpected error {e}"),
            Ok(_) => None,
        }
    }

    #[test]
    fn mechanisms_follow_the_version() {
        let i = decide(Path::new("p"), answer((3, 13, 0))).unwrap();
        assert_eq!(i.mechanism, Mechanism::RefTracer);
        assert_eq!(i.path, PathBuf::from("/x/bin/python3"));
        for minor in [11, 12] {
            let i = decide(Path::new("p"), answer((3, minor, 1))).unwrap();
            assert_eq!(i.mechanism, Mechanism::Interposition);
        }
    }

    #[test]
    fn each_unsupported_build_names_its_reason() {
        assert_eq!(reason(answer((3, 10, 13))), Some(Unsupported::TooOld));
        assert_eq!(reason(answer((2, 7, 18))), Some(Unsupported::TooOld));
        assert_eq!(reason(answer((3, 14, 0))), Some(Unsupported::TooNew));
        let mut a = answer((3, 13, 0));
        a.gil_disabled = Some(serde_json::json!(1));
        assert_eq!(reason(a), Some(Unsupported::FreeThreaded));
        let mut a = answer((3, 12, 1));
        a.shared = Some(serde_json::json!(0));
        assert_eq!(reason(a), Some(Unsupported::StaticLibpython));
        // 3.13 does not need a shared libpython
        let mut a = answer((3, 13, 0));
        a.shared = None;
        assert_eq!(reason(a), None);
        let mut a = answer((3, 11, 7));
        a.internal_headers = false;
        assert_eq!(reason(a), Some(Unsupported::NoHeaders));
        let mut a = answer((3, 11, 7));
        a.implementation = "pypy".into();
        assert_eq!(reason(a), Some(Unsupported::NotCPython("pypy".into())));
    }

    #[test]
    fn messages_say_what_is_needed() {
        assert!(Unsupported::TooOld.to_string().contains("3.11 or later"));
        assert!(Unsupported::StaticLibpython
            .to_string()
            .contains("3.11/3.12 must link libpython dynamically (configure --enable-shared)"));
        assert!(Unsupported::NoHeaders
            .to_string()
            .contains("needs the interpreter's C headers, including include/internal"));
        assert!(Unsupported::FreeThreaded
            .to_string()
            .contains("not supported"));
    }

    #[test]
    fn config_flags_accept_ints_and_strings() {
        assert!(flag(&Some(serde_json::json!(1))));
        assert!(flag(&Some(serde_json::json!("1"))));
        assert!(!flag(&Some(serde_json::json!(0))));
        assert!(!flag(&None));
        assert!(!flag(&Some(serde_json::Value::Null)));
    }
}
