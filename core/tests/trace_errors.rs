//! Trace files: rejection of every kind of bad input (truncation, bad bytes, broken text,
//! limits, the recorded ops and type table, compressed traces cut short or corrupt, failing
//! readers and writers) with the error's position, and arbitrary input that never panics.

mod common;

use common::{read, sample_header, sample_ops, tiny, tiny_v2, write, write_zstd, VecSink};
use gclab_core::trace::{
    Position, TraceError, TraceFormat, TraceReader, TraceWriter, MAX_NAMES, MAX_REGISTERS,
    MAX_STRING_BYTES, MAX_TYPES, ZSTD_MAGIC,
};
use gclab_core::workload::{OpSink, Stop, CHUNK};
use gclab_core::{InterpOp, Op, StreamHeader, TypeInfo};
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
    assert!(e.to_string().contains("version 3"), "{e}");
    let e = err(&patched(4, &[0, 0]));
    assert!(
        matches!(e, TraceError::UnsupportedVersion { version: 0, .. }),
        "{e}"
    );

    let e = err(&patched(TINY_OPS, &[0x42]));
    assert!(matches!(e, TraceError::UnknownOpcode { .. }), "{e}");
    assert_eq!(at_byte(&e), TINY_OPS as u64);
    assert!(e.to_string().contains("0x42"), "{e}");

    let e = err(&patched(TINY_OPS + 2, &[10]));
    assert!(matches!(e, TraceError::UnknownKind { .. }), "{e}");
    assert_eq!(at_byte(&e), TINY_OPS as u64 + 2);
    assert!(e.to_string().contains("object, leaf"), "{e}");

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

/// The header of the version-2 tiny trace is 26 bytes: its type table is `02`, then `04 Node 01`
/// from offset 15 (the flag at 20) and `03 str 00` from offset 21 (the flag at 25).
const TINY_V2_OPS: usize = 26;

/// The version-2 additions: a bad generation byte, a type table cut short or with a bad flag,
/// reserved opcodes next to the new ones.
#[test]
fn binary_errors_of_the_type_table_and_recorded_ops() {
    let (header, ops) = tiny_v2();
    let good = write(TraceFormat::Binary, &header, &ops, CHUNK);
    assert_eq!(good[14], 2, "two types");
    assert_eq!(good[TINY_V2_OPS], 0x23, "interp set-count first");
    let patched = |at: usize, b: &[u8]| {
        let mut v = good.clone();
        v.splice(at..at + b.len(), b.iter().copied());
        v
    };

    // A generation byte beyond the generations: set-count of generation 3 (at 27), track into
    // generation 4 (`21 00 00` at 39, its generation at 41).
    let e = err(&patched(TINY_V2_OPS + 1, &[3]));
    assert!(
        matches!(
            e,
            TraceError::LimitExceeded {
                value: 3,
                limit: 2,
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(at_byte(&e), TINY_V2_OPS as u64 + 1);
    assert!(
        e.to_string().contains("generation of interp set-count"),
        "{e}"
    );
    assert_eq!(&good[39..42], &[0x21, 0x00, 0x00]);
    for g in [4, 0x80, 0xff] {
        let e = err(&patched(41, &[g]));
        assert!(
            matches!(e, TraceError::LimitExceeded { value, limit: 3, .. } if value == u64::from(g)),
            "{e}"
        );
        assert_eq!(at_byte(&e), 41);
        assert!(e.to_string().contains("generation of interp track"), "{e}");
    }
    // The file ends where the generation byte should be.
    let e = err(&good[..41]);
    assert!(matches!(e, TraceError::Truncated { .. }), "{e}");
    assert_eq!(at_byte(&e), 41);
    assert!(
        e.to_string().contains("generation byte of interp track"),
        "{e}"
    );

    // A container flag other than 0 or 1.
    for flag in [2, 0xff] {
        let e = err(&patched(20, &[flag]));
        assert!(matches!(e, TraceError::Syntax { .. }), "{e}");
        assert_eq!(at_byte(&e), 20);
        assert!(e.to_string().contains("0 or 1"), "{e}");
    }
    // The type table cut short: before a flag, before the second type, inside its name.
    for (cut, what) in [
        (15, "length of a type name"),
        (20, "container flag"),
        (21, "length of a type name"),
        (23, "more bytes of a type name"),
        (25, "container flag"),
    ] {
        let e = err(&good[..cut]);
        assert!(matches!(e, TraceError::Truncated { .. }), "{e}");
        assert_eq!(at_byte(&e), cut as u64, "{e}");
        assert!(e.to_string().contains(what), "cut {cut}: {e}");
    }
    // A type table claiming more than the limit, or u64::MAX entries: refused at its count.
    let e = err(&patched(14, &[0x81, 0x80, 0x40]));
    assert!(
        matches!(e, TraceError::LimitExceeded { value, limit, .. } if limit == MAX_TYPES && value == MAX_TYPES + 1),
        "{e}"
    );
    assert_eq!(at_byte(&e), 14);
    // Invalid UTF-8 in a type name.
    let e = err(&patched(17, &[0xc3]));
    assert!(matches!(e, TraceError::InvalidUtf8 { .. }), "{e}");
    assert_eq!(at_byte(&e), 17);

    // Opcodes next to the new ones are reserved.
    for code in [0x0b, 0x0f, 0x16, 0x1f, 0x25, 0x30, 0xfe] {
        let e = err(&patched(TINY_V2_OPS, &[code]));
        assert!(matches!(e, TraceError::UnknownOpcode { .. }), "{e}");
        assert_eq!(at_byte(&e), TINY_V2_OPS as u64);
        assert!(e.to_string().contains("0x20..=0x24"), "{e}");
    }
    // Every proper prefix is refused.
    for cut in 0..good.len() {
        assert!(
            read(&good[..cut]).is_err(),
            "prefix of {cut} bytes accepted"
        );
    }
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

/// The text grammar of the version-2 lines: `type` header lines, `new` and `interp` ops.
#[test]
fn text_errors_of_the_type_table_and_recorded_ops() {
    let head = "gclab-trace text 2\nworkload w\nseed 1\nregisters 4\ntype Node gc\ntype str leaf\n";
    let with = |body: &str| format!("{head}{body}");
    // What a line 7 (the first op) is refused with, and where.
    let op = |line: &str| err(with(&format!("{line}\nend 1\n")).as_bytes());

    let ok = with(
        "new r0 0 56\ninterp count -3\ninterp track r0 3\ninterp untrack r0\n\
                   interp set-count 2 4294967295\ninterp long-lived 0 7\nend 6\n",
    );
    let (h, ops) = read(ok.as_bytes()).unwrap();
    assert_eq!(h.types.len(), 2);
    assert_eq!(
        ops[1..3],
        [
            Op::Interp(InterpOp::Count { delta: -3 }),
            Op::Interp(InterpOp::Track {
                reg: 0,
                generation: 3
            })
        ]
    );

    let e = op("new r0 x 5");
    assert!(matches!(e, TraceError::Syntax { .. }), "{e}");
    assert_eq!(at_line(&e), (7, 8));
    assert!(e.to_string().contains("the type of new"), "{e}");
    let e = op("new r0 1");
    assert!(e.to_string().contains("the size of new"), "{e}");
    assert!(e.to_string().contains("end of line"), "{e}");
    assert_eq!(at_line(&e), (7, 9));
    let e = op("new 0 1 2");
    assert!(e.to_string().contains("a register like `r0`"), "{e}");
    assert_eq!(at_line(&e), (7, 5));
    let e = op("new r0 1 2 3");
    assert!(e.to_string().contains("end of line"), "{e}");
    assert_eq!(at_line(&e), (7, 12));
    let e = op("new r0 1 4294967296");
    assert!(matches!(e, TraceError::Syntax { .. }), "{e}");
    assert_eq!(at_line(&e), (7, 10));

    let e = op("interp count x");
    assert!(e.to_string().contains("the delta of interp count"), "{e}");
    assert_eq!(at_line(&e), (7, 14));
    let e = op("interp count 2147483648");
    assert!(matches!(e, TraceError::Syntax { .. }), "{e}");
    assert_eq!(at_line(&e), (7, 14));
    let e = op("interp frob 1");
    assert!(matches!(e, TraceError::UnknownOpcode { .. }), "{e}");
    assert!(e.to_string().contains("`interp frob`"), "{e}");
    assert_eq!(at_line(&e), (7, 8));
    let e = op("interp");
    assert!(matches!(e, TraceError::UnknownOpcode { .. }), "{e}");
    assert_eq!(at_line(&e).0, 7);
    // Generations beyond the generations, however large.
    for (line, col, value, limit) in [
        ("interp track r0 4", 17, 4, 3),
        ("interp track r1 300", 17, 300, 3),
        ("interp set-count 3 1", 18, 3, 2),
        ("  interp  set-count 4294967295 1", 21, 4_294_967_295, 2),
    ] {
        let e = op(line);
        assert!(
            matches!(e, TraceError::LimitExceeded { value: v, limit: l, .. } if v == value && l == limit),
            "{line}: {e}"
        );
        assert_eq!(at_line(&e), (7, col), "{line}: {e}");
        assert!(e.to_string().contains("generation of interp"), "{e}");
    }
    let e = op("interp track r0 -1");
    assert!(matches!(e, TraceError::Syntax { .. }), "{e}");
    assert_eq!(at_line(&e), (7, 17));
    let e = op("interp untrack r0 r1");
    assert!(e.to_string().contains("end of line"), "{e}");
    assert_eq!(at_line(&e), (7, 19));
    let e = op("interp long-lived 1");
    assert!(
        e.to_string().contains("the pending of interp long-lived"),
        "{e}"
    );
    assert_eq!(at_line(&e), (7, 20));
    let e = op("interp set-count 1");
    assert!(
        e.to_string().contains("the value of interp set-count"),
        "{e}"
    );

    // `type` lines: a name and `gc` or `leaf`, in the header only, in version 2 only.
    let type_line = |line: &str| {
        err(
            format!("gclab-trace text 2\nworkload w\nseed 1\nregisters 4\n{line}\nend 0\n")
                .as_bytes(),
        )
    };
    let e = type_line("type Node maybe");
    assert!(e.to_string().contains("`gc` or `leaf`"), "{e}");
    assert_eq!(at_line(&e), (5, 11));
    let e = type_line("type Node");
    assert!(e.to_string().contains("end of line"), "{e}");
    assert_eq!(at_line(&e), (5, 10));
    let e = type_line("type");
    assert!(e.to_string().contains("a type name"), "{e}");
    assert_eq!(at_line(&e), (5, 5));
    let e = type_line("type \"unterminated gc");
    assert!(
        e.to_string().contains("the closing `\"` of a type name"),
        "{e}"
    );
    assert_eq!(at_line(&e), (5, 22));
    let e = type_line("type Node gc leaf");
    assert!(e.to_string().contains("end of line"), "{e}");
    assert_eq!(at_line(&e), (5, 14));
    let e = err(with("clear r0\ntype late gc\nend 1\n").as_bytes());
    assert!(e.to_string().contains("before the first op"), "{e}");
    assert_eq!(at_line(&e), (8, 1));
    let e = err(b"gclab-trace text 1\nworkload w\nseed 1\nregisters 4\ntype Node gc\nend 0\n");
    assert!(matches!(e, TraceError::Syntax { .. }), "{e}");
    assert!(e.to_string().contains("gclab-trace text 2"), "{e}");
    assert_eq!(at_line(&e), (5, 1));
    // The recorded ops themselves are not tied to the version (a typeless stream with
    // interpreter ops is written as version 1).
    let v1 =
        "gclab-trace text 1\nworkload w\nseed 1\nregisters 4\ninterp count 1\nnew r0 0 8\nend 2\n";
    assert_eq!(read(v1.as_bytes()).unwrap().1.len(), 2);
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

/// Compressed traces cut at every offset are refused: inside the zstd magic as truncated, after
/// it as a compressed trace cut short, with the ops read completely; never accepted.
#[test]
fn compressed_truncation_at_every_offset_is_an_error() {
    let (header, ops) = tiny_v2();
    for format in [TraceFormat::Binary, TraceFormat::Text] {
        let z = write_zstd(format, &header, &ops, CHUNK, 3);
        assert!(read(&z).is_ok());
        for cut in 0..z.len() {
            let e = err(&z[..cut]);
            let msg = e.to_string();
            match e {
                TraceError::Truncated { at, .. } if cut < 4 => {
                    assert_eq!(at, Position::Byte(cut as u64))
                }
                TraceError::CompressedTruncated { at, ops: n } if cut >= 4 => {
                    assert!(n <= ops.len() as u64, "{msg}");
                    assert!(
                        msg.contains(&format!("{n} ops were read completely")),
                        "{msg}"
                    );
                    assert!(msg.contains(&at.to_string()), "{msg}");
                    if format == TraceFormat::Binary {
                        assert!(matches!(at, Position::Decompressed(_)), "{msg}");
                        assert!(msg.contains("of the decompressed trace"), "{msg}");
                    }
                }
                _ => panic!("cut at {cut}: {msg}"),
            }
        }
    }
}

/// A plain trace, for finding where each op ends: the offsets in it after each op.
fn op_ends(header: &StreamHeader, ops: &[Op]) -> Vec<u64> {
    let head = write(TraceFormat::Binary, header, &[], 1).len() as u64 - 2;
    let mut at = head;
    ops.iter()
        .map(|op| {
            let one = write(TraceFormat::Binary, header, std::slice::from_ref(op), 1);
            at += one.len() as u64 - head - 2;
            at
        })
        .collect()
}

/// The decompressed bytes a truncated zstd stream yields before it fails.
fn decompressible_prefix(z: &[u8]) -> Vec<u8> {
    let mut d = zstd::stream::read::Decoder::new(z).unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match d.read(&mut buf) {
            Ok(0) | Err(_) => return out,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
}

/// A writer killed (dropped without `finish`) leaves a compressed file that reads as far as
/// zstd emitted it: every op before the last flush, as many as the decompressed bytes hold
/// completely, then a clear error at the end of those bytes saying how many ops were read.
#[test]
fn a_killed_compressed_writer_leaves_a_readable_prefix() {
    let header = sample_header();
    let ops = sample_ops(60_000);
    let ends = op_ends(&header, &ops);
    for (flush_at, kill_at) in [
        (0, 10),
        (20_000, 20_000),
        (25_000, 41_000),
        (59_000, 60_000),
    ] {
        let mut file = Vec::new();
        let mut w = TraceWriter::compressed(&mut file, TraceFormat::Binary, 3).unwrap();
        w.begin(&header).unwrap();
        for (i, c) in ops[..kill_at].chunks(1000).enumerate() {
            if i * 1000 == flush_at {
                w.flush().unwrap();
            }
            w.ops(c).unwrap();
        }
        if flush_at == kill_at {
            w.flush().unwrap();
        }
        drop(w); // killed: no end marker, no end of frame
        assert_eq!(file[..4], ZSTD_MAGIC);
        let prefix = decompressible_prefix(&file);
        let complete = ends
            .iter()
            .take_while(|&&e| e <= prefix.len() as u64)
            .count();
        assert!(complete >= flush_at, "{complete} < {flush_at}");

        let mut r = TraceReader::open(&file[..]).unwrap();
        let mut sink = VecSink::default();
        let e = r.feed(&mut sink).unwrap_err();
        let msg = e.to_string();
        assert!(
            matches!(e, TraceError::CompressedTruncated { ops: n, at } if n == complete as u64 && at == Position::Decompressed(prefix.len() as u64)),
            "flush {flush_at}, kill {kill_at}: {msg} ({} bytes decompress, {complete} ops)",
            prefix.len()
        );
        assert!(
            msg.contains(&format!("{complete} ops were read completely")),
            "{msg}"
        );
        assert_eq!(sink.ops, ops[..complete]);
    }
}

/// A compressed file read through `open_file` (decompressed ahead in a thread of its own) fails
/// exactly as the same bytes read in the reader's thread: cut short by a killed writer, with a
/// bad checksum, with a failing read; and a reader dropped half-way stops its thread.
#[test]
fn compressed_files_fail_the_same_when_decompressed_ahead() {
    let dir = std::env::temp_dir().join(format!("gclab-trace-ahead-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let header = sample_header();
    let ops = sample_ops(200_000);
    let z = write_zstd(TraceFormat::Binary, &header, &ops, CHUNK, 3);
    let in_memory = |bytes: &[u8]| -> Result<(u64, usize), String> {
        let mut r = TraceReader::open(bytes).map_err(|e| e.to_string())?;
        let mut sink = VecSink::default();
        let n = r.feed(&mut sink).map_err(|e| e.to_string())?;
        Ok((n, sink.ops.len()))
    };
    let from_file = |bytes: &[u8]| -> Result<(u64, usize), String> {
        let path = dir.join("t.gclt.zst");
        std::fs::write(&path, bytes).unwrap();
        let mut r = gclab_core::trace::open_file(&path).map_err(|e| e.to_string())?;
        assert!(r.is_compressed());
        let mut sink = VecSink::default();
        let n = r.feed(&mut sink).map_err(|e| e.to_string())?;
        Ok((n, sink.ops.len()))
    };
    let mut bad_sum = z.clone();
    let n = bad_sum.len();
    bad_sum[n - 1] ^= 1;
    let mut bad_block = z.clone();
    bad_block[n / 3] ^= 0x10;
    for bytes in [&z[..], &z[..n / 2], &z[..n - 1], &z[..5]] {
        let want = in_memory(bytes);
        assert_eq!(from_file(bytes), want);
    }
    // Corrupt data: zstd drops what it decompressed in the call that found the corruption, so
    // how far the reader got depends on how much it asked for at a time (at most one zstd
    // block): the error is the same, not its position.
    for e in [in_memory(&bad_sum), from_file(&bad_sum)] {
        let e = e.unwrap_err();
        assert!(e.contains("corrupt compressed trace"), "{e}");
        assert!(e.contains("checksum"), "{e}");
    }
    assert!(in_memory(&bad_block).is_err());
    assert!(from_file(&bad_block).is_err());
    assert_eq!(from_file(&z), Ok((ops.len() as u64, ops.len())));
    assert!(from_file(&z[..n / 2])
        .unwrap_err()
        .contains("ops were read completely"));
    // Dropped half-way, and opened and dropped unread: the thread ends (or the test would
    // leave it blocked; nothing hangs).
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
    let path = dir.join("t.gclt.zst");
    std::fs::write(&path, &z).unwrap();
    for _ in 0..20 {
        let mut r = gclab_core::trace::open_file(&path).unwrap();
        assert!(matches!(
            r.feed(&mut StopAfter(1000)),
            Err(TraceError::Stopped(_))
        ));
        drop(r);
        drop(gclab_core::trace::open_file(&path).unwrap());
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Corrupt zstd data is refused with its own error (zstd's message, the position in the
/// decompressed bytes, the ops read); other failures inside a compressed trace keep their kind,
/// positioned in the decompressed bytes.
#[test]
fn corrupt_compressed_traces_are_refused() {
    let header = sample_header();
    let ops = sample_ops(30_000);
    let plain = write(TraceFormat::Binary, &header, &ops, CHUNK);
    let z = write_zstd(TraceFormat::Binary, &header, &ops, CHUNK, 3);
    let n = z.len();
    let all = ops.len() as u64;
    let end = Position::Decompressed(plain.len() as u64);

    // The frame's checksum (its last 4 bytes) does not match: found at the end of the frame
    // (zstd hands over none of the bytes it decompressed in the call that found it, so the
    // reader may be up to a block short of the end).
    let mut v = z.clone();
    v[n - 1] ^= 0x40;
    let e = err(&v);
    assert!(
        matches!(e, TraceError::CompressedCorrupt { ops, at: Position::Decompressed(off), .. }
            if ops <= all && off <= plain.len() as u64 && off + (128 << 10) >= plain.len() as u64),
        "{e}"
    );
    assert!(e.to_string().contains("checksum"), "{e}");
    // Bytes after the frame that are no zstd frame.
    let mut v = z.clone();
    v.extend_from_slice(b"trailing bytes");
    let e = err(&v);
    assert!(
        matches!(e, TraceError::CompressedCorrupt { ops, at, .. } if ops == all && at == end),
        "{e}"
    );
    // A second frame whose content follows the end marker: trailing garbage of the trace.
    let mut v = z.clone();
    v.extend(zstd::encode_all(&b"x"[..], 1).unwrap());
    let e = err(&v);
    assert!(
        matches!(e, TraceError::TrailingGarbage { at } if at == end),
        "{e}"
    );
    assert!(e.to_string().contains("of the decompressed trace"), "{e}");
    // Any damage inside the frame is refused (by zstd, or by the trace decoder first), with a
    // position.
    for at in (4..n).step_by(n / 97) {
        let mut v = z.clone();
        v[at] ^= 0x21;
        let e = err(&v);
        assert!(e.position().is_some(), "{e}");
        if !matches!(
            e,
            TraceError::CompressedCorrupt { .. } | TraceError::CompressedTruncated { .. }
        ) {
            assert!(
                matches!(e.position(), Some(Position::Decompressed(_))),
                "{e}"
            );
        }
    }
    // Something compressed that is not a trace.
    let e = err(&zstd::encode_all(&b"PK\x03\x04 not a trace"[..], 3).unwrap());
    assert!(
        matches!(
            e,
            TraceError::BadMagic {
                at: Position::Decompressed(0),
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("50 4b 03 04"), "{e}");
    let e = err(&zstd::encode_all(&b""[..], 3).unwrap());
    assert!(
        matches!(
            e,
            TraceError::Truncated {
                at: Position::Decompressed(0),
                ..
            }
        ),
        "{e}"
    );
    // A frame needing a window beyond the readers' bound (`zstd --long`).
    let mut enc = zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
    enc.set_parameter(zstd::zstd_safe::CParameter::WindowLog(27))
        .unwrap();
    enc.write_all(&plain).unwrap();
    let e = err(&enc.finish().unwrap());
    assert!(
        matches!(e, TraceError::CompressedCorrupt { ops: 0, .. }),
        "{e}"
    );
    assert!(e.to_string().contains("8 MiB"), "{e}");
    // A decoding error in a compressed trace keeps its kind, in the decompressed bytes.
    let (th, tops) = tiny();
    let mut bad = write(TraceFormat::Binary, &th, &tops, CHUNK);
    bad[TINY_OPS] = 0x42;
    let e = err(&zstd::encode_all(&bad[..], 3).unwrap());
    assert!(
        matches!(e, TraceError::UnknownOpcode { at: Position::Decompressed(off), .. } if off == TINY_OPS as u64),
        "{e}"
    );
    assert!(
        e.to_string()
            .contains(&format!("byte offset {TINY_OPS} of the decompressed trace")),
        "{e}"
    );
    // ... and in compressed text, its line and column.
    let text = "gclab-trace text 1\nworkload w\nseed 1\nregisters 4\nclear r0 r1\nend 1\n";
    let e = err(&zstd::encode_all(text.as_bytes(), 3).unwrap());
    assert_eq!(at_line(&e), (5, 10));
}

/// An I/O error of the compressed file itself is an I/O error (not corrupt zstd data), at the
/// offset in the decompressed bytes where the reader was.
#[test]
fn io_errors_in_compressed_traces_stay_io_errors() {
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
    let z = write_zstd(
        TraceFormat::Binary,
        &sample_header(),
        &sample_ops(20_000),
        CHUNK,
        3,
    );
    for cut in [4, 30, z.len() / 2, z.len()] {
        let e = match TraceReader::open(Failing(&z[..cut])) {
            Err(e) => e,
            Ok(mut r) => r.feed(&mut VecSink::default()).unwrap_err(),
        };
        assert!(matches!(e, TraceError::Io { .. }), "cut {cut}: {e}");
        assert!(e.to_string().contains("disk on fire"), "{e}");
        assert!(
            matches!(e.position(), Some(Position::Decompressed(_))),
            "{e}"
        );
    }
}

#[test]
fn writer_refuses_what_readers_would_refuse() {
    for level in [0, -1, 20, 22] {
        let e = TraceWriter::compressed(Vec::new(), TraceFormat::Binary, level)
            .err()
            .expect("level refused");
        assert!(matches!(e, TraceError::Unwritable(_)), "{e}");
        assert!(e.to_string().contains("1..=19"), "{e}");
    }
    for bad in [
        Op::Interp(InterpOp::Track {
            reg: 0,
            generation: 4,
        }),
        Op::Interp(InterpOp::SetCount {
            generation: 3,
            value: 0,
        }),
    ] {
        for format in [TraceFormat::Binary, TraceFormat::Text] {
            let mut w = TraceWriter::new(Vec::new(), format);
            w.begin(&tiny_v2().0).unwrap();
            let stop = w.ops(&[Op::SafePoint, bad]).unwrap_err();
            assert!(stop.to_string().contains("generation"), "{stop}");
            assert!(matches!(w.finish(), Err(TraceError::Unwritable(_))));
        }
    }
    let types = |n: usize, name: &str| StreamHeader {
        types: vec![
            TypeInfo {
                name: name.into(),
                gc: true
            };
            n
        ],
        ..Default::default()
    };
    let mut w = TraceWriter::new(Vec::new(), TraceFormat::Binary);
    assert!(w.begin(&types(MAX_TYPES as usize + 1, "t")).is_err());
    let mut w = TraceWriter::new(Vec::new(), TraceFormat::Binary);
    assert!(w
        .begin(&types(1, &"x".repeat(MAX_STRING_BYTES as usize + 1)))
        .is_err());
    // A compressed writer whose disk fills reports it at an offset of the decompressed trace.
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
    let mut w = TraceWriter::compressed(Full(1000), TraceFormat::Binary, 1).unwrap();
    w.begin(&sample_header()).unwrap();
    let ops = sample_ops(200_000);
    let failed = ops.chunks(CHUNK).map(|c| w.ops(c)).find_map(Result::err);
    let e = match failed {
        Some(stop) => {
            assert!(
                stop.to_string().contains("of the decompressed trace"),
                "{stop}"
            );
            w.finish().err().expect("finish reports the failure")
        }
        None => w
            .finish()
            .err()
            .expect("the disk fills up at the latest in finish"),
    };
    assert!(matches!(e, TraceError::Io { .. }), "{e}");
    assert!(
        matches!(e.position(), Some(Position::Decompressed(_))),
        "{e}"
    );
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
    fn arbitrary_bytes_after_zstd_magic_never_panic(
        bytes in prop::collection::vec(any::<u8>(), 0..512),
    ) {
        let mut v = ZSTD_MAGIC.to_vec();
        v.extend_from_slice(&bytes);
        read_anything(&v)?;
    }

    #[test]
    fn corrupted_compressed_traces_never_panic(
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        cut in any::<prop::sample::Index>(),
        text in any::<bool>(),
    ) {
        let format = if text { TraceFormat::Text } else { TraceFormat::Binary };
        let mut v = write_zstd(format, &sample_header(), &sample_ops(300), CHUNK, 3);
        for (i, b) in edits {
            let i = i.index(v.len());
            v[i] = b;
        }
        let keep = cut.index(v.len() + 1);
        read_anything(&v)?;
        read_anything(&v[..keep])?;
    }

    #[test]
    fn arbitrary_text_lines_never_panic(
        lines in prop::collection::vec(
            prop_oneof![
                any::<String>(),
                "(alloc|store|append|load|copy|clear|event|probe|safepoint|gc|end|name|param|seed|workload|registers|new|interp|type)( [-r0-9a-z\"\\\\={}]{0,6}){0,4}",
                "interp (count|track|untrack|set-count|long-lived)( -?r?[0-9]{1,11}){0,3}",
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
        let mut text = String::from("gclab-trace text 2\nworkload w\nseed 1\nregisters 2\n");
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
