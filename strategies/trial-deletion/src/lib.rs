//! # gclab-trial-deletion
//!
//! TODO: say in a paragraph what this strategy does, where it comes from (paper, runtime,
//! version) and what it is for. This text is what `cargo doc` and readers of the crate see first.
//!
//! As generated from `templates/strategy/`, it is a minimal stop-the-world tracing collector: it
//! keeps no reference counts, and on `gc.collect()` (and, if the parameter `every` is non-zero,
//! after every `every` allocations) it marks everything reachable from the registers and frees
//! the rest. Replace it with your strategy; `docs/adding-a-strategy.md` walks through each hook.

#![warn(missing_docs)]

use gclab_core::heap::{Heap, ObjId};
use gclab_core::strategy::{GcReply, StrategyFactory, StrategyInfo, StrategyStats};
use gclab_core::{GcOp, ParamError, ParamSpec, ParamType, Params, Strategy};

/// The strategy's state. See the crate docs.
#[derive(Debug, Default)]
pub struct TrialDeletion {
    /// Collect after this many allocations (0: only on `gc.collect()`).
    every: u64,
    /// Allocations since the last collection.
    since: u64,
    /// Mark bits, one per arena index (the strategy's own metadata, sized by `heap.capacity()`).
    marks: Vec<bool>,
    /// The marking stack: explicit, never recursion (a ten-million-long chain must not overflow).
    stack: Vec<ObjId>,
    /// Objects freed by this strategy.
    freed: u64,
}

impl TrialDeletion {
    /// A strategy that collects after every `every` allocations (0: only on `gc.collect()`).
    pub fn new(every: u64) -> TrialDeletion {
        TrialDeletion {
            every,
            ..Default::default()
        }
    }

    /// Marks everything reachable from the registers and from `extra`, frees the rest, and
    /// records the collection. Returns the number of objects freed.
    fn collect(&mut self, heap: &mut Heap, extra: ObjId) -> u64 {
        let t = heap.begin_collection(-1);
        self.marks.clear();
        self.marks.resize(heap.capacity(), false);
        self.stack
            .extend(heap.registers().iter().copied().filter(|r| !r.is_nil()));
        if !extra.is_nil() {
            self.stack.push(extra);
        }
        while let Some(id) = self.stack.pop() {
            if self.marks[id.index()] {
                continue;
            }
            self.marks[id.index()] = true;
            heap.note_gc_write(id); // a mark bit in the object's header
            heap.work.objects_visited += 1;
            // `heap.slots` borrows the heap: count the work after the loop.
            let slots = heap.slots(id);
            for &c in slots {
                if !c.is_nil() && !self.marks[c.index()] {
                    self.stack.push(c);
                }
            }
            heap.work.refs_traversed += slots.len() as u64;
        }
        let dead: Vec<ObjId> = heap
            .live_ids()
            .filter(|id| !self.marks[id.index()])
            .collect();
        let examined = heap.acct.live_objects;
        heap.work.objects_visited += examined; // the sweep looks at every live object
        for &id in &dead {
            // Children need no release: this strategy keeps no reference counts.
            let _children = heap.free(id);
        }
        self.freed += dead.len() as u64;
        self.since = 0;
        heap.end_collection(t, examined, dead.len() as u64);
        dead.len() as u64
    }
}

impl Strategy for TrialDeletion {
    fn alloc(&mut self, heap: &mut Heap, obj: ObjId) {
        self.since += 1;
        if self.every != 0 && self.since >= self.every {
            // `obj` is in no register yet: it must be treated as a root.
            self.collect(heap, obj);
        }
    }

    #[inline]
    fn retain(&mut self, _heap: &mut Heap, _obj: ObjId) {}

    #[inline]
    fn release(&mut self, _heap: &mut Heap, _obj: ObjId) {}

    fn gc(&mut self, heap: &mut Heap, op: &GcOp) -> GcReply {
        match op {
            GcOp::Collect { .. } => GcReply::Collected(self.collect(heap, ObjId::NIL)),
            _ => GcReply::None,
        }
    }

    fn stats(&self) -> StrategyStats {
        StrategyStats {
            generations: Vec::new(),
            counters: vec![("freed".into(), self.freed)],
            metadata_bytes_per_object: 1,
        }
    }
}

impl StrategyFactory for TrialDeletion {
    const INFO: StrategyInfo = StrategyInfo {
        name: "trial-deletion",
        description: "TODO: one line saying what trial-deletion does",
        params: &[ParamSpec {
            name: "every",
            ty: ParamType::U64,
            default: "0",
            help: "collect after this many allocations (0: only on gc.collect())",
        }],
        presets: &[],
    };

    fn build(params: &Params) -> Result<Self, ParamError> {
        Ok(TrialDeletion::new(params.u64("every")))
    }
}
