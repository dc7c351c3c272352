//! # gclab-cpython314
//!
//! The incremental cycle collector of CPython 3.14.0 to 3.14.4 (`Python/gc.c` of the 3.14 branch;
//! the model is written up in `docs/cpython-model.md`), the collector CPython shipped and then
//! reverted in 3.14.5 "after a number of reports of significant memory pressure in production". It
//! sits next to the `generational` strategy's 3.13 model so that gclab can show why.
//!
//! Reference counting, object tracking (lazy dict tracking, tuple untracking), the free lists
//! and the cycle detection itself (`deduce_unreachable`, `delete_garbage`) are the
//! `gclab-generational` crate's, reused through its [`Generational::collect_region`] API; this
//! crate adds the 3.14 policy:
//!
//! * **State**: a young generation and two old *spaces* (the generational crate's lists GEN0,
//!   GEN1 and GEN2), `visited_space` (which old space holds the objects already scanned in this
//!   cycle), a `phase` (MARK or COLLECT), `work_to_do` (starts at -5000) and `heap_size`. Every
//!   tracked object carries an old-space bit.
//! * **Counting**: 3.14.1+ (gh-139951, the default) counts *tracked* objects: +1 when an object
//!   is tracked, -1 (floored at 0) when one is untracked; `heap_size` follows. 3.14.0 counted
//!   allocations of GC-capable objects (minus deallocations, floored), as 3.13 did: parameter
//!   `count=allocations` (preset `cpython-3.14.0`).
//! * **Trigger**: when the young count exceeds threshold0 (2000) and the GC is enabled, a
//!   collection is scheduled and runs at the next safe point (the eval breaker). Every automatic
//!   collection is **one increment**, reported as generation 1.
//! * **An increment** (`gc_collect_increment`): `work_to_do += young.count + min(heap_size / 10
//!   / max(threshold1, 2), 3/2 × young.count)`; untrack tuples. In the MARK phase it only marks:
//!   everything reachable from the roots (here: the registers, gclab's frame) that is tracked
//!   and not yet visited moves into the visited space, with no cycle analysis, and the phase
//!   becomes COLLECT. In the COLLECT phase it marks from the registers again, takes all of young
//!   plus objects from the head of the pending space, each with its not-yet-visited transitive
//!   closure, until the increment reaches `work_to_do`, runs cycle detection on that increment
//!   (survivors go to the visited space), adds `heap_size / 10 / scale` to `work_to_do` and
//!   subtracts the increment's size. When the pending space is empty the scavenge is complete:
//!   the spaces swap, `work_to_do` resets to 0 and the phase returns to MARK.
//! * **`gc.collect(g)`**: 0 collects young only (survivors to the visited space), 1 runs one
//!   increment (which may be the marking step alone and collect nothing), 2 is a full collection
//!   of young and both spaces, which also empties the free lists.
//! * `gc.freeze()` moves everything to the permanent generation (marked visited) and zeroes the
//!   counts; `gc.unfreeze()` moves it into the visited space. `gc.set_threshold(t0, t1, t2)`
//!   sets the young threshold and the scale (`t1`); `t2` is stored and unused, as in 3.14.
//!
//! Header writes: the old-space bit flips and the list relinking are collector writes
//! (`note_gc_write`), as in CPython where both live in `PyGC_Head`. What the model leaves out:
//! finalizers, weak references, immortal objects, and CPython's other roots (sys, builtins,
//! static types' dicts), which gclab does not have.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use gclab_core::heap::{Heap, ObjId};
use gclab_core::strategy::{
    GcReply, GenerationStats, Guarantee, Preset, StrategyFactory, StrategyInfo, StrategyStats,
};
use gclab_core::{
    GcOp, InterpOp, Kind, ParamError, ParamSpec, ParamType, Params, Strategy, VersionRange,
    Versions,
};
use gclab_generational::{Config, GcList, Generational};
use std::collections::VecDeque;

/// `SCAN_RATE_DIVISOR`: "the default incremental threshold of 10 scans objects at 1% of the
/// heap size".
const SCAN_RATE_DIVISOR: i64 = 10;

/// What advances the young count.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Counting {
    /// 3.14.1+: objects tracked, minus objects untracked (floored at 0).
    Tracked,
    /// 3.14.0: GC-capable objects allocated, minus those deallocated (floored at 0).
    Allocations,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Phase {
    Mark,
    Collect,
}

#[derive(Clone, Debug, Default)]
struct Counters {
    increments: u64,
    mark_steps: u64,
    scavenges: u64,
    objects_marked: u64,
    increment_objects: u64,
    automatic: u64,
}

/// CPython 3.14's incremental collector. See the crate docs.
#[derive(Debug)]
pub struct CPython314 {
    inner: Generational,
    counting: Counting,
    young_count: i64,
    young_threshold: i64,
    old_threshold: [i64; 2],
    old_count: [i64; 2],
    visited_space: usize,
    phase: Phase,
    work_to_do: i64,
    heap_size: i64,
    enabled: bool,
    collecting: bool,
    scheduled: bool,
    /// Old-space bit per object index.
    space: Vec<u8>,
    /// The inner strategy's counters when last read (tracks, untracks, count0).
    seen: (u64, u64, i64),
    stats: [GenerationStats; 3],
    queue: VecDeque<ObjId>,
    c: Counters,
}

fn old_list(space: usize) -> GcList {
    if space == 0 {
        GcList::GEN1
    } else {
        GcList::GEN2
    }
}

impl CPython314 {
    /// A collector with thresholds `(t0, t1, t2)` and this way of counting.
    pub fn new(thresholds: [i64; 3], counting: Counting) -> CPython314 {
        let inner = Generational::new(Config {
            // The inner strategy never collects on its own: this crate decides.
            enabled: false,
            ..Config::default()
        });
        CPython314 {
            inner,
            counting,
            young_count: 0,
            young_threshold: thresholds[0],
            old_threshold: [thresholds[1], thresholds[2]],
            old_count: [0; 2],
            visited_space: 0,
            phase: Phase::Mark,
            work_to_do: -5000,
            heap_size: 0,
            enabled: true,
            collecting: false,
            scheduled: false,
            space: Vec::new(),
            seen: (0, 0, 0),
            stats: Default::default(),
            queue: VecDeque::new(),
            c: Counters::default(),
        }
    }

    /// `gc.get_count()`: (young count, visited space count, pending space count).
    pub fn get_count(&self) -> [i64; 3] {
        [
            self.young_count,
            self.old_count[self.visited_space],
            self.old_count[self.visited_space ^ 1],
        ]
    }

    /// `gc.get_threshold()`: (young threshold, old[0] threshold, 0).
    pub fn get_threshold(&self) -> [i64; 3] {
        [self.young_threshold, self.old_threshold[0], 0]
    }

    fn not_visited(&self) -> u8 {
        (self.visited_space ^ 1) as u8
    }

    /// Brings the young count and `heap_size` up to date with what the inner strategy did
    /// (tracking, untracking, allocating, deallocating) since the last call, and schedules a
    /// collection if the young count passed the threshold.
    #[inline]
    fn sync_counts(&mut self) {
        let (t, u) = self.inner.track_counts();
        let c0 = self.inner.get_count()[0];
        let (dt, du) = ((t - self.seen.0) as i64, (u - self.seen.1) as i64);
        let dc = c0 - self.seen.2;
        self.seen = (t, u, c0);
        match self.counting {
            Counting::Tracked => {
                // Within one hook only one direction happens, except in a collection, where
                // the count is reset anyway.
                self.young_count = (self.young_count + dt - du).max(0);
                self.heap_size += dt - du;
            }
            Counting::Allocations => {
                self.young_count = (self.young_count + dc).max(0);
                self.heap_size += dc;
            }
        }
        if (dt > 0 || dc > 0)
            && self.young_count > self.young_threshold
            && self.enabled
            && self.young_threshold != 0
            && !self.collecting
        {
            self.scheduled = true;
        }
    }

    fn set_space(&mut self, heap: &mut Heap, list: GcList, space: u8) {
        for id in self.inner.gc_list_ids(list) {
            if self.space[id.index()] != space {
                self.space[id.index()] = space;
                heap.note_gc_write(id);
            }
        }
    }

    /// `assess_work_to_do`: new objects plus a fraction of the heap (at most 3/2 × new).
    fn assess_work_to_do(&mut self) -> i64 {
        let scale = self.old_threshold[0].max(2);
        let new_objects = self.young_count;
        let heap_fraction = (self.heap_size / SCAN_RATE_DIVISOR / scale).min(new_objects * 3 / 2);
        self.young_count = 0;
        new_objects + heap_fraction
    }

    /// Moves `id` into `to` with the visited bit if it is tracked and not yet visited; queues
    /// it for traversal. Returns 1 if it moved.
    fn visit(&mut self, heap: &mut Heap, id: ObjId, to: GcList) -> i64 {
        let v = self.visited_space as u8;
        if id.is_nil() || !self.inner.is_tracked(id) || self.space[id.index()] == v {
            return 0;
        }
        self.space[id.index()] = v;
        heap.note_gc_write(id);
        self.inner.gc_list_move(heap, id, to);
        self.queue.push_back(id);
        1
    }

    /// Moves everything the queued objects transitively reach (tracked, not visited) into
    /// `to`, breadth first. Returns how many objects moved.
    fn expand(&mut self, heap: &mut Heap, to: GcList) -> i64 {
        let mut moved = 0;
        while let Some(id) = self.queue.pop_front() {
            heap.work.objects_visited += 1;
            let n = heap.slots(id).len();
            heap.work.refs_traversed += n as u64;
            for k in 0..n {
                let c = heap.slots(id)[k];
                moved += self.visit(heap, c, to);
            }
        }
        moved
    }

    /// `mark_stacks` / `mark_at_start`: the registers are gclab's only roots (its one frame).
    fn mark_roots(&mut self, heap: &mut Heap) -> i64 {
        let visited = old_list(self.visited_space);
        let mut marked = 0;
        for r in 0..heap.registers().len() {
            let id = heap.registers()[r];
            marked += self.visit(heap, id, visited);
        }
        marked += self.expand(heap, visited);
        self.c.objects_marked += marked as u64;
        marked
    }

    /// `completed_scavenge`.
    fn completed_scavenge(&mut self, heap: &mut Heap) {
        if self.inner.gc_list_len(GcList::PERMANENT) == 0 {
            let not_visited = self.visited_space;
            self.visited_space ^= 1;
            self.set_space(heap, GcList::GEN0, not_visited as u8);
        } else {
            let visited = self.visited_space;
            let nv = visited ^ 1;
            self.inner
                .gc_list_merge(heap, old_list(visited), old_list(nv));
            self.set_space(heap, old_list(nv), nv as u8);
        }
        self.work_to_do = 0;
        self.phase = Phase::Mark;
        self.c.scavenges += 1;
    }

    /// `gc_collect_young`: young only; survivors to the visited space.
    fn collect_young(&mut self, heap: &mut Heap) -> u64 {
        let t = heap.begin_collection(0);
        let visited = old_list(self.visited_space);
        self.inner.gc_list_untrack_tuples(heap, GcList::GEN0);
        self.set_space(heap, GcList::GEN0, self.visited_space as u8);
        let (examined, collected) = self.inner.collect_region(heap, GcList::GEN0, visited);
        self.sync_counts();
        self.young_count = 0;
        self.old_count[self.visited_space] += 1;
        self.stats[0].collections += 1;
        self.stats[0].collected += collected;
        heap.end_collection(t, examined, collected);
        collected
    }

    /// `gc_collect_increment`: one increment (or the marking step).
    fn collect_increment(&mut self, heap: &mut Heap) -> u64 {
        let t = heap.begin_collection(1);
        self.c.increments += 1;
        self.work_to_do += self.assess_work_to_do();
        self.inner.gc_list_untrack_tuples(heap, GcList::GEN0);
        self.sync_counts();
        if self.phase == Phase::Mark {
            // mark_at_start subtracts the marked objects, and so does its caller (as in
            // CPython 3.14's source).
            let marked = self.mark_roots(heap);
            self.work_to_do -= marked;
            self.phase = Phase::Collect;
            self.work_to_do -= marked;
            self.c.mark_steps += 1;
            self.stats[1].collections += 1;
            heap.end_collection(t, marked as u64, 0);
            return 0;
        }
        let visited = old_list(self.visited_space);
        let pending = old_list(self.visited_space ^ 1);
        let scale = self.old_threshold[0].max(2);
        let marked = self.mark_roots(heap);
        self.work_to_do -= marked;
        // The increment is the young list: young first, then pending objects with their
        // closures, appended to it.
        self.set_space(heap, GcList::GEN0, self.visited_space as u8);
        let mut size = self.inner.gc_list_len(GcList::GEN0) as i64;
        while size < self.work_to_do {
            let Some(first) = self.inner.gc_list_first(pending) else {
                break;
            };
            if self.visit(heap, first, GcList::GEN0) == 0 {
                // Cannot happen (the pending space holds only not-visited objects); never
                // loop on it.
                debug_assert!(false, "pending object {first:?} marked visited");
                self.space[first.index()] = self.visited_space as u8;
                self.inner.gc_list_move(heap, first, GcList::GEN0);
            }
            size += 1;
            size += self.expand(heap, GcList::GEN0);
        }
        self.c.increment_objects += size as u64;
        let (examined, collected) = self.inner.collect_region(heap, GcList::GEN0, visited);
        self.sync_counts();
        self.work_to_do += self.heap_size / SCAN_RATE_DIVISOR / scale;
        self.work_to_do -= size;
        self.stats[1].collections += 1;
        self.stats[1].collected += collected;
        if self.inner.gc_list_len(pending) == 0 {
            self.completed_scavenge(heap);
        }
        heap.end_collection(t, examined + marked as u64, collected);
        collected
    }

    /// `gc_collect_full`: young and both spaces, then the free lists.
    fn collect_full(&mut self, heap: &mut Heap) -> u64 {
        let t = heap.begin_collection(2);
        let visited = old_list(self.visited_space);
        let pending = old_list(self.visited_space ^ 1);
        self.inner.gc_list_untrack_tuples(heap, GcList::GEN0);
        self.inner.gc_list_merge(heap, GcList::GEN0, pending);
        self.set_space(heap, pending, self.visited_space as u8);
        self.young_count = 0;
        self.inner.gc_list_merge(heap, pending, visited);
        let (examined, collected) = self.inner.collect_region(heap, visited, visited);
        self.sync_counts();
        self.young_count = 0;
        self.old_count = [0; 2];
        self.completed_scavenge(heap);
        self.inner.clear_freelists();
        self.stats[2].collections += 1;
        self.stats[2].collected += collected;
        heap.end_collection(t, examined, collected);
        collected
    }

    /// `_PyGC_Collect(generation)`: 0 when a collection is already running.
    fn collect(&mut self, heap: &mut Heap, generation: i32) -> u64 {
        if self.collecting {
            return 0;
        }
        self.collecting = true;
        let n = match generation {
            0 => self.collect_young(heap),
            1 => self.collect_increment(heap),
            _ => self.collect_full(heap),
        };
        self.collecting = false;
        n
    }
}

impl Strategy for CPython314 {
    #[inline]
    fn alloc(&mut self, heap: &mut Heap, obj: ObjId) {
        let i = obj.index();
        if i >= self.space.len() {
            let cap = heap.capacity().max(i + 1).max(self.space.len() * 2);
            self.space.resize(cap, 0);
        }
        // _PyObject_GC_TRACK gives new objects the not-visited bit.
        self.space[i] = self.not_visited();
        self.inner.alloc(heap, obj);
        self.sync_counts();
    }

    #[inline]
    fn retain(&mut self, heap: &mut Heap, obj: ObjId) {
        self.inner.retain(heap, obj);
    }

    #[inline]
    fn release(&mut self, heap: &mut Heap, obj: ObjId) {
        self.inner.release(heap, obj);
        self.sync_counts();
    }

    #[inline]
    fn stored(&mut self, heap: &mut Heap, container: ObjId, value: ObjId) {
        let was = self.inner.is_tracked(container);
        self.inner.stored(heap, container, value);
        if !was && heap.kind(container) == Kind::Tuple && heap.kind(value).is_container() {
            // A tuple untracked by an increment (its items all atoms or empty) whose slot is
            // written afterwards with a container: CPython cannot do that (its tuples are
            // immutable once built; one with an empty slot is never untracked), but an op
            // stream can, and an untracked tuple on a cycle would never be collected.
            self.inner.gc_track(heap, container);
        }
        if !was && self.inner.is_tracked(container) {
            self.space[container.index()] = self.not_visited();
            self.sync_counts();
        }
    }

    fn interp(&mut self, heap: &mut Heap, op: &InterpOp, obj: ObjId) {
        // The inner model keeps the recorded count and tracking; the young count follows it as
        // it follows the inner model's own counting (allocations or tracked objects).
        let was = !obj.is_nil() && self.inner.is_tracked(obj);
        self.inner.interp(heap, op, obj);
        if matches!(op, InterpOp::Track { .. }) && !was && self.inner.is_tracked(obj) {
            self.space[obj.index()] = self.not_visited();
        }
        self.sync_counts();
    }

    #[inline]
    fn safe_point(&mut self, heap: &mut Heap) {
        if self.scheduled {
            // _Py_RunGC: one increment, unless the GC was disabled meanwhile.
            self.scheduled = false;
            if self.enabled {
                self.c.automatic += 1;
                self.collect(heap, 1);
            }
        }
    }

    fn gc(&mut self, heap: &mut Heap, op: &GcOp) -> GcReply {
        match *op {
            GcOp::Collect { generation } => GcReply::Collected(self.collect(heap, generation)),
            GcOp::Freeze => {
                let v = self.visited_space as u8;
                self.set_space(heap, GcList::GEN0, v);
                self.inner
                    .gc_list_merge(heap, GcList::GEN0, GcList::PERMANENT);
                self.young_count = 0;
                self.set_space(heap, old_list(self.visited_space ^ 1), v);
                self.inner
                    .gc_list_merge(heap, GcList::GEN1, GcList::PERMANENT);
                self.inner
                    .gc_list_merge(heap, GcList::GEN2, GcList::PERMANENT);
                self.old_count = [0; 2];
                GcReply::None
            }
            GcOp::Unfreeze => {
                self.inner
                    .gc_list_merge(heap, GcList::PERMANENT, old_list(self.visited_space));
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
                self.young_threshold = t0 as i64;
                self.old_threshold = [t1 as i64, t2 as i64];
                GcReply::None
            }
        }
    }

    fn refcount(&self, obj: ObjId) -> Option<u64> {
        self.inner.refcount(obj)
    }

    fn stats(&self) -> StrategyStats {
        let count = self.get_count();
        let c = &self.c;
        let nonneg = |x: i64| x.max(0) as u64;
        let inner = self.inner.stats();
        let freed_by_refcount = inner
            .counters
            .iter()
            .find(|(k, _)| k == "freed_by_refcount")
            .map_or(0, |(_, v)| *v);
        StrategyStats {
            generations: self.stats.to_vec(),
            counters: vec![
                ("count_young".into(), nonneg(count[0])),
                ("count_visited".into(), nonneg(count[1])),
                ("count_pending".into(), nonneg(count[2])),
                ("threshold0".into(), nonneg(self.young_threshold)),
                ("threshold1".into(), nonneg(self.old_threshold[0])),
                ("heap_size".into(), nonneg(self.heap_size)),
                ("work_to_do".into(), nonneg(self.work_to_do)),
                ("increments".into(), c.increments),
                ("mark_steps".into(), c.mark_steps),
                ("scavenges_completed".into(), c.scavenges),
                ("objects_marked".into(), c.objects_marked),
                ("increment_objects".into(), c.increment_objects),
                ("collections_automatic".into(), c.automatic),
                ("young_size".into(), self.inner.gc_list_len(GcList::GEN0)),
                (
                    "visited_size".into(),
                    self.inner.gc_list_len(old_list(self.visited_space)),
                ),
                (
                    "pending_size".into(),
                    self.inner.gc_list_len(old_list(self.visited_space ^ 1)),
                ),
                ("frozen".into(), self.inner.gc_list_len(GcList::PERMANENT)),
                ("freed_by_refcount".into(), freed_by_refcount),
            ],
            // the generational model's metadata (13 bytes) plus the old-space bit
            metadata_bytes_per_object: inner.metadata_bytes_per_object + 1,
        }
    }
}

const PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "t0",
        ty: ParamType::I64,
        default: "2000",
        help: "young threshold (C int; 0 turns automatic collection off)",
    },
    ParamSpec {
        name: "t1",
        ty: ParamType::I64,
        default: "10",
        help: "old threshold: scales the heap fraction of each increment (heap_size / 10 / max(t1, 2))",
    },
    ParamSpec {
        name: "t2",
        ty: ParamType::I64,
        default: "0",
        help: "stored by gc.set_threshold and unused, as in 3.14",
    },
    ParamSpec {
        name: "count",
        ty: ParamType::Text,
        default: "tracked",
        help: "what advances the young count: tracked (3.14.1+, gh-139951) or allocations (3.14.0)",
    },
];

const PRESETS: &[Preset] = &[Preset {
    name: "cpython-3.14.0",
    description: "CPython 3.14.0: the incremental GC counting allocations (before gh-139951)",
    params: &[("count", "allocations")],
    versions: Versions::Release(VersionRange::between(3, 14, 0, 0)),
}];

fn c_int(p: &Params, key: &str) -> Result<i64, ParamError> {
    gclab_generational::c_int_param(p, key, "")
}

impl StrategyFactory for CPython314 {
    const INFO: StrategyInfo = StrategyInfo {
        name: "cpython-3.14",
        description: "CPython 3.14.1-3.14.4's incremental cycle collector (young + two old spaces, one increment per automatic collection)",
        params: PARAMS,
        presets: PRESETS,
        guarantee: Guarantee::Complete,
        versions: Versions::Release(VersionRange::between(3, 14, 1, 4)),
    };

    fn build(p: &Params) -> Result<Self, ParamError> {
        let counting = match p.text("count") {
            "tracked" => Counting::Tracked,
            "allocations" => Counting::Allocations,
            other => {
                return Err(p.range_error(
                    "count",
                    format!("'{other}' is not valid; use tracked or allocations"),
                ))
            }
        };
        Ok(CPython314::new(
            [c_int(p, "t0")?, c_int(p, "t1")?, c_int(p, "t2")?],
            counting,
        ))
    }
}
