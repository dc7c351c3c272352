//! `thresholds`: the guide's generation-0 count session as a stream.
//!
//! ```text
//! >>> gc.get_threshold()          (700, 10, 10)     -> event "gc.get_threshold"
//! >>> gc.get_count()              (628, 9, 0)       -> 628 live containers allocated first,
//!                                                      then event "gc.get_count"
//! >>> gc.collect()                0                 -> GcOp::Collect(2): nothing is garbage
//! >>> gc.get_count()              (18, 0, 0)        -> 18 more containers, event "gc.get_count"
//! >>> gc.set_threshold(800,20,20)                   -> GcOp::SetThreshold
//! ```
//!
//! The guide's 628 and 18 are what an interactive shell had allocated; here they are the `before`
//! and `after` parameters (containers kept alive in a list, as the shell's own objects are). The
//! session then continues with `rounds` rounds under the new thresholds, each allocating `batch`
//! small containers (dicts), of which a `cyclic` fraction are dropped as two-dict cycles, the rest
//! dropped acyclically (and every 50th kept for good), then reads the counts (event
//! `gc.get_count`): so generational strategies show their automatic collections and the counts
//! they report. A strategy that keeps counts can log them at each `gc.get_count` event; the
//! stream itself only asks.
//!
//! Each round's inner loop passes its back-edge once per container, the stream's `SafePoint`:
//! a collection 3.12 or 3.13 schedules at `a = {}` runs after the iteration has dropped `a` (and
//! its cycle partner). Real CPython replaying the trace checks after every op and collects right
//! after the allocation, before the drop; see `docs/workloads.md`.

use crate::util::{scaled, SIZE};
use gclab_core::kind::Kind;
use gclab_core::op::{GcOp, StreamHeader};
use gclab_core::params::{ParamError, ParamSpec, ParamType, Params};
use gclab_core::workload::{Emitter, Stop, Workload, WorkloadEntry, WorkloadInfo};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Catalogue entry.
pub const ENTRY: WorkloadEntry = WorkloadEntry {
    info: WorkloadInfo {
        name: "thresholds",
        description: "the guide's gc.get_count / gc.collect / gc.set_threshold session, then rounds of allocation under the new thresholds",
        params: &[
            ParamSpec { name: "before", ty: ParamType::U64, default: "628", help: "containers allocated before the first gc.get_count" },
            ParamSpec { name: "after", ty: ParamType::U64, default: "18", help: "containers allocated between gc.collect and the second gc.get_count" },
            ParamSpec { name: "threshold", ty: ParamType::Text, default: "800,20,20", help: "the gc.set_threshold arguments t0,t1,t2" },
            ParamSpec { name: "rounds", ty: ParamType::U64, default: "2000", help: "rounds after set_threshold" },
            ParamSpec { name: "batch", ty: ParamType::U64, default: "500", help: "containers allocated per round" },
            ParamSpec { name: "cyclic", ty: ParamType::F64, default: "0.2", help: "fraction of each round's containers dropped as cycles" },
            SIZE,
        ],
    },
    build,
};

/// The event names, in header order.
pub const NAMES: [&str; 2] = ["gc.get_threshold", "gc.get_count"];

/// The `thresholds` workload.
#[derive(Debug, Clone)]
pub struct Thresholds {
    before: u64,
    after: u64,
    t: [i32; 3],
    rounds: u64,
    batch: u64,
    cyclic: f64,
}

fn build(p: &Params) -> Result<Box<dyn Workload>, ParamError> {
    let text = p.text("threshold");
    let parts: Vec<&str> = text.split(',').collect();
    let bad = || {
        p.range_error(
            "threshold",
            format!("'{text}' is not three integers t0,t1,t2, e.g. 800,20,20"),
        )
    };
    if parts.len() != 3 {
        return Err(bad());
    }
    let mut t = [0i32; 3];
    for (x, s) in t.iter_mut().zip(parts) {
        *x = s.trim().parse().map_err(|_| bad())?;
    }
    let cyclic = p.f64("cyclic");
    if !(0.0..=1.0).contains(&cyclic) {
        return Err(p.range_error("cyclic", format!("{cyclic} is outside 0..=1")));
    }
    Ok(Box::new(Thresholds {
        before: p.u64_in("before", 0, 1 << 24)?,
        after: p.u64_in("after", 0, 1 << 24)?,
        t,
        rounds: scaled(p, "rounds", 1 << 32)?,
        batch: p.u64_in("batch", 1, 1 << 24)?,
        cyclic,
    }))
}

const KEEP: u32 = 0;
const A: u32 = 1;
const B: u32 = 2;

impl Workload for Thresholds {
    fn header(&self) -> StreamHeader {
        StreamHeader::new(3).names(NAMES)
    }

    fn generate(&self, rng: &mut ChaCha8Rng, out: &mut Emitter<'_>) -> Result<(), Stop> {
        out.event(0)?;
        out.alloc(KEEP, Kind::List, 0)?;
        let keep = |out: &mut Emitter<'_>, n: u64| -> Result<(), Stop> {
            for _ in 0..n {
                out.alloc(A, Kind::Dict, 0)?;
                out.append(KEEP, A)?;
            }
            out.clear(A)
        };
        // The shell's own containers: the list itself counts as one.
        keep(out, self.before.saturating_sub(1))?;
        out.event(1)?;
        out.gc(GcOp::Collect { generation: 2 })?;
        keep(out, self.after)?;
        out.event(1)?;
        out.gc(GcOp::SetThreshold {
            t0: self.t[0],
            t1: self.t[1],
            t2: self.t[2],
        })?;
        out.event(0)?;
        let mut made = 0u64;
        for _ in 0..self.rounds {
            for _ in 0..self.batch {
                made += 1;
                out.alloc(A, Kind::Dict, 0)?;
                if rng.random_bool(self.cyclic) {
                    out.alloc(B, Kind::Dict, 0)?;
                    out.store(A, 0, B)?;
                    out.store(B, 0, A)?;
                    out.clear(B)?;
                } else if made % 50 == 0 {
                    out.append(KEEP, A)?;
                }
                out.clear(A)?;
                out.safe_point()?;
            }
            out.event(1)?;
        }
        out.clear(KEEP)?;
        Ok(())
    }
}
