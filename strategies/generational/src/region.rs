//! The cycle-detection core as an API, for strategies built on this one (`cpython-3.14`): the
//! lists of tracked objects ([`GcList`]), moving and merging them, `gc_collect_region`,
//! tracking, and the free lists.

use crate::collect::Acc;
use crate::layout::{node, obj, PERM, TUPLE_MAXSAVESIZE};
use crate::Generational;
use gclab_core::heap::{Heap, ObjId};
use gclab_core::kind::Kind;

/// One of the lists of tracked objects, for strategies that build on this one's cycle-detection
/// core (see [`Generational::collect_region`]).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct GcList(pub(crate) u32);

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

impl Generational {
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

    pub(crate) fn add_work(heap: &mut Heap, acc: &Acc) {
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
}
