//! The object model: the kinds of object gclab simulates and their modelled sizes.
//!
//! Sizes follow `sys.getsizeof` on 64-bit CPython 3.11.7 and are kept in this one place. They were
//! measured with `scripts/measure_sizes.py`; the test `sizes_match_cpython` in
//! `tests/sizes.rs` checks them against a live CPython 3.11 when one is installed.

use serde::{Deserialize, Serialize};

/// The kind of a simulated object, after CPython's built-in types.
///
/// Atoms (`Int`, `Float`, `Str`, `Bytes`, and a recording's `Leaf`) hold no references and are
/// never tracked by a cycle collector. Containers (`Tuple`, `List`, `Dict`, `Instance`, and a
/// recording's `Object`) hold references in slots.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[repr(u8)]
pub enum Kind {
    /// `int`; its length is the number of 30-bit digits.
    Int = 0,
    /// `float`.
    Float = 1,
    /// `str` of ASCII characters; its length is the number of characters.
    Str = 2,
    /// `bytes`; its length is the number of bytes.
    Bytes = 3,
    /// `tuple`; its length is the (fixed) number of items.
    Tuple = 4,
    /// `list`; its length is the number of slots pre-allocated (the list starts empty).
    List = 5,
    /// `dict` whose keys are interned strings (not modelled as objects).
    Dict = 6,
    /// An instance of a plain Python class; its attributes are slots.
    Instance = 7,
    /// An object of a real program's container type (any type with `Py_TPFLAGS_HAVE_GC`), from a
    /// recording: its length is its size in bytes; its slots are its referents, added like an
    /// instance's attributes (a store at the slot one past the last adds a slot). Its type is
    /// named in the stream header ([`crate::op::TypeInfo`]).
    Object = 8,
    /// An object of a real program's non-container type (`str`, `int`, `float`, ...), from a
    /// recording: its length is its size in bytes; it holds no references.
    Leaf = 9,
}

/// Number of object kinds.
pub const NUM_KINDS: usize = 10;

/// Every kind, in code order.
pub const ALL_KINDS: [Kind; NUM_KINDS] = [
    Kind::Int,
    Kind::Float,
    Kind::Str,
    Kind::Bytes,
    Kind::Tuple,
    Kind::List,
    Kind::Dict,
    Kind::Instance,
    Kind::Object,
    Kind::Leaf,
];

/// The per-kind counts a report lists, as (kind, count): every synthetic kind, and a recorded
/// kind ([`Kind::Object`], [`Kind::Leaf`]) only when its count is not zero, so that the records
/// of generated streams are what they were before recorded kinds existed.
pub fn reported_by_kind(counts: &[u64; NUM_KINDS]) -> impl Iterator<Item = (Kind, u64)> + '_ {
    ALL_KINDS
        .iter()
        .map(|&k| (k, counts[k as usize]))
        .filter(|&(k, n)| !k.is_recorded() || n != 0)
}

impl Kind {
    /// The Python name of the kind.
    pub const fn name(self) -> &'static str {
        match self {
            Kind::Int => "int",
            Kind::Float => "float",
            Kind::Str => "str",
            Kind::Bytes => "bytes",
            Kind::Tuple => "tuple",
            Kind::List => "list",
            Kind::Dict => "dict",
            Kind::Instance => "instance",
            Kind::Object => "object",
            Kind::Leaf => "leaf",
        }
    }

    /// Parses a Python kind name.
    pub fn from_name(s: &str) -> Option<Kind> {
        ALL_KINDS.iter().copied().find(|k| k.name() == s)
    }

    /// The kind with this code, if any.
    pub const fn from_code(code: u8) -> Option<Kind> {
        if (code as usize) < NUM_KINDS {
            Some(ALL_KINDS[code as usize])
        } else {
            None
        }
    }

    /// True for the kinds only a recording of a real program makes ([`Kind::Object`],
    /// [`Kind::Leaf`]); a workload generates the others.
    #[inline]
    pub const fn is_recorded(self) -> bool {
        matches!(self, Kind::Object | Kind::Leaf)
    }

    /// True for kinds that can hold references (CPython's GC-capable types).
    #[inline]
    pub const fn is_container(self) -> bool {
        matches!(
            self,
            Kind::Tuple | Kind::List | Kind::Dict | Kind::Instance | Kind::Object
        )
    }

    /// The size `sys.getsizeof` reports for a freshly created object of this kind with length
    /// `len` (see each variant for what the length means).
    pub const fn initial_size(self, len: u32) -> u32 {
        let len = len as u64;
        let s = match self {
            Kind::Int => 24 + 4 * if len == 0 { 1 } else { len },
            Kind::Float => 24,
            Kind::Str => 49 + len,
            Kind::Bytes => 33 + len,
            Kind::Tuple => 40 + 8 * len,
            Kind::List => 56 + 8 * len,
            Kind::Dict => DICT_EMPTY_SIZE as u64,
            Kind::Instance => INSTANCE_SIZE as u64,
            Kind::Object | Kind::Leaf => len,
        };
        if s > u32::MAX as u64 {
            u32::MAX
        } else {
            s as u32
        }
    }
}

/// The most items a simulated tuple may have. A tuple's slots are real memory in the simulator
/// (4 bytes each), so an untrusted trace could otherwise make `gclab run` allocate gigabytes with
/// one op; the executor rejects longer tuples with an error naming this bound.
pub const MAX_TUPLE_LEN: u32 = 1 << 24;

/// `sys.getsizeof({})` on CPython 3.11.
pub const DICT_EMPTY_SIZE: u32 = 64;
/// `sys.getsizeof(C())` for a plain class `C` on CPython 3.11 (attribute values live in a
/// separately allocated values array that `getsizeof` does not count).
pub const INSTANCE_SIZE: u32 = 56;

/// The allocated capacity CPython 3.11's `list_resize` chooses when a list of capacity
/// `allocated` must hold `newsize` items. Returns `allocated` unchanged when no resize happens.
///
/// This is `Objects/listobject.c:list_resize`: no resize while
/// `allocated >= newsize >= allocated / 2`; otherwise
/// `(newsize + newsize / 8 + 6) & !3`, or `(newsize + 3) & !3` when the growth would be closer to
/// the old size than to the over-allocated one.
pub const fn list_capacity(allocated: u32, oldsize: u32, newsize: u32) -> u32 {
    if allocated >= newsize && newsize >= (allocated >> 1) {
        return allocated;
    }
    if newsize == 0 {
        return 0;
    }
    let n = newsize as u64;
    let mut new_allocated = (n + (n >> 3) + 6) & !3;
    if n - oldsize as u64 > new_allocated - n {
        new_allocated = (n + 3) & !3;
    }
    if new_allocated > u32::MAX as u64 {
        u32::MAX
    } else {
        new_allocated as u32
    }
}

/// `sys.getsizeof` of a list with `allocated` slots.
pub const fn list_size(allocated: u32) -> u32 {
    56u32.saturating_add(allocated.saturating_mul(8))
}

/// `sys.getsizeof` of a CPython 3.11 dict with string keys that has had `entries` keys inserted
/// (deleted keys keep their entry, as in CPython; the table never shrinks).
///
/// An empty dict is 64 bytes. Otherwise the keys table has `2^k` indices with
/// `usable = 2^(k+1) / 3` entries of 16 bytes, for the smallest `k >= 3` whose usable count holds
/// the entries reached by CPython's growth rule (`used * 3`), and the size is
/// `96 + index bytes + 16 * usable`.
pub fn dict_size(entries: u32) -> u32 {
    if entries == 0 {
        return DICT_EMPTY_SIZE;
    }
    // The tables CPython's growth passes through, smallest first: a dict has the first one whose
    // usable count holds its entries (five for most of them).
    let mut i = 0;
    while i + 1 < DICT_TABLES.len() && (entries as u64) > DICT_TABLES[i].0 {
        i += 1;
    }
    DICT_TABLES[i].1
}

/// How many key tables [`DICT_TABLES`] lists: enough for 2^32 entries (checked by a test).
const DICT_STEPS: usize = 40;

/// The key tables a dict passes through as it grows, as (usable entries, `sys.getsizeof`),
/// computed at compile time from CPython's growth rule: start at `k = 3` (8 slots, 5 usable);
/// inserting into a full table (used == usable) resizes it to the smallest power of two
/// `>= used * 3`. The last one holds more than `u32::MAX` entries.
const DICT_TABLES: [(u64, u32); DICT_STEPS] = dict_tables();

const fn dict_tables() -> [(u64, u32); DICT_STEPS] {
    let mut out = [(0u64, 0u32); DICT_STEPS];
    let mut k: u32 = 3;
    let mut i = 0;
    while i < DICT_STEPS {
        let usable = usable_for(k);
        let slots = 1u64 << k;
        let index_bytes = if slots <= 0xff {
            slots
        } else if slots <= 0xffff {
            2 * slots
        } else if slots <= 0xffff_ffff {
            4 * slots
        } else {
            8 * slots
        };
        let total = 96 + index_bytes + 16 * usable;
        out[i] = (
            usable,
            if total > u32::MAX as u64 {
                u32::MAX
            } else {
                total as u32
            },
        );
        let want = usable * 3;
        while (1u64 << k) < want {
            k += 1;
        }
        i += 1;
    }
    out
}

const fn usable_for(k: u32) -> u64 {
    (2u64 << k) / 3
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_append_sizes_match_cpython_311() {
        // sys.getsizeof(l) before each of 40 appends, measured on CPython 3.11.7.
        let measured = [
            56, 88, 88, 88, 88, 120, 120, 120, 120, 184, 184, 184, 184, 184, 184, 184, 184, 248,
            248, 248, 248, 248, 248, 248, 248, 312, 312, 312, 312, 312, 312, 312, 312, 376, 376,
            376, 376, 376, 376, 376,
        ];
        let mut allocated = 0;
        for (n, want) in measured.iter().enumerate() {
            assert_eq!(list_size(allocated), *want, "before append {n}");
            allocated = list_capacity(allocated, n as u32, n as u32 + 1);
        }
    }

    #[test]
    fn dict_sizes_match_cpython_311() {
        // sys.getsizeof(d) before each insertion of a new str key, CPython 3.11.7.
        let measured = [
            (0, 64),
            (1, 184),
            (5, 184),
            (6, 272),
            (10, 272),
            (11, 464),
            (21, 464),
            (22, 832),
            (42, 832),
            (43, 1584),
        ];
        for (n, want) in measured {
            assert_eq!(dict_size(n), want, "dict with {n} keys");
        }
    }

    /// CPython's growth replayed one insertion at a time: the reference that `dict_size`'s table
    /// of resizes must equal.
    fn dict_size_by_insertion(entries: u32) -> u32 {
        if entries == 0 {
            return DICT_EMPTY_SIZE;
        }
        let mut k: u32 = 3;
        let mut usable = usable_for(k);
        let mut used: u64 = 0;
        while used < entries as u64 {
            if used >= usable {
                let want = used * 3;
                while (1u64 << k) < want {
                    k += 1;
                }
                usable = usable_for(k);
            }
            used += 1;
        }
        let slots = 1u64 << k;
        let index_bytes = match slots {
            0..=0xff => slots,
            0x100..=0xffff => 2 * slots,
            _ => 4 * slots,
        };
        (96 + index_bytes + 16 * usable) as u32
    }

    #[test]
    fn dict_size_table_agrees_with_every_insertion() {
        assert!(DICT_TABLES[DICT_STEPS - 1].0 > u64::from(u32::MAX));
        for n in (0..=5_000).chain([21_845, 21_846, 1 << 20, (1 << 22) + 7, 10_000_000]) {
            assert_eq!(
                dict_size(n),
                dict_size_by_insertion(n),
                "dict with {n} keys"
            );
        }
    }

    #[test]
    fn atom_sizes() {
        assert_eq!(Kind::Str.initial_size(5), 54);
        assert_eq!(Kind::Str.initial_size(0), 49);
        assert_eq!(Kind::Int.initial_size(1), 28);
        assert_eq!(Kind::Int.initial_size(2), 32);
        assert_eq!(Kind::Float.initial_size(0), 24);
        assert_eq!(Kind::Bytes.initial_size(5), 38);
        assert_eq!(Kind::Tuple.initial_size(3), 64);
    }
}
