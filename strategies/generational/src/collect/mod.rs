//! The cycle detector (`gc_collect_main` of `Modules/gcmodule.c`): when an automatic
//! collection runs and which generation it picks, `gc.collect(g)`, and one collection's
//! bookkeeping (promotion, `long_lived_*`, statistics). The phases of
//! `deduce_unreachable` are in [`phases`], the list walks they use in [`walk`].

mod phases;
pub(crate) mod walk;

use crate::config::{DictTracking, Reason};
use crate::layout::{IS_DICT, NUM_GENERATIONS, SCHEDULED, TUPLE_MAXSAVESIZE};
use crate::Generational;
use gclab_core::heap::Heap;
use walk::RUNS_MIN;

/// Work a collection step accumulates and adds to the heap's counters once, at the end.
#[derive(Default)]
pub(crate) struct Acc {
    pub(crate) writes: u64,
    pub(crate) visited: u64,
    pub(crate) traversed: u64,
}

impl Generational {
    pub(crate) fn should_schedule(&self) -> bool {
        self.count[0] > self.threshold[0]
            && self.enabled
            && self.threshold[0] != 0
            && !self.collecting
    }

    /// What follows an increment of the young count (`_PyObject_GC_Link`): a collection now
    /// (3.11, inside the allocation, before the new object is tracked) or scheduled for the
    /// next eval-breaker check (3.12+, `_Py_ScheduleGC`), when the threshold is passed.
    #[inline]
    pub(crate) fn after_increment(&mut self, heap: &mut Heap) {
        if self.should_schedule() {
            if self.cfg.deferred {
                self.pending |= SCHEDULED;
            } else {
                self.run_gc(heap);
            }
        }
    }

    /// `gc_collect_generations`: picks the generation (with the 25% veto) and collects it.
    pub(crate) fn collect_generations(&mut self, heap: &mut Heap) {
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
    pub(crate) fn run_gc(&mut self, heap: &mut Heap) {
        self.collecting = true;
        self.collect_generations(heap);
        self.collecting = false;
    }

    /// `gc.collect(g)` and the manual policies: returns collected + uncollectable, or 0 when a
    /// collection is already running.
    pub(crate) fn collect_explicit(&mut self, heap: &mut Heap, g: usize, reason: Reason) -> u64 {
        if self.collecting {
            return 0;
        }
        self.collecting = true;
        let n = self.collect_with_callback(heap, g, reason);
        self.collecting = false;
        n
    }

    /// `gc_collect_with_callback`.
    pub(crate) fn collect_with_callback(
        &mut self,
        heap: &mut Heap,
        g: usize,
        reason: Reason,
    ) -> u64 {
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
    pub(crate) fn collect_main(&mut self, heap: &mut Heap, g: usize) -> u64 {
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
            // untrack_dicts: full collections only (issue #14775), and only before 3.14.
            if self.cfg.dicts == DictTracking::Lazy && self.tracked_dicts > 0 {
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
    pub(crate) fn deduce_unreachable(
        &mut self,
        heap: &mut Heap,
        young: u32,
        acc: &mut Acc,
    ) -> (u64, u64) {
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
}
