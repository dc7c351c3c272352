//! `gclab bench-collect`: the time of one full collection (`gc.collect(2)`) of the
//! `generational` strategy (preset `cpython-3.11`) over a live heap of N tracked containers.
//! `scripts/bench_full_collect.py` runs it side by side with real CPython's `gc.collect()` on
//! the same heap shape.

use crate::classify::{Classify, CmdResult, ExitClass};
use gclab_core::executor::{ExecConfig, Executor};
use gclab_core::op::{GcOp, Op, StreamHeader};
use gclab_core::workload::{Emitter, OpSink};
use gclab_core::StrategyFactory;
use gclab_generational::Generational;
use gclab_workloads::shapes::{self, Shape};
use serde::Serialize;
use std::time::Instant;

/// Why the benchmark could not run.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// A bad argument.
    #[error("{0}")]
    Usage(String),
    /// Building the heap failed (a bug).
    #[error("building the heap: {0}")]
    Exec(String),
}

/// Heap shapes.
pub const SHAPES: [&str; 2] = ["lists", "dicts"];

/// The measured figures.
#[derive(Clone, Debug, Serialize)]
pub struct BenchResult {
    /// Tracked containers in the heap (the holder list included).
    pub objects: u64,
    /// Shape of the heap.
    pub shape: String,
    /// Full collections timed.
    pub reps: usize,
    /// Median wall time of one `gc.collect(2)`, ns.
    pub full_median_ns: u64,
    /// Every full collection's time, ns.
    pub full_ns: Vec<u64>,
    /// Median wall time of one `gc.collect(0)` with the same heap in gen2 (young generation
    /// empty), ns: gen0 cost does not depend on the heap's size.
    pub gen0_median_ns: u64,
    /// Every gen0 collection's time, ns.
    pub gen0_ns: Vec<u64>,
    /// Objects the full collections examined (each).
    pub examined: u64,
}

fn median(v: &mut [u64]) -> u64 {
    v.sort_unstable();
    v[v.len() / 2]
}

/// Builds the heap (`objects - 1` empty containers appended to one list) and times
/// `reps` full collections and `reps` gen0 collections.
pub fn bench(objects: u64, shape: &str, reps: usize) -> Result<BenchResult, BenchError> {
    if objects < 2 {
        return Err(BenchError::Usage("--objects must be at least 2".into()));
    }
    if reps == 0 {
        return Err(BenchError::Usage("--reps must be at least 1".into()));
    }
    let heap_shape = Shape::parse(shape, &SHAPES).map_err(BenchError::Usage)?;
    let info = <Generational as StrategyFactory>::INFO;
    let preset = info
        .presets
        .iter()
        .find(|p| p.name == "cpython-3.11")
        .ok_or_else(|| BenchError::Exec("preset cpython-3.11 missing".into()))?;
    let pairs: Vec<(String, String)> = preset
        .params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let strategy = Generational::from_pairs(&pairs).map_err(|e| BenchError::Exec(e.to_string()))?;
    let header = StreamHeader::new(shapes::REGISTERS);
    let mut ex = Executor::new(strategy, &header, ExecConfig::default());
    let e = |s: gclab_core::Stop| BenchError::Exec(s.to_string());
    heap_shape
        .emit(objects, &mut Emitter::new(&mut ex))
        .map_err(e)?;
    let full = [Op::Gc(GcOp::Collect { generation: 2 })];
    let young = [Op::Gc(GcOp::Collect { generation: 0 })];
    ex.ops(&full).map_err(e)?; // settle: everything in gen2
    let mut full_ns = Vec::with_capacity(reps);
    let mut gen0_ns = Vec::with_capacity(reps);
    for _ in 0..reps {
        let t = Instant::now();
        ex.ops(&full).map_err(e)?;
        full_ns.push(t.elapsed().as_nanos() as u64);
        let t = Instant::now();
        ex.ops(&young).map_err(e)?;
        gen0_ns.push(t.elapsed().as_nanos() as u64);
    }
    let examined = ex
        .heap
        .collections()
        .iter()
        .rev()
        .find(|c| c.generation == 2)
        .map(|c| c.examined)
        .unwrap_or(0);
    let mut sorted = full_ns.clone();
    let mut sorted0 = gen0_ns.clone();
    Ok(BenchResult {
        objects,
        shape: shape.to_string(),
        reps,
        full_median_ns: median(&mut sorted),
        full_ns,
        gen0_median_ns: median(&mut sorted0),
        gen0_ns,
        examined,
    })
}

/// A bad argument is bad input; a failure building the heap is internal.
impl Classify for BenchError {
    fn exit_class(&self) -> ExitClass {
        match self {
            BenchError::Usage(_) => ExitClass::Usage,
            BenchError::Exec(_) => ExitClass::Internal,
        }
    }
}

/// Arguments of `gclab bench-collect`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Tracked containers in the live heap.
    #[arg(long, default_value_t = 1_000_000)]
    pub objects: u64,
    /// Heap shape: `lists` (empty lists in one list) or `dicts` (dicts each holding a list).
    #[arg(long, default_value = "lists")]
    pub shape: String,
    /// Full collections to time (the median is reported).
    #[arg(long, default_value_t = 7)]
    pub reps: usize,
}

/// Runs `gclab bench-collect` ([`bench()`]) and prints the result as one JSON line.
pub fn run(a: Args) -> CmdResult {
    super::print_json(&bench(a.objects, &a.shape, a.reps)?)
}
