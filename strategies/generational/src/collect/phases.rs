//! The phases of a collection, named as in `Modules/gcmodule.c`: `update_refs`,
//! `subtract_refs`, `move_unreachable` (with `visit_reachable`), `untrack_tuples` and
//! `untrack_dicts`, `delete_garbage`.

use super::walk::{
    subtract_scan, subtract_walk, update_walk, Walk, RUNS_MIN, SCAN_MIN, SCAN_SHARE,
};
use super::Acc;
use crate::layout::{
    node, obj, Link, COLLECTING, HAS_REFS, IS_TUPLE, REVERSE_TRAVERSE, UNREACH, UNREACHABLE,
};
use crate::Generational;
use gclab_core::heap::{Heap, ObjId};

impl Generational {
    /// `update_refs(young)`: `gc_refs = refcount` for every object of `young`, which is marked
    /// COLLECTING. Returns how many objects `young` holds.
    #[inline(never)]
    pub(crate) fn update_refs(&mut self, heap: &mut Heap, young: u32) -> u64 {
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
    pub(crate) fn subtract_refs(&mut self, heap: &Heap, young: u32, examined: u64, acc: &mut Acc) {
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
    pub(crate) fn move_unreachable<const RUNS: bool>(
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
    pub(crate) fn untrack_tuples(&mut self, heap: &mut Heap, young: u32, acc: &mut Acc) -> u64 {
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
    pub(crate) fn untrack_atoms_only(
        &mut self,
        heap: &Heap,
        list: u32,
        kind: u8,
        acc: &mut Acc,
    ) -> u64 {
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
    pub(crate) fn delete_garbage(&mut self, heap: &mut Heap) -> u64 {
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
    pub(crate) fn visit_reachable(
        &mut self,
        c: ObjId,
        young: u32,
        unreachable: &mut u64,
        writes: &mut u64,
    ) {
        let ci = c.index();
        // Nil (index u32::MAX) is past the end of `flags`: one test skips it and checks the
        // bounds of a live child.
        let Some(&cf) = self.flags.get(ci) else {
            debug_assert!(c.is_nil(), "child {c:?} beyond the flags");
            return;
        };
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
    pub(crate) fn atoms_only(&self, heap: &Heap, id: ObjId, traversed: &mut u64) -> bool {
        let slots = heap.slots(id);
        *traversed += slots.len() as u64;
        slots.iter().all(|&c| c.is_nil() || !self.may_be_tracked(c))
    }
}
