//! `churn`: dumpster's single-threaded benchmark (`dumpster_bench/src/main.rs`,
//! `single_threaded`), as an op stream.
//!
//! The Rust benchmark keeps a `Vec` of 50 garbage-collected nodes, each a
//! `Gc<RefCell<Vec<Gc<..>>>>`, then performs `n` operations drawn uniformly from
//!
//! 0. create a node and push it onto the root vector;
//! 1. if there are at least two roots, push a clone of a random root onto the edge vector of a
//!    random root (possibly itself);
//! 2. `swap_remove` a random root;
//! 3. pick a random root and, if its edge vector is not empty, `swap_remove` a random edge;
//!
//! (when the root vector is empty an iteration just creates a node, without drawing an op), and
//! finally drops the root vector.
//!
//! ## Model
//!
//! * A node is a Python `list` (its `Vec` of edges): adding an edge is `node.append(other)`, with
//!   CPython's over-allocation. The root vector is one more `list`, held in register 0, as the
//!   benchmark's `gcs` local is the only root of the Rust program. This is the Python program
//!
//!   ```text
//!   roots = [[] for _ in range(50)]
//!   for _ in range(n):            # each pass ends at a safe point (the loop's back-edge)
//!       ...                       # one of the four operations above
//!   del roots
//!   ```
//! * `swap_remove(i)` is `v[i] = v[-1]` followed by clearing the last slot. The op set has no
//!   `pop`, so the last slot is set to `None` and the list keeps its length; the workload tracks
//!   the logical length and the next push fills that `None` slot (`Store`) before it appends
//!   again. This is exactly Rust's `Vec`, whose capacity never shrinks either; real CPython's
//!   `pop` would shrink a list that falls below half its allocation.
//! * Every node enters the root vector once, when created, and is only ever reached through it,
//!   so the workload's state is the logical and physical length of each root's edge list, kept
//!   beside the root vector and swap-removed with it.
//!
//! Nodes die when their last reference goes; many die in cycles (a node pushed onto its own edge
//! list, or two roots pointing at each other), which pure reference counting leaks.

use gclab_core::kind::Kind;
use gclab_core::op::StreamHeader;
use gclab_core::params::{ParamError, ParamSpec, ParamType, Params};
use gclab_core::workload::{Emitter, Stop, Workload, WorkloadEntry, WorkloadInfo};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::util::{scaled, Lens, SIZE};

/// Catalogue entry.
pub const ENTRY: WorkloadEntry = WorkloadEntry {
    info: WorkloadInfo {
        name: "churn",
        description: "dumpster's benchmark: 50 roots, then seeded create-node / add-edge / drop-root / drop-edge operations, then drop everything",
        params: &[
            ParamSpec { name: "ops", ty: ParamType::U64, default: "1000000", help: "operations drawn (dumpster uses 1,000,000)" },
            ParamSpec { name: "roots", ty: ParamType::U64, default: "50", help: "nodes in the root vector at the start" },
            SIZE,
        ],
    },
    build,
};

/// The `churn` workload.
#[derive(Debug, Clone)]
pub struct Churn {
    ops: u64,
    roots: u64,
}

fn build(p: &Params) -> Result<Box<dyn Workload>, ParamError> {
    let ops = scaled(p, "ops", 1 << 36)?;
    let roots = p.u64_in("roots", 0, 1 << 24)?;
    Ok(Box::new(Churn { ops, roots }))
}

const ROOTS: u32 = 0;
const A: u32 = 1;
const B: u32 = 2;
const T: u32 = 3;

/// The root vector's shadow: per root, its edge list's lengths.
struct Roots {
    lens: Lens,
    nodes: Vec<Lens>,
}

impl Roots {
    fn create(&mut self, out: &mut Emitter<'_>) -> Result<(), Stop> {
        out.alloc(A, Kind::List, 0)?;
        self.lens.push(out, ROOTS, A)?;
        out.clear(A)?;
        self.nodes.push(Lens::default());
        Ok(())
    }
}

impl Workload for Churn {
    fn header(&self) -> StreamHeader {
        StreamHeader::new(4)
    }

    fn generate(&self, rng: &mut ChaCha8Rng, out: &mut Emitter<'_>) -> Result<(), Stop> {
        out.alloc(ROOTS, Kind::List, 0)?;
        let mut r = Roots {
            lens: Lens::default(),
            nodes: Vec::new(),
        };
        for _ in 0..self.roots {
            r.create(out)?;
        }
        for _ in 0..self.ops {
            let n = r.nodes.len();
            if n == 0 {
                r.create(out)?;
            } else {
                match rng.random_range(0u8..4) {
                    0 => r.create(out)?,
                    1 => {
                        if n > 1 {
                            let from = rng.random_range(0..n);
                            let to = rng.random_range(0..n);
                            out.load(B, ROOTS, to as u32)?;
                            out.load(A, ROOTS, from as u32)?;
                            r.nodes[from].push(out, A, B)?;
                            out.clear(A)?;
                            out.clear(B)?;
                        }
                    }
                    2 => {
                        let i = rng.random_range(0..n);
                        r.lens.swap_remove(out, ROOTS, i as u32, T)?;
                        r.nodes.swap_remove(i);
                    }
                    _ => {
                        let from = rng.random_range(0..n);
                        let node = &mut r.nodes[from];
                        if node.len > 0 {
                            let to = rng.random_range(0..node.len);
                            out.load(A, ROOTS, from as u32)?;
                            node.swap_remove(out, A, to, T)?;
                            out.clear(A)?;
                        }
                    }
                }
            }
            out.safe_point()?;
        }
        out.clear(ROOTS)?;
        Ok(())
    }
}
