//! # gclab-generational
//!
//! CPython's memory manager as a gclab strategy: reference counting plus the generational cycle
//! detector of CPython 3.11's `Modules/gcmodule.c`, with the 3.12 and 3.13 variants as presets.
//! The specification is `shared/reference/cpython-gc.md` (sections 1-3 and 9); real CPython
//! 3.11.7, 3.12.1 and 3.13.0 are the judges (`gclab fidelity`).
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
//!   tracked" (a container that is not a tuple, or a tracked tuple).
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

use gclab_core::heap::{Heap, ObjId};
use gclab_core::kind::Kind;
use gclab_core::op::GcOp;
use gclab_core::params::{ParamSpec, ParamType};
use gclab_core::strategy::{
    GcReply, GenerationStats, Guarantee, Preset, StrategyFactory, StrategyInfo, StrategyStats,
};
use gclab_core::{ParamError, Params, Strategy};

/// Capacity of CPython's list free list (`PyList_MAXFREELIST`).
pub const LIST_FREELIST_MAX: u32 = 80;
/// Capacity of CPython's dict free list (`PyDict_MAXFREELIST`).
pub const DICT_FREELIST_MAX: u32 = 80;
/// Tuples of sizes `1..TUPLE_MAXSAVESIZE` have free lists (`PyTuple_MAXSAVESIZE`).
pub const TUPLE_MAXSAVESIZE: usize = 20;
/// Capacity of each tuple free list (`PyTuple_MAXFREELIST`).
pub const TUPLE_FREELIST_MAX: u32 = 2000;
/// Number of generations (`NUM_GENERATIONS`).
pub const NUM_GENERATIONS: usize = 3;

// List heads: nodes 0..NHEAD; object `i` is node `i + NHEAD`.
const PERM: u32 = 3;
const UNREACH: u32 = 4;
const NHEAD: u32 = 5;

const TRACKED: u8 = 1;
const COLLECTING: u8 = 2;
const UNREACHABLE: u8 = 4;
// Kind bits, set at allocation so that collections never look the kind up in the heap.
const CONTAINER: u8 = 8;
const IS_TUPLE: u8 = 16;
const IS_DICT: u8 = 32;
// Set when a value is stored into the container (never cleared): a container without it has
// no references, so traversals skip reading its slots.
const HAS_REFS: u8 = 64;
// `Generational::pending` bits.
const POLICIES: u8 = 1;
const SCHEDULED: u8 = 2;

// Lists and tuples: CPython's `list_traverse` and `tupletraverse` visit items from the last to
// the first (dicts and instances visit theirs in order). The order decides where
// `move_unreachable` re-appends objects, which `untrack_tuples` can observe.
const REVERSE_TRAVERSE: u8 = 128;

const fn kind_bits(kind: Kind) -> u8 {
    match kind {
        Kind::Tuple => CONTAINER | IS_TUPLE | REVERSE_TRAVERSE,
        Kind::Dict => CONTAINER | IS_DICT,
        Kind::List => CONTAINER | REVERSE_TRAVERSE,
        Kind::Instance => CONTAINER,
        _ => 0,
    }
}

#[inline]
const fn node(id: ObjId) -> u32 {
    id.0 + NHEAD
}
#[inline]
const fn obj(n: u32) -> ObjId {
    ObjId(n - NHEAD)
}

/// The list links of one node (`PyGC_Head`'s `_gc_next` and `_gc_prev`): indices of nodes
/// (list heads first, then objects). During a collection, `prev` holds the `gc_refs` of the
/// objects being collected that `move_unreachable` has not passed yet.
#[derive(Copy, Clone, Debug, Default)]
struct Link {
    next: u32,
    prev: u32,
}

/// Lists at least this long are walked with the runs of [`Walk`]; shorter ones plainly: a
/// short list is in the cache, where following a link costs little, and young generations
/// (allocation order, with reused ids) have short runs, for which the checks would cost more
/// than they save.
const RUNS_MIN: u64 = 4096;
/// Nodes a [`Walk`] verifies at a time.
const RUN_BLOCK: usize = 8;
/// The longest run a [`Walk`] verifies in one go (nodes).
const RUN_MAX: usize = 256;
/// `subtract_refs` scans the flags instead of walking the list when the list holds at least
/// 1 / `SCAN_SHARE` of the objects, and at least [`SCAN_MIN`] objects: a flag byte costs far
/// less than a node of a walk that waits on memory, but a small list is in the cache, and
/// the scan's test of every byte, mostly not taken in a mixed heap, costs more than its walk.
const SCAN_SHARE: u64 = 4;
/// See [`SCAN_SHARE`].
const SCAN_MIN: u64 = 1 << 15;

/// A walk along a list; with `RUNS`, one that does not wait on every link.
///
/// Following `next` links is a chain of dependent loads: the processor cannot fetch a node's
/// link before the previous link has arrived, so a plain walk costs at least one load latency
/// per node, whatever the work per node (measured: a bare walk of a million nodes in index
/// order takes 1.6-1.8 ms on the machine of docs/performance.md section 3, about one L1 load
/// latency per node, which is what `update_refs` alone took before walks had runs). Lists are
/// often in index order, though: a heap built by allocation, then promoted and merged
/// generation by generation, is one run of consecutive indices. So a walk with `RUNS`
/// verifies, with independent loads, that a run of nodes `n, n + 1, ..` is linked in index
/// order, steps through the run by adding 1, and reads a link again only at the run's end.
/// The order of the walk is the list's, always; only the way the next node is found changes.
struct Walk<const RUNS: bool> {
    /// The first node of the current run whose `next` link has not been verified.
    end: u32,
}

impl<const RUNS: bool> Walk<RUNS> {
    /// A walk starting at node `first`.
    #[inline(always)]
    fn new(first: u32) -> Self {
        Walk { end: first }
    }

    /// The node after `n`: `n + 1` inside a verified run, else `links[from].next` (`from` is
    /// `n`, or the node whose link now bypasses `n`), which starts the next run. Since the run
    /// was verified, the `next` links of its nodes after `n` must not have been rewritten, and
    /// `links[from].next` must still be `n + 1` (checked in debug builds).
    #[inline(always)]
    fn next(&mut self, links: &[Link], n: u32, from: u32) -> u32 {
        if RUNS && n != self.end {
            debug_assert_eq!(links[from as usize].next, n + 1);
            return n + 1;
        }
        let x = links[from as usize].next;
        if RUNS {
            self.end = index_run(links, x);
        }
        x
    }
}

/// The end of the run of nodes from `n` that are linked in index order: the first node
/// `r >= n` for which `links[r].next == r + 1` was not verified (`n` itself if the check of
/// `n` fails). At most [`RUN_MAX`] nodes (plus one) are checked.
#[inline(always)]
fn index_run(links: &[Link], n: u32) -> u32 {
    let start = n as usize;
    // One test first, on the link the walk reads next anyway.
    if links.get(start).is_none_or(|l| l.next != n.wrapping_add(1)) {
        return n;
    }
    let mut r = start + 1;
    let lim = (start + RUN_MAX).min(links.len().saturating_sub(RUN_BLOCK));
    while r <= lim {
        // A sum of differences, not a chain of equality tests: from `next == r + 1` the
        // compiler would take the loaded link for the next `r`, and the walk would wait on
        // each link again.
        let mut d = 0u64;
        for (k, l) in links[r..r + RUN_BLOCK].iter().enumerate() {
            d += (l.next ^ (r + k + 1) as u32) as u64;
        }
        if d != 0 {
            break;
        }
        r += RUN_BLOCK;
    }
    r as u32
}

/// `subtract_refs` for one object's slots: decrements the `gc_refs` (prev link) of every
/// COLLECTING object they reference. Returns (header writes, references traversed); the
/// counters are the loop's own, so that they stay in registers.
#[inline(always)]
fn subtract_slots(links: &mut [Link], flags: &[u8], slots: &[ObjId]) -> (u64, u64) {
    let mut writes = 0u64;
    for &c in slots {
        if c.is_nil() {
            continue;
        }
        if flags[c.index()] & COLLECTING != 0 {
            links[node(c) as usize].prev -= 1;
            writes += 1;
        }
    }
    (writes, slots.len() as u64)
}

/// The loop of `update_refs` from node `n` of the list `young`: `gc_refs = refcount` and
/// COLLECTING for each object, until young's head or `limit` objects. Returns the node it
/// stopped at and how many objects it passed.
#[inline(always)]
fn update_walk<const RUNS: bool>(
    links: &mut [Link],
    rc: &[u32],
    flags: &mut [u8],
    young: u32,
    mut n: u32,
    limit: u64,
) -> (u32, u64) {
    let mut passed = 0u64;
    let mut walk = Walk::<RUNS>::new(n);
    while n != young && passed < limit {
        let i = obj(n).index();
        // gc_refs lives in the prev link until move_unreachable restores it: the list is
        // singly linked meanwhile (the head's prev is still the tail).
        links[n as usize].prev = rc[i];
        flags[i] |= COLLECTING;
        passed += 1;
        n = walk.next(links, n, n);
    }
    (n, passed)
}

/// The walk of `subtract_refs` along the list `young`. Returns (header writes, references
/// traversed). A function of its own, as [`subtract_scan`] is: the loops keep their bases in
/// registers.
#[inline(never)]
fn subtract_walk<const RUNS: bool>(
    links: &mut [Link],
    flags: &[u8],
    heap: &Heap,
    young: u32,
) -> (u64, u64) {
    let (mut writes, mut traversed) = (0u64, 0u64);
    let mut n = links[young as usize].next;
    let mut walk = Walk::<RUNS>::new(n);
    while n != young {
        if flags[obj(n).index()] & HAS_REFS != 0 {
            let (w, t) = subtract_slots(links, flags, heap.slots(obj(n)));
            writes += w;
            traversed += t;
        }
        n = walk.next(links, n, n);
    }
    (writes, traversed)
}

/// The scan of `subtract_refs` over every object's flags, for a list `young` of `examined`
/// objects that holds a good share of them. Returns (header writes, references traversed).
#[inline(never)]
fn subtract_scan(links: &mut [Link], flags: &[u8], heap: &Heap, examined: u64) -> (u64, u64) {
    let (mut writes, mut traversed, mut collecting) = (0u64, 0u64, 0u64);
    for (i, &f) in flags.iter().enumerate() {
        collecting += (f & COLLECTING != 0) as u64;
        if f & (COLLECTING | HAS_REFS) == COLLECTING | HAS_REFS {
            let (w, t) = subtract_slots(links, flags, heap.slots(ObjId(i as u32)));
            writes += w;
            traversed += t;
        }
    }
    debug_assert_eq!(collecting, examined, "COLLECTING set outside young");
    (writes, traversed)
}

/// Work a collection step accumulates and adds to the heap's counters once, at the end.
#[derive(Default)]
struct Acc {
    writes: u64,
    visited: u64,
    traversed: u64,
}

/// One of the lists of tracked objects, for strategies that build on this one's cycle-detection
/// core (see [`Generational::collect_region`]).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct GcList(u32);

impl GcList {
    /// Generation 0 (CPython 3.14: the young generation); new objects are tracked here.
    pub const GEN0: GcList = GcList(0);
    /// Generation 1 (CPython 3.14: old space 0).
    pub const GEN1: GcList = GcList(1);
    /// Generation 2 (CPython 3.14: old space 1).
    pub const GEN2: GcList = GcList(2);
    /// The permanent generation (`gc.freeze()`).
    pub const PERMANENT: GcList = GcList(PERM);
}

/// The strategy's configuration (resolved parameters).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// `gc.set_threshold` values at start (C ints; 0 and negatives as CPython treats them).
    pub thresholds: [i64; 3],
    /// 3.12+: schedule automatic collections and run them at the next safe point.
    pub deferred: bool,
    /// `gc.isenabled()` at start.
    pub enabled: bool,
    /// A `gc.callbacks` hook is installed (two `info` dicts per collection).
    pub callbacks: bool,
    /// Manual policy: collect `manual_generation` every this many ops (0: off).
    pub every_ops: u64,
    /// Manual policy: collect `manual_generation` every this many ms of wall time (0: off).
    pub every_ms: u64,
    /// Manual policy: collect `manual_generation` when the workload emits this event.
    pub on_event: Option<String>,
    /// The generation the manual policies collect.
    pub manual_generation: usize,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            thresholds: [700, 10, 10],
            deferred: false,
            enabled: true,
            callbacks: false,
            every_ops: 0,
            every_ms: 0,
            on_event: None,
            manual_generation: 2,
        }
    }
}

/// Why a collection ran (for the counters).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Reason {
    Automatic,
    Manual,
    Policy,
}

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

impl Generational {
    /// A strategy with this configuration.
    pub fn new(cfg: Config) -> Generational {
        let mut links = Vec::with_capacity(1024);
        for h in 0..NHEAD {
            links.push(Link { next: h, prev: h });
        }
        let pending = if cfg.every_ops > 0 || cfg.every_ms > 0 {
            POLICIES
        } else {
            0
        };
        Generational {
            threshold: cfg.thresholds,
            enabled: cfg.enabled,
            next_due_ops: cfg.every_ops,
            next_due_ns: cfg.every_ms.saturating_mul(1_000_000),
            cfg,
            rc: Vec::new(),
            flags: Vec::new(),
            tracked_tuples: 0,
            tracked_dicts: 0,
            links,
            count: [0; 3],
            collecting: false,
            pending,
            long_lived_total: 0,
            long_lived_pending: 0,
            gen_stats: Default::default(),
            list_free: 0,
            dict_free: 0,
            tuple_free: [0; TUPLE_MAXSAVESIZE],
            worklist: Vec::new(),
            garbage: Vec::new(),
            gc_children: Vec::new(),
            freed_by_refcount: 0,
            gen2_vetoes: 0,
            by_reason: [0; 3],
            tracks: 0,
            untracks: 0,
        }
    }

    /// `gc.get_count()`.
    pub fn get_count(&self) -> [i64; 3] {
        self.count
    }

    /// `gc.get_threshold()`.
    pub fn get_threshold(&self) -> [i64; 3] {
        self.threshold
    }

    /// `gc.get_stats()`.
    pub fn get_stats(&self) -> &[GenerationStats; 3] {
        &self.gen_stats
    }

    /// `gc.isenabled()`.
    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    /// `gc.is_tracked(obj)`.
    pub fn is_tracked(&self, obj: ObjId) -> bool {
        self.flags
            .get(obj.index())
            .is_some_and(|f| f & TRACKED != 0)
    }

    /// `long_lived_total` and `long_lived_pending`.
    pub fn long_lived(&self) -> (u64, u64) {
        (self.long_lived_total, self.long_lived_pending)
    }

    /// Lengths of the generation lists (gen0, gen1, gen2, permanent): an O(n) walk.
    pub fn generation_sizes(&self) -> [u64; 4] {
        let mut out = [0; 4];
        for (h, o) in out.iter_mut().enumerate() {
            *o = self.list_len(h as u32);
        }
        out
    }

    /// Free-list occupancy: (list, dict, tuples of all sizes).
    pub fn free_lists(&self) -> (u32, u32, u32) {
        (self.list_free, self.dict_free, self.tuple_free.iter().sum())
    }

    // ----- the cycle-detection core, for strategies built on this one (cpython-3.14) -----

    /// Objects tracked and untracked since the start (`_PyObject_GC_TRACK` and
    /// `_PyObject_GC_UNTRACK` calls, the garbage a collection frees included): CPython 3.14.1+
    /// counts its young generation this way.
    pub fn track_counts(&self) -> (u64, u64) {
        (self.tracks, self.untracks)
    }

    /// Length of a list of tracked objects (an O(n) walk).
    pub fn gc_list_len(&self, list: GcList) -> u64 {
        self.list_len(list.0)
    }

    /// The first object of a list, if any.
    pub fn gc_list_first(&self, list: GcList) -> Option<ObjId> {
        let n = self.links[list.0 as usize].next;
        (n != list.0).then(|| obj(n))
    }

    /// The objects of a list, in order.
    pub fn gc_list_ids(&self, list: GcList) -> Vec<ObjId> {
        let mut out = Vec::new();
        let mut n = self.links[list.0 as usize].next;
        while n != list.0 {
            out.push(obj(n));
            n = self.links[n as usize].next;
        }
        out
    }

    /// Moves a tracked object to the tail of `to` (`gc_list_move`).
    ///
    /// # Panics
    /// If `id` is not tracked (a caller bug).
    pub fn gc_list_move(&mut self, heap: &mut Heap, id: ObjId, to: GcList) {
        assert!(self.is_tracked(id), "gc_list_move of untracked {id:?}");
        self.unlink(heap, node(id));
        self.link_tail(heap, to.0, node(id));
    }

    /// Appends every object of `from` to `to`, leaving `from` empty (`gc_list_merge`).
    pub fn gc_list_merge(&mut self, heap: &mut Heap, from: GcList, to: GcList) {
        self.merge(heap, from.0, to.0);
    }

    /// `untrack_tuples(list)`: untracks the tuples of `list` that hold only atoms.
    pub fn gc_list_untrack_tuples(&mut self, heap: &mut Heap, list: GcList) {
        let mut acc = Acc::default();
        self.untrack_tuples(heap, list.0, &mut acc);
        Self::add_work(heap, &acc);
    }

    /// CPython's `gc_collect_region(from, to)` without the bookkeeping of a generation: finds
    /// the objects of `from` that nothing outside `from` references, directly or through
    /// other objects of `from` (`deduce_unreachable`), untracks atom-only tuples, moves the
    /// survivors to `to` (which may be `from`) and frees the garbage. Returns
    /// `(examined, collected)`. The caller records the collection
    /// (`heap.begin_collection` / `end_collection`) and keeps the statistics.
    pub fn collect_region(&mut self, heap: &mut Heap, from: GcList, to: GcList) -> (u64, u64) {
        let mut acc = Acc::default();
        let (examined, _) = self.deduce_unreachable(heap, from.0, &mut acc);
        self.untrack_tuples(heap, from.0, &mut acc);
        if from != to {
            self.merge(heap, from.0, to.0);
        }
        let collected = self.delete_garbage(heap);
        Self::add_work(heap, &acc);
        (examined, collected)
    }

    fn add_work(heap: &mut Heap, acc: &Acc) {
        heap.work.gc_header_writes += acc.writes;
        heap.work.objects_visited += acc.visited;
        heap.work.refs_traversed += acc.traversed;
    }

    /// Tracks `id` (into generation 0) if it is an untracked container other than the empty
    /// tuple; does nothing otherwise.
    pub fn gc_track(&mut self, heap: &mut Heap, id: ObjId) {
        let k = heap.kind(id);
        if k.is_container()
            && !self.is_tracked(id)
            && !(k == Kind::Tuple && heap.slots(id).is_empty())
        {
            self.track(heap, id);
        }
    }

    /// Empties the list, dict and tuple free lists (`_PyGC_ClearAllFreeLists`, what a full
    /// collection does).
    pub fn clear_freelists(&mut self) {
        self.list_free = 0;
        self.dict_free = 0;
        self.tuple_free = [0; TUPLE_MAXSAVESIZE];
    }

    // ----- lists -----

    fn list_len(&self, head: u32) -> u64 {
        let mut n = 0;
        let mut x = self.links[head as usize].next;
        while x != head {
            n += 1;
            x = self.links[x as usize].next;
        }
        n
    }

    #[inline]
    fn touch(heap: &mut Heap, n: u32) {
        if n >= NHEAD {
            heap.note_gc_write(obj(n));
        }
    }

    /// Reports header writes to nodes `a` and `b` (list heads are not objects):
    /// `note_gc_write` for each when copy-on-write accounting is on, else just the count.
    #[inline(always)]
    fn touch2(heap: &mut Heap, a: u32, b: u32) {
        if heap.cow_active() {
            Self::touch(heap, a);
            Self::touch(heap, b);
        } else {
            heap.work.gc_header_writes += (a >= NHEAD) as u64 + (b >= NHEAD) as u64;
        }
    }

    #[inline(always)]
    fn link_tail(&mut self, heap: &mut Heap, head: u32, n: u32) {
        let p = self.links[head as usize].prev;
        self.link_tail_quiet(head, n);
        Self::touch2(heap, p, n);
    }

    #[inline(always)]
    fn unlink(&mut self, heap: &mut Heap, n: u32) {
        let Link { next: x, prev: p } = self.links[n as usize];
        self.links[p as usize].next = x;
        self.links[x as usize].prev = p;
        Self::touch2(heap, p, x);
    }

    /// Appends every node of `from` to `to`, leaving `from` empty (`gc_list_merge`).
    fn merge(&mut self, heap: &mut Heap, from: u32, to: u32) {
        let first = self.links[from as usize].next;
        if first == from {
            return;
        }
        let last = self.links[from as usize].prev;
        let tail = self.links[to as usize].prev;
        self.links[tail as usize].next = first;
        self.links[first as usize].prev = tail;
        self.links[last as usize].next = to;
        self.links[to as usize].prev = last;
        self.links[from as usize].next = from;
        self.links[from as usize].prev = from;
        Self::touch(heap, tail);
        Self::touch(heap, first);
        Self::touch(heap, last);
    }

    #[inline(always)]
    fn track(&mut self, heap: &mut Heap, id: ObjId) {
        self.set_tracked(id);
        self.link_tail(heap, 0, node(id));
    }

    #[inline]
    fn set_tracked(&mut self, id: ObjId) {
        self.tracks += 1;
        let f = &mut self.flags[id.index()];
        *f |= TRACKED;
        self.tracked_tuples += (*f & IS_TUPLE != 0) as u64;
        self.tracked_dicts += (*f & IS_DICT != 0) as u64;
    }

    #[inline]
    fn clear_tracked(&mut self, id: ObjId) {
        self.untracks += 1;
        let f = &mut self.flags[id.index()];
        *f &= !TRACKED;
        self.tracked_tuples -= (*f & IS_TUPLE != 0) as u64;
        self.tracked_dicts -= (*f & IS_DICT != 0) as u64;
    }

    /// Unlinks a node whose neighbours are all in the set being collected (their headers are
    /// already noted as written by this collection).
    #[inline]
    fn unlink_quiet(&mut self, n: u32) {
        let Link { next: x, prev: p } = self.links[n as usize];
        self.links[p as usize].next = x;
        self.links[x as usize].prev = p;
    }

    /// Appends a node to a list whose tail is in the set being collected (or is a head).
    #[inline(always)]
    fn link_tail_quiet(&mut self, head: u32, n: u32) {
        let p = self.links[head as usize].prev;
        self.links[p as usize].next = n;
        self.links[n as usize] = Link {
            next: head,
            prev: p,
        };
        self.links[head as usize].prev = n;
    }

    #[cold]
    fn grow(&mut self, cap: usize) {
        // Zero-fill only what is needed (at least 1024 more slots, so that growing is not a
        // call per allocation): `resize` reserves with `Vec`'s amortised doubling, but the
        // reserved capacity it does not fill is never touched, so it is not resident memory.
        let cap = cap.max(self.rc.len() + 1024);
        self.rc.resize(cap, 0);
        self.flags.resize(cap, 0);
        self.links.resize(cap + NHEAD as usize, Link::default());
    }

    /// `_PyObject_GC_MAY_BE_TRACKED`: a container that is not a tuple, or a tracked tuple.
    #[inline]
    fn may_be_tracked(&self, id: ObjId) -> bool {
        let f = self.flags[id.index()];
        f & CONTAINER != 0 && (f & IS_TUPLE == 0 || f & TRACKED != 0)
    }

    // ----- counting -----

    /// The young-count side of allocating a container of `kind` with `len` slots. Returns
    /// true if it went through `_PyObject_GC_Link` (not a free list, not the empty tuple).
    #[inline]
    fn count_alloc(&mut self, kind: Kind, len: usize) -> bool {
        let from_free = match kind {
            Kind::List => take(&mut self.list_free),
            Kind::Dict => take(&mut self.dict_free),
            Kind::Tuple => {
                if len == 0 {
                    return false;
                }
                len < TUPLE_MAXSAVESIZE && take(&mut self.tuple_free[len])
            }
            Kind::Instance => false,
            _ => return false,
        };
        if from_free {
            return false;
        }
        self.count[0] += 1;
        true
    }

    /// The young-count side of deallocating a container (`PyObject_GC_Del` or a free list).
    #[inline]
    fn count_dealloc(&mut self, kind: Kind, len: usize) {
        let to_free = match kind {
            Kind::List => put(&mut self.list_free, LIST_FREELIST_MAX),
            Kind::Dict => put(&mut self.dict_free, DICT_FREELIST_MAX),
            Kind::Tuple => {
                if len == 0 {
                    return;
                }
                len < TUPLE_MAXSAVESIZE && put(&mut self.tuple_free[len], TUPLE_FREELIST_MAX)
            }
            Kind::Instance => false,
            _ => return,
        };
        if !to_free && self.count[0] > 0 {
            self.count[0] -= 1;
        }
    }

    /// [`Generational::count_dealloc`] for the live container `id`, its kind read from its
    /// flags `f` (the kind bits set at allocation) rather than from the heap.
    #[inline(always)]
    fn count_dealloc_flags(&mut self, heap: &Heap, id: ObjId, f: u8) {
        let to_free = match f & (IS_TUPLE | IS_DICT | REVERSE_TRAVERSE) {
            // a list
            REVERSE_TRAVERSE => put(&mut self.list_free, LIST_FREELIST_MAX),
            IS_DICT => put(&mut self.dict_free, DICT_FREELIST_MAX),
            // an instance
            0 => false,
            // a tuple
            _ => {
                let len = heap.slots(id).len();
                if len == 0 {
                    return;
                }
                len < TUPLE_MAXSAVESIZE && put(&mut self.tuple_free[len], TUPLE_FREELIST_MAX)
            }
        };
        if !to_free && self.count[0] > 0 {
            self.count[0] -= 1;
        }
    }

    /// The `info` dict CPython builds (and frees) for one round of `gc.callbacks` calls.
    fn callback_info_dict(&mut self) {
        if self.cfg.callbacks {
            self.count_alloc(Kind::Dict, 0);
            self.count_dealloc(Kind::Dict, 0);
        }
    }

    // ----- freeing -----

    /// Drops one reference to `id`, freeing it (and what dies with it) at zero.
    #[inline(always)]
    fn decref(&mut self, heap: &mut Heap, id: ObjId) {
        heap.note_rc_write(id);
        let n = &mut self.rc[id.index()];
        *n -= 1;
        if *n == 0 {
            self.free_cascade::<false>(heap, id);
        }
    }

    /// [`Generational::decref`] from `delete_garbage`, where references to the other garbage
    /// objects (UNREACHABLE) are ignored.
    #[inline]
    fn decref_in_gc(&mut self, heap: &mut Heap, id: ObjId) {
        heap.note_rc_write(id);
        let n = &mut self.rc[id.index()];
        *n -= 1;
        if *n == 0 {
            self.free_cascade::<true>(heap, id);
        }
    }

    /// What deallocating `id` does before its memory is freed: untracking it, and the young
    /// count and free-list bookkeeping.
    #[inline(always)]
    fn unaccount(&mut self, heap: &mut Heap, id: ObjId) {
        let i = id.index();
        let f = self.flags[i];
        if f & TRACKED != 0 {
            // untrack, with the flags already at hand
            self.untracks += 1;
            self.flags[i] = f & !TRACKED;
            if f & (IS_TUPLE | IS_DICT) != 0 {
                self.tracked_tuples -= (f & IS_TUPLE != 0) as u64;
                self.tracked_dicts -= (f & IS_DICT != 0) as u64;
            }
            self.unlink(heap, node(id));
        }
        if f & CONTAINER != 0 {
            self.count_dealloc_flags(heap, id, f);
        }
    }

    /// Frees `id` (whose count reached zero) and what dies with it. `IN_GC`: called from
    /// `delete_garbage`, where the other garbage objects (UNREACHABLE; nowhere else is that bit
    /// set) are being freed by the collector and their counts are not touched.
    ///
    /// Each freed object's children are released straight from its slots ([`Heap::free_with`]);
    /// those whose count reaches zero wait on the worklist, the last pushed freed first.
    #[inline(never)]
    fn free_cascade<const IN_GC: bool>(&mut self, heap: &mut Heap, id: ObjId) {
        if heap.cow_active() {
            self.free_cascade_reporting::<IN_GC>(heap, id);
            return;
        }
        let mut id = id;
        let mut writes = 0u64;
        loop {
            self.unaccount(heap, id);
            self.freed_by_refcount += 1;
            let (rc, flags, worklist) = (&mut self.rc, &self.flags, &mut self.worklist);
            heap.free_with(id, |c| {
                if IN_GC && flags[c.index()] & UNREACHABLE != 0 {
                    return;
                }
                writes += 1;
                let n = &mut rc[c.index()];
                *n -= 1;
                if *n == 0 {
                    worklist.push(c);
                }
            });
            match self.worklist.pop() {
                Some(c) => id = c,
                None => break,
            }
        }
        heap.work.rc_writes += writes;
    }

    /// [`Generational::free_cascade`] while copy-on-write accounting is on: the same frees in
    /// the same order, with every reference-count write reported to the heap (which marks the
    /// written object's page), through [`Heap::free_with_noting`].
    #[cold]
    fn free_cascade_reporting<const IN_GC: bool>(&mut self, heap: &mut Heap, id: ObjId) {
        let mut id = id;
        loop {
            self.unaccount(heap, id);
            self.freed_by_refcount += 1;
            let (rc, flags, worklist) = (&mut self.rc, &self.flags, &mut self.worklist);
            heap.free_with_noting(id, |c| {
                if IN_GC && flags[c.index()] & UNREACHABLE != 0 {
                    return false;
                }
                let n = &mut rc[c.index()];
                *n -= 1;
                if *n == 0 {
                    worklist.push(c);
                }
                true
            });
            match self.worklist.pop() {
                Some(c) => id = c,
                None => break,
            }
        }
    }

    // ----- collecting -----

    fn should_schedule(&self) -> bool {
        self.count[0] > self.threshold[0]
            && self.enabled
            && self.threshold[0] != 0
            && !self.collecting
    }

    /// `gc_collect_generations`: picks the generation (with the 25% veto) and collects it.
    fn collect_generations(&mut self, heap: &mut Heap) {
        for i in (0..NUM_GENERATIONS).rev() {
            if self.count[i] > self.threshold[i] {
                if i == NUM_GENERATIONS - 1 && self.long_lived_pending < self.long_lived_total / 4 {
                    self.gen2_vetoes += 1;
                    continue;
                }
                self.collect_with_callback(heap, i, Reason::Automatic);
                return;
            }
        }
    }

    /// The automatic path: `collecting = 1; gc_collect_generations(); collecting = 0`.
    fn run_gc(&mut self, heap: &mut Heap) {
        self.collecting = true;
        self.collect_generations(heap);
        self.collecting = false;
    }

    /// `gc.collect(g)` and the manual policies: returns collected + uncollectable, or 0 when a
    /// collection is already running.
    fn collect_explicit(&mut self, heap: &mut Heap, g: usize, reason: Reason) -> u64 {
        if self.collecting {
            return 0;
        }
        self.collecting = true;
        let n = self.collect_with_callback(heap, g, reason);
        self.collecting = false;
        n
    }

    /// `gc_collect_with_callback`.
    fn collect_with_callback(&mut self, heap: &mut Heap, g: usize, reason: Reason) -> u64 {
        self.callback_info_dict();
        let n = self.collect_main(heap, g);
        self.callback_info_dict();
        self.by_reason[reason as usize] += 1;
        n
    }

    /// `gc_collect_main` for generation `g`: returns the number of objects collected.
    ///
    /// Header writes: every object of the collected set has its `gc_refs` written by
    /// `update_refs`, so it is reported once there (`note_gc_write`: copy-on-write pages and
    /// one work unit); its later writes in this collection (more `gc_refs` updates, flag bits,
    /// relinking within the set) are counted in bulk. Writes to objects outside the set (the
    /// old generation's tail when lists are merged) are reported one by one.
    fn collect_main(&mut self, heap: &mut Heap, g: usize) -> u64 {
        let t = heap.begin_collection(g as i32);
        if g + 1 < NUM_GENERATIONS {
            self.count[g + 1] += 1;
        }
        for c in self.count.iter_mut().take(g + 1) {
            *c = 0;
        }
        let young = g as u32;
        for i in 0..g {
            self.merge(heap, i as u32, young);
        }
        let old = if g + 1 < NUM_GENERATIONS {
            g as u32 + 1
        } else {
            young
        };
        let mut acc = Acc::default();
        let (examined, unreachable) = self.deduce_unreachable(heap, young, &mut acc);
        let mut survivors = examined - unreachable;
        survivors -= self.untrack_tuples(heap, young, &mut acc);
        let (mut writes, mut visited, mut traversed) = (acc.writes, acc.visited, acc.traversed);

        // promotion
        if young != old {
            if g == NUM_GENERATIONS - 2 {
                self.long_lived_pending += survivors;
            }
            self.merge(heap, young, old);
        } else {
            // untrack_dicts: full collections only (issue #14775).
            if self.tracked_dicts > 0 {
                let mut dicts = Acc::default();
                survivors -= self.untrack_atoms_only(heap, young, IS_DICT, &mut dicts);
                writes += dicts.writes;
                visited += dicts.visited;
                traversed += dicts.traversed;
            }
            self.long_lived_pending = 0;
            self.long_lived_total = survivors;
        }

        let collected = self.delete_garbage(heap);

        if g == NUM_GENERATIONS - 1 {
            // clear_freelists
            self.list_free = 0;
            self.dict_free = 0;
            self.tuple_free = [0; TUPLE_MAXSAVESIZE];
        }
        heap.work.gc_header_writes += writes;
        heap.work.objects_visited += visited;
        heap.work.refs_traversed += traversed;
        let st = &mut self.gen_stats[g];
        st.collections += 1;
        st.collected += collected;
        heap.end_collection(t, examined, collected);
        collected
    }

    /// `deduce_unreachable(young)`: `update_refs`, `subtract_refs` and the breadth-first
    /// `move_unreachable`, which leaves in `young` the objects reachable from outside it and
    /// moves the rest to the unreachable list. Returns (examined, unreachable).
    ///
    /// Each step is a function of its own (as in gcmodule.c): kept apart, each loop keeps its
    /// counters, bases and bounds in registers. Lists of [`RUNS_MIN`] objects or more are
    /// walked in runs of consecutive indices ([`Walk`]).
    fn deduce_unreachable(&mut self, heap: &mut Heap, young: u32, acc: &mut Acc) -> (u64, u64) {
        let examined = self.update_refs(heap, young);
        acc.visited += examined;
        self.subtract_refs(heap, young, examined, acc);
        acc.visited += examined;
        let unreachable = if examined >= RUNS_MIN {
            self.move_unreachable::<true>(heap, young, acc)
        } else {
            self.move_unreachable::<false>(heap, young, acc)
        };
        (examined, unreachable)
    }

    /// `update_refs(young)`: `gc_refs = refcount` for every object of `young`, which is marked
    /// COLLECTING. Returns how many objects `young` holds.
    #[inline(never)]
    fn update_refs(&mut self, heap: &mut Heap, young: u32) -> u64 {
        let links = &mut self.links[..];
        let (rc, flags) = (&self.rc[..], &mut self.flags[..]);
        // The length is not known before the walk: the first RUNS_MIN objects plainly, the
        // rest of a longer list in runs.
        let first = links[young as usize].next;
        let (n, mut examined) = update_walk::<false>(links, rc, flags, young, first, RUNS_MIN);
        if n != young {
            examined += update_walk::<true>(links, rc, flags, young, n, u64::MAX).1;
        }
        if heap.cow_active() {
            // A second walk, so that the first keeps its counters in registers (no call).
            let mut n = self.links[young as usize].next;
            while n != young {
                heap.note_gc_write(obj(n));
                n = self.links[n as usize].next;
            }
        } else {
            heap.work.gc_header_writes += examined;
        }
        examined
    }

    /// `subtract_refs(young)`: subtracts from each object's `gc_refs` the references to it from
    /// the objects of `young`, which leaves in `gc_refs` the references from outside `young`.
    ///
    /// Only the sum of the subtractions matters, not their order, and `update_refs` has just
    /// marked the objects of `young` COLLECTING (no other object is: move_unreachable and
    /// delete_garbage clear the bit), so when `young` holds a good share of all objects (a
    /// full collection) the objects are found by a scan of the flags in index order, which
    /// reads 1 byte per object instead of walking 8-byte links; otherwise by walking the list.
    /// Both do the same subtractions and count the same work.
    fn subtract_refs(&mut self, heap: &Heap, young: u32, examined: u64, acc: &mut Acc) {
        let links = &mut self.links[..];
        let flags = &self.flags[..];
        let (writes, traversed) =
            if examined >= SCAN_MIN && examined.saturating_mul(SCAN_SHARE) >= flags.len() as u64 {
                subtract_scan(links, flags, heap, examined)
            } else if examined >= RUNS_MIN {
                subtract_walk::<true>(links, flags, heap, young)
            } else {
                subtract_walk::<false>(links, flags, heap, young)
            };
        acc.writes += writes;
        acc.traversed += traversed;
    }

    /// `move_unreachable(young)`: moves the objects of `young` that are not reachable from
    /// outside it (directly or through other objects of `young`) to the unreachable list,
    /// restoring `young`'s prev links. Returns how many it moved.
    #[inline(never)]
    fn move_unreachable<const RUNS: bool>(
        &mut self,
        heap: &Heap,
        young: u32,
        acc: &mut Acc,
    ) -> u64 {
        let (mut writes, mut visited, mut traversed) = (0u64, 0u64, 0u64);
        // A breadth-first walk of young; objects found reachable from an already-scanned one
        // are moved back to young's tail and scanned in their turn. As in CPython, `scanned`
        // is the last object left in young: the prev links of the objects up to it are
        // restored as the walk passes; the others' still hold their gc_refs, and young is
        // singly linked from there (its head's prev stays the tail until the end). The
        // unreachable list is doubly linked.
        //
        // The walk's runs stay valid while it relinks: the nodes of a run after n are objects
        // of young not scanned yet (right of the cursor), whose next links nothing here
        // rewrites (the relinking touches n itself, `scanned`, whose next takes n's old next,
        // the unreachable list and young's tail); the tail's next is young's head, so the tail
        // ends every run it is in.
        let mut unreachable = 0u64;
        let mut scanned = young;
        let mut n = self.links[young as usize].next;
        let mut walk = Walk::<RUNS>::new(n);
        while n != young {
            let id = obj(n);
            let i = id.index();
            visited += 1;
            if self.links[n as usize].prev > 0 {
                let f = self.flags[i];
                if f & HAS_REFS != 0 {
                    let slots = heap.slots(id);
                    traversed += slots.len() as u64;
                    if f & REVERSE_TRAVERSE != 0 {
                        for &c in slots.iter().rev() {
                            self.visit_reachable(c, young, &mut unreachable, &mut writes);
                        }
                    } else {
                        for &c in slots {
                            self.visit_reachable(c, young, &mut unreachable, &mut writes);
                        }
                    }
                }
                // Relink prev (n is no longer COLLECTING from here).
                self.links[n as usize].prev = scanned;
                self.flags[i] &= !COLLECTING;
                writes += 1;
                scanned = n;
            } else {
                // To the tail of unreachable; young's next link skips it (no prev to fix:
                // young is singly linked to the right of `scanned`).
                self.links[scanned as usize].next = self.links[n as usize].next;
                self.link_tail_quiet(UNREACH, n);
                self.flags[i] |= UNREACHABLE;
                unreachable += 1;
                writes += 4;
            }
            // Read after the traversal: visit_reachable may have appended to young after n.
            n = walk.next(&self.links, n, scanned);
        }
        // Young's tail is the last object left in it.
        self.links[young as usize].prev = scanned;
        acc.writes += writes;
        acc.visited += visited;
        acc.traversed += traversed;
        unreachable
    }

    /// `untrack_tuples(list)` (skipped when no tuple is tracked anywhere); returns how many
    /// tuples it untracked.
    fn untrack_tuples(&mut self, heap: &mut Heap, young: u32, acc: &mut Acc) -> u64 {
        if self.tracked_tuples == 0 {
            return 0;
        }
        self.untrack_atoms_only(heap, young, IS_TUPLE, acc)
    }

    /// The walk of `untrack_tuples` and `untrack_dicts`: untracks the objects of `list` with
    /// the kind bit `kind` (`IS_TUPLE` or `IS_DICT`) that hold only atoms; returns how many.
    ///
    /// A plain walk, even of a long list: its work per node hides the wait on each link, and
    /// measured, runs ([`Walk`]) made the untracking of a million dicts slower, not faster.
    #[inline(never)]
    fn untrack_atoms_only(&mut self, heap: &Heap, list: u32, kind: u8, acc: &mut Acc) -> u64 {
        let mut untracked = 0u64;
        let mut n = self.links[list as usize].next;
        while n != list {
            let nx = self.links[n as usize].next;
            let id = obj(n);
            if self.flags[id.index()] & kind != 0 {
                acc.visited += 1;
                if self.atoms_only(heap, id, &mut acc.traversed) {
                    self.clear_tracked(id);
                    self.unlink_quiet(n);
                    untracked += 1;
                    acc.writes += 2;
                }
            }
            n = nx;
        }
        untracked
    }

    /// `delete_garbage`: frees the objects on the unreachable list; returns how many.
    fn delete_garbage(&mut self, heap: &mut Heap) -> u64 {
        // The garbage: no finalizers, weakrefs or tp_del in the model, so every unreachable
        // object is collected (m) and none is uncollectable (n = 0). delete_garbage's tp_clear
        // calls end with every garbage object freed; references from the garbage to objects
        // outside it are dropped, which may free those by reference counting.
        self.garbage.clear();
        let mut n = self.links[UNREACH as usize].next;
        while n != UNREACH {
            self.garbage.push(obj(n));
            n = self.links[n as usize].next;
        }
        self.links[UNREACH as usize].next = UNREACH;
        self.links[UNREACH as usize].prev = UNREACH;
        let collected = self.garbage.len() as u64;
        let garbage = std::mem::take(&mut self.garbage);
        let mut children = std::mem::take(&mut self.gc_children);
        for &id in &garbage {
            self.clear_tracked(id);
            // Tracked, so a container.
            let f = self.flags[id.index()];
            self.count_dealloc_flags(heap, id, f);
            children.clear();
            heap.free_into(id, &mut children);
            for &c in &children {
                if self.flags[c.index()] & UNREACHABLE != 0 {
                    continue;
                }
                self.decref_in_gc(heap, c);
            }
        }
        self.gc_children = children;
        for &id in &garbage {
            self.flags[id.index()] = 0;
        }
        self.garbage = garbage;

        collected
    }

    /// `visit_reachable`: `c` is referenced by an object found reachable.
    #[inline(always)]
    fn visit_reachable(&mut self, c: ObjId, young: u32, unreachable: &mut u64, writes: &mut u64) {
        if c.is_nil() {
            return;
        }
        let ci = c.index();
        let cf = self.flags[ci];
        if cf & COLLECTING == 0 {
            return;
        }
        let cn = node(c) as usize;
        if cf & UNREACHABLE != 0 {
            // Out of the (doubly linked) unreachable list, to young's tail (young's head's
            // prev is its tail), with gc_refs = 1 in its prev link.
            self.unlink_quiet(cn as u32);
            let last = self.links[young as usize].prev;
            self.links[last as usize].next = cn as u32;
            self.links[cn] = Link {
                next: young,
                prev: 1,
            };
            self.links[young as usize].prev = cn as u32;
            self.flags[ci] = cf & !UNREACHABLE;
            *unreachable -= 1;
            *writes += 4;
        } else if self.links[cn].prev == 0 {
            // To the right of move_unreachable's cursor: prev holds gc_refs.
            self.links[cn].prev = 1;
            *writes += 1;
        }
    }

    /// True if no item of the tuple or dict `id` may be tracked (`_PyTuple_MaybeUntrack`,
    /// `_PyDict_MaybeUntrack`). Empty slots are `None`.
    #[inline(always)]
    fn atoms_only(&self, heap: &Heap, id: ObjId, traversed: &mut u64) -> bool {
        let slots = heap.slots(id);
        *traversed += slots.len() as u64;
        slots.iter().all(|&c| c.is_nil() || !self.may_be_tracked(c))
    }

    /// `safe_point` with something to do: the manual policies, then a scheduled collection.
    #[cold]
    #[inline(never)]
    fn safe_point_work(&mut self, heap: &mut Heap) {
        if self.pending & POLICIES != 0 {
            self.policies(heap);
        }
        if self.pending & SCHEDULED != 0 {
            // _Py_RunGC: does nothing if the GC was disabled meanwhile.
            self.pending &= !SCHEDULED;
            if self.enabled {
                self.run_gc(heap);
            }
        }
    }

    /// The manual policies (every N ops, every T ms).
    #[cold]
    #[inline(never)]
    fn policies(&mut self, heap: &mut Heap) {
        if self.cfg.every_ops > 0 && heap.work.ops >= self.next_due_ops {
            self.next_due_ops = heap.work.ops + self.cfg.every_ops;
            self.collect_explicit(heap, self.cfg.manual_generation, Reason::Policy);
        }
        if self.cfg.every_ms > 0 {
            let now = heap.now_ns();
            if now >= self.next_due_ns {
                self.next_due_ns = now + self.cfg.every_ms * 1_000_000;
                self.collect_explicit(heap, self.cfg.manual_generation, Reason::Policy);
            }
        }
    }
}

#[inline]
fn take(n: &mut u32) -> bool {
    if *n > 0 {
        *n -= 1;
        true
    } else {
        false
    }
}

#[inline]
fn put(n: &mut u32, max: u32) -> bool {
    if *n < max {
        *n += 1;
        true
    } else {
        false
    }
}

impl Strategy for Generational {
    #[inline(always)]
    fn alloc(&mut self, heap: &mut Heap, id: ObjId) {
        let i = id.index();
        match self.rc.get_mut(i) {
            Some(r) => *r = 0,
            None => {
                self.grow(heap.capacity().max(i + 1));
                self.rc[i] = 0;
            }
        }
        let kind = heap.kind(id);
        let bits = kind_bits(kind);
        self.flags[i] = bits;
        if self.pending & POLICIES != 0 {
            self.policies(heap);
        }
        // The young count (free lists bypass it) and whether the object is tracked at once:
        // every container but dicts (tracked lazily) and the empty tuple (a static singleton,
        // never allocated).
        let counted = match kind {
            Kind::List => !take(&mut self.list_free),
            Kind::Instance => true,
            Kind::Dict => !take(&mut self.dict_free),
            Kind::Tuple => {
                let len = heap.slots(id).len();
                if len == 0 {
                    return;
                }
                !(len < TUPLE_MAXSAVESIZE && take(&mut self.tuple_free[len]))
            }
            _ => return,
        };
        if counted {
            self.count[0] += 1;
            if self.should_schedule() {
                if self.cfg.deferred {
                    // 3.12+: _Py_ScheduleGC; serviced at the next eval-breaker check.
                    self.pending |= SCHEDULED;
                } else {
                    // 3.11: collect inside the allocation, before the new object is tracked.
                    self.run_gc(heap);
                }
            }
        }
        if kind != Kind::Dict {
            // track (the collection above never touches the untracked new object's flags)
            self.tracks += 1;
            self.flags[i] = bits | TRACKED;
            self.tracked_tuples += (kind == Kind::Tuple) as u64;
            self.link_tail(heap, 0, node(id));
        }
    }

    #[inline(always)]
    fn retain(&mut self, heap: &mut Heap, id: ObjId) {
        heap.note_rc_write(id);
        self.rc[id.index()] += 1;
    }

    #[inline(always)]
    fn release(&mut self, heap: &mut Heap, id: ObjId) {
        self.decref(heap, id);
    }

    #[inline(always)]
    fn stored(&mut self, heap: &mut Heap, container: ObjId, value: ObjId) {
        // MAINTAIN_TRACKING: an untracked dict becomes tracked when it gets a value that may
        // be tracked.
        let f = self.flags[container.index()];
        self.flags[container.index()] = f | HAS_REFS;
        if f & (TRACKED | IS_DICT) == IS_DICT && self.may_be_tracked(value) {
            self.track(heap, container);
        }
    }

    #[inline(always)]
    fn safe_point(&mut self, heap: &mut Heap) {
        if self.pending != 0 {
            self.safe_point_work(heap);
        }
    }

    fn event(&mut self, heap: &mut Heap, name: &str) {
        if self.pending & POLICIES != 0 {
            self.policies(heap);
        }
        if self.cfg.on_event.as_deref() == Some(name) {
            self.collect_explicit(heap, self.cfg.manual_generation, Reason::Policy);
        }
    }

    fn gc(&mut self, heap: &mut Heap, op: &GcOp) -> GcReply {
        match *op {
            GcOp::Collect { generation } => {
                let g = generation.clamp(0, 2) as usize;
                GcReply::Collected(self.collect_explicit(heap, g, Reason::Manual))
            }
            GcOp::Freeze => {
                for g in 0..NUM_GENERATIONS {
                    self.merge(heap, g as u32, PERM);
                    self.count[g] = 0;
                }
                GcReply::None
            }
            GcOp::Unfreeze => {
                self.merge(heap, PERM, (NUM_GENERATIONS - 1) as u32);
                GcReply::None
            }
            GcOp::Enable => {
                self.enabled = true;
                GcReply::None
            }
            GcOp::Disable => {
                self.enabled = false;
                GcReply::None
            }
            GcOp::SetThreshold { t0, t1, t2 } => {
                self.threshold = [t0 as i64, t1 as i64, t2 as i64];
                GcReply::None
            }
        }
    }

    fn refcount(&self, id: ObjId) -> Option<u64> {
        self.rc.get(id.index()).map(|&n| n as u64)
    }

    fn stats(&self) -> StrategyStats {
        let sizes = self.generation_sizes();
        let (lf, df, tf) = self.free_lists();
        let nonneg = |x: i64| x.max(0) as u64;
        StrategyStats {
            generations: self.gen_stats.to_vec(),
            counters: vec![
                ("count0".into(), nonneg(self.count[0])),
                ("count1".into(), nonneg(self.count[1])),
                ("count2".into(), nonneg(self.count[2])),
                ("threshold0".into(), nonneg(self.threshold[0])),
                ("threshold1".into(), nonneg(self.threshold[1])),
                ("threshold2".into(), nonneg(self.threshold[2])),
                ("enabled".into(), self.enabled as u64),
                ("long_lived_total".into(), self.long_lived_total),
                ("long_lived_pending".into(), self.long_lived_pending),
                ("gen2_vetoes".into(), self.gen2_vetoes),
                ("gen0_size".into(), sizes[0]),
                ("gen1_size".into(), sizes[1]),
                ("gen2_size".into(), sizes[2]),
                ("frozen".into(), sizes[3]),
                ("collections_automatic".into(), self.by_reason[0]),
                ("collections_manual".into(), self.by_reason[1]),
                ("collections_policy".into(), self.by_reason[2]),
                ("freed_by_refcount".into(), self.freed_by_refcount),
                ("freelist_list".into(), lf as u64),
                ("freelist_dict".into(), df as u64),
                ("freelist_tuple".into(), tf as u64),
            ],
            // refcount 4 + prev/next 8 (gc_refs lives in prev) + flags 1
            metadata_bytes_per_object: 13,
        }
    }
}

const PARAMS: &[ParamSpec] = &[
    ParamSpec { name: "t0", ty: ParamType::I64, default: "700", help: "threshold0 (C int; 0 turns automatic collection off, negative collects at every counted allocation)" },
    ParamSpec { name: "t1", ty: ParamType::I64, default: "10", help: "threshold1 (C int)" },
    ParamSpec { name: "t2", ty: ParamType::I64, default: "10", help: "threshold2 (C int)" },
    ParamSpec { name: "deferred", ty: ParamType::Bool, default: "false", help: "3.12+: run automatic collections at the next SafePoint instead of inside the allocation" },
    ParamSpec { name: "enabled", ty: ParamType::Bool, default: "true", help: "gc.isenabled() at start (false: automatic collection off, counts still run)" },
    ParamSpec { name: "callbacks", ty: ParamType::Bool, default: "false", help: "model a gc.callbacks hook (CPython's two info dicts per collection), as the fidelity replay installs" },
    ParamSpec { name: "every_ops", ty: ParamType::U64, default: "0", help: "manual policy: collect `generation` every N ops of simulated time (0: off)" },
    ParamSpec { name: "every_ms", ty: ParamType::U64, default: "0", help: "manual policy: collect `generation` every T ms of wall time (0: off)" },
    ParamSpec { name: "on_event", ty: ParamType::Text, default: "", help: "manual policy: collect `generation` when the workload emits this event (e.g. request_end; empty: off)" },
    ParamSpec { name: "generation", ty: ParamType::I64, default: "2", help: "generation the manual policies collect (0, 1 or 2)" },
];

const PRESETS: &[Preset] = &[
    Preset { name: "cpython-3.11", description: "CPython 3.11: thresholds (700, 10, 10), collects inside the allocation", params: &[("t0", "700"), ("t1", "10"), ("t2", "10"), ("deferred", "false")] },
    Preset { name: "cpython-3.12", description: "CPython 3.12: thresholds (700, 10, 10), collection deferred to the next safe point (eval breaker)", params: &[("t0", "700"), ("t1", "10"), ("t2", "10"), ("deferred", "true")] },
    Preset { name: "cpython-3.13", description: "CPython 3.13: thresholds (2000, 10, 10), collection deferred to the next safe point", params: &[("t0", "2000"), ("t1", "10"), ("t2", "10"), ("deferred", "true")] },
    Preset { name: "guide-800-20-20", description: "the guide's gc.set_threshold(800, 20, 20) on CPython 3.11", params: &[("t0", "800"), ("t1", "20"), ("t2", "20"), ("deferred", "false")] },
    Preset { name: "gc-disabled", description: "gc.disable(): no automatic collection (counts still run, gc.collect ops work); add every_ops=N, every_ms=T or on_event=NAME for manual collection", params: &[("enabled", "false")] },
];

fn c_int(p: &Params, key: &str) -> Result<i64, ParamError> {
    let v = p.i64(key);
    if v < i32::MIN as i64 || v > i32::MAX as i64 {
        return Err(p.range_error(
            key,
            format!(
                "{v} does not fit a C int (CPython raises OverflowError); valid: {}..={}",
                i32::MIN,
                i32::MAX
            ),
        ));
    }
    Ok(v)
}

impl StrategyFactory for Generational {
    const INFO: StrategyInfo = StrategyInfo {
        name: "generational",
        description: "CPython's reference counting + generational cycle detector (3.11 gcmodule.c; presets for 3.12/3.13 and gc.disable with manual policies)",
        params: PARAMS,
        presets: PRESETS,
        guarantee: Guarantee::CPython,
    };

    fn build(p: &Params) -> Result<Self, ParamError> {
        let g = p.i64("generation");
        if !(0..=2).contains(&g) {
            return Err(p.range_error(
                "generation",
                format!("{g}: CPython's gc.collect raises ValueError('invalid generation'); valid generations are 0, 1 and 2"),
            ));
        }
        let ev = p.text("on_event");
        let cfg = Config {
            thresholds: [c_int(p, "t0")?, c_int(p, "t1")?, c_int(p, "t2")?],
            deferred: p.bool("deferred"),
            enabled: p.bool("enabled"),
            callbacks: p.bool("callbacks"),
            every_ops: p.u64("every_ops"),
            every_ms: p.u64_in("every_ms", 0, 1 << 40)?,
            on_event: (!ev.is_empty()).then(|| ev.to_string()),
            manual_generation: g as usize,
        };
        Ok(Generational::new(cfg))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Links `NHEAD..len` in index order, with the `next` links of `breaks` pointing elsewhere.
    fn links(len: usize, breaks: &[usize]) -> Vec<Link> {
        let mut v: Vec<Link> = (0..len as u32)
            .map(|i| Link {
                next: i + 1,
                prev: i.saturating_sub(1),
            })
            .collect();
        for &b in breaks {
            v[b].next = 0;
        }
        v
    }

    /// `index_run` never claims a link it did not verify, and finds runs where there are.
    #[test]
    fn index_run_claims_only_verified_links() {
        for len in [NHEAD as usize, 6, 7, 13, 14, 15, 40, 300, 1000] {
            for brk in [
                None,
                Some(5),
                Some(6),
                Some(9),
                Some(13),
                Some(14),
                Some(200),
                Some(270),
            ] {
                let breaks: Vec<usize> = brk.filter(|&b| b < len).into_iter().collect();
                let l = links(len, &breaks);
                for n in NHEAD..len as u32 {
                    let r = index_run(&l, n);
                    assert!(
                        r >= n && (r as usize) <= len,
                        "len {len} {brk:?} n {n}: {r}"
                    );
                    for m in n..r {
                        assert_eq!(l[m as usize].next, m + 1, "len {len} {brk:?} n {n}: {r}");
                    }
                    assert!(
                        r as usize <= n as usize + RUN_MAX + 1,
                        "len {len} n {n}: {r}"
                    );
                    // A long run is found (up to the last block that fits).
                    if !breaks.iter().any(|&b| b >= n as usize) && n as usize + 2 * RUN_BLOCK < len
                    {
                        assert!(r > n + RUN_BLOCK as u32, "len {len} n {n}: {r}");
                    }
                }
                // A node past the end, and a link out of order, end a run at once.
                assert_eq!(index_run(&l, len as u32), len as u32);
                if let Some(&b) = breaks.first() {
                    assert_eq!(index_run(&l, b as u32), b as u32);
                }
            }
        }
    }

    /// A walk in runs visits the nodes of a list in its order, whatever the runs.
    #[test]
    fn walks_in_runs_follow_the_list() {
        // A list of head 0 through 5..2000 in index order, except that three stretches are
        // moved to the end, in reverse.
        let len = 2000u32;
        let mut order: Vec<u32> = (NHEAD..len).collect();
        for range in [(100, 140), (700, 701), (1500, 1530)] {
            let moved: Vec<u32> = order
                .iter()
                .copied()
                .filter(|x| (range.0..range.1).contains(x))
                .rev()
                .collect();
            order.retain(|x| !(range.0..range.1).contains(x));
            order.extend(moved);
        }
        let mut l = vec![Link::default(); len as usize];
        let mut p = 0;
        for &x in &order {
            l[p as usize].next = x;
            p = x;
        }
        l[p as usize].next = 0;
        let mut seen = Vec::new();
        let mut n = l[0].next;
        let mut walk = Walk::<true>::new(n);
        while n != 0 {
            seen.push(n);
            n = walk.next(&l, n, n);
        }
        assert_eq!(seen, order);
    }
}
