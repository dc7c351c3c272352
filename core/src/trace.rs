//! Trace files: an op stream recorded on disk, to replay it later or feed it to other tools.
//!
//! A trace holds a [`StreamHeader`] followed by the stream's ops and an end marker that repeats
//! the op count, so a truncated file is always detected. There are two forms, specified in
//! `docs/trace-format.md`:
//!
//! - **binary** (magic `GCLT`): compact, one opcode byte and LEB128 varint operands per op;
//! - **text** (first line `gclab-trace text 1`): one op per line, readable and hand-editable.
//!
//! [`TraceWriter`] is an [`OpSink`], so a workload streams straight into it; [`TraceReader`]
//! detects the form from the first bytes and feeds any [`OpSink`] (the executor, a counter, a
//! writer of the other form) one op at a time, as it decodes them. Both run in constant memory
//! whatever the length of the stream.
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
//! let header = StreamHeader { workload: "demo".into(), registers: 2, ..Default::default() };
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

use crate::kind::Kind;
use crate::op::{GcOp, Op, StreamHeader};
use crate::workload::{OpSink, Stop};
use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};

/// The four bytes a binary trace starts with.
pub const MAGIC: [u8; 4] = *b"GCLT";
/// The version of the trace format this module writes and reads (both forms).
pub const VERSION: u16 = 1;
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

/// Opcodes of the binary form (see `docs/trace-format.md`).
mod opcode {
    pub const ALLOC: u8 = 0x01;
    pub const STORE: u8 = 0x02;
    pub const APPEND: u8 = 0x03;
    pub const LOAD: u8 = 0x04;
    pub const COPY: u8 = 0x05;
    pub const CLEAR: u8 = 0x06;
    pub const EVENT: u8 = 0x07;
    pub const PROBE: u8 = 0x08;
    pub const SAFE_POINT: u8 = 0x09;
    pub const GC_COLLECT: u8 = 0x10;
    pub const GC_FREEZE: u8 = 0x11;
    pub const GC_UNFREEZE: u8 = 0x12;
    pub const GC_ENABLE: u8 = 0x13;
    pub const GC_DISABLE: u8 = 0x14;
    pub const GC_SET_THRESHOLD: u8 = 0x15;
    pub const END: u8 = 0xFF;
}

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

/// Why a trace could not be written or read.
///
/// Every decoding error carries the [`Position`] where it was detected (see
/// [`TraceError::position`]).
#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    /// The trace file could not be opened.
    #[error("cannot open trace file {}: {source}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// Reading or writing failed.
    #[error("I/O error at {at}: {source}")]
    Io {
        /// Where in the file.
        at: Position,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The file starts with neither `GCLT` nor `gclab-trace text`.
    #[error(
        "bad magic at {at}: expected `GCLT` (binary trace) or `{TEXT_MAGIC} {VERSION}` (text trace), found {found}"
    )]
    BadMagic {
        /// Where.
        at: Position,
        /// What was found instead.
        found: String,
    },
    /// The trace declares a format version this reader does not know.
    #[error("unsupported trace format version {version} at {at}: expected version {VERSION}")]
    UnsupportedVersion {
        /// Where the version is.
        at: Position,
        /// The declared version.
        version: u64,
    },
    /// The file ended early, for example before the end marker.
    #[error("unexpected end of file at {at}: expected {expected}")]
    Truncated {
        /// Where the file ended.
        at: Position,
        /// What should have come next.
        expected: String,
    },
    /// A varint is longer than 10 bytes, or its value does not fit its field.
    #[error("varint overflow at {at}: expected {expected}")]
    VarintOverflow {
        /// Where the varint starts.
        at: Position,
        /// What the field holds and its range.
        expected: String,
    },
    /// An opcode (binary) or op mnemonic (text) that does not exist.
    #[error("unknown opcode {found} at {at}: expected {expected}")]
    UnknownOpcode {
        /// Where.
        at: Position,
        /// The opcode or mnemonic found.
        found: String,
        /// What would have been valid.
        expected: &'static str,
    },
    /// A kind code (binary) or kind name (text) that does not exist.
    #[error("unknown object kind {found} at {at}: expected {expected}")]
    UnknownKind {
        /// Where.
        at: Position,
        /// The code or name found.
        found: String,
        /// What would have been valid.
        expected: &'static str,
    },
    /// Bytes that are not UTF-8 where a string (or a text line) was expected.
    #[error("invalid UTF-8 at {at}: expected {expected} in UTF-8")]
    InvalidUtf8 {
        /// The first invalid byte.
        at: Position,
        /// What was being read.
        expected: &'static str,
    },
    /// The end marker's op count differs from the number of ops in the file.
    #[error("op-count mismatch at {at}: the end marker says {declared} ops but the trace holds {actual}")]
    CountMismatch {
        /// Where the count is.
        at: Position,
        /// The count the end marker declares.
        declared: u64,
        /// The number of ops read.
        actual: u64,
    },
    /// Something follows the end marker.
    #[error("trailing garbage at {at}: expected end of file after the end marker")]
    TrailingGarbage {
        /// Where the garbage starts.
        at: Position,
    },
    /// A length, count or register number beyond this reader's bounds.
    #[error("{what} {value} at {at} exceeds the limit: expected at most {limit}")]
    LimitExceeded {
        /// Where.
        at: Position,
        /// What was too large.
        what: &'static str,
        /// Its value.
        value: u64,
        /// The bound.
        limit: u64,
    },
    /// A text line that does not follow the grammar.
    #[error("syntax error at {at}: expected {expected}, found {found}")]
    Syntax {
        /// Where.
        at: Position,
        /// What was expected.
        expected: String,
        /// What was found.
        found: String,
    },
    /// The sink stopped the stream (for example the executor failed on an op). The trace itself
    /// may be fine.
    #[error("the sink stopped the stream: {0}")]
    Stopped(Stop),
    /// [`TraceReader::feed`] was called a second time.
    #[error("this trace has already been fed to a sink")]
    AlreadyFed,
    /// The stream cannot be written as a trace (the header exceeds a bound, or the writer was
    /// used out of order).
    #[error("cannot write trace: {0}")]
    Unwritable(String),
}

impl TraceError {
    /// Where in the file the error was detected, for every decoding and I/O error.
    pub fn position(&self) -> Option<Position> {
        match self {
            TraceError::Io { at, .. }
            | TraceError::BadMagic { at, .. }
            | TraceError::UnsupportedVersion { at, .. }
            | TraceError::Truncated { at, .. }
            | TraceError::VarintOverflow { at, .. }
            | TraceError::UnknownOpcode { at, .. }
            | TraceError::UnknownKind { at, .. }
            | TraceError::InvalidUtf8 { at, .. }
            | TraceError::CountMismatch { at, .. }
            | TraceError::TrailingGarbage { at }
            | TraceError::LimitExceeded { at, .. }
            | TraceError::Syntax { at, .. } => Some(*at),
            TraceError::File { .. }
            | TraceError::Stopped(_)
            | TraceError::AlreadyFed
            | TraceError::Unwritable(_) => None,
        }
    }
}

// ------------------------------------------------------------------------------------------------
// Writing

/// Writes an op stream as a trace. It is an [`OpSink`]: pass it to
/// [`stream`](crate::workload::stream) or [`TraceReader::feed`], then call
/// [`finish`](TraceWriter::finish) to write the end marker.
///
/// The writer encodes each chunk into an internal buffer and hands it to `W` with one
/// `write_all`, so `W` need not be buffered.
pub struct TraceWriter<W: Write> {
    w: W,
    format: TraceFormat,
    buf: Vec<u8>,
    started: bool,
    ops: u64,
    bytes: u64,
    failure: Option<WriteFailure>,
}

enum WriteFailure {
    Io { at: u64, error: io::Error },
    Invalid(String),
}

impl<W: Write> TraceWriter<W> {
    /// A writer of `format` onto `w`. Nothing is written before [`OpSink::begin`].
    pub fn new(w: W, format: TraceFormat) -> TraceWriter<W> {
        TraceWriter {
            w,
            format,
            buf: Vec::with_capacity(16 * 1024),
            started: false,
            ops: 0,
            bytes: 0,
            failure: None,
        }
    }

    /// The form being written.
    pub fn format(&self) -> TraceFormat {
        self.format
    }

    /// Ops written so far.
    pub fn ops_written(&self) -> u64 {
        self.ops
    }

    /// Bytes handed to the underlying writer so far.
    pub fn bytes_written(&self) -> u64 {
        self.bytes
    }

    /// Writes the end marker (with the op count), flushes and returns the underlying writer.
    ///
    /// Fails if [`OpSink::begin`] was never called or if an earlier write failed (the first
    /// failure is returned).
    pub fn finish(mut self) -> Result<W, TraceError> {
        if let Some(failure) = self.failure.take() {
            return Err(match failure {
                WriteFailure::Io { at, error } => TraceError::Io {
                    at: Position::Byte(at),
                    source: error,
                },
                WriteFailure::Invalid(msg) => TraceError::Unwritable(msg),
            });
        }
        if !self.started {
            return Err(TraceError::Unwritable(
                "finish() called before begin(): no header was written".into(),
            ));
        }
        self.buf.clear();
        match self.format {
            TraceFormat::Binary => {
                self.buf.push(opcode::END);
                put_varint(&mut self.buf, self.ops);
            }
            TraceFormat::Text => {
                push_line(&mut self.buf, format_args!("end {}", self.ops));
            }
        }
        let at = self.bytes;
        let io_err = |error| TraceError::Io {
            at: Position::Byte(at),
            source: error,
        };
        self.w.write_all(&self.buf).map_err(io_err)?;
        self.bytes += self.buf.len() as u64;
        let at = self.bytes;
        self.w.flush().map_err(|error| TraceError::Io {
            at: Position::Byte(at),
            source: error,
        })?;
        Ok(self.w)
    }

    /// Hands the buffer to `w`; on failure, remembers it and stops the stream.
    fn write_buf(&mut self) -> Result<(), Stop> {
        if let Err(error) = self.w.write_all(&self.buf) {
            let msg = format!("writing trace at byte offset {}: {error}", self.bytes);
            self.failure = Some(WriteFailure::Io {
                at: self.bytes,
                error,
            });
            return Err(Stop::Sink(msg));
        }
        self.bytes += self.buf.len() as u64;
        self.buf.clear();
        Ok(())
    }

    fn fail(&mut self, msg: String) -> Stop {
        let stop = Stop::Sink(format!("cannot write trace: {msg}"));
        self.failure = Some(WriteFailure::Invalid(msg));
        stop
    }

    fn earlier_failure(&self) -> Option<Stop> {
        self.failure.as_ref().map(|f| match f {
            WriteFailure::Io { at, error } => {
                Stop::Sink(format!("writing trace at byte offset {at}: {error}"))
            }
            WriteFailure::Invalid(msg) => Stop::Sink(format!("cannot write trace: {msg}")),
        })
    }
}

/// Checks that a header is within the bounds a reader accepts.
fn check_header(h: &StreamHeader) -> Result<(), String> {
    let long = |what: &str, s: &str| -> Result<(), String> {
        if s.len() as u64 > MAX_STRING_BYTES {
            Err(format!(
                "{what} is {} bytes long, more than the limit of {MAX_STRING_BYTES}",
                s.len()
            ))
        } else {
            Ok(())
        }
    };
    long("the workload name", &h.workload)?;
    if h.registers > MAX_REGISTERS {
        return Err(format!(
            "{} registers exceed the limit of {MAX_REGISTERS}",
            h.registers
        ));
    }
    if h.params.len() as u64 > MAX_PARAMS {
        return Err(format!(
            "{} parameters exceed the limit of {MAX_PARAMS}",
            h.params.len()
        ));
    }
    for (k, v) in &h.params {
        long("a parameter key", k)?;
        long("a parameter value", v)?;
    }
    if h.names.len() as u64 > MAX_NAMES {
        return Err(format!(
            "{} names exceed the limit of {MAX_NAMES}",
            h.names.len()
        ));
    }
    for n in &h.names {
        long("a name", n)?;
    }
    Ok(())
}

impl<W: Write> OpSink for TraceWriter<W> {
    fn begin(&mut self, header: &StreamHeader) -> Result<(), Stop> {
        if let Some(stop) = self.earlier_failure() {
            return Err(stop);
        }
        if self.started {
            return Err(self.fail("begin() called twice".into()));
        }
        if let Err(msg) = check_header(header) {
            return Err(self.fail(msg));
        }
        self.started = true;
        self.buf.clear();
        match self.format {
            TraceFormat::Binary => encode_binary_header(&mut self.buf, header),
            TraceFormat::Text => encode_text_header(&mut self.buf, header),
        }
        self.write_buf()
    }

    fn ops(&mut self, ops: &[Op]) -> Result<(), Stop> {
        if let Some(stop) = self.earlier_failure() {
            return Err(stop);
        }
        if !self.started {
            return Err(self.fail("ops() called before begin()".into()));
        }
        self.buf.clear();
        match self.format {
            TraceFormat::Binary => {
                for op in ops {
                    encode_binary_op(&mut self.buf, op);
                }
            }
            TraceFormat::Text => {
                for op in ops {
                    encode_text_op(&mut self.buf, op);
                }
            }
        }
        self.ops += ops.len() as u64;
        self.write_buf()
    }
}

/// Appends `v` as an unsigned LEB128 varint.
fn put_varint(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

/// Appends `v` zig-zag encoded as a varint.
fn put_zigzag(buf: &mut Vec<u8>, v: i32) {
    put_varint(buf, zigzag(v) as u64);
}

fn zigzag(v: i32) -> u32 {
    ((v << 1) ^ (v >> 31)) as u32
}

fn unzigzag(n: u32) -> i32 {
    ((n >> 1) as i32) ^ -((n & 1) as i32)
}

fn put_str(buf: &mut Vec<u8>, s: &str) {
    put_varint(buf, s.len() as u64);
    buf.extend_from_slice(s.as_bytes());
}

fn encode_binary_header(buf: &mut Vec<u8>, h: &StreamHeader) {
    buf.extend_from_slice(&MAGIC);
    buf.extend_from_slice(&VERSION.to_le_bytes());
    put_str(buf, &h.workload);
    put_varint(buf, h.seed);
    put_varint(buf, h.registers as u64);
    put_varint(buf, h.params.len() as u64);
    for (k, v) in &h.params {
        put_str(buf, k);
        put_str(buf, v);
    }
    put_varint(buf, h.names.len() as u64);
    for n in &h.names {
        put_str(buf, n);
    }
}

fn encode_binary_op(buf: &mut Vec<u8>, op: &Op) {
    let v = |buf: &mut Vec<u8>, x: u32| put_varint(buf, x as u64);
    match *op {
        Op::Alloc { dst, kind, len } => {
            buf.push(opcode::ALLOC);
            v(buf, dst);
            buf.push(kind as u8);
            v(buf, len);
        }
        Op::Store { obj, slot, src } => {
            buf.push(opcode::STORE);
            v(buf, obj);
            v(buf, slot);
            v(buf, src);
        }
        Op::Append { list, src } => {
            buf.push(opcode::APPEND);
            v(buf, list);
            v(buf, src);
        }
        Op::Load { dst, obj, slot } => {
            buf.push(opcode::LOAD);
            v(buf, dst);
            v(buf, obj);
            v(buf, slot);
        }
        Op::Copy { dst, src } => {
            buf.push(opcode::COPY);
            v(buf, dst);
            v(buf, src);
        }
        Op::Clear { dst } => {
            buf.push(opcode::CLEAR);
            v(buf, dst);
        }
        Op::Event { id } => {
            buf.push(opcode::EVENT);
            v(buf, id);
        }
        Op::Probe { reg, label } => {
            buf.push(opcode::PROBE);
            v(buf, reg);
            v(buf, label);
        }
        Op::SafePoint => buf.push(opcode::SAFE_POINT),
        Op::Gc(GcOp::Collect { generation }) => {
            buf.push(opcode::GC_COLLECT);
            put_zigzag(buf, generation);
        }
        Op::Gc(GcOp::Freeze) => buf.push(opcode::GC_FREEZE),
        Op::Gc(GcOp::Unfreeze) => buf.push(opcode::GC_UNFREEZE),
        Op::Gc(GcOp::Enable) => buf.push(opcode::GC_ENABLE),
        Op::Gc(GcOp::Disable) => buf.push(opcode::GC_DISABLE),
        Op::Gc(GcOp::SetThreshold { t0, t1, t2 }) => {
            buf.push(opcode::GC_SET_THRESHOLD);
            put_zigzag(buf, t0);
            put_zigzag(buf, t1);
            put_zigzag(buf, t2);
        }
    }
}

/// Appends one formatted line and a `\n`. Writing into a `Vec` cannot fail.
fn push_line(buf: &mut Vec<u8>, args: fmt::Arguments<'_>) {
    let _ = buf.write_fmt(args);
    buf.push(b'\n');
}

/// Appends a string as a text-form token: bare when it is non-empty printable ASCII without
/// `"` or `\` (nor `=` for a parameter key), quoted with Rust-style escapes otherwise.
fn put_text_str(buf: &mut Vec<u8>, s: &str, is_key: bool) {
    let bare = !s.is_empty()
        && s.bytes().all(|b| {
            (0x21..=0x7e).contains(&b) && b != b'"' && b != b'\\' && !(is_key && b == b'=')
        });
    if bare {
        buf.extend_from_slice(s.as_bytes());
        return;
    }
    buf.push(b'"');
    for c in s.chars() {
        match c {
            '"' => buf.extend_from_slice(b"\\\""),
            '\\' => buf.extend_from_slice(b"\\\\"),
            '\n' => buf.extend_from_slice(b"\\n"),
            '\r' => buf.extend_from_slice(b"\\r"),
            '\t' => buf.extend_from_slice(b"\\t"),
            c if c.is_control() || c == '\u{2028}' || c == '\u{2029}' => {
                let _ = write!(buf, "\\u{{{:x}}}", c as u32);
            }
            c => {
                let mut tmp = [0u8; 4];
                buf.extend_from_slice(c.encode_utf8(&mut tmp).as_bytes());
            }
        }
    }
    buf.push(b'"');
}

fn encode_text_header(buf: &mut Vec<u8>, h: &StreamHeader) {
    push_line(buf, format_args!("{TEXT_MAGIC} {VERSION}"));
    buf.extend_from_slice(b"workload ");
    put_text_str(buf, &h.workload, false);
    buf.push(b'\n');
    push_line(buf, format_args!("seed {}", h.seed));
    push_line(buf, format_args!("registers {}", h.registers));
    for (k, v) in &h.params {
        buf.extend_from_slice(b"param ");
        put_text_str(buf, k, true);
        buf.push(b'=');
        put_text_str(buf, v, false);
        buf.push(b'\n');
    }
    for n in &h.names {
        buf.extend_from_slice(b"name ");
        put_text_str(buf, n, false);
        buf.push(b'\n');
    }
}

fn encode_text_op(buf: &mut Vec<u8>, op: &Op) {
    match *op {
        Op::Alloc { dst, kind, len } => {
            push_line(buf, format_args!("alloc r{dst} {} {len}", kind.name()))
        }
        Op::Store { obj, slot, src } => push_line(buf, format_args!("store r{obj} {slot} r{src}")),
        Op::Append { list, src } => push_line(buf, format_args!("append r{list} r{src}")),
        Op::Load { dst, obj, slot } => push_line(buf, format_args!("load r{dst} r{obj} {slot}")),
        Op::Copy { dst, src } => push_line(buf, format_args!("copy r{dst} r{src}")),
        Op::Clear { dst } => push_line(buf, format_args!("clear r{dst}")),
        Op::Event { id } => push_line(buf, format_args!("event {id}")),
        Op::Probe { reg, label } => push_line(buf, format_args!("probe r{reg} {label}")),
        Op::SafePoint => push_line(buf, format_args!("safepoint")),
        Op::Gc(GcOp::Collect { generation }) => {
            push_line(buf, format_args!("gc collect {generation}"))
        }
        Op::Gc(GcOp::Freeze) => push_line(buf, format_args!("gc freeze")),
        Op::Gc(GcOp::Unfreeze) => push_line(buf, format_args!("gc unfreeze")),
        Op::Gc(GcOp::Enable) => push_line(buf, format_args!("gc enable")),
        Op::Gc(GcOp::Disable) => push_line(buf, format_args!("gc disable")),
        Op::Gc(GcOp::SetThreshold { t0, t1, t2 }) => {
            push_line(buf, format_args!("gc threshold {t0} {t1} {t2}"))
        }
    }
}

// ------------------------------------------------------------------------------------------------
// Reading

/// Reads a trace of either form, streaming: the header when opened, then the ops into a sink.
pub struct TraceReader<R: Read> {
    header: StreamHeader,
    decoder: Decoder<R>,
    fed: bool,
}

enum Decoder<R: Read> {
    Binary(BinaryDecoder<R>),
    /// The text decoder reads the bytes format detection already read, then the rest.
    Text(TextDecoder<io::Chain<io::Cursor<Vec<u8>>, R>>),
}

/// Opens the trace file at `path` and reads its header.
pub fn open_file(path: &Path) -> Result<TraceReader<File>, TraceError> {
    let file = File::open(path).map_err(|source| TraceError::File {
        path: path.to_path_buf(),
        source,
    })?;
    TraceReader::open(file)
}

impl<R: Read> TraceReader<R> {
    /// Detects the form from the first bytes (`GCLT` or `gclab-trace text`) and reads the
    /// header. The reader is buffered internally: the first read fills the binary decoder's own
    /// block buffer, which format detection and the header are then read from (no second
    /// buffer, no copy).
    pub fn open(mut r: R) -> Result<TraceReader<R>, TraceError> {
        let mut buf = vec![0u8; BLOCK];
        let mut got = 0;
        let mut eof = false;
        while got < MAGIC.len() {
            match r.read(&mut buf[got..]) {
                Ok(0) => {
                    eof = true;
                    break;
                }
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(source) => {
                    return Err(TraceError::Io {
                        at: Position::Byte(got as u64),
                        source,
                    })
                }
            }
        }
        let magic = &buf[..got.min(MAGIC.len())];
        let text_start = &TEXT_MAGIC.as_bytes()[..4];
        let (header, decoder) = if magic == MAGIC {
            let mut d = BinaryDecoder::new(r, buf, got, eof);
            let header = d.header()?;
            (header, Decoder::Binary(d))
        } else if magic == text_start {
            let consumed = magic.to_vec();
            buf.truncate(got);
            let mut rest = io::Cursor::new(buf);
            rest.set_position(MAGIC.len() as u64);
            let mut d = TextDecoder {
                r: BufReader::with_capacity(BLOCK, rest.chain(r)),
                line: 0,
                buf: consumed,
                pending: false,
            };
            let header = d.header()?;
            (header, Decoder::Text(d))
        } else if got < 4 && (MAGIC.starts_with(magic) || text_start.starts_with(magic)) {
            return Err(TraceError::Truncated {
                at: Position::Byte(got as u64),
                expected: format!("the magic bytes `GCLT` or the line `{TEXT_MAGIC} {VERSION}`"),
            });
        } else {
            return Err(TraceError::BadMagic {
                at: Position::Byte(0),
                found: format!("bytes {}", hex(magic)),
            });
        };
        Ok(TraceReader {
            header,
            decoder,
            fed: false,
        })
    }

    /// The stream header.
    pub fn header(&self) -> &StreamHeader {
        &self.header
    }

    /// The form of the trace.
    pub fn format(&self) -> TraceFormat {
        match self.decoder {
            Decoder::Binary(_) => TraceFormat::Binary,
            Decoder::Text(_) => TraceFormat::Text,
        }
    }

    /// Calls `sink.begin(header)`, then decodes the ops and hands each to `sink` with
    /// [`OpSink::op`] as soon as it is decoded. Returns the number of ops once the end marker
    /// has been checked (op count, no trailing data).
    ///
    /// Generic over the sink, so that an executor's `op` inlines into the decoder's loop (one
    /// dispatch per op, see `docs/performance.md`); a `&mut dyn OpSink` works too, with one
    /// dynamic call per op.
    ///
    /// Ops reach the sink before the end marker is read: on any error the whole run must be
    /// treated as invalid. A [`Stop`] from the sink is returned as [`TraceError::Stopped`]; the
    /// other errors are the trace's. A reader can be fed once.
    pub fn feed<K: OpSink + ?Sized>(&mut self, sink: &mut K) -> Result<u64, TraceError> {
        if self.fed {
            return Err(TraceError::AlreadyFed);
        }
        self.fed = true;
        sink.begin(&self.header).map_err(TraceError::Stopped)?;
        match &mut self.decoder {
            Decoder::Binary(d) => d.feed(sink),
            Decoder::Text(d) => {
                let mut count: u64 = 0;
                while let Some(op) = d.next_op(count)? {
                    sink.op(&op).map_err(TraceError::Stopped)?;
                    count += 1;
                }
                Ok(count)
            }
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        return "no bytes".into();
    }
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// An operand of one or two varint bytes at `w[p..]` (values below 2^14: registers, slots and
/// lengths almost always): the value and its length in bytes, without a branch on the length;
/// `None` for a longer varint.
#[inline(always)]
fn small(w: &[u8; FAST_MIN], p: usize) -> Option<(u32, usize)> {
    let b0 = u32::from(*w.get(p)?);
    let b1 = u32::from(*w.get(p + 1)?);
    // 1 if the first byte has its continuation bit set.
    let more = b0 >> 7;
    if more & (b1 >> 7) != 0 {
        return None;
    }
    let v = (b0 & 0x7f) | ((b1 << 7) & more.wrapping_neg());
    Some((v, 1 + more as usize))
}

/// The `N` operands after the opcode at the start of `w`, each of one or two varint bytes: their
/// values and the op's length so far. When every operand is one byte (the common case) this is
/// one test for all of them; otherwise each takes [`small`]. `None` for a longer operand.
#[inline(always)]
fn operands<const N: usize>(w: &[u8; FAST_MIN]) -> Option<([u32; N], usize)> {
    let mut v = [0u32; N];
    let mut high = 0u8;
    for i in 0..N {
        high |= w[1 + i];
    }
    if high < 0x80 {
        for (i, x) in v.iter_mut().enumerate() {
            *x = u32::from(w[1 + i]);
        }
        return Some((v, 1 + N));
    }
    let mut at = 1;
    for x in v.iter_mut() {
        let (value, len) = small(w, at)?;
        *x = value;
        at += len;
    }
    Some((v, at))
}

/// [`fast_step`]'s answer when the op is a common one with an operand of more than two bytes:
/// for [`fast_op_long`]. (An answer that executed ops is the number of bytes they took, 1 to
/// [`STEP_MAX_LEN`].)
const STEP_LONG: usize = 0x10;
/// [`fast_step`]'s answer when the sink stopped the stream (the [`Stop`] is in its out-param).
const STEP_STOPPED: usize = 0x20;
/// [`fast_step`]'s answer for anything else (another opcode, a bad kind): for the careful path.
const STEP_CAREFUL: usize = 0x40;
/// The most bytes [`fast_step`] decodes in one step (an op of at most 8 bytes and a safe point):
/// every other answer is larger.
const STEP_MAX_LEN: usize = 0x0f;

/// Decodes the op at the start of the window `w` when it is one of the common ops (alloc,
/// store, append, load, copy, clear, event, probe, safe point) with operands of one or two
/// bytes, and hands it to the sink's fast path ([`OpSink::op_fast`]): one opcode dispatch, no
/// per-byte loop. Each arm calls the sink with an op of a known variant, so that an executor's
/// `op_fast`, inlined here, needs no second dispatch on the op; as that path cannot fail, the
/// op and a `Result` are built only when the sink declines it: the loop then decodes the op
/// again ([`fast_op_long`]) and hands it to [`OpSink::op`].
///
/// A safe point right after the op (every other op of a fidelity trace, one op in five of
/// `churn`) is executed in the same step, without going round the loop and through the
/// dispatch again.
///
/// Returns the number of bytes of the ops the sink consumed (1 to [`STEP_MAX_LEN`]; the ops, 1 or
/// 2, are added to `n`), or [`STEP_LONG`], [`STEP_STOPPED`] (with the sink's [`Stop`] in
/// `stopped`) or [`STEP_CAREFUL`]: one small integer, so that the loop around it keeps its
/// state in registers.
#[inline(always)]
fn fast_step<const FAST: bool, K: OpSink + ?Sized>(
    w: &[u8; FAST_MIN],
    sink: &mut K,
    stopped: &mut Option<Stop>,
    n: &mut u64,
) -> usize {
    use opcode::*;
    // Decodes the named operands in order after the opcode; `$at` ends up just past them.
    macro_rules! operands {
        ($at:ident: $($name:ident),+) => {
            let Some(([$($name),+], $at)) = operands(w) else {
                return STEP_LONG;
            };
        };
    }
    // Hands an op of a known variant to the sink, in the arm that decoded it.
    macro_rules! done {
        ($op:expr, $len:expr) => {{
            let len: usize = $len;
            if FAST {
                if !sink.op_fast(&$op) {
                    // Declined, nothing done: the loop decodes it again for `OpSink::op`.
                    return STEP_LONG;
                }
                // `len` is at most 7 here, so the next op's first byte is in the window.
                if w.get(len) == Some(&SAFE_POINT) && sink.op_fast(&Op::SafePoint) {
                    *n += 2;
                    return len + 1;
                }
                *n += 1;
                return len;
            }
            match sink.op(&$op) {
                Ok(()) if w.get(len) == Some(&SAFE_POINT) => match sink.op(&Op::SafePoint) {
                    Ok(()) => {
                        *n += 2;
                        len + 1
                    }
                    Err(stop) => {
                        *stopped = Some(stop);
                        STEP_STOPPED
                    }
                },
                Ok(()) => {
                    *n += 1;
                    len
                }
                Err(stop) => {
                    *stopped = Some(stop);
                    STEP_STOPPED
                }
            }
        }};
    }
    match w[0] {
        SAFE_POINT => {
            if FAST {
                if !sink.op_fast(&Op::SafePoint) {
                    return STEP_LONG;
                }
            } else if let Err(stop) = sink.op(&Op::SafePoint) {
                *stopped = Some(stop);
                return STEP_STOPPED;
            }
            *n += 1;
            1
        }
        CLEAR => {
            operands!(at: dst);
            done!(Op::Clear { dst }, at)
        }
        STORE => {
            operands!(at: obj, slot, src);
            done!(Op::Store { obj, slot, src }, at)
        }
        LOAD => {
            operands!(at: dst, obj, slot);
            done!(Op::Load { dst, obj, slot }, at)
        }
        ALLOC => {
            let (dst, code, len, at) = if (w[1] | w[3]) < 0x80 {
                (u32::from(w[1]), w[2], u32::from(w[3]), 4)
            } else {
                let Some((dst, a)) = small(w, 1) else {
                    return STEP_LONG;
                };
                let code = w[1 + a];
                let Some((len, c)) = small(w, 2 + a) else {
                    return STEP_LONG;
                };
                (dst, code, len, 2 + a + c)
            };
            let Some(kind) = Kind::from_code(code) else {
                return STEP_CAREFUL;
            };
            done!(Op::Alloc { dst, kind, len }, at)
        }
        APPEND => {
            operands!(at: list, src);
            done!(Op::Append { list, src }, at)
        }
        COPY => {
            operands!(at: dst, src);
            done!(Op::Copy { dst, src }, at)
        }
        EVENT => {
            operands!(at: id);
            done!(Op::Event { id }, at)
        }
        PROBE => {
            operands!(at: reg, label);
            done!(Op::Probe { reg, label }, at)
        }
        // Explicit arms at both ends of the byte range, answered differently from the rest,
        // let the jump table cover every opcode byte, with no range check before it.
        0x00 | END => STEP_CAREFUL,
        // Another opcode: `fast_op_long` declines it too, and the careful path decodes it.
        _ => STEP_LONG,
    }
}

/// A LEB128 varint of at most 5 bytes that fits in 32 bits, from `w[*p..]`; `None` for anything
/// else (overflow, more than 5 bytes), which [`BinaryDecoder::next_op`] then decodes or rejects
/// with its error.
#[inline(always)]
fn window_u32(w: &[u8; FAST_MIN], p: &mut usize) -> Option<u32> {
    let mut v: u32 = 0;
    for i in 0..5 {
        let x = *w.get(*p + i)?;
        if i == 4 && x > 0x0f {
            return None;
        }
        v |= u32::from(x & 0x7f) << (7 * i);
        if x & 0x80 == 0 {
            *p += i + 1;
            return Some(v);
        }
    }
    None
}

/// [`fast_step`] for the common ops with varint operands of more than two bytes (all within the
/// window: the longest such op is 16 bytes): the op and its length. `None` for any other opcode
/// or encoding, left to [`BinaryDecoder::next_op`].
#[inline(never)]
fn fast_op_long(w: &[u8; FAST_MIN]) -> Option<(Op, usize)> {
    use opcode::*;
    let mut p = 1;
    let op = match w[0] {
        ALLOC => {
            let dst = window_u32(w, &mut p)?;
            let kind = Kind::from_code(*w.get(p)?)?;
            p += 1;
            let len = window_u32(w, &mut p)?;
            Op::Alloc { dst, kind, len }
        }
        STORE => {
            let obj = window_u32(w, &mut p)?;
            let slot = window_u32(w, &mut p)?;
            let src = window_u32(w, &mut p)?;
            Op::Store { obj, slot, src }
        }
        APPEND => {
            let list = window_u32(w, &mut p)?;
            let src = window_u32(w, &mut p)?;
            Op::Append { list, src }
        }
        LOAD => {
            let dst = window_u32(w, &mut p)?;
            let obj = window_u32(w, &mut p)?;
            let slot = window_u32(w, &mut p)?;
            Op::Load { dst, obj, slot }
        }
        COPY => {
            let dst = window_u32(w, &mut p)?;
            let src = window_u32(w, &mut p)?;
            Op::Copy { dst, src }
        }
        CLEAR => Op::Clear {
            dst: window_u32(w, &mut p)?,
        },
        EVENT => Op::Event {
            id: window_u32(w, &mut p)?,
        },
        PROBE => {
            let reg = window_u32(w, &mut p)?;
            let label = window_u32(w, &mut p)?;
            Op::Probe { reg, label }
        }
        SAFE_POINT => Op::SafePoint,
        _ => return None,
    };
    Some((op, p))
}

/// Bytes that must be buffered for [`fast_step`]: the longest op it decodes is 16 bytes.
const FAST_MIN: usize = 16;

/// Size of the binary decoder's block buffer.
const BLOCK: usize = 64 * 1024;

/// Binary-form decoder: reads the file in blocks into its own buffer and decodes from it.
///
/// `buf[pos..end]` holds the bytes read but not yet decoded, and `base` is the file offset of
/// `buf[0]`, so the offset of the next byte is `base + pos`: the hot loop keeps no per-op
/// bookkeeping for error positions.
struct BinaryDecoder<R: Read> {
    r: R,
    buf: Vec<u8>,
    pos: usize,
    end: usize,
    base: u64,
    /// The reader has reported end of file.
    eof: bool,
    /// A read error met while reading ahead for the fast path, reported by the careful path once
    /// the bytes before it have been decoded (so that it carries the same offset as if it had
    /// been met byte by byte).
    pending: Option<io::Error>,
}

impl<R: Read> BinaryDecoder<R> {
    /// A decoder of the file whose first `end` bytes (the four-byte magic at least) are in
    /// `buf` (of [`BLOCK`] bytes), continuing from `r`; `eof`: `r` has reported end of file.
    /// The next byte it decodes is the one after the magic.
    fn new(r: R, buf: Vec<u8>, end: usize, eof: bool) -> BinaryDecoder<R> {
        BinaryDecoder {
            r,
            buf,
            pos: MAGIC.len(),
            end,
            base: 0,
            eof,
            pending: None,
        }
    }

    fn off(&self) -> u64 {
        self.base + self.pos as u64
    }

    fn at(&self) -> Position {
        Position::Byte(self.off())
    }

    /// Moves the undecoded bytes to the front of the buffer and reads more after them (one
    /// successful read). Returns the number of bytes added: 0 at end of file.
    fn refill(&mut self) -> io::Result<usize> {
        if self.eof {
            return Ok(0);
        }
        if self.pos > 0 {
            self.buf.copy_within(self.pos..self.end, 0);
            self.base += self.pos as u64;
            self.end -= self.pos;
            self.pos = 0;
        }
        if self.end == self.buf.len() {
            // Not reached (callers refill with fewer than FAST_MIN bytes left), but never read
            // into an empty slice, which would look like end of file.
            self.buf.resize(self.buf.len() * 2, 0);
        }
        loop {
            match self.r.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(0);
                }
                Ok(n) => {
                    self.end += n;
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// [`Self::refill`] for the careful path: first reports an error met while reading ahead.
    fn fill(&mut self) -> io::Result<usize> {
        match self.pending.take() {
            Some(e) => Err(e),
            None => self.refill(),
        }
    }

    /// Reads ahead for the fast path; true if bytes were added. An error is kept for the
    /// careful path.
    fn read_ahead(&mut self) -> bool {
        if self.eof || self.pending.is_some() {
            return false;
        }
        match self.refill() {
            Ok(n) => n > 0,
            Err(e) => {
                self.pending = Some(e);
                false
            }
        }
    }

    /// Decodes the ops, handing each to `sink` as soon as it is decoded; returns their number
    /// once the end marker has been checked.
    ///
    /// The fast path ([`Self::run_fast`]) decodes the common ops while at least [`FAST_MIN`]
    /// bytes are buffered; anything else (other opcodes, malformed or unusual encodings, the
    /// end marker, the last bytes of the file) goes one op at a time through
    /// [`Self::next_op`], which has every check and error.
    fn feed<K: OpSink + ?Sized>(&mut self, sink: &mut K) -> Result<u64, TraceError> {
        let mut count: u64 = 0;
        loop {
            count += self.run_fast(sink)?;
            if self.end - self.pos < FAST_MIN && self.read_ahead() {
                continue;
            }
            match self.next_op(count)? {
                Some(op) => {
                    sink.op(&op).map_err(TraceError::Stopped)?;
                    count += 1;
                }
                None => return Ok(count),
            }
        }
    }

    /// Decodes common ops from the buffer while at least [`FAST_MIN`] bytes are buffered and
    /// hands each to `sink`; returns how many. Stops at the first op that [`fast_step`] and
    /// [`fast_op_long`] do not handle. With the executor as the sink, its `op_fast` inlines
    /// into `fast_step`, so that the decoder's `match` on the opcode is the only dispatch per
    /// op; an op it declines goes to [`OpSink::op`].
    #[inline(always)]
    fn run_fast<K: OpSink + ?Sized>(&mut self, sink: &mut K) -> Result<u64, TraceError> {
        if sink.has_fast_path() {
            self.run_fast_with::<true, K>(sink)
        } else {
            self.run_fast_with::<false, K>(sink)
        }
    }

    /// [`Self::run_fast`], with each op handed to the sink's [`OpSink::op_fast`] first (`FAST`)
    /// or straight to [`OpSink::op`]. A function of its own for each, so that each loop keeps
    /// its state in registers.
    #[inline(never)]
    fn run_fast_with<const FAST: bool, K: OpSink + ?Sized>(
        &mut self,
        sink: &mut K,
    ) -> Result<u64, TraceError> {
        let buf = self.buf.get(..self.end).unwrap_or_default();
        let mut rest = buf.get(self.pos..).unwrap_or_default();
        let mut n: u64 = 0;
        let mut stopped = None;
        let r = loop {
            let Some(w) = rest.first_chunk::<FAST_MIN>() else {
                break Ok(n);
            };
            let step = fast_step::<FAST, K>(w, sink, &mut stopped, &mut n);
            if step <= STEP_MAX_LEN {
                // The window holds 16 bytes and `step` is at most 15: no bounds check.
                rest = &rest[step..];
                continue;
            }
            let len = if step == STEP_LONG {
                let Some((op, len)) = fast_op_long(w) else {
                    break Ok(n);
                };
                if let Err(stop) = sink.op(&op) {
                    break Err(TraceError::Stopped(stop));
                }
                n += 1;
                len
            } else if step == STEP_STOPPED {
                break Err(TraceError::Stopped(
                    stopped
                        .take()
                        .unwrap_or(Stop::Sink("the sink stopped the stream".into())),
                ));
            } else {
                break Ok(n);
            };
            // `len` is at most the window's 16 bytes, so this never fails.
            rest = rest.get(len..).unwrap_or_default();
        };
        self.pos = buf.len() - rest.len();
        r
    }

    /// The next byte, or `None` at end of file.
    #[inline]
    fn byte(&mut self) -> Result<Option<u8>, TraceError> {
        loop {
            if let Some(&b) = self.buf.get(self.pos).filter(|_| self.pos < self.end) {
                self.pos += 1;
                return Ok(Some(b));
            }
            match self.fill() {
                Ok(0) => return Ok(None),
                Ok(_) => {}
                Err(source) => {
                    return Err(TraceError::Io {
                        at: self.at(),
                        source,
                    })
                }
            }
        }
    }

    /// The next byte, which must exist.
    fn need(&mut self, what: &str) -> Result<u8, TraceError> {
        match self.byte()? {
            Some(b) => Ok(b),
            None => Err(TraceError::Truncated {
                at: self.at(),
                expected: what.to_string(),
            }),
        }
    }

    /// A LEB128 varint of at most 64 bits (10 bytes).
    fn varint(&mut self, what: &str) -> Result<u64, TraceError> {
        let start = self.off();
        let mut v: u64 = 0;
        let mut shift = 0u32;
        loop {
            let b = self.need(what)?;
            if shift == 63 && b > 1 {
                return Err(TraceError::VarintOverflow {
                    at: Position::Byte(start),
                    expected: format!("{what} as a LEB128 varint of at most 64 bits (10 bytes)"),
                });
            }
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
            shift += 7;
        }
    }

    fn varint_u32(&mut self, what: &str) -> Result<u32, TraceError> {
        let start = self.off();
        let v = self.varint(what)?;
        u32::try_from(v).map_err(|_| TraceError::VarintOverflow {
            at: Position::Byte(start),
            expected: format!("{what} to fit in 32 bits, found {v}"),
        })
    }

    fn zigzag_i32(&mut self, what: &str) -> Result<i32, TraceError> {
        Ok(unzigzag(self.varint_u32(what)?))
    }

    fn bounded(&mut self, what: &'static str, limit: u64) -> Result<u64, TraceError> {
        let start = self.off();
        let v = self.varint(what)?;
        if v > limit {
            return Err(TraceError::LimitExceeded {
                at: Position::Byte(start),
                what,
                value: v,
                limit,
            });
        }
        Ok(v)
    }

    /// A length-prefixed UTF-8 string of at most [`MAX_STRING_BYTES`], read incrementally (the
    /// memory used grows with the bytes actually present, never with the declared length).
    fn string(&mut self, what: &'static str, len_what: &'static str) -> Result<String, TraceError> {
        let len = self.bounded(len_what, MAX_STRING_BYTES)?;
        let start = self.off();
        let mut bytes = Vec::new();
        let mut left = len as usize;
        while left > 0 {
            if self.pos == self.end {
                match self.fill() {
                    Ok(0) => break,
                    Ok(_) => {}
                    Err(source) => {
                        return Err(TraceError::Io {
                            at: Position::Byte(start),
                            source,
                        })
                    }
                }
            }
            let take = left.min(self.end - self.pos);
            bytes.extend_from_slice(self.buf.get(self.pos..self.pos + take).unwrap_or_default());
            self.pos += take;
            left -= take;
        }
        if left > 0 {
            return Err(TraceError::Truncated {
                at: self.at(),
                expected: format!("{left} more bytes of {what}"),
            });
        }
        String::from_utf8(bytes).map_err(|e| TraceError::InvalidUtf8 {
            at: Position::Byte(start + e.utf8_error().valid_up_to() as u64),
            expected: what,
        })
    }

    fn header(&mut self) -> Result<StreamHeader, TraceError> {
        let at = self.at();
        let lo = self.need("the format version (u16, little-endian)")?;
        let hi = self.need("the format version (u16, little-endian)")?;
        let version = u16::from_le_bytes([lo, hi]);
        if version != VERSION {
            return Err(TraceError::UnsupportedVersion {
                at,
                version: version.into(),
            });
        }
        let workload = self.string("the workload name", "length of the workload name")?;
        let seed = self.varint("the seed")?;
        let at = self.at();
        let registers = self.varint_u32("the register count")?;
        if registers > MAX_REGISTERS {
            return Err(TraceError::LimitExceeded {
                at,
                what: "register count",
                value: registers.into(),
                limit: MAX_REGISTERS.into(),
            });
        }
        let n = self.bounded("parameter count", MAX_PARAMS)?;
        let mut params = Vec::with_capacity(n.min(64) as usize);
        for _ in 0..n {
            let k = self.string("a parameter key", "length of a parameter key")?;
            let v = self.string("a parameter value", "length of a parameter value")?;
            params.push((k, v));
        }
        let n = self.bounded("name-table size", MAX_NAMES)?;
        let mut names = Vec::with_capacity(n.min(1024) as usize);
        for _ in 0..n {
            names.push(self.string("a name", "length of a name")?);
        }
        Ok(StreamHeader {
            workload,
            params,
            seed,
            registers,
            names,
        })
    }

    /// The next op, or `None` after a valid end marker (its count equal to `count` and nothing
    /// after it).
    fn next_op(&mut self, count: u64) -> Result<Option<Op>, TraceError> {
        use opcode::*;
        let at = self.at();
        let Some(code) = self.byte()? else {
            return Err(TraceError::Truncated {
                at,
                expected: "an opcode or the end marker (0xff followed by the op count)".into(),
            });
        };
        let op = match code {
            ALLOC => {
                let dst = self.varint_u32("the dst register of alloc")?;
                let at = self.at();
                let code = self.need("the kind byte of alloc")?;
                let kind = Kind::from_code(code).ok_or_else(|| TraceError::UnknownKind {
                    at,
                    found: format!("code {code}"),
                    expected:
                        "a kind code 0..=7 (int, float, str, bytes, tuple, list, dict, instance)",
                })?;
                let len = self.varint_u32("the len of alloc")?;
                Op::Alloc { dst, kind, len }
            }
            STORE => {
                let obj = self.varint_u32("the obj register of store")?;
                let slot = self.varint_u32("the slot of store")?;
                let src = self.varint_u32("the src register of store")?;
                Op::Store { obj, slot, src }
            }
            APPEND => {
                let list = self.varint_u32("the list register of append")?;
                let src = self.varint_u32("the src register of append")?;
                Op::Append { list, src }
            }
            LOAD => {
                let dst = self.varint_u32("the dst register of load")?;
                let obj = self.varint_u32("the obj register of load")?;
                let slot = self.varint_u32("the slot of load")?;
                Op::Load { dst, obj, slot }
            }
            COPY => {
                let dst = self.varint_u32("the dst register of copy")?;
                let src = self.varint_u32("the src register of copy")?;
                Op::Copy { dst, src }
            }
            CLEAR => Op::Clear {
                dst: self.varint_u32("the dst register of clear")?,
            },
            EVENT => Op::Event {
                id: self.varint_u32("the name id of event")?,
            },
            PROBE => {
                let reg = self.varint_u32("the register of probe")?;
                let label = self.varint_u32("the label name id of probe")?;
                Op::Probe { reg, label }
            }
            SAFE_POINT => Op::SafePoint,
            GC_COLLECT => Op::Gc(GcOp::Collect {
                generation: self.zigzag_i32("the generation (zig-zag) of gc collect")?,
            }),
            GC_FREEZE => Op::Gc(GcOp::Freeze),
            GC_UNFREEZE => Op::Gc(GcOp::Unfreeze),
            GC_ENABLE => Op::Gc(GcOp::Enable),
            GC_DISABLE => Op::Gc(GcOp::Disable),
            GC_SET_THRESHOLD => {
                let t0 = self.zigzag_i32("the t0 (zig-zag) of gc threshold")?;
                let t1 = self.zigzag_i32("the t1 (zig-zag) of gc threshold")?;
                let t2 = self.zigzag_i32("the t2 (zig-zag) of gc threshold")?;
                Op::Gc(GcOp::SetThreshold { t0, t1, t2 })
            }
            END => {
                let at = self.at();
                let declared = self.varint("the op count of the end marker")?;
                if declared != count {
                    return Err(TraceError::CountMismatch {
                        at,
                        declared,
                        actual: count,
                    });
                }
                let at = self.at();
                if self.byte()?.is_some() {
                    return Err(TraceError::TrailingGarbage { at });
                }
                return Ok(None);
            }
            other => {
                return Err(TraceError::UnknownOpcode {
                    at,
                    found: format!("0x{other:02x}"),
                    expected: "an opcode 0x01..=0x09, 0x10..=0x15 or the end marker 0xff",
                })
            }
        };
        Ok(Some(op))
    }
}

/// Text-form decoder: a buffered reader, the current line and its number.
struct TextDecoder<R: Read> {
    r: BufReader<R>,
    /// Number of the line in `buf` (0 before the first).
    line: u64,
    /// The current line, without its line ending. Before the first line is read it holds the
    /// bytes already consumed by format detection.
    buf: Vec<u8>,
    /// `buf` holds a content line not yet parsed as an op.
    pending: bool,
}

/// What a text-form op line may start with.
const TEXT_OPS: &str = "an op (alloc, store, append, load, copy, clear, event, probe, safepoint, \
                        gc) or `end`";

impl<R: Read> TextDecoder<R> {
    /// Reads the next line into `buf` (appending to what `buf` holds when `keep` is set).
    /// Returns false at end of file.
    fn read_line(&mut self, keep: bool) -> Result<bool, TraceError> {
        if !keep {
            self.buf.clear();
        }
        let before = self.buf.len() as u64;
        let limit = MAX_TEXT_LINE_BYTES + 1 - before.min(MAX_TEXT_LINE_BYTES);
        let line = self.line + 1;
        let got = loop {
            match (&mut self.r).take(limit).read_until(b'\n', &mut self.buf) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(source) => {
                    return Err(TraceError::Io {
                        at: Position::Line { line, column: 1 },
                        source,
                    })
                }
            }
        };
        if got == 0 && self.buf.is_empty() {
            return Ok(false);
        }
        self.line = line;
        if self.buf.last() == Some(&b'\n') {
            self.buf.pop();
        } else if self.buf.len() as u64 > MAX_TEXT_LINE_BYTES {
            return Err(TraceError::LimitExceeded {
                at: Position::Line { line, column: 1 },
                what: "line length (bytes)",
                value: self.buf.len() as u64,
                limit: MAX_TEXT_LINE_BYTES,
            });
        }
        if self.buf.last() == Some(&b'\r') {
            self.buf.pop();
        }
        if let Err(e) = std::str::from_utf8(&self.buf) {
            let valid = e.valid_up_to();
            let column = String::from_utf8_lossy(&self.buf[..valid]).chars().count() as u64 + 1;
            return Err(TraceError::InvalidUtf8 {
                at: Position::Line { line, column },
                expected: "a line of text",
            });
        }
        Ok(true)
    }

    /// Reads lines until one that is neither blank nor a `#` comment. Returns false at end of
    /// file.
    fn next_content_line(&mut self) -> Result<bool, TraceError> {
        loop {
            if !self.read_line(false)? {
                return Ok(false);
            }
            let first = self.buf.iter().find(|&&b| b != b' ' && b != b'\t');
            if !matches!(first, None | Some(b'#')) {
                return Ok(true);
            }
        }
    }

    fn cursor(&self) -> Cursor<'_> {
        // `read_line` checked the line is UTF-8.
        let s = std::str::from_utf8(&self.buf).unwrap_or("");
        Cursor {
            s,
            pos: 0,
            line: self.line,
        }
    }

    fn eof_position(&self) -> Position {
        Position::Line {
            line: self.line + 1,
            column: 1,
        }
    }

    fn header(&mut self) -> Result<StreamHeader, TraceError> {
        // Line 1: the magic line, whose first bytes format detection already consumed.
        if !self.read_line(true)? {
            return Err(TraceError::Truncated {
                at: self.eof_position(),
                expected: format!("the line `{TEXT_MAGIC} {VERSION}`"),
            });
        }
        {
            let mut c = self.cursor();
            let found = c.s.chars().take(40).collect::<String>();
            let bad = || TraceError::BadMagic {
                at: Position::Line { line: 1, column: 1 },
                found: format!("{found:?}"),
            };
            let (_, w1) = c.token();
            let (_, w2) = c.token();
            if w1 != "gclab-trace" || w2 != "text" {
                return Err(bad());
            }
            let (pos, v) = c.token();
            let version = parse_u64(v).ok_or_else(|| {
                c.syntax(pos, "the format version number after `gclab-trace text`", v)
            })?;
            if version != u64::from(VERSION) {
                return Err(TraceError::UnsupportedVersion {
                    at: c.at(pos),
                    version,
                });
            }
            c.end()?;
        }

        let mut workload: Option<String> = None;
        let mut seed: Option<u64> = None;
        let mut registers: Option<u32> = None;
        let mut params = Vec::new();
        let mut names = Vec::new();
        loop {
            if !self.next_content_line()? {
                return Err(TraceError::Truncated {
                    at: self.eof_position(),
                    expected: "a header line, an op or the `end N` line".into(),
                });
            }
            let mut c = self.cursor();
            let (pos, word) = c.token();
            let dup = |c: &Cursor<'_>| c.syntax(pos, format!("one `{word}` line only"), word);
            match word {
                "workload" => {
                    if workload.is_some() {
                        return Err(dup(&c));
                    }
                    workload = Some(c.string("the workload name", false)?);
                }
                "seed" => {
                    if seed.is_some() {
                        return Err(dup(&c));
                    }
                    seed = Some(c.u64("the seed")?);
                }
                "registers" => {
                    if registers.is_some() {
                        return Err(dup(&c));
                    }
                    let at = c.peek_pos();
                    let n = c.u32("the register count")?;
                    if n > MAX_REGISTERS {
                        return Err(TraceError::LimitExceeded {
                            at: c.at(at),
                            what: "register count",
                            value: n.into(),
                            limit: MAX_REGISTERS.into(),
                        });
                    }
                    registers = Some(n);
                }
                "param" => {
                    if params.len() as u64 >= MAX_PARAMS {
                        return Err(TraceError::LimitExceeded {
                            at: c.at(pos),
                            what: "parameter count",
                            value: MAX_PARAMS + 1,
                            limit: MAX_PARAMS,
                        });
                    }
                    let k = c.string("a parameter key", true)?;
                    if !c.rest().starts_with('=') {
                        let (p, t) = c.token();
                        return Err(c.syntax(p, "`=` between the parameter key and value", t));
                    }
                    c.pos += 1;
                    if c.rest().starts_with([' ', '\t']) || c.rest().is_empty() {
                        return Err(c.syntax(
                            c.pos,
                            "a parameter value right after `=` (quote an empty value: \"\")",
                            "",
                        ));
                    }
                    let v = c.string("a parameter value", false)?;
                    params.push((k, v));
                }
                "name" => {
                    if names.len() as u64 >= MAX_NAMES {
                        return Err(TraceError::LimitExceeded {
                            at: c.at(pos),
                            what: "name-table size",
                            value: MAX_NAMES + 1,
                            limit: MAX_NAMES,
                        });
                    }
                    names.push(c.string("a name", false)?);
                }
                _ => {
                    // The first op (or `end`): the header is over.
                    let missing = if workload.is_none() {
                        Some("workload")
                    } else if seed.is_none() {
                        Some("seed")
                    } else if registers.is_none() {
                        Some("registers")
                    } else {
                        None
                    };
                    if let Some(m) = missing {
                        return Err(c.syntax(
                            pos,
                            format!("a `{m}` header line before the first op"),
                            word,
                        ));
                    }
                    self.pending = true;
                    break;
                }
            }
            c.end()?;
        }
        Ok(StreamHeader {
            workload: workload.unwrap_or_default(),
            params,
            seed: seed.unwrap_or_default(),
            registers: registers.unwrap_or_default(),
            names,
        })
    }

    fn next_op(&mut self, count: u64) -> Result<Option<Op>, TraceError> {
        if self.pending {
            self.pending = false;
        } else if !self.next_content_line()? {
            return Err(TraceError::Truncated {
                at: self.eof_position(),
                expected: "an op or the `end N` line".into(),
            });
        }
        let mut c = self.cursor();
        let (pos, word) = c.token();
        let op = match word {
            "alloc" => {
                let dst = c.reg("the dst register of alloc")?;
                let (kpos, k) = c.token();
                let kind = Kind::from_name(k).ok_or_else(|| {
                    if k.is_empty() {
                        c.syntax(kpos, "the kind of alloc", k)
                    } else {
                        TraceError::UnknownKind {
                            at: c.at(kpos),
                            found: format!("`{}`", clip(k)),
                            expected: "int, float, str, bytes, tuple, list, dict or instance",
                        }
                    }
                })?;
                let len = c.u32("the len of alloc")?;
                Op::Alloc { dst, kind, len }
            }
            "store" => {
                let obj = c.reg("the obj register of store")?;
                let slot = c.u32("the slot of store")?;
                let src = c.reg("the src register of store")?;
                Op::Store { obj, slot, src }
            }
            "append" => {
                let list = c.reg("the list register of append")?;
                let src = c.reg("the src register of append")?;
                Op::Append { list, src }
            }
            "load" => {
                let dst = c.reg("the dst register of load")?;
                let obj = c.reg("the obj register of load")?;
                let slot = c.u32("the slot of load")?;
                Op::Load { dst, obj, slot }
            }
            "copy" => {
                let dst = c.reg("the dst register of copy")?;
                let src = c.reg("the src register of copy")?;
                Op::Copy { dst, src }
            }
            "clear" => Op::Clear {
                dst: c.reg("the dst register of clear")?,
            },
            "event" => Op::Event {
                id: c.u32("the name id of event")?,
            },
            "probe" => {
                let reg = c.reg("the register of probe")?;
                let label = c.u32("the label name id of probe")?;
                Op::Probe { reg, label }
            }
            "safepoint" => Op::SafePoint,
            "gc" => {
                let (spos, sub) = c.token();
                match sub {
                    "collect" => Op::Gc(GcOp::Collect {
                        generation: c.i32("the generation of gc collect")?,
                    }),
                    "freeze" => Op::Gc(GcOp::Freeze),
                    "unfreeze" => Op::Gc(GcOp::Unfreeze),
                    "enable" => Op::Gc(GcOp::Enable),
                    "disable" => Op::Gc(GcOp::Disable),
                    "threshold" => {
                        let t0 = c.i32("the t0 of gc threshold")?;
                        let t1 = c.i32("the t1 of gc threshold")?;
                        let t2 = c.i32("the t2 of gc threshold")?;
                        Op::Gc(GcOp::SetThreshold { t0, t1, t2 })
                    }
                    _ => {
                        return Err(TraceError::UnknownOpcode {
                            at: c.at(spos),
                            found: format!("`gc {}`", clip(sub)),
                            expected: "gc collect, freeze, unfreeze, enable, disable or threshold",
                        })
                    }
                }
            }
            "end" => {
                let npos = c.peek_pos();
                let at = c.at(npos);
                let declared = c.u64("the op count of end")?;
                c.end()?;
                if declared != count {
                    return Err(TraceError::CountMismatch {
                        at,
                        declared,
                        actual: count,
                    });
                }
                if self.next_content_line()? {
                    let mut c = self.cursor();
                    let gpos = c.peek_pos();
                    let at = c.at(gpos);
                    return Err(TraceError::TrailingGarbage { at });
                }
                return Ok(None);
            }
            "workload" | "seed" | "registers" | "param" | "name" => {
                return Err(c.syntax(
                    pos,
                    format!("{TEXT_OPS}; header lines must come before the first op"),
                    word,
                ))
            }
            _ => {
                return Err(TraceError::UnknownOpcode {
                    at: c.at(pos),
                    found: format!("`{}`", clip(word)),
                    expected: TEXT_OPS,
                })
            }
        };
        c.end()?;
        Ok(Some(op))
    }
}

/// At most 40 characters of `s`, for error messages.
fn clip(s: &str) -> String {
    let mut out: String = s.chars().take(40).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}

fn parse_u64(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// A position in one text line, for tokenising.
struct Cursor<'a> {
    s: &'a str,
    pos: usize,
    line: u64,
}

impl<'a> Cursor<'a> {
    fn at(&self, pos: usize) -> Position {
        let column = self.s.get(..pos).map_or(0, |p| p.chars().count()) as u64 + 1;
        Position::Line {
            line: self.line,
            column,
        }
    }

    fn rest(&self) -> &'a str {
        self.s.get(self.pos..).unwrap_or("")
    }

    fn skip_ws(&mut self) {
        let rest = self.rest();
        self.pos += rest.len() - rest.trim_start_matches([' ', '\t']).len();
    }

    /// Position of the next token.
    fn peek_pos(&mut self) -> usize {
        self.skip_ws();
        self.pos
    }

    /// The next whitespace-delimited token and where it starts (empty at end of line).
    fn token(&mut self) -> (usize, &'a str) {
        self.skip_ws();
        let rest = self.rest();
        let len = rest.find([' ', '\t']).unwrap_or(rest.len());
        let start = self.pos;
        self.pos += len;
        (start, &rest[..len])
    }

    fn syntax(&self, pos: usize, expected: impl Into<String>, found: &str) -> TraceError {
        TraceError::Syntax {
            at: self.at(pos),
            expected: expected.into(),
            found: if found.is_empty() {
                "end of line".into()
            } else {
                format!("`{}`", clip(found))
            },
        }
    }

    /// Nothing but whitespace may remain.
    fn end(&mut self) -> Result<(), TraceError> {
        let (pos, t) = self.token();
        if t.is_empty() {
            Ok(())
        } else {
            Err(self.syntax(pos, "end of line", t))
        }
    }

    fn u64(&mut self, what: &str) -> Result<u64, TraceError> {
        let (pos, t) = self.token();
        parse_u64(t)
            .ok_or_else(|| self.syntax(pos, format!("{what} (an integer 0..={})", u64::MAX), t))
    }

    fn u32(&mut self, what: &str) -> Result<u32, TraceError> {
        let (pos, t) = self.token();
        parse_u64(t)
            .and_then(|v| u32::try_from(v).ok())
            .ok_or_else(|| self.syntax(pos, format!("{what} (an integer 0..={})", u32::MAX), t))
    }

    fn i32(&mut self, what: &str) -> Result<i32, TraceError> {
        let (pos, t) = self.token();
        let digits = t.strip_prefix('-').unwrap_or(t);
        let ok = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
        ok.then(|| t.parse::<i32>().ok()).flatten().ok_or_else(|| {
            self.syntax(
                pos,
                format!("{what} (an integer {}..={})", i32::MIN, i32::MAX),
                t,
            )
        })
    }

    fn reg(&mut self, what: &str) -> Result<u32, TraceError> {
        let (pos, t) = self.token();
        t.strip_prefix('r')
            .and_then(parse_u64)
            .and_then(|v| u32::try_from(v).ok())
            .ok_or_else(|| self.syntax(pos, format!("{what} (a register like `r0`)"), t))
    }

    /// A bare or quoted string. A bare key stops at `=`.
    fn string(&mut self, what: &str, is_key: bool) -> Result<String, TraceError> {
        self.skip_ws();
        let start = self.pos;
        let rest = self.rest();
        let too_long = |c: &Cursor<'_>| TraceError::LimitExceeded {
            at: c.at(start),
            what: "string length (bytes)",
            value: MAX_STRING_BYTES + 1,
            limit: MAX_STRING_BYTES,
        };
        if let Some(body) = rest.strip_prefix('"') {
            let mut out = String::new();
            let mut chars = body.char_indices();
            loop {
                let Some((i, ch)) = chars.next() else {
                    return Err(self.syntax(
                        start + 1 + body.len(),
                        format!("the closing `\"` of {what}"),
                        "",
                    ));
                };
                match ch {
                    '"' => {
                        self.pos = start + 1 + i + 1;
                        break;
                    }
                    '\\' => {
                        let esc_pos = start + 1 + i;
                        let bad = |c: &Cursor<'_>| {
                            let found: String = body[i..].chars().take(10).collect();
                            c.syntax(
                                esc_pos,
                                "an escape: \\\\ \\\" \\n \\r \\t \\0 or \\u{HEX}",
                                &found,
                            )
                        };
                        match chars.next().map(|(_, e)| e) {
                            Some('\\') => out.push('\\'),
                            Some('"') => out.push('"'),
                            Some('n') => out.push('\n'),
                            Some('r') => out.push('\r'),
                            Some('t') => out.push('\t'),
                            Some('0') => out.push('\0'),
                            Some('u') => {
                                if chars.next().map(|(_, e)| e) != Some('{') {
                                    return Err(bad(self));
                                }
                                let mut v: u32 = 0;
                                let mut digits = 0;
                                loop {
                                    match chars.next().map(|(_, e)| e) {
                                        Some('}') if digits > 0 => break,
                                        Some(d) if d.is_ascii_hexdigit() && digits < 6 => {
                                            v = v * 16 + d.to_digit(16).unwrap_or(0);
                                            digits += 1;
                                        }
                                        _ => return Err(bad(self)),
                                    }
                                }
                                out.push(char::from_u32(v).ok_or_else(|| bad(self))?);
                            }
                            _ => return Err(bad(self)),
                        }
                    }
                    ch => out.push(ch),
                }
                if out.len() as u64 > MAX_STRING_BYTES {
                    return Err(too_long(self));
                }
            }
            Ok(out)
        } else {
            let len = rest
                .find(|ch: char| ch == ' ' || ch == '\t' || (is_key && ch == '='))
                .unwrap_or(rest.len());
            let word = &rest[..len];
            if word.is_empty() {
                return Err(self.syntax(start, format!("{what} (a string)"), word));
            }
            if let Some(bad) = word.find(['"', '\\']) {
                return Err(self.syntax(
                    start + bad,
                    format!("{what} as a bare string without `\"` or `\\` (or quote it)"),
                    word,
                ));
            }
            if len as u64 > MAX_STRING_BYTES {
                return Err(too_long(self));
            }
            self.pos += len;
            Ok(word.to_string())
        }
    }
}
