//! A recording on disk: the trace, the real run's collector log beside it, and what is known
//! about the run.
//!
//! `gclab record -o prog.gctrace` writes three files:
//!
//! - `prog.gctrace`: the converted op stream, a gclab trace (zstd-compressed binary);
//! - `prog.gctrace.collections.jsonl`: the real collector log, one [`RealCollection`] per line;
//! - `prog.gctrace.meta.json`: [`RecordingMeta`], the interpreter, the program, its exit status
//!   and wall times, and the conversion's diagnostics.

use crate::convert::{convert, Conversion, Diagnostics, RealCollection};
use gclab_core::trace::{TraceFormat, TraceWriter};
use gclab_core::workload::OpSink;
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use thiserror::Error;

/// The zstd level recordings are compressed with. Level 9 makes a recording's trace 7-11 %
/// smaller than level 3 for about 0.1-0.15 s more per 10 MB of uncompressed trace, most of the
/// conversion's 5-20 % slowdown measured on the corpus (`docs/recording.md`); reading is as
/// fast, and its window stays within the 8 MiB readers accept.
pub const ZSTD_LEVEL: i32 = 9;

/// What is known about a recorded run, beside its trace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordingMeta {
    /// The program as the user named it (`script.py args...` or `-m module args...`).
    pub program: Vec<String>,
    /// The interpreter's executable.
    pub python: String,
    /// Its version, `major.minor.micro`.
    pub python_version: String,
    /// How the recorder saw objects: `reftracer` (3.13+) or `interposition` (3.11, 3.12).
    pub mechanism: String,
    /// The program's exit code (`None` if a signal ended it).
    pub exit_code: Option<i32>,
    /// The signal that ended it, if one did.
    pub signal: Option<i32>,
    /// Wall time of the recorded run, ns.
    pub wall_ns: u64,
    /// Wall time of the conversion, ns.
    pub convert_ns: u64,
    /// Bytes of the raw event log.
    pub raw_bytes: u64,
    /// Bytes of the trace.
    pub trace_bytes: u64,
    /// Real collections.
    pub collections: u64,
    /// What the conversion inferred.
    pub diagnostics: Diagnostics,
}

/// A recording's files that cannot be written or read.
#[derive(Debug, Error)]
pub enum FilesError {
    /// A file cannot be written or read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A collector log or meta file that is not what gclab writes.
    #[error("{}: line {line}: {msg}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// Line number, from 1.
        line: usize,
        /// Why.
        msg: String,
    },
    /// The conversion failed.
    #[error(transparent)]
    Convert(#[from] crate::convert::ConvertError),
    /// The trace cannot be finished.
    #[error("{}: {msg}", path.display())]
    Trace {
        /// The trace.
        path: PathBuf,
        /// Why.
        msg: String,
    },
}

/// The collector log beside the trace `trace`.
pub fn log_path(trace: &Path) -> PathBuf {
    suffixed(trace, ".collections.jsonl")
}

/// The meta file beside the trace `trace`.
pub fn meta_path(trace: &Path) -> PathBuf {
    suffixed(trace, ".meta.json")
}

fn suffixed(p: &Path, suffix: &str) -> PathBuf {
    let mut s = p.as_os_str().to_os_string();
    s.push(suffix);
    PathBuf::from(s)
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> FilesError + '_ {
    move |source| FilesError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Converts the raw log `raw` into the trace `trace` and writes the collector log beside it.
pub fn convert_to_trace(
    raw: &Path,
    trace: &Path,
    workload: &str,
    params: Vec<(String, String)>,
) -> Result<Conversion, FilesError> {
    let file = File::create(trace).map_err(io(trace))?;
    let mut w = TraceWriter::compressed(BufWriter::new(file), TraceFormat::Binary, ZSTD_LEVEL)
        .map_err(|e| FilesError::Trace {
            path: trace.to_path_buf(),
            msg: e.to_string(),
        })?;
    let conv = convert(
        || File::open(raw).map(|f| BufReader::with_capacity(1 << 20, f)),
        workload,
        params,
        &mut w as &mut dyn OpSink,
    )?;
    let mut inner = w.finish().map_err(|e| FilesError::Trace {
        path: trace.to_path_buf(),
        msg: e.to_string(),
    })?;
    inner.flush().map_err(io(trace))?;
    write_log(&log_path(trace), &conv.collections)?;
    Ok(conv)
}

/// Writes a collector log.
pub fn write_log(path: &Path, collections: &[RealCollection]) -> Result<(), FilesError> {
    let mut out = BufWriter::new(File::create(path).map_err(io(path))?);
    for c in collections {
        let line = serde_json::to_string(c).map_err(|e| FilesError::Parse {
            path: path.to_path_buf(),
            line: 0,
            msg: e.to_string(),
        })?;
        writeln!(out, "{line}").map_err(io(path))?;
    }
    out.flush().map_err(io(path))
}

/// Reads a collector log.
pub fn read_log(path: &Path) -> Result<Vec<RealCollection>, FilesError> {
    let f = File::open(path).map_err(io(path))?;
    let mut out = Vec::new();
    for (i, line) in BufReader::new(f).lines().enumerate() {
        let line = line.map_err(io(path))?;
        if line.trim().is_empty() {
            continue;
        }
        out.push(serde_json::from_str(&line).map_err(|e| FilesError::Parse {
            path: path.to_path_buf(),
            line: i + 1,
            msg: e.to_string(),
        })?);
    }
    Ok(out)
}

/// Writes the meta file beside the trace `trace`.
pub fn write_meta(trace: &Path, meta: &RecordingMeta) -> Result<(), FilesError> {
    let path = meta_path(trace);
    let text = serde_json::to_string_pretty(meta).map_err(|e| FilesError::Parse {
        path: path.clone(),
        line: 0,
        msg: e.to_string(),
    })?;
    std::fs::write(&path, text + "\n").map_err(io(&path))
}

/// Reads the meta file beside the trace `trace`.
pub fn read_meta(trace: &Path) -> Result<RecordingMeta, FilesError> {
    let path = meta_path(trace);
    let text = std::fs::read_to_string(&path).map_err(io(&path))?;
    serde_json::from_str(&text).map_err(|e| FilesError::Parse {
        path: path.clone(),
        line: e.line(),
        msg: e.to_string(),
    })
}
