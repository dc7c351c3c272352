//! `create_gc_cycles`: pyperformance's `bm_gc_collect` (reported as `create_gc_cycles`).
//!
//! ```text
//! class Node:  # next, prev
//! def create_cycle(node, n_links):     # n_links new nodes linked after node, then closed
//!     current = node
//!     for i in range(n_links):
//!         next_node = Node(); current.next = next_node; next_node.prev = current
//!         current = next_node
//!     current.next = node; node.prev = current
//! for _ in range(loops):
//!     gc.collect()
//!     all_cycles = [ring head for each of CYCLES rings of LINKS + 1 nodes]
//!     del all_cycles
//!     collected = gc.collect()         # the timed part; asserts >= CYCLES * (LINKS + 1)
//! ```
//!
//! Nodes are instances (56 bytes) with attributes `next` (slot 0) and `prev` (slot 1), both
//! first set to `None` in `__init__`. The list `all_cycles` holds the ring heads. pyperformance
//! uses CYCLES = 100, LINKS = 20 (2,100 nodes per loop); `loops` repeats it.

use crate::util::{scaled, SIZE};
use gclab_core::kind::Kind;
use gclab_core::op::{GcOp, StreamHeader};
use gclab_core::params::{ParamError, ParamSpec, ParamType, Params};
use gclab_core::workload::{Emitter, Stop, Workload, WorkloadEntry, WorkloadInfo};
use rand_chacha::ChaCha8Rng;

/// Catalogue entry.
pub const ENTRY: WorkloadEntry = WorkloadEntry {
    info: WorkloadInfo {
        name: "create_gc_cycles",
        description: "pyperformance bm_gc_collect: rings of 21 linked Node objects, dropped, then gc.collect()",
        params: &[
            ParamSpec { name: "cycles", ty: ParamType::U64, default: "100", help: "rings per loop (pyperformance CYCLES)" },
            ParamSpec { name: "links", ty: ParamType::U64, default: "20", help: "nodes added to each ring's head (LINKS)" },
            ParamSpec { name: "loops", ty: ParamType::U64, default: "300", help: "build, drop and collect this many times" },
            SIZE,
        ],
    },
    build,
};

/// The workload.
#[derive(Debug, Clone)]
pub struct GcCycles {
    cycles: u64,
    links: u64,
    loops: u64,
}

fn build(p: &Params) -> Result<Box<dyn Workload>, ParamError> {
    Ok(Box::new(GcCycles {
        cycles: p.u64_in("cycles", 1, 1 << 24)?,
        links: p.u64_in("links", 0, 1 << 24)?,
        loops: scaled(p, "loops", 1 << 32)?,
    }))
}

const ALL: u32 = 0;
const HEAD: u32 = 1;
const CUR: u32 = 2;
const NEXT: u32 = 3;
const NONE: u32 = 4;

fn node(out: &mut Emitter<'_>, dst: u32) -> Result<(), Stop> {
    out.alloc(dst, Kind::Instance, 0)?;
    out.store(dst, 0, NONE)?;
    out.store(dst, 1, NONE)
}

fn link_next(out: &mut Emitter<'_>, a: u32, b: u32) -> Result<(), Stop> {
    out.store(a, 0, b)?;
    out.store(b, 1, a)
}

impl Workload for GcCycles {
    fn header(&self) -> StreamHeader {
        StreamHeader::new(5)
    }

    fn generate(&self, _rng: &mut ChaCha8Rng, out: &mut Emitter<'_>) -> Result<(), Stop> {
        for _ in 0..self.loops {
            out.gc(GcOp::Collect { generation: 2 })?;
            out.alloc(ALL, Kind::List, 0)?;
            for _ in 0..self.cycles {
                node(out, HEAD)?;
                out.append(ALL, HEAD)?;
                if self.links > 0 {
                    out.copy(CUR, HEAD)?;
                    for _ in 0..self.links {
                        node(out, NEXT)?;
                        link_next(out, CUR, NEXT)?;
                        out.copy(CUR, NEXT)?;
                        out.safe_point()?;
                    }
                    link_next(out, CUR, HEAD)?;
                    out.clear(CUR)?;
                    out.clear(NEXT)?;
                }
            }
            out.clear(HEAD)?;
            out.clear(ALL)?;
            out.gc(GcOp::Collect { generation: 2 })?;
        }
        Ok(())
    }
}
