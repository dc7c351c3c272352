//! Reference counting's side of freeing: `Py_DECREF` and the deallocation cascade, through an
//! explicit worklist (a chain of ten million objects frees in constant stack), with or without
//! copy-on-write reporting.

use crate::layout::{node, CONTAINER, IS_DICT, IS_TUPLE, TRACKED, UNREACHABLE};
use crate::Generational;
use gclab_core::heap::{Heap, ObjId};

impl Generational {
    /// Drops one reference to `id`, freeing it (and what dies with it) at zero.
    #[inline(always)]
    pub(crate) fn decref(&mut self, heap: &mut Heap, id: ObjId) {
        heap.note_rc_write(id);
        let n = &mut self.rc[id.index()];
        *n -= 1;
        if *n == 0 {
            if self.flags[id.index()] & CONTAINER == 0 && !heap.cow_active() {
                // An atom (most deaths of a recording, its leaves): never tracked, no slots, so
                // `free_cascade` would untrack nothing and release no child. Freed here,
                // without the call.
                self.freed_by_refcount += 1;
                heap.free_atom(id);
            } else {
                self.free_cascade::<false>(heap, id);
            }
        }
    }

    /// [`Generational::decref`] from `delete_garbage`, where references to the other garbage
    /// objects (UNREACHABLE) are ignored.
    #[inline]
    pub(crate) fn decref_in_gc(&mut self, heap: &mut Heap, id: ObjId) {
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
    pub(crate) fn unaccount(&mut self, heap: &mut Heap, id: ObjId) {
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
    pub(crate) fn free_cascade<const IN_GC: bool>(&mut self, heap: &mut Heap, id: ObjId) {
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
    pub(crate) fn free_cascade_reporting<const IN_GC: bool>(&mut self, heap: &mut Heap, id: ObjId) {
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
}
