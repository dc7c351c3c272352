//! # gclab-generational
//!
//! CPython's memory manager as a gclab strategy: reference counting plus the generational cycle
//! detector of CPython 3.11's `Modules/gcmodule.c`, with the 3.12 and 3.13 variants as presets,
//! and the same collector as CPython restored it in 3.14.5 and 3.15 (presets `cpython-3.14.5`
//! and `cpython-3.15`: 3.13's, with 3.14's tracking of dicts and tuples, parameters `dicts` and
//! `tuples`).
//! The sources are CPython's: `Modules/gcmodule.c` of 3.11 and 3.12 and `Python/gc.c` of 3.13
//! (where the collector moved, gh-113688, PR #113715), with the free lists of
//! `Objects/listobject.c`, `Objects/dictobject.c` and `Objects/tupleobject.c`; what the model
//! implements and where each rule comes from is written up in `docs/cpython-model.md`. Real
//! CPython 3.11.7, 3.12.1 and 3.13.0 are the judges (`gclab fidelity`).
//!
//! What is modelled, exactly as CPython does it:
//!
//! * **Reference counting**: an object is freed when its count reaches zero; freeing releases
//!   its children through an explicit worklist (no recursion: a chain of ten million objects
//!   frees in constant stack).
//! * **Three generations plus the permanent one**, as intrusive doubly-linked lists (`prev` and
//!   `next` vectors indexed by object id, with five list heads in front).
//! * **The young count**: +1 when a GC-capable object (`Kind::is_container`) is allocated,
//!   whether or not it is tracked; -1 when one is deallocated, floored at 0. The free lists of
//!   CPython 3.11 (list: 80, dict: 80, tuple: 2000 per size 1..=19) bypass both, and every full
//!   collection empties them. The empty tuple is CPython's static singleton: never allocated,
//!   never counted.
//! * **The trigger**: `count0 > threshold0`, enabled, `threshold0 != 0`, not already
//!   collecting (no exception is ever pending in a model). 3.11 collects at once, inside the
//!   allocation; 3.12 and 3.13 (`deferred`) only schedule the collection and run it at the next
//!   `SafePoint` op (the eval breaker), unless the GC was disabled meanwhile, re-selecting the
//!   generation then.
//! * **Generation selection**: the oldest generation whose count exceeds its threshold, except
//!   that generation 2 is skipped while `long_lived_pending < long_lived_total / 4`.
//! * **The collection**: merge the younger lists, `update_refs`, `subtract_refs`, the
//!   breadth-first `move_unreachable`, `untrack_tuples`, promotion (gen1 survivors add to
//!   `long_lived_pending`; a full collection untracks atom-only dicts and resets pending and
//!   total), deletion of the garbage, and the free lists emptied by full collections. Lists and
//!   tuples are traversed last item first and dicts and instances first item first, as
//!   CPython's `tp_traverse` functions do: the order decides where `move_unreachable`
//!   re-appends objects, which `untrack_tuples` observes.
//! * **Lazy tracking**: dicts start untracked and become tracked when a stored value "may be
//!   tracked" (a container that is not a tuple, or a tracked tuple). From 3.14 on (`dicts=always`)
//!   dicts are tracked from creation and never untracked; from 3.14.1 on (`tuples=containers`) a
//!   tuple is tracked when a container is stored into it, not at its creation.
//! * **The `gc` module**: `collect(g)` (returns collected + uncollectable; 0 when re-entered),
//!   per-generation statistics, `freeze`/`unfreeze`, `set_threshold` (0 turns automatic
//!   collection off, negative values compare as CPython's C ints do), `enable`/`disable`.
//! * **A `gc.callbacks` hook** (parameter `callbacks`): CPython builds an `info` dict for the
//!   "start" and "stop" calls of every collection; those two dicts go through the dict free
//!   list and the young count exactly as CPython's do. The fidelity replay installs such a
//!   hook, so `gclab fidelity` models it.
//!
//! Model objects have no finalizers (`__del__`), no weak references and no legacy `tp_del`, so
//! the uncollectable count is always 0 and every unreachable object is freed.
//!
//! Manual policies for a disabled collector (the `gc-disabled` preset): a full (or chosen
//! generation) collection every N ops (`every_ops`), every T ms of wall time (`every_ms`), or
//! whenever the workload emits a named event (`on_event`). The time-based policies are checked
//! at allocations, safe points and events; a policy collection is like a `gc.collect(g)` call.
//!
//! Data layout: struct-of-arrays indexed by object id (`rc`: `u32`; `flags`: `u8` with the
//! tracked/collecting/unreachable bits and the object's kind; `prev`/`next`: `u32` list links
//! with five list heads in front), 13 bytes per object. As in CPython 3.11, `gc_refs` has no
//! field of its own: during a collection it lives in the `prev` link (`_gc_prev`), the young
//! list being singly linked until `move_unreachable` restores the links. Nothing recurses: freeing
//! uses a worklist, collections walk lists. A gen0 collection touches only the young list.
//! Following links one by one makes a walk wait on each load, so a long list is walked in the
//! runs of consecutive indices it has (a heap built by allocation is mostly one run), still in
//! list order, and the `subtract_refs` of a collection of most of the heap scans the flags
//! instead of the list (its result does not depend on the order); see `Walk` and
//! `docs/performance.md`.
//! Header writes are reported to the heap (`note_rc_write`, `note_gc_write`) for the
//! copy-on-write figures; during a collection every object of the collected set is reported
//! once (its `gc_refs` write) and its further writes are counted in bulk.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

// The strategy, by concern (the state is defined here, so that every module sees its fields):
mod collect; // the cycle detector: scheduling, gc_collect_main, its phases and list walks
mod config; // Config (the resolved parameters) and why a collection ran
mod counting; // the young count and the free lists
mod freeing; // Py_DECREF and the deallocation cascade
mod layout; // flag bits, list heads, node numbering, PyGC_Head links
mod lists; // the intrusive generation lists
mod params; // parameters, presets, StrategyFactory
mod policies; // safe-point work: manual policies, deferred (3.12+) collections
mod region; // the cycle-detection core as an API for cpython-3.14 (GcList, collect_region)
mod state; // construction and the gc module's read-only views
mod strategy; // the Strategy hooks and statistics

pub use config::{Config, DictTracking, TupleTracking};
pub use layout::{
    DICT_FREELIST_MAX, LIST_FREELIST_MAX, NUM_GENERATIONS, TUPLE_FREELIST_MAX, TUPLE_MAXSAVESIZE,
};
pub use params::c_int_param;
pub use region::GcList;

use gclab_core::heap::ObjId;
use gclab_core::strategy::GenerationStats;
use layout::Link;

/// Reference counting plus CPython's generational cycle detector. See the crate docs.
#[derive(Debug)]
pub struct Generational {
    cfg: Config,
    /// Reference counts, by object index.
    rc: Vec<u32>,
    /// TRACKED / COLLECTING / UNREACHABLE and the kind bits, by object index.
    flags: Vec<u8>,
    /// Tracked tuples and dicts (the untracking passes are skipped when there are none).
    tracked_tuples: u64,
    tracked_dicts: u64,
    /// List links, by node (heads first).
    links: Vec<Link>,
    count: [i64; 3],
    threshold: [i64; 3],
    enabled: bool,
    collecting: bool,
    /// Work for `safe_point` (and the policy check of `alloc`): [`POLICIES`] if a manual
    /// policy is configured (`every_ops` or `every_ms`), [`SCHEDULED`] while a deferred
    /// (3.12+) automatic collection waits for the next safe point. One test on the hot path.
    pending: u8,
    long_lived_total: u64,
    long_lived_pending: u64,
    gen_stats: [GenerationStats; 3],
    list_free: u32,
    dict_free: u32,
    tuple_free: [u32; TUPLE_MAXSAVESIZE],
    worklist: Vec<ObjId>,
    garbage: Vec<ObjId>,
    /// Children of the garbage object being freed by `delete_garbage` (reused buffer).
    gc_children: Vec<ObjId>,
    freed_by_refcount: u64,
    gen2_vetoes: u64,
    by_reason: [u64; 3],
    next_due_ops: u64,
    next_due_ns: u64,
    /// Objects tracked and untracked so far (for [`Generational::track_counts`]).
    tracks: u64,
    untracks: u64,
}
