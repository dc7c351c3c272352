//! `collect` bench: the cost of collections in the `cpython-3.11` preset of the `generational`
//! strategy, over live heaps built before timing.
//!
//! * `collect/full/SHAPE`: one full collection (`gc.collect(2)`) over a live heap of N tracked
//!   containers (N = 10 thousand, 100 thousand and 1 million; 10 thousand only in test mode).
//!   Nothing is garbage, so every collection does the same work. The throughput is the objects
//!   the collector visited in one collection (`heap.work.objects_visited`, measured once before
//!   timing), so criterion's time per element is the **cost per object visited**. Shapes:
//!   `empty-lists` (one list holding N-1 empty lists), `wide-lists` (lists of 100 empty lists
//!   each, held by one list), `deep-chain` (each list holds the previous one: a chain N deep),
//!   `random-graph` (N lists, each holding two random others, cycles included, all held by one
//!   list).
//! * `collect/gen0`: a gen0 collection (`gc.collect(0)`) against the young generation's size
//!   (1 thousand to 100 thousand containers) with a large old generation present (1 million
//!   containers in generation 2; 10 thousand in test mode). The young containers are built
//!   before each timed collection and dropped (by reference counting) after it.
//!
//! Automatic collection is off (`gc.disable()`) while the heaps are built, so only the timed
//! collections run. Run one group: `cargo bench --bench collect -- collect/full/deep-chain`.

#![forbid(unsafe_code)]

mod common;

use common::{env_usize, test_mode, Capture};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use gclab::registry::{self, WithStrategy};
use gclab_core::executor::{ExecConfig, Executor};
use gclab_core::op::{GcOp, Op, StreamHeader};
use gclab_core::strategy::Strategy;
use gclab_core::workload::{Emitter, OpSink};
use gclab_core::Kind;
use gclab_workloads::shapes::Shape;
use std::time::{Duration, Instant};

const PRESET: &str = "cpython-3.11";
/// The heap shapes (`gclab_workloads::shapes`) under the names the bench reports.
const SHAPES: [(&str, Shape); 4] = [
    ("empty-lists", Shape::Lists),
    ("wide-lists", Shape::WideLists),
    ("deep-chain", Shape::DeepChain),
    ("random-graph", Shape::RandomGraph),
];

/// The ops that build a live heap of `n` tracked containers of `shape`, held from register 0,
/// with automatic collection off.
fn build_ops(shape: Shape, n: u64) -> Vec<Op> {
    let mut cap = Capture::new(usize::MAX);
    let mut out = Emitter::new(&mut cap);
    out.gc(GcOp::Disable)
        .and_then(|()| shape.emit(n, &mut out))
        .expect("a capture takes every op");
    cap.ops
}

fn header() -> StreamHeader {
    StreamHeader::new(4).workload("collect-bench")
}

/// Builds the heap with the strategy, then runs `f` with the executor.
struct WithHeap<'a, F> {
    ops: &'a [Op],
    f: F,
}

/// What a bench does with a built executor; generic over the strategy.
trait HeapBench {
    fn run<S: Strategy>(self, ex: &mut Executor<S>);
}

impl<F: HeapBench> WithStrategy for WithHeap<'_, F> {
    type Output = ();
    fn call<S: Strategy>(self, s: S) {
        let h = header();
        let mut ex = Executor::new(s, &h, ExecConfig::default());
        ex.ops(self.ops).expect("heap builds");
        self.f.run(&mut ex);
    }
}

fn with_heap<F: HeapBench>(ops: &[Op], f: F) {
    registry::with_strategy(PRESET, &[], WithHeap { ops, f })
        .unwrap_or_else(|e| panic!("{PRESET}: {e}"));
}

/// Times `gc.collect(gen)` over and over on the same heap.
struct TimeCollect<'a, 'b> {
    generation: i32,
    b: &'a mut criterion::Bencher<'b>,
}

impl HeapBench for TimeCollect<'_, '_> {
    fn run<S: Strategy>(self, ex: &mut Executor<S>) {
        let op = [Op::Gc(GcOp::Collect {
            generation: self.generation,
        })];
        self.b.iter_custom(|iters| {
            let t = Instant::now();
            for _ in 0..iters {
                ex.ops(&op).expect("collect");
            }
            t.elapsed()
        });
    }
}

/// Measures the objects one full collection visits (after a first collection has settled the
/// heap in generation 2).
struct CountVisits(std::rc::Rc<std::cell::Cell<u64>>);

impl HeapBench for CountVisits {
    fn run<S: Strategy>(self, ex: &mut Executor<S>) {
        let op = [Op::Gc(GcOp::Collect { generation: 2 })];
        ex.ops(&op).expect("collect");
        let before = ex.heap.work.objects_visited;
        ex.ops(&op).expect("collect");
        self.0.set(ex.heap.work.objects_visited - before);
    }
}

/// Builds `young` containers before each timed `gc.collect(0)` and drops them after it.
struct TimeGen0<'a, 'b> {
    young: u64,
    b: &'a mut criterion::Bencher<'b>,
}

impl HeapBench for TimeGen0<'_, '_> {
    fn run<S: Strategy>(self, ex: &mut Executor<S>) {
        // Settle the old heap in generation 2.
        ex.ops(&[Op::Gc(GcOp::Collect { generation: 2 })])
            .expect("collect");
        let mut young = vec![Op::Alloc {
            dst: 3,
            kind: Kind::List,
            len: 0,
        }];
        for _ in 1..self.young {
            young.push(Op::Alloc {
                dst: 1,
                kind: Kind::List,
                len: 0,
            });
            young.push(Op::Append { list: 3, src: 1 });
        }
        young.push(Op::Clear { dst: 1 });
        let collect = [Op::Gc(GcOp::Collect { generation: 0 })];
        let drop_young = [Op::Clear { dst: 3 }];
        self.b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                ex.ops(&young).expect("young heap");
                let t = Instant::now();
                ex.ops(&collect).expect("collect");
                total += t.elapsed();
                ex.ops(&drop_young).expect("drop");
            }
            total
        });
    }
}

fn bench_collect(c: &mut Criterion) {
    if !registry::all_names().iter().any(|n| n == PRESET) {
        eprintln!("collect bench: strategy preset {PRESET} is not registered; nothing to bench");
        return;
    }
    let sizes: Vec<u64> = if test_mode() {
        vec![10_000]
    } else {
        vec![10_000, 100_000, 1_000_000]
    };
    for (name, shape) in SHAPES {
        let mut g = c.benchmark_group(format!("collect/full/{name}"));
        g.sample_size(10);
        g.warm_up_time(Duration::from_millis(300));
        g.measurement_time(Duration::from_secs(1));
        for &n in &sizes {
            let ops = build_ops(shape, n);
            let visits = std::rc::Rc::new(std::cell::Cell::new(0));
            with_heap(&ops, CountVisits(visits.clone()));
            g.throughput(Throughput::Elements(visits.get().max(1)));
            g.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
                with_heap(&ops, TimeCollect { generation: 2, b });
            });
        }
        g.finish();
    }

    let old = env_usize(
        "GCLAB_COLLECT_OLD",
        if test_mode() { 10_000 } else { 1_000_000 },
    ) as u64;
    let youngs: Vec<u64> = if test_mode() {
        vec![1_000]
    } else {
        vec![1_000, 10_000, 100_000]
    };
    let ops = build_ops(Shape::Lists, old);
    let mut g = c.benchmark_group(format!("collect/gen0/old={old}"));
    g.sample_size(10);
    g.warm_up_time(Duration::from_millis(300));
    g.measurement_time(Duration::from_secs(1));
    for &y in &youngs {
        g.throughput(Throughput::Elements(y));
        g.bench_with_input(BenchmarkId::new("young", y), &y, |b, &y| {
            with_heap(&ops, TimeGen0 { young: y, b });
        });
    }
    g.finish();
}

criterion_group!(benches, bench_collect);
criterion_main!(benches);
