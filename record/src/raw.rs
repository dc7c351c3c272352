//! The raw event log the in-interpreter recorder writes, and its reader.
//!
//! The recorder (`record/c/gclab_recorder.c`) runs inside CPython and must cost little, so it
//! writes fixed 16-byte records and leaves all bookkeeping to this side. The log starts with a
//! 16-byte header, `b"GCLABRAW"`, a `u32` format number (1) and the interpreter's
//! `PY_VERSION_HEX`; then records, little endian, `{ u64 a; u32 b; u16 c; u8 kind; u8 flags; }`,
//! where `c` is always the low 16 bits of the young count (`generations[0].count`) when the record
//! was written. `docs/recording.md` lists every kind; [`Event`] is the decoded form.
//!
//! A log ends with an `END` record counting the records before it. A recorder killed before it
//! could write one leaves a log that simply stops, maybe in the middle of a record: the reader
//! then reports [`RawError::Truncated`] with the byte offset of the last complete record, so that
//! a caller can keep what came before.

use std::io::{self, Read};
use thiserror::Error;

/// The 8 bytes a raw log starts with.
pub const RAW_MAGIC: [u8; 8] = *b"GCLABRAW";
/// The raw format this reader understands.
pub const RAW_FORMAT: u32 = 1;

/// Flag: the object's type has `Py_TPFLAGS_HAVE_GC` (a container).
pub const F_GC_TYPE: u8 = 1;
/// Flag: the collector was running (`gc.collecting`) when the record was written.
pub const F_IN_GC: u8 = 4;
/// Flag: the type is a heap type (a class defined in Python).
pub const F_HEAPTYPE: u8 = 8;
/// Flag: the death was seen only by a `tp_dealloc` wrapper (the eval loop freed the object
/// without `_Py_Dealloc`).
pub const F_VIA_WRAPPER: u8 = 16;

/// What a `MARK` record marks (its flags byte).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Mark {
    /// The program called `gc.collect(generation)`.
    Collect(i32),
    /// `gc.freeze()`.
    Freeze,
    /// `gc.unfreeze()`.
    Unfreeze,
    /// `gc.enable()`.
    Enable,
    /// `gc.disable()`.
    Disable,
    /// `gc.set_threshold(t0, t1, t2)`.
    SetThreshold(u32, u32, u32),
    /// The program starts (after the recorder's own set-up).
    Start,
    /// The program has ended (before the recorder stops).
    End,
    /// A point the program marked through the `gclab_marker` module (1: its start-up is over).
    Event(u64),
    /// A mark this reader does not know (kind byte, payload).
    Other(u8, u64),
}

/// One decoded record (a `TYPE` record with its name chunks is one event).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// An object was created (`_Py_NewReference`): at this point only its type is valid.
    Create {
        /// Address (low 48 bits).
        addr: u64,
        /// Recorder type id.
        tid: u16,
        /// `tp_basicsize`.
        size: u32,
        /// Flags (`F_*`).
        flags: u8,
    },
    /// An object is being deallocated; it was intact when recorded.
    Destroy {
        /// Address.
        addr: u64,
        /// Recorder type id.
        tid: u16,
        /// Its size in bytes then.
        size: u32,
        /// Flags (`F_*`).
        flags: u8,
    },
    /// A collection of `generation` starts (the `gc.callbacks` "start" phase).
    GcStart {
        /// The generation collected.
        generation: u32,
    },
    /// The collection ended (the "stop" phase).
    GcStop {
        /// Objects collected.
        collected: u64,
        /// Objects found uncollectable.
        uncollectable: u32,
        /// The generation collected.
        generation: u8,
    },
    /// An object of a generation being collected, at the collection's start (followed by its
    /// `Edge`s and a `Size`).
    SnapObj {
        /// Address.
        addr: u64,
        /// Recorder type id.
        tid: u16,
        /// Its reference count.
        refcount: u32,
        /// Its generation (3: permanent).
        generation: u8,
    },
    /// A referent of the last `SnapObj` or `InitObj`.
    Edge {
        /// The referent's address.
        addr: u64,
    },
    /// A mark (see [`Mark`]).
    Mark(Mark),
    /// `long_lived_total` and `long_lived_pending`.
    GcState {
        /// `long_lived_total`.
        long_lived_total: u64,
        /// `long_lived_pending`.
        long_lived_pending: u32,
    },
    /// The three generation counts and whether the collector is enabled.
    Counts {
        /// `generations[0].count`, all 32 bits.
        count0: u32,
        /// `generations[1].count`.
        count1: u32,
        /// `generations[2].count`.
        count2: u32,
        /// `gc.isenabled()`.
        enabled: bool,
    },
    /// The three thresholds.
    Thresholds([u32; 3]),
    /// A survivor of the collection in progress that the collector untracked.
    Untracked {
        /// Address.
        addr: u64,
    },
    /// Nanoseconds since the recording started.
    Time(u64),
    /// A type, named the first time it is seen.
    Type {
        /// Recorder type id.
        tid: u16,
        /// `tp_name`.
        name: String,
        /// `tp_basicsize`, at most 65535.
        basic_size: u16,
        /// `F_GC_TYPE`, `F_HEAPTYPE`.
        flags: u8,
    },
    /// An object that existed when the recording started (followed by `Edge`s and a `Size`).
    InitObj {
        /// Address.
        addr: u64,
        /// Recorder type id.
        tid: u16,
        /// Its reference count.
        refcount: u32,
        /// Its generation (3: permanent).
        generation: u8,
    },
    /// The size of the last `SnapObj` or `InitObj`.
    Size(u64),
    /// The end of the log: the number of records before it.
    End(u64),
}

/// A raw log that cannot be read.
#[derive(Debug, Error)]
pub enum RawError {
    /// Reading failed.
    #[error("cannot read the raw recording: {0}")]
    Io(#[from] io::Error),
    /// Not a raw log.
    #[error("not a gclab raw recording (the first bytes are not GCLABRAW)")]
    BadMagic,
    /// A raw format this reader does not know.
    #[error("raw recording format {0} is not supported (this gclab reads format {RAW_FORMAT})")]
    UnsupportedFormat(u32),
    /// The log stops before its `END` record (the recorder was killed, or the disk filled).
    #[error("the raw recording stops at byte offset {offset} without its END record ({records} complete records)")]
    Truncated {
        /// Byte offset where the last complete record ends.
        offset: u64,
        /// Complete records read.
        records: u64,
    },
    /// A record with an unknown kind, or an END whose count disagrees.
    #[error("corrupt raw recording at byte offset {offset}: {what}")]
    Corrupt {
        /// Byte offset of the record.
        offset: u64,
        /// What is wrong.
        what: String,
    },
}

/// Reads a raw log one [`Event`] at a time.
pub struct RawReader<R: Read> {
    r: R,
    offset: u64,
    records: u64,
    /// Of `records`, the 16-byte chunks holding type names (the END record does not count them).
    chunks: u64,
    python_hex: u32,
    ended: bool,
}

const ADDR_MASK: u64 = (1 << 48) - 1;

impl<R: Read> RawReader<R> {
    /// Reads and checks the header.
    pub fn new(mut r: R) -> Result<RawReader<R>, RawError> {
        let mut h = [0u8; 16];
        match r.read_exact(&mut h) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Err(RawError::BadMagic),
            Err(e) => return Err(e.into()),
        }
        if h[..8] != RAW_MAGIC {
            return Err(RawError::BadMagic);
        }
        let format = u32::from_le_bytes([h[8], h[9], h[10], h[11]]);
        if format != RAW_FORMAT {
            return Err(RawError::UnsupportedFormat(format));
        }
        Ok(RawReader {
            r,
            offset: 16,
            records: 0,
            chunks: 0,
            python_hex: u32::from_le_bytes([h[12], h[13], h[14], h[15]]),
            ended: false,
        })
    }

    /// The recording interpreter's `PY_VERSION_HEX`.
    pub fn python_hex(&self) -> u32 {
        self.python_hex
    }

    /// Byte offset of the next record.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// One 16-byte record, or `None` at a clean end of file.
    fn record(&mut self) -> Result<Option<[u8; 16]>, RawError> {
        let mut rec = [0u8; 16];
        let mut got = 0;
        while got < 16 {
            match self.r.read(&mut rec[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            }
        }
        if got == 0 {
            return Ok(None);
        }
        if got < 16 {
            return Err(RawError::Truncated {
                offset: self.offset,
                records: self.records,
            });
        }
        self.offset += 16;
        self.records += 1;
        Ok(Some(rec))
    }

    /// The next event with the young count's low 16 bits when it was written, or `None` after
    /// the `END` record. A log without `END` is [`RawError::Truncated`].
    pub fn next_event(&mut self) -> Result<Option<(Event, u16)>, RawError> {
        if self.ended {
            return Ok(None);
        }
        let at = self.offset;
        let Some(rec) = self.record()? else {
            return Err(RawError::Truncated {
                offset: self.offset,
                records: self.records,
            });
        };
        let a = u64::from_le_bytes(rec[0..8].try_into().unwrap_or_default());
        let b = u32::from_le_bytes([rec[8], rec[9], rec[10], rec[11]]);
        let c = u16::from_le_bytes([rec[12], rec[13]]);
        let kind = rec[14];
        let flags = rec[15];
        let addr = a & ADDR_MASK;
        let tid = (a >> 48) as u16;
        let ev = match kind {
            0 => Event::Create {
                addr,
                tid,
                size: b,
                flags,
            },
            1 => Event::Destroy {
                addr,
                tid,
                size: b,
                flags,
            },
            2 => Event::GcStart {
                generation: a as u32,
            },
            3 => Event::GcStop {
                collected: a,
                uncollectable: b,
                generation: flags,
            },
            4 => Event::SnapObj {
                addr,
                tid,
                refcount: b,
                generation: flags,
            },
            5 => Event::Edge { addr },
            6 => Event::Mark(match flags {
                1 => Mark::Collect(a as i64 as i32),
                2 => Mark::Freeze,
                3 => Mark::Unfreeze,
                4 => Mark::Enable,
                5 => Mark::Disable,
                6 => Mark::SetThreshold(
                    (a & 0x1f_ffff) as u32,
                    ((a >> 21) & 0x1f_ffff) as u32,
                    ((a >> 42) & 0x1f_ffff) as u32,
                ),
                7 => Mark::Start,
                8 => Mark::End,
                9 => Mark::Event(a),
                k => Mark::Other(k, a),
            }),
            7 => Event::GcState {
                long_lived_total: a,
                long_lived_pending: b,
            },
            8 => Event::Counts {
                count0: b,
                count1: a as u32,
                count2: (a >> 32) as u32,
                enabled: flags != 0,
            },
            9 => Event::Thresholds([a as u32, (a >> 32) as u32, b]),
            10 => Event::Untracked { addr },
            11 => Event::Time(a),
            12 => {
                let len = b as usize;
                if len > 1 << 16 {
                    return Err(RawError::Corrupt {
                        offset: at,
                        what: format!("a type name of {len} bytes"),
                    });
                }
                let mut name = Vec::with_capacity(len);
                for _ in 0..len.div_ceil(16) {
                    let Some(chunk) = self.record()? else {
                        return Err(RawError::Truncated {
                            offset: self.offset,
                            records: self.records,
                        });
                    };
                    name.extend_from_slice(&chunk);
                    self.chunks += 1;
                }
                name.truncate(len);
                Event::Type {
                    tid: a as u16,
                    name: String::from_utf8_lossy(&name).into_owned(),
                    basic_size: c,
                    flags,
                }
            }
            13 => Event::InitObj {
                addr,
                tid,
                refcount: b,
                generation: flags,
            },
            14 => {
                // The END record counts the records before it, type-name chunks left out.
                let before = self.records - 1 - self.chunks;
                if a != before {
                    return Err(RawError::Corrupt {
                        offset: at,
                        what: format!(
                            "the END record counts {a} records but {before} came before it"
                        ),
                    });
                }
                self.ended = true;
                Event::End(a)
            }
            15 => Event::Size(a),
            k => {
                return Err(RawError::Corrupt {
                    offset: at,
                    what: format!("unknown record kind {k}"),
                })
            }
        };
        Ok(Some((ev, c)))
    }
}
