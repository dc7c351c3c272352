//! The trace module's error type: why a trace could not be written or read, and where.

use super::{Position, TEXT_MAGIC, VERSION};
use crate::workload::Stop;
use std::io;
use std::path::PathBuf;

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
    /// The file starts with none of `GCLT`, `gclab-trace text` and the zstd frame magic.
    #[error(
        "bad magic at {at}: expected `GCLT` (binary trace), `{TEXT_MAGIC} {VERSION}` (text trace) or 28 b5 2f fd (zstd-compressed trace), found {found}"
    )]
    BadMagic {
        /// Where.
        at: Position,
        /// What was found instead.
        found: String,
    },
    /// The trace declares a format version this reader does not know.
    #[error("unsupported trace format version {version} at {at}: expected version 1 to {VERSION}")]
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
    /// A zstd-compressed trace ends inside its zstd frame: the file was cut short (for example
    /// its writer was killed before [`TraceWriter::finish`](super::TraceWriter::finish)). The ops
    /// before `at` were read (and fed) completely.
    #[error(
        "truncated compressed trace at {at}: the zstd data ends inside its frame (was the writer killed before it finished?); {ops} ops were read completely"
    )]
    CompressedTruncated {
        /// Where the decompressed bytes ended ([`Position::Decompressed`] or a line).
        at: Position,
        /// Ops read completely before the end.
        ops: u64,
    },
    /// The zstd data of a compressed trace is corrupt (a bad block, a checksum mismatch, bytes
    /// after the last frame that are no frame) or needs more than this reader allows (a window
    /// above 2^[`MAX_ZSTD_WINDOW_LOG`](super::MAX_ZSTD_WINDOW_LOG) bytes).
    #[error("corrupt compressed trace at {at}: {message}; {ops} ops were read completely")]
    CompressedCorrupt {
        /// How far the decompressed bytes got ([`Position::Decompressed`] or a line).
        at: Position,
        /// Ops read completely before it.
        ops: u64,
        /// zstd's message.
        message: String,
    },
    /// The sink stopped the stream (for example the executor failed on an op). The trace itself
    /// may be fine.
    #[error("the sink stopped the stream: {0}")]
    Stopped(Stop),
    /// [`TraceReader::feed`](super::TraceReader::feed) was called a second time.
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
            | TraceError::Syntax { at, .. }
            | TraceError::CompressedTruncated { at, .. }
            | TraceError::CompressedCorrupt { at, .. } => Some(*at),
            TraceError::File { .. }
            | TraceError::Stopped(_)
            | TraceError::AlreadyFed
            | TraceError::Unwritable(_) => None,
        }
    }

    /// [`Self::position`], to rewrite it.
    pub(super) fn position_mut(&mut self) -> Option<&mut Position> {
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
            | TraceError::Syntax { at, .. }
            | TraceError::CompressedTruncated { at, .. }
            | TraceError::CompressedCorrupt { at, .. } => Some(at),
            TraceError::File { .. }
            | TraceError::Stopped(_)
            | TraceError::AlreadyFed
            | TraceError::Unwritable(_) => None,
        }
    }
}
