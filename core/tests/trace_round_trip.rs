//! Trace files: round trips in both formats (with conversion between them, short reads, files
//! and arbitrary streams), and the exact binary encoding of the format's worked example.

mod common;

use common::{read, sample_header, sample_ops, tiny, write, VecSink};
use gclab_core::kind::ALL_KINDS;
use gclab_core::trace::{
    open_file, TraceError, TraceFormat, TraceReader, TraceWriter, MAX_REGISTERS,
};
use gclab_core::workload::{OpSink, CHUNK};
use gclab_core::{GcOp, Kind, Op, StreamHeader};
use proptest::prelude::*;
use std::io::{self, Read};

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
            types: Vec::new(),
        })
}

proptest! {
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
