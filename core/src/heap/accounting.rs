//! The heap's counters: exact [`Accounting`] of objects and bytes, deterministic [`Work`]
//! units, the [`CowReport`] of copy-on-write pages, and the collection recorder's hooks
//! ([`Heap::begin_collection`], [`Heap::end_collection`]).

use super::Heap;
use crate::kind::{ALL_KINDS, NUM_KINDS};
use crate::recorder::CollectionRecord;
use serde::{Deserialize, Serialize};

/// Exact, deterministic accounting of the simulated heap.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Accounting {
    /// Objects currently live (allocated, not freed).
    pub live_objects: u64,
    /// Modelled bytes currently live.
    pub live_bytes: u64,
    /// Highest `live_objects` seen.
    pub peak_objects: u64,
    /// Highest `live_bytes` seen.
    pub peak_bytes: u64,
    /// Objects allocated, by [`Kind`](crate::kind::Kind) code.
    pub allocs_by_kind: [u64; NUM_KINDS],
    /// Objects freed, by [`Kind`](crate::kind::Kind) code.
    pub frees_by_kind: [u64; NUM_KINDS],
    /// Modelled bytes allocated in total, including list and dict growth (a resize counts the
    /// whole new block, as a `realloc` that moves would).
    pub bytes_allocated: u64,
}

impl Accounting {
    /// Total objects allocated.
    pub fn allocations(&self) -> u64 {
        self.allocs_by_kind.iter().sum()
    }
    /// Total objects freed.
    pub fn frees(&self) -> u64 {
        self.frees_by_kind.iter().sum()
    }
}

/// Deterministic work units: identical on every machine and every run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Work {
    /// Ops executed.
    pub ops: u64,
    /// Objects visited by a collector (each visit of an object in a collection pass).
    pub objects_visited: u64,
    /// References traversed by a collector.
    pub refs_traversed: u64,
    /// Reference-count writes (increments and decrements).
    pub rc_writes: u64,
    /// Writes a collector makes to object headers (gc_refs, list links, marks).
    pub gc_header_writes: u64,
}

/// Copy-on-write report: 4 KiB pages of the pre-fork heap written after the `fork` event.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CowReport {
    /// Pages holding at least one object live at the fork.
    pub prefork_pages: u64,
    /// Pre-fork pages written after the fork, by any cause.
    pub dirty_pages: u64,
    /// Pre-fork pages written by reference-count updates.
    pub dirty_by_refcount: u64,
    /// Pre-fork pages written by the collector.
    pub dirty_by_collector: u64,
    /// Pre-fork pages written by the program's stores.
    pub dirty_by_mutator: u64,
}

/// A collection in progress; see [`Heap::begin_collection`].
#[derive(Copy, Clone, Debug)]
pub struct CollectionStart {
    generation: i32,
    start_ns: u64,
    work_before: u64,
    at_op: u64,
}

impl Heap {
    /// Starts timing a collection of `generation` (use -1 when generations do not apply).
    pub fn begin_collection(&mut self, generation: i32) -> CollectionStart {
        CollectionStart {
            generation,
            start_ns: self.now_ns(),
            work_before: self.work.objects_visited + self.work.refs_traversed,
            at_op: self.work.ops,
        }
    }

    /// Ends a collection begun with [`Heap::begin_collection`]: `examined` objects were
    /// considered, `freed` were reclaimed (the collector's own count).
    pub fn end_collection(&mut self, start: CollectionStart, examined: u64, freed: u64) {
        let end = self.now_ns();
        let work = self.work.objects_visited + self.work.refs_traversed - start.work_before;
        self.recorder.push(CollectionRecord {
            at_op: start.at_op,
            start_ns: start.start_ns,
            duration_ns: end.saturating_sub(start.start_ns),
            work,
            generation: start.generation,
            examined,
            freed,
            live_bytes_after: self.acct.live_bytes,
            live_objects_after: self.acct.live_objects,
        });
    }

    /// The collections recorded so far.
    pub fn collections(&self) -> &[CollectionRecord] {
        self.recorder.records()
    }

    /// Live objects by kind: a breakdown for reports.
    pub fn live_by_kind(&self) -> [u64; NUM_KINDS] {
        let mut out = [0; NUM_KINDS];
        for k in ALL_KINDS {
            out[k as usize] =
                self.acct.allocs_by_kind[k as usize] - self.acct.frees_by_kind[k as usize];
        }
        out
    }
}
