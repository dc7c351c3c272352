//! Trace files: rejection of every kind of bad input (truncation, bad bytes, broken text,
//! limits, failing readers and writers) with the error's position, and arbitrary input that
//! never panics.

mod common;

use common::{read, sample_header, sample_ops, tiny, write, VecSink};
use gclab_core::trace::{
    Position, TraceError, TraceFormat, TraceReader, TraceWriter, MAX_NAMES, MAX_REGISTERS,
    MAX_STRING_BYTES,
};
use gclab_core::workload::{OpSink, Stop, CHUNK};
use gclab_core::{Op, StreamHeader};
use proptest::prelude::*;
use std::io::{self, Read, Write};

/// Every proper prefix of a valid binary trace is rejected.
#[test]
fn binary_truncation_at_every_offset_is_an_error() {
    let (header, ops) = tiny();
    let bytes = write(TraceFormat::Binary, &header, &ops, CHUNK);
    for cut in 0..bytes.len() {
        match read(&bytes[..cut]) {
            Ok(_) => panic!("prefix of {cut} bytes accepted"),
            Err(e) => {
                let at = e.position().expect("decoding errors carry a position");
                if cut >= 4 {
                    assert!(
                        matches!(
                            e,
                            TraceError::Truncated { .. } | TraceError::CountMismatch { .. }
                        ),
                        "cut at {cut}: {e}"
                    );
                }
                if let (TraceError::Truncated { .. }, Position::Byte(off)) = (&e, at) {
                    assert_eq!(off, cut as u64, "{e}");
                }
            }
        }
    }
    assert!(read(&bytes).is_ok());
    // A larger trace, cut at a sample of offsets.
    let bytes = write(
        TraceFormat::Binary,
        &sample_header(),
        &sample_ops(3000),
        CHUNK,
    );
    for cut in (0..bytes.len()).step_by(7) {
        assert!(
            read(&bytes[..cut]).is_err(),
            "prefix of {cut} bytes accepted"
        );
    }
}

/// Every prefix of a text trace that loses more than the final newline is rejected.
#[test]
fn text_truncation_at_every_offset_is_an_error() {
    let (header, ops) = tiny();
    let bytes = write(TraceFormat::Text, &header, &ops, CHUNK);
    for cut in 0..bytes.len() - 1 {
        let r = read(&bytes[..cut]);
        let e = r
            .err()
            .unwrap_or_else(|| panic!("prefix of {cut} bytes accepted"));
        assert!(e.position().is_some(), "{e}");
    }
}

fn err(bytes: &[u8]) -> TraceError {
    match read(bytes) {
        Ok(_) => panic!("accepted: {:?}", String::from_utf8_lossy(bytes)),
        Err(e) => e,
    }
}

fn at_byte(e: &TraceError) -> u64 {
    match e.position() {
        Some(Position::Byte(off)) => off,
        other => panic!("expected a byte offset in {e}, got {other:?}"),
    }
}

fn at_line(e: &TraceError) -> (u64, u64) {
    match e.position() {
        Some(Position::Line { line, column }) => (line, column),
        other => panic!("expected a line and column in {e}, got {other:?}"),
    }
}

/// The header of the tiny trace is 31 bytes; its ops start at offset 31.
const TINY_OPS: usize = 31;

#[test]
fn binary_errors_name_the_offset() {
    let (header, ops) = tiny();
    let good = write(TraceFormat::Binary, &header, &ops, CHUNK);
    assert_eq!(good[TINY_OPS], 0x01);
    let patched = |at: usize, b: &[u8]| {
        let mut v = good.clone();
        v.splice(at..at + b.len(), b.iter().copied());
        v
    };

    let e = err(b"PK\x03\x04rest");
    assert!(matches!(e, TraceError::BadMagic { .. }), "{e}");
    assert_eq!(at_byte(&e), 0);
    assert!(e.to_string().contains("50 4b 03 04"), "{e}");

    let e = err(&patched(4, &[3, 0]));
    assert!(
        matches!(e, TraceError::UnsupportedVersion { version: 3, .. }),
        "{e}"
    );
    assert_eq!(at_byte(&e), 4);

    let e = err(&patched(TINY_OPS, &[0x42]));
    assert!(matches!(e, TraceError::UnknownOpcode { .. }), "{e}");
    assert_eq!(at_byte(&e), TINY_OPS as u64);
    assert!(e.to_string().contains("0x42"), "{e}");

    let e = err(&patched(TINY_OPS + 2, &[10]));
    assert!(matches!(e, TraceError::UnknownKind { .. }), "{e}");
    assert_eq!(at_byte(&e), TINY_OPS as u64 + 2);

    // An 11-byte varint for the dst register.
    let mut v = good[..TINY_OPS + 1].to_vec();
    v.extend_from_slice(&[0x80; 10]);
    v.extend_from_slice(&[0x01, 0x05, 0x03]);
    let e = err(&v);
    assert!(matches!(e, TraceError::VarintOverflow { .. }), "{e}");
    assert_eq!(at_byte(&e), TINY_OPS as u64 + 1);
    // A register number beyond u32.
    let mut v = good[..TINY_OPS + 1].to_vec();
    v.extend_from_slice(&[0x80, 0x80, 0x80, 0x80, 0x10, 0x05, 0x03]);
    let e = err(&v);
    assert!(matches!(e, TraceError::VarintOverflow { .. }), "{e}");
    assert_eq!(at_byte(&e), TINY_OPS as u64 + 1);
    // The largest u64 seed is fine, one more bit is not.
    let mut h = header.clone();
    h.seed = u64::MAX;
    let max = write(TraceFormat::Binary, &h, &[], 1);
    assert_eq!(read(&max).unwrap().0.seed, u64::MAX);
    let seed_at = 4 + 2 + 5;
    assert_eq!(max[seed_at + 9], 0x01);
    let mut v = max.clone();
    v[seed_at + 9] = 0x02;
    let e = err(&v);
    assert!(matches!(e, TraceError::VarintOverflow { .. }), "{e}");
    assert_eq!(at_byte(&e), seed_at as u64);

    // Invalid UTF-8 in the workload name: offset of the bad byte.
    let e = err(&patched(8, &[0xff]));
    assert!(matches!(e, TraceError::InvalidUtf8 { .. }), "{e}");
    assert_eq!(at_byte(&e), 8);

    let n = good.len();
    let e = err(&patched(n - 1, &[0x07]));
    assert!(
        matches!(
            e,
            TraceError::CountMismatch {
                declared: 7,
                actual: 8,
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(at_byte(&e), n as u64 - 1);

    let mut v = good.clone();
    v.push(0);
    let e = err(&v);
    assert!(matches!(e, TraceError::TrailingGarbage { .. }), "{e}");
    assert_eq!(at_byte(&e), n as u64);

    let e = err(&good[..n - 2]);
    assert!(matches!(e, TraceError::Truncated { .. }), "{e}");
    assert_eq!(at_byte(&e), n as u64 - 2);
    assert!(e.to_string().contains("end marker"), "{e}");

    let e = err(b"");
    assert!(matches!(e, TraceError::Truncated { .. }), "{e}");
    let e = err(b"GC");
    assert!(matches!(e, TraceError::Truncated { .. }), "{e}");
}

#[test]
fn binary_limits_are_checked_before_allocating() {
    let prefix = b"GCLT\x01\x00".to_vec();
    // A workload name claiming 2 GiB.
    let mut v = prefix.clone();
    v.extend_from_slice(&[0x80, 0x80, 0x80, 0x80, 0x08]);
    let e = err(&v);
    assert!(
        matches!(e, TraceError::LimitExceeded { limit, .. } if limit == MAX_STRING_BYTES),
        "{e}"
    );
    assert_eq!(at_byte(&e), 6);
    // A string claiming exactly the limit, but the file ends: truncated, not an allocation.
    let mut v = prefix.clone();
    v.extend_from_slice(&[0x80, 0x80, 0x40, b'a']);
    let e = err(&v);
    assert!(matches!(e, TraceError::Truncated { .. }), "{e}");
    assert_eq!(at_byte(&e), 10);
    // Too many registers.
    let mut v = prefix.clone();
    v.extend_from_slice(&[0, 0, 0x81, 0x80, 0x80, 0x08]);
    let e = err(&v);
    assert!(
        matches!(e, TraceError::LimitExceeded { value, .. } if value == MAX_REGISTERS as u64 + 1),
        "{e}"
    );
    // Too many params.
    let mut v = prefix.clone();
    v.extend_from_slice(&[0, 0, 0, 0x91, 0x4e]);
    let e = err(&v);
    assert!(
        matches!(e, TraceError::LimitExceeded { value: 10_001, .. }),
        "{e}"
    );
    // A name table claiming u64::MAX entries.
    let mut v = prefix.clone();
    v.extend_from_slice(&[0, 0, 0, 0]);
    v.extend_from_slice(&[0xff; 9]);
    v.push(0x01);
    let e = err(&v);
    assert!(
        matches!(e, TraceError::LimitExceeded { limit, .. } if limit == MAX_NAMES),
        "{e}"
    );
    assert_eq!(at_byte(&e), 10);
    // A name table claiming the maximum, then ending: truncated.
    let mut v = prefix.clone();
    v.extend_from_slice(&[0, 0, 0, 0, 0xc0, 0x84, 0x3d]);
    let e = err(&v);
    assert!(matches!(e, TraceError::Truncated { .. }), "{e}");
}

#[test]
fn text_errors_name_line_and_column() {
    let head = "gclab-trace text 1\nworkload w\nseed 1\nregisters 4\n";
    let with = |body: &str| format!("{head}{body}");

    let e = err(b"gclab-trace text 3\n");
    assert!(
        matches!(e, TraceError::UnsupportedVersion { version: 3, .. }),
        "{e}"
    );
    assert_eq!(at_line(&e), (1, 18));
    let e = err(b"gclab-tracer text 1\n");
    assert!(matches!(e, TraceError::BadMagic { .. }), "{e}");

    let e = err(with("alloc r0 lst 3\nend 1\n").as_bytes());
    assert!(matches!(e, TraceError::UnknownKind { .. }), "{e}");
    assert_eq!(at_line(&e), (5, 10));

    let e = err(with("clear r0\nfrobnicate r1\nend 2\n").as_bytes());
    assert!(matches!(e, TraceError::UnknownOpcode { .. }), "{e}");
    assert_eq!(at_line(&e), (6, 1));

    let e = err(with("gc collect x\n").as_bytes());
    assert!(matches!(e, TraceError::Syntax { .. }), "{e}");
    assert_eq!(at_line(&e), (5, 12));

    let e = err(with("  store r0 1 x2\n").as_bytes());
    assert!(matches!(e, TraceError::Syntax { .. }), "{e}");
    assert_eq!(at_line(&e), (5, 14));
    assert!(e.to_string().contains("`x2`"), "{e}");

    let e = err(with("clear r0 r1\n").as_bytes());
    assert!(e.to_string().contains("end of line"), "{e}");
    assert_eq!(at_line(&e), (5, 10));

    let e = err(with("load r0 r1 4294967296\n").as_bytes());
    assert_eq!(at_line(&e), (5, 12));

    let e = err(with("clear r0\nend 2\n").as_bytes());
    assert!(
        matches!(
            e,
            TraceError::CountMismatch {
                declared: 2,
                actual: 1,
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(at_line(&e), (6, 5));

    let e = err(with("end 0\n\n  safepoint\n").as_bytes());
    assert!(matches!(e, TraceError::TrailingGarbage { .. }), "{e}");
    assert_eq!(at_line(&e), (7, 3));

    let e = err(with("clear r0\n").as_bytes());
    assert!(matches!(e, TraceError::Truncated { .. }), "{e}");
    assert_eq!(at_line(&e), (6, 1));

    let e = err(with("clear r0\nname late\nend 1\n").as_bytes());
    assert!(e.to_string().contains("before the first op"), "{e}");

    let mut bad = with("event 0 é").into_bytes();
    bad.push(0xff);
    let e = err(&bad);
    assert!(matches!(e, TraceError::InvalidUtf8 { .. }), "{e}");
    assert_eq!(at_line(&e), (5, 10));

    let e = err(b"gclab-trace text 1\nworkload \"unterminated\nseed 1\n");
    assert_eq!(at_line(&e), (2, 23));
    let e = err(b"gclab-trace text 1\nworkload \"bad \\q escape\"\n");
    assert_eq!(at_line(&e), (2, 15));
    let e = err(b"gclab-trace text 1\nworkload a\"b\n");
    assert_eq!(at_line(&e), (2, 11));
    let e = err(b"gclab-trace text 1\nworkload w\nworkload v\n");
    assert_eq!(at_line(&e), (3, 1));
    let e = err(b"gclab-trace text 1\nworkload w\nregisters 1\nend 0\n");
    assert!(e.to_string().contains("`seed`"), "{e}");
    let e = err(b"gclab-trace text 1\nworkload w\nseed 1\nregisters 16777217\n");
    assert!(matches!(e, TraceError::LimitExceeded { .. }), "{e}");
    assert_eq!(at_line(&e), (4, 11));
    let e = err(b"gclab-trace text 1\nparam novalue\n");
    assert_eq!(at_line(&e), (2, 14));
}

#[test]
fn overlong_text_line_is_rejected() {
    let mut v = b"gclab-trace text 1\nworkload ".to_vec();
    v.resize(v.len() + (9 << 20), b'a');
    let e = err(&v);
    assert!(matches!(e, TraceError::LimitExceeded { .. }), "{e}");
    assert_eq!(at_line(&e), (2, 1));
}

#[test]
fn sink_stop_is_distinguished_from_bad_traces() {
    struct StopAfter(usize);
    impl OpSink for StopAfter {
        fn ops(&mut self, ops: &[Op]) -> Result<(), Stop> {
            self.0 = self.0.saturating_sub(ops.len());
            if self.0 == 0 {
                Err(Stop::Sink("enough".into()))
            } else {
                Ok(())
            }
        }
    }
    let bytes = write(TraceFormat::Binary, &sample_header(), &sample_ops(5000), 1);
    let mut r = TraceReader::open(&bytes[..]).unwrap();
    let e = r.feed(&mut StopAfter(2000)).unwrap_err();
    assert!(matches!(e, TraceError::Stopped(Stop::Sink(ref m)) if m == "enough"));
    assert_eq!(e.position(), None);
    let e = r.feed(&mut VecSink::default()).unwrap_err();
    assert!(matches!(e, TraceError::AlreadyFed), "{e}");
}

#[test]
fn io_errors_while_reading_carry_the_offset() {
    struct Failing<'a>(&'a [u8]);
    impl Read for Failing<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.0.is_empty() {
                return Err(io::Error::other("disk on fire"));
            }
            let n = buf.len().min(self.0.len()).min(5);
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }
    let (header, ops) = tiny();
    let bytes = write(TraceFormat::Binary, &header, &ops, CHUNK);
    let r = TraceReader::open(Failing(&bytes[..20]));
    let e = r.err().expect("fails");
    assert!(matches!(e, TraceError::Io { .. }), "{e}");
    assert_eq!(at_byte(&e), 20);
}

#[test]
fn writer_errors() {
    struct Full(usize);
    impl Write for Full {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.0 == 0 {
                return Err(io::Error::new(io::ErrorKind::StorageFull, "disk full"));
            }
            let n = buf.len().min(self.0);
            self.0 -= n;
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let ops = sample_ops(5000);
    let mut w = TraceWriter::new(Full(10_000), TraceFormat::Binary);
    w.begin(&sample_header()).unwrap();
    let stop = ops
        .chunks(CHUNK)
        .map(|c| w.ops(c))
        .find_map(Result::err)
        .expect("the disk fills up");
    assert!(
        matches!(stop, Stop::Sink(ref m) if m.contains("disk full")),
        "{stop}"
    );
    assert!(w.ops(&ops[..1]).is_err(), "stays failed");
    let e = w.finish().err().expect("finish reports the failure");
    assert!(matches!(e, TraceError::Io { .. }), "{e}");

    let mut w = TraceWriter::new(Vec::new(), TraceFormat::Text);
    assert!(w.ops(&ops[..1]).is_err());
    assert!(matches!(w.finish(), Err(TraceError::Unwritable(_))));
    let w = TraceWriter::new(Vec::new(), TraceFormat::Text);
    assert!(matches!(w.finish(), Err(TraceError::Unwritable(_))));

    let mut w = TraceWriter::new(Vec::new(), TraceFormat::Binary);
    let header = StreamHeader {
        registers: MAX_REGISTERS + 1,
        ..Default::default()
    };
    assert!(w.begin(&header).is_err());
    let mut w = TraceWriter::new(Vec::new(), TraceFormat::Binary);
    let header = StreamHeader {
        workload: "x".repeat(MAX_STRING_BYTES as usize + 1),
        ..Default::default()
    };
    assert!(w.begin(&header).is_err());
}

/// Reads arbitrary bytes; never panics, and every error other than a sink stop has a position.
fn read_anything(bytes: &[u8]) -> Result<(), TestCaseError> {
    if let Err(e) = read(bytes) {
        prop_assert!(e.position().is_some(), "no position in {}", e);
        let msg = e.to_string();
        prop_assert!(
            msg.contains("byte offset") || msg.contains("line "),
            "message names no position: {}",
            msg
        );
    }
    Ok(())
}

fn valid_binary() -> Vec<u8> {
    write(
        TraceFormat::Binary,
        &sample_header(),
        &sample_ops(60),
        CHUNK,
    )
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        read_anything(&bytes)?;
    }

    #[test]
    fn arbitrary_bytes_after_binary_magic_never_panic(
        bytes in prop::collection::vec(any::<u8>(), 0..512),
    ) {
        let mut v = b"GCLT\x01\x00".to_vec();
        v.extend_from_slice(&bytes);
        read_anything(&v)?;
    }

    #[test]
    fn arbitrary_ops_after_a_valid_binary_header_never_panic(
        bytes in prop::collection::vec(any::<u8>(), 0..512),
    ) {
        let (header, _) = tiny();
        let mut v = write(TraceFormat::Binary, &header, &[], 1);
        v.truncate(v.len() - 2);
        v.extend_from_slice(&bytes);
        read_anything(&v)?;
    }

    #[test]
    fn arbitrary_text_lines_never_panic(
        lines in prop::collection::vec(
            prop_oneof![
                any::<String>(),
                "(alloc|store|append|load|copy|clear|event|probe|safepoint|gc|end|name|param|seed|workload|registers)( [-r0-9a-z\"\\\\={}]{0,6}){0,4}",
            ],
            0..12,
        ),
    ) {
        let mut text = String::from("gclab-trace text 1\n");
        for l in &lines {
            text.push_str(l);
            text.push('\n');
        }
        read_anything(text.as_bytes())?;
        let mut text = String::from("gclab-trace text 1\nworkload w\nseed 1\nregisters 2\n");
        for l in &lines {
            text.push_str(l);
            text.push('\n');
        }
        read_anything(text.as_bytes())?;
    }

    #[test]
    fn corrupted_binary_traces_never_panic(
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut v = valid_binary();
        for (i, b) in edits {
            let i = i.index(v.len());
            v[i] = b;
        }
        let keep = cut.index(v.len() + 1);
        read_anything(&v)?;
        read_anything(&v[..keep])?;
    }
}
