//! The [`Strategy`] hooks: what the executor calls for each op (allocation, `Py_INCREF`,
//! `Py_DECREF`, stores, safe points, events, the `gc` module) and the statistics.

use crate::config::{DictTracking, Reason, TupleTracking};
use crate::counting::take;
use crate::layout::{
    kind_bits, node, CONTAINER, HAS_REFS, IS_DICT, IS_TUPLE, NUM_GENERATIONS, PERM, POLICIES,
    TRACKED, TUPLE_MAXSAVESIZE,
};
use crate::Generational;
use gclab_core::heap::{Heap, ObjId};
use gclab_core::kind::Kind;
use gclab_core::op::{GcOp, InterpOp};
use gclab_core::strategy::{GcReply, StrategyStats};
use gclab_core::Strategy;

impl Strategy for Generational {
    #[inline(always)]
    fn alloc(&mut self, heap: &mut Heap, id: ObjId) {
        let i = id.index();
        match self.rc.get_mut(i) {
            Some(r) => *r = 0,
            None => {
                self.grow(heap.capacity().max(i + 1));
                self.rc[i] = 0;
            }
        }
        let kind = heap.kind(id);
        let bits = kind_bits(kind);
        self.flags[i] = bits;
        if self.pending & POLICIES != 0 {
            self.policies(heap);
        }
        // A recording's objects (most of its allocations) first, each with one compare: a leaf
        // is neither counted nor tracked; an object is tracked at once and counted by the
        // recording's own `InterpOp::Count` ops.
        if kind == Kind::Leaf {
            return;
        }
        if kind == Kind::Object {
            self.tracks += 1;
            self.flags[i] = bits | TRACKED;
            self.link_tail(heap, 0, node(id));
            return;
        }
        // The young count (free lists bypass it) and whether the object is tracked at once:
        // every container but the empty tuple (a static singleton, never allocated), dicts
        // before 3.14 (`dicts=lazy`: tracked lazily) and tuples from 3.14.1 on
        // (`tuples=containers`: tracked when they get a container).
        let counted = match kind {
            Kind::List => !take(&mut self.list_free),
            Kind::Instance => true,
            Kind::Dict => !take(&mut self.dict_free),
            Kind::Tuple => {
                let len = heap.slots(id).len();
                if len == 0 {
                    return;
                }
                !(len < TUPLE_MAXSAVESIZE && take(&mut self.tuple_free[len]))
            }
            _ => return,
        };
        if counted {
            self.count[0] += 1;
            self.after_increment(heap);
        }
        let tracked_now = match kind {
            Kind::Dict => self.cfg.dicts == DictTracking::Always,
            Kind::Tuple => self.cfg.tuples == TupleTracking::Always,
            _ => true,
        };
        if tracked_now {
            // track (the collection above never touches the untracked new object's flags)
            self.tracks += 1;
            self.flags[i] = bits | TRACKED;
            self.tracked_tuples += (kind == Kind::Tuple) as u64;
            self.tracked_dicts += (kind == Kind::Dict) as u64;
            self.link_tail(heap, 0, node(id));
        }
    }

    /// Inlined, so that the executor's fast path for `InterpOp::Count` (a sixth of a
    /// recording's ops), which calls this with an op of that variant, keeps only its arm.
    #[inline(always)]
    fn interp(&mut self, heap: &mut Heap, op: &InterpOp, obj: ObjId) {
        match *op {
            InterpOp::Count { delta } => {
                if delta > 0 {
                    self.count[0] += i64::from(delta);
                    self.after_increment(heap);
                } else {
                    // PyObject_GC_Del: `if (count > 0) count--`.
                    self.count[0] = (self.count[0] + i64::from(delta)).max(0);
                }
            }
            InterpOp::Track { generation, .. } => {
                let f = self.flags[obj.index()];
                if f & CONTAINER != 0 && f & TRACKED == 0 {
                    self.set_tracked(obj);
                    self.link_tail(heap, u32::from(generation.min(PERM as u8)), node(obj));
                }
            }
            InterpOp::Untrack { .. } => {
                if self.flags[obj.index()] & TRACKED != 0 {
                    self.clear_tracked(obj);
                    self.unlink(heap, node(obj));
                }
            }
            InterpOp::SetCount { generation, value } => {
                if let Some(c) = self.count.get_mut(usize::from(generation)) {
                    *c = i64::from(value);
                }
            }
            InterpOp::LongLived { total, pending } => {
                self.long_lived_total = u64::from(total);
                self.long_lived_pending = u64::from(pending);
            }
        }
    }

    #[inline(always)]
    fn retain(&mut self, heap: &mut Heap, id: ObjId) {
        heap.note_rc_write(id);
        self.rc[id.index()] += 1;
    }

    #[inline(always)]
    fn release(&mut self, heap: &mut Heap, id: ObjId) {
        self.decref(heap, id);
    }

    #[inline(always)]
    fn stored(&mut self, heap: &mut Heap, container: ObjId, value: ObjId) {
        // MAINTAIN_TRACKING (before 3.14): an untracked dict becomes tracked when it gets a
        // value that may be tracked. From 3.14.1 on (`tuples=containers`), a tuple is tracked
        // when it gets a GC object (as CPython decides when it builds the tuple from its items).
        let f = self.flags[container.index()];
        self.flags[container.index()] = f | HAS_REFS;
        if f & TRACKED == 0 && f & (IS_DICT | IS_TUPLE) != 0 {
            let track = if f & IS_DICT != 0 {
                self.cfg.dicts == DictTracking::Lazy && self.may_be_tracked(value)
            } else {
                self.cfg.tuples == TupleTracking::Containers
                    && self.flags[value.index()] & CONTAINER != 0
            };
            if track {
                self.track(heap, container);
            }
        }
    }

    #[inline(always)]
    fn safe_point(&mut self, heap: &mut Heap) {
        if self.pending != 0 {
            self.safe_point_work(heap);
        }
    }

    fn event(&mut self, heap: &mut Heap, name: &str) {
        if self.pending & POLICIES != 0 {
            self.policies(heap);
        }
        if self.cfg.on_event.as_deref() == Some(name) {
            self.collect_explicit(heap, self.cfg.manual_generation, Reason::Policy);
        }
        if self.cfg.freeze_on_event.as_deref() == Some(name) {
            self.gc(heap, &GcOp::Freeze);
        }
    }

    fn gc(&mut self, heap: &mut Heap, op: &GcOp) -> GcReply {
        match *op {
            GcOp::Collect { generation } => {
                let g = generation.clamp(0, 2) as usize;
                GcReply::Collected(self.collect_explicit(heap, g, Reason::Manual))
            }
            GcOp::Freeze => {
                for g in 0..NUM_GENERATIONS {
                    self.merge(heap, g as u32, PERM);
                    self.count[g] = 0;
                }
                GcReply::None
            }
            GcOp::Unfreeze => {
                self.merge(heap, PERM, (NUM_GENERATIONS - 1) as u32);
                GcReply::None
            }
            GcOp::Enable => {
                self.enabled = true;
                GcReply::None
            }
            GcOp::Disable => {
                self.enabled = false;
                GcReply::None
            }
            GcOp::SetThreshold { t0, t1, t2 } => {
                self.threshold = [t0 as i64, t1 as i64, t2 as i64];
                GcReply::None
            }
        }
    }

    fn refcount(&self, id: ObjId) -> Option<u64> {
        self.rc.get(id.index()).map(|&n| n as u64)
    }

    fn stats(&self) -> StrategyStats {
        let sizes = self.generation_sizes();
        let (lf, df, tf) = self.free_lists();
        let nonneg = |x: i64| x.max(0) as u64;
        StrategyStats {
            generations: self.gen_stats.to_vec(),
            counters: vec![
                ("count0".into(), nonneg(self.count[0])),
                ("count1".into(), nonneg(self.count[1])),
                ("count2".into(), nonneg(self.count[2])),
                ("threshold0".into(), nonneg(self.threshold[0])),
                ("threshold1".into(), nonneg(self.threshold[1])),
                ("threshold2".into(), nonneg(self.threshold[2])),
                ("enabled".into(), self.enabled as u64),
                ("long_lived_total".into(), self.long_lived_total),
                ("long_lived_pending".into(), self.long_lived_pending),
                ("gen2_vetoes".into(), self.gen2_vetoes),
                ("gen0_size".into(), sizes[0]),
                ("gen1_size".into(), sizes[1]),
                ("gen2_size".into(), sizes[2]),
                ("frozen".into(), sizes[3]),
                ("collections_automatic".into(), self.by_reason[0]),
                ("collections_manual".into(), self.by_reason[1]),
                ("collections_policy".into(), self.by_reason[2]),
                ("freed_by_refcount".into(), self.freed_by_refcount),
                ("freelist_list".into(), lf as u64),
                ("freelist_dict".into(), df as u64),
                ("freelist_tuple".into(), tf as u64),
            ],
            // refcount 4 + prev/next 8 (gc_refs lives in prev) + flags 1
            metadata_bytes_per_object: 13,
        }
    }
}
