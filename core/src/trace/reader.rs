//! The [`TraceReader`]: detects a trace's form from its first bytes, reads the header and feeds
//! the ops to a sink through the decoder of that form.

use super::binary::{BinaryDecoder, BLOCK};
use super::text::TextDecoder;
use super::{Position, TraceError, TraceFormat, MAGIC, TEXT_MAGIC, VERSION};
use crate::op::StreamHeader;
use crate::workload::OpSink;
use std::io::{self, BufReader, Read};

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
            let mut d = TextDecoder::new(BufReader::with_capacity(BLOCK, rest.chain(r)), consumed);
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
    /// treated as invalid. A [`Stop`](crate::workload::Stop) from the sink is returned as
    /// [`TraceError::Stopped`]; the other errors are the trace's. A reader can be fed once.
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
