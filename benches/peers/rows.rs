//! The rows of the bench: the streams one regime replays ([`Streams`], generated before timing),
//! every row of both views ([`entries`]), and the settings read from the environment.

use crate::adapters::{peer, BaconRajan, Dumpster, GcModule, NativeRc, RustCc};
use crate::churn::{churn_stream, COp, ROOTS};
use crate::common::{env_usize, Capture};
use crate::gclab_streams::{direct_stream, gclab_run, py_stream};
use crate::native_ops::{replay_ops, BaconRajanOps, DumpsterOps, GcModuleOps, RcOps, RustCcOps};
use crate::run::Run;
use gclab::registry;
use gclab_core::op::Op;

/// Everything one regime replays, generated before timing.
pub struct Streams {
    /// The high-level churn ops (the peers' adapter view).
    pub churn: Vec<COp>,
    /// Nodes the churn creates.
    pub created: u64,
    /// gclab's translation of `churn` ([`direct_stream`]).
    pub direct: Capture,
    /// The churn workload's stream, the modelled Python program ([`py_stream`]).
    pub py: Capture,
}

/// The streams of a regime (`every == 0`: auto), checked to create the same nodes.
pub fn streams(ops: u64, seed: u64, every: u64) -> Streams {
    let (churn, created) = churn_stream(ops, ROOTS, seed, every);
    let direct = direct_stream(&churn, every);
    let py = py_stream(ops, seed, every);
    let allocs = |c: &Capture| {
        c.ops
            .iter()
            .filter(|o| matches!(o, Op::Alloc { .. }))
            .count() as u64
    };
    assert_eq!(allocs(&direct), created, "direct stream and churn disagree");
    // The workload allocates the root list plus one list per created node.
    assert_eq!(
        allocs(&py),
        created + 1,
        "peer stream and churn workload disagree"
    );
    Streams {
        churn,
        created,
        direct,
        py,
    }
}

/// A row of the bench: one system in one view, and how to run it once.
pub struct Entry<'a> {
    /// The row's name (`rc`, `gclab-refcount`, `rust-cc-py`, ...).
    pub name: String,
    /// One timed run.
    pub run: Box<dyn Fn() -> Run + 'a>,
}

/// Every row of a regime (`every == 0`: auto): the adapter view, then the Python-program view.
pub fn entries(s: &Streams, every: u64) -> Vec<Entry<'_>> {
    let gclab: Vec<&'static str> = registry::default_configurations()
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    let mut v: Vec<Entry<'_>> = Vec::new();
    macro_rules! row {
        ($name:expr, $run:expr) => {
            v.push(Entry {
                name: $name.to_string(),
                run: Box::new($run),
            })
        };
    }
    row!("rc", move || peer::<NativeRc>(&s.churn, every));
    row!("gcmodule", move || peer::<GcModule>(&s.churn, every));
    row!("dumpster", move || peer::<Dumpster>(&s.churn, every));
    row!("rust-cc", move || peer::<RustCc>(&s.churn, every));
    row!("bacon_rajan_cc", move || peer::<BaconRajan>(
        &s.churn, every
    ));
    for &name in &gclab {
        row!(format!("gclab-{name}"), move || {
            gclab_run(name, &s.direct, s.created, false)
        });
    }
    row!("rc-py", move || replay_ops::<RcOps>(&s.py));
    row!("gcmodule-py", move || replay_ops::<GcModuleOps>(&s.py));
    row!("dumpster-py", move || replay_ops::<DumpsterOps>(&s.py));
    row!("rust-cc-py", move || replay_ops::<RustCcOps>(&s.py));
    row!("bacon_rajan_cc-py", move || replay_ops::<BaconRajanOps>(
        &s.py
    ));
    for &name in &gclab {
        row!(format!("gclab-{name}-py"), move || {
            gclab_run(name, &s.py, s.created, true)
        });
    }
    v
}

/// The bench's settings from the environment: churn operations (`GCLAB_PEERS_OPS`, default
/// `default_ops`), the manual regime's collection interval (`GCLAB_PEERS_EVERY`, default
/// `ops / 100`) and the seed (`GCLAB_PEERS_SEED`, default 1).
pub fn settings(default_ops: u64) -> (u64, u64, u64) {
    let ops = env_usize("GCLAB_PEERS_OPS", default_ops as usize) as u64;
    let every = env_usize("GCLAB_PEERS_EVERY", (ops / 100).max(1) as usize) as u64;
    let seed = env_usize("GCLAB_PEERS_SEED", 1) as u64;
    (ops, every, seed)
}
