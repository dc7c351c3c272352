//! `gc_traversal`: pyperformance's `bm_gc_traversal`.
//!
//! ```text
//! def create_recursive_containers(n_levels):
//!     current_list = []
//!     for n in range(n_levels):
//!         new_list = [None] * n
//!         for index in range(n):
//!             new_list[index] = current_list
//!         current_list = new_list
//!     return current_list
//! all_cycles = create_recursive_containers(N_LEVELS)
//! for _ in range(loops):
//!     gc.collect()                      # timed; asserts 0 collected
//! ```
//!
//! The list at level n holds n references to the level n - 1 list; everything stays alive, so a
//! full collection traverses about N_LEVELS^2 / 2 edges and frees nothing. pyperformance uses
//! N_LEVELS = 1000 (1,000 lists, 499,500 edges). `[None] * n` is modelled as a list allocated with
//! n slots and filled by appends (a pre-sized list takes them without resizing; the value
//! appended is the level below, which `[None] * n` followed by the stores also ends with).
//! Under pure reference counting each lower-level list dies only when the list above it dies,
//! and every list is kept: nothing is garbage until the final `del`. `size` multiplies the number
//! of levels by sqrt(size), so edges (and collection work) scale by `size`.

use crate::util::{check_budget, MAX_BYTES, SIZE};
use gclab_core::kind::Kind;
use gclab_core::op::{GcOp, StreamHeader};
use gclab_core::params::{ParamError, ParamSpec, ParamType, Params};
use gclab_core::workload::{Emitter, Stop, Workload, WorkloadEntry, WorkloadInfo};
use rand_chacha::ChaCha8Rng;

/// Catalogue entry.
pub const ENTRY: WorkloadEntry = WorkloadEntry {
    info: WorkloadInfo {
        name: "gc_traversal",
        description: "pyperformance bm_gc_traversal: nested lists (level n holds n refs to level n-1), all alive, gc.collect()",
        params: &[
            ParamSpec { name: "levels", ty: ParamType::U64, default: "1000", help: "nesting levels (pyperformance N_LEVELS)" },
            ParamSpec { name: "loops", ty: ParamType::U64, default: "100", help: "gc.collect() calls on the live structure" },
            SIZE,
            MAX_BYTES,
        ],
    },
    build,
};

/// The workload.
#[derive(Debug, Clone)]
pub struct GcTraversal {
    levels: u64,
    loops: u64,
}

fn build(p: &Params) -> Result<Box<dyn Workload>, ParamError> {
    let levels = p.u64_in("levels", 1, 1 << 20)?;
    let size = p.u64_in("size", 1, 1 << 20)?;
    let levels = ((levels as f64) * (size as f64).sqrt()).round() as u64;
    // n slots of 8 bytes per level n, plus the 56-byte headers.
    let need = 4 * levels * levels.saturating_sub(1) + 56 * levels;
    check_budget(p, &format!("gc_traversal with {levels} levels"), need)?;
    Ok(Box::new(GcTraversal {
        levels,
        loops: p.u64_in("loops", 1, 1 << 32)?,
    }))
}

const CUR: u32 = 0;
const NEW: u32 = 1;

impl Workload for GcTraversal {
    fn header(&self) -> StreamHeader {
        StreamHeader::new(2)
    }

    fn generate(&self, _rng: &mut ChaCha8Rng, out: &mut Emitter<'_>) -> Result<(), Stop> {
        out.alloc(CUR, Kind::List, 0)?;
        for n in 0..self.levels as u32 {
            out.alloc(NEW, Kind::List, n)?;
            for _ in 0..n {
                out.append(NEW, CUR)?;
            }
            out.copy(CUR, NEW)?;
            out.safe_point()?;
        }
        out.clear(NEW)?;
        for _ in 0..self.loops {
            out.gc(GcOp::Collect { generation: 2 })?;
        }
        out.clear(CUR)?;
        Ok(())
    }
}
