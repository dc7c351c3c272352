//! The intrusive doubly-linked generation lists (`gc_list_*` in `Modules/gcmodule.c`):
//! linking, unlinking and merging nodes with their header writes reported to the heap,
//! tracking and untracking, and growing the per-object vectors.

use crate::layout::{node, obj, Link, CONTAINER, IS_DICT, IS_TUPLE, NHEAD, TRACKED};
use crate::Generational;
use gclab_core::heap::{Heap, ObjId};

impl Generational {
    pub(crate) fn list_len(&self, head: u32) -> u64 {
        let mut n = 0;
        let mut x = self.links[head as usize].next;
        while x != head {
            n += 1;
            x = self.links[x as usize].next;
        }
        n
    }

    #[inline]
    pub(crate) fn touch(heap: &mut Heap, n: u32) {
        if n >= NHEAD {
            heap.note_gc_write(obj(n));
        }
    }

    /// Reports header writes to nodes `a` and `b` (list heads are not objects):
    /// `note_gc_write` for each when copy-on-write accounting is on, else just the count.
    #[inline(always)]
    pub(crate) fn touch2(heap: &mut Heap, a: u32, b: u32) {
        if heap.cow_active() {
            Self::touch(heap, a);
            Self::touch(heap, b);
        } else {
            heap.work.gc_header_writes += (a >= NHEAD) as u64 + (b >= NHEAD) as u64;
        }
    }

    #[inline(always)]
    pub(crate) fn link_tail(&mut self, heap: &mut Heap, head: u32, n: u32) {
        let p = self.links[head as usize].prev;
        self.link_tail_quiet(head, n);
        Self::touch2(heap, p, n);
    }

    #[inline(always)]
    pub(crate) fn unlink(&mut self, heap: &mut Heap, n: u32) {
        let Link { next: x, prev: p } = self.links[n as usize];
        self.links[p as usize].next = x;
        self.links[x as usize].prev = p;
        Self::touch2(heap, p, x);
    }

    /// Appends every node of `from` to `to`, leaving `from` empty (`gc_list_merge`).
    pub(crate) fn merge(&mut self, heap: &mut Heap, from: u32, to: u32) {
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
    pub(crate) fn track(&mut self, heap: &mut Heap, id: ObjId) {
        self.set_tracked(id);
        self.link_tail(heap, 0, node(id));
    }

    #[inline]
    pub(crate) fn set_tracked(&mut self, id: ObjId) {
        self.tracks += 1;
        let f = &mut self.flags[id.index()];
        *f |= TRACKED;
        self.tracked_tuples += (*f & IS_TUPLE != 0) as u64;
        self.tracked_dicts += (*f & IS_DICT != 0) as u64;
    }

    #[inline]
    pub(crate) fn clear_tracked(&mut self, id: ObjId) {
        self.untracks += 1;
        let f = &mut self.flags[id.index()];
        *f &= !TRACKED;
        self.tracked_tuples -= (*f & IS_TUPLE != 0) as u64;
        self.tracked_dicts -= (*f & IS_DICT != 0) as u64;
    }

    /// Unlinks a node whose neighbours are all in the set being collected (their headers are
    /// already noted as written by this collection).
    #[inline]
    pub(crate) fn unlink_quiet(&mut self, n: u32) {
        let Link { next: x, prev: p } = self.links[n as usize];
        self.links[p as usize].next = x;
        self.links[x as usize].prev = p;
    }

    /// Appends a node to a list whose tail is in the set being collected (or is a head).
    #[inline(always)]
    pub(crate) fn link_tail_quiet(&mut self, head: u32, n: u32) {
        let p = self.links[head as usize].prev;
        self.links[p as usize].next = n;
        self.links[n as usize] = Link {
            next: head,
            prev: p,
        };
        self.links[head as usize].prev = n;
    }

    #[cold]
    pub(crate) fn grow(&mut self, cap: usize) {
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
    pub(crate) fn may_be_tracked(&self, id: ObjId) -> bool {
        let f = self.flags[id.index()];
        f & CONTAINER != 0 && (f & IS_TUPLE == 0 || f & TRACKED != 0)
    }
}
