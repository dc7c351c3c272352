//! `gcbench`: Hans Boehm's GCBench (after John Ellis and Pete Kovac), as a Python program.
//!
//! ```text
//! class Node: left, right (i and j are small ints, shared, not modelled)
//! def populate(d, node):                   # top-down
//!     if d <= 0: return
//!     node.left = Node(); node.right = Node(); populate(d-1, node.left); populate(d-1, node.right)
//! def make_tree(d):                        # bottom-up
//!     return Node() if d <= 0 else Node(make_tree(d-1), make_tree(d-1))
//! tree_size(d) = 2^(d+1) - 1;  num_iters(d) = 2 * tree_size(stretch) // tree_size(d)
//! make_tree(stretch)                       # stretch the heap, dropped at once
//! long_lived = Node(); populate(long_lived_depth, long_lived)
//! array = [0.0] * array_size; array[i] = 1.0 / i for i in 1 .. array_size / 2
//! for d in range(min_depth, max_depth + 1, 2):
//!     num_iters(d) times: t = Node(); populate(d, t); del t
//!     num_iters(d) times: t = make_tree(d); del t
//! long_lived and array stay alive to the end
//! ```
//!
//! Nodes are instances (56 bytes) with attributes `left` (slot 0) and `right` (slot 1); the array
//! is a list of floats (a shared `0.0`, then a new float per written element). The original's
//! constants are stretch 18, long-lived 16, array 500,000, depths 4..=16; the defaults here are
//! scaled down to run in about a second (14, 12, 50,000, 4..=12); `size` multiplies the
//! iteration counts.
//!
//! ## Safe points
//!
//! CPython 3.12+ runs a scheduled collection only at an eval-breaker check (a call's `RESUME`, a
//! loop's back-edge), so the stream has a `SafePoint` where the program passes one: at the entry
//! of every `make_tree` and `populate` call, right after each `Node` instance is allocated (the
//! call of `Node.__init__`, before it sets `left` and `right`), at every iteration of the array
//! loop and of the two loops over trees. Every instance is thus followed by a safe point before
//! anything else is allocated, which is also where real CPython replaying the trace
//! (`scripts/cpython_replay.py`, whose loop checks after every op) collects: the 3.12 and 3.13
//! models match it collection by collection (`tests/workload_fidelity.rs`).

use crate::util::{check_budget, MAX_BYTES, SIZE};
use gclab_core::kind::Kind;
use gclab_core::op::StreamHeader;
use gclab_core::params::{ParamError, ParamSpec, ParamType, Params};
use gclab_core::workload::{Emitter, Stop, Workload, WorkloadEntry, WorkloadInfo};
use rand_chacha::ChaCha8Rng;

/// Catalogue entry.
pub const ENTRY: WorkloadEntry = WorkloadEntry {
    info: WorkloadInfo {
        name: "gcbench",
        description: "Boehm's GCBench: long-lived tree and float array, top-down and bottom-up trees of increasing depth",
        params: &[
            ParamSpec { name: "stretch_depth", ty: ParamType::U64, default: "14", help: "stretch tree depth (original 18)" },
            ParamSpec { name: "long_lived_depth", ty: ParamType::U64, default: "12", help: "long-lived tree depth (original 16)" },
            ParamSpec { name: "array_size", ty: ParamType::U64, default: "50000", help: "long-lived float array length (original 500,000)" },
            ParamSpec { name: "min_depth", ty: ParamType::U64, default: "4", help: "smallest temporary tree depth (original 4)" },
            ParamSpec { name: "max_depth", ty: ParamType::U64, default: "12", help: "largest temporary tree depth (original 16)" },
            SIZE,
            MAX_BYTES,
        ],
    },
    build,
};

/// The workload.
#[derive(Debug, Clone)]
pub struct GcBench {
    stretch: u32,
    long_lived: u32,
    array: u32,
    min_depth: u32,
    max_depth: u32,
    size: u64,
}

fn tree_size(d: u32) -> u64 {
    (1u64 << (d + 1)) - 1
}

fn build(p: &Params) -> Result<Box<dyn Workload>, ParamError> {
    let stretch = p.u64_in("stretch_depth", 0, 40)? as u32;
    let long_lived = p.u64_in("long_lived_depth", 0, 40)? as u32;
    let array = p.u64_in("array_size", 0, 1 << 31)? as u32;
    let min_depth = p.u64_in("min_depth", 0, 40)? as u32;
    let max_depth = p.u64_in("max_depth", min_depth as u64, stretch as u64)? as u32;
    let size = p.u64_in("size", 1, 1 << 20)?;
    let need = tree_size(stretch).max(tree_size(long_lived) + tree_size(max_depth)) * 56
        + 56
        + 8 * array as u64;
    check_budget(p, "gcbench's stretch or long-lived tree", need)?;
    Ok(Box::new(GcBench {
        stretch,
        long_lived,
        array,
        min_depth,
        max_depth,
        size,
    }))
}

const LONG: u32 = 0;
const ARRAY: u32 = 1;
const TMP: u32 = 2;
const F: u32 = 3;
const NONE: u32 = 4;
fn reg_a(d: u32) -> u32 {
    5 + 2 * d
}
fn reg_b(d: u32) -> u32 {
    6 + 2 * d
}

/// `Node()`: the instance, then the call of `Node.__init__` (its `RESUME` is an eval-breaker
/// check: the safe point), which sets the attributes.
fn new_node(out: &mut Emitter<'_>, dst: u32) -> Result<(), Stop> {
    out.alloc(dst, Kind::Instance, 0)?;
    out.safe_point()?;
    out.store(dst, 0, NONE)?;
    out.store(dst, 1, NONE)
}

/// populate(d, node in register `node`); the call's `RESUME` is a safe point.
fn populate(out: &mut Emitter<'_>, d: u32, node: u32) -> Result<(), Stop> {
    out.safe_point()?;
    if d == 0 {
        return Ok(());
    }
    let (a, b) = (reg_a(d), reg_b(d));
    new_node(out, a)?;
    out.store(node, 0, a)?;
    new_node(out, b)?;
    out.store(node, 1, b)?;
    populate(out, d - 1, a)?;
    populate(out, d - 1, b)?;
    out.clear(a)?;
    out.clear(b)
}

/// make_tree(d) into register `dst`; the call's `RESUME` is a safe point, and so is
/// `Node.__init__`'s after the instance is allocated.
fn make_tree(out: &mut Emitter<'_>, d: u32, dst: u32) -> Result<(), Stop> {
    out.safe_point()?;
    if d == 0 {
        return new_node(out, dst);
    }
    let (a, b) = (reg_a(d), reg_b(d));
    make_tree(out, d - 1, a)?;
    make_tree(out, d - 1, b)?;
    out.alloc(dst, Kind::Instance, 0)?;
    out.safe_point()?;
    out.store(dst, 0, a)?;
    out.store(dst, 1, b)?;
    out.clear(a)?;
    out.clear(b)
}

impl Workload for GcBench {
    fn header(&self) -> StreamHeader {
        StreamHeader::new(7 + 2 * (self.stretch.max(self.long_lived) + 1))
    }

    fn generate(&self, _rng: &mut ChaCha8Rng, out: &mut Emitter<'_>) -> Result<(), Stop> {
        make_tree(out, self.stretch, TMP)?;
        out.clear(TMP)?;
        new_node(out, LONG)?;
        populate(out, self.long_lived, LONG)?;
        out.alloc(F, Kind::Float, 0)?;
        out.alloc(ARRAY, Kind::List, self.array)?;
        for _ in 0..self.array {
            out.append(ARRAY, F)?;
        }
        for i in 1..self.array / 2 {
            out.alloc(F, Kind::Float, 0)?;
            out.store(ARRAY, i, F)?;
            // The loop's back-edge (`JUMP_BACKWARD`).
            out.safe_point()?;
        }
        out.clear(F)?;
        let mut d = self.min_depth;
        while d <= self.max_depth {
            let iters = 2 * tree_size(self.stretch) / tree_size(d) * self.size;
            for _ in 0..iters {
                new_node(out, TMP)?;
                populate(out, d, TMP)?;
                out.clear(TMP)?;
                out.safe_point()?;
            }
            for _ in 0..iters {
                make_tree(out, d, TMP)?;
                out.clear(TMP)?;
                out.safe_point()?;
            }
            d += 2;
        }
        out.clear(ARRAY)?;
        out.clear(LONG)?;
        Ok(())
    }
}
