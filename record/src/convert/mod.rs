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

mod collection;
mod events;
mod model;

use crate::raw::{Event, RawError, RawReader};
use gclab_core::op::{Op, StreamHeader, TypeInfo};
use gclab_core::trace::MAX_REGISTERS;
use gclab_core::workload::{OpSink, Stop};
use serde::{Deserialize, Serialize};
use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, HashMap};
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
/// The register pools, as [start, end), one per lifetime class: see `Converter::alloc_reg`. The
/// first two hold one-byte register operands, the next two two-byte ones.
const POOLS: [(u32, u32); 5] = [
    (NIL_REG + 1, 64),
    (64, 128),
    (128, 2048),
    (2048, 16384),
    (16384, u32::MAX),
];
/// An object that dies within `LIFETIME_CLASSES[0]` records of its creation is of class 0 (the
/// first pool), within `LIFETIME_CLASSES[1]` of class 1, and so on; one that lives longer, or
/// never dies, is of the last class.
const LIFETIME_CLASSES: [u64; POOLS.len() - 1] = [128, 4096, 1 << 16, 1 << 20];
/// The lifetime class of objects that live longest (and of every object in pass 1).
const LONGEST: u8 = (POOLS.len() - 1) as u8;

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

struct Converter {
    objs: Vec<Obj>,
    live: HashMap<u64, u32>,
    gens: [BTreeSet<u32>; 4],
    /// Per register pool, its freed registers (lowest first) and its next unused one.
    free: [BinaryHeap<Reverse<u32>>; POOLS.len()],
    next: [u32; POOLS.len()],
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
            next: POOLS.map(|(start, _)| start),
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
}
