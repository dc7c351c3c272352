//! Helpers the trace tests share: a sink that keeps what it is fed, sample and tiny streams,
//! and writing (plain or zstd-compressed) and reading a stream to and from bytes.

// Each test file uses a part of these.
#![allow(dead_code)]

use gclab_core::kind::ALL_KINDS;
use gclab_core::trace::{TraceError, TraceFormat, TraceReader, TraceWriter};
use gclab_core::workload::{OpSink, Stop, CHUNK};
use gclab_core::{GcOp, InterpOp, Kind, Op, StreamHeader, TypeInfo};

/// Collects everything it is fed.
#[derive(Default)]
pub struct VecSink {
    pub header: Option<StreamHeader>,
    pub ops: Vec<Op>,
    pub chunks: Vec<usize>,
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

pub fn sample_header() -> StreamHeader {
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
        types: sample_types(),
    }
}

/// A type table with container and non-container types and names that need quoting.
pub fn sample_types() -> Vec<TypeInfo> {
    let t = |name: &str, gc: bool| TypeInfo {
        name: name.into(),
        gc,
    };
    vec![
        t("dict", true),
        t("str", false),
        t("module.Node", true),
        t("", false),
        t("with space", true),
        t("q\"uote\\ \u{2028}é", false),
        t("gc", true),
    ]
}

/// Every op and gc op, with edge values, in a deterministic order.
pub fn sample_ops(n: usize) -> Vec<Op> {
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
            let g = (r >> 60) as u8;
            match i % 21 {
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
                14 => Op::Gc(GcOp::SetThreshold {
                    t0: s,
                    t1: -s.wrapping_add(3),
                    t2: (r as i32),
                }),
                15 => Op::New {
                    dst: a,
                    ty: b % 9,
                    size: edge[(r >> 30) as usize % edge.len()],
                },
                16 => Op::Interp(InterpOp::Count { delta: s }),
                17 => Op::Interp(InterpOp::Track {
                    reg: a,
                    generation: g % 4,
                }),
                18 => Op::Interp(InterpOp::Untrack { reg: b }),
                19 => Op::Interp(InterpOp::SetCount {
                    generation: g % 3,
                    value: a,
                }),
                _ => Op::Interp(InterpOp::LongLived {
                    total: a,
                    pending: edge[(r >> 33) as usize % edge.len()],
                }),
            }
        })
        .collect()
}

pub fn write(format: TraceFormat, header: &StreamHeader, ops: &[Op], chunk: usize) -> Vec<u8> {
    write_to(TraceWriter::new(Vec::new(), format), header, ops, chunk)
}

/// [`write`], zstd-compressed at `level`.
pub fn write_zstd(
    format: TraceFormat,
    header: &StreamHeader,
    ops: &[Op],
    chunk: usize,
    level: i32,
) -> Vec<u8> {
    let w = TraceWriter::compressed(Vec::new(), format, level).unwrap();
    assert!(w.is_compressed());
    write_to(w, header, ops, chunk)
}

fn write_to(
    mut w: TraceWriter<Vec<u8>>,
    header: &StreamHeader,
    ops: &[Op],
    chunk: usize,
) -> Vec<u8> {
    w.begin(header).unwrap();
    for c in ops.chunks(chunk.max(1)) {
        w.ops(c).unwrap();
    }
    assert_eq!(w.ops_written(), ops.len() as u64);
    w.finish().unwrap()
}

/// Reads a whole trace from bytes, checking the reader's chunks and header on the way.
pub fn read(bytes: &[u8]) -> Result<(StreamHeader, Vec<Op>), TraceError> {
    let mut r = TraceReader::open(bytes)?;
    let mut sink = VecSink::default();
    let n = r.feed(&mut sink)?;
    assert_eq!(n, sink.ops.len() as u64);
    assert!(sink.chunks.iter().all(|&c| c > 0 && c <= CHUNK));
    let header = sink.header.expect("begin was called");
    assert_eq!(&header, r.header());
    Ok((header, sink.ops))
}

/// A small recorded stream (a type table, `new` and every `interp` op): the version-2 worked
/// example of `docs/trace-format.md`.
pub fn tiny_v2() -> (StreamHeader, Vec<Op>) {
    let header = StreamHeader::new(2).workload("rec").types(vec![
        TypeInfo {
            name: "Node".into(),
            gc: true,
        },
        TypeInfo {
            name: "str".into(),
            gc: false,
        },
    ]);
    let ops = vec![
        Op::Interp(InterpOp::SetCount {
            generation: 1,
            value: 3,
        }),
        Op::Interp(InterpOp::LongLived {
            total: 200,
            pending: 7,
        }),
        Op::New {
            dst: 0,
            ty: 0,
            size: 56,
        },
        Op::Interp(InterpOp::Count { delta: 1 }),
        Op::Interp(InterpOp::Track {
            reg: 0,
            generation: 0,
        }),
        Op::New {
            dst: 1,
            ty: 1,
            size: 300,
        },
        Op::Store {
            obj: 0,
            slot: 0,
            src: 1,
        },
        Op::Interp(InterpOp::Untrack { reg: 0 }),
        Op::Interp(InterpOp::Count { delta: -1 }),
        Op::Clear { dst: 0 },
    ];
    (header, ops)
}

/// A small stream using a few ops: the worked example of `docs/trace-format.md`.
pub fn tiny() -> (StreamHeader, Vec<Op>) {
    let header = StreamHeader {
        workload: "demo".into(),
        params: vec![("n".into(), "2".into())],
        seed: 42,
        registers: 2,
        names: vec!["request_end".into()],
        types: Vec::new(),
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
