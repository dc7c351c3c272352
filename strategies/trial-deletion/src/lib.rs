//! # gclab-trial-deletion
//!
//! Bacon and Rajan's synchronous cycle collection over reference counting ("Concurrent Cycle
//! Collection in Reference Counted Systems", ECOOP 2001, section 3: the synchronous algorithm).
//! Objects are freed by reference counting as soon as their count reaches zero. A decrement that
//! leaves a count above zero may have cut the last outside reference to a cycle, so the object
//! becomes a *possible root*: it is coloured purple and put in a root buffer. When the buffer
//! holds `buffer` candidates (a parameter), or on an explicit `gc.collect()`, the collector runs
//! its three phases over the subgraph reachable from the candidates only, with no global trace:
//!
//! 1. **MarkRoots**: from every purple candidate, `MarkGray` colours the reachable subgraph gray
//!    and subtracts every internal reference from the counts (trial deletion). Candidates that
//!    are no longer purple (incremented since) leave the buffer. A candidate whose count falls
//!    to zero is freed at once and leaves the buffer then (an O(1) swap-remove), where the
//!    paper keeps it, dead, until MarkRoots: so no dead object holds references and every
//!    reference count stays exact between collections.
//! 2. **ScanRoots**: `Scan` finds the gray objects whose count is still above zero: they are
//!    referenced from outside the subgraph, so `ScanBlack` restores the counts of everything they
//!    reach and colours it black. Gray objects left with count zero become white.
//! 3. **CollectRoots**: `CollectWhite` frees the white objects: garbage cycles and what only they
//!    reference.
//!
//! Atoms (int, float, str, bytes) hold no references and can never be on a cycle: they are the
//! paper's *green* objects, never buffered. Every graph walk uses an explicit stack (no
//! recursion). Colours and the buffered flag live in the object header, so colour changes are
//! reported as collector header writes (`note_gc_write`), count changes as reference-count
//! writes (`note_rc_write`). Counters: the purple buffer's high-water mark, candidates buffered,
//! and the nodes visited by `MarkGray`, `Scan`, `ScanBlack` and `CollectWhite`.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use gclab_core::heap::{Heap, ObjId};
use gclab_core::strategy::{GcReply, Guarantee, StrategyFactory, StrategyInfo, StrategyStats};
use gclab_core::{GcOp, ParamError, ParamSpec, ParamType, Params, Strategy, Versions};

/// An object's colour (Bacon and Rajan, Table 1).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
#[repr(u8)]
enum Color {
    /// In use or free.
    #[default]
    Black,
    /// Possible member of a cycle.
    Gray,
    /// Member of a garbage cycle.
    White,
    /// Possible root of a garbage cycle.
    Purple,
}

/// Per-object header fields the algorithm needs.
#[derive(Copy, Clone, Debug, Default)]
struct Header {
    rc: u32,
    color: Color,
    buffered: bool,
}

/// Work counters per phase.
#[derive(Clone, Debug, Default)]
struct Counters {
    purple_peak: u64,
    buffered: u64,
    collections: u64,
    collected: u64,
    freed_by_refcount: u64,
    mark_gray: u64,
    scan: u64,
    scan_black: u64,
    collect_white: u64,
}

/// Reference counting with Bacon and Rajan's synchronous trial-deletion cycle collector. See
/// the crate docs.
#[derive(Debug)]
pub struct TrialDeletion {
    buffer_limit: usize,
    h: Vec<Header>,
    roots: Vec<ObjId>,
    /// Position of each buffered object in `roots` (valid between collections).
    pos: Vec<u32>,
    stack: Vec<ObjId>,
    worklist: Vec<ObjId>,
    /// The children of the object being freed (reused buffer).
    children: Vec<ObjId>,
    /// Depth of nested `release` calls (a collection never starts inside a cascade).
    in_release: bool,
    /// The buffer reached its limit during a cascade: collect when it returns.
    pending: bool,
    c: Counters,
}

impl TrialDeletion {
    /// A strategy that collects when the root buffer holds `buffer` candidates (0: only on
    /// `gc.collect()`).
    pub fn new(buffer: u64) -> TrialDeletion {
        TrialDeletion {
            buffer_limit: usize::try_from(buffer).unwrap_or(usize::MAX),
            h: Vec::new(),
            roots: Vec::new(),
            pos: Vec::new(),
            stack: Vec::new(),
            worklist: Vec::new(),
            children: Vec::new(),
            in_release: false,
            pending: false,
            c: Counters::default(),
        }
    }

    #[inline]
    fn set_color(&mut self, heap: &mut Heap, id: ObjId, color: Color) {
        let h = &mut self.h[id.index()];
        if h.color != color {
            h.color = color;
            heap.note_gc_write(id);
        }
    }

    /// `PossibleRoot(S)`: colour purple and buffer, unless acyclic (green).
    #[inline]
    fn possible_root(&mut self, heap: &mut Heap, id: ObjId) {
        if !heap.kind(id).is_container() {
            return;
        }
        self.set_color(heap, id, Color::Purple);
        let h = &mut self.h[id.index()];
        if !h.buffered {
            h.buffered = true;
            self.pos[id.index()] = self.roots.len() as u32;
            self.roots.push(id);
            self.c.buffered += 1;
            self.c.purple_peak = self.c.purple_peak.max(self.roots.len() as u64);
            if self.buffer_limit != 0 && self.roots.len() >= self.buffer_limit {
                self.pending = true;
            }
        }
    }

    /// Removes a buffered object from the root buffer (swap-remove; between collections).
    fn unbuffer(&mut self, heap: &mut Heap, id: ObjId) {
        let i = self.pos[id.index()] as usize;
        debug_assert_eq!(self.roots.get(i), Some(&id));
        self.roots.swap_remove(i);
        if let Some(&moved) = self.roots.get(i) {
            self.pos[moved.index()] = i as u32;
        }
        self.h[id.index()].buffered = false;
        heap.note_gc_write(id);
    }

    /// `Release(S)` for an object whose count reached zero, and the cascade it starts:
    /// decrement the children, colour black, free. The paper leaves a buffered object for
    /// `MarkRoots` to free (its buffer holds a pointer to it); here it leaves the buffer at once
    /// (an O(1) swap-remove), so no dead object holds references and every count stays exact.
    fn release_cascade(&mut self, heap: &mut Heap, obj: ObjId) {
        self.worklist.push(obj);
        while let Some(id) = self.worklist.pop() {
            self.set_color(heap, id, Color::Black);
            if self.h[id.index()].buffered {
                self.unbuffer(heap, id);
            }
            self.c.freed_by_refcount += 1;
            let mut children = std::mem::take(&mut self.children);
            children.clear();
            heap.free_into(id, &mut children);
            for &c in &children {
                heap.note_rc_write(c);
                let h = &mut self.h[c.index()];
                h.rc -= 1;
                if h.rc == 0 {
                    self.worklist.push(c);
                } else {
                    self.possible_root(heap, c);
                }
            }
            self.children = children;
        }
    }

    /// `CollectCycles()`: MarkRoots, ScanRoots, CollectRoots. Returns the objects freed.
    pub fn collect_cycles(&mut self, heap: &mut Heap) -> u64 {
        self.pending = false;
        let t = heap.begin_collection(-1);
        let examined = self.roots.len() as u64;
        let mut freed = self.mark_roots(heap);
        self.scan_roots(heap);
        freed += self.collect_roots(heap);
        self.c.collections += 1;
        self.c.collected += freed;
        heap.end_collection(t, examined, freed);
        freed
    }

    /// MarkRoots: `MarkGray` from each purple candidate; drop the others from the buffer,
    /// freeing those that died (black, count zero) while buffered.
    fn mark_roots(&mut self, heap: &mut Heap) -> u64 {
        let mut freed = 0;
        let roots = std::mem::take(&mut self.roots);
        let mut kept = Vec::with_capacity(roots.len());
        for s in roots {
            let h = self.h[s.index()];
            if h.color == Color::Purple && h.rc > 0 {
                self.mark_gray(heap, s);
                kept.push(s);
            } else {
                self.h[s.index()].buffered = false;
                heap.note_gc_write(s);
                if h.color == Color::Black && h.rc == 0 {
                    // Its children were released when its count reached zero.
                    heap.free(s);
                    freed += 1;
                }
            }
        }
        self.roots = kept;
        freed
    }

    /// `MarkGray(S)`: colour the subgraph gray and subtract each internal reference.
    fn mark_gray(&mut self, heap: &mut Heap, s: ObjId) {
        if self.h[s.index()].color == Color::Gray {
            return;
        }
        self.set_color(heap, s, Color::Gray);
        self.stack.push(s);
        while let Some(id) = self.stack.pop() {
            self.c.mark_gray += 1;
            heap.work.objects_visited += 1;
            let n = heap.slots(id).len();
            for i in 0..n {
                let c = heap.slots(id)[i];
                if c.is_nil() {
                    continue;
                }
                heap.work.refs_traversed += 1;
                heap.note_rc_write(c);
                self.h[c.index()].rc -= 1;
                if self.h[c.index()].color != Color::Gray {
                    self.set_color(heap, c, Color::Gray);
                    self.stack.push(c);
                }
            }
        }
    }

    /// ScanRoots: `Scan` from every remaining candidate.
    fn scan_roots(&mut self, heap: &mut Heap) {
        for i in 0..self.roots.len() {
            let s = self.roots[i];
            self.scan(heap, s);
        }
    }

    /// `Scan(S)`: a gray object with a count above zero is referenced from outside: restore
    /// it with `ScanBlack`; one with count zero is white, and its children are scanned.
    fn scan(&mut self, heap: &mut Heap, s: ObjId) {
        self.stack.push(s);
        while let Some(id) = self.stack.pop() {
            if self.h[id.index()].color != Color::Gray {
                continue;
            }
            self.c.scan += 1;
            heap.work.objects_visited += 1;
            if self.h[id.index()].rc > 0 {
                self.scan_black(heap, id);
            } else {
                self.set_color(heap, id, Color::White);
                let slots = heap.slots(id);
                self.stack
                    .extend(slots.iter().copied().filter(|c| !c.is_nil()));
                heap.work.refs_traversed += slots.len() as u64;
            }
        }
    }

    /// `ScanBlack(S)`: colour black and restore the counts the trial deletion subtracted.
    fn scan_black(&mut self, heap: &mut Heap, s: ObjId) {
        // Its own stack: `scan`'s stack still holds pending work.
        let mut stack = std::mem::take(&mut self.worklist);
        self.set_color(heap, s, Color::Black);
        stack.push(s);
        while let Some(id) = stack.pop() {
            self.c.scan_black += 1;
            heap.work.objects_visited += 1;
            let n = heap.slots(id).len();
            for i in 0..n {
                let c = heap.slots(id)[i];
                if c.is_nil() {
                    continue;
                }
                heap.work.refs_traversed += 1;
                heap.note_rc_write(c);
                self.h[c.index()].rc += 1;
                if self.h[c.index()].color != Color::Black {
                    self.set_color(heap, c, Color::Black);
                    stack.push(c);
                }
            }
        }
        self.worklist = stack;
    }

    /// CollectRoots: empty the buffer, `CollectWhite` from each candidate.
    fn collect_roots(&mut self, heap: &mut Heap) -> u64 {
        let roots = std::mem::take(&mut self.roots);
        let mut freed = 0;
        for &s in &roots {
            self.h[s.index()].buffered = false;
            heap.note_gc_write(s);
            freed += self.collect_white(heap, s);
        }
        // Keep the allocation for the next collection.
        self.roots = roots;
        self.roots.clear();
        freed
    }

    /// `CollectWhite(S)`: free the white subgraph (buffered white objects are left to their
    /// own turn in `CollectRoots`).
    fn collect_white(&mut self, heap: &mut Heap, s: ObjId) -> u64 {
        let white = |h: &Header| h.color == Color::White && !h.buffered;
        if !white(&self.h[s.index()]) {
            return 0;
        }
        let mut freed = 0;
        self.set_color(heap, s, Color::Black);
        self.stack.push(s);
        while let Some(id) = self.stack.pop() {
            self.c.collect_white += 1;
            heap.work.objects_visited += 1;
            let children = heap.free(id);
            freed += 1;
            heap.work.refs_traversed += children.len() as u64;
            for &c in children.iter() {
                if !c.is_nil() && white(&self.h[c.index()]) {
                    self.set_color(heap, c, Color::Black);
                    self.stack.push(c);
                }
            }
        }
        freed
    }
}

impl Strategy for TrialDeletion {
    #[inline]
    fn alloc(&mut self, heap: &mut Heap, obj: ObjId) {
        if obj.index() >= self.h.len() {
            let cap = heap.capacity().max(obj.index() + 1);
            self.h.resize(cap, Header::default());
            self.pos.resize(cap, 0);
        }
        self.h[obj.index()] = Header::default();
    }

    /// `Increment(S)`: count up, colour black.
    #[inline]
    fn retain(&mut self, heap: &mut Heap, obj: ObjId) {
        heap.note_rc_write(obj);
        let h = &mut self.h[obj.index()];
        h.rc += 1;
        // The colour shares the header word with the count: no separate header write.
        h.color = Color::Black;
    }

    /// `Decrement(S)`: count down; at zero release, else a possible root.
    #[inline]
    fn release(&mut self, heap: &mut Heap, obj: ObjId) {
        heap.note_rc_write(obj);
        let h = &mut self.h[obj.index()];
        h.rc -= 1;
        let outermost = !self.in_release;
        self.in_release = true;
        if h.rc == 0 {
            self.release_cascade(heap, obj);
        } else {
            self.possible_root(heap, obj);
        }
        if outermost {
            self.in_release = false;
            if self.pending {
                self.collect_cycles(heap);
            }
        }
    }

    fn gc(&mut self, heap: &mut Heap, op: &GcOp) -> GcReply {
        match op {
            GcOp::Collect { .. } => GcReply::Collected(self.collect_cycles(heap)),
            _ => GcReply::None,
        }
    }

    fn refcount(&self, obj: ObjId) -> Option<u64> {
        self.h.get(obj.index()).map(|h| h.rc as u64)
    }

    fn stats(&self) -> StrategyStats {
        let c = &self.c;
        StrategyStats {
            generations: Vec::new(),
            counters: vec![
                ("purple_buffer_peak".into(), c.purple_peak),
                ("roots_buffered".into(), c.buffered),
                ("cycle_collections".into(), c.collections),
                ("freed_by_cycle_collector".into(), c.collected),
                ("freed_by_refcount".into(), c.freed_by_refcount),
                ("visited_mark_gray".into(), c.mark_gray),
                ("visited_scan".into(), c.scan),
                ("visited_scan_black".into(), c.scan_black),
                ("visited_collect_white".into(), c.collect_white),
            ],
            // A 4-byte count, a colour byte and a buffered flag.
            metadata_bytes_per_object: 6,
        }
    }
}

impl StrategyFactory for TrialDeletion {
    const INFO: StrategyInfo = StrategyInfo {
        name: "trial-deletion",
        description: "reference counting + Bacon-Rajan synchronous cycle collection (trial deletion over a purple root buffer)",
        params: &[ParamSpec {
            name: "buffer",
            ty: ParamType::U64,
            default: "10000",
            help: "collect cycles when the root buffer holds this many candidates (0: only on gc.collect())",
        }],
        presets: &[],
        guarantee: Guarantee::Complete,
        versions: Versions::NotCPython,
    };

    fn build(params: &Params) -> Result<Self, ParamError> {
        Ok(TrialDeletion::new(params.u64("buffer")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gclab_core::Kind;

    fn heap_with(td: &mut TrialDeletion, heap: &mut Heap, kind: Kind) -> ObjId {
        let id = heap
            .alloc(kind, 0)
            .expect("a container with no slots always fits");
        td.alloc(heap, id);
        id
    }

    /// Two instances referring to each other, held by a register, then dropped: trial deletion
    /// frees both; while held, it frees nothing.
    #[test]
    fn collects_a_dropped_two_cycle_and_keeps_a_held_one() {
        let mut heap = Heap::new(1, false);
        let mut td = TrialDeletion::new(0);
        let a = heap_with(&mut td, &mut heap, Kind::Instance);
        let b = heap_with(&mut td, &mut heap, Kind::Instance);
        td.retain(&mut heap, a);
        heap.set_reg(0, a);
        heap.store(a, 0, b).unwrap();
        td.retain(&mut heap, b);
        heap.store(b, 0, a).unwrap();
        td.retain(&mut heap, a);
        // Held: a has count 2 (register + b), b count 1.
        td.possible_root(&mut heap, a);
        assert_eq!(td.collect_cycles(&mut heap), 0);
        assert!(heap.is_live(a) && heap.is_live(b));
        assert_eq!(td.refcount(a), Some(2));
        assert_eq!(td.refcount(b), Some(1));
        // Dropped.
        heap.set_reg(0, ObjId::NIL);
        td.release(&mut heap, a);
        assert_eq!(td.roots.len(), 1);
        assert_eq!(td.collect_cycles(&mut heap), 2);
        assert!(!heap.is_live(a) && !heap.is_live(b));
        assert_eq!(td.c.purple_peak, 1);
    }

    /// An object whose count reaches zero while buffered is freed at once and leaves the
    /// buffer; the other candidates stay.
    #[test]
    fn buffered_object_dying_is_freed_once() {
        let mut heap = Heap::new(1, false);
        let mut td = TrialDeletion::new(0);
        let a = heap_with(&mut td, &mut heap, Kind::List);
        let b = heap_with(&mut td, &mut heap, Kind::List);
        for x in [a, a, b, b] {
            td.retain(&mut heap, x);
        }
        td.release(&mut heap, a); // 1 left: buffered
        td.release(&mut heap, b);
        assert!(td.h[a.index()].buffered);
        assert_eq!(td.roots, vec![a, b]);
        td.release(&mut heap, a); // 0: freed, out of the buffer
        assert!(!heap.is_live(a));
        assert_eq!(td.roots, vec![b]);
        assert_eq!(td.pos[b.index()], 0);
        assert_eq!(td.collect_cycles(&mut heap), 0);
        assert!(heap.is_live(b));
        assert!(td.roots.is_empty());
    }

    #[test]
    fn atoms_are_never_buffered() {
        let mut heap = Heap::new(1, false);
        let mut td = TrialDeletion::new(0);
        let s = heap_with(&mut td, &mut heap, Kind::Str);
        td.retain(&mut heap, s);
        td.retain(&mut heap, s);
        td.release(&mut heap, s);
        assert!(td.roots.is_empty());
    }
}
