//! The [`TraceWriter`]: an [`OpSink`] that checks the header and ops against the readers'
//! limits and hands each chunk of ops to the encoder of its form (`binary` or `text`), and the
//! encoded bytes to the output, plain or through zstd (`compress`).

use super::binary::{encode_binary_header, encode_binary_op, opcode, put_varint};
use super::compress::Out;
use super::text::{encode_text_header, encode_text_op, push_line};
use super::{
    Position, TraceError, TraceFormat, MAX_COUNT_GENERATION, MAX_NAMES, MAX_PARAMS, MAX_REGISTERS,
    MAX_STRING_BYTES, MAX_TRACK_GENERATION, MAX_TYPES,
};
use crate::op::{InterpOp, Op, StreamHeader};
use crate::workload::{OpSink, Stop};
use std::io::{self, Write};

/// Writes an op stream as a trace, plain ([`TraceWriter::new`]) or zstd-compressed
/// ([`TraceWriter::compressed`]). It is an [`OpSink`]: pass it to
/// [`stream`](crate::workload::stream) or [`TraceReader::feed`](super::TraceReader::feed), or
/// call [`OpSink::begin`] and then [`OpSink::ops`] yourself, then call
/// [`finish`](TraceWriter::finish) to write the end marker (and end the zstd frame).
///
/// The writer encodes each chunk into an internal buffer and hands it to `W` (or to the zstd
/// encoder in front of it) with one `write_all`, so `W` need not be buffered. Nothing is held
/// beyond one chunk (and zstd's window), whatever the length of the stream.
///
/// ```
/// use gclab_core::trace::{TraceFormat, TraceWriter, DEFAULT_ZSTD_LEVEL};
/// use gclab_core::workload::OpSink;
/// use gclab_core::{Op, StreamHeader};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = std::env::temp_dir().join(format!("gclab-writer-doc-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// # let path = dir.join("run.gclt.zst");
/// let file = std::io::BufWriter::new(std::fs::File::create(&path)?);
/// let mut w = TraceWriter::compressed(file, TraceFormat::Binary, DEFAULT_ZSTD_LEVEL)?;
/// w.begin(&StreamHeader::new(1).workload("mine"))?;
/// w.ops(&[Op::SafePoint, Op::SafePoint])?;
/// w.finish()?; // the end marker, the end of the zstd frame, and a flush
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok(())
/// # }
/// ```
pub struct TraceWriter<W: Write> {
    out: Out<W>,
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
        TraceWriter::with_out(Out::Plain(w), format)
    }

    /// A writer of `format` onto `w`, zstd-compressed at `level` (one of
    /// [`ZSTD_LEVELS`](super::ZSTD_LEVELS); [`DEFAULT_ZSTD_LEVEL`](super::DEFAULT_ZSTD_LEVEL) is
    /// the usual choice) as it goes: one zstd frame with a content checksum, streamed, ended by
    /// [`finish`](TraceWriter::finish). A writer dropped without `finish` leaves a frame that
    /// readers report as [`TraceError::CompressedTruncated`], with the ops it holds.
    ///
    /// Fails for a level outside [`ZSTD_LEVELS`](super::ZSTD_LEVELS) (or if zstd cannot set up its
    /// context), before anything is written.
    pub fn compressed(w: W, format: TraceFormat, level: i32) -> Result<TraceWriter<W>, TraceError> {
        Ok(TraceWriter::with_out(Out::zstd(w, level)?, format))
    }

    fn with_out(out: Out<W>, format: TraceFormat) -> TraceWriter<W> {
        TraceWriter {
            out,
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

    /// Bytes of the trace encoded so far: handed to the underlying writer, or, for a
    /// compressed trace, to the zstd encoder (the size of the decompressed trace).
    pub fn bytes_written(&self) -> u64 {
        self.bytes
    }

    /// True if the trace is zstd-compressed as it is written.
    pub fn is_compressed(&self) -> bool {
        self.out.is_compressed()
    }

    /// Flushes what has been written so far through to the underlying writer (zstd ends its
    /// current block and writes it out), so that a process killed afterwards leaves a file whose
    /// readers get every op written before the flush (and report the rest missing: a plain
    /// trace as truncated, a compressed one as [`TraceError::CompressedTruncated`], with the
    /// count of ops read). Each flush of a compressed trace costs a little compression; a
    /// recorder might flush every few seconds, not after every chunk.
    ///
    /// Fails with the first failure of an earlier write, or this flush's.
    pub fn flush(&mut self) -> Result<(), TraceError> {
        if let Some(stop) = self.earlier_failure() {
            return Err(TraceError::Unwritable(stop.to_string()));
        }
        let at = self.position(self.bytes);
        self.out.flush().map_err(|error| {
            let source = io::Error::new(error.kind(), error.to_string());
            self.failure = Some(WriteFailure::Io {
                at: self.bytes,
                error,
            });
            TraceError::Io { at, source }
        })
    }

    /// Where the `at`-th byte of the trace is, for an error message.
    fn position(&self, at: u64) -> Position {
        if self.out.is_compressed() {
            Position::Decompressed(at)
        } else {
            Position::Byte(at)
        }
    }

    /// Writes the end marker (with the op count), ends the zstd frame of a compressed trace,
    /// flushes and returns the underlying writer.
    ///
    /// Fails if [`OpSink::begin`] was never called or if an earlier write failed (the first
    /// failure is returned).
    pub fn finish(mut self) -> Result<W, TraceError> {
        if let Some(failure) = self.failure.take() {
            return Err(match failure {
                WriteFailure::Io { at, error } => TraceError::Io {
                    at: self.position(at),
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
        let at = self.position(self.bytes);
        self.out
            .write_all(&self.buf)
            .map_err(|source| TraceError::Io { at, source })?;
        self.bytes += self.buf.len() as u64;
        let at = self.position(self.bytes);
        self.out
            .finish()
            .map_err(|source| TraceError::Io { at, source })
    }

    /// Hands the buffer to the output; on failure, remembers it and stops the stream.
    fn write_buf(&mut self) -> Result<(), Stop> {
        if let Err(error) = self.out.write_all(&self.buf) {
            let msg = format!("writing trace at {}: {error}", self.position(self.bytes));
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
                Stop::Sink(format!("writing trace at {}: {error}", self.position(*at)))
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
    if h.types.len() as u64 > MAX_TYPES {
        return Err(format!(
            "{} types exceed the limit of {MAX_TYPES}",
            h.types.len()
        ));
    }
    for t in &h.types {
        long("a type name", &t.name)?;
    }
    Ok(())
}

/// Checks that an op is within the bounds a reader accepts (only the generations of the
/// interpreter ops have bounds narrower than their type's).
#[inline]
fn check_op(op: &Op) -> Result<(), String> {
    match *op {
        Op::Interp(InterpOp::Track { generation, .. }) if generation > MAX_TRACK_GENERATION => {
            Err(format!(
                "interp track into generation {generation}: the generations are 0 to {MAX_TRACK_GENERATION}"
            ))
        }
        Op::Interp(InterpOp::SetCount { generation, .. }) if generation > MAX_COUNT_GENERATION => {
            Err(format!(
                "interp set-count of generation {generation}: the generations are 0 to {MAX_COUNT_GENERATION}"
            ))
        }
        _ => Ok(()),
    }
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
        if let Some(msg) = ops.iter().find_map(|op| check_op(op).err()) {
            return Err(self.fail(msg));
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
