//! `concat`: the guide's string concatenation, `a + b + c + d` against one formatting call.
//!
//! Each of `reps` repetitions allocates `k` pieces (`str`s of seeded lengths in
//! `len_min..=len_max`, held in registers like locals), concatenates them with the chosen
//! `variant`, keeps the result until the next repetition replaces it, and drops the pieces.
//!
//! * `plus`: `a + b + c + d`. CPython 3.11 evaluates the chain left to right, and every `+` of two
//!   `str`s creates a new string (`PyUnicode_Concat`; the in-place resize trick only applies to
//!   `s = s + x` on a local, not to a temporary). The previous intermediate dies as soon as the
//!   next `+` has consumed it. For k pieces of length L this allocates intermediates of lengths
//!   2L, 3L, ..., kL: with k = 4, L = 5, 10 + 15 + 20 = 45 characters, where one join allocates 20.
//! * `format`: `"{}{}{}{}".format(a, b, c, d)`: the call packs its arguments in a k-tuple, then
//!   creates the one result string; the tuple dies when the call returns.
//! * `join`: `"".join((a, b, c, d))`: the same objects (a k-tuple, then the result).
//!
//! Measured on CPython 3.11.7 (`scripts/measure_guide_cases.py`: `tracemalloc`, four
//! 5-character pieces): each variant's result is a 69-byte `str` (`sys.getsizeof`, 49 + 20);
//! the peak traced memory above the start was 133 bytes for `+` (the 15-character intermediate,
//! 64 bytes, alive while the 20-character result is built), 69 for `join` and `%`, and 157 for
//! `format` (its `_PyUnicodeWriter` over-allocates a buffer). `tracemalloc` does not see the argument tuple because CPython takes 4-tuples from its
//! tuple free list; the model counts it, since it is a live object while the call runs. Beyond
//! the pieces and the result, the `+` chain's peak holds its second-to-last intermediate,
//! (k-1)L + 49 bytes, where the join holds its argument tuple, 40 + 8k bytes: with 5-character
//! pieces the chain peaks *lower* than the join at every k (349 against 357 bytes at k = 4, 1,117
//! against 1,161 at k = 16) although it allocates far more (408 against 357; 2,274 against
//! 1,161); with pieces longer than 8 characters it peaks higher.

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
        name: "concat",
        description: "the guide's a + b + c + d (intermediate strings) against format/join (one result string)",
        params: &[
            ParamSpec { name: "variant", ty: ParamType::Text, default: "plus", help: "plus | format | join" },
            ParamSpec { name: "k", ty: ParamType::U64, default: "4", help: "pieces per concatenation (2..=64)" },
            ParamSpec { name: "len_min", ty: ParamType::U64, default: "1", help: "shortest piece, characters" },
            ParamSpec { name: "len_max", ty: ParamType::U64, default: "16", help: "longest piece, characters" },
            ParamSpec { name: "reps", ty: ParamType::U64, default: "300000", help: "concatenations" },
            SIZE,
        ],
    },
    build,
};

/// How the pieces are joined.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Variant {
    /// A `+` chain.
    Plus,
    /// `str.format` with one argument per piece.
    Format,
    /// `"".join` of a tuple of the pieces.
    Join,
}

/// The `concat` workload.
#[derive(Debug, Clone)]
pub struct Concat {
    variant: Variant,
    k: u32,
    len_min: u32,
    len_max: u32,
    reps: u64,
}

fn build(p: &Params) -> Result<Box<dyn Workload>, ParamError> {
    let variant = match p.text("variant") {
        "plus" => Variant::Plus,
        "format" => Variant::Format,
        "join" => Variant::Join,
        other => {
            return Err(p.range_error(
                "variant",
                format!("'{other}' is not one of plus, format, join"),
            ))
        }
    };
    let k = p.u64_in("k", 2, 64)? as u32;
    let len_min = p.u64_in("len_min", 0, 1 << 20)? as u32;
    let len_max = p.u64_in("len_max", 0, 1 << 20)? as u32;
    if len_max < len_min {
        return Err(p.range_error(
            "len_max",
            format!("len_max={len_max} is below len_min={len_min}"),
        ));
    }
    Ok(Box::new(Concat {
        variant,
        k,
        len_min,
        len_max,
        reps: scaled(p, "reps", 1 << 36)?,
    }))
}

// Registers: 0 = result, 1 = intermediate, 2 = argument tuple, 3.. = pieces.
const RES: u32 = 0;
const MID: u32 = 1;
const ARGS: u32 = 2;
const PIECE0: u32 = 3;

impl Workload for Concat {
    fn header(&self) -> StreamHeader {
        StreamHeader::new(PIECE0 + self.k)
    }

    fn generate(&self, rng: &mut ChaCha8Rng, out: &mut Emitter<'_>) -> Result<(), Stop> {
        let mut lens = vec![0u32; self.k as usize];
        for _ in 0..self.reps {
            for (i, l) in lens.iter_mut().enumerate() {
                *l = rng.random_range(self.len_min..=self.len_max);
                out.alloc(PIECE0 + i as u32, Kind::Str, *l)?;
            }
            let total: u32 = lens.iter().sum();
            match self.variant {
                Variant::Plus => {
                    // t = a + b; t = t + c; ...: each intermediate is allocated into MID, and
                    // the Alloc drops the previous intermediate after the new one exists, as
                    // CPython decrefs the left operand after PyUnicode_Concat returned. The last
                    // `+` produces the result.
                    let mut acc = lens[0];
                    for (i, &l) in lens.iter().enumerate().skip(1) {
                        acc += l;
                        if i + 1 < lens.len() {
                            out.alloc(MID, Kind::Str, acc)?;
                        } else {
                            out.alloc(RES, Kind::Str, acc)?;
                            out.clear(MID)?;
                        }
                    }
                }
                Variant::Format | Variant::Join => {
                    out.alloc(ARGS, Kind::Tuple, self.k)?;
                    for i in 0..self.k {
                        out.store(ARGS, i, PIECE0 + i)?;
                    }
                    out.alloc(RES, Kind::Str, total)?;
                    out.clear(ARGS)?;
                }
            }
            for i in 0..self.k {
                out.clear(PIECE0 + i)?;
            }
            out.safe_point()?;
        }
        out.clear(RES)?;
        Ok(())
    }
}
