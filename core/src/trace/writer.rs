//! The [`TraceWriter`]: an [`OpSink`] that checks the header against the readers' limits and
//! hands each chunk of ops to the encoder of its form (`binary` or `text`).

use super::binary::{encode_binary_header, encode_binary_op, opcode, put_varint};
use super::text::{encode_text_header, encode_text_op, push_line};
use super::{
    Position, TraceError, TraceFormat, MAX_NAMES, MAX_PARAMS, MAX_REGISTERS, MAX_STRING_BYTES,
};
use crate::op::{Op, StreamHeader};
use crate::workload::{OpSink, Stop};
use std::io::{self, Write};

/// Writes an op stream as a trace. It is an [`OpSink`]: pass it to
/// [`stream`](crate::workload::stream) or [`TraceReader::feed`](super::TraceReader::feed), then
/// call [`finish`](TraceWriter::finish) to write the end marker.
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
