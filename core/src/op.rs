//! The op stream: the contract between workloads and the executor.
//!
//! A workload is a pure function of (parameters, seed) that yields these operations for a small
//! register machine. Registers are the roots, like a Python frame's locals. Every strategy sees
//! the very same stream, so comparisons between strategies are paired.

use crate::kind::Kind;
use serde::{Deserialize, Serialize};

/// A register index. Registers hold references (or nothing) and are the only roots.
pub type Reg = u32;

/// One operation of the register machine.
///
/// Semantics follow Python: a store first takes a new reference to the stored object, then writes
/// the slot, then drops the reference the slot held before (`INCREF` new, store, `DECREF` old).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    /// Allocate an object of `kind` with length `len` (see [`Kind`]) into register `dst`,
    /// dropping what `dst` held before.
    Alloc {
        /// Destination register.
        dst: Reg,
        /// Kind of the new object.
        kind: Kind,
        /// Length: characters, digits, bytes, tuple items or pre-allocated list slots.
        len: u32,
    },
    /// `obj[slot] = src`: store the object in register `src` (or `None` when `src` is empty)
    /// into slot `slot` of the container in register `obj`. For a tuple or list the slot must
    /// exist; for a dict or instance a slot equal to the current number of keys adds a key.
    Store {
        /// Register holding the container.
        obj: Reg,
        /// Slot index (tuple or list item, dict key number, attribute number).
        slot: u32,
        /// Register holding the value.
        src: Reg,
    },
    /// `list.append(src)` on the list in register `list`, with CPython's over-allocation.
    Append {
        /// Register holding the list.
        list: Reg,
        /// Register holding the value (empty appends `None`).
        src: Reg,
    },
    /// `dst = obj[slot]`: load a slot into a register (an empty slot empties the register).
    Load {
        /// Destination register.
        dst: Reg,
        /// Register holding the container.
        obj: Reg,
        /// Slot index.
        slot: u32,
    },
    /// `dst = src`.
    Copy {
        /// Destination register.
        dst: Reg,
        /// Source register.
        src: Reg,
    },
    /// `del dst`: empty a register, dropping its reference.
    Clear {
        /// The register to empty.
        dst: Reg,
    },
    /// A named program event (`request_end`, `fork`, ...); `id` indexes the stream's name table.
    Event {
        /// Index into the stream header's names.
        id: u32,
    },
    /// Observe the object in register `reg` (for example its reference count); `label` indexes
    /// the stream's name table.
    Probe {
        /// Register to observe.
        reg: Reg,
        /// Index into the stream header's names.
        label: u32,
    },
    /// A safe point: where CPython 3.12+ services its eval breaker (loop back-edges, calls).
    SafePoint,
    /// One of the program's own calls into the `gc` module.
    Gc(GcOp),
    /// A recorded object: allocate an object of the stream's type `ty` (an index into the
    /// header's [`StreamHeader::types`]) of `size` bytes into register `dst`, dropping what `dst`
    /// held before. Its kind is [`Kind::Object`] for a container type and [`Kind::Leaf`]
    /// otherwise; it starts with no slots.
    New {
        /// Destination register.
        dst: Reg,
        /// Index into the header's type table.
        ty: u32,
        /// Size in bytes.
        size: u32,
    },
    /// What a recording of a real interpreter says its collector's own state did (see
    /// [`InterpOp`]); a strategy that does not model CPython ignores it.
    Interp(InterpOp),
}

// The executor's loop copies ops: adding a variant must not make them bigger.
const _: () = assert!(std::mem::size_of::<Op>() == 16);

/// The recorded interpreter's collector state, replayed into a strategy that models it.
///
/// A recording of a real program does not see every reference the program makes; it sees the
/// interpreter's young-object count move, objects enter and leave the generation lists, and the
/// collector's long-lived statistics. These ops carry that, so that a CPython model replaying
/// the recording is driven by what the interpreter really counted (its free lists and allocator
/// decide which allocations count) rather than by a guess.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum InterpOp {
    /// The young count (`generations[0].count`) moved by `delta`: +1 per object allocated
    /// through `_PyObject_GC_Link`, -1 per `PyObject_GC_Del` (never below 0). A positive delta is
    /// where CPython checks its threshold.
    Count {
        /// The change.
        delta: i32,
    },
    /// The object in register `reg` was tracked (`PyObject_GC_Track`) into generation
    /// `generation` (0 for a track by the program; 1, 2 or 3 (permanent) only for objects that
    /// existed before the recording started). Nothing happens if it is tracked already.
    Track {
        /// Register holding the object.
        reg: Reg,
        /// The generation list it joins.
        generation: u8,
    },
    /// The object in register `reg` was untracked (`PyObject_GC_UnTrack`, or by the collector).
    /// Nothing happens if it is not tracked.
    Untrack {
        /// Register holding the object.
        reg: Reg,
    },
    /// The count of generation `generation` is `value` (the state at the recording's start).
    SetCount {
        /// 0, 1 or 2.
        generation: u8,
        /// The count.
        value: u32,
    },
    /// The collector's long-lived statistics are these (the state at the recording's start).
    LongLived {
        /// `long_lived_total`: objects in the oldest generation after the last full collection.
        total: u32,
        /// `long_lived_pending`: objects that entered it since.
        pending: u32,
    },
}

/// A type of a recorded program, as the stream header lists it for [`Op::New`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypeInfo {
    /// `tp_name`.
    pub name: String,
    /// True for a container type (`Py_TPFLAGS_HAVE_GC`): its objects are [`Kind::Object`].
    pub gc: bool,
}

/// The program's own calls into Python's `gc` module.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum GcOp {
    /// `gc.collect(generation)`. CPython raises `ValueError` outside 0..=2.
    Collect {
        /// The generation to collect (2 is a full collection).
        generation: i32,
    },
    /// `gc.freeze()`.
    Freeze,
    /// `gc.unfreeze()`.
    Unfreeze,
    /// `gc.enable()`.
    Enable,
    /// `gc.disable()`.
    Disable,
    /// `gc.set_threshold(t0, t1, t2)`; C ints, as in CPython.
    SetThreshold {
        /// Threshold of generation 0.
        t0: i32,
        /// Threshold of generation 1.
        t1: i32,
        /// Threshold of generation 2.
        t2: i32,
    },
}

/// What a stream needs before its first op: how many registers it uses and the names its
/// `Event` and `Probe` ops refer to.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamHeader {
    /// Workload that produced the stream.
    pub workload: String,
    /// Workload parameters, as `key=value` pairs in a fixed order.
    pub params: Vec<(String, String)>,
    /// The seed the stream was generated from.
    pub seed: u64,
    /// Number of registers the stream uses.
    pub registers: u32,
    /// The name table for `Event` and `Probe` ops.
    pub names: Vec<String>,
    /// The type table for `New` ops (empty for a generated stream).
    pub types: Vec<TypeInfo>,
}

/// Building a header: [`StreamHeader::new`] with the registers, then the builder methods for
/// whatever else the stream declares, so that the struct literal is written once, here.
///
/// A workload's [`header`](crate::workload::Workload::header) gives the registers and names;
/// [`stream`](crate::workload::stream) fills in the workload name, parameters and seed.
///
/// ```
/// use gclab_core::StreamHeader;
///
/// let h = StreamHeader::new(4).workload("demo").seed(7).names(["start", "end"]);
/// assert_eq!((h.registers, h.seed, h.name_id("end")), (4, 7, Some(1)));
/// assert!(h.params.is_empty());
/// ```
impl StreamHeader {
    /// A header of a stream using `registers` registers, with no workload name, no parameters,
    /// seed 0 and an empty name table.
    pub fn new(registers: u32) -> StreamHeader {
        StreamHeader {
            workload: String::new(),
            params: Vec::new(),
            seed: 0,
            registers,
            names: Vec::new(),
            types: Vec::new(),
        }
    }

    /// This header with the workload name `workload`.
    #[must_use]
    pub fn workload(mut self, workload: impl Into<String>) -> StreamHeader {
        self.workload = workload.into();
        self
    }

    /// This header with the parameters `params` (`key=value` pairs, in their fixed order).
    #[must_use]
    pub fn params(mut self, params: Vec<(String, String)>) -> StreamHeader {
        self.params = params;
        self
    }

    /// This header with the seed `seed`.
    #[must_use]
    pub fn seed(mut self, seed: u64) -> StreamHeader {
        self.seed = seed;
        self
    }

    /// This header with the name table `names` (for `Event` and `Probe` ops), in order.
    #[must_use]
    pub fn names<S: AsRef<str>>(mut self, names: impl IntoIterator<Item = S>) -> StreamHeader {
        self.names = names.into_iter().map(|s| s.as_ref().to_string()).collect();
        self
    }

    /// This header with the type table `types` (for `New` ops), in order.
    #[must_use]
    pub fn types(mut self, types: Vec<TypeInfo>) -> StreamHeader {
        self.types = types;
        self
    }

    /// The index of `name` in the name table, if present.
    pub fn name_id(&self, name: &str) -> Option<u32> {
        self.names.iter().position(|n| n == name).map(|i| i as u32)
    }
}
