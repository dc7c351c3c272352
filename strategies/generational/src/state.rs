//! Building the strategy, and the read-only views of its state that the `gc` module offers
//! (`gc.get_count()`, `gc.get_threshold()`, `gc.get_stats()`, `gc.isenabled()`,
//! `gc.is_tracked()`) plus a few for reports.

use crate::config::Config;
use crate::layout::{Link, NHEAD, POLICIES, TRACKED, TUPLE_MAXSAVESIZE};
use crate::Generational;
use gclab_core::heap::ObjId;
use gclab_core::strategy::GenerationStats;

impl Generational {
    /// A strategy with this configuration.
    pub fn new(cfg: Config) -> Generational {
        let mut links = Vec::with_capacity(1024);
        for h in 0..NHEAD {
            links.push(Link { next: h, prev: h });
        }
        let pending = if cfg.every_ops > 0 || cfg.every_ms > 0 {
            POLICIES
        } else {
            0
        };
        Generational {
            threshold: cfg.thresholds,
            enabled: cfg.enabled,
            next_due_ops: cfg.every_ops,
            next_due_ns: cfg.every_ms.saturating_mul(1_000_000),
            cfg,
            rc: Vec::new(),
            flags: Vec::new(),
            tracked_tuples: 0,
            tracked_dicts: 0,
            links,
            count: [0; 3],
            collecting: false,
            pending,
            long_lived_total: 0,
            long_lived_pending: 0,
            gen_stats: Default::default(),
            list_free: 0,
            dict_free: 0,
            tuple_free: [0; TUPLE_MAXSAVESIZE],
            worklist: Vec::new(),
            garbage: Vec::new(),
            gc_children: Vec::new(),
            freed_by_refcount: 0,
            gen2_vetoes: 0,
            by_reason: [0; 3],
            tracks: 0,
            untracks: 0,
        }
    }

    /// `gc.get_count()`.
    pub fn get_count(&self) -> [i64; 3] {
        self.count
    }

    /// `gc.get_threshold()`.
    pub fn get_threshold(&self) -> [i64; 3] {
        self.threshold
    }

    /// `gc.get_stats()`.
    pub fn get_stats(&self) -> &[GenerationStats; 3] {
        &self.gen_stats
    }

    /// `gc.isenabled()`.
    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    /// `gc.is_tracked(obj)`.
    pub fn is_tracked(&self, obj: ObjId) -> bool {
        self.flags
            .get(obj.index())
            .is_some_and(|f| f & TRACKED != 0)
    }

    /// `long_lived_total` and `long_lived_pending`.
    pub fn long_lived(&self) -> (u64, u64) {
        (self.long_lived_total, self.long_lived_pending)
    }

    /// Lengths of the generation lists (gen0, gen1, gen2, permanent): an O(n) walk.
    pub fn generation_sizes(&self) -> [u64; 4] {
        let mut out = [0; 4];
        for (h, o) in out.iter_mut().enumerate() {
            *o = self.list_len(h as u32);
        }
        out
    }

    /// Free-list occupancy: (list, dict, tuples of all sizes).
    pub fn free_lists(&self) -> (u32, u32, u32) {
        (self.list_free, self.dict_free, self.tuple_free.iter().sum())
    }
}
