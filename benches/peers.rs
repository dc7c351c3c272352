//! `peers` bench: one seeded `churn` op stream (dumpster's benchmark: create a node, add an edge
//! between random roots, drop a root, drop a random edge; then drop everything and collect)
//! replayed through native `std::rc::Rc`, the Rust cycle-collector crates (`gcmodule`,
//! `dumpster` unsync, `rust-cc`, `bacon_rajan_cc`) and gclab's own strategies (`refcount`,
//! `cpython-3.11` when registered, `none`). Throughput is churn operations per second.
//!
//! Two regimes, two groups:
//!
//! * `peers/auto`: each system with its own collection trigger (for `gcmodule` and
//!   `bacon_rajan_cc`, which have none, that is one collection at the end);
//! * `peers/manual`: automatic collection off everywhere and one full collection at the same op
//!   counts for all (every `GCLAB_PEERS_EVERY` churn ops, default `ops / 100`), plus the final one.
//!
//! The high-level op stream is generated once, before timing, into a `Vec` with the very RNG
//! draws of the `churn` workload (`workloads/src/churn.rs`); gclab's strategies replay the
//! `churn` workload's own op stream, also captured beforehand. Every node of a peer holds its
//! edges in a `RefCell<Vec<_>>` and counts its drops; after every timed run the bench checks
//! that each system freed what it should (everything, or for `Rc` and gclab `refcount` exactly
//! the nodes that die in cycles), and prints a table of created / freed / leaked per system at the
//! end. A leak is printed, not hidden; a mismatch between runs fails the bench.
//!
//! Each peer runs twice in each regime: once on the high-level churn operations above (`rc`,
//! `rust-cc`, ...: one `clone` or `drop` per operation) and once executing gclab's own register-op
//! stream natively (`rc-ops`, `rust-cc-ops`, ...: every load into a register, store, append and
//! clear of the modelled Python program becomes a `clone` or a `drop`; see [`replay_ops`]). The
//! first is the adapter comparison; the second gives every system the same reference
//! traffic as gclab, so the ratio of a gclab strategy to it is gclab's own overhead.
//!
//! Run one regime: `cargo bench --bench peers -- peers/auto`.

mod common;

use common::{capture_workload, env_usize, test_mode, Capture, ReplayOnce};
use criterion::{criterion_group, BenchmarkId, Criterion, Throughput};
use gclab::registry;
use gclab_core::op::{GcOp, Op};
use rand::Rng;
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

thread_local! {
    static DROPS: Cell<u64> = const { Cell::new(0) };
}

#[inline]
fn tally() {
    DROPS.with(|d| d.set(d.get() + 1));
}

fn drops() -> u64 {
    DROPS.with(|d| d.get())
}

/// One high-level churn operation.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum COp {
    /// Create a node and push it onto the roots.
    Create,
    /// Push a clone of root `to` onto root `from`'s edges.
    Edge { from: u32, to: u32 },
    /// `roots.swap_remove(i)`.
    DropRoot(u32),
    /// `roots[from].edges.swap_remove(idx)`.
    DropEdge { from: u32, idx: u32 },
    /// A full collection (manual regime only).
    Collect,
}

/// The churn stream: `roots` initial creations then `ops` operations, with the exact RNG draws
/// of `gclab_workloads::churn`, and a `Collect` after every `every` operations (`every == 0`:
/// none). Returns the ops and the number of nodes created.
fn churn_stream(ops: u64, roots: u64, seed: u64, every: u64) -> (Vec<COp>, u64) {
    let mut rng = gclab_core::workload::workload_rng(seed);
    let mut out = Vec::with_capacity(ops as usize + roots as usize);
    let mut lens: Vec<u32> = Vec::new();
    let mut created = 0;
    for _ in 0..roots {
        out.push(COp::Create);
        lens.push(0);
        created += 1;
    }
    for k in 0..ops {
        step(&mut rng, &mut out, &mut lens, &mut created);
        if every > 0 && (k + 1) % every == 0 {
            out.push(COp::Collect);
        }
    }
    (out, created)
}

fn step(
    rng: &mut rand_chacha::ChaCha8Rng,
    out: &mut Vec<COp>,
    lens: &mut Vec<u32>,
    created: &mut u64,
) {
    let n = lens.len();
    if n == 0 {
        out.push(COp::Create);
        lens.push(0);
        *created += 1;
        return;
    }
    match rng.random_range(0u8..4) {
        0 => {
            out.push(COp::Create);
            lens.push(0);
            *created += 1;
        }
        1 => {
            if n > 1 {
                let from = rng.random_range(0..n);
                let to = rng.random_range(0..n);
                out.push(COp::Edge {
                    from: from as u32,
                    to: to as u32,
                });
                lens[from] += 1;
            }
        }
        2 => {
            let i = rng.random_range(0..n);
            out.push(COp::DropRoot(i as u32));
            lens.swap_remove(i);
        }
        _ => {
            let from = rng.random_range(0..n);
            let len = lens[from];
            if len > 0 {
                let idx = rng.random_range(0..len);
                out.push(COp::DropEdge {
                    from: from as u32,
                    idx,
                });
                lens[from] -= 1;
            }
        }
    }
}

/// A system under test: how to make a node, link, unlink, collect, and set its trigger.
trait System {
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

/// Runs `f` and returns its wall time, its thread CPU time (zero if the clock is unavailable)
/// and the nodes dropped meanwhile.
fn timed(f: impl FnOnce()) -> (Duration, Duration, u64) {
    let before = drops();
    let t = Instant::now();
    let c = cpu_time::ThreadTime::try_now().ok();
    f();
    let d = t.elapsed();
    let cpu = c.and_then(|c| c.try_elapsed().ok()).unwrap_or_default();
    (d, cpu, drops() - before)
}

/// Replays `stream` through system `S`; returns the elapsed time (including dropping every
/// root and the final collection), the thread CPU time, and the nodes freed during the run.
fn replay<S: System>(stream: &[COp]) -> (Duration, Duration, u64) {
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

// ----- the systems -----

/// Native `Rc`: no cycle collection; cycles leak.
struct NativeRc;
struct RcNode {
    edges: RefCell<Vec<std::rc::Rc<RcNode>>>,
}
impl Drop for RcNode {
    fn drop(&mut self) {
        tally();
    }
}
impl System for NativeRc {
    type Ptr = std::rc::Rc<RcNode>;
    #[inline]
    fn node() -> Self::Ptr {
        std::rc::Rc::new(RcNode {
            edges: RefCell::new(Vec::new()),
        })
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
    fn collect() {}
    fn auto(_on: bool) {}
}

/// `gcmodule` 0.3: reference counting plus CPython-style cycle detection (no generations, no
/// automatic trigger).
struct GcModule;
struct GmNode {
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
impl Drop for GmNode {
    fn drop(&mut self) {
        tally();
    }
}
impl System for GcModule {
    type Ptr = gcmodule::Cc<GmNode>;
    #[inline]
    fn node() -> Self::Ptr {
        gcmodule::Cc::new(GmNode {
            edges: RefCell::new(Vec::new()),
        })
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
    fn collect() {
        gcmodule::collect_thread_cycles();
    }
    fn auto(_on: bool) {}
}

/// `dumpster` 2.1, unsync: reference counting plus a candidate DFS, automatic trigger.
struct Dumpster;
#[derive(dumpster::Trace)]
struct DNode {
    edges: RefCell<Vec<dumpster::unsync::Gc<DNode>>>,
}
impl Drop for DNode {
    fn drop(&mut self) {
        tally();
    }
}
fn never(_: &dumpster::unsync::CollectInfo) -> bool {
    false
}
impl System for Dumpster {
    type Ptr = dumpster::unsync::Gc<DNode>;
    #[inline]
    fn node() -> Self::Ptr {
        dumpster::unsync::Gc::new(DNode {
            edges: RefCell::new(Vec::new()),
        })
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
    fn collect() {
        dumpster::unsync::collect();
    }
    fn auto(on: bool) {
        if on {
            dumpster::unsync::set_collect_condition(dumpster::unsync::default_collect_condition);
        } else {
            dumpster::unsync::set_collect_condition(never);
        }
    }
}

/// `rust-cc` 0.6: reference counting plus trial deletion, adaptive automatic trigger.
struct RustCc;
#[derive(rust_cc::Trace, rust_cc::Finalize)]
struct CcNode {
    edges: RefCell<Vec<rust_cc::Cc<CcNode>>>,
    // rust-cc's derive forbids a `Drop` impl on the node itself; a field's drop counts instead.
    #[rust_cc(ignore)]
    _tally: Tally,
}
/// A zero-sized field that counts its drops.
struct Tally;
impl Drop for Tally {
    fn drop(&mut self) {
        tally();
    }
}
impl System for RustCc {
    type Ptr = rust_cc::Cc<CcNode>;
    #[inline]
    fn node() -> Self::Ptr {
        rust_cc::Cc::new(CcNode {
            edges: RefCell::new(Vec::new()),
            _tally: Tally,
        })
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
    fn collect() {
        rust_cc::collect_cycles();
    }
    fn auto(on: bool) {
        // Only fails while a collection is running, which cannot be the case here.
        let _ = rust_cc::config::config(|c| c.set_auto_collect(on));
    }
}

/// `bacon_rajan_cc` 0.4: classic Bacon–Rajan synchronous cycle collection (no automatic
/// trigger).
struct BaconRajan;
struct BNode {
    edges: RefCell<Vec<bacon_rajan_cc::Cc<BNode>>>,
}
impl bacon_rajan_cc::Trace for BNode {
    fn trace(&self, tracer: &mut bacon_rajan_cc::Tracer) {
        self.edges.trace(tracer);
    }
}
impl Drop for BNode {
    fn drop(&mut self) {
        tally();
    }
}
impl System for BaconRajan {
    type Ptr = bacon_rajan_cc::Cc<BNode>;
    #[inline]
    fn node() -> Self::Ptr {
        bacon_rajan_cc::Cc::new(BNode {
            edges: RefCell::new(Vec::new()),
        })
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
    fn collect() {
        bacon_rajan_cc::collect_cycles();
    }
    fn auto(_on: bool) {}
}

// ----- the peers executing gclab's own op stream -----

/// A system that can execute gclab's register-op stream natively: objects whose slots are a
/// `RefCell<Vec<Option<Ptr>>>` (`None` is Python's `None`), registers holding strong pointers.
trait OpsSystem {
    /// A strong pointer to an object.
    type Ptr: Clone;
    /// A new object with these slots.
    fn obj(slots: Vec<Option<Self::Ptr>>) -> Self::Ptr;
    /// The object's slots.
    fn slots(p: &Self::Ptr) -> &RefCell<Vec<Option<Self::Ptr>>>;
    /// A full collection.
    fn collect();
    /// Turns automatic collection on (the system's default) or off.
    fn auto(on: bool);
}

/// Executes gclab's register-op stream `ops` natively with system `S`: every reference the
/// modelled Python program takes and drops (loads into registers, stores, appends, clears)
/// becomes a `clone` or a `drop` of `S`'s pointer, with no checks, no accounting and no
/// strategy hooks; `gc.collect()`, `gc.disable()` and `gc.enable()` ops call `S`'s collector
/// and trigger switch. This is what a native implementation of the same program costs, so the
/// ratio of a gclab strategy to it is gclab's own overhead, whereas the ratio to the
/// high-level replay ([`replay`], one `clone` or `drop` per churn operation) also contains the
/// reference traffic of the modelled Python program. The stream is well formed (it comes from
/// the workload), so errors are not handled. Returns wall time, thread CPU time and the
/// objects freed, the root list included.
fn replay_ops<S: OpsSystem>(registers: u32, ops: &[Op]) -> (Duration, Duration, u64) {
    let r = timed(|| run_ops::<S>(registers, ops));
    S::auto(true);
    r
}

/// The loop of [`replay_ops`].
fn run_ops<S: OpsSystem>(registers: u32, ops: &[Op]) {
    use gclab_core::kind::Kind;
    let mut regs: Vec<Option<S::Ptr>> = vec![None; registers as usize];
    for op in ops {
        match *op {
            Op::Alloc { dst, kind, len } => {
                let slots = if kind == Kind::Tuple {
                    vec![None; len as usize]
                } else {
                    Vec::new()
                };
                regs[dst as usize] = Some(S::obj(slots));
            }
            Op::Store { obj, slot, src } => {
                let v = regs[src as usize].clone();
                let o = regs[obj as usize].as_ref().expect("store into an object");
                let old = {
                    let mut s = S::slots(o).borrow_mut();
                    if slot as usize == s.len() {
                        s.push(v);
                        None
                    } else {
                        std::mem::replace(&mut s[slot as usize], v)
                    }
                };
                drop(old);
            }
            Op::Append { list, src } => {
                let v = regs[src as usize].clone();
                let o = regs[list as usize].as_ref().expect("append to a list");
                S::slots(o).borrow_mut().push(v);
            }
            Op::Load { dst, obj, slot } => {
                let v = {
                    let o = regs[obj as usize].as_ref().expect("load from an object");
                    let s = S::slots(o).borrow();
                    s[slot as usize].clone()
                };
                regs[dst as usize] = v;
            }
            Op::Copy { dst, src } => regs[dst as usize] = regs[src as usize].clone(),
            Op::Clear { dst } => regs[dst as usize] = None,
            Op::Gc(GcOp::Collect { .. }) => S::collect(),
            Op::Gc(GcOp::Disable) => S::auto(false),
            Op::Gc(GcOp::Enable) => S::auto(true),
            Op::Event { .. } | Op::Probe { .. } | Op::SafePoint | Op::Gc(_) => {}
        }
    }
    drop(regs);
    S::collect();
}

/// The slots of an object of the op stream, for every system: a `RefCell<Vec<Option<P>>>`.
type Slots<P> = RefCell<Vec<Option<P>>>;

/// `impl OpsSystem for $sys`: objects `$obj` behind `$ptr`, made by `$new` from their slots;
/// collection and trigger as for the high-level system `$high`.
macro_rules! ops_system {
    ($sys:ident, $ptr:ty, $new:expr, $high:ty) => {
        impl OpsSystem for $sys {
            type Ptr = $ptr;
            #[inline]
            fn obj(slots: Vec<Option<Self::Ptr>>) -> Self::Ptr {
                $new(RefCell::new(slots))
            }
            #[inline]
            fn slots(p: &Self::Ptr) -> &Slots<Self::Ptr> {
                &p.slots
            }
            fn collect() {
                <$high>::collect();
            }
            fn auto(on: bool) {
                <$high>::auto(on);
            }
        }
    };
}

/// Native `Rc` on the op stream (`rc-ops`).
struct RcOps;
struct RcObj {
    slots: Slots<std::rc::Rc<RcObj>>,
}
impl Drop for RcObj {
    fn drop(&mut self) {
        tally();
    }
}
ops_system!(
    RcOps,
    std::rc::Rc<RcObj>,
    |slots| std::rc::Rc::new(RcObj { slots }),
    NativeRc
);

/// `gcmodule` on the op stream.
struct GcModuleOps;
struct GmObj {
    slots: Slots<gcmodule::Cc<GmObj>>,
}
impl gcmodule::Trace for GmObj {
    fn trace(&self, tracer: &mut gcmodule::Tracer) {
        self.slots.trace(tracer);
    }
    fn is_type_tracked() -> bool {
        true
    }
}
impl Drop for GmObj {
    fn drop(&mut self) {
        tally();
    }
}
ops_system!(
    GcModuleOps,
    gcmodule::Cc<GmObj>,
    |slots| gcmodule::Cc::new(GmObj { slots }),
    GcModule
);

/// `dumpster` (unsync) on the op stream.
struct DumpsterOps;
#[derive(dumpster::Trace)]
struct DObj {
    slots: Slots<dumpster::unsync::Gc<DObj>>,
}
impl Drop for DObj {
    fn drop(&mut self) {
        tally();
    }
}
ops_system!(
    DumpsterOps,
    dumpster::unsync::Gc<DObj>,
    |slots| dumpster::unsync::Gc::new(DObj { slots }),
    Dumpster
);

/// `rust-cc` on the op stream.
struct RustCcOps;
#[derive(rust_cc::Trace, rust_cc::Finalize)]
struct CcObj {
    slots: Slots<rust_cc::Cc<CcObj>>,
    #[rust_cc(ignore)]
    _tally: Tally,
}
ops_system!(
    RustCcOps,
    rust_cc::Cc<CcObj>,
    |slots| rust_cc::Cc::new(CcObj {
        slots,
        _tally: Tally
    }),
    RustCc
);

/// `bacon_rajan_cc` on the op stream.
struct BaconRajanOps;
struct BObj {
    slots: Slots<bacon_rajan_cc::Cc<BObj>>,
}
impl bacon_rajan_cc::Trace for BObj {
    fn trace(&self, tracer: &mut bacon_rajan_cc::Tracer) {
        self.slots.trace(tracer);
    }
}
impl Drop for BObj {
    fn drop(&mut self) {
        tally();
    }
}
ops_system!(
    BaconRajanOps,
    bacon_rajan_cc::Cc<BObj>,
    |slots| bacon_rajan_cc::Cc::new(BObj { slots }),
    BaconRajan
);

// ----- gclab -----

/// gclab's churn stream for a regime: the workload's own ops, with `gc.collect()` inserted
/// after every `every` churn iterations (each iteration ends at a `SafePoint`) and a final
/// `gc.collect()`. In the manual regime (`every > 0`) the stream starts with `gc.disable()`.
fn gclab_stream(cap: &Capture, every: u64) -> Vec<Op> {
    let full = Op::Gc(GcOp::Collect { generation: 2 });
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
                out.push(full);
            }
        }
    }
    out.push(full);
    out
}

/// What one system did in one regime: for the check table.
#[derive(Clone, Debug, Default)]
struct Check {
    created: u64,
    freed: Option<u64>,
    runs: u64,
    inconsistent: bool,
}

thread_local! {
    static CHECKS: RefCell<BTreeMap<(String, String), Check>> = const { RefCell::new(BTreeMap::new()) };
}

fn record(regime: &str, system: &str, created: u64, freed: u64) {
    CHECKS.with(|c| {
        let mut c = c.borrow_mut();
        let e = c
            .entry((regime.to_string(), system.to_string()))
            .or_default();
        e.created = created;
        if let Some(f) = e.freed {
            if f != freed {
                e.inconsistent = true;
            }
        }
        e.freed = Some(freed);
        e.runs += 1;
    });
}

fn bench_peers(c: &mut Criterion) {
    let ops = env_usize(
        "GCLAB_PEERS_OPS",
        if test_mode() { 20_000 } else { 1_000_000 },
    ) as u64;
    let every = env_usize("GCLAB_PEERS_EVERY", (ops / 100).max(1) as usize) as u64;
    let seed = env_usize("GCLAB_PEERS_SEED", 1) as u64;
    let roots = 50;
    let (auto_stream, created) = churn_stream(ops, roots, seed, 0);
    let (manual_stream, created2) = churn_stream(ops, roots, seed, every);
    assert_eq!(created, created2);
    let cap = capture_workload(
        "churn",
        &[format!("ops={ops}"), format!("roots={roots}")],
        seed,
        usize::MAX,
    );
    // Same stream: the workload allocates the root list plus one list per created node.
    let allocs = cap
        .ops
        .iter()
        .filter(|o| matches!(o, Op::Alloc { .. }))
        .count() as u64;
    assert_eq!(
        allocs,
        created + 1,
        "peer stream and churn workload disagree"
    );
    let names = registry::all_names();
    let gclab: Vec<&str> = ["refcount", "cpython-3.11", "none"]
        .into_iter()
        .filter(|n| names.iter().any(|m| m == n))
        .collect();

    for (regime, stream, every) in [("auto", &auto_stream, 0), ("manual", &manual_stream, every)] {
        let mut g = c.benchmark_group(format!("peers/{regime}"));
        g.throughput(Throughput::Elements(ops));
        g.sample_size(10);
        g.warm_up_time(Duration::from_millis(500));
        g.measurement_time(Duration::from_secs(2));
        macro_rules! peer {
            ($name:literal, $ty:ty) => {
                <$ty>::auto(every == 0);
                g.bench_function(BenchmarkId::from_parameter($name), |b| {
                    b.iter_custom(|iters| {
                        let mut total = Duration::ZERO;
                        for _ in 0..iters {
                            let (d, _, freed) = replay::<$ty>(stream);
                            record(regime, $name, created, freed);
                            total += d;
                        }
                        total
                    })
                });
                <$ty>::auto(true);
            };
        }
        peer!("rc", NativeRc);
        peer!("gcmodule", GcModule);
        peer!("dumpster", Dumpster);
        peer!("rust-cc", RustCc);
        peer!("bacon_rajan_cc", BaconRajan);
        let gstream = gclab_stream(&cap, every);
        macro_rules! ops_peer {
            ($name:literal, $ty:ty) => {
                g.bench_function(BenchmarkId::from_parameter($name), |b| {
                    b.iter_custom(|iters| {
                        let mut total = Duration::ZERO;
                        for _ in 0..iters {
                            let (d, _, freed) = replay_ops::<$ty>(cap.header.registers, &gstream);
                            // Minus the root list, which the peers do not have.
                            record(regime, $name, created, freed.saturating_sub(1));
                            total += d;
                        }
                        total
                    })
                });
            };
        }
        ops_peer!("rc-ops", RcOps);
        ops_peer!("gcmodule-ops", GcModuleOps);
        ops_peer!("dumpster-ops", DumpsterOps);
        ops_peer!("rust-cc-ops", RustCcOps);
        ops_peer!("bacon_rajan_cc-ops", BaconRajanOps);
        for name in &gclab {
            let label = format!("gclab-{name}");
            g.bench_function(BenchmarkId::from_parameter(&label), |b| {
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let r = registry::with_strategy(
                            name,
                            &[],
                            ReplayOnce {
                                header: &cap.header,
                                ops: &gstream,
                            },
                        )
                        .unwrap_or_else(|e| panic!("{name}: {e}"));
                        // The root list (object 0) is one more object than the peers have.
                        let live_nodes = r.live - u64::from(r.first_live);
                        record(regime, &label, created, created - live_nodes);
                        total += r.wall;
                    }
                    total
                })
            });
        }
        g.finish();
    }
    print_checks(ops, every, created);
}

fn print_checks(ops: u64, every: u64, created: u64) {
    eprintln!(
        "\npeers check: churn ops={ops}, nodes created={created}, manual regime collects every {every} ops"
    );
    eprintln!(
        "{:<8} {:<22} {:>10} {:>10} {:>10} {:>6}  note",
        "regime", "system", "created", "freed", "leaked", "runs"
    );
    CHECKS.with(|c| {
        for ((regime, system), e) in c.borrow().iter() {
            let freed = e.freed.unwrap_or(0);
            let leaked = e.created.saturating_sub(freed);
            let note = if e.inconsistent {
                "FREED COUNT DIFFERS BETWEEN RUNS"
            } else if leaked == 0 {
                "ok: everything freed"
            } else if system == "rc" || system == "rc-ops" || system == "gclab-refcount" {
                "expected: reference counting leaks the cycles"
            } else if system == "gclab-none" {
                "expected: never frees"
            } else {
                "LEAK: a cycle collector left nodes unfreed after its final collection"
            };
            eprintln!(
                "{regime:<8} {system:<22} {:>10} {freed:>10} {leaked:>10} {:>6}  {note}",
                e.created, e.runs
            );
        }
    });
    let bad = CHECKS.with(|c| c.borrow().values().any(|e| e.inconsistent));
    assert!(
        !bad,
        "a system freed a different number of nodes in different runs"
    );
    // Native `Rc` on the churn operations, native `Rc` on gclab's op stream and gclab's
    // `refcount` must free exactly the same nodes: the same program under the same semantics.
    CHECKS.with(|c| {
        let c = c.borrow();
        for regime in ["auto", "manual"] {
            let freed = |system: &str| {
                c.get(&(regime.to_string(), system.to_string()))
                    .and_then(|e| e.freed)
            };
            let rc = freed("rc");
            for other in ["rc-ops", "gclab-refcount"] {
                if let (Some(a), Some(b)) = (rc, freed(other)) {
                    assert_eq!(a, b, "{regime}: rc freed {a} nodes, {other} {b}");
                }
            }
        }
    });
}

/// Replays the auto-regime stream once with `system` and prints the nodes freed: run in a
/// child process (see [`probe_all`]) on an ordinary 8 MiB stack, so that a peer that overflows
/// its stack or aborts is reported instead of taking the bench down.
fn probe_child(system: &str) {
    let ops = env_usize("GCLAB_PEERS_OPS", 1_000_000) as u64;
    let seed = env_usize("GCLAB_PEERS_SEED", 1) as u64;
    let (stream, created) = churn_stream(ops, 50, seed, 0);
    let system = system.to_string();
    let run = move || match system.as_str() {
        "rc" => replay::<NativeRc>(&stream).2,
        "gcmodule" => replay::<GcModule>(&stream).2,
        "dumpster" => replay::<Dumpster>(&stream).2,
        "rust-cc" => replay::<RustCc>(&stream).2,
        "bacon_rajan_cc" => replay::<BaconRajan>(&stream).2,
        _ => 0,
    };
    let freed = std::thread::Builder::new()
        .stack_size(8 << 20)
        .spawn(run)
        .expect("spawn probe thread")
        .join()
        .unwrap_or(0);
    println!("created={created} freed={freed}");
}

/// Runs every peer once in a child process with an 8 MiB stack; prints whether it completed.
fn probe_all(ops: u64) {
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    eprintln!("peers probe (churn ops={ops}, each peer once in a child process, 8 MiB stack):");
    for system in ["rc", "gcmodule", "dumpster", "rust-cc", "bacon_rajan_cc"] {
        let out = std::process::Command::new(&exe)
            .env("GCLAB_PEERS_PROBE", system)
            .env("GCLAB_PEERS_OPS", ops.to_string())
            .output();
        match out {
            Ok(o) if o.status.success() => eprintln!(
                "  {system:<16} ok: {}",
                String::from_utf8_lossy(&o.stdout).trim()
            ),
            Ok(o) => eprintln!(
                "  {system:<16} CRASHED ({}): {}",
                o.status,
                String::from_utf8_lossy(&o.stderr)
                    .lines()
                    .find(|l| !l.trim().is_empty())
                    .unwrap_or("")
            ),
            Err(e) => eprintln!("  {system:<16} could not start the probe: {e}"),
        }
    }
}

criterion_group!(benches, bench_peers);

/// Table mode (`GCLAB_PEERS_TABLE=ROUNDS`): every system in both regimes, `ROUNDS` rounds,
/// interleaved (round-robin over the systems in each round, so that a change in machine load
/// hits every system alike), one JSON line per (regime, system) on standard output with every
/// run's time in ns. `scripts/perf_vs_cpython.sh` turns these into the medians and ratios of
/// `results/performance/`.
fn table_mode(rounds: usize) {
    let ops = env_usize("GCLAB_PEERS_OPS", 1_000_000) as u64;
    let every = env_usize("GCLAB_PEERS_EVERY", (ops / 100).max(1) as usize) as u64;
    let seed = env_usize("GCLAB_PEERS_SEED", 1) as u64;
    let roots = 50;
    let cap = capture_workload(
        "churn",
        &[format!("ops={ops}"), format!("roots={roots}")],
        seed,
        usize::MAX,
    );
    let names = registry::all_names();
    let gclab: Vec<&str> = ["refcount", "cpython-3.11", "none"]
        .into_iter()
        .filter(|n| names.iter().any(|m| m == n))
        .collect();
    // `GCLAB_PEERS_ONLY=a,b` and `GCLAB_PEERS_REGIME=auto|manual` restrict the table (for
    // profiling one system under callgrind or perf).
    let only: Option<Vec<String>> = std::env::var("GCLAB_PEERS_ONLY")
        .ok()
        .map(|s| s.split(',').map(str::to_string).collect());
    let want = |s: &str| only.as_ref().is_none_or(|o| o.iter().any(|x| x == s));
    let regime_only = std::env::var("GCLAB_PEERS_REGIME").ok();
    for (regime, every) in [("auto", 0), ("manual", every)] {
        if regime_only.as_deref().is_some_and(|r| r != regime) {
            continue;
        }
        let (stream, created) = churn_stream(ops, roots, seed, every);
        let gstream = gclab_stream(&cap, every);
        let mut times: BTreeMap<String, Vec<u64>> = BTreeMap::new();
        let mut freed: BTreeMap<String, u64> = BTreeMap::new();
        let mut cpus: BTreeMap<String, Vec<u64>> = BTreeMap::new();
        for _ in 0..rounds {
            macro_rules! peer {
                ($name:literal, $ty:ty) => {{
                    if want($name) {
                        <$ty>::auto(every == 0);
                        let (d, cpu, f) = replay::<$ty>(&stream);
                        <$ty>::auto(true);
                        times
                            .entry($name.to_string())
                            .or_default()
                            .push(d.as_nanos() as u64);
                        cpus.entry($name.to_string())
                            .or_default()
                            .push(cpu.as_nanos() as u64);
                        freed.insert($name.to_string(), f);
                    }
                }};
            }
            peer!("rc", NativeRc);
            peer!("gcmodule", GcModule);
            peer!("dumpster", Dumpster);
            peer!("rust-cc", RustCc);
            peer!("bacon_rajan_cc", BaconRajan);
            macro_rules! ops_peer {
                ($name:literal, $ty:ty) => {{
                    if want($name) {
                        let (d, cpu, f) = replay_ops::<$ty>(cap.header.registers, &gstream);
                        times
                            .entry($name.to_string())
                            .or_default()
                            .push(d.as_nanos() as u64);
                        cpus.entry($name.to_string())
                            .or_default()
                            .push(cpu.as_nanos() as u64);
                        // Minus the root list, which the peers do not have.
                        freed.insert($name.to_string(), f.saturating_sub(1));
                    }
                }};
            }
            ops_peer!("rc-ops", RcOps);
            ops_peer!("gcmodule-ops", GcModuleOps);
            ops_peer!("dumpster-ops", DumpsterOps);
            ops_peer!("rust-cc-ops", RustCcOps);
            ops_peer!("bacon_rajan_cc-ops", BaconRajanOps);
            for name in gclab.iter().filter(|n| want(&format!("gclab-{n}"))) {
                let r = registry::with_strategy(
                    name,
                    &[],
                    ReplayOnce {
                        header: &cap.header,
                        ops: &gstream,
                    },
                )
                .unwrap_or_else(|e| panic!("{name}: {e}"));
                let label = format!("gclab-{name}");
                times
                    .entry(label.clone())
                    .or_default()
                    .push(r.wall.as_nanos() as u64);
                cpus.entry(label.clone())
                    .or_default()
                    .push(r.cpu.as_nanos() as u64);
                freed.insert(label, created - (r.live - u64::from(r.first_live)));
            }
        }
        for (system, t) in &times {
            let line = serde_json::json!({
                "cpu_ns": cpus.get(system),
                "regime": regime,
                "system": system,
                "churn_ops": ops,
                "collect_every": every,
                "seed": seed,
                "nodes_created": created,
                "nodes_freed": freed.get(system),
                "times_ns": t,
                "cpu_ns": cpus.get(system),
            });
            println!("{line}");
        }
    }
}

fn main() {
    if let Ok(system) = std::env::var("GCLAB_PEERS_PROBE") {
        probe_child(&system);
        return;
    }
    if let Some(rounds) = std::env::var("GCLAB_PEERS_TABLE")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        let h = std::thread::Builder::new()
            .stack_size(1 << 30)
            .spawn(move || table_mode(rounds))
            .expect("spawn table thread");
        if h.join().is_err() {
            std::process::exit(101);
        }
        return;
    }
    // The recursive peers (gcmodule's collector, dropping long chains) need a deep stack: the
    // timed runs happen on a 1 GiB stack; `probe_all` reports what happens on an ordinary one.
    let ops = env_usize(
        "GCLAB_PEERS_OPS",
        if test_mode() { 20_000 } else { 1_000_000 },
    ) as u64;
    probe_all(ops);
    let h = std::thread::Builder::new()
        .stack_size(1 << 30)
        .spawn(|| {
            benches();
            criterion::Criterion::default()
                .configure_from_args()
                .final_summary();
        })
        .expect("spawn bench thread");
    if h.join().is_err() {
        std::process::exit(101);
    }
}
