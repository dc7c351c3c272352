//! `peers` bench: one seeded `churn` op stream (dumpster's benchmark: create a node, add an edge
//! between random roots, drop a root, drop a random edge; then drop everything and collect)
//! replayed through native `std::rc::Rc`, the Rust cycle-collector crates (`gcmodule`,
//! `dumpster` unsync, `rust-cc`, `bacon_rajan_cc`) and every strategy of gclab's registry, each
//! once at its default parameters under [`registry::default_name`] (`none`, `refcount`,
//! `cpython-3.11` for `generational`, ...). Throughput is churn operations per second.
//!
//! Two regimes, two groups:
//!
//! * `peers/auto`: each system with its own collection trigger (for `gcmodule` and
//!   `bacon_rajan_cc`, which have none, that is one collection at the end);
//! * `peers/manual`: automatic collection off everywhere and one full collection at the same op
//!   counts for all (every `GCLAB_PEERS_EVERY` churn ops, default `ops / 100`), plus the final one.
//!
//! Each group has two views of the same churn run:
//!
//! * **adapter view** (`rc`, `gcmodule`, `dumpster`, `rust-cc`, `bacon_rajan_cc`, then
//!   `gclab-NAME` for every registered strategy): every system replays the high-level
//!   churn operations through a small adapter, one operation at a time. A peer does one `clone`
//!   or `drop` per operation ([`replay`]); gclab executes one register op per operation, its
//!   registers being the roots ([`direct_stream`]). This is the adapter comparison.
//! * **Python-program view** (every name with a `-py` suffix): every system executes the `churn`
//!   workload's own op stream (`workloads/src/churn.rs`), the modelled Python program (roots in a
//!   Python list held in a register, temporaries loaded into registers, a safe point per
//!   iteration: about 4.3 register ops and 5 reference-count writes per churn operation). gclab
//!   runs it as its executor does; a peer executes it natively, every load, store, append and
//!   clear a `clone` or a `drop` ([`replay_ops`]). Every system then does the same reference
//!   traffic, so the ratio of a gclab strategy to a peer is gclab's own overhead.
//!
//! All streams are generated once, before timing, into `Vec`s, with the very RNG draws of the
//! `churn` workload. Every node of a peer holds its edges in a `RefCell<Vec<_>>` and counts its
//! drops, and gclab's heap counts its live objects; after every timed run the bench checks that
//! each system freed what it should (everything, or for `Rc` and gclab `refcount` exactly the
//! nodes that die in cycles), and prints a table of created / freed / leaked per system at the
//! end. What a gclab row must free comes from the guarantee its strategy declares
//! (`StrategyInfo::guarantee`): reference counting exactly what `rc` frees, a complete collector
//! everything. A leak of a peer is printed, not hidden; a mismatch between runs, between the
//! reference counters, or a leak of a complete gclab strategy fails the bench.
//!
//! Run one regime: `cargo bench --bench peers -- peers/auto`.
//!
//! Two modes outside criterion print JSON lines for `scripts/perf_tables.py`: table mode
//! (`GCLAB_PEERS_TABLE=ROUNDS`, every row of both views, interleaved) and floor mode
//! (`GCLAB_PEERS_FLOOR=ROUNDS GCLAB_PEERS_TRACE=FILE`: a trace's op stream executed from
//! memory by native `Rc` and by gclab's executor, [`floor_mode`]).

mod common;

use common::{capture_workload, env_usize, test_mode, Capture, ReplayOnce};
use criterion::{criterion_group, BenchmarkId, Criterion, Throughput};
use gclab::registry;
use gclab_core::kind::Kind;
use gclab_core::op::{GcOp, Op, Reg, StreamHeader};
use gclab_core::strategy::Guarantee;
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

/// One timed run of one system.
#[derive(Copy, Clone, Debug)]
struct Run {
    /// Wall time of the run.
    wall: Duration,
    /// Thread CPU time of the run (zero if the clock is unavailable).
    cpu: Duration,
    /// Churn nodes freed (the Python program's root list is not a node).
    freed: u64,
    /// Collections gclab's heap recorded (`None` for the peers).
    collections: Option<u64>,
}

/// Runs `f` and returns its wall time, its thread CPU time and the nodes dropped meanwhile.
fn timed(f: impl FnOnce()) -> Run {
    let before = drops();
    let t = Instant::now();
    let c = cpu_time::ThreadTime::try_now().ok();
    f();
    let wall = t.elapsed();
    let cpu = c.and_then(|c| c.try_elapsed().ok()).unwrap_or_default();
    Run {
        wall,
        cpu,
        freed: drops() - before,
        collections: None,
    }
}

/// Replays `stream` through system `S`; times everything, dropping every root and the final
/// collection included.
fn replay<S: System>(stream: &[COp]) -> Run {
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
fn peer<S: System>(stream: &[COp], every: u64) -> Run {
    S::auto(every == 0);
    let r = replay::<S>(stream);
    S::auto(true);
    r
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

// ----- the peers executing the Python program (the `-py` rows) -----

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

/// Executes gclab's register-op stream `py` (the churn workload's, [`py_stream`]) natively with
/// system `S`: every reference the modelled Python program takes and drops (loads into
/// registers, stores, appends, clears) becomes a `clone` or a `drop` of `S`'s pointer, with no
/// checks, no accounting and no strategy hooks; `gc.collect()`, `gc.disable()` and `gc.enable()`
/// ops call `S`'s collector and trigger switch. This is what a native implementation of the same
/// program costs, so the ratio of a gclab strategy's `-py` row to it is gclab's own overhead.
/// The stream is well formed (it comes from the workload), so errors are not handled. The
/// trigger is back on afterwards; the root list is not counted among the nodes freed.
fn replay_ops<S: OpsSystem>(py: &Capture) -> Run {
    let mut r = timed(|| run_ops::<S>(py.header.registers, &py.ops));
    S::auto(true);
    r.freed = r.freed.saturating_sub(1);
    r
}

/// The loop of [`replay_ops`]: [`exec_ops`], then the registers dropped and a collection.
fn run_ops<S: OpsSystem>(registers: u32, ops: &[Op]) {
    drop(exec_ops::<S>(registers, ops));
    S::collect();
}

/// Executes `ops` natively with system `S` and returns the registers as the last op left them
/// (so that a caller can keep their teardown out of a timing).
fn exec_ops<S: OpsSystem>(registers: u32, ops: &[Op]) -> Vec<Option<S::Ptr>> {
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
    regs
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

/// Native `Rc` on the Python program (`rc-py`).
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

/// `gcmodule` on the Python program (`gcmodule-py`).
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

/// `dumpster` (unsync) on the Python program (`dumpster-py`).
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

/// `rust-cc` on the Python program (`rust-cc-py`).
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

/// `bacon_rajan_cc` on the Python program (`bacon_rajan_cc-py`).
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

/// A full collection, `gc.collect(2)`.
const FULL: Op = Op::Gc(GcOp::Collect { generation: 2 });

/// The roots the churn stream starts with (dumpster's 50).
const ROOTS: u64 = 50;

/// The churn workload's stream for a regime (the Python-program view): the workload's own ops,
/// with `gc.collect()` inserted after every `every` churn iterations (each iteration ends at a
/// `SafePoint`) and a final `gc.collect()`. In the manual regime (`every > 0`) the stream starts
/// with `gc.disable()`.
fn py_stream(ops: u64, seed: u64, every: u64) -> Capture {
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
fn direct_stream(stream: &[COp], every: u64) -> Capture {
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
fn gclab_run(name: &str, stream: &Capture, created: u64, root_list: bool) -> Run {
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

// ----- the rows -----

/// Everything one regime replays, generated before timing.
struct Streams {
    /// The high-level churn ops (the peers' adapter view).
    churn: Vec<COp>,
    /// Nodes the churn creates.
    created: u64,
    /// gclab's translation of `churn` ([`direct_stream`]).
    direct: Capture,
    /// The churn workload's stream, the modelled Python program ([`py_stream`]).
    py: Capture,
}

/// The streams of a regime (`every == 0`: auto), checked to create the same nodes.
fn streams(ops: u64, seed: u64, every: u64) -> Streams {
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
struct Entry<'a> {
    /// The row's name (`rc`, `gclab-refcount`, `rust-cc-py`, ...).
    name: String,
    /// One timed run.
    run: Box<dyn Fn() -> Run + 'a>,
}

/// Every row of a regime (`every == 0`: auto): the adapter view, then the Python-program view.
fn entries(s: &Streams, every: u64) -> Vec<Entry<'_>> {
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

/// The bench's settings from the environment: churn operations (`GCLAB_PEERS_OPS`, default
/// `default_ops`), the manual regime's collection interval (`GCLAB_PEERS_EVERY`, default
/// `ops / 100`) and the seed (`GCLAB_PEERS_SEED`, default 1).
fn settings(default_ops: u64) -> (u64, u64, u64) {
    let ops = env_usize("GCLAB_PEERS_OPS", default_ops as usize) as u64;
    let every = env_usize("GCLAB_PEERS_EVERY", (ops / 100).max(1) as usize) as u64;
    let seed = env_usize("GCLAB_PEERS_SEED", 1) as u64;
    (ops, every, seed)
}

fn bench_peers(c: &mut Criterion) {
    let (ops, every, seed) = settings(if test_mode() { 20_000 } else { 1_000_000 });
    let mut created = 0;
    for (regime, collect_every) in [("auto", 0), ("manual", every)] {
        let s = streams(ops, seed, collect_every);
        created = s.created;
        let mut g = c.benchmark_group(format!("peers/{regime}"));
        g.throughput(Throughput::Elements(ops));
        g.sample_size(10);
        g.warm_up_time(Duration::from_millis(500));
        g.measurement_time(Duration::from_secs(2));
        for e in entries(&s, collect_every) {
            g.bench_function(BenchmarkId::from_parameter(&e.name), |b| {
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let r = (e.run)();
                        record(regime, &e.name, s.created, r.freed);
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

/// What a row must free, from the guarantee its strategy declares (gclab rows) or what it is
/// (the native `rc` rows).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Expected {
    /// Reference counting: exactly the nodes `rc` frees (the cycles leak).
    AsRc,
    /// A complete collector: every node, after its final collection.
    All,
    /// May keep any garbage (no collector).
    Any,
    /// A peer: whatever it frees is printed, not checked.
    Peer,
}

/// What `system` (a row name, `-py` or not) must free.
fn expected(system: &str) -> Expected {
    let base = system.strip_suffix("-py").unwrap_or(system);
    if base == "rc" {
        return Expected::AsRc;
    }
    let Some(name) = base.strip_prefix("gclab-") else {
        return Expected::Peer;
    };
    match registry::resolve(name).map(|(info, _)| info.guarantee) {
        Ok(Guarantee::Refcount) => Expected::AsRc,
        Ok(Guarantee::Complete | Guarantee::CPython) => Expected::All,
        Ok(Guarantee::Safe) => Expected::Any,
        Err(_) => Expected::Peer,
    }
}

fn print_checks(ops: u64, every: u64, created: u64) {
    eprintln!(
        "\npeers check: churn ops={ops}, nodes created={created}, manual regime collects every {every} ops"
    );
    eprintln!(
        "{:<8} {:<24} {:>10} {:>10} {:>10} {:>6}  note",
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
            } else if expected(system) == Expected::AsRc {
                "expected: reference counting leaks the cycles"
            } else if expected(system) == Expected::Any && freed == 0 {
                "expected: never frees"
            } else if expected(system) == Expected::Any {
                "expected: may keep garbage"
            } else {
                "LEAK: a cycle collector left nodes unfreed after its final collection"
            };
            eprintln!(
                "{regime:<8} {system:<24} {:>10} {freed:>10} {leaked:>10} {:>6}  {note}",
                e.created, e.runs
            );
        }
    });
    CHECKS.with(|c| {
        let c = c.borrow();
        assert!(
            !c.values().any(|e| e.inconsistent),
            "a system freed a different number of nodes in different runs"
        );
        for regime in ["auto", "manual"] {
            let check = |system: &str| c.get(&(regime.to_string(), system.to_string()));
            // Native `Rc` on the churn operations and on the Python program, and gclab's
            // `refcount` on both: the same program under the same semantics, in both views.
            let rc = check("rc").and_then(|e| e.freed);
            for ((r, system), e) in c.iter().filter(|((r, _), _)| r == regime) {
                match expected(system) {
                    Expected::AsRc => {
                        if let (Some(a), Some(b)) = (rc, e.freed) {
                            assert_eq!(a, b, "{r}: rc freed {a} nodes, {system} {b}");
                        }
                    }
                    Expected::All => assert_eq!(
                        e.freed,
                        Some(e.created),
                        "{r}: {system} leaked after its final collection"
                    ),
                    Expected::Any | Expected::Peer => {}
                }
            }
        }
    });
}

/// Replays the auto-regime stream once with `system` and prints the nodes freed: run in a
/// child process (see [`probe_all`]) on an ordinary 8 MiB stack, so that a peer that overflows
/// its stack or aborts is reported instead of taking the bench down.
fn probe_child(system: &str) {
    let (ops, _, seed) = settings(1_000_000);
    let (stream, created) = churn_stream(ops, ROOTS, seed, 0);
    let system = system.to_string();
    let run = move || match system.as_str() {
        "rc" => replay::<NativeRc>(&stream).freed,
        "gcmodule" => replay::<GcModule>(&stream).freed,
        "dumpster" => replay::<Dumpster>(&stream).freed,
        "rust-cc" => replay::<RustCc>(&stream).freed,
        "bacon_rajan_cc" => replay::<BaconRajan>(&stream).freed,
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

/// Table mode (`GCLAB_PEERS_TABLE=ROUNDS`): every row of both views in both regimes, `ROUNDS`
/// rounds, interleaved (round-robin over the rows in each round, so that a change in machine
/// load hits every system alike), one JSON line per (regime, system) on standard output with
/// every run's wall and thread CPU time in ns, the nodes freed and, for gclab, the collections
/// its heap recorded; then the check table on standard error. `scripts/perf_tables.py` turns
/// these into the medians and ratios of `results/performance/`.
fn table_mode(rounds: usize) {
    let (ops, every, seed) = settings(1_000_000);
    // `GCLAB_PEERS_ONLY=a,b` and `GCLAB_PEERS_REGIME=auto|manual` restrict the table (for
    // profiling one system under callgrind or perf).
    let only: Option<Vec<String>> = std::env::var("GCLAB_PEERS_ONLY")
        .ok()
        .map(|s| s.split(',').map(str::to_string).collect());
    let want = |s: &str| only.as_ref().is_none_or(|o| o.iter().any(|x| x == s));
    let regime_only = std::env::var("GCLAB_PEERS_REGIME").ok();
    let mut created = 0;
    for (regime, collect_every) in [("auto", 0), ("manual", every)] {
        if regime_only.as_deref().is_some_and(|r| r != regime) {
            continue;
        }
        let s = streams(ops, seed, collect_every);
        created = s.created;
        let rows: Vec<Entry<'_>> = entries(&s, collect_every)
            .into_iter()
            .filter(|e| want(&e.name))
            .collect();
        let mut runs: Vec<Vec<Run>> = vec![Vec::with_capacity(rounds); rows.len()];
        for _ in 0..rounds {
            for (e, runs) in rows.iter().zip(&mut runs) {
                let r = (e.run)();
                record(regime, &e.name, s.created, r.freed);
                runs.push(r);
            }
        }
        for (e, runs) in rows.iter().zip(&runs) {
            let Some(last) = runs.last() else {
                continue;
            };
            let ns = |f: fn(&Run) -> Duration| {
                runs.iter()
                    .map(|r| f(r).as_nanos() as u64)
                    .collect::<Vec<_>>()
            };
            let line = serde_json::json!({
                "regime": regime,
                "system": e.name,
                "churn_ops": ops,
                "collect_every": collect_every,
                "seed": seed,
                "nodes_created": s.created,
                "nodes_freed": last.freed,
                "collections": last.collections,
                "times_ns": ns(|r| r.wall),
                "cpu_ns": ns(|r| r.cpu),
            });
            println!("{line}");
        }
    }
    print_checks(ops, every, created);
}

/// Floor mode (`GCLAB_PEERS_FLOOR=ROUNDS`, `GCLAB_PEERS_TRACE=FILE`; `scripts/perf_tables.py`
/// runs it next to each trace replay): the trace's whole op stream is decoded into memory once,
/// untimed, then executed `ROUNDS` times per system, interleaved:
///
/// * `rc-ops`: native `Rc` ([`exec_ops`]): every load, store, append and clear a `clone` or a
///   `drop`, objects `malloc`'d, no decoding, no checks, no modelled sizes, no cycle collection;
///   the teardown of what the registers still hold at the end is not timed;
/// * `gclab-none-ops`, `gclab-refcount-ops`, `gclab-cpython-3.11-ops`: gclab's executor on the
///   same ops from memory (no decoding), timed as the `-py` rows are;
/// * `gclab-cpython-3.11-trace`: the binary trace, held in memory, decoded and executed as `gclab
///   run -w trace:FILE` does.
///
/// This is the reference the replay target is read against: what executing the trace's program
/// costs natively, without a decoder or a collector (a reference point, not a lower bound:
/// gclab's slot pool beats `malloc` where allocation dominates). One JSON line per system with every
/// round's wall time and the objects freed during the timed span. `rc-ops` must free exactly
/// what gclab's `refcount` frees (both are pure reference counting of the same program): a
/// mismatch means the native replay did not execute the trace's program, and fails the run.
fn floor_mode(rounds: usize, path: &str) -> Vec<serde_json::Value> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    floor_rows(rounds, path, &bytes)
}

/// [`floor_mode`] on a binary trace held in memory, `path` naming it in the lines.
fn floor_rows(rounds: usize, path: &str, bytes: &[u8]) -> Vec<serde_json::Value> {
    let mut reader =
        gclab_core::trace::TraceReader::open(bytes).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut stream = Capture::unbounded();
    let n = reader
        .feed(&mut stream)
        .unwrap_or_else(|e| panic!("{path}: {e}"));
    let allocs = stream
        .ops
        .iter()
        .filter(|op| matches!(op, Op::Alloc { .. }))
        .count() as u64;
    let native = || {
        let mut kept = None;
        let r = timed(|| kept = Some(exec_ops::<RcOps>(stream.header.registers, &stream.ops)));
        drop(kept);
        r
    };
    let stream = &stream;
    let gclab = |name: &'static str| move || gclab_run(name, stream, allocs, false);
    let trace = || Run {
        wall: common::replay_trace_n("cpython-3.11", bytes, n, 1),
        cpu: Duration::ZERO,
        freed: 0,
        collections: None,
    };
    // (name, whether the row counts its frees, the run). The trace row replays as `gclab run`
    // does and does not count them.
    type Row<'a> = (&'static str, bool, Box<dyn Fn() -> Run + 'a>);
    let rows: Vec<Row<'_>> = vec![
        ("rc-ops", true, Box::new(native)),
        ("gclab-none-ops", true, Box::new(gclab("none"))),
        ("gclab-refcount-ops", true, Box::new(gclab("refcount"))),
        (
            "gclab-cpython-3.11-ops",
            true,
            Box::new(gclab("cpython-3.11")),
        ),
        ("gclab-cpython-3.11-trace", false, Box::new(trace)),
    ];
    let mut runs: Vec<Vec<Run>> = vec![Vec::with_capacity(rounds); rows.len()];
    for _ in 0..rounds {
        for ((_, _, f), runs) in rows.iter().zip(&mut runs) {
            runs.push(f());
        }
    }
    let freed: Vec<Option<u64>> = rows
        .iter()
        .zip(&runs)
        .map(|((_, counts, _), r)| r.last().filter(|_| *counts).map(|r| r.freed))
        .collect();
    assert_eq!(
        freed[0], freed[2],
        "{path}: native Rc (rc-ops) and gclab refcount must free the same objects"
    );
    rows.iter()
        .zip(&runs)
        .zip(freed)
        .map(|(((name, _, _), runs), freed)| {
            let times: Vec<u64> = runs.iter().map(|r| r.wall.as_nanos() as u64).collect();
            serde_json::json!({
                "trace": path,
                "ops": n,
                "allocations": allocs,
                "system": name,
                "freed": freed,
                "times_ns": times,
            })
        })
        .collect()
}

/// Test mode's check of [`floor_rows`]: small traces of three workloads with dicts, instances,
/// tuples and a fork, one round each; each run asserts that native `Rc` freed what gclab
/// `refcount` freed.
fn floor_check() {
    for (name, params) in [
        ("fidelity", &["case=mix", "size=500"][..]),
        (
            "web-service",
            &[
                "modules=20",
                "cache_entries=500",
                "config=100",
                "requests=20",
            ],
        ),
        (
            "gcbench",
            &[
                "stretch_depth=7",
                "long_lived_depth=6",
                "array_size=500",
                "max_depth=6",
            ],
        ),
    ] {
        let params: Vec<String> = params.iter().map(|p| p.to_string()).collect();
        const LIMIT: usize = 1 << 20;
        let cap = capture_workload(name, &params, 1, LIMIT);
        assert!(
            cap.ops.len() < LIMIT,
            "{name}: the whole stream is captured"
        );
        let rows = floor_rows(1, name, &common::trace_bytes(&cap));
        eprintln!(
            "peers floor check: {name}: {} ops, native Rc freed {} (as gclab refcount)",
            cap.ops.len(),
            rows[0]["freed"]
        );
    }
}

fn main() {
    if let Ok(system) = std::env::var("GCLAB_PEERS_PROBE") {
        probe_child(&system);
        return;
    }
    if let (Some(rounds), Ok(path)) = (
        std::env::var("GCLAB_PEERS_FLOOR")
            .ok()
            .and_then(|s| s.parse().ok()),
        std::env::var("GCLAB_PEERS_TRACE"),
    ) {
        let h = std::thread::Builder::new()
            .stack_size(1 << 30)
            .spawn(move || {
                for line in floor_mode(rounds, &path) {
                    println!("{line}");
                }
            })
            .expect("spawn floor thread");
        if h.join().is_err() {
            std::process::exit(101);
        }
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
    let (ops, _, _) = settings(if test_mode() { 20_000 } else { 1_000_000 });
    probe_all(ops);
    if test_mode() {
        floor_check();
    }
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
