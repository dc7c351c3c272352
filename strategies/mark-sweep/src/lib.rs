//! # gclab-mark-sweep
//!
//! A non-moving, stop-the-world mark-sweep tracing collector with no reference counts at all
//! (`retain` and `release` are no-ops): the classic baseline of the GC literature's time-space
//! trade-off (Blackburn, Cheng and McKinley, "Myths and Realities", SIGMETRICS 2004). A
//! collection marks everything reachable from the registers (the roots) with an explicit stack
//! and sweeps every unmarked object.
//!
//! **When it collects.** With a heap budget, a collection runs whenever the next allocation
//! would not fit in the budget (the executor calls [`Strategy::reclaim`] before refusing it) and
//! whenever live bytes exceed the budget (checked after each allocation, slot store and
//! reference drop: lists and dicts grow without allocating). The budget is either
//! `budget` bytes, or `factor` × `min_heap`, where `min_heap` is the workload's minimum heap in
//! bytes: strategies never see workloads, so the caller (the experiment layer, or a user) passes
//! it. If live bytes still exceed the budget after a collection, the program does not fit: the
//! strategy reports its budget through [`Strategy::heap_budget`], the runner sets the executor's
//! `ExecConfig::max_heap` to it, and the executor ends the run with `Stop::OutOfMemory` (after
//! calling `reclaim`, for an allocation that does not fit), which
//! the run record reports as status `out_of_memory`. So a run completes exactly when the live
//! bytes reachable at every op boundary fit in the budget, and the time-space curve (work or time
//! against `factor` from 1.0 to 6.0) can be drawn with its out-of-memory cells.
//!
//! Without a budget (`budget=0`, `factor=0`, the default) the heap grows: the first collection
//! runs at `initial` live bytes, and each next one when live bytes reach `growth` times what the
//! previous collection left (as Go's `GOGC=100` does with `growth=2`).
//!
//! **Costs.** Marking visits each reachable object once and traverses its references; the sweep
//! examines every live object. The mark bit lives in the object header (as in most non-moving
//! collectors), so each mark is a collector header write, which after a `fork` dirties the
//! pre-fork pages of every reachable object.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use gclab_core::heap::{Heap, ObjId};
use gclab_core::strategy::{GcReply, Guarantee, StrategyFactory, StrategyInfo, StrategyStats};
use gclab_core::{GcOp, ParamError, ParamSpec, ParamType, Params, Strategy, Versions};

/// When to collect.
#[derive(Copy, Clone, Debug, PartialEq)]
pub enum Trigger {
    /// A fixed heap budget in bytes: collect when live bytes exceed it; out of memory if they
    /// still do afterwards.
    Budget(u64),
    /// A growing heap: first at `initial` bytes, then at `growth` × live bytes after the last
    /// collection.
    Growth {
        /// Live bytes at which the first collection runs.
        initial: u64,
        /// Factor over the live bytes left by the last collection.
        growth: f64,
    },
}

#[derive(Clone, Debug, Default)]
struct Counters {
    auto: u64,
    explicit: u64,
    marked: u64,
    swept: u64,
    freed: u64,
}

/// The mark-sweep collector. See the crate docs.
#[derive(Debug)]
pub struct MarkSweep {
    trigger: Trigger,
    /// Collect when live bytes exceed this.
    threshold: u64,
    /// `marks[i] == epoch` means marked in the current collection (no clearing pass).
    marks: Vec<u32>,
    epoch: u32,
    stack: Vec<ObjId>,
    dead: Vec<ObjId>,
    /// Children of a freed object (`Heap::free_into` needs a buffer; this strategy keeps no
    /// counts, so they are dropped).
    children: Vec<ObjId>,
    c: Counters,
}

impl MarkSweep {
    /// A collector with this trigger.
    pub fn new(trigger: Trigger) -> MarkSweep {
        let threshold = match trigger {
            Trigger::Budget(b) => b,
            Trigger::Growth { initial, .. } => initial,
        };
        MarkSweep {
            trigger,
            threshold,
            marks: Vec::new(),
            epoch: 0,
            stack: Vec::new(),
            dead: Vec::new(),
            children: Vec::new(),
            c: Counters::default(),
        }
    }

    /// Collects if live bytes exceed the threshold; `extra` is an object no register holds yet
    /// (the one just allocated), treated as a root.
    #[inline]
    fn maybe_collect(&mut self, heap: &mut Heap, extra: ObjId) {
        if heap.acct.live_bytes > self.threshold {
            self.c.auto += 1;
            self.collect(heap, extra);
        }
    }

    /// A full collection: mark from the registers (and `extra`), sweep the rest. Returns the
    /// objects freed.
    pub fn collect(&mut self, heap: &mut Heap, extra: ObjId) -> u64 {
        let t = heap.begin_collection(-1);
        if self.marks.len() < heap.capacity() {
            self.marks.resize(heap.capacity(), 0);
        }
        self.epoch = self.epoch.wrapping_add(1);
        if self.epoch == 0 {
            // Wrapped: clear once so old marks cannot alias the new epoch.
            self.marks.iter_mut().for_each(|m| *m = 0);
            self.epoch = 1;
        }
        let epoch = self.epoch;
        self.stack
            .extend(heap.registers().iter().copied().filter(|r| !r.is_nil()));
        if !extra.is_nil() {
            self.stack.push(extra);
        }
        while let Some(id) = self.stack.pop() {
            if self.marks[id.index()] == epoch {
                continue;
            }
            self.marks[id.index()] = epoch;
            heap.note_gc_write(id);
            heap.work.objects_visited += 1;
            self.c.marked += 1;
            let slots = heap.slots(id);
            for &c in slots {
                if !c.is_nil() && self.marks[c.index()] != epoch {
                    self.stack.push(c);
                }
            }
            heap.work.refs_traversed += slots.len() as u64;
        }
        let examined = heap.acct.live_objects;
        heap.work.objects_visited += examined;
        self.c.swept += examined;
        self.dead.clear();
        let marks = &self.marks;
        self.dead
            .extend(heap.live_ids().filter(|id| marks[id.index()] != epoch));
        for &id in &self.dead {
            self.children.clear();
            heap.free_into(id, &mut self.children);
        }
        let freed = self.dead.len() as u64;
        self.c.freed += freed;
        if let Trigger::Growth { initial, growth } = self.trigger {
            let next = (heap.acct.live_bytes as f64 * growth) as u64;
            self.threshold = next.max(initial);
        }
        heap.end_collection(t, examined, freed);
        freed
    }
}

impl Strategy for MarkSweep {
    #[inline]
    fn alloc(&mut self, heap: &mut Heap, obj: ObjId) {
        // `obj` is in no register yet: it is an extra root.
        self.maybe_collect(heap, obj);
    }

    #[inline(always)]
    fn retain(&mut self, _heap: &mut Heap, _obj: ObjId) {}

    #[inline]
    fn release(&mut self, heap: &mut Heap, _obj: ObjId) {
        // A slot store or a register write may have grown a container; every reachable object
        // is reachable from the registers here.
        self.maybe_collect(heap, ObjId::NIL);
    }

    #[inline]
    fn stored(&mut self, heap: &mut Heap, _container: ObjId, _value: ObjId) {
        self.maybe_collect(heap, ObjId::NIL);
    }

    fn gc(&mut self, heap: &mut Heap, op: &GcOp) -> GcReply {
        match op {
            GcOp::Collect { .. } => {
                self.c.explicit += 1;
                GcReply::Collected(self.collect(heap, ObjId::NIL))
            }
            _ => GcReply::None,
        }
    }

    fn reclaim(&mut self, heap: &mut Heap, _short: u64) {
        // The next allocation does not fit the budget: collect before it is refused.
        self.c.auto += 1;
        self.collect(heap, ObjId::NIL);
    }

    fn heap_budget(&self) -> Option<u64> {
        match self.trigger {
            Trigger::Budget(b) => Some(b),
            Trigger::Growth { .. } => None,
        }
    }

    fn stats(&self) -> StrategyStats {
        let c = &self.c;
        let mut counters = vec![
            ("collections_auto".to_string(), c.auto),
            ("collections_explicit".to_string(), c.explicit),
            ("objects_marked".to_string(), c.marked),
            ("objects_swept".to_string(), c.swept),
            ("freed".to_string(), c.freed),
        ];
        if let Trigger::Budget(b) = self.trigger {
            counters.push(("heap_budget_bytes".to_string(), b));
        }
        StrategyStats {
            generations: Vec::new(),
            counters,
            // A mark word kept per arena slot (a header bit in the model).
            metadata_bytes_per_object: 4,
        }
    }
}

impl StrategyFactory for MarkSweep {
    const INFO: StrategyInfo = StrategyInfo {
        name: "mark-sweep",
        description: "stop-the-world mark-sweep tracing, no reference counts; collects when live bytes exceed a heap budget",
        params: &[
            ParamSpec {
                name: "budget",
                ty: ParamType::U64,
                default: "0",
                help: "heap budget in bytes: collect above it, out of memory if still above (0: use factor, or grow)",
            },
            ParamSpec {
                name: "factor",
                ty: ParamType::F64,
                default: "0",
                help: "heap budget as a multiple of min_heap (0: use budget, or grow)",
            },
            ParamSpec {
                name: "min_heap",
                ty: ParamType::U64,
                default: "0",
                help: "the workload's minimum heap in bytes, passed by the caller (needed by factor)",
            },
            ParamSpec {
                name: "initial",
                ty: ParamType::U64,
                default: "1048576",
                help: "without a budget: live bytes at which the first collection runs",
            },
            ParamSpec {
                name: "growth",
                ty: ParamType::F64,
                default: "2",
                help: "without a budget: collect at growth x the live bytes left by the last collection (> 1)",
            },
        ],
        presets: &[],
        guarantee: Guarantee::Complete,
        versions: Versions::NotCPython,
    };

    fn build(p: &Params) -> Result<Self, ParamError> {
        let budget = p.u64("budget");
        let factor = p.f64("factor");
        let min_heap = p.u64("min_heap");
        if factor < 0.0 {
            return Err(p.range_error(
                "factor",
                format!("{factor} is negative; use 0 or a positive multiple of min_heap"),
            ));
        }
        let trigger = if factor > 0.0 {
            if budget != 0 {
                return Err(p.range_error(
                    "budget",
                    "give either budget or factor (with min_heap), not both",
                ));
            }
            if min_heap == 0 {
                return Err(p.range_error(
                    "min_heap",
                    "factor needs the workload's minimum heap in bytes: pass min_heap=BYTES",
                ));
            }
            Trigger::Budget((factor * min_heap as f64).ceil() as u64)
        } else if budget != 0 {
            Trigger::Budget(budget)
        } else {
            let growth = p.f64("growth");
            if growth <= 1.0 {
                return Err(p.range_error("growth", format!("{growth} must be above 1")));
            }
            Trigger::Growth {
                initial: p.u64("initial"),
                growth,
            }
        };
        Ok(MarkSweep::new(trigger))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn budget_from_factor() {
        let s = MarkSweep::from_pairs(&pairs(&[("factor", "1.5"), ("min_heap", "1000")])).unwrap();
        assert_eq!(s.heap_budget(), Some(1500));
        let s = MarkSweep::from_pairs(&pairs(&[("budget", "777")])).unwrap();
        assert_eq!(s.heap_budget(), Some(777));
        assert_eq!(MarkSweep::from_pairs(&[]).unwrap().heap_budget(), None);
    }

    #[test]
    fn bad_params_say_what_is_valid() {
        let e = MarkSweep::from_pairs(&pairs(&[("factor", "2")])).unwrap_err();
        assert!(e.to_string().contains("min_heap"), "{e}");
        let e = MarkSweep::from_pairs(&pairs(&[
            ("factor", "2"),
            ("min_heap", "5"),
            ("budget", "9"),
        ]))
        .unwrap_err();
        assert!(e.to_string().contains("either"), "{e}");
        assert!(MarkSweep::from_pairs(&pairs(&[("growth", "1")])).is_err());
        assert!(MarkSweep::from_pairs(&pairs(&[("factor", "-1")])).is_err());
    }

    #[test]
    fn frees_unreachable_and_keeps_the_new_object() {
        use gclab_core::Kind;
        let mut heap = Heap::new(1, false);
        let mut ms = MarkSweep::new(Trigger::Budget(0));
        let a = heap.alloc(Kind::List, 0).expect("an empty list fits");
        ms.alloc(&mut heap, a); // collects with `a` as an extra root
        assert!(heap.is_live(a));
        heap.set_reg(0, a);
        let b = heap.alloc(Kind::Instance, 0).expect("an instance fits");
        ms.alloc(&mut heap, b);
        assert!(heap.is_live(b));
        assert_eq!(ms.collect(&mut heap, ObjId::NIL), 1); // b is garbage
        assert!(!heap.is_live(b) && heap.is_live(a));
    }
}
