//! `binary-trees`: the Computer Language Benchmarks Game's binary-trees, Python version.
//!
//! ```text
//! def make_tree(d): return (make_tree(d-1), make_tree(d-1)) if d > 0 else (None, None)
//! def check_tree(node): l, r = node; return 1 if l is None else 1 + check_tree(l) + check_tree(r)
//! min_depth = 4; max_depth = max(min_depth + 2, n); stretch = max_depth + 1
//! check_tree(make_tree(stretch))                       # the stretch tree, dropped at once
//! long_lived = make_tree(max_depth)
//! for d in range(min_depth, stretch, 2):
//!     iterations = 2 ** (max_depth - d + min_depth)
//!     check = sum(check_tree(make_tree(d)) for _ in range(iterations))
//! check_tree(long_lived)
//! ```
//!
//! Nodes are 2-tuples (56 bytes), leaves `(None, None)`, built bottom-up as CPython evaluates
//! them: left subtree, right subtree, then the tuple (`BUILD_TUPLE`). `check_tree` unpacks every
//! node (two loads). A tree of depth d has 2^(d+1) - 1 tuples and its check is the same number;
//! the stream's name table carries the program's output lines (for example
//! `stretch tree of depth 13\t check: 16383`) and emits each as an event when it would print.
//!
//! `depth` is the benchmarks game's `n` (it plays 21); `size` adds log2(size) to it, so that
//! `size=100` does about a hundredfold work (depth + 6, times (levels + 3) / levels).
//!
//! ## Safe points
//!
//! CPython 3.12+ collects only at eval-breaker checks, so the stream has a `SafePoint` at the
//! entry of every `make_tree` and `check_tree` call (their `RESUME`) and at every iteration of
//! the loop over trees. Returning is not a check: the tuples built on the way back up (a right
//! subtree's root, then its parent's, ...) have no safe point between them, as in CPython. Real
//! CPython replaying the trace checks after every op, so it may collect a few tuples earlier;
//! the tree is freed right after its check, which brings the young count back down, and the
//! 3.12 and 3.13 models match the replay collection by collection at the default parameters and
//! in `tests/workload_fidelity.rs`.

use crate::util::{check_budget, MAX_BYTES, SIZE};
use gclab_core::kind::Kind;
use gclab_core::op::StreamHeader;
use gclab_core::params::{ParamError, ParamSpec, ParamType, Params};
use gclab_core::workload::{Emitter, Stop, Workload, WorkloadEntry, WorkloadInfo};
use rand_chacha::ChaCha8Rng;

/// Catalogue entry.
pub const ENTRY: WorkloadEntry = WorkloadEntry {
    info: WorkloadInfo {
        name: "binary-trees",
        description: "the benchmarks game's binary-trees: stretch tree, long-lived tree, many short-lived trees of 2-tuples",
        params: &[
            ParamSpec { name: "depth", ty: ParamType::U64, default: "13", help: "max_depth (the game's n; at least 6)" },
            SIZE,
            MAX_BYTES,
        ],
    },
    build,
};

const MIN_DEPTH: u32 = 4;

/// The `binary-trees` workload.
#[derive(Debug, Clone)]
pub struct BinaryTrees {
    max_depth: u32,
}

/// Tuples in a tree of depth `d`.
pub fn tree_nodes(d: u32) -> u64 {
    (1u64 << (d + 1)) - 1
}

fn build(p: &Params) -> Result<Box<dyn Workload>, ParamError> {
    let depth = p.u64_in("depth", 1, 40)? as u32;
    let size = p.u64_in("size", 1, 1 << 20)?;
    let max_depth = (depth + size.ilog2()).max(MIN_DEPTH + 2);
    if max_depth > 40 {
        return Err(p.range_error(
            "depth",
            format!("depth + log2(size) = {max_depth} exceeds 40"),
        ));
    }
    // Live at once at least: the long-lived tree and the stretch tree's successor... the stretch
    // tree alone is built first; the long-lived tree stays while short-lived trees are built.
    let need = (tree_nodes(max_depth + 1)).max(tree_nodes(max_depth) * 2) * 56;
    check_budget(p, &format!("binary-trees at depth {max_depth}"), need)?;
    Ok(Box::new(BinaryTrees { max_depth }))
}

impl BinaryTrees {
    fn lines(&self) -> Vec<String> {
        let m = self.max_depth;
        let mut v = vec![format!(
            "stretch tree of depth {}\t check: {}",
            m + 1,
            tree_nodes(m + 1)
        )];
        let mut d = MIN_DEPTH;
        while d <= m {
            let it = 1u64 << (m - d + MIN_DEPTH);
            v.push(format!(
                "{it}\t trees of depth {d}\t check: {}",
                it * tree_nodes(d)
            ));
            d += 2;
        }
        v.push(format!(
            "long lived tree of depth {m}\t check: {}",
            tree_nodes(m)
        ));
        v
    }
}

// Registers: 0 = result of the current make_tree, 1 = long-lived tree, then per level d
// (1..=depth+1): left child, right child, and two for check_tree's unpacking.
const TOP: u32 = 0;
const LONG: u32 = 1;
fn left(d: u32) -> u32 {
    2 + 4 * d
}
fn right(d: u32) -> u32 {
    3 + 4 * d
}
fn cl(d: u32) -> u32 {
    4 + 4 * d
}
fn cr(d: u32) -> u32 {
    5 + 4 * d
}

/// make_tree(d) into register `dst`. The call's `RESUME` is a safe point; returning is not, so
/// the tuples built on the way back up (`BUILD_TUPLE` after the right subtree returns) have no
/// safe point between them.
fn make(out: &mut Emitter<'_>, d: u32, dst: u32) -> Result<(), Stop> {
    out.safe_point()?;
    if d == 0 {
        return out.alloc(dst, Kind::Tuple, 2);
    }
    make(out, d - 1, left(d))?;
    make(out, d - 1, right(d))?;
    out.alloc(dst, Kind::Tuple, 2)?;
    out.store(dst, 0, left(d))?;
    out.store(dst, 1, right(d))?;
    out.clear(left(d))?;
    out.clear(right(d))
}

/// check_tree(node); the call's `RESUME` is a safe point.
fn check(out: &mut Emitter<'_>, d: u32, node: u32) -> Result<(), Stop> {
    out.safe_point()?;
    out.load(cl(d), node, 0)?;
    out.load(cr(d), node, 1)?;
    if d > 0 {
        let (l, r) = (cl(d), cr(d));
        check(out, d - 1, l)?;
        check(out, d - 1, r)?;
    }
    out.clear(cl(d))?;
    out.clear(cr(d))
}

impl Workload for BinaryTrees {
    fn header(&self) -> StreamHeader {
        StreamHeader::new(6 + 4 * (self.max_depth + 2)).names(self.lines())
    }

    fn generate(&self, _rng: &mut ChaCha8Rng, out: &mut Emitter<'_>) -> Result<(), Stop> {
        let m = self.max_depth;
        make(out, m + 1, TOP)?;
        check(out, m + 1, TOP)?;
        out.event(0)?;
        out.clear(TOP)?;
        make(out, m, LONG)?;
        let mut d = MIN_DEPTH;
        let mut line = 1;
        while d <= m {
            let it = 1u64 << (m - d + MIN_DEPTH);
            for _ in 0..it {
                // check_tree(make_tree(d)): the tree is a temporary, freed when check returns.
                make(out, d, TOP)?;
                check(out, d, TOP)?;
                out.clear(TOP)?;
                out.safe_point()?;
            }
            out.event(line)?;
            line += 1;
            d += 2;
        }
        check(out, m, LONG)?;
        out.event(line)?;
        out.clear(LONG)?;
        Ok(())
    }
}
