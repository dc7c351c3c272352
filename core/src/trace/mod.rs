//! Trace files: an op stream recorded on disk, to replay it later or feed it to other tools.
//!
//! A trace holds a [`StreamHeader`](crate::op::StreamHeader) followed by the stream's ops and an
//! end marker that repeats the op count, so a truncated file is always detected. There are two
//! forms, specified in `docs/trace-format.md`:
//!
//! - **binary** (magic `GCLT`): compact, one opcode byte and LEB128 varint operands per op;
//! - **text** (first line `gclab-trace text 1`): one op per line, readable and hand-editable.
//!
//! [`TraceWriter`] is an [`OpSink`](crate::workload::OpSink), so a workload streams straight into
//! it; [`TraceReader`] detects the form from the first bytes and feeds any `OpSink` (the
//! executor, a counter, a writer of the other form) one op at a time, as it decodes them. Both
//! run in constant memory whatever the length of the stream.
//!
//! Reading never panics and never trusts a length field: strings, tables and lines are bounded
//! (see the `MAX_*` constants) and every decoding error names the byte offset (binary) or the
//! line and column (text) where it was detected, and what was expected there.
//!
//! ```
//! use gclab_core::trace::{TraceFormat, TraceReader, TraceWriter};
//! use gclab_core::workload::{CountingSink, OpSink};
//! use gclab_core::{Kind, Op, StreamHeader};
//!
//! let header = StreamHeader::new(2).workload("demo");
//! let mut w = TraceWriter::new(Vec::new(), TraceFormat::Binary);
//! w.begin(&header).unwrap();
//! w.ops(&[Op::Alloc { dst: 0, kind: Kind::List, len: 3 }, Op::Clear { dst: 0 }]).unwrap();
//! let bytes = w.finish().unwrap();
//!
//! let mut r = TraceReader::open(&bytes[..]).unwrap();
//! assert_eq!(r.header(), &header);
//! let mut count = CountingSink::default();
//! assert_eq!(r.feed(&mut count).unwrap(), 2);
//! ```
//!
//! The module is split by job: `error` (the error type and positions), `writer` (the
//! [`TraceWriter`] sink and its header checks), `reader` (the [`TraceReader`] and format
//! detection), and one file per form, `binary` and `text`, each with its encoder and decoder.

mod binary;
mod error;
mod reader;
mod text;
mod writer;

pub use error::TraceError;
pub use reader::TraceReader;
pub use writer::TraceWriter;

use std::fmt;
use std::fs::File;
use std::path::Path;

/// The four bytes a binary trace starts with.
pub const MAGIC: [u8; 4] = *b"GCLT";
/// The newest version of the trace format this module reads (both forms); it reads every
/// version from 1. Version 2 adds a type table to the header (for a recording's `New` ops); a
/// stream without types is written as version 1, byte for byte as before.
pub const VERSION: u16 = 2;
/// Most entries a trace's type table may hold.
pub const MAX_TYPES: u64 = 1 << 20;
/// The start of a text trace's first line, which continues with a space and the version.
pub const TEXT_MAGIC: &str = "gclab-trace text";
/// Longest string (workload name, parameter key or value, name) a trace may hold, in bytes.
pub const MAX_STRING_BYTES: u64 = 1 << 20;
/// Most parameters a trace header may hold.
pub const MAX_PARAMS: u64 = 10_000;
/// Most entries a trace's name table may hold.
pub const MAX_NAMES: u64 = 1_000_000;
/// Most registers a trace header may declare.
pub const MAX_REGISTERS: u32 = 1 << 24;
/// Longest line of a text trace, in bytes (without the line ending).
pub const MAX_TEXT_LINE_BYTES: u64 = 8 << 20;

/// The two forms of a trace file.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum TraceFormat {
    /// Compact binary form, starting with the magic bytes `GCLT`.
    Binary,
    /// Line-oriented text form, starting with the line `gclab-trace text 1`.
    Text,
}

/// Where in a trace file an error was detected.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Position {
    /// A byte offset from the start of the file (binary form, or before the form is known).
    Byte(u64),
    /// A line and column, both counted from 1; the column counts characters (text form).
    Line {
        /// Line number, from 1.
        line: u64,
        /// Column, in characters, from 1.
        column: u64,
    },
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Position::Byte(offset) => write!(f, "byte offset {offset}"),
            Position::Line { line, column } => write!(f, "line {line}, column {column}"),
        }
    }
}

/// Opens the trace file at `path` and reads its header.
pub fn open_file(path: &Path) -> Result<TraceReader<File>, TraceError> {
    let file = File::open(path).map_err(|source| TraceError::File {
        path: path.to_path_buf(),
        source,
    })?;
    TraceReader::open(file)
}

/// `label` made safe as the stem of a trace file's name: ASCII letters, digits and `-` kept,
/// every other character `_`.
///
/// ```
/// assert_eq!(gclab_core::trace::file_stem("cycles count=300/é"), "cycles_count_300__");
/// ```
pub fn file_stem(label: &str) -> String {
    label
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}
