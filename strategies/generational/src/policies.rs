//! The work of a safe point: a disabled collector's manual policies (every N ops, every T ms)
//! and the automatic collection CPython 3.12+ defers to the next eval-breaker check.

use crate::config::Reason;
use crate::layout::{POLICIES, SCHEDULED};
use crate::Generational;
use gclab_core::heap::Heap;

impl Generational {
    /// `safe_point` with something to do: the manual policies, then a scheduled collection.
    #[cold]
    #[inline(never)]
    pub(crate) fn safe_point_work(&mut self, heap: &mut Heap) {
        if self.pending & POLICIES != 0 {
            self.policies(heap);
        }
        if self.pending & SCHEDULED != 0 {
            // _Py_RunGC: does nothing if the GC was disabled meanwhile.
            self.pending &= !SCHEDULED;
            if self.enabled {
                self.run_gc(heap);
            }
        }
    }

    /// The manual policies (every N ops, every T ms).
    #[cold]
    #[inline(never)]
    pub(crate) fn policies(&mut self, heap: &mut Heap) {
        if self.cfg.every_ops > 0 && heap.work.ops >= self.next_due_ops {
            self.next_due_ops = heap.work.ops + self.cfg.every_ops;
            self.collect_explicit(heap, self.cfg.manual_generation, Reason::Policy);
        }
        if self.cfg.every_ms > 0 {
            let now = heap.now_ns();
            if now >= self.next_due_ns {
                self.next_due_ns = now + self.cfg.every_ms * 1_000_000;
                self.collect_explicit(heap, self.cfg.manual_generation, Reason::Policy);
            }
        }
    }
}
