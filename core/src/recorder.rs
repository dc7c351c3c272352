//! The recorder of collections: one record per collection, in both clocks.

use serde::{Deserialize, Serialize};

/// One collection, as recorded by [`crate::heap::Heap::end_collection`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollectionRecord {
    /// Ops executed before the collection started (the deterministic clock).
    pub at_op: u64,
    /// Wall-clock start, in ns since the run began.
    pub start_ns: u64,
    /// Wall-clock duration in ns.
    pub duration_ns: u64,
    /// Work units spent: objects visited plus references traversed.
    pub work: u64,
    /// Generation collected (-1 where generations do not apply).
    pub generation: i32,
    /// Objects the collector examined.
    pub examined: u64,
    /// Objects the collector reclaimed.
    pub freed: u64,
    /// Live bytes right after the collection.
    pub live_bytes_after: u64,
    /// Live objects right after the collection.
    pub live_objects_after: u64,
}

/// The list of collections of one run.
#[derive(Clone, Debug, Default)]
pub struct Recorder {
    records: Vec<CollectionRecord>,
}

impl Recorder {
    /// Appends a record.
    pub fn push(&mut self, r: CollectionRecord) {
        self.records.push(r);
    }
    /// All records, in order.
    pub fn records(&self) -> &[CollectionRecord] {
        &self.records
    }
}
