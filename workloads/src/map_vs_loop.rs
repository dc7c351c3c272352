//! `map-vs-loop`: the guide's "use map": a list of transformed strings built by `append` in a
//! loop versus `list(map(str.upper, words))`.
//!
//! The program first builds `words`, a long-lived list of `words` strings of seeded lengths
//! (3..=12 characters). Each of `reps` repetitions takes a seeded slice of `n_min..=n_max` words
//! and builds the list of their upper-cased copies; the new list is kept until the next
//! repetition replaces it.
//!
//! * `loop`: `out = []; for w in slice: out.append(w.upper())`: the list grows by CPython's
//!   over-allocation (capacity 0, 4, 8, 16, 24, 32, 40, 52, ...), each growth a reallocation.
//! * `map`: `list(map(str.upper, slice))`: a `map` object (48 bytes, modelled as a 1-tuple of
//!   the same size) is created and dropped, and the list is built by `list_extend`.
//!
//! **The guide's claim does not hold on CPython 3.11.** A `map` object has no `__length_hint__`
//! (`operator.length_hint(map(...), -1)` is -1), so `list(map(...))` is *not* pre-sized from the
//! input's length. `list_extend` guesses 8 items, pre-allocates 8 slots, appends with the usual
//! over-allocation past that, and trims at the end with `list_resize` (which only shrinks a list
//! using less than half its capacity). Measured with `sys.getsizeof(list(map(str, range(n))))` on
//! 3.11.7, for n = 0, 1, 2, 3, 5, 8, 9, 10, 17, 20, 100: 56, 88, 120, 120, 120, 120, 184, 184, 248,
//! 248, 920 bytes; the loop gives 56, 88, 88, 88, 120, 120, 184, 184, 248, 248, 920. So `map` uses
//! the same or *more* memory (2 to 4 items: 120 vs 88 bytes) and the very same strings;
//! `tracemalloc` over 1000 words measured a peak of 66,622 bytes for `map` against 66,518 for the
//! loop (`scripts/measure_guide_cases.py`).
//! The model reproduces those final sizes exactly: the map variant allocates the list with 8
//! pre-allocated slots (or, for 0 or 1 items, with the capacity the final trim leaves: 0 or 4),
//! then appends (a list with spare slots takes items without a resize). Not modelled: for 1
//! item CPython first allocates 8 slots and then trims to 4.

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
        name: "map-vs-loop",
        description: "the guide's map vs loop: upper-cased copies by append in a loop or list(map(...)) (not pre-sized on 3.11)",
        params: &[
            ParamSpec { name: "variant", ty: ParamType::Text, default: "loop", help: "loop | map" },
            ParamSpec { name: "words", ty: ParamType::U64, default: "1000", help: "strings in the long-lived input list" },
            ParamSpec { name: "n_min", ty: ParamType::U64, default: "1", help: "fewest words transformed per repetition" },
            ParamSpec { name: "n_max", ty: ParamType::U64, default: "40", help: "most words transformed per repetition (at most words)" },
            ParamSpec { name: "reps", ty: ParamType::U64, default: "100000", help: "repetitions" },
            SIZE,
        ],
    },
    build,
};

/// The `map-vs-loop` workload.
#[derive(Debug, Clone)]
pub struct MapVsLoop {
    map: bool,
    words: u32,
    n_min: u32,
    n_max: u32,
    reps: u64,
}

fn build(p: &Params) -> Result<Box<dyn Workload>, ParamError> {
    let map = match p.text("variant") {
        "loop" => false,
        "map" => true,
        other => return Err(p.range_error("variant", format!("'{other}' is not one of loop, map"))),
    };
    let words = p.u64_in("words", 1, 1 << 24)? as u32;
    let n_min = p.u64_in("n_min", 0, words as u64)? as u32;
    let n_max = p.u64_in("n_max", n_min as u64, words as u64)? as u32;
    Ok(Box::new(MapVsLoop {
        map,
        words,
        n_min,
        n_max,
        reps: scaled(p, "reps", 1 << 36)?,
    }))
}

const WORDS: u32 = 0;
const OUT: u32 = 1;
const W: u32 = 2;
const UP: u32 = 3;
const MAP: u32 = 4;

/// The initial capacity `list(map(...))` ends with for `n` items, before appends past it:
/// `list_extend` pre-allocates 8 slots, and its final trim shrinks 1 item to 4 slots, 0 to 0.
pub fn map_list_initial_capacity(n: u32) -> u32 {
    match n {
        0 => 0,
        1 => 4,
        _ => 8,
    }
}

impl Workload for MapVsLoop {
    fn header(&self) -> StreamHeader {
        StreamHeader::new(5)
    }

    fn generate(&self, rng: &mut ChaCha8Rng, out: &mut Emitter<'_>) -> Result<(), Stop> {
        let mut lens = Vec::with_capacity(self.words as usize);
        out.alloc(WORDS, Kind::List, 0)?;
        for _ in 0..self.words {
            let l = rng.random_range(3..=12u32);
            lens.push(l);
            out.alloc(W, Kind::Str, l)?;
            out.append(WORDS, W)?;
        }
        out.clear(W)?;
        for _ in 0..self.reps {
            let n = rng.random_range(self.n_min..=self.n_max);
            let first = rng.random_range(0..=self.words - n);
            if self.map {
                out.alloc(MAP, Kind::Tuple, 1)?;
                out.store(MAP, 0, WORDS)?;
                out.alloc(OUT, Kind::List, map_list_initial_capacity(n))?;
            } else {
                out.alloc(OUT, Kind::List, 0)?;
            }
            for j in first..first + n {
                out.load(W, WORDS, j)?;
                out.alloc(UP, Kind::Str, lens[j as usize])?;
                out.append(OUT, UP)?;
                out.clear(UP)?;
                out.safe_point()?;
            }
            out.clear(W)?;
            out.clear(MAP)?;
        }
        out.clear(OUT)?;
        out.clear(WORDS)?;
        Ok(())
    }
}
