//! gclab's side of the bench: the churn workload's op stream for a regime ([`py_stream`]), the
//! direct translation of the high-level churn operations into register ops
//! ([`direct_stream`]), and one run of a gclab strategy on either ([`gclab_run`]).

use crate::churn::{COp, ROOTS};
use crate::common::{capture_workload, Capture, ReplayOnce};
use crate::run::Run;
use gclab::registry;
use gclab_core::kind::Kind;
use gclab_core::op::{GcOp, Op, Reg, StreamHeader};

/// A full collection, `gc.collect(2)`.
pub const FULL: Op = Op::Gc(GcOp::Collect { generation: 2 });

/// The churn workload's stream for a regime (the Python-program view): the workload's own ops,
/// with `gc.collect()` inserted after every `every` churn iterations (each iteration ends at a
/// `SafePoint`) and a final `gc.collect()`. In the manual regime (`every > 0`) the stream starts
/// with `gc.disable()`.
pub fn py_stream(ops: u64, seed: u64, every: u64) -> Capture {
    let cap = capture_workload(
        "churn",
        &[format!("ops={ops}"), format!("roots={ROOTS}")],
        seed,
        usize::MAX,
    );
    let mut out = Vec::with_capacity(cap.ops.len() + 16);
    if every > 0 {
        out.push(Op::Gc(GcOp::Disable));
    }
    let mut k = 0u64;
    for op in &cap.ops {
        out.push(*op);
        if every > 0 && matches!(op, Op::SafePoint) {
            k += 1;
            if k % every == 0 {
                out.push(FULL);
            }
        }
    }
    out.push(FULL);
    Capture::from_parts(cap.header, out)
}

/// One root of [`direct_stream`]: the register holding it and where its edges are.
struct DirectRoot {
    /// The register holding the node.
    reg: Reg,
    /// The physical slot of each logical edge, in the order of the peers' edge `Vec` (pushed at
    /// the end, `swap_remove`d).
    edges: Vec<u32>,
    /// Physical slots that hold `None`, refilled (the last freed first) before the list grows.
    holes: Vec<u32>,
    /// The list's physical length.
    len: u32,
}

/// gclab's direct adapter (the adapter view's `gclab-*` rows): the high-level churn ops `stream`
/// (the very ones the peers replay, the regime's `Collect`s included) as one gclab op each, the
/// roots held in registers as the peers hold them in a `Vec`. A node is a gclab `list`:
/// `Create` allocates one into a free register, `Edge` appends the target's register (or stores
/// it into a slot an earlier `DropEdge` set to `None`), `DropEdge` stores `None` into the edge's
/// slot, `DropRoot` clears the register, `Collect` is `gc.collect(2)`. Logical edges keep the
/// peers' order exactly, so every system drops the same reference at the same operation.
/// Register 0 is never written: it is the empty source that stores `None`. The stream ends by
/// clearing every root's register in root-vector order (as `drop(roots)` drops them) and a
/// `gc.collect(2)`; in the manual regime (`every > 0`) it starts with `gc.disable()`. It has no
/// safe points, as the high-level stream has none.
pub fn direct_stream(stream: &[COp], every: u64) -> Capture {
    let mut roots: Vec<DirectRoot> = Vec::with_capacity(1024);
    let mut free: Vec<Reg> = Vec::new();
    let mut registers: Reg = 1;
    let mut out = Vec::with_capacity(stream.len() + 1024);
    if every > 0 {
        out.push(Op::Gc(GcOp::Disable));
    }
    for op in stream {
        out.push(match *op {
            COp::Create => {
                let reg = free.pop().unwrap_or_else(|| {
                    registers += 1;
                    registers - 1
                });
                roots.push(DirectRoot {
                    reg,
                    edges: Vec::new(),
                    holes: Vec::new(),
                    len: 0,
                });
                Op::Alloc {
                    dst: reg,
                    kind: Kind::List,
                    len: 0,
                }
            }
            COp::Edge { from, to } => {
                let src = roots[to as usize].reg;
                let r = &mut roots[from as usize];
                if let Some(slot) = r.holes.pop() {
                    r.edges.push(slot);
                    Op::Store {
                        obj: r.reg,
                        slot,
                        src,
                    }
                } else {
                    r.edges.push(r.len);
                    r.len += 1;
                    Op::Append { list: r.reg, src }
                }
            }
            COp::DropRoot(i) => {
                let r = roots.swap_remove(i as usize);
                free.push(r.reg);
                Op::Clear { dst: r.reg }
            }
            COp::DropEdge { from, idx } => {
                let r = &mut roots[from as usize];
                let slot = r.edges.swap_remove(idx as usize);
                r.holes.push(slot);
                Op::Store {
                    obj: r.reg,
                    slot,
                    src: 0,
                }
            }
            COp::Collect => FULL,
        });
    }
    out.extend(roots.iter().map(|r| Op::Clear { dst: r.reg }));
    out.push(FULL);
    let header = StreamHeader {
        workload: "churn-direct".into(),
        registers,
        ..Default::default()
    };
    Capture::from_parts(header, out)
}

/// Runs gclab strategy `name` once on `stream`. `root_list`: the stream's first object is the
/// Python program's root list, not a node (the `-py` rows); every object of the direct stream is
/// a node.
pub fn gclab_run(name: &str, stream: &Capture, created: u64, root_list: bool) -> Run {
    let r = registry::with_strategy(
        name,
        &[],
        ReplayOnce {
            header: &stream.header,
            ops: &stream.ops,
        },
    )
    .unwrap_or_else(|e| panic!("{name}: {e}"));
    let live_nodes = r.live - u64::from(root_list && r.first_live);
    Run {
        wall: r.wall,
        cpu: r.cpu,
        freed: created - live_nodes,
        collections: Some(r.collections),
    }
}
