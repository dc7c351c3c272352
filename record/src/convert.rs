//! Turning a raw recording into a gclab op stream that CPython's model replays as the real
//! interpreter ran.
//!
//! # What the recording knows, and what the stream says
//!
//! A recording sees every object's creation and death, the young count at each of them, and, at
//! each real collection's start, the objects of the generations collected with their referents.
//! It does not see the program's pointer stores. The converter therefore keeps, for every live
//! object, one reference in a register of its own (a root) from its creation to its recorded
//! death, and gives the model the object graph where the collector looks at it:
//!
//! - **Deaths by reference counting** are replayed as they happened: the references the model
//!   still has to the object (edges it was given at earlier collections) are overwritten with
//!   `None`, then its register is cleared, so every strategy that counts references frees it at
//!   that op.
//! - **At each real collection** the model's young generations are made what the snapshot says:
//!   objects the interpreter tracked or untracked meanwhile are tracked or untracked
//!   ([`InterpOp::Track`], [`InterpOp::Untrack`]); each snapshot object's slots become its
//!   recorded referents; survivors the real collector will untrack are untracked first (so that
//!   the survivor counts, and with them `long_lived_pending`, agree); and the objects the real
//!   collection freed lose their register and every reference from outside the snapshot. The
//!   model then finds exactly them unreachable, if it computes what CPython computes.
//! - **The young count** comes from the recording ([`InterpOp::Count`]), because CPython's free
//!   lists and allocators decide which allocations count. A CPython model triggers on it as the
//!   interpreter does: 3.11 at the count op, 3.12+ at the next [`Op::SafePoint`]. The converter
//!   puts a safe point before every increment, except between the real threshold crossing and the
//!   real collection (where the interpreter had not reached its eval breaker yet), and one at each
//!   real collection's start.
//!
//! Under other settings than the recorded ones (other thresholds, another strategy) the same
//! stream is an approximation: garbage becomes unreachable at the real collection that found it,
//! not earlier, and edges are those of the last snapshot. `docs/recording.md` says what that
//! costs, measured.
//!
//! The conversion runs twice over the raw log (see [`convert`]): the first pass learns the types,
//! each object's size at death and the registers needed, which the stream header and `New` ops
//! must carry before they are known.

use crate::raw::{Event, Mark, RawError, RawReader, F_GC_TYPE, F_IN_GC};
use gclab_core::op::{GcOp, InterpOp, Op, StreamHeader, TypeInfo};
use gclab_core::trace::MAX_REGISTERS;
use gclab_core::workload::{OpSink, Stop};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::io::Read;
use thiserror::Error;

/// No object.
const NONE: u32 = u32::MAX;
/// The stream's event names: the program marked the end of its start-up
/// (`sys.modules["gclab_marker"].startup()`).
pub const EVENT_NAMES: [&str; 1] = ["startup"];
const STARTUP_EVENT: u32 = 0;
/// The register that is never written: storing it stores `None`.
const NIL_REG: u32 = 0;
/// Larger than any object of a recorded program (1 GiB): a size beyond it was misread.
const MAX_PLAUSIBLE_SIZE: u32 = 1 << 30;
/// The register pools, as [start, end): see `Converter::alloc_reg`.
const POOLS: [(u32, u32); 3] = [(NIL_REG + 1, 128), (128, 16384), (16384, u32::MAX)];
/// An object that dies within this many records of its creation goes to the first pool, within
/// the second bound to the second pool.
const LIFETIME_CLASSES: [u64; 2] = [4096, 1 << 20];

/// What made a real collection run.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Trigger {
    /// The young count passed the threshold.
    Automatic,
    /// The program called `gc.collect()`.
    Manual,
}

/// One real collection, as the collector log beside a recording lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RealCollection {
    /// Position in the recording, from 0.
    pub index: u64,
    /// The generation collected.
    pub generation: u8,
    /// Objects collected (what `gc.callbacks` reported).
    pub collected: u64,
    /// Objects found uncollectable.
    pub uncollectable: u64,
    /// Wall time from the "start" to the "stop" callback, ns (the recorder's snapshot included).
    pub duration_ns: u64,
    /// The three generation counts when it started.
    pub counts_before: [u32; 3],
    /// Why it ran.
    pub trigger: Trigger,
    /// Objects in the generations collected, at its start.
    pub examined: u64,
    /// Of those, the objects that died during it.
    pub died: u64,
    /// Index of the op of the converted stream at which a faithful model collects.
    pub at_op: u64,
}

/// What the conversion had to infer or could not place, for the fidelity report.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostics {
    /// Records read.
    pub records: u64,
    /// Objects created while recording.
    pub creates: u64,
    /// Recorded deaths of known objects.
    pub deaths: u64,
    /// Of those, deaths by reference counting outside any collection.
    pub refcount_deaths: u64,
    /// Deaths by reference counting inside a collection (objects its callbacks and finalizers
    /// dropped).
    pub collection_deaths: u64,
    /// Deaths of objects held by a collection's garbage (freed when the garbage was): a pure
    /// reference counter never frees them.
    pub held_by_garbage: u64,
    /// Unreachable objects of a snapshot that did not die in the collection (resurrected by a
    /// finalizer, or uncollectable): they keep their root.
    pub unreachable_survivors: u64,
    /// Objects that existed before the recording and were given to the model.
    pub materialized: u64,
    /// Deaths inferred because an address was created again without a recorded death (a missed
    /// `tp_dealloc`, or an in-place resize).
    pub inferred_deaths: u64,
    /// Deaths of objects the recording never saw alive (they existed before it started).
    pub unknown_deaths: u64,
    /// Edges to objects the recording never saw alive (immortal or older objects), left out.
    pub unknown_referents: u64,
    /// Track and untrack ops emitted to match the snapshots.
    pub tracking_fixes: u64,
    /// Slot stores emitted to give the model the snapshots' edges.
    pub edge_stores: u64,
    /// Ops in the stream.
    pub ops: u64,
    /// Objects whose recorded size was implausible (over 1 GiB): given their type's basic size.
    pub implausible_sizes: u64,
    /// The recording had no END record (the program was killed): what was complete was kept.
    pub truncated: Option<String>,
}

/// A converted recording: the stream's header, the real collections and the diagnostics.
#[derive(Clone, Debug)]
pub struct Conversion {
    /// The header the stream was written with.
    pub header: StreamHeader,
    /// The real run's collections, in order.
    pub collections: Vec<RealCollection>,
    /// What the conversion inferred.
    pub diagnostics: Diagnostics,
    /// The recording interpreter's `PY_VERSION_HEX`.
    pub python_hex: u32,
}

/// A recording that cannot be converted.
#[derive(Debug, Error)]
pub enum ConvertError {
    /// The raw log cannot be read.
    #[error(transparent)]
    Raw(#[from] RawError),
    /// The sink refused the stream.
    #[error("writing the converted stream failed: {0}")]
    Sink(Stop),
    /// More objects live at once than a stream may have registers.
    #[error("the recording holds {0} objects at once, more than the {MAX_REGISTERS} registers a stream may have")]
    TooManyObjects(u64),
}

/// Converts the raw log that `open` opens (called twice: two passes) into an op stream for
/// `sink`, whose header gets `workload` and `params`.
pub fn convert<R: Read>(
    mut open: impl FnMut() -> std::io::Result<R>,
    workload: &str,
    params: Vec<(String, String)>,
    sink: &mut dyn OpSink,
) -> Result<Conversion, ConvertError> {
    // Pass 1: types, sizes at death, registers.
    let mut first = Converter::new(None);
    let reader = RawReader::new(open().map_err(RawError::Io)?)?;
    let python_hex = reader.python_hex();
    first.run(reader, &mut Discard)?;
    let registers = first.max_reg as u64 + 1;
    if registers > MAX_REGISTERS as u64 {
        return Err(ConvertError::TooManyObjects(registers));
    }
    let (types, type_map) = first.sorted_type_table();
    let header = StreamHeader::new(registers as u32)
        .workload(workload)
        .params(params)
        .names(EVENT_NAMES)
        .types(types);
    // Pass 2: the stream.
    let mut second = Converter::new(Some((first.death_size, first.young)));
    second.types = first.types;
    second.type_map = type_map;
    let mut out = Out {
        sink,
        buf: Vec::with_capacity(CHUNK),
        ops: 0,
    };
    out.sink.begin(&header).map_err(ConvertError::Sink)?;
    second.run(RawReader::new(open().map_err(RawError::Io)?)?, &mut out)?;
    out.flush()?;
    second.diag.ops = out.ops;
    Ok(Conversion {
        header,
        collections: second.collections,
        diagnostics: second.diag,
        python_hex,
    })
}

const CHUNK: usize = 4096;

/// Where ops go.
trait Emit {
    fn emit(&mut self, op: Op) -> Result<(), ConvertError>;
    /// Ops emitted so far.
    fn count(&self) -> u64;
}

/// Pass 1: ops are counted and dropped.
struct Discard;
impl Emit for Discard {
    fn emit(&mut self, _op: Op) -> Result<(), ConvertError> {
        Ok(())
    }
    fn count(&self) -> u64 {
        0
    }
}

/// Pass 2: ops are buffered and handed to the sink in chunks.
struct Out<'a> {
    sink: &'a mut dyn OpSink,
    buf: Vec<Op>,
    ops: u64,
}
impl Out<'_> {
    fn flush(&mut self) -> Result<(), ConvertError> {
        if !self.buf.is_empty() {
            self.sink.ops(&self.buf).map_err(ConvertError::Sink)?;
            self.buf.clear();
        }
        Ok(())
    }
}
impl Emit for Out<'_> {
    fn emit(&mut self, op: Op) -> Result<(), ConvertError> {
        self.buf.push(op);
        self.ops += 1;
        if self.buf.len() == CHUNK {
            self.flush()?;
        }
        Ok(())
    }
    fn count(&self) -> u64 {
        self.ops
    }
}

/// The converter's view of one model object.
#[derive(Clone, Debug, Default)]
struct Obj {
    /// Its register (0: none, its root was dropped).
    reg: u32,
    gc: bool,
    tracked: bool,
    generation: u8,
    alive: bool,
    /// The model's slots: object numbers or NONE.
    slots: Vec<u32>,
    /// (referrer, slot) pairs that pointed here when added; checked before use (lazy removal).
    in_edges: Vec<(u32, u32)>,
    /// How many of `in_edges` are current.
    indegree: u32,
    /// Garbage of a collection, or an object such garbage held when it died: a pure reference
    /// counter never frees it.
    doomed: bool,
    /// A doomed object pointed here when it died.
    held: bool,
}

/// A snapshot object with its referents.
struct Snap {
    addr: u64,
    tid: u16,
    generation: u8,
    refcount: u32,
    edges: Vec<u64>,
    size: u64,
}

/// CPython's `deduce_unreachable` on a snapshot: `gc_refs` = reference count minus references
/// from the snapshot's own objects; everything reachable within the snapshot from an object
/// with `gc_refs > 0` survives; the rest is unreachable. Returns the unreachable addresses.
fn unreachable(snaps: &[Snap]) -> HashSet<u64> {
    let index: HashMap<u64, usize> = snaps.iter().enumerate().map(|(i, s)| (s.addr, i)).collect();
    let mut gc_refs: Vec<i64> = snaps.iter().map(|s| s.refcount as i64).collect();
    for s in snaps {
        for e in &s.edges {
            if let Some(&j) = index.get(e) {
                gc_refs[j] -= 1;
            }
        }
    }
    let mut reached = vec![false; snaps.len()];
    let mut stack: Vec<usize> = (0..snaps.len()).filter(|&i| gc_refs[i] > 0).collect();
    for &i in &stack {
        reached[i] = true;
    }
    while let Some(i) = stack.pop() {
        for e in &snaps[i].edges {
            if let Some(&j) = index.get(e) {
                if !reached[j] {
                    reached[j] = true;
                    stack.push(j);
                }
            }
        }
    }
    snaps
        .iter()
        .zip(&reached)
        .filter(|(_, &r)| !r)
        .map(|(s, _)| s.addr)
        .collect()
}

struct Converter {
    objs: Vec<Obj>,
    live: HashMap<u64, u32>,
    gens: [BTreeSet<u32>; 4],
    /// Per register pool, its freed registers and its next unused one.
    free: [Vec<u32>; 3],
    next: [u32; 3],
    /// Pass 1: the record number each object was created at.
    born: Vec<u64>,
    max_reg: u32,
    /// Known types by recorder id: (name, gc, basic size).
    types: Vec<Option<(String, bool, u16)>>,
    /// Pass 1 fills it; pass 2 reads it: size at death by object number.
    death_size: Vec<u32>,
    /// Objects created per stream type (before `type_map`).
    type_uses: Vec<u64>,
    /// Pass 2: the stream's type index of each type (the most used types first, so that their
    /// index takes one byte).
    type_map: Vec<u32>,
    /// Pass 1 fills it; pass 2 reads it: the object's lifetime class (see `alloc_reg`).
    young: Vec<u8>,
    sizes_known: bool,
    prev_gc0: u16,
    count0: i64,
    threshold0: i64,
    enabled: bool,
    pending_manual: Option<i32>,
    counts_now: [u32; 3],
    /// Events the interpreter recorded with its collector already running but before the
    /// collection's "start" callback (the callback's own `info` dict and its values): replayed
    /// after the model's collection, without their counts (the collection resets the count).
    pre_start: Vec<Event>,
    collections: Vec<RealCollection>,
    diag: Diagnostics,
    started: bool,
    /// Between a collection's trigger and its stop.
    in_span: bool,
    /// A collection is scheduled (the young count passed the threshold) and has not run yet.
    scheduled: bool,
}

impl Converter {
    fn new(first: Option<(Vec<u32>, Vec<u8>)>) -> Converter {
        let (death_size, young) = match first {
            Some((d, y)) => (Some(d), y),
            None => (None, Vec::new()),
        };
        Converter {
            objs: Vec::new(),
            live: HashMap::new(),
            gens: Default::default(),
            free: Default::default(),
            next: [POOLS[0].0, POOLS[1].0, POOLS[2].0],
            born: Vec::new(),
            max_reg: NIL_REG,
            types: Vec::new(),
            sizes_known: death_size.is_some(),
            death_size: death_size.unwrap_or_default(),
            young,
            type_uses: Vec::new(),
            type_map: Vec::new(),
            prev_gc0: 0,
            count0: 0,
            threshold0: 0,
            enabled: true,
            pending_manual: None,
            counts_now: [0; 3],
            pre_start: Vec::new(),
            collections: Vec::new(),
            diag: Diagnostics::default(),
            started: false,
            in_span: false,
            scheduled: false,
        }
    }

    /// The header's type table, most used types first, and for each type of
    /// [`Converter::type_table`] its index in it.
    fn sorted_type_table(&self) -> (Vec<TypeInfo>, Vec<u32>) {
        let table = self.type_table();
        let mut order: Vec<usize> = (0..table.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(self.type_uses.get(i).copied().unwrap_or(0)));
        let mut map = vec![0u32; table.len()];
        for (new, &old) in order.iter().enumerate() {
            map[old] = new as u32;
        }
        (order.iter().map(|&i| table[i].clone()).collect(), map)
    }

    /// The type table by recorder type id, then the two catch-alls for objects whose type
    /// overflowed the 16-bit id.
    fn type_table(&self) -> Vec<TypeInfo> {
        let mut t: Vec<TypeInfo> = self
            .types
            .iter()
            .map(|e| match e {
                Some((name, gc, _)) => TypeInfo {
                    name: name.clone(),
                    gc: *gc,
                },
                None => TypeInfo {
                    name: "<unnamed>".into(),
                    gc: false,
                },
            })
            .collect();
        t.push(TypeInfo {
            name: "<other>".into(),
            gc: false,
        });
        t.push(TypeInfo {
            name: "<other container>".into(),
            gc: true,
        });
        t
    }

    /// The stream type of an object of recorder type `tid` with flags `flags`.
    fn ty(&self, tid: u16, gc: bool) -> u32 {
        if tid != u16::MAX
            && (tid as usize) < self.types.len()
            && self.types[tid as usize].is_some()
        {
            tid as u32
        } else {
            self.types.len() as u32 + gc as u32
        }
    }

    fn type_is_gc(&self, tid: u16) -> bool {
        self.types
            .get(tid as usize)
            .and_then(|t| t.as_ref())
            .is_some_and(|t| t.1)
    }

    /// A register for a new object, by how long pass 1 saw it live: registers below 128 (a
    /// one-byte operand) for objects that die young, below 16384 (two bytes) for objects that
    /// die within a while, the rest above, each pool reusing its most recently freed register
    /// first. Most objects are temporaries, so most register operands of the stream take one
    /// byte: that is most of what makes a recording compress well.
    fn alloc_reg(&mut self, class: u8) -> u32 {
        let class = (class as usize).min(POOLS.len() - 1);
        for (pool, &(_, end)) in POOLS.iter().enumerate().skip(class) {
            if let Some(r) = self.free[pool].pop() {
                self.max_reg = self.max_reg.max(r);
                return r;
            }
            if self.next[pool] < end {
                self.next[pool] += 1;
                let r = self.next[pool] - 1;
                self.max_reg = self.max_reg.max(r);
                return r;
            }
        }
        // The last pool ends at u32::MAX: more registers than a stream may have, refused by
        // `convert` (TooManyObjects) from pass 1's count before pass 2 runs.
        u32::MAX
    }

    /// Gives a register back to its pool.
    fn free_reg(&mut self, r: u32) {
        let pool = POOLS
            .iter()
            .position(|&(_, end)| r < end)
            .unwrap_or(POOLS.len() - 1);
        self.free[pool].push(r);
    }

    /// A new model object at `addr` (the caller has handled an old one there).
    fn new_obj(
        &mut self,
        out: &mut dyn Emit,
        addr: u64,
        tid: u16,
        gc: bool,
        size: u64,
    ) -> Result<u32, ConvertError> {
        let id = self.objs.len() as u32;
        let known = self.death_size.get(id as usize).copied().unwrap_or(0);
        let class = if self.sizes_known {
            self.young.get(id as usize).copied().unwrap_or(2)
        } else {
            2
        };
        let reg = self.alloc_reg(class);
        if !self.sizes_known {
            self.born.push(self.diag.records);
        }
        let size = if self.sizes_known && known > 0 {
            known
        } else {
            size.min(u32::MAX as u64) as u32
        };
        // A size no Python object has is a field the recorder misread: the type's basic size.
        let size = if size > MAX_PLAUSIBLE_SIZE {
            self.diag.implausible_sizes += 1;
            self.types
                .get(tid as usize)
                .and_then(|t| t.as_ref())
                .map_or(0, |t| t.2 as u32)
        } else {
            size
        };
        let ty = self.ty(tid, gc);
        if let Some(n) = self.type_uses.get_mut(ty as usize) {
            *n += 1;
        } else {
            self.type_uses.resize(ty as usize + 1, 0);
            self.type_uses[ty as usize] = 1;
        }
        let ty = self.type_map.get(ty as usize).copied().unwrap_or(ty);
        out.emit(Op::New { dst: reg, ty, size })?;
        self.objs.push(Obj {
            reg,
            gc,
            tracked: gc,
            generation: 0,
            alive: true,
            ..Obj::default()
        });
        if gc {
            self.gens[0].insert(id);
        }
        self.live.insert(addr, id);
        Ok(id)
    }

    /// The young count moved to `gc0` (low 16 bits): the count op, after a safe point where the
    /// interpreter could have serviced a scheduled collection.
    fn count(&mut self, out: &mut dyn Emit, gc0: u16) -> Result<(), ConvertError> {
        self.count_then(out, gc0, true)
    }

    /// [`Converter::count`], with the safe point before an increment only if `safe`.
    fn count_then(&mut self, out: &mut dyn Emit, gc0: u16, safe: bool) -> Result<(), ConvertError> {
        let d = gc0.wrapping_sub(self.prev_gc0) as i16 as i32;
        self.prev_gc0 = gc0;
        if d == 0 {
            return Ok(());
        }
        if safe && d > 0 && !self.in_gap() {
            out.emit(Op::SafePoint)?;
        }
        out.emit(Op::Interp(InterpOp::Count { delta: d }))?;
        self.count0 = (self.count0 + d as i64).max(0);
        if d > 0 && self.enabled && self.threshold0 != 0 && self.count0 > self.threshold0 {
            // _Py_ScheduleGC: the eval breaker now runs a collection at its next check, even
            // if the count falls back meanwhile.
            self.scheduled = true;
        }
        Ok(())
    }

    /// Between a threshold crossing and the next collection: the interpreter had not reached
    /// its eval breaker yet, so no safe point may be offered to the model.
    fn in_gap(&self) -> bool {
        self.scheduled
    }

    /// Sets object `o`'s slots to `new`, emitting a store per slot that changes.
    fn set_slots(&mut self, out: &mut dyn Emit, o: u32, new: &[u32]) -> Result<(), ConvertError> {
        let n = self.objs[o as usize].slots.len().max(new.len());
        for i in 0..n {
            let old = self.objs[o as usize].slots.get(i).copied().unwrap_or(NONE);
            let v = new.get(i).copied().unwrap_or(NONE);
            if old == v {
                continue;
            }
            let src = if v == NONE {
                NIL_REG
            } else {
                self.objs[v as usize].reg
            };
            out.emit(Op::Store {
                obj: self.objs[o as usize].reg,
                slot: i as u32,
                src,
            })?;
            self.diag.edge_stores += 1;
            let slots = &mut self.objs[o as usize].slots;
            if i == slots.len() {
                slots.push(v);
            } else {
                slots[i] = v;
            }
            if old != NONE {
                self.objs[old as usize].indegree -= 1;
            }
            if v != NONE {
                let t = &mut self.objs[v as usize];
                t.in_edges.push((o, i as u32));
                t.indegree += 1;
                if t.in_edges.len() > 2 * t.indegree as usize + 8 {
                    self.compact_in_edges(v);
                }
            }
        }
        Ok(())
    }

    /// Drops `in_edges` entries of `t` that are no longer current.
    fn compact_in_edges(&mut self, t: u32) {
        let mut edges = std::mem::take(&mut self.objs[t as usize].in_edges);
        edges.retain(|&(r, s)| {
            let ro = &self.objs[r as usize];
            ro.alive && ro.slots.get(s as usize) == Some(&t)
        });
        edges.sort_unstable();
        edges.dedup();
        self.objs[t as usize].in_edges = edges;
    }

    /// Overwrites with `None` every current reference to `t` from a live object for which
    /// `keep(referrer)` is false.
    fn cut_in_edges(
        &mut self,
        out: &mut dyn Emit,
        t: u32,
        keep: impl Fn(u32) -> bool,
    ) -> Result<(), ConvertError> {
        self.compact_in_edges(t);
        let edges = self.objs[t as usize].in_edges.clone();
        for (r, s) in edges {
            if keep(r) || self.objs[r as usize].reg == NIL_REG {
                continue;
            }
            out.emit(Op::Store {
                obj: self.objs[r as usize].reg,
                slot: s,
                src: NIL_REG,
            })?;
            self.diag.edge_stores += 1;
            self.objs[r as usize].slots[s as usize] = NONE;
            self.objs[t as usize].indegree -= 1;
        }
        self.compact_in_edges(t);
        Ok(())
    }

    /// Clears `o`'s register, returning it to the free list.
    fn drop_root(&mut self, out: &mut dyn Emit, o: u32) -> Result<(), ConvertError> {
        let reg = std::mem::replace(&mut self.objs[o as usize].reg, NIL_REG);
        if reg != NIL_REG {
            out.emit(Op::Clear { dst: reg })?;
            self.free_reg(reg);
        }
        Ok(())
    }

    /// The converter forgets `o` (the model has freed it, or is about to).
    fn forget(&mut self, o: u32, addr: u64, size: u32) {
        let ob = &mut self.objs[o as usize];
        ob.alive = false;
        let doomed = ob.doomed;
        let slots = std::mem::take(&mut ob.slots);
        ob.in_edges = Vec::new();
        if ob.tracked {
            let g = ob.generation as usize;
            self.gens[g].remove(&o);
        }
        for v in slots {
            if v != NONE {
                let t = &mut self.objs[v as usize];
                t.indegree -= 1;
                t.held |= doomed;
            }
        }
        if self.live.get(&addr) == Some(&o) {
            self.live.remove(&addr);
        }
        if !self.sizes_known {
            if self.death_size.len() <= o as usize {
                self.death_size.resize(o as usize + 1, 0);
                self.young.resize(o as usize + 1, 2);
            }
            self.death_size[o as usize] = size;
            let born = self.born.get(o as usize).copied().unwrap_or(0);
            let age = self.diag.records.saturating_sub(born);
            self.young[o as usize] =
                LIFETIME_CLASSES.iter().take_while(|&&c| age >= c).count() as u8;
        }
    }

    /// A death by reference counting (or one inside a collection that the collection itself did
    /// not cause): the model's references to it cut, its register cleared.
    fn release(
        &mut self,
        out: &mut dyn Emit,
        o: u32,
        addr: u64,
        size: u32,
    ) -> Result<(), ConvertError> {
        // Held by an object a pure reference counter never frees (garbage of a collection, or
        // an object such garbage held): such a counter keeps it too.
        self.compact_in_edges(o);
        let held = self.objs[o as usize].held
            || self.objs[o as usize].in_edges.iter().any(|&(r, _)| {
                let ro = &self.objs[r as usize];
                ro.alive && ro.doomed
            });
        if held {
            self.diag.held_by_garbage += 1;
            self.objs[o as usize].doomed = true;
        } else if self.in_span {
            self.diag.collection_deaths += 1;
        } else {
            self.diag.refcount_deaths += 1;
        }
        self.cut_in_edges(out, o, |_| false)?;
        self.drop_root(out, o)?;
        self.forget(o, addr, size);
        self.diag.deaths += 1;
        Ok(())
    }

    /// Makes `o` tracked in generation `g` in the model.
    fn place(&mut self, out: &mut dyn Emit, o: u32, g: u8) -> Result<(), ConvertError> {
        let ob = &self.objs[o as usize];
        if ob.tracked && ob.generation == g {
            return Ok(());
        }
        let reg = ob.reg;
        if ob.tracked {
            out.emit(Op::Interp(InterpOp::Untrack { reg }))?;
            let old = ob.generation as usize;
            self.gens[old].remove(&o);
        }
        out.emit(Op::Interp(InterpOp::Track { reg, generation: g }))?;
        self.diag.tracking_fixes += 1;
        let ob = &mut self.objs[o as usize];
        ob.tracked = true;
        ob.generation = g;
        self.gens[g as usize].insert(o);
        Ok(())
    }

    fn untrack(&mut self, out: &mut dyn Emit, o: u32) -> Result<(), ConvertError> {
        let ob = &mut self.objs[o as usize];
        if !ob.tracked {
            return Ok(());
        }
        ob.tracked = false;
        let (reg, g) = (ob.reg, ob.generation as usize);
        self.gens[g].remove(&o);
        out.emit(Op::Interp(InterpOp::Untrack { reg }))?;
        self.diag.tracking_fixes += 1;
        Ok(())
    }

    /// The model object at `addr`, given to the model first if the recording never saw it.
    fn known_or_materialize(&mut self, out: &mut dyn Emit, s: &Snap) -> Result<u32, ConvertError> {
        if let Some(&o) = self.live.get(&s.addr) {
            return Ok(o);
        }
        self.diag.materialized += 1;
        let gc = self.type_is_gc(s.tid) || s.tid == u16::MAX;
        self.new_obj(out, s.addr, s.tid, gc, s.size)
    }

    /// Gives the model the objects of a snapshot (or of the initial heap): each present and
    /// tracked in its generation, with its referents as slots.
    fn sync(&mut self, out: &mut dyn Emit, snaps: &[Snap]) -> Result<Vec<u32>, ConvertError> {
        let mut ids = Vec::with_capacity(snaps.len());
        for s in snaps {
            let o = self.known_or_materialize(out, s)?;
            ids.push(o);
        }
        for (s, &o) in snaps.iter().zip(&ids) {
            if self.objs[o as usize].gc {
                self.place(out, o, s.generation.min(3))?;
            }
        }
        let mut referents = Vec::new();
        for (s, &o) in snaps.iter().zip(&ids) {
            referents.clear();
            for a in &s.edges {
                match self.live.get(a) {
                    Some(&t) if self.objs[t as usize].reg != NIL_REG => referents.push(t),
                    _ => self.diag.unknown_referents += 1,
                }
            }
            let r = std::mem::take(&mut referents);
            self.set_slots(out, o, &r)?;
            referents = r;
        }
        Ok(ids)
    }

    fn run<R: Read>(
        &mut self,
        mut reader: RawReader<R>,
        out: &mut dyn Emit,
    ) -> Result<(), ConvertError> {
        let mut init: Vec<Snap> = Vec::new();
        let mut init_state: (Option<(u64, u32)>, Option<[u32; 3]>) = (None, None);
        loop {
            let (ev, gc0) = match reader.next_event() {
                Ok(Some(e)) => e,
                Ok(None) => break,
                Err(RawError::Truncated { offset, records }) => {
                    self.diag.truncated = Some(format!(
                        "the recording stops at byte offset {offset} without its END record; \
                         the {records} complete records before it were converted"
                    ));
                    break;
                }
                Err(e) => return Err(e.into()),
            };
            self.diag.records += 1;
            if !self.started {
                match ev {
                    Event::Type { .. } | Event::Thresholds(_) => self.note(&ev),
                    Event::GcState {
                        long_lived_total,
                        long_lived_pending,
                    } => init_state.0 = Some((long_lived_total, long_lived_pending)),
                    Event::Counts {
                        count0,
                        count1,
                        count2,
                        enabled,
                    } => {
                        init_state.1 = Some([count0, count1, count2]);
                        self.enabled = enabled;
                    }
                    Event::InitObj {
                        addr,
                        tid,
                        generation,
                        refcount,
                    } => init.push(Snap {
                        addr,
                        tid,
                        generation,
                        refcount,
                        edges: Vec::new(),
                        size: 0,
                    }),
                    Event::Edge { addr } => {
                        if let Some(s) = init.last_mut() {
                            s.edges.push(addr);
                        }
                    }
                    Event::Size(n) => {
                        if let Some(s) = init.last_mut() {
                            s.size = n;
                        }
                    }
                    _ => {
                        // The program starts: the initial heap and state go first.
                        self.start(out, &init, init_state)?;
                        init = Vec::new();
                        self.started = true;
                        self.prev_gc0 = init_state.1.map_or(0, |c| c[0] as u16);
                        self.event(&mut reader, out, ev, gc0)?;
                    }
                }
                continue;
            }
            self.event(&mut reader, out, ev, gc0)?;
        }
        if !self.started {
            self.start(out, &init, init_state)?;
        }
        Ok(())
    }

    /// Records what a type or threshold event says.
    fn note(&mut self, ev: &Event) {
        match ev {
            Event::Type {
                tid,
                name,
                basic_size,
                flags,
            } => {
                let i = *tid as usize;
                if i >= self.types.len() {
                    self.types.resize(i + 1, None);
                }
                self.types[i] = Some((name.clone(), flags & F_GC_TYPE != 0, *basic_size));
            }
            Event::Thresholds(t) => self.threshold0 = t[0] as i64,
            _ => {}
        }
    }

    fn start(
        &mut self,
        out: &mut dyn Emit,
        init: &[Snap],
        state: (Option<(u64, u32)>, Option<[u32; 3]>),
    ) -> Result<(), ConvertError> {
        self.sync(out, init)?;
        if let Some(c) = state.1 {
            for (g, v) in c.iter().enumerate() {
                out.emit(Op::Interp(InterpOp::SetCount {
                    generation: g as u8,
                    value: *v,
                }))?;
            }
            self.count0 = c[0] as i64;
            self.counts_now = c;
        }
        if let Some((total, pending)) = state.0 {
            out.emit(Op::Interp(InterpOp::LongLived {
                total: total.min(u32::MAX as u64) as u32,
                pending,
            }))?;
        }
        Ok(())
    }

    /// One event of the program (outside the initial heap).
    fn event<R: Read>(
        &mut self,
        reader: &mut RawReader<R>,
        out: &mut dyn Emit,
        ev: Event,
        gc0: u16,
    ) -> Result<(), ConvertError> {
        match ev {
            Event::Create { flags, .. } | Event::Destroy { flags, .. }
                if flags & F_IN_GC != 0 && !self.in_span =>
            {
                self.pre_start.push(ev);
            }
            Event::Create {
                addr,
                tid,
                size,
                flags,
            } => {
                self.count(out, gc0)?;
                if let Some(&old) = self.live.get(&addr) {
                    // Created again without a recorded death.
                    self.diag.inferred_deaths += 1;
                    self.release(out, old, addr, 0)?;
                }
                self.diag.creates += 1;
                self.new_obj(out, addr, tid, flags & F_GC_TYPE != 0, size as u64)?;
            }
            Event::Destroy { addr, size, .. } => {
                match self.live.get(&addr) {
                    Some(&o) => self.release(out, o, addr, size)?,
                    None => self.diag.unknown_deaths += 1,
                }
                self.count(out, gc0)?;
            }
            Event::Mark(m) => self.mark(out, m)?,
            Event::GcStart { generation } => self.collection(reader, out, generation, gc0)?,
            Event::Type { .. } | Event::Thresholds(_) => self.note(&ev),
            Event::Counts {
                count0,
                count1,
                count2,
                enabled,
            } => {
                self.counts_now = [count0, count1, count2];
                self.enabled = enabled;
            }
            _ => {}
        }
        Ok(())
    }

    fn mark(&mut self, out: &mut dyn Emit, m: Mark) -> Result<(), ConvertError> {
        match m {
            Mark::Collect(g) => self.pending_manual = Some(g),
            Mark::Freeze => {
                out.emit(Op::Gc(GcOp::Freeze))?;
                for g in 0..3 {
                    let ids: Vec<u32> = std::mem::take(&mut self.gens[g]).into_iter().collect();
                    for o in ids {
                        self.objs[o as usize].generation = 3;
                        self.gens[3].insert(o);
                    }
                }
                self.count0 = 0;
            }
            Mark::Unfreeze => {
                out.emit(Op::Gc(GcOp::Unfreeze))?;
                let ids: Vec<u32> = std::mem::take(&mut self.gens[3]).into_iter().collect();
                for o in ids {
                    self.objs[o as usize].generation = 2;
                    self.gens[2].insert(o);
                }
            }
            Mark::Enable => {
                out.emit(Op::Gc(GcOp::Enable))?;
                self.enabled = true;
            }
            Mark::Disable => {
                out.emit(Op::Gc(GcOp::Disable))?;
                self.enabled = false;
            }
            Mark::SetThreshold(t0, t1, t2) => {
                out.emit(Op::Gc(GcOp::SetThreshold {
                    t0: t0 as i32,
                    t1: t1 as i32,
                    t2: t2 as i32,
                }))?;
                self.threshold0 = t0 as i64;
            }
            Mark::Event(1) => out.emit(Op::Event { id: STARTUP_EVENT })?,
            Mark::Start | Mark::End | Mark::Event(_) | Mark::Other(..) => {}
        }
        Ok(())
    }

    /// A real collection: its events up to its stop are read first, then the model is synced,
    /// the collection triggered, and the events inside it replayed.
    fn collection<R: Read>(
        &mut self,
        reader: &mut RawReader<R>,
        out: &mut dyn Emit,
        generation: u32,
        gc0: u16,
    ) -> Result<(), ConvertError> {
        let mut snaps: Vec<Snap> = Vec::new();
        let mut inside: Vec<(Event, u16)> = Vec::new();
        let mut untracked: Vec<u64> = Vec::new();
        let mut times: Vec<u64> = Vec::new();
        let mut counts_before = self.counts_now;
        let mut stop: Option<(u64, u32, u16)> = None;
        let mut seen_counts = false;
        loop {
            let (ev, c) = match reader.next_event() {
                Ok(Some(e)) => e,
                Ok(None) => break,
                Err(RawError::Truncated { offset, records }) => {
                    self.diag.truncated = Some(format!(
                        "the recording stops at byte offset {offset}, inside a collection, \
                         without its END record; the {records} complete records before it were \
                         converted"
                    ));
                    break;
                }
                Err(e) => return Err(e.into()),
            };
            self.diag.records += 1;
            match ev {
                Event::SnapObj {
                    addr,
                    tid,
                    generation,
                    refcount,
                } => snaps.push(Snap {
                    addr,
                    tid,
                    generation,
                    refcount,
                    edges: Vec::new(),
                    size: 0,
                }),
                Event::Edge { addr } => {
                    if let Some(s) = snaps.last_mut() {
                        s.edges.push(addr);
                    }
                }
                Event::Size(n) => {
                    if let Some(s) = snaps.last_mut() {
                        s.size = n;
                    }
                }
                Event::Untracked { addr } => untracked.push(addr),
                Event::Time(ns) => times.push(ns),
                Event::Counts {
                    count0,
                    count1,
                    count2,
                    ..
                } if !seen_counts => {
                    counts_before = [count0, count1, count2];
                    seen_counts = true;
                }
                Event::GcStop {
                    collected,
                    uncollectable,
                    ..
                } => {
                    stop = Some((collected, uncollectable, c));
                    break;
                }
                Event::GcState { .. } | Event::Thresholds(_) => {}
                other => inside.push((other, c)),
            }
        }
        // The objects the collection freed: unreachable snapshot objects that died inside it.
        // (A snapshot object that died inside it without being unreachable died by reference
        // counting, when something the collection or a callback did dropped it: it is
        // released when its death arrives. An unreachable one that did not die was resurrected
        // by a finalizer or is uncollectable: it keeps its root.)
        let unreach = unreachable(&snaps);
        let died: HashSet<u64> = inside
            .iter()
            .filter_map(|(e, _)| match e {
                Event::Destroy { addr, flags, .. }
                    if flags & F_IN_GC != 0 && unreach.contains(addr) =>
                {
                    Some(*addr)
                }
                _ => None,
            })
            .collect();
        self.diag.unreachable_survivors += (unreach.len() - died.len()) as u64;

        // The model's young generations become the snapshot.
        let ids = self.sync(out, &snaps)?;
        let in_snap: HashSet<u32> = ids.iter().copied().collect();
        let g = (generation as usize).min(2);
        let mut stale: Vec<u32> = (0..=g)
            .flat_map(|k| self.gens[k].iter().copied())
            .filter(|o| !in_snap.contains(o))
            .collect();
        stale.sort_unstable();
        for o in stale {
            self.untrack(out, o)?;
        }
        for a in &untracked {
            if let Some(&o) = self.live.get(a) {
                if !died.contains(a) {
                    self.untrack(out, o)?;
                }
            }
        }
        // The garbage: no root, no reference from outside the snapshot.
        let mut garbage: Vec<u32> = snaps
            .iter()
            .zip(&ids)
            .filter(|(s, _)| died.contains(&s.addr))
            .map(|(_, &o)| o)
            .collect();
        garbage.sort_unstable();
        for &o in &garbage {
            self.cut_in_edges(out, o, |r| in_snap.contains(&r))?;
            self.drop_root(out, o)?;
            self.objs[o as usize].doomed = true;
        }
        // The count (no safe point before it: the collection runs at the trigger, after the
        // model was synced and counted as the interpreter was), then the trigger.
        self.count_then(out, gc0, false)?;

        let at_op = out.count();
        self.scheduled = false;
        let trigger = match self.pending_manual.take() {
            Some(gen) => {
                out.emit(Op::Gc(GcOp::Collect { generation: gen }))?;
                Trigger::Manual
            }
            None => {
                out.emit(Op::SafePoint)?;
                Trigger::Automatic
            }
        };
        // After it: survivors move up, the count restarts from 0.
        let next = (g + 1).min(2) as u8;
        let survivors: Vec<u32> = (0..=g)
            .flat_map(|k| std::mem::take(&mut self.gens[k]).into_iter())
            .collect();
        for o in survivors {
            if self.objs[o as usize].reg == NIL_REG {
                // garbage: the model frees it now
                continue;
            }
            self.objs[o as usize].generation = next;
            self.gens[next as usize].insert(o);
        }
        for &o in &garbage {
            // Freed by the model's collection: the converter forgets it when its death arrives.
            if self.objs[o as usize].tracked {
                let gg = self.objs[o as usize].generation as usize;
                self.gens[gg].remove(&o);
                self.objs[o as usize].tracked = false;
            }
        }
        self.prev_gc0 = 0;
        self.count0 = 0;
        self.in_span = true;
        for ev in std::mem::take(&mut self.pre_start) {
            self.event(reader, out, ev, self.prev_gc0)?;
        }
        // Inside the collection the count is first the pre-reset value (the callbacks' own
        // objects), then what the collection left: only the value at its stop is kept.
        for (ev, _) in inside {
            let c = self.prev_gc0;
            match ev {
                Event::Destroy { addr, size, .. } if died.contains(&addr) => {
                    if let Some(&o) = self.live.get(&addr) {
                        self.forget(o, addr, size);
                        self.diag.deaths += 1;
                    }
                }
                other => self.event(reader, out, other, c)?,
            }
        }
        self.in_span = false;
        let (collected, uncollectable, c) = stop.unwrap_or((0, 0, self.prev_gc0));
        self.count(out, c)?;
        let duration_ns = match (times.first(), times.get(1)) {
            (Some(a), Some(b)) => b.saturating_sub(*a),
            _ => 0,
        };
        self.collections.push(RealCollection {
            index: self.collections.len() as u64,
            generation: generation.min(255) as u8,
            collected,
            uncollectable: uncollectable as u64,
            duration_ns,
            counts_before,
            trigger,
            examined: snaps.len() as u64,
            died: garbage.len() as u64,
            at_op,
        });
        Ok(())
    }
}
