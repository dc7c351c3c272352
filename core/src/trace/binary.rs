//! The binary form (magic `GCLT`): its opcodes, varint and zig-zag helpers, the encoder, and
//! the [`BinaryDecoder`], whose fast path ([`fast_step`] and the helpers around it) is the
//! replay's hot loop.

use super::{
    Position, TraceError, MAGIC, MAX_COUNT_GENERATION, MAX_NAMES, MAX_PARAMS, MAX_REGISTERS,
    MAX_STRING_BYTES, MAX_TRACK_GENERATION, MAX_TYPES, VERSION,
};
use crate::kind::Kind;
use crate::op::{GcOp, InterpOp, Op, StreamHeader, TypeInfo};
use crate::workload::{OpSink, Stop};
use std::io::{self, Read};

/// Opcodes of the binary form (see `docs/trace-format.md`).
pub(super) mod opcode {
    pub const ALLOC: u8 = 0x01;
    pub const STORE: u8 = 0x02;
    pub const APPEND: u8 = 0x03;
    pub const LOAD: u8 = 0x04;
    pub const COPY: u8 = 0x05;
    pub const CLEAR: u8 = 0x06;
    pub const EVENT: u8 = 0x07;
    pub const PROBE: u8 = 0x08;
    pub const SAFE_POINT: u8 = 0x09;
    pub const GC_COLLECT: u8 = 0x10;
    pub const GC_FREEZE: u8 = 0x11;
    pub const GC_UNFREEZE: u8 = 0x12;
    pub const GC_ENABLE: u8 = 0x13;
    pub const GC_DISABLE: u8 = 0x14;
    pub const GC_SET_THRESHOLD: u8 = 0x15;
    pub const NEW: u8 = 0x0a;
    pub const INTERP_COUNT: u8 = 0x20;
    pub const INTERP_TRACK: u8 = 0x21;
    pub const INTERP_UNTRACK: u8 = 0x22;
    pub const INTERP_SET_COUNT: u8 = 0x23;
    pub const INTERP_LONG_LIVED: u8 = 0x24;
    pub const END: u8 = 0xFF;
}

/// Appends `v` as an unsigned LEB128 varint.
pub(super) fn put_varint(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

/// Appends `v` zig-zag encoded as a varint.
fn put_zigzag(buf: &mut Vec<u8>, v: i32) {
    put_varint(buf, zigzag(v) as u64);
}

fn zigzag(v: i32) -> u32 {
    ((v << 1) ^ (v >> 31)) as u32
}

fn unzigzag(n: u32) -> i32 {
    ((n >> 1) as i32) ^ -((n & 1) as i32)
}

fn put_str(buf: &mut Vec<u8>, s: &str) {
    put_varint(buf, s.len() as u64);
    buf.extend_from_slice(s.as_bytes());
}

pub(super) fn encode_binary_header(buf: &mut Vec<u8>, h: &StreamHeader) {
    buf.extend_from_slice(&MAGIC);
    let version = if h.types.is_empty() { 1 } else { VERSION };
    buf.extend_from_slice(&version.to_le_bytes());
    put_str(buf, &h.workload);
    put_varint(buf, h.seed);
    put_varint(buf, h.registers as u64);
    put_varint(buf, h.params.len() as u64);
    for (k, v) in &h.params {
        put_str(buf, k);
        put_str(buf, v);
    }
    put_varint(buf, h.names.len() as u64);
    for n in &h.names {
        put_str(buf, n);
    }
    if !h.types.is_empty() {
        put_varint(buf, h.types.len() as u64);
        for t in &h.types {
            put_str(buf, &t.name);
            buf.push(t.gc as u8);
        }
    }
}

pub(super) fn encode_binary_op(buf: &mut Vec<u8>, op: &Op) {
    let v = |buf: &mut Vec<u8>, x: u32| put_varint(buf, x as u64);
    match *op {
        Op::Alloc { dst, kind, len } => {
            buf.push(opcode::ALLOC);
            v(buf, dst);
            buf.push(kind as u8);
            v(buf, len);
        }
        Op::Store { obj, slot, src } => {
            buf.push(opcode::STORE);
            v(buf, obj);
            v(buf, slot);
            v(buf, src);
        }
        Op::Append { list, src } => {
            buf.push(opcode::APPEND);
            v(buf, list);
            v(buf, src);
        }
        Op::Load { dst, obj, slot } => {
            buf.push(opcode::LOAD);
            v(buf, dst);
            v(buf, obj);
            v(buf, slot);
        }
        Op::Copy { dst, src } => {
            buf.push(opcode::COPY);
            v(buf, dst);
            v(buf, src);
        }
        Op::Clear { dst } => {
            buf.push(opcode::CLEAR);
            v(buf, dst);
        }
        Op::Event { id } => {
            buf.push(opcode::EVENT);
            v(buf, id);
        }
        Op::Probe { reg, label } => {
            buf.push(opcode::PROBE);
            v(buf, reg);
            v(buf, label);
        }
        Op::SafePoint => buf.push(opcode::SAFE_POINT),
        Op::Gc(GcOp::Collect { generation }) => {
            buf.push(opcode::GC_COLLECT);
            put_zigzag(buf, generation);
        }
        Op::Gc(GcOp::Freeze) => buf.push(opcode::GC_FREEZE),
        Op::Gc(GcOp::Unfreeze) => buf.push(opcode::GC_UNFREEZE),
        Op::Gc(GcOp::Enable) => buf.push(opcode::GC_ENABLE),
        Op::Gc(GcOp::Disable) => buf.push(opcode::GC_DISABLE),
        Op::Gc(GcOp::SetThreshold { t0, t1, t2 }) => {
            buf.push(opcode::GC_SET_THRESHOLD);
            put_zigzag(buf, t0);
            put_zigzag(buf, t1);
            put_zigzag(buf, t2);
        }
        Op::New { dst, ty, size } => {
            buf.push(opcode::NEW);
            v(buf, dst);
            v(buf, ty);
            v(buf, size);
        }
        Op::Interp(InterpOp::Count { delta }) => {
            buf.push(opcode::INTERP_COUNT);
            put_zigzag(buf, delta);
        }
        Op::Interp(InterpOp::Track { reg, generation }) => {
            buf.push(opcode::INTERP_TRACK);
            v(buf, reg);
            buf.push(generation);
        }
        Op::Interp(InterpOp::Untrack { reg }) => {
            buf.push(opcode::INTERP_UNTRACK);
            v(buf, reg);
        }
        Op::Interp(InterpOp::SetCount { generation, value }) => {
            buf.push(opcode::INTERP_SET_COUNT);
            buf.push(generation);
            v(buf, value);
        }
        Op::Interp(InterpOp::LongLived { total, pending }) => {
            buf.push(opcode::INTERP_LONG_LIVED);
            v(buf, total);
            v(buf, pending);
        }
    }
}

/// A varint operand (a u32: at most 5 bytes) at `w[p..]`: its value and its length in bytes,
/// decoded from one 8-byte load without a loop or a branch on the length (the lengths of a
/// recording's operands vary from op to op: one byte for a temporary's register, three for a
/// long-lived object's, which a branch per byte would mispredict). `None` for a longer or
/// overflowing varint, which [`BinaryDecoder::next_op`] then decodes or rejects with its error.
#[inline(always)]
fn varint_at(w: &[u8; FAST_MIN], p: usize) -> Option<(u32, usize)> {
    let x = u64::from_le_bytes(*w.get(p..)?.first_chunk::<8>()?);
    // The high bit of the last byte's high bit (the first byte without continuation).
    let stop = !x & 0x8080_8080_8080_8080;
    let len = (stop.trailing_zeros() / 8 + 1) as usize;
    if len > 5 {
        return None;
    }
    let x = x & (u64::MAX >> (64 - 8 * len));
    let v = (x & 0x7f)
        | ((x >> 1) & (0x7f << 7))
        | ((x >> 2) & (0x7f << 14))
        | ((x >> 3) & (0x7f << 21))
        | ((x >> 4) & (0x7f << 28));
    // A fifth byte above 0x0f overflows 32 bits.
    let v = u32::try_from(v).ok()?;
    Some((v, len))
}

/// A varint operand at `w[p..]`: [`varint_at`], with the one- and two-byte encodings (values
/// below 2^14: registers of short-lived objects, slots, sizes) decoded first without a branch on
/// the length.
#[inline(always)]
fn operand(w: &[u8; FAST_MIN], p: usize) -> Option<(u32, usize)> {
    let b0 = u32::from(*w.get(p)?);
    let b1 = u32::from(*w.get(p + 1)?);
    // 1 if the first byte has its continuation bit set.
    let more = b0 >> 7;
    if more & (b1 >> 7) != 0 {
        return varint_at(w, p);
    }
    let v = (b0 & 0x7f) | ((b1 << 7) & more.wrapping_neg());
    Some((v, 1 + more as usize))
}

/// The `N` operands after the opcode at the start of `w`, each a varint: their values and the
/// op's length so far. When every operand is one byte (the common case) this is one test for
/// all of them; otherwise each takes [`operand`]. `None` for an operand it declines.
#[inline(always)]
fn operands<const N: usize>(w: &[u8; FAST_MIN]) -> Option<([u32; N], usize)> {
    let mut v = [0u32; N];
    let mut high = 0u8;
    for i in 0..N {
        high |= w[1 + i];
    }
    if high < 0x80 {
        for (i, x) in v.iter_mut().enumerate() {
            *x = u32::from(w[1 + i]);
        }
        return Some((v, 1 + N));
    }
    let mut at = 1;
    for x in v.iter_mut() {
        let (value, len) = operand(w, at)?;
        *x = value;
        at += len;
    }
    Some((v, at))
}

/// [`fast_step`]'s answer when the sink's fast path declined the op, or the op is one that
/// [`fast_step`] does not decode (event, probe): for [`fast_op_long`] and [`OpSink::op`]. (An
/// answer that executed ops is the number of bytes they took, 1 to [`STEP_MAX_LEN`].)
const STEP_LONG: usize = 0x20;
/// [`fast_step`]'s answer when the sink stopped the stream (the [`Stop`] is in its out-param).
const STEP_STOPPED: usize = 0x40;
/// [`fast_step`]'s answer for anything else (another opcode, a bad kind, a varint it declines):
/// for the careful path.
const STEP_CAREFUL: usize = 0x80;
/// The most bytes [`fast_step`] decodes in one step (an op of at most 16 bytes and a safe
/// point): every other answer is larger.
const STEP_MAX_LEN: usize = 0x11;

/// Decodes the op at the start of the window `w` when it is one of the common ops (alloc,
/// store, append, load, copy, clear, event, probe, safe point, and a recording's new, interp
/// count and interp untrack), and hands it to the sink's fast path ([`OpSink::op_fast`]): one
/// opcode dispatch, no per-byte loop. Each arm calls the sink with an op of a known variant, so that an executor's
/// `op_fast`, inlined here, needs no second dispatch on the op; as that path cannot fail, the
/// op and a `Result` are built only when the sink declines it: the loop then decodes the op
/// again ([`fast_op_long`]) and hands it to [`OpSink::op`].
///
/// A safe point right after the op (every other op of a fidelity trace, one op in five of
/// `churn`) is executed in the same step, without going round the loop and through the
/// dispatch again.
///
/// Returns the number of bytes of the ops the sink consumed (1 to [`STEP_MAX_LEN`]; the ops, 1 or
/// 2, are added to `n`), or [`STEP_LONG`], [`STEP_STOPPED`] (with the sink's [`Stop`] in
/// `stopped`) or [`STEP_CAREFUL`]: one small integer, so that the loop around it keeps its
/// state in registers.
#[inline(always)]
fn fast_step<const FAST: bool, K: OpSink + ?Sized>(
    w: &[u8; FAST_MIN],
    sink: &mut K,
    stopped: &mut Option<Stop>,
    n: &mut u64,
) -> usize {
    use opcode::*;
    // Decodes the named operands in order after the opcode; `$at` ends up just past them. An
    // encoding `varint_at` declines (longer than 5 bytes, overflowing) is the careful path's.
    macro_rules! operands {
        ($at:ident: $($name:ident),+) => {
            let Some(([$($name),+], $at)) = operands(w) else {
                return STEP_CAREFUL;
            };
        };
    }
    // Hands an op of a known variant to the sink, in the arm that decoded it.
    macro_rules! done {
        ($op:expr, $len:expr) => {{
            let len: usize = $len;
            if FAST {
                if !sink.op_fast(&$op) {
                    // Declined, nothing done: the loop decodes it again for `OpSink::op`.
                    return STEP_LONG;
                }
                // `len` is at most 16 here, so the next op's first byte is in the window.
                if w.get(len) == Some(&SAFE_POINT) && sink.op_fast(&Op::SafePoint) {
                    *n += 2;
                    return len + 1;
                }
                *n += 1;
                return len;
            }
            match sink.op(&$op) {
                Ok(()) if w.get(len) == Some(&SAFE_POINT) => match sink.op(&Op::SafePoint) {
                    Ok(()) => {
                        *n += 2;
                        len + 1
                    }
                    Err(stop) => {
                        *stopped = Some(stop);
                        STEP_STOPPED
                    }
                },
                Ok(()) => {
                    *n += 1;
                    len
                }
                Err(stop) => {
                    *stopped = Some(stop);
                    STEP_STOPPED
                }
            }
        }};
    }
    match w[0] {
        SAFE_POINT => {
            if FAST {
                if !sink.op_fast(&Op::SafePoint) {
                    return STEP_LONG;
                }
            } else if let Err(stop) = sink.op(&Op::SafePoint) {
                *stopped = Some(stop);
                return STEP_STOPPED;
            }
            *n += 1;
            1
        }
        CLEAR => {
            operands!(at: dst);
            done!(Op::Clear { dst }, at)
        }
        STORE => {
            operands!(at: obj, slot, src);
            done!(Op::Store { obj, slot, src }, at)
        }
        LOAD => {
            operands!(at: dst, obj, slot);
            done!(Op::Load { dst, obj, slot }, at)
        }
        ALLOC => {
            let (dst, code, len, at) = if (w[1] | w[3]) < 0x80 {
                (u32::from(w[1]), w[2], u32::from(w[3]), 4)
            } else {
                let Some((dst, a)) = operand(w, 1) else {
                    return STEP_CAREFUL;
                };
                let code = w[1 + a];
                let Some((len, c)) = operand(w, 2 + a) else {
                    return STEP_CAREFUL;
                };
                (dst, code, len, 2 + a + c)
            };
            let Some(kind) = Kind::from_code(code) else {
                return STEP_CAREFUL;
            };
            done!(Op::Alloc { dst, kind, len }, at)
        }
        APPEND => {
            operands!(at: list, src);
            done!(Op::Append { list, src }, at)
        }
        COPY => {
            operands!(at: dst, src);
            done!(Op::Copy { dst, src }, at)
        }
        EVENT => {
            operands!(at: id);
            done!(Op::Event { id }, at)
        }
        PROBE => {
            operands!(at: reg, label);
            done!(Op::Probe { reg, label }, at)
        }
        // A recording's ops: most of its stream.
        NEW => {
            operands!(at: dst, ty, size);
            done!(Op::New { dst, ty, size }, at)
        }
        INTERP_COUNT => {
            operands!(at: z);
            done!(Op::Interp(InterpOp::Count { delta: unzigzag(z) }), at)
        }
        INTERP_UNTRACK => {
            operands!(at: reg);
            done!(Op::Interp(InterpOp::Untrack { reg }), at)
        }
        // Explicit arms at both ends of the byte range, answered differently from the rest,
        // let the jump table cover every opcode byte, with no range check before it.
        0x00 | END => STEP_CAREFUL,
        // Another opcode: `fast_op_long` declines it too, and the careful path decodes it.
        _ => STEP_LONG,
    }
}

/// [`varint_at`] at `*p`, moving `*p` past it.
#[inline(always)]
fn window_u32(w: &[u8; FAST_MIN], p: &mut usize) -> Option<u32> {
    let (v, len) = varint_at(w, *p)?;
    *p += len;
    Some(v)
}

/// The op [`fast_step`] answered [`STEP_LONG`] for (the sink's fast path declined it), decoded
/// again for [`OpSink::op`] (all within the window: the longest such op is 16 bytes): the op
/// and its length. `None` for any other opcode or encoding, left to [`BinaryDecoder::next_op`].
#[inline(never)]
fn fast_op_long(w: &[u8; FAST_MIN]) -> Option<(Op, usize)> {
    use opcode::*;
    let mut p = 1;
    let op = match w[0] {
        ALLOC => {
            let dst = window_u32(w, &mut p)?;
            let kind = Kind::from_code(*w.get(p)?)?;
            p += 1;
            let len = window_u32(w, &mut p)?;
            Op::Alloc { dst, kind, len }
        }
        STORE => {
            let obj = window_u32(w, &mut p)?;
            let slot = window_u32(w, &mut p)?;
            let src = window_u32(w, &mut p)?;
            Op::Store { obj, slot, src }
        }
        APPEND => {
            let list = window_u32(w, &mut p)?;
            let src = window_u32(w, &mut p)?;
            Op::Append { list, src }
        }
        LOAD => {
            let dst = window_u32(w, &mut p)?;
            let obj = window_u32(w, &mut p)?;
            let slot = window_u32(w, &mut p)?;
            Op::Load { dst, obj, slot }
        }
        COPY => {
            let dst = window_u32(w, &mut p)?;
            let src = window_u32(w, &mut p)?;
            Op::Copy { dst, src }
        }
        CLEAR => Op::Clear {
            dst: window_u32(w, &mut p)?,
        },
        EVENT => Op::Event {
            id: window_u32(w, &mut p)?,
        },
        PROBE => {
            let reg = window_u32(w, &mut p)?;
            let label = window_u32(w, &mut p)?;
            Op::Probe { reg, label }
        }
        SAFE_POINT => Op::SafePoint,
        NEW => {
            let dst = window_u32(w, &mut p)?;
            let ty = window_u32(w, &mut p)?;
            let size = window_u32(w, &mut p)?;
            Op::New { dst, ty, size }
        }
        INTERP_COUNT => Op::Interp(InterpOp::Count {
            delta: unzigzag(window_u32(w, &mut p)?),
        }),
        INTERP_UNTRACK => Op::Interp(InterpOp::Untrack {
            reg: window_u32(w, &mut p)?,
        }),
        _ => return None,
    };
    Some((op, p))
}

/// Bytes that must be buffered for [`fast_step`]: the longest op it decodes is 16 bytes, the
/// byte after it is read for a safe point, and [`varint_at`] loads 8 bytes at an operand that
/// starts at most 11 bytes in.
const FAST_MIN: usize = 24;

/// Size of the binary decoder's block buffer.
pub(super) const BLOCK: usize = 64 * 1024;

/// Binary-form decoder: reads the file in blocks into its own buffer and decodes from it.
///
/// `buf[pos..end]` holds the bytes read but not yet decoded, and `base` is the file offset of
/// `buf[0]`, so the offset of the next byte is `base + pos`: the hot loop keeps no per-op
/// bookkeeping for error positions.
pub(super) struct BinaryDecoder<R: Read> {
    r: R,
    buf: Vec<u8>,
    pos: usize,
    end: usize,
    base: u64,
    /// The reader has reported end of file.
    eof: bool,
    /// A read error met while reading ahead for the fast path, reported by the careful path once
    /// the bytes before it have been decoded (so that it carries the same offset as if it had
    /// been met byte by byte).
    pending: Option<io::Error>,
}

impl<R: Read> BinaryDecoder<R> {
    /// A decoder of the file whose first `end` bytes (the four-byte magic at least) are in
    /// `buf` (of [`BLOCK`] bytes), continuing from `r`; `eof`: `r` has reported end of file.
    /// The next byte it decodes is the one after the magic.
    pub(super) fn new(r: R, buf: Vec<u8>, end: usize, eof: bool) -> BinaryDecoder<R> {
        BinaryDecoder {
            r,
            buf,
            pos: MAGIC.len(),
            end,
            base: 0,
            eof,
            pending: None,
        }
    }

    fn off(&self) -> u64 {
        self.base + self.pos as u64
    }

    fn at(&self) -> Position {
        Position::Byte(self.off())
    }

    /// Moves the undecoded bytes to the front of the buffer and reads more after them (one
    /// successful read). Returns the number of bytes added: 0 at end of file.
    fn refill(&mut self) -> io::Result<usize> {
        if self.eof {
            return Ok(0);
        }
        if self.pos > 0 {
            self.buf.copy_within(self.pos..self.end, 0);
            self.base += self.pos as u64;
            self.end -= self.pos;
            self.pos = 0;
        }
        if self.end == self.buf.len() {
            // Not reached (callers refill with fewer than FAST_MIN bytes left), but never read
            // into an empty slice, which would look like end of file.
            self.buf.resize(self.buf.len() * 2, 0);
        }
        loop {
            match self.r.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(0);
                }
                Ok(n) => {
                    self.end += n;
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// [`Self::refill`] for the careful path: first reports an error met while reading ahead.
    fn fill(&mut self) -> io::Result<usize> {
        match self.pending.take() {
            Some(e) => Err(e),
            None => self.refill(),
        }
    }

    /// Reads ahead for the fast path; true if bytes were added. An error is kept for the
    /// careful path.
    fn read_ahead(&mut self) -> bool {
        if self.eof || self.pending.is_some() {
            return false;
        }
        match self.refill() {
            Ok(n) => n > 0,
            Err(e) => {
                self.pending = Some(e);
                false
            }
        }
    }

    /// Decodes the ops, handing each to `sink` as soon as it is decoded; returns their number
    /// once the end marker has been checked.
    ///
    /// The fast path ([`Self::run_fast`]) decodes the common ops while at least [`FAST_MIN`]
    /// bytes are buffered; anything else (other opcodes, malformed or unusual encodings, the
    /// end marker, the last bytes of the file) goes one op at a time through
    /// [`Self::next_op`], which has every check and error.
    ///
    /// `count` follows the ops handed over (it starts at 0), so that it says how many were read
    /// completely when a decoding error stops the stream.
    pub(super) fn feed<K: OpSink + ?Sized>(
        &mut self,
        sink: &mut K,
        count: &mut u64,
    ) -> Result<u64, TraceError> {
        loop {
            *count += self.run_fast(sink)?;
            if self.end - self.pos < FAST_MIN && self.read_ahead() {
                continue;
            }
            match self.next_op(*count)? {
                Some(op) => {
                    sink.op(&op).map_err(TraceError::Stopped)?;
                    *count += 1;
                }
                None => return Ok(*count),
            }
        }
    }

    /// Decodes common ops from the buffer while at least [`FAST_MIN`] bytes are buffered and
    /// hands each to `sink`; returns how many. Stops at the first op that [`fast_step`] and
    /// [`fast_op_long`] do not handle. With the executor as the sink, its `op_fast` inlines
    /// into `fast_step`, so that the decoder's `match` on the opcode is the only dispatch per
    /// op; an op it declines goes to [`OpSink::op`].
    #[inline(always)]
    fn run_fast<K: OpSink + ?Sized>(&mut self, sink: &mut K) -> Result<u64, TraceError> {
        if sink.has_fast_path() {
            self.run_fast_with::<true, K>(sink)
        } else {
            self.run_fast_with::<false, K>(sink)
        }
    }

    /// [`Self::run_fast`], with each op handed to the sink's [`OpSink::op_fast`] first (`FAST`)
    /// or straight to [`OpSink::op`]. A function of its own for each, so that each loop keeps
    /// its state in registers.
    #[inline(never)]
    fn run_fast_with<const FAST: bool, K: OpSink + ?Sized>(
        &mut self,
        sink: &mut K,
    ) -> Result<u64, TraceError> {
        let buf = self.buf.get(..self.end).unwrap_or_default();
        let mut rest = buf.get(self.pos..).unwrap_or_default();
        let mut n: u64 = 0;
        let mut stopped = None;
        let r = loop {
            let Some(w) = rest.first_chunk::<FAST_MIN>() else {
                break Ok(n);
            };
            let step = fast_step::<FAST, K>(w, sink, &mut stopped, &mut n);
            if step <= STEP_MAX_LEN {
                // The window holds 24 bytes and `step` is at most 17: no bounds check.
                rest = &rest[step..];
                continue;
            }
            let len = if step == STEP_LONG {
                let Some((op, len)) = fast_op_long(w) else {
                    break Ok(n);
                };
                if let Err(stop) = sink.op(&op) {
                    break Err(TraceError::Stopped(stop));
                }
                n += 1;
                len
            } else if step == STEP_STOPPED {
                break Err(TraceError::Stopped(
                    stopped
                        .take()
                        .unwrap_or(Stop::Sink("the sink stopped the stream".into())),
                ));
            } else {
                break Ok(n);
            };
            // `len` is at most 16, within the window, so this never fails.
            rest = rest.get(len..).unwrap_or_default();
        };
        self.pos = buf.len() - rest.len();
        r
    }

    /// The next byte, or `None` at end of file.
    #[inline]
    fn byte(&mut self) -> Result<Option<u8>, TraceError> {
        loop {
            if let Some(&b) = self.buf.get(self.pos).filter(|_| self.pos < self.end) {
                self.pos += 1;
                return Ok(Some(b));
            }
            match self.fill() {
                Ok(0) => return Ok(None),
                Ok(_) => {}
                Err(source) => {
                    return Err(TraceError::Io {
                        at: self.at(),
                        source,
                    })
                }
            }
        }
    }

    /// The next byte, which must exist.
    fn need(&mut self, what: &str) -> Result<u8, TraceError> {
        match self.byte()? {
            Some(b) => Ok(b),
            None => Err(TraceError::Truncated {
                at: self.at(),
                expected: what.to_string(),
            }),
        }
    }

    /// A LEB128 varint of at most 64 bits (10 bytes).
    fn varint(&mut self, what: &str) -> Result<u64, TraceError> {
        let start = self.off();
        let mut v: u64 = 0;
        let mut shift = 0u32;
        loop {
            let b = self.need(what)?;
            if shift == 63 && b > 1 {
                return Err(TraceError::VarintOverflow {
                    at: Position::Byte(start),
                    expected: format!("{what} as a LEB128 varint of at most 64 bits (10 bytes)"),
                });
            }
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
            shift += 7;
        }
    }

    fn varint_u32(&mut self, what: &str) -> Result<u32, TraceError> {
        let start = self.off();
        let v = self.varint(what)?;
        u32::try_from(v).map_err(|_| TraceError::VarintOverflow {
            at: Position::Byte(start),
            expected: format!("{what} to fit in 32 bits, found {v}"),
        })
    }

    fn zigzag_i32(&mut self, what: &str) -> Result<i32, TraceError> {
        Ok(unzigzag(self.varint_u32(what)?))
    }

    /// A generation byte of at most `max`.
    fn generation(
        &mut self,
        byte_what: &str,
        what: &'static str,
        max: u8,
    ) -> Result<u8, TraceError> {
        let at = self.at();
        let g = self.need(byte_what)?;
        if g > max {
            return Err(TraceError::LimitExceeded {
                at,
                what,
                value: g.into(),
                limit: max.into(),
            });
        }
        Ok(g)
    }

    fn bounded(&mut self, what: &'static str, limit: u64) -> Result<u64, TraceError> {
        let start = self.off();
        let v = self.varint(what)?;
        if v > limit {
            return Err(TraceError::LimitExceeded {
                at: Position::Byte(start),
                what,
                value: v,
                limit,
            });
        }
        Ok(v)
    }

    /// A length-prefixed UTF-8 string of at most [`MAX_STRING_BYTES`], read incrementally (the
    /// memory used grows with the bytes actually present, never with the declared length).
    fn string(&mut self, what: &'static str, len_what: &'static str) -> Result<String, TraceError> {
        let len = self.bounded(len_what, MAX_STRING_BYTES)?;
        let start = self.off();
        let mut bytes = Vec::new();
        let mut left = len as usize;
        while left > 0 {
            if self.pos == self.end {
                match self.fill() {
                    Ok(0) => break,
                    Ok(_) => {}
                    Err(source) => {
                        return Err(TraceError::Io {
                            at: Position::Byte(start),
                            source,
                        })
                    }
                }
            }
            let take = left.min(self.end - self.pos);
            bytes.extend_from_slice(self.buf.get(self.pos..self.pos + take).unwrap_or_default());
            self.pos += take;
            left -= take;
        }
        if left > 0 {
            return Err(TraceError::Truncated {
                at: self.at(),
                expected: format!("{left} more bytes of {what}"),
            });
        }
        String::from_utf8(bytes).map_err(|e| TraceError::InvalidUtf8 {
            at: Position::Byte(start + e.utf8_error().valid_up_to() as u64),
            expected: what,
        })
    }

    pub(super) fn header(&mut self) -> Result<StreamHeader, TraceError> {
        let at = self.at();
        let lo = self.need("the format version (u16, little-endian)")?;
        let hi = self.need("the format version (u16, little-endian)")?;
        let version = u16::from_le_bytes([lo, hi]);
        if !(1..=VERSION).contains(&version) {
            return Err(TraceError::UnsupportedVersion {
                at,
                version: version.into(),
            });
        }
        let workload = self.string("the workload name", "length of the workload name")?;
        let seed = self.varint("the seed")?;
        let at = self.at();
        let registers = self.varint_u32("the register count")?;
        if registers > MAX_REGISTERS {
            return Err(TraceError::LimitExceeded {
                at,
                what: "register count",
                value: registers.into(),
                limit: MAX_REGISTERS.into(),
            });
        }
        let n = self.bounded("parameter count", MAX_PARAMS)?;
        let mut params = Vec::with_capacity(n.min(64) as usize);
        for _ in 0..n {
            let k = self.string("a parameter key", "length of a parameter key")?;
            let v = self.string("a parameter value", "length of a parameter value")?;
            params.push((k, v));
        }
        let n = self.bounded("name-table size", MAX_NAMES)?;
        let mut names = Vec::with_capacity(n.min(1024) as usize);
        for _ in 0..n {
            names.push(self.string("a name", "length of a name")?);
        }
        let mut types = Vec::new();
        if version >= 2 {
            let n = self.bounded("type-table size", MAX_TYPES)?;
            types.reserve(n.min(1024) as usize);
            for _ in 0..n {
                let name = self.string("a type name", "length of a type name")?;
                let at = self.at();
                let gc = match self.need("the container flag of a type (0 or 1)")? {
                    0 => false,
                    1 => true,
                    other => {
                        return Err(TraceError::Syntax {
                            at,
                            found: format!("{other}"),
                            expected: "a type's container flag, 0 or 1".into(),
                        })
                    }
                };
                types.push(TypeInfo { name, gc });
            }
        }
        Ok(StreamHeader {
            workload,
            params,
            seed,
            registers,
            names,
            types,
        })
    }

    /// The next op, or `None` after a valid end marker (its count equal to `count` and nothing
    /// after it).
    fn next_op(&mut self, count: u64) -> Result<Option<Op>, TraceError> {
        use opcode::*;
        let at = self.at();
        let Some(code) = self.byte()? else {
            return Err(TraceError::Truncated {
                at,
                expected: "an opcode or the end marker (0xff followed by the op count)".into(),
            });
        };
        let op = match code {
            ALLOC => {
                let dst = self.varint_u32("the dst register of alloc")?;
                let at = self.at();
                let code = self.need("the kind byte of alloc")?;
                let kind = Kind::from_code(code).ok_or_else(|| TraceError::UnknownKind {
                    at,
                    found: format!("code {code}"),
                    expected:
                        "a kind code 0..=9 (int, float, str, bytes, tuple, list, dict, instance, object, leaf)",
                })?;
                let len = self.varint_u32("the len of alloc")?;
                Op::Alloc { dst, kind, len }
            }
            STORE => {
                let obj = self.varint_u32("the obj register of store")?;
                let slot = self.varint_u32("the slot of store")?;
                let src = self.varint_u32("the src register of store")?;
                Op::Store { obj, slot, src }
            }
            APPEND => {
                let list = self.varint_u32("the list register of append")?;
                let src = self.varint_u32("the src register of append")?;
                Op::Append { list, src }
            }
            LOAD => {
                let dst = self.varint_u32("the dst register of load")?;
                let obj = self.varint_u32("the obj register of load")?;
                let slot = self.varint_u32("the slot of load")?;
                Op::Load { dst, obj, slot }
            }
            COPY => {
                let dst = self.varint_u32("the dst register of copy")?;
                let src = self.varint_u32("the src register of copy")?;
                Op::Copy { dst, src }
            }
            CLEAR => Op::Clear {
                dst: self.varint_u32("the dst register of clear")?,
            },
            EVENT => Op::Event {
                id: self.varint_u32("the name id of event")?,
            },
            PROBE => {
                let reg = self.varint_u32("the register of probe")?;
                let label = self.varint_u32("the label name id of probe")?;
                Op::Probe { reg, label }
            }
            SAFE_POINT => Op::SafePoint,
            GC_COLLECT => Op::Gc(GcOp::Collect {
                generation: self.zigzag_i32("the generation (zig-zag) of gc collect")?,
            }),
            GC_FREEZE => Op::Gc(GcOp::Freeze),
            GC_UNFREEZE => Op::Gc(GcOp::Unfreeze),
            GC_ENABLE => Op::Gc(GcOp::Enable),
            GC_DISABLE => Op::Gc(GcOp::Disable),
            GC_SET_THRESHOLD => {
                let t0 = self.zigzag_i32("the t0 (zig-zag) of gc threshold")?;
                let t1 = self.zigzag_i32("the t1 (zig-zag) of gc threshold")?;
                let t2 = self.zigzag_i32("the t2 (zig-zag) of gc threshold")?;
                Op::Gc(GcOp::SetThreshold { t0, t1, t2 })
            }
            NEW => {
                let dst = self.varint_u32("the dst register of new")?;
                let ty = self.varint_u32("the type of new")?;
                let size = self.varint_u32("the size of new")?;
                Op::New { dst, ty, size }
            }
            INTERP_COUNT => Op::Interp(InterpOp::Count {
                delta: self.zigzag_i32("the delta (zig-zag) of interp count")?,
            }),
            INTERP_TRACK => {
                let reg = self.varint_u32("the register of interp track")?;
                let generation = self.generation(
                    "the generation byte of interp track",
                    "generation of interp track",
                    MAX_TRACK_GENERATION,
                )?;
                Op::Interp(InterpOp::Track { reg, generation })
            }
            INTERP_UNTRACK => Op::Interp(InterpOp::Untrack {
                reg: self.varint_u32("the register of interp untrack")?,
            }),
            INTERP_SET_COUNT => {
                let generation = self.generation(
                    "the generation byte of interp set-count",
                    "generation of interp set-count",
                    MAX_COUNT_GENERATION,
                )?;
                let value = self.varint_u32("the value of interp set-count")?;
                Op::Interp(InterpOp::SetCount { generation, value })
            }
            INTERP_LONG_LIVED => {
                let total = self.varint_u32("the total of interp long-lived")?;
                let pending = self.varint_u32("the pending of interp long-lived")?;
                Op::Interp(InterpOp::LongLived { total, pending })
            }
            END => {
                let at = self.at();
                let declared = self.varint("the op count of the end marker")?;
                if declared != count {
                    return Err(TraceError::CountMismatch {
                        at,
                        declared,
                        actual: count,
                    });
                }
                let at = self.at();
                if self.byte()?.is_some() {
                    return Err(TraceError::TrailingGarbage { at });
                }
                return Ok(None);
            }
            other => {
                return Err(TraceError::UnknownOpcode {
                    at,
                    found: format!("0x{other:02x}"),
                    expected:
                        "an opcode 0x01..=0x0a, 0x10..=0x15, 0x20..=0x24 or the end marker 0xff",
                })
            }
        };
        Ok(Some(op))
    }
}
