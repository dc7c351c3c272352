//! Running one cell: a strategy against a workload (or a trace) with a seed, producing a
//! [`RunRecord`] (a [`crate::results`] type: the runner produces results data).

use crate::provenance::Provenance;
use crate::registry::{self, RegistryError, WithStrategy};
use crate::results::{RunRecord, Status, Timing};
use gclab_core::executor::{ExecConfig, ExecReport, Executor, TimelineSample};
use gclab_core::heap::Accounting;
use gclab_core::kind::reported_by_kind;
use gclab_core::recorder::CollectionRecord;
use gclab_core::strategy::Strategy;
use gclab_core::trace::{self, TraceError};
use gclab_core::workload::{self, OpSink, Stop};
use gclab_workloads::WorkloadError;
use std::path::PathBuf;
use std::time::Instant;

/// Where the op stream comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// A workload from the catalogue, with `key=value` parameters.
    Workload {
        /// The workload's name.
        name: String,
        /// Its parameters as `key=value` strings.
        params: Vec<String>,
    },
    /// A trace file written by `gclab trace`.
    Trace(PathBuf),
}

impl Source {
    /// Parses a `--workload` argument: a workload name, or `trace:FILE`.
    pub fn parse(workload: &str, params: Vec<String>) -> Source {
        match workload.strip_prefix("trace:") {
            Some(path) => Source::Trace(PathBuf::from(path)),
            None => Source::Workload {
                name: workload.to_string(),
                params,
            },
        }
    }
}

/// Everything that defines one run.
#[derive(Clone, Debug)]
pub struct RunSpec {
    /// Strategy or preset name.
    pub strategy: String,
    /// Strategy parameters (override a preset's).
    pub strategy_params: Vec<(String, String)>,
    /// The op stream.
    pub source: Source,
    /// The workload seed (ignored for traces, which carry their own).
    pub seed: u64,
    /// Sanity mode.
    pub verify: bool,
    /// Simulated memory budget in bytes.
    pub max_heap: Option<u64>,
}

/// Why a run could not be carried out (as opposed to a run that ended out of memory, which is a
/// result).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Bad strategy name or parameter.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// Bad workload name or parameter.
    #[error(transparent)]
    Workload(#[from] WorkloadError),
    /// The trace could not be read.
    #[error(transparent)]
    Trace(#[from] TraceError),
    /// The stream could not be executed (a bad op in a trace, or a strategy freeing a reachable
    /// object under `--verify`).
    #[error("execution failed: {0}")]
    Exec(Stop),
    /// The `--parallel` workers or the pause log could not be written.
    #[error("{0}")]
    Other(String),
}

/// A run's full output: the record and the pause log.
#[derive(Clone, Debug)]
pub struct RunOutput {
    /// The record.
    pub record: RunRecord,
    /// Every collection, in order.
    pub collections: Vec<CollectionRecord>,
    /// Heap timeline samples (empty unless asked for with [`run_sampled`]).
    pub timeline: Vec<TimelineSample>,
}

/// Heap-timeline sampling for [`run_sampled`].
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Sampling {
    /// Sample every this many ops (0: off).
    pub every: u64,
    /// Also measure garbage retained with the oracle at each sample.
    pub garbage: bool,
}

struct Job<'a> {
    spec: &'a RunSpec,
    sampling: Sampling,
}

impl WithStrategy for Job<'_> {
    type Output = Result<RunOutput, RunError>;
    fn call<S: Strategy>(self, s: S) -> Self::Output {
        run_with(self.spec, s, self.sampling)
    }
}

/// Runs one cell.
pub fn run(spec: &RunSpec) -> Result<RunOutput, RunError> {
    run_sampled(spec, Sampling::default())
}

/// Runs one cell, sampling the heap timeline.
pub fn run_sampled(spec: &RunSpec, sampling: Sampling) -> Result<RunOutput, RunError> {
    let resolved;
    let spec = if spec.strategy_params.iter().any(|(_, v)| v == "auto") {
        resolved = resolve_auto(spec)?;
        &resolved
    } else {
        spec
    };
    registry::with_strategy(
        &spec.strategy,
        &spec.strategy_params,
        Job { spec, sampling },
    )?
}

/// Replaces the strategy parameter `min_heap=auto` with the workload's minimum heap
/// ([`gclab_workloads::min_heap`]: the peak live bytes of an oracle collector that frees every
/// object the moment it becomes unreachable). Strategies never see workloads, so this is where
/// mark-sweep's `factor` gets its base: `-S factor=2 -S min_heap=auto`. The value is computed
/// once per (workload, parameters, seed) in a process and recorded in the run record.
fn resolve_auto(spec: &RunSpec) -> Result<RunSpec, RunError> {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    type Key = (String, Vec<String>, u64);
    static CACHE: OnceLock<Mutex<HashMap<Key, u64>>> = OnceLock::new();
    let mut out = spec.clone();
    for (k, v) in out.strategy_params.iter_mut() {
        if v != "auto" {
            continue;
        }
        if k != "min_heap" {
            return Err(RunError::Other(format!(
                "strategy parameter {k}=auto: only min_heap=auto is computed (from the workload)"
            )));
        }
        let Source::Workload { name, params } = &spec.source else {
            return Err(RunError::Other(
                "min_heap=auto needs a workload, not a trace; pass min_heap=BYTES".into(),
            ));
        };
        let key = (name.clone(), params.clone(), spec.seed);
        let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
        let known = cache.lock().ok().and_then(|c| c.get(&key).copied());
        let bytes = match known {
            Some(b) => b,
            None => {
                let b = gclab_workloads::min_heap(name, params, spec.seed)
                    .map_err(|e| RunError::Other(format!("min_heap=auto: {e}")))?;
                if let Ok(mut c) = cache.lock() {
                    c.insert(key, b);
                }
                b
            }
        };
        *v = bytes.to_string();
    }
    Ok(out)
}

fn run_with<S: Strategy>(
    spec: &RunSpec,
    strategy: S,
    sampling: Sampling,
) -> Result<RunOutput, RunError> {
    // A strategy with a heap budget (mark-sweep) runs under it: the executor then ends the run
    // as out of memory when live bytes still exceed the budget after the strategy collected.
    let max_heap = match (spec.max_heap, strategy.heap_budget()) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let cfg = ExecConfig {
        verify: spec.verify,
        max_heap,
    };
    let t0 = Instant::now();
    let (header, mut ex, result) = match &spec.source {
        Source::Workload { name, params } => {
            let built = gclab_workloads::find(name, params)?;
            let header = workload::stream_header(name, &built.params, &*built.workload, spec.seed);
            let mut ex = Executor::new(strategy, &header, cfg);
            ex.sample_timeline(sampling.every, sampling.garbage);
            let r = workload::stream(name, &built.params, &*built.workload, spec.seed, &mut ex)
                .map(|_| ());
            (header, ex, r)
        }
        Source::Trace(path) => {
            let mut reader = trace::open_file(path)?;
            let header = reader.header().clone();
            let mut ex = Executor::new(strategy, &header, cfg);
            ex.sample_timeline(sampling.every, sampling.garbage);
            let r = match reader.feed(&mut ex) {
                Ok(_) => Ok(()),
                Err(TraceError::Stopped(stop)) => Err(stop),
                Err(e) => return Err(RunError::Trace(e)),
            };
            (header, ex, r)
        }
    };
    let (status, stop_reason) = match result {
        Ok(()) => {
            ex.finish().map_err(RunError::Exec)?;
            (Status::Ok, None)
        }
        Err(stop @ Stop::OutOfMemory { .. }) => (Status::OutOfMemory, Some(stop.to_string())),
        Err(stop) => return Err(RunError::Exec(stop)),
    };
    // Timeline sampling (the oracle) is the harness's cost, not the run's.
    let wall_ns = (t0.elapsed().as_nanos() as u64).saturating_sub(ex.timeline_ns());
    Ok(make_output(
        spec,
        &header,
        ex.report(),
        status,
        stop_reason,
        wall_ns,
    ))
}

fn make_output(
    spec: &RunSpec,
    header: &gclab_core::StreamHeader,
    report: ExecReport,
    status: Status,
    stop_reason: Option<String>,
    wall_ns: u64,
) -> RunOutput {
    let acct: &Accounting = &report.accounting;
    let collections = report.collections;
    let collector_ns: u64 = collections.iter().map(|c| c.duration_ns).sum();
    let max_pause_ns = collections.iter().map(|c| c.duration_ns).max().unwrap_or(0);
    let record = RunRecord {
        schema: "gclab.run/1".into(),
        status,
        stop_reason,
        strategy: spec.strategy.clone(),
        strategy_params: spec.strategy_params.iter().cloned().collect(),
        workload: header.workload.clone(),
        workload_params: header.params.iter().cloned().collect(),
        trace: match &spec.source {
            Source::Trace(p) => Some(p.display().to_string()),
            Source::Workload { .. } => None,
        },
        seed: header.seed,
        ops: report.work.ops,
        allocations: acct.allocations(),
        frees: acct.frees(),
        allocations_by_kind: reported_by_kind(&acct.allocs_by_kind)
            .map(|(k, n)| (k.name().to_string(), n))
            .collect(),
        bytes_allocated: acct.bytes_allocated,
        peak_live_objects: acct.peak_objects,
        peak_live_bytes: acct.peak_bytes,
        collections: collections.len() as u64,
        collected: collections.iter().map(|c| c.freed).sum(),
        gc_collect_returned: report.gc_collect_returned,
        live_end_objects: acct.live_objects,
        live_end_bytes: acct.live_bytes,
        leaked_objects: report.leaked_objects,
        leaked_bytes: report.leaked_bytes,
        work: report.work,
        strategy_stats: report.strategy_stats,
        cow: report.cow,
        probes: report.probes,
        verify: report.verify,
        time: Timing {
            wall_ns,
            mutator_ns: wall_ns.saturating_sub(collector_ns),
            collector_ns,
            max_pause_ns,
        },
        provenance: Provenance::current(),
    };
    RunOutput {
        record,
        collections,
        timeline: report.timeline,
    }
}

/// A sink that discards ops: lets a caller time stream generation alone.
pub struct NullSink;
impl OpSink for NullSink {
    fn ops(&mut self, _ops: &[gclab_core::Op]) -> Result<(), Stop> {
        Ok(())
    }
}
