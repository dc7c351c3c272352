//! Trace files: an op stream recorded on disk, to replay it later or feed it to other tools.
//!
//! A trace holds a [`StreamHeader`](crate::op::StreamHeader) followed by the stream's ops and an
//! end marker that repeats the op count, so a truncated file is always detected. There are two
//! forms, specified in `docs/trace-format.md`:
//!
//! - **binary** (magic `GCLT`): compact, one opcode byte and LEB128 varint operands per op;
//! - **text** (first line `gclab-trace text 1`, or `2` with a type table): one op per line,
//!   readable and hand-editable.
//!
//! Either form may be **zstd-compressed** as a whole (the file then starts with the zstd frame
//! magic `28 b5 2f fd`): [`TraceWriter::compressed`] compresses while it writes, and
//! [`TraceReader::open`] recognises a compressed file and decompresses while it reads, so that
//! every caller that opens traces reads compressed ones without asking.
//!
//! [`TraceWriter`] is an [`OpSink`](crate::workload::OpSink), so a workload streams straight into
//! it; [`TraceReader`] detects the form from the first bytes and feeds any `OpSink` (the
//! executor, a counter, a writer of the other form) one op at a time, as it decodes them. Both
//! run in constant memory whatever the length of the stream (a compressed trace adds zstd's
//! window, at most [`MAX_ZSTD_WINDOW_LOG`]).
//!
//! Reading never panics and never trusts a length field: strings, tables and lines are bounded
//! (see the `MAX_*` constants) and every decoding error names the byte offset (binary; in a
//! compressed trace, the offset in the decompressed bytes) or the line and column (text) where
//! it was detected, and what was expected there.
//!
//! ```
//! use gclab_core::trace::{TraceFormat, TraceReader, TraceWriter};
//! use gclab_core::workload::{CountingSink, OpSink};
//! use gclab_core::{Kind, Op, StreamHeader};
//!
//! let header = StreamHeader::new(2).workload("demo");
//! let ops = [Op::Alloc { dst: 0, kind: Kind::List, len: 3 }, Op::Clear { dst: 0 }];
//! let mut w = TraceWriter::new(Vec::new(), TraceFormat::Binary);
//! w.begin(&header).unwrap();
//! w.ops(&ops).unwrap();
//! let bytes = w.finish().unwrap();
//!
//! let mut r = TraceReader::open(&bytes[..]).unwrap();
//! assert_eq!(r.header(), &header);
//! let mut count = CountingSink::default();
//! assert_eq!(r.feed(&mut count).unwrap(), 2);
//!
//! // The same trace, zstd-compressed while written; read back the same way.
//! let mut w = TraceWriter::compressed(Vec::new(), TraceFormat::Binary, 3).unwrap();
//! w.begin(&header).unwrap();
//! w.ops(&ops).unwrap();
//! let zst = w.finish().unwrap();
//! assert_eq!(zst[..4], gclab_core::trace::ZSTD_MAGIC);
//! let mut r = TraceReader::open(&zst[..]).unwrap();
//! assert!(r.is_compressed());
//! assert_eq!(r.feed(&mut CountingSink::default()).unwrap(), 2);
//! ```
//!
//! The module is split by job: `error` (the error type and positions), `writer` (the
//! [`TraceWriter`] sink and its header checks), `reader` (the [`TraceReader`] and format
//! detection), `compress` (zstd on both sides, and telling its failures from the file's), and
//! one file per form, `binary` and `text`, each with its encoder and decoder.

mod binary;
mod compress;
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
/// Highest generation an `interp track` op may name (3 is the permanent generation).
pub const MAX_TRACK_GENERATION: u8 = 3;
/// Highest generation an `interp set-count` op may name.
pub const MAX_COUNT_GENERATION: u8 = 2;
/// The four bytes a zstd frame starts with (little-endian 0xFD2FB528): the start of a
/// compressed trace.
pub const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];
/// The zstd level [`TraceWriter::compressed`] is usually given (what `gclab trace --zstd`
/// uses): see `docs/trace-format.md` for the sizes and speeds measured.
pub const DEFAULT_ZSTD_LEVEL: i32 = 3;
/// The zstd levels a trace may be compressed with: 1 to 19 (20 to 22 need windows larger than
/// readers accept).
pub const ZSTD_LEVELS: std::ops::RangeInclusive<i32> = 1..=19;
/// Largest zstd window a reader accepts, as a power of two (8 MiB: what levels 1 to 19 use at
/// most). A frame that needs more (`zstd --long`, `--ultra -20` and up) is refused.
pub const MAX_ZSTD_WINDOW_LOG: u32 = 23;
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

/// The two forms of a trace file (either may also be zstd-compressed).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum TraceFormat {
    /// Compact binary form, starting with the magic bytes `GCLT`.
    Binary,
    /// Line-oriented text form, starting with the line `gclab-trace text 1` (or `2`).
    Text,
}

/// Where in a trace file an error was detected.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Position {
    /// A byte offset from the start of the file (binary form, or before the form is known).
    Byte(u64),
    /// A byte offset in the decompressed bytes of a zstd-compressed trace (binary form, or
    /// before the form is known).
    Decompressed(u64),
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
            Position::Decompressed(offset) => {
                write!(f, "byte offset {offset} of the decompressed trace")
            }
            Position::Line { line, column } => write!(f, "line {line}, column {column}"),
        }
    }
}

/// Opens the trace file at `path` and reads its header; a compressed trace is decompressed
/// ahead in a thread of its own ([`TraceReader::open_threaded`]).
pub fn open_file(path: &Path) -> Result<TraceReader<File>, TraceError> {
    let file = File::open(path).map_err(|source| TraceError::File {
        path: path.to_path_buf(),
        source,
    })?;
    TraceReader::open_threaded(file)
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
