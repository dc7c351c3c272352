//! The [`TraceReader`]: detects a trace's form (and zstd compression) from its first bytes,
//! reads the header and feeds the ops to a sink through the decoder of that form.

use super::binary::{BinaryDecoder, BLOCK};
use super::compress::{in_decompressed, Ahead, Unzstd};
use super::text::TextDecoder;
use super::{Position, TraceError, TraceFormat, MAGIC, TEXT_MAGIC, VERSION, ZSTD_MAGIC};
use crate::op::StreamHeader;
use crate::workload::OpSink;
use std::io::{self, BufReader, Read};

/// Reads a trace of either form, plain or zstd-compressed, streaming: the header when opened,
/// then the ops into a sink.
pub struct TraceReader<R: Read> {
    header: StreamHeader,
    decoder: Decoder<R>,
    fed: bool,
}

enum Decoder<R: Read> {
    Plain(Form<R>),
    /// A compressed trace: the decoder of its form over the decompressed bytes (the bytes format
    /// detection read from the file, then the rest of it).
    Zstd(Form<Unzstd<Start<R>>>),
    /// A compressed trace decompressed ahead in a thread of its own.
    Ahead(Form<Ahead>),
}

/// A file whose first bytes format detection has read: those bytes, then the rest.
type Start<R> = io::Chain<io::Cursor<Vec<u8>>, R>;

/// The decoder of one form over the bytes of `S`.
enum Form<S: Read> {
    Binary(BinaryDecoder<S>),
    /// The text decoder reads the bytes format detection already read, then the rest.
    Text(TextDecoder<io::Chain<io::Cursor<Vec<u8>>, S>>),
}

impl<R: Read> TraceReader<R> {
    /// Detects the form from the first bytes (`GCLT` or `gclab-trace text`, or the zstd frame
    /// magic `28 b5 2f fd`, after which the same detection runs on the decompressed bytes) and
    /// reads the header. The reader is buffered internally: the first read fills the binary
    /// decoder's own block buffer, which format detection and the header are then read from (no
    /// second buffer, no copy); a compressed trace is decompressed into that buffer as it is
    /// read, never as a whole.
    ///
    /// In a compressed trace every error is positioned in the decompressed bytes
    /// ([`Position::Decompressed`], or a line and column of the text form), and zstd data that
    /// ends early or is corrupt is [`TraceError::CompressedTruncated`] or
    /// [`TraceError::CompressedCorrupt`].
    pub fn open(r: R) -> Result<TraceReader<R>, TraceError> {
        TraceReader::start(r, |z| {
            let (header, form) = detect_in(z)?;
            Ok((header, Decoder::Zstd(form)))
        })
    }

    /// Reads the first bytes of `r`; a compressed trace goes to `compressed` (which detects the
    /// form of the decompressed bytes and reads the header), anything else is detected here.
    fn start(
        mut r: R,
        compressed: impl FnOnce(Unzstd<Start<R>>) -> Result<(StreamHeader, Decoder<R>), TraceError>,
    ) -> Result<TraceReader<R>, TraceError> {
        let (buf, got, eof) = read_start(&mut r)?;
        let (header, decoder) = if buf[..got].starts_with(&ZSTD_MAGIC) {
            let mut start = buf;
            start.truncate(got);
            let z =
                Unzstd::new(io::Cursor::new(start).chain(r)).map_err(|source| TraceError::Io {
                    at: Position::Byte(0),
                    source,
                })?;
            compressed(z).map_err(|e| in_decompressed(e, 0))?
        } else {
            let (header, form) = Form::detect(r, buf, got, eof)?;
            (header, Decoder::Plain(form))
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
        match &self.decoder {
            Decoder::Plain(f) => f.format(),
            Decoder::Zstd(f) => f.format(),
            Decoder::Ahead(f) => f.format(),
        }
    }

    /// True if the file is zstd-compressed.
    pub fn is_compressed(&self) -> bool {
        !matches!(self.decoder, Decoder::Plain(_))
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
        let mut count = 0;
        let compressed = |e, count| match e {
            TraceError::Stopped(_) => e,
            e => in_decompressed(e, count),
        };
        match &mut self.decoder {
            Decoder::Plain(f) => f.feed(sink, &mut count),
            Decoder::Zstd(f) => f.feed(sink, &mut count).map_err(|e| compressed(e, count)),
            Decoder::Ahead(f) => f.feed(sink, &mut count).map_err(|e| compressed(e, count)),
        }
    }
}

impl<R: Read + Send + 'static> TraceReader<R> {
    /// [`TraceReader::open`], but a compressed trace is decompressed ahead in a thread of its
    /// own (a few blocks of 256 KiB at most), so that decompression overlaps decoding and
    /// replay: on a machine with a core to spare, a compressed trace then replays about as fast
    /// as a plain one. The ops, the header and every error are exactly those of
    /// [`TraceReader::open`]. A plain trace is read in the caller's thread, as by `open`.
    /// [`open_file`](super::open_file) opens files this way.
    pub fn open_threaded(r: R) -> Result<TraceReader<R>, TraceError> {
        TraceReader::start(r, |z| {
            let ahead = Ahead::spawn(z).map_err(|source| TraceError::Io {
                at: Position::Byte(0),
                source,
            })?;
            let (header, form) = detect_in(ahead)?;
            Ok((header, Decoder::Ahead(form)))
        })
    }
}

/// Detects the form of `s` from its first bytes and reads the header.
fn detect_in<S: Read>(mut s: S) -> Result<(StreamHeader, Form<S>), TraceError> {
    let (buf, got, eof) = read_start(&mut s)?;
    Form::detect(s, buf, got, eof)
}

impl<S: Read> Form<S> {
    /// The decoder of the form that the first bytes of the file, `buf[..got]` (of a buffer of
    /// [`BLOCK`] bytes), show, continuing from `s` (`eof`: `s` has reported end of file), and the
    /// header it read.
    fn detect(
        s: S,
        mut buf: Vec<u8>,
        got: usize,
        eof: bool,
    ) -> Result<(StreamHeader, Form<S>), TraceError> {
        let magic = &buf[..got.min(MAGIC.len())];
        let text_start = &TEXT_MAGIC.as_bytes()[..4];
        if magic == MAGIC {
            let mut d = BinaryDecoder::new(s, buf, got, eof);
            let header = d.header()?;
            Ok((header, Form::Binary(d)))
        } else if magic == text_start {
            let consumed = magic.to_vec();
            buf.truncate(got);
            let mut rest = io::Cursor::new(buf);
            rest.set_position(MAGIC.len() as u64);
            let mut d = TextDecoder::new(BufReader::with_capacity(BLOCK, rest.chain(s)), consumed);
            let header = d.header()?;
            Ok((header, Form::Text(d)))
        } else if got < 4
            && (MAGIC.starts_with(magic)
                || text_start.starts_with(magic)
                || ZSTD_MAGIC.starts_with(magic))
        {
            Err(TraceError::Truncated {
                at: Position::Byte(got as u64),
                expected: format!(
                    "the magic bytes `GCLT`, the line `{TEXT_MAGIC} {VERSION}` or a zstd frame"
                ),
            })
        } else {
            Err(TraceError::BadMagic {
                at: Position::Byte(0),
                found: format!("bytes {}", hex(magic)),
            })
        }
    }

    fn format(&self) -> TraceFormat {
        match self {
            Form::Binary(_) => TraceFormat::Binary,
            Form::Text(_) => TraceFormat::Text,
        }
    }

    /// Feeds the ops to `sink`; `count` follows the ops handed over, so that it says how many
    /// were read completely when an error stops the stream.
    fn feed<K: OpSink + ?Sized>(
        &mut self,
        sink: &mut K,
        count: &mut u64,
    ) -> Result<u64, TraceError> {
        match self {
            Form::Binary(d) => d.feed(sink, count),
            Form::Text(d) => {
                while let Some(op) = d.next_op(*count)? {
                    sink.op(&op).map_err(TraceError::Stopped)?;
                    *count += 1;
                }
                Ok(*count)
            }
        }
    }
}

/// The first bytes of a file: a buffer of [`BLOCK`] bytes holding `got` bytes read (at least
/// the four of a magic, unless the file is shorter), and whether end of file was seen.
fn read_start<S: Read>(s: &mut S) -> Result<(Vec<u8>, usize, bool), TraceError> {
    let mut buf = vec![0u8; BLOCK];
    let mut got = 0;
    let mut eof = false;
    while got < MAGIC.len() {
        match s.read(&mut buf[got..]) {
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
    Ok((buf, got, eof))
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
