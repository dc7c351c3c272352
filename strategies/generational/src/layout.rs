//! The model's per-object metadata layout: CPython's free-list capacities, the flag bits of
//! an object (tracked, collecting, unreachable, and its kind, set at allocation), the list
//! heads and node numbering of the intrusive generation lists, and a node's links
//! (`PyGC_Head`).

use gclab_core::heap::ObjId;
use gclab_core::kind::{Kind, ALL_KINDS, NUM_KINDS};

/// Capacity of CPython's list free list (`PyList_MAXFREELIST`).
pub const LIST_FREELIST_MAX: u32 = 80;
/// Capacity of CPython's dict free list (`PyDict_MAXFREELIST`).
pub const DICT_FREELIST_MAX: u32 = 80;
/// Tuples of sizes `1..TUPLE_MAXSAVESIZE` have free lists (`PyTuple_MAXSAVESIZE`).
pub const TUPLE_MAXSAVESIZE: usize = 20;
/// Capacity of each tuple free list (`PyTuple_MAXFREELIST`).
pub const TUPLE_FREELIST_MAX: u32 = 2000;
/// Number of generations (`NUM_GENERATIONS`).
pub const NUM_GENERATIONS: usize = 3;

// List heads: nodes 0..NHEAD; object `i` is node `i + NHEAD`.
pub(crate) const PERM: u32 = 3;
pub(crate) const UNREACH: u32 = 4;
pub(crate) const NHEAD: u32 = 5;

pub(crate) const TRACKED: u8 = 1;
pub(crate) const COLLECTING: u8 = 2;
pub(crate) const UNREACHABLE: u8 = 4;
// Kind bits, set at allocation so that collections never look the kind up in the heap.
pub(crate) const CONTAINER: u8 = 8;
pub(crate) const IS_TUPLE: u8 = 16;
pub(crate) const IS_DICT: u8 = 32;
// Set when a value is stored into the container (never cleared): a container without it has
// no references, so traversals skip reading its slots.
pub(crate) const HAS_REFS: u8 = 64;
// `Generational::pending` bits.
pub(crate) const POLICIES: u8 = 1;
pub(crate) const SCHEDULED: u8 = 2;

// Lists and tuples: CPython's `list_traverse` and `tupletraverse` visit items from the last to
// the first (dicts and instances visit theirs in order). The order decides where
// `move_unreachable` re-appends objects, which `untrack_tuples` can observe.
pub(crate) const REVERSE_TRAVERSE: u8 = 128;

/// The flags an object of `kind` starts with: one load from a table built at compile time (a
/// `match` here costs a chain of compares on every allocation).
#[inline(always)]
pub(crate) const fn kind_bits(kind: Kind) -> u8 {
    KIND_BITS[kind as usize]
}

const KIND_BITS: [u8; NUM_KINDS] = {
    let mut t = [0u8; NUM_KINDS];
    let mut k = 0;
    while k < NUM_KINDS {
        t[k] = match ALL_KINDS[k] {
            Kind::Tuple => CONTAINER | IS_TUPLE | REVERSE_TRAVERSE,
            Kind::Dict => CONTAINER | IS_DICT,
            Kind::List => CONTAINER | REVERSE_TRAVERSE,
            Kind::Instance | Kind::Object => CONTAINER,
            _ => 0,
        };
        k += 1;
    }
    t
};

#[inline]
pub(crate) const fn node(id: ObjId) -> u32 {
    id.0 + NHEAD
}
#[inline]
pub(crate) const fn obj(n: u32) -> ObjId {
    ObjId(n - NHEAD)
}

/// The list links of one node (`PyGC_Head`'s `_gc_next` and `_gc_prev`): indices of nodes
/// (list heads first, then objects). During a collection, `prev` holds the `gc_refs` of the
/// objects being collected that `move_unreachable` has not passed yet.
#[derive(Copy, Clone, Debug, Default)]
pub(crate) struct Link {
    pub(crate) next: u32,
    pub(crate) prev: u32,
}
