//! `fidelity`: the traces `gclab fidelity` replays in real CPython to judge the `generational`
//! model collection by collection.
//!
//! Every case is written so that the model and a real interpreter running
//! `scripts/cpython_replay.py` see the same sequence of GC-relevant events:
//!
//! * a `SafePoint` follows every op, because a Python replay loop checks its eval breaker at
//!   every iteration (the `JUMP_BACKWARD` of the loop), which is where CPython 3.12+ runs a
//!   scheduled collection;
//! * the one exception is a tuple under construction: `Alloc` of a tuple is followed directly by
//!   the stores of all its items, with no safe point in between, because the replay can only
//!   build the (immutable) tuple once its items are known, and does so at the last store;
//! * an `Alloc` always targets an empty register (the case clears it first), so that the old
//!   value of the register is never alive at a collection in one and dead in the other;
//! * dict keys and instance attributes are added in slot order and stay few (at most 8), so
//!   instances keep CPython's shared-key inline values and never grow a `__dict__` object.
//!
//! Cases (`case`), each scaled by `size`:
//!
//! * `cycles`: the guide's three cycle shapes (self-appended list of strings, self-referencing
//!   instance, two dicts referring to each other) plus acyclic garbage (a 1-tuple holding a
//!   float), then `gc.collect()`;
//! * `append-lists`: `size` empty lists appended to one list (the 25% rule at work);
//! * `dict-cycles`: `size` two-dict cycles built then dropped, a quarter of them kept alive for a
//!   while in a holder list that is itself dropped every 1000 pairs;
//! * `mix`: a seeded mix of tuples (1-4 items, now and then 18-22), dicts, lists and instances
//!   with random drops, cross links, loads from containers and occasional `gc.collect(g)`;
//! * `freeze`: a live structure built, `gc.freeze()`, cycles, `gc.unfreeze()`, more cycles;
//! * `thresholds`: cycles while `gc.set_threshold` changes (including 0 and a negative value)
//!   and `gc.disable()`/`gc.enable()` toggle.

use gclab_core::kind::Kind;
use gclab_core::op::{GcOp, Op, Reg, StreamHeader};
use gclab_core::params::{ParamError, ParamSpec, ParamType, Params};
use gclab_core::workload::{Emitter, Stop, Workload, WorkloadEntry, WorkloadInfo};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// The cases, in the order `gclab fidelity` runs them.
pub const CASES: [&str; 6] = [
    "cycles",
    "append-lists",
    "dict-cycles",
    "mix",
    "freeze",
    "thresholds",
];

/// Catalogue entry.
pub const ENTRY: WorkloadEntry = WorkloadEntry {
    info: WorkloadInfo {
        name: "fidelity",
        description:
            "traces for judging the generational model against real CPython (gclab fidelity)",
        params: &[
            ParamSpec {
                name: "case",
                ty: ParamType::Text,
                default: "cycles",
                help: "cycles, append-lists, dict-cycles, mix, freeze or thresholds",
            },
            ParamSpec {
                name: "size",
                ty: ParamType::U64,
                default: "20000",
                help: "scale: iterations (cycles, pairs, lists or mix steps)",
            },
        ],
    },
    build,
};

/// The `fidelity` workload.
#[derive(Debug, Clone)]
pub struct Fidelity {
    case: usize,
    size: u64,
}

fn build(p: &Params) -> Result<Box<dyn Workload>, ParamError> {
    let case = p.text("case");
    let Some(case) = CASES.iter().position(|c| *c == case) else {
        return Err(p.range_error(
            "case",
            format!("unknown case '{case}'; valid cases: {}", CASES.join(", ")),
        ));
    };
    Ok(Box::new(Fidelity {
        case,
        size: p.u64_in("size", 1, 1 << 28)?,
    }))
}

const NREGS: u32 = 16;

/// Emits ops with a safe point after each (see the module docs).
struct F<'a, 'b> {
    out: &'a mut Emitter<'b>,
}

impl F<'_, '_> {
    fn op(&mut self, op: Op) -> Result<(), Stop> {
        self.out.op(op)?;
        self.out.safe_point()
    }
    fn clear(&mut self, r: Reg) -> Result<(), Stop> {
        self.op(Op::Clear { dst: r })
    }
    /// Clears `dst`, then allocates into it.
    fn alloc(&mut self, dst: Reg, kind: Kind, len: u32) -> Result<(), Stop> {
        self.clear(dst)?;
        self.op(Op::Alloc { dst, kind, len })
    }
    fn store(&mut self, obj: Reg, slot: u32, src: Reg) -> Result<(), Stop> {
        self.op(Op::Store { obj, slot, src })
    }
    fn append(&mut self, list: Reg, src: Reg) -> Result<(), Stop> {
        self.op(Op::Append { list, src })
    }
    fn gc(&mut self, g: GcOp) -> Result<(), Stop> {
        self.op(Op::Gc(g))
    }
    /// `dst = (items...)`: the tuple is allocated and filled with no safe point in between.
    fn tuple(&mut self, dst: Reg, items: &[Reg]) -> Result<(), Stop> {
        self.clear(dst)?;
        self.out.op(Op::Alloc {
            dst,
            kind: Kind::Tuple,
            len: items.len() as u32,
        })?;
        for (i, &r) in items.iter().enumerate() {
            self.out.op(Op::Store {
                obj: dst,
                slot: i as u32,
                src: r,
            })?;
        }
        self.out.safe_point()
    }
    /// One of the guide's cycles, chosen by `shape`, built in registers 0..=2 and dropped.
    fn guide_cycle(&mut self, rng: &mut ChaCha8Rng, shape: u32) -> Result<(), Stop> {
        match shape {
            0 => {
                self.alloc(0, Kind::List, 0)?;
                for _ in 0..3 {
                    let n = rng.random_range(3..8);
                    self.alloc(2, Kind::Str, n)?;
                    self.append(0, 2)?;
                }
                self.clear(2)?;
                self.append(0, 0)?;
                self.clear(0)
            }
            1 => {
                self.alloc(0, Kind::Instance, 0)?;
                self.store(0, 0, 0)?;
                self.clear(0)
            }
            _ => {
                self.alloc(0, Kind::Dict, 0)?;
                self.alloc(1, Kind::Dict, 0)?;
                self.store(0, 0, 1)?;
                self.store(1, 0, 0)?;
                self.clear(0)?;
                self.clear(1)
            }
        }
    }
    /// Acyclic garbage: a 1-tuple holding a float.
    fn acyclic(&mut self) -> Result<(), Stop> {
        self.alloc(2, Kind::Float, 0)?;
        self.tuple(3, &[2])?;
        self.clear(2)?;
        self.clear(3)
    }
}

/// A register's shadow: what the workload knows about the object it holds.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
struct Shadow {
    kind: Kind,
    len: u32,
}

impl Fidelity {
    fn cycles(&self, rng: &mut ChaCha8Rng, f: &mut F) -> Result<(), Stop> {
        for _ in 0..self.size {
            let shape = rng.random_range(0..3);
            f.guide_cycle(rng, shape)?;
            f.acyclic()?;
        }
        f.gc(GcOp::Collect { generation: 2 })
    }

    fn append_lists(&self, f: &mut F) -> Result<(), Stop> {
        f.alloc(0, Kind::List, 0)?;
        for _ in 0..self.size {
            f.alloc(1, Kind::List, 0)?;
            f.append(0, 1)?;
        }
        f.clear(1)?;
        f.clear(0)
    }

    fn dict_cycles(&self, rng: &mut ChaCha8Rng, f: &mut F) -> Result<(), Stop> {
        f.alloc(4, Kind::List, 0)?;
        for i in 0..self.size {
            f.alloc(0, Kind::Dict, 0)?;
            f.alloc(1, Kind::Dict, 0)?;
            f.store(0, 0, 1)?;
            f.store(1, 0, 0)?;
            if rng.random_range(0..4) == 0 {
                f.append(4, 0)?;
            }
            f.clear(0)?;
            f.clear(1)?;
            if i % 1000 == 999 {
                f.alloc(4, Kind::List, 0)?;
            }
        }
        f.clear(4)?;
        f.gc(GcOp::Collect { generation: 2 })
    }

    fn mix(&self, rng: &mut ChaCha8Rng, f: &mut F) -> Result<(), Stop> {
        const MAXK: u32 = 8;
        let mut sh: [Option<Shadow>; NREGS as usize] = [None; NREGS as usize];
        for _ in 0..self.size {
            let r = rng.random_range(0..NREGS);
            match rng.random_range(0..100) {
                0..=14 => {
                    // a tuple of 1..=4 items taken from other registers, or now and then of
                    // 18..=22 (around the end of the tuple free lists, sizes 1..=19)
                    let n = if rng.random_range(0..8) == 0 {
                        rng.random_range(18..=22u32)
                    } else {
                        rng.random_range(1..=4u32)
                    };
                    let items: Vec<Reg> = (0..n)
                        .map(|_| rng.random_range(0..NREGS))
                        .filter(|&x| x != r)
                        .collect();
                    if items.is_empty() {
                        continue;
                    }
                    f.tuple(r, &items)?;
                    sh[r as usize] = Some(Shadow {
                        kind: Kind::Tuple,
                        len: items.len() as u32,
                    });
                }
                15..=29 => {
                    let kind = [Kind::Dict, Kind::List, Kind::Instance][rng.random_range(0..3)];
                    f.alloc(r, kind, 0)?;
                    sh[r as usize] = Some(Shadow { kind, len: 0 });
                }
                30..=39 => {
                    let kind = [Kind::Str, Kind::Float, Kind::Int][rng.random_range(0..3)];
                    f.alloc(r, kind, rng.random_range(1..4))?;
                    sh[r as usize] = Some(Shadow { kind, len: 0 });
                }
                40..=69 => {
                    // a cross link: r.slot = s
                    let s = rng.random_range(0..NREGS);
                    let Some(mut x) = sh[r as usize] else {
                        continue;
                    };
                    match x.kind {
                        Kind::List => {
                            if x.len > 0 && rng.random_range(0..2) == 0 {
                                f.store(r, rng.random_range(0..x.len), s)?;
                            } else if x.len < 64 {
                                f.append(r, s)?;
                                x.len += 1;
                            }
                        }
                        Kind::Dict | Kind::Instance => {
                            let slot = rng.random_range(0..=x.len.min(MAXK - 1));
                            f.store(r, slot, s)?;
                            if slot == x.len {
                                x.len += 1;
                            }
                        }
                        _ => continue,
                    }
                    sh[r as usize] = Some(x);
                }
                70..=74 => {
                    // d = r[slot]: a load from a container (the loaded object's kind is not
                    // tracked, so d is only used as a value afterwards)
                    let Some(x) = sh[r as usize] else { continue };
                    if !x.kind.is_container() || x.len == 0 {
                        continue;
                    }
                    let d = rng.random_range(0..NREGS);
                    if d == r {
                        continue;
                    }
                    f.op(Op::Load {
                        dst: d,
                        obj: r,
                        slot: rng.random_range(0..x.len),
                    })?;
                    sh[d as usize] = None;
                }
                75..=98 => {
                    f.clear(r)?;
                    sh[r as usize] = None;
                }
                _ => {
                    if rng.random_range(0..20) == 0 {
                        f.gc(GcOp::Collect {
                            generation: rng.random_range(0..3),
                        })?;
                    }
                }
            }
        }
        for r in 0..NREGS {
            f.clear(r)?;
        }
        f.gc(GcOp::Collect { generation: 2 })
    }

    fn freeze(&self, rng: &mut ChaCha8Rng, f: &mut F) -> Result<(), Stop> {
        // A long-lived structure: a list of dicts holding lists.
        f.alloc(8, Kind::List, 0)?;
        for _ in 0..self.size / 4 {
            f.alloc(9, Kind::Dict, 0)?;
            f.alloc(10, Kind::List, 0)?;
            f.store(9, 0, 10)?;
            f.append(8, 9)?;
        }
        f.clear(9)?;
        f.clear(10)?;
        for _ in 0..self.size / 4 {
            let shape = rng.random_range(0..3);
            f.guide_cycle(rng, shape)?;
        }
        f.gc(GcOp::Freeze)?;
        for _ in 0..self.size / 2 {
            let shape = rng.random_range(0..3);
            f.guide_cycle(rng, shape)?;
            f.acyclic()?;
        }
        f.gc(GcOp::Collect { generation: 2 })?;
        f.gc(GcOp::Unfreeze)?;
        for _ in 0..self.size / 4 {
            let shape = rng.random_range(0..3);
            f.guide_cycle(rng, shape)?;
        }
        f.clear(8)?;
        f.gc(GcOp::Collect { generation: 2 })
    }

    fn thresholds(&self, rng: &mut ChaCha8Rng, f: &mut F) -> Result<(), Stop> {
        let phases: [(i32, i32, i32); 6] = [
            (100, 5, 5),
            (0, 10, 10),
            (2000, 3, 1),
            (-1, 10, 10),
            (50, 0, 2),
            (700, 10, 10),
        ];
        for (k, &(t0, t1, t2)) in phases.iter().enumerate() {
            f.gc(GcOp::SetThreshold { t0, t1, t2 })?;
            // the negative threshold collects at every counted allocation: keep it short
            let n = if t0 < 0 {
                (self.size / 40).max(1)
            } else {
                self.size / 6
            };
            for i in 0..n {
                if k == 2 && i == n / 3 {
                    f.gc(GcOp::Disable)?;
                }
                if k == 2 && i == 2 * n / 3 {
                    f.gc(GcOp::Enable)?;
                }
                let shape = rng.random_range(0..3);
                f.guide_cycle(rng, shape)?;
                f.acyclic()?;
            }
        }
        f.gc(GcOp::Collect { generation: 2 })
    }
}

impl Workload for Fidelity {
    fn header(&self) -> StreamHeader {
        StreamHeader::new(NREGS)
    }

    fn generate(&self, rng: &mut ChaCha8Rng, out: &mut Emitter<'_>) -> Result<(), Stop> {
        let mut f = F { out };
        match CASES[self.case] {
            "cycles" => self.cycles(rng, &mut f),
            "append-lists" => self.append_lists(&mut f),
            "dict-cycles" => self.dict_cycles(rng, &mut f),
            "mix" => self.mix(rng, &mut f),
            "freeze" => self.freeze(rng, &mut f),
            _ => self.thresholds(rng, &mut f),
        }
    }
}
