//! The binary trace reader on large traces: ops and errors across the reader's block
//! boundaries, readers that deliver the file in pieces of any size, varint encodings the writer
//! never produces (zero-padded, up to 10 bytes), and the same files zstd-compressed. The result
//! of reading a trace (its ops, or the error and its byte offset) must not depend on how the
//! bytes arrive, nor on whether they arrive compressed (but for the offset being one of the
//! decompressed trace).

use gclab_core::kind::ALL_KINDS;
use gclab_core::trace::{Position, TraceError, TraceFormat, TraceReader, TraceWriter};
use gclab_core::workload::{OpSink, Stop};
use gclab_core::{GcOp, InterpOp, Op, StreamHeader, TypeInfo};
use std::io::{self, Read};

#[derive(Default)]
struct VecSink {
    ops: Vec<Op>,
    chunks: Vec<usize>,
}

impl OpSink for VecSink {
    fn begin(&mut self, _header: &StreamHeader) -> Result<(), Stop> {
        Ok(())
    }
    fn ops(&mut self, ops: &[Op]) -> Result<(), Stop> {
        self.chunks.push(ops.len());
        self.ops.extend_from_slice(ops);
        Ok(())
    }
}

/// Hands out the data in pieces whose sizes cycle through `sizes`, returning `Interrupted` before
/// every `interrupt`-th piece, and an error instead of end of file when `fail` is set.
struct Pieces<'a> {
    data: &'a [u8],
    sizes: &'a [usize],
    i: usize,
    interrupt: usize,
    fail: bool,
}

impl Read for Pieces<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.i += 1;
        if self.interrupt > 0 && self.i % self.interrupt == 0 {
            return Err(io::ErrorKind::Interrupted.into());
        }
        if self.data.is_empty() {
            return if self.fail {
                Err(io::Error::other("disk on fire"))
            } else {
                Ok(0)
            };
        }
        let want = self.sizes[self.i % self.sizes.len()].max(1);
        let n = want.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

/// The ways of delivering a file that every test below tries.
const DELIVERIES: &[&[usize]] = &[
    &[usize::MAX],
    &[1],
    &[7, 1, 3],
    &[15, 16, 17],
    &[4093],
    &[65_536 + 13, 5],
    &[100_000, 1, 30_000],
];

/// Reads `bytes` through one delivery; the ops (checking that each came on its own) or the error, rendered
/// with its message (which names the offset).
fn read_with(bytes: &[u8], sizes: &[usize], fail: bool) -> Result<Vec<Op>, String> {
    let reader = Pieces {
        data: bytes,
        sizes,
        i: 0,
        interrupt: if sizes.len() > 1 { 5 } else { 0 },
        fail,
    };
    let mut r = TraceReader::open(reader).map_err(|e| format!("open: {e}"))?;
    let mut sink = VecSink::default();
    let n = r.feed(&mut sink).map_err(|e| {
        assert!(e.position().is_some(), "{e}");
        e.to_string()
    })?;
    assert_eq!(n, sink.ops.len() as u64);
    // Each op is handed over as soon as it is decoded (`OpSink::op`, whose default passes it on
    // as a chunk of one).
    assert!(
        sink.chunks.iter().all(|&c| c == 1),
        "chunks {:?}",
        sink.chunks
    );
    Ok(sink.ops)
}

/// Reads `bytes` from a slice and through every delivery; all must agree. Returns the result.
fn read_all_ways(bytes: &[u8]) -> Result<Vec<Op>, String> {
    let mut r = TraceReader::open(bytes).map_err(|e| format!("open: {e}"));
    let direct = match &mut r {
        Ok(r) => {
            let mut sink = VecSink::default();
            r.feed(&mut sink)
                .map(|_| sink.ops)
                .map_err(|e| e.to_string())
        }
        Err(e) => Err(e.clone()),
    };
    for sizes in DELIVERIES {
        let got = read_with(bytes, sizes, false);
        assert_eq!(got, direct, "delivery {sizes:?}");
    }
    direct
}

fn header() -> StreamHeader {
    StreamHeader {
        workload: "blocks".into(),
        params: vec![("n".into(), "1".into())],
        seed: 7,
        registers: 300,
        names: vec!["request_end".into(), "label".into()],
        types: vec![
            TypeInfo {
                name: "Node".into(),
                gc: true,
            },
            TypeInfo {
                name: "str".into(),
                gc: false,
            },
        ],
    }
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A u32 operand: mostly one byte, sometimes longer, sometimes an edge value.
fn operand(rng: &mut Rng) -> u32 {
    match rng.below(20) {
        0 => [128, 16_383, 16_384, 1 << 21, 1 << 28, u32::MAX][rng.below(6) as usize],
        1 | 2 => rng.below(1 << 14) as u32,
        _ => rng.below(128) as u32,
    }
}

fn random_op(rng: &mut Rng) -> Op {
    let (a, b, c) = (operand(rng), operand(rng), operand(rng));
    let s = [0i32, -1, 1, 700, -64, 64, i32::MIN, i32::MAX][rng.below(8) as usize];
    let g = rng.below(4) as u8;
    match rng.below(48) {
        0..=5 => Op::Alloc {
            dst: a,
            kind: ALL_KINDS[rng.below(ALL_KINDS.len() as u64) as usize],
            len: b,
        },
        6..=11 => Op::Store {
            obj: a,
            slot: b,
            src: c,
        },
        12..=15 => Op::Append { list: a, src: b },
        16..=20 => Op::Load {
            dst: a,
            obj: b,
            slot: c,
        },
        21..=23 => Op::Copy { dst: a, src: b },
        24..=29 => Op::Clear { dst: a },
        30 => Op::Event { id: a },
        31 => Op::Probe { reg: a, label: b },
        32..=35 => Op::SafePoint,
        36 => Op::Gc(GcOp::Collect { generation: s }),
        37 => Op::Gc([GcOp::Freeze, GcOp::Unfreeze][rng.below(2) as usize]),
        38 => Op::Gc([GcOp::Enable, GcOp::Disable][rng.below(2) as usize]),
        39 => Op::Gc(GcOp::SetThreshold {
            t0: s,
            t1: operand(rng) as i32,
            t2: s.wrapping_add(1).wrapping_neg(),
        }),
        40..=42 => Op::New {
            dst: a,
            ty: b,
            size: c,
        },
        43 => Op::Interp(InterpOp::Count { delta: s }),
        44 => Op::Interp(InterpOp::Track {
            reg: a,
            generation: g,
        }),
        45 => Op::Interp(InterpOp::Untrack { reg: a }),
        46 => Op::Interp(InterpOp::SetCount {
            generation: g % 3,
            value: b,
        }),
        _ => Op::Interp(InterpOp::LongLived {
            total: a,
            pending: b,
        }),
    }
}

fn random_ops(seed: u64, n: usize) -> Vec<Op> {
    let mut rng = Rng(seed | 1);
    (0..n).map(|_| random_op(&mut rng)).collect()
}

fn write(ops: &[Op]) -> Vec<u8> {
    let mut w = TraceWriter::new(Vec::new(), TraceFormat::Binary);
    w.begin(&header()).unwrap();
    for c in ops.chunks(777) {
        w.ops(c).unwrap();
    }
    w.finish().unwrap()
}

/// The byte offset where each op starts, and where the end marker starts.
fn op_offsets(ops: &[Op]) -> (Vec<usize>, usize) {
    let head = write(&[]).len() - 2; // the end marker of an empty trace is `ff 00`
    let mut offsets = Vec::with_capacity(ops.len());
    let mut at = head;
    for op in ops {
        offsets.push(at);
        let mut w = TraceWriter::new(Vec::new(), TraceFormat::Binary);
        w.begin(&header()).unwrap();
        w.ops(std::slice::from_ref(op)).unwrap();
        at += w.finish().unwrap().len() - head - 2;
    }
    (offsets, at)
}

#[test]
fn large_traces_read_the_same_whatever_the_delivery() {
    for (seed, n) in [(1, 0), (2, 1), (3, 1024), (4, 1025), (5, 150_000)] {
        let ops = random_ops(seed, n);
        let bytes = write(&ops);
        assert_eq!(read_all_ways(&bytes), Ok(ops), "seed {seed}");
    }
}

/// Appends `v` as a varint padded with `pad` extra bytes (a non-canonical encoding the reader
/// must accept while it stays within 10 bytes).
fn padded(buf: &mut Vec<u8>, mut v: u64, pad: usize) {
    let mut groups = Vec::new();
    loop {
        groups.push((v & 0x7f) as u8);
        v >>= 7;
        if v == 0 {
            break;
        }
    }
    groups.extend(std::iter::repeat_n(0, pad));
    let last = groups.len() - 1;
    for (i, g) in groups.into_iter().enumerate() {
        buf.push(if i < last { g | 0x80 } else { g });
    }
}

/// Encodes `op` with each varint operand padded by a random number of bytes (within 10 bytes).
fn encode_padded(buf: &mut Vec<u8>, op: &Op, rng: &mut Rng) {
    let mut v = |buf: &mut Vec<u8>, x: u32| {
        let len = (32 - x.leading_zeros()).max(1).div_ceil(7) as usize;
        let pad = match rng.below(4) {
            0 => rng.below(11 - len as u64) as usize,
            _ => 0,
        };
        padded(buf, x.into(), pad);
    };
    let z = |x: i32| ((x << 1) ^ (x >> 31)) as u32;
    match *op {
        Op::Alloc { dst, kind, len } => {
            buf.push(1);
            v(buf, dst);
            buf.push(kind as u8);
            v(buf, len);
        }
        Op::Store { obj, slot, src } => {
            buf.push(2);
            v(buf, obj);
            v(buf, slot);
            v(buf, src);
        }
        Op::Append { list, src } => {
            buf.push(3);
            v(buf, list);
            v(buf, src);
        }
        Op::Load { dst, obj, slot } => {
            buf.push(4);
            v(buf, dst);
            v(buf, obj);
            v(buf, slot);
        }
        Op::Copy { dst, src } => {
            buf.push(5);
            v(buf, dst);
            v(buf, src);
        }
        Op::Clear { dst } => {
            buf.push(6);
            v(buf, dst);
        }
        Op::Event { id } => {
            buf.push(7);
            v(buf, id);
        }
        Op::Probe { reg, label } => {
            buf.push(8);
            v(buf, reg);
            v(buf, label);
        }
        Op::SafePoint => buf.push(9),
        Op::Gc(GcOp::Collect { generation }) => {
            buf.push(0x10);
            v(buf, z(generation));
        }
        Op::Gc(GcOp::Freeze) => buf.push(0x11),
        Op::Gc(GcOp::Unfreeze) => buf.push(0x12),
        Op::Gc(GcOp::Enable) => buf.push(0x13),
        Op::Gc(GcOp::Disable) => buf.push(0x14),
        Op::Gc(GcOp::SetThreshold { t0, t1, t2 }) => {
            buf.push(0x15);
            v(buf, z(t0));
            v(buf, z(t1));
            v(buf, z(t2));
        }
        Op::New { dst, ty, size } => {
            buf.push(0x0a);
            v(buf, dst);
            v(buf, ty);
            v(buf, size);
        }
        Op::Interp(InterpOp::Count { delta }) => {
            buf.push(0x20);
            v(buf, z(delta));
        }
        Op::Interp(InterpOp::Track { reg, generation }) => {
            buf.push(0x21);
            v(buf, reg);
            buf.push(generation);
        }
        Op::Interp(InterpOp::Untrack { reg }) => {
            buf.push(0x22);
            v(buf, reg);
        }
        Op::Interp(InterpOp::SetCount { generation, value }) => {
            buf.push(0x23);
            buf.push(generation);
            v(buf, value);
        }
        Op::Interp(InterpOp::LongLived { total, pending }) => {
            buf.push(0x24);
            v(buf, total);
            v(buf, pending);
        }
    }
}

#[test]
fn padded_varints_of_up_to_ten_bytes_are_accepted() {
    let ops = random_ops(11, 60_000);
    let mut rng = Rng(99);
    let mut bytes = write(&[]);
    bytes.truncate(bytes.len() - 2);
    for op in &ops {
        encode_padded(&mut bytes, op, &mut rng);
    }
    bytes.push(0xff);
    padded(&mut bytes, ops.len() as u64, 2);
    assert_eq!(read_all_ways(&bytes), Ok(ops));
}

/// Offsets of the op boundaries in `ops` that fall within `radius` bytes of a multiple of 64 KiB
/// (where block buffers end), plus a few elsewhere.
fn boundaries_near_blocks(offsets: &[usize], radius: usize) -> Vec<usize> {
    offsets
        .iter()
        .enumerate()
        .filter(|&(i, &off)| {
            let m = off % 65_536;
            m < radius || m > 65_536 - radius || i % 9973 == 1
        })
        .map(|(i, _)| i)
        .collect()
}

#[test]
fn errors_across_block_boundaries_carry_their_offset() {
    let ops = random_ops(21, 30_000);
    let good = write(&ops);
    let (offsets, end) = op_offsets(&ops);
    assert_eq!(good[end], 0xff);
    let at = |e: &str| -> u64 {
        let tail = e
            .split("byte offset ")
            .nth(1)
            .expect("an offset in the message");
        tail.split(|c: char| !c.is_ascii_digit())
            .next()
            .and_then(|d| d.parse().ok())
            .expect("a number")
    };
    for i in boundaries_near_blocks(&offsets, 24) {
        let off = offsets[i];
        let splice = |bad: &[u8]| {
            let mut v = good[..off].to_vec();
            v.extend_from_slice(bad);
            v.extend_from_slice(&good[off..]);
            v
        };
        // Unknown opcode.
        let e = read_all_ways(&splice(&[0x42])).unwrap_err();
        assert!(e.contains("unknown opcode 0x42"), "{e}");
        assert_eq!(at(&e), off as u64, "{e}");
        // Unknown kind, after a one-byte and after a two-byte dst register.
        for (bad, kind_at) in [(&[1, 5, 12, 3][..], 2), (&[1, 0x85, 1, 10, 3][..], 3)] {
            let e = read_all_ways(&splice(bad)).unwrap_err();
            assert!(e.contains("unknown object kind"), "{e}");
            assert_eq!(at(&e), (off + kind_at) as u64, "{e}");
        }
        // A register beyond u32 in 5 bytes, and an 11-byte varint.
        let e = read_all_ways(&splice(&[6, 0x80, 0x80, 0x80, 0x80, 0x10])).unwrap_err();
        assert!(e.contains("varint overflow"), "{e}");
        assert_eq!(at(&e), off as u64 + 1, "{e}");
        let mut long = vec![2, 3];
        long.extend_from_slice(&[0xff; 10]);
        long.push(0);
        let e = read_all_ways(&splice(&long)).unwrap_err();
        assert!(e.contains("varint overflow"), "{e}");
        assert_eq!(at(&e), off as u64 + 2, "{e}");
        // The file ends here: truncated, at the end of the file.
        let e = read_all_ways(&good[..off]).unwrap_err();
        assert!(e.contains("unexpected end of file"), "{e}");
        assert_eq!(at(&e), off as u64, "{e}");
        // The file ends inside the op (a store with a long slot).
        let mut v = good[..off].to_vec();
        v.extend_from_slice(&[2, 1, 0x80, 0x80]);
        let e = read_all_ways(&v).unwrap_err();
        assert!(e.contains("unexpected end of file"), "{e}");
        assert_eq!(at(&e), v.len() as u64, "{e}");
        // An end marker here: the count does not match.
        let mut v = good[..off].to_vec();
        v.extend_from_slice(&[0xff, 0]);
        let r = read_all_ways(&v);
        if i > 0 {
            let e = r.unwrap_err();
            assert!(e.contains("op-count mismatch"), "{e}");
            assert_eq!(at(&e), off as u64 + 1, "{e}");
        }
    }
    // Every cut around the first block boundary: truncated (or a count mismatch when the cut
    // leaves part of the end marker), never accepted.
    assert!(good.len() > 65_536 + 40);
    for cut in 65_536 - 40..65_536 + 40 {
        let e = read_all_ways(&good[..cut]).unwrap_err();
        assert!(e.contains("unexpected end of file"), "{e}");
        assert_eq!(at(&e), cut as u64, "{e}");
    }
    for cut in end..good.len() {
        assert!(read_all_ways(&good[..cut]).is_err());
    }
    // Trailing garbage after a trace that crosses block boundaries.
    let mut v = good.clone();
    v.push(9);
    let e = read_all_ways(&v).unwrap_err();
    assert!(e.contains("trailing garbage"), "{e}");
    assert_eq!(at(&e), good.len() as u64, "{e}");
}

#[test]
fn read_errors_are_reported_at_the_first_byte_not_delivered() {
    let ops = random_ops(31, 40_000);
    let good = write(&ops);
    let header_len = write(&[]).len() - 2;
    let cuts = (65_536 - 20..65_536 + 20).chain([
        header_len,
        header_len + 1,
        100_000,
        good.len() - 1,
        good.len(),
    ]);
    for cut in cuts {
        for sizes in DELIVERIES {
            let e = read_with(&good[..cut], sizes, true).unwrap_err();
            assert!(
                e.contains("I/O error"),
                "cut {cut}, delivery {sizes:?}: {e}"
            );
            let expected = format!("at {}:", Position::Byte(cut as u64));
            assert!(e.contains(&expected), "cut {cut}, delivery {sizes:?}: {e}");
        }
    }
}

/// Random corruptions of a trace larger than a block read the same whatever the delivery (the
/// same ops, or the same error at the same offset).
#[test]
fn corrupted_large_traces_read_the_same_whatever_the_delivery() {
    let ops = random_ops(41, 30_000);
    let good = write(&ops);
    let mut rng = Rng(1234);
    for _ in 0..60 {
        let mut v = good.clone();
        for _ in 0..=rng.below(3) {
            let at = rng.below(v.len() as u64) as usize;
            match rng.below(3) {
                0 => v[at] = rng.next() as u8,
                1 => {
                    v.insert(at, rng.next() as u8);
                }
                _ => {
                    v.remove(at);
                }
            }
        }
        let _ = read_all_ways(&v);
    }
}

/// The error type of an I/O error names its offset as a position, too.
#[test]
fn io_error_position_is_a_byte_offset() {
    let ops = random_ops(51, 5_000);
    let good = write(&ops);
    let cut = good.len() / 2;
    let reader = Pieces {
        data: &good[..cut],
        sizes: &[usize::MAX],
        i: 0,
        interrupt: 0,
        fail: true,
    };
    let mut r = TraceReader::open(reader).unwrap();
    let e = r.feed(&mut VecSink::default()).unwrap_err();
    assert!(matches!(e, TraceError::Io { .. }), "{e}");
    assert_eq!(e.position(), Some(Position::Byte(cut as u64)));
}

/// `msg` with every "byte offset N" made "byte offset N of the decompressed trace".
fn in_decompressed(msg: &str) -> String {
    let mut out = String::new();
    let mut rest = msg;
    while let Some(i) = rest.find("byte offset ") {
        let (head, tail) = rest.split_at(i + "byte offset ".len());
        let digits = tail.len() - tail.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        out.push_str(head);
        out.push_str(&tail[..digits]);
        out.push_str(" of the decompressed trace");
        rest = &tail[digits..];
    }
    out.push_str(rest);
    out
}

/// Reads `bytes` with the decompression in a thread of its own
/// ([`TraceReader::open_threaded`]), delivered in pieces of `sizes`.
fn read_threaded(bytes: &[u8], sizes: &'static [usize]) -> Result<Vec<Op>, String> {
    let data: &'static [u8] = Box::leak(bytes.to_vec().into_boxed_slice());
    let reader = Pieces {
        data,
        sizes,
        i: 0,
        interrupt: if sizes.len() > 1 { 5 } else { 0 },
        fail: false,
    };
    let mut r = TraceReader::open_threaded(reader).map_err(|e| format!("open: {e}"))?;
    let mut sink = VecSink::default();
    r.feed(&mut sink).map_err(|e| e.to_string())?;
    Ok(sink.ops)
}

/// Reads `bytes` zstd-compressed, from a slice and through every delivery of the compressed
/// bytes, decompressed in the reader's thread and ahead in a thread of its own: the same ops as
/// the plain bytes, or the same error at the same offset, of the decompressed trace.
fn check_compressed(bytes: &[u8], level: i32) {
    let plain = read_all_ways(bytes).map_err(|e| in_decompressed(&e));
    let z = zstd::encode_all(bytes, level).unwrap();
    assert_eq!(read_all_ways(&z), plain);
    for sizes in [DELIVERIES[0], DELIVERIES[2], DELIVERIES[6]] {
        assert_eq!(
            read_threaded(&z, sizes),
            plain,
            "threaded, delivery {sizes:?}"
        );
    }
}

#[test]
fn compressed_traces_read_the_same_whatever_the_delivery() {
    for (seed, n, level) in [(1, 0, 3), (3, 1024, 3), (5, 150_000, 1), (6, 150_000, 19)] {
        let ops = random_ops(seed, n);
        let bytes = write(&ops);
        check_compressed(&bytes, level);
        // The writer's own compression, in chunks of 777 ops.
        let mut w = TraceWriter::compressed(Vec::new(), TraceFormat::Binary, level).unwrap();
        w.begin(&header()).unwrap();
        for c in ops.chunks(777) {
            w.ops(c).unwrap();
        }
        assert_eq!(read_all_ways(&w.finish().unwrap()), Ok(ops), "seed {seed}");
    }
    // Padded varints.
    let ops = random_ops(12, 40_000);
    let mut rng = Rng(98);
    let mut bytes = write(&[]);
    bytes.truncate(bytes.len() - 2);
    for op in &ops {
        encode_padded(&mut bytes, op, &mut rng);
    }
    bytes.push(0xff);
    padded(&mut bytes, ops.len() as u64, 2);
    check_compressed(&bytes, 3);
}

#[test]
fn compressed_errors_across_block_boundaries_carry_their_offset() {
    let ops = random_ops(22, 30_000);
    let good = write(&ops);
    let (offsets, _) = op_offsets(&ops);
    for i in boundaries_near_blocks(&offsets, 8).into_iter().step_by(3) {
        let off = offsets[i];
        let splice = |bad: &[u8]| {
            let mut v = good[..off].to_vec();
            v.extend_from_slice(bad);
            v.extend_from_slice(&good[off..]);
            v
        };
        // Unknown opcode, a track into generation 9, a set-count of generation 5, an overflowing
        // varint.
        check_compressed(&splice(&[0x42]), 1);
        check_compressed(&splice(&[0x21, 0x00, 0x09]), 1);
        check_compressed(&splice(&[0x23, 0x05, 0x00]), 1);
        check_compressed(&splice(&[6, 0x80, 0x80, 0x80, 0x80, 0x10]), 1);
        // The trace ends here (inside a complete zstd frame): truncated.
        check_compressed(&good[..off], 1);
        let mut v = good[..off].to_vec();
        v.extend_from_slice(&[0x0a, 1, 0x80, 0x80]);
        check_compressed(&v, 1);
    }
    let mut v = good.clone();
    v.push(9);
    check_compressed(&v, 1);
}
