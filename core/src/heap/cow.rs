//! Copy-on-write accounting after a `fork` event: the page each object lies on, the pre-fork
//! objects, the pages dirtied since by cause ([`WriteCause`]), and the write notifications a
//! strategy sends ([`Heap::note_rc_write`], [`Heap::note_gc_write`]).

use super::{CowReport, Heap, ObjId, FREE};

/// What caused a write to an object's memory, for copy-on-write accounting after a `fork`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum WriteCause {
    /// A reference-count update.
    RefCount = 0,
    /// A collector's own header write (gc_refs, relinking, marking).
    Collector = 1,
    /// The program writing a slot.
    Mutator = 2,
}

/// Page size for copy-on-write accounting.
pub const PAGE_SIZE: u64 = 4096;

/// The copy-on-write state: inactive until [`Heap::fork`].
#[derive(Default, Clone, Debug)]
pub(super) struct Cow {
    pub(super) active: bool,
    /// Bit per object id: live at the fork and not freed since.
    pub(super) prefork: Vec<u64>,
    /// Bit per page: dirtied by cause.
    pub(super) dirty: [Vec<u64>; 3],
    pub(super) prefork_pages: u64,
}

#[inline]
pub(super) fn bit_get(v: &[u64], i: usize) -> bool {
    v.get(i >> 6).is_some_and(|w| w & (1 << (i & 63)) != 0)
}
#[inline]
pub(super) fn bit_set(v: &mut Vec<u64>, i: usize) {
    let w = i >> 6;
    if w >= v.len() {
        v.resize(w + 1, 0);
    }
    v[w] |= 1 << (i & 63);
}
#[inline]
pub(super) fn bit_clear(v: &mut [u64], i: usize) {
    if let Some(w) = v.get_mut(i >> 6) {
        *w &= !(1 << (i & 63));
    }
}
fn bit_count(v: &[u64]) -> u64 {
    v.iter().map(|w| w.count_ones() as u64).sum()
}

impl Heap {
    /// Turns per-object page tracking (for copy-on-write accounting) off or on. It is on by
    /// default; the executor turns it off when its stream declares no `fork` event, since only
    /// a fork needs pages. If [`Heap::fork`] is called while tracking is off, pages are assigned
    /// then, in index order (as a compacted heap would lay the objects out), and tracking turns
    /// back on.
    pub fn set_page_tracking(&mut self, on: bool) {
        if on && !self.track_pages {
            self.assign_pages_by_index();
        }
        if !on {
            self.pages = Vec::new();
        }
        self.track_pages = on;
    }

    fn assign_pages_by_index(&mut self) {
        let mut at = 0u64;
        self.pages = self
            .kinds
            .iter()
            .zip(&self.sizes)
            .map(|(&k, &sz)| {
                if k == FREE {
                    return 0;
                }
                let page = (at / PAGE_SIZE).min(u32::MAX as u64) as u32;
                at += sz as u64;
                page
            })
            .collect();
        self.bump = self.bump.max(at);
    }

    /// Records a reference-count write to `id`'s header (a work unit, and a copy-on-write fault
    /// if `id` lies in the pre-fork heap).
    #[inline]
    pub fn note_rc_write(&mut self, id: ObjId) {
        self.work.rc_writes += 1;
        if self.cow.active {
            self.cow_touch(id, WriteCause::RefCount);
        }
    }

    /// Records a collector's write to `id`'s header (gc_refs, list links, mark bits).
    #[inline]
    pub fn note_gc_write(&mut self, id: ObjId) {
        self.work.gc_header_writes += 1;
        if self.cow.active {
            self.cow_touch(id, WriteCause::Collector);
        }
    }

    /// True once a `fork` event has started copy-on-write accounting: a strategy that batches
    /// its header-write counts must then report each written object with
    /// [`Heap::note_gc_write`] / [`Heap::note_rc_write`].
    #[inline]
    pub fn cow_active(&self) -> bool {
        self.cow.active
    }

    /// A write to `id`'s memory after the fork: the test of whether `id` is a pre-fork object is
    /// inline (most writes after a fork are to objects allocated since), the page's dirty bit is
    /// set out of line.
    #[inline(always)]
    fn cow_touch(&mut self, id: ObjId, cause: WriteCause) {
        if bit_get(&self.cow.prefork, id.index()) {
            self.cow_dirty(id, cause);
        }
    }

    #[cold]
    #[inline(never)]
    fn cow_dirty(&mut self, id: ObjId, cause: WriteCause) {
        let page = self.pages[id.index()] as usize;
        bit_set(&mut self.cow.dirty[cause as usize], page);
    }

    #[inline]
    pub(super) fn note_mutator_write(&mut self, id: ObjId) {
        if self.cow.active {
            self.cow_touch(id, WriteCause::Mutator);
        }
    }

    /// Marks the start of copy-on-write accounting: every object live now is in the pre-fork
    /// heap (the parent's memory shared with a forked child).
    pub fn fork(&mut self) {
        if !self.track_pages {
            self.set_page_tracking(true);
        }
        // Both bitmaps are sized up front: one pass over the heap, no growth check per bit.
        let mut prefork = vec![0u64; self.kinds.len().div_ceil(64)];
        let n_pages = self.pages.iter().max().map_or(0, |&p| p as usize + 1);
        let mut pages = vec![0u64; n_pages.div_ceil(64)];
        for (i, (&k, &p)) in self.kinds.iter().zip(&self.pages).enumerate() {
            if k != FREE {
                prefork[i >> 6] |= 1 << (i & 63);
                pages[p as usize >> 6] |= 1 << (p & 63);
            }
        }
        self.cow = Cow {
            active: true,
            prefork,
            dirty: Default::default(),
            prefork_pages: bit_count(&pages),
        };
    }

    /// The copy-on-write report (all zero when no fork happened).
    pub fn cow_report(&self) -> CowReport {
        let d = &self.cow.dirty;
        let n = d.iter().map(|v| v.len()).max().unwrap_or(0);
        let union: u64 = (0..n)
            .map(|w| {
                let x = d
                    .iter()
                    .map(|v| v.get(w).copied().unwrap_or(0))
                    .fold(0, |a, b| a | b);
                x.count_ones() as u64
            })
            .sum();
        CowReport {
            prefork_pages: self.cow.prefork_pages,
            dirty_pages: union,
            dirty_by_refcount: bit_count(&d[0]),
            dirty_by_collector: bit_count(&d[1]),
            dirty_by_mutator: bit_count(&d[2]),
        }
    }
}
