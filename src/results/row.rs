//! The row of `runs.jsonl`: one cell of an experiment, its run record and its metrics.

use super::RunRecord;
use crate::metrics::{self, Percentiles};
use crate::provenance::Provenance;
use gclab_core::executor::TimelineSample;
use gclab_core::recorder::CollectionRecord;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Schema of a sweep row.
pub const ROW_SCHEMA: &str = "gclab.sweep-row/1";

/// How a cell ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CellStatus {
    /// The run completed.
    Ok,
    /// The run exceeded its simulated memory budget; its figures are those at the stop.
    OutOfMemory,
    /// The run could not be carried out (an error, or a panic inside the cell).
    Failed,
}

/// Deterministic metrics derived from a run (identical on every machine).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Total deterministic cost: ops + reference-count writes + objects visited + references
    /// traversed + collector header writes.
    pub work_total: u64,
    /// Explicitly identifiable collector cost: work units inside collections.
    pub work_collector: u64,
    /// Distilled cost (`work_total - work_collector`), for LBO.
    pub work_distilled: u64,
    /// Length of the work clock (ops plus collection work) that MMU is computed on.
    pub work_clock: u64,
    /// Pause lengths in work units.
    pub pauses_work: Percentiles,
    /// Exact MMU curve on the work clock: `(window, utilisation)`.
    pub mmu_work: Vec<(u64, f64)>,
    /// Largest garbage retained (unreachable bytes not yet freed) at a timeline sample.
    pub garbage_peak_bytes: Option<u64>,
    /// Mean garbage retained over the timeline samples.
    pub garbage_mean_bytes: Option<u64>,
}

/// Wall-clock metrics (vary between runs and machines).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WallMetrics {
    /// Total wall time, ns.
    pub wall_ns: u64,
    /// Wall time outside collections, ns.
    pub mutator_ns: u64,
    /// Wall time inside collections, ns.
    pub collector_ns: u64,
    /// CPU time of the thread that ran the cell, ns.
    pub cpu_ns: u64,
    /// Pause lengths, ns.
    pub pauses_ns: Percentiles,
    /// Exact MMU curve on the wall clock: `(window ns, utilisation)`.
    pub mmu_wall: Vec<(u64, f64)>,
    /// Ops per second.
    pub ops_per_sec: f64,
    /// Peak RSS of the whole sweep process when the cell ended, bytes.
    pub process_peak_rss_bytes: u64,
}

/// How the row was scheduled (not deterministic).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sched {
    /// `I/N`.
    pub shard: String,
    /// Threads of the sweep.
    pub threads: usize,
    /// Slurm job and array task, if any.
    pub slurm: Option<String>,
}

/// One line of `runs.jsonl`: a cell of the plan and how it ran.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunRow {
    /// Row schema.
    pub schema: String,
    /// Experiment name.
    pub experiment: String,
    /// The cell's key.
    pub cell: String,
    /// The cell's position in the plan.
    pub index: usize,
    /// Strategy label.
    pub strategy: String,
    /// Workload label.
    pub workload: String,
    /// Master seed.
    pub master_seed: u64,
    /// Replicate.
    pub replicate: u32,
    /// The stream's seed.
    pub seed: u64,
    /// How the seed was derived.
    pub seed_hash: String,
    /// How the cell ended.
    pub status: CellStatus,
    /// The error or panic message of a failed cell.
    pub error: Option<String>,
    /// The run record (absent for a failed cell).
    pub run: Option<RunRecord>,
    /// Deterministic metrics.
    pub metrics: Option<Metrics>,
    /// Sidecar with the heap timeline (and pause log), relative to the results file.
    pub sidecar: Option<String>,
    /// Wall-clock metrics.
    pub wall: Option<WallMetrics>,
    /// Scheduling.
    pub sched: Sched,
    /// Provenance of the sweep process.
    pub provenance: Provenance,
}

impl Metrics {
    /// The deterministic metrics of a run, from its record, its collections and its timeline.
    /// A new deterministic metric is a field of [`Metrics`] and a line here.
    pub fn derive(
        record: &RunRecord,
        collections: &[CollectionRecord],
        timeline: &[TimelineSample],
    ) -> Metrics {
        let w = &record.work;
        let work_total =
            w.ops + w.rc_writes + w.objects_visited + w.refs_traversed + w.gc_header_writes;
        let work_collector: u64 = collections.iter().map(|c| c.work).sum();
        let (spans, clock) = metrics::work_clock(collections, record.ops);
        let garbage: Vec<u64> = timeline.iter().filter_map(|t| t.garbage_bytes).collect();
        Metrics {
            work_total,
            work_collector,
            work_distilled: work_total.saturating_sub(work_collector),
            work_clock: clock,
            pauses_work: Percentiles::of(collections.iter().map(|c| c.work)),
            mmu_work: metrics::mmu_curve(&spans, clock),
            garbage_peak_bytes: garbage.iter().copied().max(),
            garbage_mean_bytes: (!garbage.is_empty())
                .then(|| garbage.iter().sum::<u64>() / garbage.len() as u64),
        }
    }
}

impl WallMetrics {
    /// The wall-clock metrics of a run: its record's timing, its collections' durations, the
    /// thread CPU time `cpu_ns` and the process's peak RSS `peak_rss_bytes`, both measured by the
    /// caller. A new wall-clock metric is a field of [`WallMetrics`] and a line here.
    pub fn derive(
        record: &RunRecord,
        collections: &[CollectionRecord],
        cpu_ns: u64,
        peak_rss_bytes: u64,
    ) -> WallMetrics {
        let t = &record.time;
        let (spans, total) = metrics::wall_clock(collections, t.wall_ns);
        WallMetrics {
            wall_ns: t.wall_ns,
            mutator_ns: t.mutator_ns,
            collector_ns: t.collector_ns,
            cpu_ns,
            pauses_ns: Percentiles::of(collections.iter().map(|c| c.duration_ns)),
            mmu_wall: metrics::mmu_curve(&spans, total),
            ops_per_sec: if t.wall_ns > 0 {
                record.ops as f64 * 1e9 / t.wall_ns as f64
            } else {
                0.0
            },
            process_peak_rss_bytes: peak_rss_bytes,
        }
    }
}

impl RunRow {
    /// The row without anything that depends on the machine, the time, the thread count or
    /// the shard: what must be identical across reruns.
    pub fn deterministic(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(self).unwrap_or(serde_json::Value::Null);
        if let Some(m) = v.as_object_mut() {
            m.remove("wall");
            m.remove("sched");
            m.remove("provenance");
            if let Some(r) = &self.run {
                m.insert("run".into(), r.deterministic());
            }
        }
        v
    }
}

/// The deterministic projection of rows keyed by cell (for comparisons).
pub fn deterministic_by_cell(rows: &[RunRow]) -> BTreeMap<String, serde_json::Value> {
    rows.iter()
        .map(|r| (r.cell.clone(), r.deterministic()))
        .collect()
}
