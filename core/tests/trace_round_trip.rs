//! Trace files: round trips in both formats, plain and zstd-compressed (with conversion between
//! them, short reads, files and arbitrary streams, recorded ops and type tables included), the
//! exact binary encoding of the format's worked examples, and version-1 files.

mod common;

use common::{read, sample_header, sample_ops, tiny, tiny_v2, write, write_zstd, VecSink};
use gclab_core::kind::ALL_KINDS;
use gclab_core::trace::{
    open_file, TraceError, TraceFormat, TraceReader, TraceWriter, DEFAULT_ZSTD_LEVEL,
    MAX_COUNT_GENERATION, MAX_REGISTERS, MAX_TRACK_GENERATION, ZSTD_MAGIC,
};
use gclab_core::workload::{OpSink, CHUNK};
use gclab_core::{GcOp, InterpOp, Kind, Op, StreamHeader, TypeInfo};
use proptest::prelude::*;
use std::io::{self, Read};

/// The sample covers every kind, every op and every interpreter op.
#[test]
fn the_sample_covers_every_op() {
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
    let has = |f: fn(&Op) -> bool| ops.iter().any(f);
    assert!(has(|op| matches!(op, Op::New { .. })));
    assert!(has(
        |op| matches!(op, Op::Interp(InterpOp::Count { delta }) if *delta < 0)
    ));
    assert!(has(|op| matches!(
        op,
        Op::Interp(InterpOp::Track { generation: 3, .. })
    )));
    assert!(has(|op| matches!(op, Op::Interp(InterpOp::Untrack { .. }))));
    assert!(has(|op| matches!(
        op,
        Op::Interp(InterpOp::SetCount { generation: 2, .. })
    )));
    assert!(has(|op| matches!(
        op,
        Op::Interp(InterpOp::LongLived {
            pending: u32::MAX,
            ..
        })
    )));
    assert!(!sample_header().types.is_empty());
}

/// Writes the sample in `format` (compressed at `level`, or plain), in chunks of several sizes,
/// and reads it back.
fn check_round_trip(format: TraceFormat, level: Option<i32>) {
    let header = sample_header();
    let ops = sample_ops(5000);
    for chunk in [1, 700, CHUNK, 100_000] {
        let bytes = match level {
            Some(level) => write_zstd(format, &header, &ops, chunk, level),
            None => write(format, &header, &ops, chunk),
        };
        let mut r = TraceReader::open(&bytes[..]).unwrap();
        assert_eq!(r.format(), format);
        assert_eq!(r.is_compressed(), level.is_some());
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
    check_round_trip(TraceFormat::Binary, None);
}

#[test]
fn round_trip_text() {
    check_round_trip(TraceFormat::Text, None);
}

#[test]
fn round_trip_compressed_binary() {
    check_round_trip(TraceFormat::Binary, Some(DEFAULT_ZSTD_LEVEL));
    check_round_trip(TraceFormat::Binary, Some(19));
}

#[test]
fn round_trip_compressed_text() {
    check_round_trip(TraceFormat::Text, Some(1));
}

#[test]
fn empty_streams_round_trip() {
    for format in [TraceFormat::Binary, TraceFormat::Text] {
        let header = StreamHeader::default();
        let bytes = write(format, &header, &[], 1);
        assert_eq!(read(&bytes).unwrap(), (header.clone(), vec![]));
        let bytes = write_zstd(format, &header, &[], 1, 1);
        assert_eq!(read(&bytes).unwrap(), (header, vec![]));
    }
}

/// A compressed trace is one zstd frame whose content is, byte for byte, the plain trace (so
/// `zstd -d` turns one into the other), and a plain trace compressed by any zstd encoder reads.
#[test]
fn compression_is_transparent() {
    let header = sample_header();
    let ops = sample_ops(20_000);
    for format in [TraceFormat::Binary, TraceFormat::Text] {
        let plain = write(format, &header, &ops, CHUNK);
        for level in [1, DEFAULT_ZSTD_LEVEL, 9] {
            let zst = write_zstd(format, &header, &ops, 777, level);
            assert_eq!(zst[..4], ZSTD_MAGIC);
            // The sample is mostly random operands: it compresses, but not much.
            assert!(zst.len() < plain.len(), "{} vs {}", zst.len(), plain.len());
            assert_eq!(zstd::decode_all(&zst[..]).unwrap(), plain);
        }
        // Compressed elsewhere, without a checksum, and in two frames.
        let other = zstd::encode_all(&plain[..], 5).unwrap();
        assert_eq!(read(&other).unwrap(), (header.clone(), ops.clone()));
        let half = plain.len() / 2;
        let mut two = zstd::encode_all(&plain[..half], 1).unwrap();
        two.extend(zstd::encode_all(&plain[half..], 1).unwrap());
        assert_eq!(read(&two).unwrap(), (header.clone(), ops.clone()));
    }
}

#[test]
fn binary_to_text_to_binary() {
    for header in [sample_header(), tiny().0] {
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
}

/// Converting a plain trace into a compressed one (and back) through a reader and a writer.
#[test]
fn plain_to_compressed_to_plain() {
    let header = sample_header();
    let ops = sample_ops(3000);
    let bin = write(TraceFormat::Binary, &header, &ops, CHUNK);
    let mut r = TraceReader::open(&bin[..]).unwrap();
    let mut zw = TraceWriter::compressed(Vec::new(), TraceFormat::Text, 2).unwrap();
    r.feed(&mut zw).unwrap();
    let zst = zw.finish().unwrap();
    let mut r = TraceReader::open(&zst[..]).unwrap();
    assert_eq!((r.format(), r.is_compressed()), (TraceFormat::Text, true));
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

/// The version-2 worked example of `docs/trace-format.md`, byte for byte: a type table at the
/// end of the header, `new` and the `interp` ops.
#[test]
fn binary_encoding_of_version_2_is_exact() {
    let (header, ops) = tiny_v2();
    let bytes = write(TraceFormat::Binary, &header, &ops, CHUNK);
    #[rustfmt::skip]
    let want: Vec<u8> = [
        &b"GCLT"[..], &[0x02, 0x00],                 // magic, version 2
        &[0x03], b"rec",                             // workload
        &[0x00],                                     // seed 0
        &[0x02],                                     // registers 2
        &[0x00],                                     // no params
        &[0x00],                                     // no names
        &[0x02],                                     // 2 types:
        &[0x04], b"Node", &[0x01],                   //   Node, a container
        &[0x03], b"str", &[0x00],                    //   str, not a container
        &[0x23, 0x01, 0x03],                         // interp set-count 1 3
        &[0x24, 0xc8, 0x01, 0x07],                   // interp long-lived 200 7
        &[0x0a, 0x00, 0x00, 0x38],                   // new r0 0 56
        &[0x20, 0x02],                               // interp count 1
        &[0x21, 0x00, 0x00],                         // interp track r0 0
        &[0x0a, 0x01, 0x01, 0xac, 0x02],             // new r1 1 300
        &[0x02, 0x00, 0x00, 0x01],                   // store r0 0 r1
        &[0x22, 0x00],                               // interp untrack r0
        &[0x20, 0x01],                               // interp count -1
        &[0x06, 0x00],                               // clear r0
        &[0xff, 0x0a],                               // end, 10 ops
    ]
    .concat();
    assert_eq!(bytes, want);
    assert_eq!(read(&want).unwrap(), (header, ops));
}

/// Files of version 1 (written before the type table existed) still read: the worked example's
/// bytes as the version-1 specification gives them, in both forms, and compressed.
#[test]
fn version_1_files_still_read() {
    #[rustfmt::skip]
    let v1: Vec<u8> = [
        &b"GCLT"[..], &[0x01, 0x00],
        &[0x04], b"demo", &[0x2a], &[0x02],
        &[0x01, 0x01], b"n", &[0x01], b"2",
        &[0x01, 0x0b], b"request_end",
        &[0x01, 0x00, 0x05, 0x03], &[0x01, 0x01, 0x00, 0x01], &[0x03, 0x00, 0x01],
        &[0x02, 0x00, 0xc8, 0x01, 0x01], &[0x07, 0x00], &[0x10, 0x01],
        &[0x15, 0xf8, 0x0a, 0x13, 0x14], &[0x06, 0x00], &[0xff, 0x08],
    ]
    .concat();
    let (header, ops) = tiny();
    assert!(header.types.is_empty());
    assert_eq!(read(&v1).unwrap(), (header.clone(), ops.clone()));
    assert_eq!(
        read(&zstd::encode_all(&v1[..], 3).unwrap()).unwrap(),
        (header.clone(), ops.clone())
    );
    let text = "gclab-trace text 1\nworkload demo\nseed 42\nregisters 2\nparam n=2\n\
                name request_end\nalloc r0 list 3\nalloc r1 int 1\nappend r0 r1\n\
                store r0 200 r1\nevent 0\ngc collect -1\ngc threshold 700 -10 10\nclear r0\n\
                end 8\n";
    assert_eq!(
        read(text.as_bytes()).unwrap(),
        (header.clone(), ops.clone())
    );
    // A stream without types is still written as version 1, byte for byte.
    assert_eq!(write(TraceFormat::Binary, &header, &ops, CHUNK), v1);
    assert_eq!(
        write(TraceFormat::Text, &header, &ops, CHUNK),
        text.as_bytes()
    );
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
        for bytes in [
            write(format, &header, &ops, CHUNK),
            write_zstd(format, &header, &ops, CHUNK, 1),
        ] {
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

    // A compressed file, written through a buffered file writer, opens the same way.
    let zpath = dir.join("t.gclt.zst");
    let file = std::fs::File::create(&zpath).unwrap();
    let mut w = TraceWriter::compressed(io::BufWriter::new(file), TraceFormat::Binary, 3).unwrap();
    w.begin(&header).unwrap();
    w.ops(&ops).unwrap();
    w.finish().unwrap();
    assert_eq!(std::fs::read(&zpath).unwrap()[..4], ZSTD_MAGIC);
    let mut r = open_file(&zpath).unwrap();
    assert!(r.is_compressed());
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

    // Version 2: the text example parses to the recorded stream, and its hex dump is the
    // stream's binary encoding.
    let (header, ops) = tiny_v2();
    let text_start = doc
        .find("```\ngclab-trace text 2\n")
        .expect("v2 text example")
        + 4;
    let text_len = doc[text_start..].find("```").unwrap();
    let text = &doc.as_bytes()[text_start..text_start + text_len];
    assert_eq!(read(text).unwrap(), (header.clone(), ops.clone()));
    assert_eq!(text, write(TraceFormat::Text, &header, &ops, CHUNK));
    let dump_start = doc
        .find("```\n00000000  47 43 4c 54 02")
        .expect("v2 hex dump")
        + 4;
    let dump_len = doc[dump_start..].find("```").unwrap();
    let bytes: Vec<u8> = doc[dump_start..dump_start + dump_len]
        .lines()
        .flat_map(|l| l[10..58].split_whitespace())
        .map(|h| u8::from_str_radix(h, 16).unwrap())
        .collect();
    assert_eq!(bytes, write(TraceFormat::Binary, &header, &ops, CHUNK));
}

fn arb_interp() -> impl Strategy<Value = InterpOp> {
    prop_oneof![
        any::<i32>().prop_map(|delta| InterpOp::Count { delta }),
        (any::<u32>(), 0..=MAX_TRACK_GENERATION)
            .prop_map(|(reg, generation)| InterpOp::Track { reg, generation }),
        any::<u32>().prop_map(|reg| InterpOp::Untrack { reg }),
        (0..=MAX_COUNT_GENERATION, any::<u32>())
            .prop_map(|(generation, value)| InterpOp::SetCount { generation, value }),
        (any::<u32>(), any::<u32>())
            .prop_map(|(total, pending)| InterpOp::LongLived { total, pending }),
    ]
}

fn arb_op() -> impl Strategy<Value = Op> {
    let kind = (0u8..ALL_KINDS.len() as u8).prop_map(|c| Kind::from_code(c).unwrap());
    prop_oneof![
        (any::<u32>(), any::<u32>(), any::<u32>()).prop_map(|(dst, ty, size)| Op::New {
            dst,
            ty,
            size
        }),
        arb_interp().prop_map(Op::Interp),
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
        prop::collection::vec(
            (any::<String>(), any::<bool>()).prop_map(|(name, gc)| TypeInfo { name, gc }),
            0..6,
        ),
    )
        .prop_map(
            |(workload, params, seed, registers, names, types)| StreamHeader {
                workload,
                params,
                seed,
                registers,
                names,
                types,
            },
        )
}

proptest! {
    #[test]
    fn round_trips_arbitrary_streams(
        header in arb_header(),
        ops in prop::collection::vec(arb_op(), 0..64),
    ) {
        for format in [TraceFormat::Binary, TraceFormat::Text] {
            let plain = write(format, &header, &ops, 5);
            let zst = write_zstd(format, &header, &ops, 5, 1);
            for bytes in [&plain, &zst] {
                let (h, got) = read(bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert_eq!(&h, &header);
                prop_assert_eq!(&got, &ops);
            }
        }
    }
}
