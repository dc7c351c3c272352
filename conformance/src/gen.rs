//! Random op streams that are always valid.
//!
//! proptest generates a vector of [`RawOp`] templates; [`interpret`] turns each template into a
//! concrete [`Op`] against the current state of the program (which registers hold which kind of
//! container, how many slots each has), or drops it when no object fits. Because the stream is
//! re-interpreted after every shrinking step, any subsequence proptest tries is still a valid
//! stream, and shrinking can remove ops freely.
//!
//! Two families of streams: [`raw_stream`], the generated programs (allocations of the built-in
//! kinds, stores, `gc` calls), and [`recorded_stream`], which mixes into the same templates what
//! a recording of a real program carries: objects of the header's type table ([`TYPES`], `New`
//! ops) and the interpreter's own collector ops (`Interp`: young-count changes of any sign,
//! tracks and untracks of registers that may be empty, initial counts and long-lived statistics
//! of any value). The second family is an addition: the first draws exactly the streams it drew
//! before recorded ops existed.

use gclab_core::heap::{Heap, ObjId};
use gclab_core::kind::{Kind, ALL_KINDS};
use gclab_core::op::{GcOp, InterpOp, Op, Reg, TypeInfo};
use gclab_core::trace::{MAX_COUNT_GENERATION, MAX_TRACK_GENERATION};
use proptest::prelude::*;
use std::collections::HashSet;

/// The name table of every generated stream (`Event` and `Probe` ops index it).
pub const NAMES: [&str; 3] = ["request_end", "fork", "probe"];

/// The type table of every recorded stream (`New` ops index it), as (name, container type):
/// containers, whose objects take slots like an instance's attributes, and non-containers.
pub const TYPES: [(&str, bool); 4] = [
    ("Node", true),
    ("str", false),
    ("functools.partial", true),
    ("int", false),
];

/// [`TYPES`] as a header's type table.
pub fn types() -> Vec<TypeInfo> {
    TYPES
        .iter()
        .map(|&(name, gc)| TypeInfo {
            name: name.into(),
            gc,
        })
        .collect()
}

/// One op template. Register numbers are taken modulo the register count; when a template needs
/// a container and the named register does not hold one that fits, the next register that does
/// is used, and the template is dropped if none does.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum RawOp {
    /// `dst = kind(len)`.
    Alloc {
        /// Destination register.
        dst: u8,
        /// Kind code (see [`Kind`]).
        kind: u8,
        /// Length.
        len: u8,
    },
    /// `obj[slot] = src`.
    Store {
        /// Preferred container register.
        obj: u8,
        /// Slot, modulo the slots available (one more for a dict or instance: a new key).
        slot: u8,
        /// Value register (may be empty: stores `None`).
        src: u8,
    },
    /// `list.append(src)`.
    Append {
        /// Preferred list register.
        list: u8,
        /// Value register.
        src: u8,
    },
    /// `dst = obj[slot]`.
    Load {
        /// Destination register.
        dst: u8,
        /// Preferred container register.
        obj: u8,
        /// Slot, modulo the slots present.
        slot: u8,
    },
    /// `dst = src`.
    Copy {
        /// Destination.
        dst: u8,
        /// Source.
        src: u8,
    },
    /// `del dst`.
    Clear {
        /// Register.
        dst: u8,
    },
    /// A named event.
    Event {
        /// Index into [`NAMES`].
        id: u8,
    },
    /// A probe of a register.
    Probe {
        /// Register.
        reg: u8,
    },
    /// A safe point.
    SafePoint,
    /// A `gc` call (generations always valid, thresholds small).
    Gc(GcOp),
    /// A recorded object: `dst = New(type, size)` (recorded streams only).
    New {
        /// Destination register.
        dst: u8,
        /// Index into [`TYPES`], modulo its length.
        ty: u8,
        /// Size in bytes.
        size: u16,
    },
    /// An interpreter op (recorded streams only); its register, if any, is taken modulo the
    /// register count, and an untrack is kept only where it cannot hide a cycle (see
    /// [`Interpreter`]).
    Interp(InterpOp),
}

fn reg(n: u8) -> impl Strategy<Value = u8> {
    0..n
}

fn gc_op() -> impl Strategy<Value = GcOp> {
    prop_oneof![
        4 => (0i32..=2).prop_map(|generation| GcOp::Collect { generation }),
        1 => Just(GcOp::Freeze),
        1 => Just(GcOp::Unfreeze),
        1 => Just(GcOp::Enable),
        1 => Just(GcOp::Disable),
        2 => (0i32..5, 0i32..3, 0i32..3).prop_map(|(t0, t1, t2)| GcOp::SetThreshold { t0, t1, t2 }),
    ]
}

/// A proptest strategy for one template over `registers` registers. Weights favour
/// allocations and stores, so that streams build graphs with cycles.
pub fn raw_op(registers: u8) -> impl Strategy<Value = RawOp> {
    let n = registers.max(1);
    // Containers twice as often as atoms.
    let kind = prop_oneof![1 => 0u8..4, 2 => 4u8..8];
    prop_oneof![
        6 => (reg(n), kind, 0u8..4).prop_map(|(dst, kind, len)| RawOp::Alloc { dst, kind, len }),
        8 => (reg(n), any::<u8>(), reg(n)).prop_map(|(obj, slot, src)| RawOp::Store { obj, slot, src }),
        2 => (reg(n), reg(n)).prop_map(|(list, src)| RawOp::Append { list, src }),
        2 => (reg(n), reg(n), any::<u8>()).prop_map(|(dst, obj, slot)| RawOp::Load { dst, obj, slot }),
        2 => (reg(n), reg(n)).prop_map(|(dst, src)| RawOp::Copy { dst, src }),
        3 => reg(n).prop_map(|dst| RawOp::Clear { dst }),
        1 => (0u8..NAMES.len() as u8).prop_map(|id| RawOp::Event { id }),
        1 => reg(n).prop_map(|reg| RawOp::Probe { reg }),
        1 => Just(RawOp::SafePoint),
        3 => gc_op().prop_map(RawOp::Gc),
    ]
}

/// A proptest strategy for a stream of at most `max_ops` templates.
pub fn raw_stream(registers: u8, max_ops: usize) -> impl Strategy<Value = Vec<RawOp>> {
    proptest::collection::vec(raw_op(registers), 0..=max_ops)
}

/// A `u32` that is usually small and sometimes anything.
fn small_or_any() -> impl Strategy<Value = u32> {
    prop_oneof![3 => 0u32..20, 1 => any::<u32>()]
}

/// A proptest strategy for one interpreter op over `registers` registers: counts of any sign
/// (mostly ±1, as a recording has them), every generation, any values.
pub fn interp_op(registers: u8) -> impl Strategy<Value = InterpOp> {
    let n = u32::from(registers.max(1));
    prop_oneof![
        4 => prop_oneof![3 => -1i32..=1, 1 => any::<i32>()].prop_map(|delta| InterpOp::Count { delta }),
        3 => (0..n, 0..=MAX_TRACK_GENERATION).prop_map(|(reg, generation)| InterpOp::Track { reg, generation }),
        3 => (0..n).prop_map(|reg| InterpOp::Untrack { reg }),
        1 => (0..=MAX_COUNT_GENERATION, small_or_any())
            .prop_map(|(generation, value)| InterpOp::SetCount { generation, value }),
        1 => (small_or_any(), small_or_any())
            .prop_map(|(total, pending)| InterpOp::LongLived { total, pending }),
    ]
}

/// A proptest strategy for one template of a recorded stream: the generated templates
/// ([`raw_op`]) mixed with `New` objects of [`TYPES`] and interpreter ops.
pub fn recorded_op(registers: u8) -> impl Strategy<Value = RawOp> {
    let n = registers.max(1);
    prop_oneof![
        10 => raw_op(registers),
        4 => (reg(n), 0u8..TYPES.len() as u8, prop_oneof![0u16..200, any::<u16>()])
            .prop_map(|(dst, ty, size)| RawOp::New { dst, ty, size }),
        4 => interp_op(registers).prop_map(RawOp::Interp),
    ]
}

/// A proptest strategy for a recorded stream of at most `max_ops` templates (its header needs
/// the type table [`types`]).
pub fn recorded_stream(registers: u8, max_ops: usize) -> impl Strategy<Value = Vec<RawOp>> {
    proptest::collection::vec(recorded_op(registers), 0..=max_ops)
}

/// The first register, starting at `start` and wrapping, whose object satisfies `fits(kind,
/// slots)`.
fn find_reg(heap: &Heap, start: u8, fits: impl Fn(Kind, usize) -> bool) -> Option<(Reg, usize)> {
    find_reg_id(heap, start, |_, k, len| fits(k, len))
}

/// [`find_reg`] with the object's id passed to `fits`.
fn find_reg_id(
    heap: &Heap,
    start: u8,
    fits: impl Fn(ObjId, Kind, usize) -> bool,
) -> Option<(Reg, usize)> {
    let regs = heap.registers();
    let n = regs.len();
    (0..n).find_map(|k| {
        let r = (start as usize + k) % n;
        let v = regs[r];
        if v.is_nil() || !heap.is_live(v) {
            return None;
        }
        let len = heap.slots(v).len();
        fits(v, heap.kind(v), len).then_some((r as Reg, len))
    })
}

/// Turns templates into valid ops, one at a time, for the program state in a heap (whose
/// registers and objects are those the program sees).
///
/// Tuples are filled the way Python fills them: only while the tuple is *fresh*, between its
/// allocation and the next op that could run a collection (an allocation, a safe point, a `gc`
/// call, an event, or in a recorded stream a `New` or an interpreter op). A collector may
/// untrack a tuple whose items are all atoms (CPython does), so a stream that later stored a
/// container into it would not be a Python program.
///
/// Untracks follow the same rule as CPython's own: an object leaves the collector's lists only
/// while it refers to no container (so it cannot be on a cycle), and until a track brings it
/// back no container is stored into it. An untrack of an object that refers to a container goes
/// to the next register that is empty or holds an object it may untrack, and is dropped if
/// there is none. Without the rule a recording could hide a garbage cycle from a CPython model,
/// which would then rightly keep it: not a property of the model but of the stream.
#[derive(Debug, Default, Clone)]
pub struct Interpreter {
    fresh_tuple: Option<ObjId>,
    /// The objects an `Untrack` op took off the collector's lists (and no `Track` put back).
    untracked: HashSet<ObjId>,
}

impl Interpreter {
    /// A fresh interpreter for a new stream.
    pub fn new() -> Interpreter {
        Interpreter::default()
    }

    /// The op for `raw` (see [`interpret`]), with tuple stores limited to the fresh tuple and
    /// untracks to objects that refer to no container.
    pub fn next(&self, raw: &RawOp, heap: &Heap) -> Option<Op> {
        interpret_with(raw, heap, self.fresh_tuple, &self.untracked)
    }

    /// Updates the state after `op` was executed on `heap`.
    pub fn after(&mut self, op: &Op, heap: &Heap) {
        match *op {
            Op::Alloc {
                dst,
                kind: Kind::Tuple,
                ..
            } => self.fresh_tuple = heap.registers().get(dst as usize).copied(),
            Op::Alloc { .. }
            | Op::SafePoint
            | Op::Gc(_)
            | Op::Event { .. }
            | Op::New { .. }
            | Op::Interp(_) => self.fresh_tuple = None,
            _ => {}
        }
        match *op {
            Op::Interp(InterpOp::Untrack { reg }) => {
                if let Some(&v) = heap.registers().get(reg as usize).filter(|v| !v.is_nil()) {
                    self.untracked.insert(v);
                }
            }
            Op::Interp(InterpOp::Track { reg, .. }) => {
                if let Some(v) = heap.registers().get(reg as usize) {
                    self.untracked.remove(v);
                }
            }
            _ => {}
        }
    }
}

/// Turns a template into a valid op for the program state in `heap`, or `None` when no object
/// fits the template. Stores into any tuple, and untracks of anything, are allowed (see
/// [`Interpreter`] for the Python-faithful variant the suite uses).
pub fn interpret(raw: &RawOp, heap: &Heap) -> Option<Op> {
    match raw {
        RawOp::Interp(InterpOp::Untrack { reg }) => {
            let n = heap.registers().len().max(1);
            Some(Op::Interp(InterpOp::Untrack {
                reg: (*reg as usize % n) as Reg,
            }))
        }
        _ => interpret_with(raw, heap, None, &HashSet::new()).or_else(|| match raw {
            RawOp::Store { .. } => interpret_any_tuple(raw, heap),
            _ => None,
        }),
    }
}

fn interpret_any_tuple(raw: &RawOp, heap: &Heap) -> Option<Op> {
    let RawOp::Store { obj, slot, src } = *raw else {
        return None;
    };
    let n = heap.registers().len().max(1);
    let (o, len) = find_reg(heap, obj, |k, len| k == Kind::Tuple && len > 0)?;
    Some(Op::Store {
        obj: o,
        slot: (slot as usize % len) as u32,
        src: (src as usize % n) as Reg,
    })
}

/// True if the object in register `r` is a container (which an untracked object must not be
/// given: see [`Interpreter`]).
fn holds_container(heap: &Heap, r: Reg) -> bool {
    heap.registers()
        .get(r as usize)
        .is_some_and(|&v| !v.is_nil() && heap.kind(v).is_container())
}

/// True if `id` refers to no container (so an untrack cannot hide a cycle through it).
fn refers_to_no_container(heap: &Heap, id: ObjId) -> bool {
    heap.slots(id)
        .iter()
        .all(|&c| c.is_nil() || !heap.kind(c).is_container())
}

fn interpret_with(
    raw: &RawOp,
    heap: &Heap,
    fresh_tuple: Option<ObjId>,
    untracked: &HashSet<ObjId>,
) -> Option<Op> {
    let n = heap.registers().len().max(1);
    let r = |x: u8| (x as usize % n) as Reg;
    // A store into an object the stream untracked may not add a container (see Interpreter).
    let may_take = |id: ObjId, src: Reg| !untracked.contains(&id) || !holds_container(heap, src);
    Some(match *raw {
        RawOp::Alloc { dst, kind, len } => Op::Alloc {
            dst: r(dst),
            kind: ALL_KINDS[kind as usize % ALL_KINDS.len()],
            len: len as u32,
        },
        RawOp::Store { obj, slot, src } => {
            let (o, len) = find_reg_id(heap, obj, |id, k, len| {
                may_take(id, r(src))
                    && match k {
                        Kind::Tuple => len > 0 && Some(id) == fresh_tuple,
                        Kind::List => len > 0,
                        Kind::Dict | Kind::Instance | Kind::Object => true,
                        _ => false,
                    }
            })?;
            let kind = heap.kind(heap.registers()[o as usize]);
            let choices = if matches!(kind, Kind::Dict | Kind::Instance | Kind::Object) {
                len + 1
            } else {
                len
            };
            Op::Store {
                obj: o,
                slot: (slot as usize % choices) as u32,
                src: r(src),
            }
        }
        RawOp::Append { list, src } => {
            let (l, _) = find_reg_id(heap, list, |id, k, _| {
                k == Kind::List && may_take(id, r(src))
            })?;
            Op::Append {
                list: l,
                src: r(src),
            }
        }
        RawOp::Load { dst, obj, slot } => {
            let (o, len) = find_reg(heap, obj, |k, len| k.is_container() && len > 0)?;
            Op::Load {
                dst: r(dst),
                obj: o,
                slot: (slot as usize % len) as u32,
            }
        }
        RawOp::Copy { dst, src } => Op::Copy {
            dst: r(dst),
            src: r(src),
        },
        RawOp::Clear { dst } => Op::Clear { dst: r(dst) },
        RawOp::Event { id } => Op::Event {
            id: id as u32 % NAMES.len() as u32,
        },
        RawOp::Probe { reg } => Op::Probe {
            reg: r(reg),
            label: 2,
        },
        RawOp::SafePoint => Op::SafePoint,
        RawOp::Gc(g) => Op::Gc(g),
        RawOp::New { dst, ty, size } => Op::New {
            dst: r(dst),
            ty: u32::from(ty) % TYPES.len() as u32,
            size: u32::from(size),
        },
        RawOp::Interp(i) => Op::Interp(match i {
            InterpOp::Track { reg, generation } => InterpOp::Track {
                reg: reg % n as u32,
                generation,
            },
            InterpOp::Untrack { reg } => {
                // The register, or the next one, that is empty or holds an object referring
                // to no container.
                let regs = heap.registers();
                let reg = (0..n).map(|k| (reg as usize + k) % n).find(|&k| {
                    regs.get(k)
                        .is_none_or(|&v| v.is_nil() || refers_to_no_container(heap, v))
                })?;
                InterpOp::Untrack { reg: reg as Reg }
            }
            other => other,
        }),
    })
}
