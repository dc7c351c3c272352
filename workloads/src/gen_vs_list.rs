//! `gen-vs-list`: the guide's "use generators, not lists": summing `n` produced items.
//!
//! Each of `reps` repetitions sums `i * i` for `n` consecutive integers `i` starting at `start`
//! (default 1000, beyond CPython's cache of small ints, so each `i` and each square is a real
//! `int` object: 28 bytes below 2^30, 32 below 2^60).
//!
//! * `list`: `sum([i * i for i in range(start, start + n)])`. The comprehension appends every
//!   square to a new list (with CPython's over-allocation), each `i` dies when the loop rebinds
//!   it; then `sum` reads every item, and the list and all squares die together.
//! * `gen`: `sum(i * i for i in range(start, start + n))`. A generator object (modelled as a
//!   container of 200 bytes, `sys.getsizeof` of a generator on CPython 3.11.7; its frame's local `i` is
//!   a register) yields one square at a time; `sum` drops each square before asking for the
//!   next.
//!
//! Both end by allocating `sum`'s result. Not modelled: the `range` object and its iterator, and
//! the comprehension's function object (3.11 compiles a comprehension to a nested function),
//! which are a constant handful of objects per repetition.
//!
//! Measured on CPython 3.11.7 with `tracemalloc` (`scripts/measure_guide_cases.py`), n = 10,000
//! squares of 1000..11000: peak traced memory 405,352 bytes for the list version against 472
//! bytes for the generator.

use crate::util::{int_digits, scaled, SIZE};
use gclab_core::kind::Kind;
use gclab_core::op::StreamHeader;
use gclab_core::params::{ParamError, ParamSpec, ParamType, Params};
use gclab_core::workload::{Emitter, Stop, Workload, WorkloadEntry, WorkloadInfo};
use rand_chacha::ChaCha8Rng;

/// Catalogue entry.
pub const ENTRY: WorkloadEntry = WorkloadEntry {
    info: WorkloadInfo {
        name: "gen-vs-list",
        description:
            "the guide's generators vs lists: sum of n squares via a whole list or a generator",
        params: &[
            ParamSpec {
                name: "variant",
                ty: ParamType::Text,
                default: "list",
                help: "list | gen",
            },
            ParamSpec {
                name: "n",
                ty: ParamType::U64,
                default: "10000",
                help: "items summed per repetition",
            },
            ParamSpec {
                name: "start",
                ty: ParamType::U64,
                default: "1000",
                help: "first i (ints above 256 are real objects)",
            },
            ParamSpec {
                name: "reps",
                ty: ParamType::U64,
                default: "150",
                help: "repetitions",
            },
            SIZE,
        ],
    },
    build,
};

/// The `gen-vs-list` workload.
#[derive(Debug, Clone)]
pub struct GenVsList {
    gen: bool,
    n: u64,
    start: u64,
    reps: u64,
}

fn build(p: &Params) -> Result<Box<dyn Workload>, ParamError> {
    let gen = match p.text("variant") {
        "list" => false,
        "gen" => true,
        other => return Err(p.range_error("variant", format!("'{other}' is not one of list, gen"))),
    };
    let n = p.u64_in("n", 1, 1 << 28)?;
    let start = p.u64_in("start", 0, 1 << 40)?;
    Ok(Box::new(GenVsList {
        gen,
        n,
        start,
        reps: scaled(p, "reps", 1 << 32)?,
    }))
}

const LIST: u32 = 0; // the list, or the generator object
const I: u32 = 1;
const SQ: u32 = 2;
const ITEM: u32 = 3;
const RESULT: u32 = 4;

/// `sys.getsizeof` of a generator object on CPython 3.11.7; modelled as a tuple of this size.
pub const GENERATOR_SIZE: u32 = 200;

impl Workload for GenVsList {
    fn header(&self) -> StreamHeader {
        StreamHeader::new(5)
    }

    fn generate(&self, _rng: &mut ChaCha8Rng, out: &mut Emitter<'_>) -> Result<(), Stop> {
        let gen_slots = (GENERATOR_SIZE - 40) / 8;
        let total_digits = {
            let last = (self.start + self.n - 1) as u128;
            let s = self.start as u128;
            let n = self.n as u128;
            // sum of squares of start..start+n is below n * last^2.
            int_digits(n * last * last + s)
        };
        for _ in 0..self.reps {
            if self.gen {
                out.alloc(LIST, Kind::Tuple, gen_slots)?;
            } else {
                out.alloc(LIST, Kind::List, 0)?;
            }
            for j in 0..self.n {
                let i = (self.start + j) as u128;
                out.alloc(I, Kind::Int, int_digits(i))?;
                out.alloc(SQ, Kind::Int, int_digits(i * i))?;
                if self.gen {
                    // The generator's frame holds i (a root, like a register); the yielded
                    // square goes to sum, which adds it and drops it.
                    out.clear(SQ)?;
                } else {
                    out.append(LIST, SQ)?;
                    out.clear(SQ)?;
                }
                out.safe_point()?;
            }
            out.clear(I)?;
            if !self.gen {
                // sum(list): read every item.
                for j in 0..self.n {
                    out.load(ITEM, LIST, j as u32)?;
                }
                out.clear(ITEM)?;
            }
            out.clear(LIST)?;
            out.alloc(RESULT, Kind::Int, total_digits)?;
            out.clear(RESULT)?;
        }
        Ok(())
    }
}
