//! Trace files: round trips, the exact encodings, and rejection of every kind of bad input.

use gclab_core::kind::ALL_KINDS;
use gclab_core::trace::{
    open_file, Position, TraceError, TraceFormat, TraceReader, TraceWriter, MAX_NAMES,
    MAX_REGISTERS, MAX_STRING_BYTES,
};
use gclab_core::workload::{OpSink, Stop, CHUNK};
use gclab_core::{GcOp, Kind, Op, StreamHeader};
use proptest::prelude::*;
use std::io::{self, Read, Write};

/// Collects everything it is fed.
#[derive(Default)]
struct VecSink {
    header: Option<StreamHeader>,
    ops: Vec<Op>,
    chunks: Vec<usize>,
}

impl OpSink for VecSink {
    fn begin(&mut self, header: &StreamHeader) -> Result<(), Stop> {
        assert!(self.header.is_none(), "begin called twice");
        self.header = Some(header.clone());
        Ok(())
    }
    fn ops(&mut self, ops: &[Op]) -> Result<(), Stop> {
        self.chunks.push(ops.len());
        self.ops.extend_from_slice(ops);
        Ok(())
    }
}

fn sample_header() -> StreamHeader {
    StreamHeader {
        workload: "cycles".into(),
        params: vec![
            ("n".into(), "1000".into()),
            ("ratio".into(), "0.25".into()),
            ("with space".into(), "a b".into()),
            ("k=v".into(), "x=y".into()),
            ("empty".into(), "".into()),
            (
                "quote\"back\\slash".into(),
                "line\nbreak\r\ttab\0nul".into(),
            ),
            ("unicode".into(), "héllo \u{2028} wörld 🦀".into()),
        ],
        seed: u64::MAX - 7,
        registers: 40,
        names: vec![
            "request_end".into(),
            "fork".into(),
            "".into(),
            "two words".into(),
            "#not a comment".into(),
            "\u{7f}\u{1}\u{85}".into(),
        ],
    }
}

/// Every op and gc op, with edge values, in a deterministic order.
fn sample_ops(n: usize) -> Vec<Op> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let edge = [0u32, 1, 127, 128, 16_383, 16_384, u32::MAX - 1, u32::MAX];
    let signed = [0i32, -1, 1, -2, 63, -64, 64, 700, i32::MIN, i32::MAX];
    (0..n)
        .map(|i| {
            let r = next();
            let a = if r & 0x100 != 0 {
                edge[(r >> 9) as usize % edge.len()]
            } else {
                (r >> 20) as u32 % 40
            };
            let b = (r >> 40) as u32 % 1000;
            let s = signed[(r >> 50) as usize % signed.len()];
            match i % 15 {
                0 => Op::Alloc {
                    dst: a,
                    kind: ALL_KINDS[(r >> 3) as usize % ALL_KINDS.len()],
                    len: b,
                },
                1 => Op::Store {
                    obj: a,
                    slot: b,
                    src: a / 2,
                },
                2 => Op::Append { list: b, src: a },
                3 => Op::Load {
                    dst: a,
                    obj: b,
                    slot: a ^ b,
                },
                4 => Op::Copy { dst: b, src: a },
                5 => Op::Clear { dst: a },
                6 => Op::Event { id: a },
                7 => Op::Probe { reg: b, label: a },
                8 => Op::SafePoint,
                9 => Op::Gc(GcOp::Collect { generation: s }),
                10 => Op::Gc(GcOp::Freeze),
                11 => Op::Gc(GcOp::Unfreeze),
                12 => Op::Gc(GcOp::Enable),
                13 => Op::Gc(GcOp::Disable),
                _ => Op::Gc(GcOp::SetThreshold {
                    t0: s,
                    t1: -s.wrapping_add(3),
                    t2: (r as i32),
                }),
            }
        })
        .collect()
}

fn write(format: TraceFormat, header: &StreamHeader, ops: &[Op], chunk: usize) -> Vec<u8> {
    let mut w = TraceWriter::new(Vec::new(), format);
    w.begin(header).unwrap();
    for c in ops.chunks(chunk.max(1)) {
        w.ops(c).unwrap();
    }
    assert_eq!(w.ops_written(), ops.len() as u64);
    w.finish().unwrap()
}

fn read(bytes: &[u8]) -> Result<(StreamHeader, Vec<Op>), TraceError> {
    let mut r = TraceReader::open(bytes)?;
    let mut sink = VecSink::default();
    let n = r.feed(&mut sink)?;
    assert_eq!(n, sink.ops.len() as u64);
    assert!(sink.chunks.iter().all(|&c| c > 0 && c <= CHUNK));
    let header = sink.header.expect("begin was called");
    assert_eq!(&header, r.header());
    Ok((header, sink.ops))
}

fn check_round_trip(format: TraceFormat) {
    let header = sample_header();
    let ops = sample_ops(5000);
    let kinds: std::collections::HashSet<_> = ops
        .iter()
        .filter_map(|op| match op {
            Op::Alloc { kind, .. } => Some(*kind),
            _ => None,
        })
        .collect();
    assert_eq!(kinds.len(), ALL_KINDS.len(), "sample covers every kind");
    assert!(ops.contains(&Op::Gc(GcOp::Collect { generation: -1 })));
    for chunk in [1, 700, CHUNK, 100_000] {
        let bytes = write(format, &header, &ops, chunk);
        let mut r = TraceReader::open(&bytes[..]).unwrap();
        assert_eq!(r.format(), format);
        let mut sink = VecSink::default();
        assert_eq!(r.feed(&mut sink).unwrap(), ops.len() as u64);
        // The reader hands over each op as it decodes it (`OpSink::op`, whose default passes
        // it on as a chunk of one), whatever the chunks it was written in.
        assert_eq!(sink.chunks.len(), ops.len());
        assert!(sink.chunks.iter().all(|&c| c == 1));
        let (h, got) = read(&bytes).unwrap();
        assert_eq!(h, header);
        assert_eq!(got, ops);
    }
}

#[test]
fn round_trip_binary() {
    check_round_trip(TraceFormat::Binary);
}

#[test]
fn round_trip_text() {
    check_round_trip(TraceFormat::Text);
}

#[test]
fn empty_streams_round_trip() {
    for format in [TraceFormat::Binary, TraceFormat::Text] {
        let header = StreamHeader::default();
        let bytes = write(format, &header, &[], 1);
        assert_eq!(read(&bytes).unwrap(), (header, vec![]));
    }
}

#[test]
fn binary_to_text_to_binary() {
    let header = sample_header();
    let ops = sample_ops(3000);
    let bin = write(TraceFormat::Binary, &header, &ops, CHUNK);
    let mut r = TraceReader::open(&bin[..]).unwrap();
    let mut tw = TraceWriter::new(Vec::new(), TraceFormat::Text);
    r.feed(&mut tw).unwrap();
    let text = tw.finish().unwrap();
    let mut r = TraceReader::open(&text[..]).unwrap();
    let mut bw = TraceWriter::new(Vec::new(), TraceFormat::Binary);
    r.feed(&mut bw).unwrap();
    assert_eq!(bw.finish().unwrap(), bin);
}

fn tiny() -> (StreamHeader, Vec<Op>) {
    let header = StreamHeader {
        workload: "demo".into(),
        params: vec![("n".into(), "2".into())],
        seed: 42,
        registers: 2,
        names: vec!["request_end".into()],
    };
    let ops = vec![
        Op::Alloc {
            dst: 0,
            kind: Kind::List,
            len: 3,
        },
        Op::Alloc {
            dst: 1,
            kind: Kind::Int,
            len: 1,
        },
        Op::Append { list: 0, src: 1 },
        Op::Store {
            obj: 0,
            slot: 200,
            src: 1,
        },
        Op::Event { id: 0 },
        Op::Gc(GcOp::Collect { generation: -1 }),
        Op::Gc(GcOp::SetThreshold {
            t0: 700,
            t1: -10,
            t2: 10,
        }),
        Op::Clear { dst: 0 },
    ];
    (header, ops)
}

/// The worked example of `docs/trace-format.md`, byte for byte.
#[test]
fn binary_encoding_is_exact() {
    let (header, ops) = tiny();
    let bytes = write(TraceFormat::Binary, &header, &ops, CHUNK);
    #[rustfmt::skip]
    let want: Vec<u8> = [
        &b"GCLT"[..], &[0x01, 0x00],                 // magic, version 1
        &[0x04], b"demo",                            // workload
        &[0x2a],                                     // seed 42
        &[0x02],                                     // registers 2
        &[0x01, 0x01], b"n", &[0x01], b"2",          // 1 param: n=2
        &[0x01, 0x0b], b"request_end",               // 1 name
        &[0x01, 0x00, 0x05, 0x03],                   // alloc r0 list 3
        &[0x01, 0x01, 0x00, 0x01],                   // alloc r1 int 1
        &[0x03, 0x00, 0x01],                         // append r0 r1
        &[0x02, 0x00, 0xc8, 0x01, 0x01],             // store r0 200 r1
        &[0x07, 0x00],                               // event 0
        &[0x10, 0x01],                               // gc collect -1
        &[0x15, 0xf8, 0x0a, 0x13, 0x14],             // gc threshold 700 -10 10
        &[0x06, 0x00],                               // clear r0
        &[0xff, 0x08],                               // end, 8 ops
    ]
    .concat();
    assert_eq!(bytes, want);
}

#[test]
fn text_encoding_is_exact() {
    let (header, ops) = tiny();
    let bytes = write(TraceFormat::Text, &header, &ops, CHUNK);
    let want = "gclab-trace text 1
workload demo
seed 42
registers 2
param n=2
name request_end
alloc r0 list 3
alloc r1 int 1
append r0 r1
store r0 200 r1
event 0
gc collect -1
gc threshold 700 -10 10
clear r0
end 8
";
    assert_eq!(String::from_utf8(bytes).unwrap(), want);
}

#[test]
fn text_quoting() {
    let header = StreamHeader {
        workload: "a b".into(),
        params: vec![("k=1".into(), "v=1".into()), ("".into(), "".into())],
        seed: 0,
        registers: 0,
        names: vec!["q\"\\\n\u{1}\u{2028}é".into(), "plain".into()],
    };
    let text = String::from_utf8(write(TraceFormat::Text, &header, &[], 1)).unwrap();
    assert_eq!(
        text,
        "gclab-trace text 1\nworkload \"a b\"\nseed 0\nregisters 0\nparam \"k=1\"=v=1\n\
         param \"\"=\"\"\nname \"q\\\"\\\\\\n\\u{1}\\u{2028}é\"\nname plain\nend 0\n"
    );
    assert_eq!(read(text.as_bytes()).unwrap().0, header);
}

#[test]
fn hand_written_text() {
    let text = "gclab-trace text 1\r\n\
        # a comment\n\
        \n\
        registers 3\n\
        \tseed   7  \n\
        workload \"hand made\"\n\
        param key=\"quoted value\"\n\
        param \"k 2\"=plain\n\
        name \"\\u{48}i\\t\\0\"\n\
        name two\n\
        alloc r2 dict 0\n\
        \x20 # indented comment between ops\n\
        load r1 r2 0\n\
        copy r0 r1\n\
        probe r0 1\n\
        safepoint\n\
        gc freeze\n\
        gc unfreeze\n\
        gc enable\n\
        gc disable\n\
        end 9\n\
        \n\
        # trailing comment\n";
    let (h, ops) = read(text.as_bytes()).unwrap();
    assert_eq!(
        h,
        StreamHeader {
            workload: "hand made".into(),
            params: vec![
                ("key".into(), "quoted value".into()),
                ("k 2".into(), "plain".into())
            ],
            seed: 7,
            registers: 3,
            names: vec!["Hi\t\0".into(), "two".into()],
        }
    );
    assert_eq!(
        ops,
        vec![
            Op::Alloc {
                dst: 2,
                kind: Kind::Dict,
                len: 0
            },
            Op::Load {
                dst: 1,
                obj: 2,
                slot: 0
            },
            Op::Copy { dst: 0, src: 1 },
            Op::Probe { reg: 0, label: 1 },
            Op::SafePoint,
            Op::Gc(GcOp::Freeze),
            Op::Gc(GcOp::Unfreeze),
            Op::Gc(GcOp::Enable),
            Op::Gc(GcOp::Disable),
        ]
    );
    // No newline after the end line is fine too.
    let short = "gclab-trace text 1\nworkload w\nseed 1\nregisters 1\nend 0";
    assert!(read(short.as_bytes()).is_ok());
}

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

    let e = err(&patched(4, &[2, 0]));
    assert!(
        matches!(e, TraceError::UnsupportedVersion { version: 2, .. }),
        "{e}"
    );
    assert_eq!(at_byte(&e), 4);

    let e = err(&patched(TINY_OPS, &[0x42]));
    assert!(matches!(e, TraceError::UnknownOpcode { .. }), "{e}");
    assert_eq!(at_byte(&e), TINY_OPS as u64);
    assert!(e.to_string().contains("0x42"), "{e}");

    let e = err(&patched(TINY_OPS + 2, &[8]));
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

    let e = err(b"gclab-trace text 2\n");
    assert!(
        matches!(e, TraceError::UnsupportedVersion { version: 2, .. }),
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

/// A reader returning one byte at a time, interrupted every other call.
struct Trickle<'a> {
    data: &'a [u8],
    interrupt: bool,
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.interrupt = !self.interrupt;
        if self.interrupt {
            return Err(io::ErrorKind::Interrupted.into());
        }
        match (self.data.split_first(), buf.first_mut()) {
            (Some((&b, rest)), Some(out)) => {
                *out = b;
                self.data = rest;
                Ok(1)
            }
            _ => Ok(0),
        }
    }
}

#[test]
fn short_and_interrupted_reads() {
    let header = sample_header();
    let ops = sample_ops(2000);
    for format in [TraceFormat::Binary, TraceFormat::Text] {
        let bytes = write(format, &header, &ops, CHUNK);
        let mut r = TraceReader::open(Trickle {
            data: &bytes,
            interrupt: false,
        })
        .unwrap();
        let mut sink = VecSink::default();
        r.feed(&mut sink).unwrap();
        assert_eq!(sink.ops, ops);
    }
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

#[test]
fn files() {
    let dir = std::env::temp_dir().join(format!("gclab-trace-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("t.gclt");
    let (header, ops) = tiny();
    let file = std::fs::File::create(&path).unwrap();
    let mut w = TraceWriter::new(io::BufWriter::new(file), TraceFormat::Binary);
    w.begin(&header).unwrap();
    w.ops(&ops).unwrap();
    w.finish().unwrap();
    let mut r = open_file(&path).unwrap();
    assert_eq!(r.header(), &header);
    let mut sink = VecSink::default();
    assert_eq!(r.feed(&mut sink).unwrap(), ops.len() as u64);
    assert_eq!(sink.ops, ops);

    let missing = dir.join("missing.gclt");
    let e = open_file(&missing).err().expect("no such file");
    assert!(matches!(e, TraceError::File { .. }), "{e}");
    assert!(e.to_string().contains("missing.gclt"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

// ------------------------------------------------------------------------------------------------
// Properties

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

fn arb_op() -> impl Strategy<Value = Op> {
    let kind = (0u8..8).prop_map(|c| Kind::from_code(c).unwrap());
    prop_oneof![
        (any::<u32>(), kind, any::<u32>()).prop_map(|(dst, kind, len)| Op::Alloc {
            dst,
            kind,
            len
        }),
        (any::<u32>(), any::<u32>(), any::<u32>()).prop_map(|(obj, slot, src)| Op::Store {
            obj,
            slot,
            src
        }),
        (any::<u32>(), any::<u32>()).prop_map(|(list, src)| Op::Append { list, src }),
        (any::<u32>(), any::<u32>(), any::<u32>()).prop_map(|(dst, obj, slot)| Op::Load {
            dst,
            obj,
            slot
        }),
        (any::<u32>(), any::<u32>()).prop_map(|(dst, src)| Op::Copy { dst, src }),
        any::<u32>().prop_map(|dst| Op::Clear { dst }),
        any::<u32>().prop_map(|id| Op::Event { id }),
        (any::<u32>(), any::<u32>()).prop_map(|(reg, label)| Op::Probe { reg, label }),
        Just(Op::SafePoint),
        any::<i32>().prop_map(|generation| Op::Gc(GcOp::Collect { generation })),
        Just(Op::Gc(GcOp::Freeze)),
        Just(Op::Gc(GcOp::Unfreeze)),
        Just(Op::Gc(GcOp::Enable)),
        Just(Op::Gc(GcOp::Disable)),
        (any::<i32>(), any::<i32>(), any::<i32>())
            .prop_map(|(t0, t1, t2)| Op::Gc(GcOp::SetThreshold { t0, t1, t2 })),
    ]
}

fn arb_header() -> impl Strategy<Value = StreamHeader> {
    (
        ".{0,12}",
        prop::collection::vec((".{0,8}", ".{0,8}"), 0..4),
        any::<u64>(),
        0..=MAX_REGISTERS,
        prop::collection::vec(any::<String>(), 0..6),
    )
        .prop_map(|(workload, params, seed, registers, names)| StreamHeader {
            workload,
            params,
            seed,
            registers,
            names,
        })
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

    #[test]
    fn round_trips_arbitrary_streams(
        header in arb_header(),
        ops in prop::collection::vec(arb_op(), 0..64),
    ) {
        for format in [TraceFormat::Binary, TraceFormat::Text] {
            let bytes = write(format, &header, &ops, 5);
            let (h, got) = read(&bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(&h, &header);
            prop_assert_eq!(&got, &ops);
        }
    }
}

/// The examples in `docs/trace-format.md` stay valid: the text example parses to the tiny
/// stream (plus one parameter) and the hex dump is the tiny stream's binary encoding.
#[test]
fn spec_examples_are_valid() {
    let doc = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/trace-format.md"),
    )
    .unwrap();
    let (mut header, ops) = tiny();
    let text_start = doc.find("```\ngclab-trace text 1\n").expect("text example") + 4;
    let text_len = doc[text_start..].find("```").unwrap();
    let (h, got) = read(&doc.as_bytes()[text_start..text_start + text_len]).unwrap();
    header
        .params
        .push(("label with spaces".into(), "a \"quoted\" value".into()));
    assert_eq!((h, got), (header, ops.clone()));

    let dump_start = doc.find("```\n00000000").expect("hex dump") + 4;
    let dump_len = doc[dump_start..].find("```").unwrap();
    let bytes: Vec<u8> = doc[dump_start..dump_start + dump_len]
        .lines()
        .flat_map(|l| l[10..58].split_whitespace())
        .map(|h| u8::from_str_radix(h, 16).unwrap())
        .collect();
    assert_eq!(bytes, write(TraceFormat::Binary, &tiny().0, &ops, CHUNK));
}
