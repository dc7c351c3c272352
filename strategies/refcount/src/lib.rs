//! # gclab-refcount
//!
//! Pure reference counting, as CPython does without its cycle collector: an object is freed the
//! moment its count reaches zero, and freeing it releases its children, iteratively (an explicit
//! worklist, so a chain of ten million objects frees without deep recursion). Reference cycles
//! are never freed: they leak. An explicit `gc.collect()` does nothing and returns 0.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use gclab_core::heap::{Heap, ObjId};
use gclab_core::strategy::{Guarantee, StrategyFactory, StrategyInfo, StrategyStats};
use gclab_core::{ParamError, Params, Strategy, Versions};

/// Pure reference counting. See the crate docs.
#[derive(Debug, Default)]
pub struct RefCount {
    counts: Vec<u32>,
    worklist: Vec<ObjId>,
    /// The children of the object being freed (reused buffer).
    children: Vec<ObjId>,
    freed: u64,
}

impl RefCount {
    /// A fresh strategy.
    pub fn new() -> RefCount {
        RefCount::default()
    }

    #[cold]
    fn grow(&mut self, cap: usize) {
        self.counts.resize(cap, 0);
    }

    /// Frees `obj`, whose count just reached zero, and everything that dies with it: each
    /// freed object's children are released straight from its slots ([`Heap::free_with`]);
    /// those whose count reaches zero wait on the worklist, last pushed freed first.
    #[inline(never)]
    fn free_cascade(&mut self, heap: &mut Heap, obj: ObjId) {
        if heap.cow_active() {
            self.free_cascade_reporting(heap, obj);
            return;
        }
        let mut id = obj;
        let mut writes = 0u64;
        loop {
            self.freed += 1;
            let (counts, worklist) = (&mut self.counts, &mut self.worklist);
            heap.free_with(id, |c| {
                writes += 1;
                let n = &mut counts[c.index()];
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

    /// [`RefCount::free_cascade`] while copy-on-write accounting is on: the same frees in the
    /// same order, with every reference-count write reported to the heap (which marks the
    /// written object's page).
    #[cold]
    fn free_cascade_reporting(&mut self, heap: &mut Heap, obj: ObjId) {
        self.worklist.push(obj);
        while let Some(id) = self.worklist.pop() {
            heap.free_into(id, &mut self.children);
            self.freed += 1;
            for c in self.children.drain(..) {
                heap.note_rc_write(c);
                let n = &mut self.counts[c.index()];
                *n -= 1;
                if *n == 0 {
                    self.worklist.push(c);
                }
            }
        }
    }
}

impl Strategy for RefCount {
    #[inline]
    fn alloc(&mut self, heap: &mut Heap, obj: ObjId) {
        if obj.index() >= self.counts.len() {
            self.grow(heap.capacity().max(obj.index() + 1));
        }
        self.counts[obj.index()] = 0;
    }

    #[inline]
    fn retain(&mut self, heap: &mut Heap, obj: ObjId) {
        heap.note_rc_write(obj);
        self.counts[obj.index()] += 1;
    }

    #[inline]
    fn release(&mut self, heap: &mut Heap, obj: ObjId) {
        heap.note_rc_write(obj);
        let n = &mut self.counts[obj.index()];
        *n -= 1;
        if *n == 0 {
            self.free_cascade(heap, obj);
        }
    }

    fn refcount(&self, obj: ObjId) -> Option<u64> {
        self.counts.get(obj.index()).map(|&n| n as u64)
    }

    fn stats(&self) -> StrategyStats {
        StrategyStats {
            generations: Vec::new(),
            counters: vec![("freed_by_refcount".into(), self.freed)],
            metadata_bytes_per_object: 4,
        }
    }
}

impl StrategyFactory for RefCount {
    const INFO: StrategyInfo = StrategyInfo {
        name: "refcount",
        description: "pure reference counting: frees acyclic garbage at once, leaks cycles",
        params: &[],
        presets: &[],
        guarantee: Guarantee::Refcount,
        versions: Versions::NotCPython,
    };

    fn build(_params: &Params) -> Result<Self, ParamError> {
        Ok(RefCount::new())
    }
}
