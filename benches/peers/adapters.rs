//! The peer collectors in the adapter view: the [`System`] trait (make a node, link, unlink,
//! collect, switch the trigger), [`replay`] of the high-level churn operations, and one adaptor
//! per system: native `Rc`, `gcmodule`, `dumpster` (unsync), `rust-cc` and `bacon_rajan_cc`.

use crate::churn::COp;
use crate::run::{count_drops, timed, Run, Tally};
use std::cell::RefCell;

/// A system under test: how to make a node, link, unlink, collect, and set its trigger.
pub trait System {
    /// A strong pointer to a node.
    type Ptr: Clone;
    /// A fresh node with no edges.
    fn node() -> Self::Ptr;
    /// `from.edges.push(to)`.
    fn push(from: &Self::Ptr, to: Self::Ptr);
    /// `drop(from.edges.swap_remove(idx))`.
    fn unlink(from: &Self::Ptr, idx: usize);
    /// A full collection.
    fn collect();
    /// Turns the system's automatic collection on (its default) or off.
    fn auto(on: bool);
}

/// Replays `stream` through system `S`; times everything, dropping every root and the final
/// collection included.
pub fn replay<S: System>(stream: &[COp]) -> Run {
    timed(|| {
        let mut roots: Vec<S::Ptr> = Vec::with_capacity(1024);
        for op in stream {
            match *op {
                COp::Create => roots.push(S::node()),
                COp::Edge { from, to } => {
                    let to = roots[to as usize].clone();
                    S::push(&roots[from as usize], to);
                }
                COp::DropRoot(i) => drop(roots.swap_remove(i as usize)),
                COp::DropEdge { from, idx } => S::unlink(&roots[from as usize], idx as usize),
                COp::Collect => S::collect(),
            }
        }
        drop(roots);
        S::collect();
    })
}

/// [`replay`] with `S`'s own trigger (`every == 0`, the auto regime) or with it off; the trigger
/// is back on afterwards.
pub fn peer<S: System>(stream: &[COp], every: u64) -> Run {
    S::auto(every == 0);
    let r = replay::<S>(stream);
    S::auto(true);
    r
}

/// `impl System for $sys`: nodes behind `$ptr`, made by `$new` from their (empty) edge list;
/// `collect` runs `$collect` and `auto($on)` runs `$auto`.
macro_rules! churn_system {
    ($sys:ident, $ptr:ty, $new:expr, collect $collect:block, auto($on:ident) $auto:block) => {
        impl System for $sys {
            type Ptr = $ptr;
            #[inline]
            fn node() -> Self::Ptr {
                $new(RefCell::new(Vec::new()))
            }
            #[inline]
            fn push(from: &Self::Ptr, to: Self::Ptr) {
                from.edges.borrow_mut().push(to);
            }
            #[inline]
            fn unlink(from: &Self::Ptr, idx: usize) {
                let e = from.edges.borrow_mut().swap_remove(idx);
                drop(e);
            }
            fn collect() $collect
            fn auto($on: bool) $auto
        }
    };
}

/// Native `Rc`: no cycle collection; cycles leak.
pub struct NativeRc;
pub struct RcNode {
    edges: RefCell<Vec<std::rc::Rc<RcNode>>>,
}
count_drops!(RcNode);
churn_system!(
    NativeRc,
    std::rc::Rc<RcNode>,
    |edges| std::rc::Rc::new(RcNode { edges }),
    collect {},
    auto(_on) {}
);

/// `gcmodule` 0.3: reference counting plus CPython-style cycle detection (no generations, no
/// automatic trigger).
pub struct GcModule;
pub struct GmNode {
    edges: RefCell<Vec<gcmodule::Cc<GmNode>>>,
}
// gcmodule's derive recurses forever in `is_type_tracked` on a self-referential type (its docs
// ask recursive types for a manual impl that returns `true`), so the node implements it by hand.
impl gcmodule::Trace for GmNode {
    fn trace(&self, tracer: &mut gcmodule::Tracer) {
        self.edges.trace(tracer);
    }
    fn is_type_tracked() -> bool {
        true
    }
}
count_drops!(GmNode);
churn_system!(
    GcModule,
    gcmodule::Cc<GmNode>,
    |edges| gcmodule::Cc::new(GmNode { edges }),
    collect {
        gcmodule::collect_thread_cycles();
    },
    auto(_on) {}
);

/// `dumpster` 2.1, unsync: reference counting plus a candidate DFS, automatic trigger.
pub struct Dumpster;
#[derive(dumpster::Trace)]
pub struct DNode {
    edges: RefCell<Vec<dumpster::unsync::Gc<DNode>>>,
}
count_drops!(DNode);
fn never(_: &dumpster::unsync::CollectInfo) -> bool {
    false
}
churn_system!(
    Dumpster,
    dumpster::unsync::Gc<DNode>,
    |edges| dumpster::unsync::Gc::new(DNode { edges }),
    collect {
        dumpster::unsync::collect();
    },
    auto(on) {
        if on {
            dumpster::unsync::set_collect_condition(dumpster::unsync::default_collect_condition);
        } else {
            dumpster::unsync::set_collect_condition(never);
        }
    }
);

/// `rust-cc` 0.6: reference counting plus trial deletion, adaptive automatic trigger.
pub struct RustCc;
#[derive(rust_cc::Trace, rust_cc::Finalize)]
pub struct CcNode {
    edges: RefCell<Vec<rust_cc::Cc<CcNode>>>,
    // rust-cc's derive forbids a `Drop` impl on the node itself; a field's drop counts instead.
    #[rust_cc(ignore)]
    _tally: Tally,
}
churn_system!(
    RustCc,
    rust_cc::Cc<CcNode>,
    |edges| rust_cc::Cc::new(CcNode {
        edges,
        _tally: Tally
    }),
    collect {
        rust_cc::collect_cycles();
    },
    auto(on) {
        // Only fails while a collection is running, which cannot be the case here.
        let _ = rust_cc::config::config(|c| c.set_auto_collect(on));
    }
);

/// `bacon_rajan_cc` 0.4: classic Bacon–Rajan synchronous cycle collection (no automatic
/// trigger).
pub struct BaconRajan;
pub struct BNode {
    edges: RefCell<Vec<bacon_rajan_cc::Cc<BNode>>>,
}
impl bacon_rajan_cc::Trace for BNode {
    fn trace(&self, tracer: &mut bacon_rajan_cc::Tracer) {
        self.edges.trace(tracer);
    }
}
count_drops!(BNode);
churn_system!(
    BaconRajan,
    bacon_rajan_cc::Cc<BNode>,
    |edges| bacon_rajan_cc::Cc::new(BNode { edges }),
    collect {
        bacon_rajan_cc::collect_cycles();
    },
    auto(_on) {}
);
