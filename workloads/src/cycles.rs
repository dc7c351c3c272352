//! `cycles`: the guide's three reference-cycle shapes, built and dropped.
//!
//! * a list holding some strings, appended to itself (`my_arr.append(my_arr)`);
//! * an instance whose attribute is itself (`myObj.my_prop = myObj`);
//! * two dicts referring to each other (`my_dict1['dict2'] = my_dict2` and back).
//!
//! Each of `count` iterations picks a shape at random with the weights of `mix`, builds it, drops
//! every register that refers to it (`del`), and also builds and drops `acyclic` pieces of
//! acyclic garbage (a 1-tuple holding a float), so that a strategy is judged on both. Under pure
//! reference counting exactly the cyclic objects leak: every list, instance and dict, and the
//! strings held by the lists, while the tuples and floats are freed.
//!
//! The loop's back-edge is the only eval-breaker check, so the stream has one `SafePoint` per
//! iteration, after the cycle and the acyclic piece are dropped: a collection that 3.12 or 3.13
//! schedules during an iteration runs there, with that iteration's garbage already garbage.
//! Real CPython replaying the trace (`scripts/cpython_replay.py`) checks after every op and
//! collects before the cycle is dropped, so its collections differ by those objects (the number
//! of collections per generation is the same); see `docs/workloads.md`.

use gclab_core::kind::Kind;
use gclab_core::op::{GcOp, StreamHeader};
use gclab_core::params::{ParamError, ParamSpec, ParamType, Params};
use gclab_core::workload::{Emitter, Stop, Workload, WorkloadEntry, WorkloadInfo};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Catalogue entry.
pub const ENTRY: WorkloadEntry = WorkloadEntry {
    info: WorkloadInfo {
        name: "cycles",
        description: "the guide's reference cycles (self-appended list, self-referencing instance, two dicts), built and dropped",
        params: &[
            ParamSpec { name: "count", ty: ParamType::U64, default: "100000", help: "cycles to build and drop" },
            ParamSpec { name: "mix", ty: ParamType::Text, default: "1:1:1", help: "weights list:instance:dict-pair" },
            ParamSpec { name: "strings", ty: ParamType::U64, default: "3", help: "strings held by each self-appended list" },
            ParamSpec { name: "acyclic", ty: ParamType::U64, default: "1", help: "acyclic garbage pieces (tuple + float) per cycle" },
            ParamSpec { name: "collect", ty: ParamType::Bool, default: "false", help: "call gc.collect() at the end, as the guide does" },
        ],
    },
    build,
};

/// The `cycles` workload.
#[derive(Debug, Clone)]
pub struct Cycles {
    count: u64,
    weights: [u64; 3],
    strings: u32,
    acyclic: u64,
    collect: bool,
}

fn build(p: &Params) -> Result<Box<dyn Workload>, ParamError> {
    let count = p.u64_in("count", 1, 1 << 32)?;
    let mix = p.text("mix");
    let parts: Vec<&str> = mix.split(':').collect();
    let bad = || {
        p.range_error(
            "mix",
            format!(
                "'{mix}' is not three non-negative weights a:b:c with a positive sum, e.g. 1:1:1"
            ),
        )
    };
    if parts.len() != 3 {
        return Err(bad());
    }
    let mut weights = [0u64; 3];
    for (w, s) in weights.iter_mut().zip(parts) {
        *w = s.trim().parse().map_err(|_| bad())?;
    }
    if weights.iter().sum::<u64>() == 0 {
        return Err(bad());
    }
    Ok(Box::new(Cycles {
        count,
        weights,
        strings: p.u64_in("strings", 0, 1 << 20)? as u32,
        acyclic: p.u64_in("acyclic", 0, 1 << 20)?,
        collect: p.bool("collect"),
    }))
}

const A: u32 = 0;
const B: u32 = 1;
const T: u32 = 2;

impl Workload for Cycles {
    fn header(&self) -> StreamHeader {
        StreamHeader::new(3)
    }

    fn generate(&self, rng: &mut ChaCha8Rng, out: &mut Emitter<'_>) -> Result<(), Stop> {
        let total: u64 = self.weights.iter().sum();
        for _ in 0..self.count {
            let mut pick = rng.random_range(0..total);
            let mut shape = 0;
            while pick >= self.weights[shape] {
                pick -= self.weights[shape];
                shape += 1;
            }
            match shape {
                0 => {
                    // my_arr = ['one', 'two', 'three']; my_arr.append(my_arr); del my_arr
                    out.alloc(A, Kind::List, self.strings)?;
                    for _ in 0..self.strings {
                        let len = rng.random_range(3..8);
                        out.alloc(T, Kind::Str, len)?;
                        out.append(A, T)?;
                    }
                    out.clear(T)?;
                    out.append(A, A)?;
                    out.clear(A)?;
                }
                1 => {
                    // myObj = myClass(); myObj.my_prop = myObj; del myObj
                    out.alloc(A, Kind::Instance, 0)?;
                    out.store(A, 0, A)?;
                    out.clear(A)?;
                }
                _ => {
                    // my_dict1 = {}; my_dict2 = {}; cross-link; del my_dict1, my_dict2
                    out.alloc(A, Kind::Dict, 0)?;
                    out.alloc(B, Kind::Dict, 0)?;
                    out.store(A, 0, B)?;
                    out.store(B, 0, A)?;
                    out.clear(A)?;
                    out.clear(B)?;
                }
            }
            for _ in 0..self.acyclic {
                // (x,) for a new float x: the item first, then the tuple (BUILD_TUPLE).
                out.alloc(T, Kind::Float, 0)?;
                out.alloc(A, Kind::Tuple, 1)?;
                out.store(A, 0, T)?;
                out.clear(T)?;
                out.clear(A)?;
            }
            out.safe_point()?;
        }
        if self.collect {
            out.gc(GcOp::Collect { generation: 2 })?;
        }
        Ok(())
    }
}
