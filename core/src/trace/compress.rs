//! zstd on both sides of a trace: the writer's output (plain or compressed, streamed), the
//! reader's decompressing source (in the reader's thread, or ahead of it in a thread of its
//! own), and telling zstd's failures (a frame cut short, corrupt data) apart from the file's own
//! I/O errors, so that the reader can report each clearly.

use super::{Position, TraceError, MAX_ZSTD_WINDOW_LOG, ZSTD_LEVELS};
use std::fmt;
use std::io::{self, BufReader, Read, Write};
use std::sync::mpsc;

/// Where a writer's bytes go: straight to `W`, or through a streaming zstd encoder.
pub(super) enum Out<W: Write> {
    Plain(W),
    Zstd(zstd::stream::write::Encoder<'static, W>),
}

impl<W: Write> Out<W> {
    /// A streaming zstd encoder onto `w` at `level` (one frame, with a content checksum so that
    /// a reader detects corruption).
    pub(super) fn zstd(w: W, level: i32) -> Result<Out<W>, TraceError> {
        if !ZSTD_LEVELS.contains(&level) {
            return Err(TraceError::Unwritable(format!(
                "zstd level {level} is outside {}..={}",
                ZSTD_LEVELS.start(),
                ZSTD_LEVELS.end()
            )));
        }
        let setup = |e: io::Error| TraceError::Unwritable(format!("setting up zstd: {e}"));
        let mut enc = zstd::stream::write::Encoder::new(w, level).map_err(setup)?;
        enc.include_checksum(true).map_err(setup)?;
        Ok(Out::Zstd(enc))
    }

    pub(super) fn is_compressed(&self) -> bool {
        matches!(self, Out::Zstd(_))
    }

    pub(super) fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self {
            Out::Plain(w) => w.write_all(buf),
            Out::Zstd(z) => z.write_all(buf),
        }
    }

    /// Flushes: zstd compresses and writes out what it holds (ending a block), then `W` is
    /// flushed.
    pub(super) fn flush(&mut self) -> io::Result<()> {
        match self {
            Out::Plain(w) => w.flush(),
            Out::Zstd(z) => z.flush(),
        }
    }

    /// Ends the zstd frame (if any), flushes and returns the underlying writer.
    pub(super) fn finish(self) -> io::Result<W> {
        let mut w = match self {
            Out::Plain(w) => w,
            Out::Zstd(z) => z.finish()?,
        };
        w.flush()?;
        Ok(w)
    }
}

/// What went wrong inside the zstd data of a compressed trace, carried by the `io::Error` that
/// [`Unzstd`] returns so that the reader can turn it into [`TraceError::CompressedTruncated`] or
/// [`TraceError::CompressedCorrupt`].
#[derive(Debug)]
pub(super) enum ZstdFault {
    /// The compressed data ended inside a frame.
    Truncated,
    /// zstd refused the data (its message).
    Corrupt(String),
}

impl fmt::Display for ZstdFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ZstdFault::Truncated => f.write_str("the zstd data ends inside a frame"),
            ZstdFault::Corrupt(m) => write!(f, "corrupt zstd data: {m}"),
        }
    }
}

impl std::error::Error for ZstdFault {}

/// An I/O error of the compressed file itself, wrapped on its way through zstd so that it is
/// not mistaken for a fault of the zstd data.
#[derive(Debug)]
struct FileError(io::Error);

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for FileError {}

/// The compressed file, as zstd reads it: its errors (but `Interrupted`, which every reader
/// retries) wrapped in [`FileError`].
pub(super) struct Source<R: Read>(R);

impl<R: Read> Read for Source<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf).map_err(|e| {
            if e.kind() == io::ErrorKind::Interrupted {
                e
            } else {
                io::Error::new(e.kind(), FileError(e))
            }
        })
    }
}

/// The decompressed bytes of a zstd-compressed trace, streamed. Its errors are the file's own
/// (as they were), or a [`ZstdFault`].
pub(super) struct Unzstd<R: Read> {
    d: zstd::stream::read::Decoder<'static, BufReader<Source<R>>>,
}

impl<R: Read> Unzstd<R> {
    /// A decoder of the zstd frames `r` holds (one after the other, as zstd concatenates them),
    /// refusing windows above 2^[`MAX_ZSTD_WINDOW_LOG`] bytes.
    pub(super) fn new(r: R) -> io::Result<Unzstd<R>> {
        let mut d = zstd::stream::read::Decoder::new(Source(r))?;
        d.window_log_max(MAX_ZSTD_WINDOW_LOG)?;
        Ok(Unzstd { d })
    }
}

impl<R: Read> Read for Unzstd<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.d.read(buf).map_err(classify)
    }
}

/// The file's own error unwrapped, or zstd's error as a [`ZstdFault`].
#[cold]
fn classify(e: io::Error) -> io::Error {
    if e.kind() == io::ErrorKind::Interrupted {
        return e;
    }
    if e.get_ref().is_some_and(|inner| inner.is::<FileError>()) {
        let kind = e.kind();
        return match e.into_inner().map(|inner| inner.downcast::<FileError>()) {
            Some(Ok(file)) => file.0,
            _ => io::Error::from(kind),
        };
    }
    // zstd reports a frame cut short as `UnexpectedEof` ("incomplete frame"), and everything it
    // refuses in the data (bad magic of a later frame, corrupt blocks, a checksum mismatch, a
    // window too large) as another kind, with zstd's own message.
    if e.kind() == io::ErrorKind::UnexpectedEof {
        return io::Error::new(io::ErrorKind::UnexpectedEof, ZstdFault::Truncated);
    }
    let mut msg = e.to_string();
    if msg.contains("memory") {
        // "Frame requires too much memory for decoding": a window beyond the reader's bound.
        msg.push_str(&format!(
            " (traces may use zstd windows of at most {} MiB: levels 1 to 19, without --long)",
            (1u64 << MAX_ZSTD_WINDOW_LOG) >> 20
        ));
    }
    io::Error::new(io::ErrorKind::InvalidData, ZstdFault::Corrupt(msg))
}

/// An error met while reading a compressed trace, restated for it: positions in bytes become
/// positions in the decompressed bytes, and a [`ZstdFault`] becomes
/// [`TraceError::CompressedTruncated`] or [`TraceError::CompressedCorrupt`], with `ops`, the
/// number of ops read completely before it.
#[cold]
pub(super) fn in_decompressed(e: TraceError, ops: u64) -> TraceError {
    let mut e = e;
    if let Some(at) = e.position_mut() {
        if let Position::Byte(off) = *at {
            *at = Position::Decompressed(off);
        }
    }
    match e {
        TraceError::Io { at, source } => {
            match source.get_ref().and_then(|s| s.downcast_ref::<ZstdFault>()) {
                Some(ZstdFault::Truncated) => TraceError::CompressedTruncated { at, ops },
                Some(ZstdFault::Corrupt(message)) => TraceError::CompressedCorrupt {
                    at,
                    ops,
                    message: message.clone(),
                },
                None => TraceError::Io { at, source },
            }
        }
        other => other,
    }
}

/// Bytes [`Ahead`]'s thread decompresses per block it hands over.
const AHEAD_BLOCK: usize = 256 * 1024;
/// Blocks decompressed ahead of the decoder, at most (besides the one it reads from).
const AHEAD_BLOCKS: usize = 2;

/// What [`Ahead`]'s thread sends: a block of decompressed bytes (the buffer and how many of its
/// bytes are filled), the error that ended decompression, or the end of the data.
enum Msg {
    Block(Vec<u8>, usize),
    Failed(io::Error),
    End,
}

/// The decompressed bytes of a compressed trace, decompressed ahead in a thread of their own
/// while the decoder works through the previous block: on a machine with a core to spare, the
/// decompression costs the replay almost no time. At most [`AHEAD_BLOCKS`] blocks of
/// [`AHEAD_BLOCK`] bytes are in flight (buffers are handed back and reused), and the thread
/// ends when the data does or when the reader is dropped. The bytes and errors are exactly
/// those of [`Unzstd`], in the same order.
pub(super) struct Ahead {
    rx: mpsc::Receiver<Msg>,
    /// Emptied buffers, back to the thread.
    back: mpsc::SyncSender<Vec<u8>>,
    /// The block being read, and its filled length.
    cur: Vec<u8>,
    len: usize,
    pos: usize,
    done: bool,
}

impl Ahead {
    /// Starts the thread decompressing `z`.
    pub(super) fn spawn<R: Read + Send + 'static>(z: Unzstd<R>) -> io::Result<Ahead> {
        let (tx, rx) = mpsc::sync_channel(AHEAD_BLOCKS);
        let (back, spare) = mpsc::sync_channel(AHEAD_BLOCKS + 1);
        std::thread::Builder::new()
            .name("gclab-unzstd".into())
            .spawn(move || pump(z, &tx, &spare))?;
        Ok(Ahead {
            rx,
            back,
            cur: Vec::new(),
            len: 0,
            pos: 0,
            done: false,
        })
    }
}

/// The thread of an [`Ahead`]: decompresses block after block and sends each, until the end of
/// the data, an error, or the reader going away.
fn pump<R: Read>(mut z: Unzstd<R>, tx: &mpsc::SyncSender<Msg>, spare: &mpsc::Receiver<Vec<u8>>) {
    loop {
        let mut buf = spare.try_recv().unwrap_or_else(|_| vec![0u8; AHEAD_BLOCK]);
        let mut n = 0;
        let last = loop {
            if n == buf.len() {
                break None;
            }
            match z.read(&mut buf[n..]) {
                Ok(0) => break Some(Msg::End),
                Ok(k) => n += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => break Some(Msg::Failed(e)),
            }
        };
        if n > 0 && tx.send(Msg::Block(buf, n)).is_err() {
            return;
        }
        if let Some(msg) = last {
            let _ = tx.send(msg);
            return;
        }
    }
}

impl Read for Ahead {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.pos < self.len {
                let k = out.len().min(self.len - self.pos);
                out[..k].copy_from_slice(&self.cur[self.pos..self.pos + k]);
                self.pos += k;
                return Ok(k);
            }
            if self.done || out.is_empty() {
                return Ok(0);
            }
            if !self.cur.is_empty() {
                // Back to the thread for reuse (dropped if it has enough).
                let _ = self.back.try_send(std::mem::take(&mut self.cur));
            }
            match self.rx.recv() {
                Ok(Msg::Block(buf, n)) => {
                    self.cur = buf;
                    self.len = n;
                    self.pos = 0;
                }
                Ok(Msg::End) => {
                    self.done = true;
                    return Ok(0);
                }
                Ok(Msg::Failed(e)) => {
                    self.done = true;
                    return Err(e);
                }
                Err(_) => {
                    self.done = true;
                    return Err(io::Error::other(
                        "the decompression thread stopped before the end of the data",
                    ));
                }
            }
        }
    }
}
