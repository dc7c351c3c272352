//! [`HeapError`]: why a mutator operation on the heap failed.

use crate::slots::{PoolFull, MAX_WORDS};

/// Why a mutator operation on the heap failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HeapError {
    /// The object is not a container of a kind that supports the operation.
    #[error("a {kind} has no slots for this operation")]
    NotContainer {
        /// The object's kind.
        kind: &'static str,
    },
    /// The slot index is out of range.
    #[error("slot {slot} out of range for a {kind} with {len} slots")]
    SlotOutOfRange {
        /// The requested slot.
        slot: u32,
        /// The object's kind.
        kind: &'static str,
        /// Its current number of slots.
        len: u32,
    },
    /// `append` on something that is not a list.
    #[error("append needs a list, found a {kind}")]
    NotList {
        /// The object's kind.
        kind: &'static str,
    },
    /// The simulator's slot pool is full: all containers together hold at most
    /// [`MAX_SLOT_WORDS`] words of references and slot-block headers (16 GiB).
    #[error("the simulated heap holds more references than the simulator's limit of {} slots (16 GiB of slot storage); run a smaller workload (for example a lower `size` parameter)", MAX_SLOT_WORDS)]
    SlotPoolFull,
}

/// The most words of slot storage (references plus one or two header words per block) the
/// simulated heap can hold: the slot pool's offsets are `u32`.
pub const MAX_SLOT_WORDS: usize = MAX_WORDS;

impl From<PoolFull> for HeapError {
    fn from(_: PoolFull) -> HeapError {
        HeapError::SlotPoolFull
    }
}
