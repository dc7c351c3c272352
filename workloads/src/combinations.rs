//! `combinations`: the guide's all pairs of a list, by nested loops or `itertools.combinations`.
//!
//! The program builds `items`, a long-lived list of `n` strings, then each of `reps` repetitions
//! visits every pair `(items[i], items[j])`, `i < j`, and the consumer reads both items.
//!
//! * `nested`: `for i in range(n): for j in range(i + 1, n): t = (items[i], items[j])`: a new
//!   2-tuple per pair, which dies when the next pair rebinds `t`.
//! * `itertools`: `for t in combinations(items, 2)`: the combinations object (88 bytes on
//!   CPython 3.11.7, modelled as a 6-tuple of that size) copies the input into a `pool` tuple of
//!   `n` items and allocates one result tuple. On every `next` it checks the result tuple's
//!   reference count: if the consumer has dropped it (count 1), it overwrites the tuple's items in
//!   place instead of allocating a new one (`Modules/itertoolsmodule.c`, `combinations_next`).
//!   So a consumer that drops each pair costs one tuple in all.
//!
//! With `keep=true` the consumer keeps every pair in a list (as `list(combinations(...))` does):
//! then the result tuple is still referenced and `combinations` allocates a fresh tuple per pair,
//! like the nested loops.
//!
//! Measured on CPython 3.11.7 with `scripts/measure_guide_cases.py` over 100 strings (4,950
//! pairs, pairs dropped): `tracemalloc` peak 144 bytes above the start for the nested loops (each
//! 2-tuple comes from CPython's tuple free list, so `malloc` barely sees them) and 928 for
//! `itertools` (the combinations object, its `pool` tuple of 100 items, its index array and the
//! result tuple); `id()` of the yielded tuples took 2 distinct values over the 6 pairs of 4
//! items when dropped, 6 when kept. In objects, the nested loops allocate n(n-1)/2 tuples per
//! repetition, `itertools` 3 objects.
//! Not modelled: the `range` objects and iterators of the nested loops, and the index array.
//!
//! The `itertools` variant writes into tuples after building them, as CPython's C code does;
//! a Python-level replay (`scripts/cpython_replay.py`) cannot do that, so only the `nested`
//! variant can be replayed in real CPython.

use crate::util::{scaled, SIZE};
use gclab_core::kind::Kind;
use gclab_core::op::StreamHeader;
use gclab_core::params::{ParamError, ParamSpec, ParamType, Params};
use gclab_core::workload::{Emitter, Stop, Workload, WorkloadEntry, WorkloadInfo};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Catalogue entry.
pub const ENTRY: WorkloadEntry = WorkloadEntry {
    info: WorkloadInfo {
        name: "combinations",
        description: "the guide's all pairs: nested loops (a tuple per pair) vs itertools.combinations (re-used result tuple)",
        params: &[
            ParamSpec { name: "variant", ty: ParamType::Text, default: "nested", help: "nested | itertools" },
            ParamSpec { name: "n", ty: ParamType::U64, default: "200", help: "items in the list (n(n-1)/2 pairs)" },
            ParamSpec { name: "keep", ty: ParamType::Bool, default: "false", help: "the consumer keeps every pair in a list" },
            ParamSpec { name: "reps", ty: ParamType::U64, default: "50", help: "repetitions" },
            SIZE,
        ],
    },
    build,
};

/// The `combinations` workload.
#[derive(Debug, Clone)]
pub struct Combinations {
    itertools: bool,
    n: u32,
    keep: bool,
    reps: u64,
}

fn build(p: &Params) -> Result<Box<dyn Workload>, ParamError> {
    let itertools = match p.text("variant") {
        "nested" => false,
        "itertools" => true,
        other => {
            return Err(p.range_error(
                "variant",
                format!("'{other}' is not one of nested, itertools"),
            ))
        }
    };
    Ok(Box::new(Combinations {
        itertools,
        n: p.u64_in("n", 2, 1 << 16)? as u32,
        keep: p.bool("keep"),
        reps: scaled(p, "reps", 1 << 32)?,
    }))
}

const ITEMS: u32 = 0;
const COMB: u32 = 1;
const POOL: u32 = 2;
const T: u32 = 3;
const X: u32 = 4;
const Y: u32 = 5;
const KEPT: u32 = 6;

/// `sys.getsizeof(itertools.combinations(x, 2))` on CPython 3.11.7, modelled as a 6-tuple.
pub const COMBINATIONS_SIZE: u32 = 88;

impl Workload for Combinations {
    fn header(&self) -> StreamHeader {
        StreamHeader::new(7)
    }

    fn generate(&self, rng: &mut ChaCha8Rng, out: &mut Emitter<'_>) -> Result<(), Stop> {
        out.alloc(ITEMS, Kind::List, 0)?;
        for _ in 0..self.n {
            out.alloc(X, Kind::Str, rng.random_range(3..=10))?;
            out.append(ITEMS, X)?;
        }
        out.clear(X)?;
        let n = self.n;
        for _ in 0..self.reps {
            if self.keep {
                out.alloc(KEPT, Kind::List, 0)?;
            }
            if self.itertools {
                out.alloc(COMB, Kind::Tuple, (COMBINATIONS_SIZE - 40) / 8)?;
                out.alloc(POOL, Kind::Tuple, n)?;
                for i in 0..n {
                    out.load(X, ITEMS, i)?;
                    out.store(POOL, i, X)?;
                }
                out.store(COMB, 0, POOL)?;
                out.clear(POOL)?;
                out.clear(X)?;
            }
            let mut first = true;
            for i in 0..n {
                for j in i + 1..n {
                    if self.itertools {
                        // combinations_next: result tuple re-used when only we hold it.
                        let reuse = !first && !self.keep;
                        out.load(POOL, COMB, 0)?;
                        if !reuse {
                            out.alloc(T, Kind::Tuple, 2)?;
                            out.store(COMB, 1, T)?;
                        } else {
                            out.load(T, COMB, 1)?;
                        }
                        out.load(X, POOL, i)?;
                        out.store(T, 0, X)?;
                        out.load(X, POOL, j)?;
                        out.store(T, 1, X)?;
                        out.clear(POOL)?;
                        first = false;
                    } else {
                        // (items[i], items[j]): both items are evaluated, then BUILD_TUPLE.
                        out.load(X, ITEMS, i)?;
                        out.load(Y, ITEMS, j)?;
                        out.alloc(T, Kind::Tuple, 2)?;
                        out.store(T, 0, X)?;
                        out.store(T, 1, Y)?;
                    }
                    // The consumer reads both items.
                    out.load(X, T, 0)?;
                    out.load(Y, T, 1)?;
                    if self.keep {
                        out.append(KEPT, T)?;
                    }
                    out.clear(T)?;
                    out.safe_point()?;
                }
            }
            out.clear(X)?;
            out.clear(Y)?;
            out.clear(COMB)?;
            out.clear(KEPT)?;
        }
        out.clear(ITEMS)?;
        Ok(())
    }
}
