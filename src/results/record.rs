//! The record of one run: what `gclab run --json` prints and every row of `runs.jsonl` carries.

use crate::provenance::Provenance;
use gclab_core::executor::{ProbeRecord, VerifyReport};
use gclab_core::heap::{CowReport, Work};
use gclab_core::strategy::StrategyStats;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The stream ran to its end.
    Ok,
    /// Live bytes exceeded `--max-heap`; the figures are those at the stop.
    OutOfMemory,
}

/// Wall-clock figures of a run (these vary between runs and machines).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timing {
    /// Total wall time of the stream, ns (includes generating or decoding the ops).
    pub wall_ns: u64,
    /// Wall time outside collections, ns.
    pub mutator_ns: u64,
    /// Wall time inside collections, ns.
    pub collector_ns: u64,
    /// Longest collection, ns.
    pub max_pause_ns: u64,
}

/// One run's result: the JSON record `--json` writes. Everything but `time` and `provenance`
/// is deterministic: identical for the same spec on every machine.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// Record schema.
    pub schema: String,
    /// How the run ended.
    pub status: Status,
    /// Why it stopped early, if it did.
    pub stop_reason: Option<String>,
    /// Strategy name as selected (a preset name if one was used).
    pub strategy: String,
    /// Strategy parameters given on top of the preset.
    pub strategy_params: BTreeMap<String, String>,
    /// Workload name (for a trace, the workload recorded in it).
    pub workload: String,
    /// Workload parameters, resolved.
    pub workload_params: BTreeMap<String, String>,
    /// Trace file, if the stream was replayed from one.
    pub trace: Option<String>,
    /// Seed of the stream.
    pub seed: u64,
    /// Ops executed.
    pub ops: u64,
    /// Objects allocated.
    pub allocations: u64,
    /// Objects freed.
    pub frees: u64,
    /// Objects allocated, by kind.
    pub allocations_by_kind: BTreeMap<String, u64>,
    /// Modelled bytes allocated.
    pub bytes_allocated: u64,
    /// Peak live objects.
    pub peak_live_objects: u64,
    /// Peak live bytes.
    pub peak_live_bytes: u64,
    /// Collections run.
    pub collections: u64,
    /// Objects freed by collections (as the collector reports them).
    pub collected: u64,
    /// Sum of the values `gc.collect()` returned to the program.
    pub gc_collect_returned: u64,
    /// Objects live at the end.
    pub live_end_objects: u64,
    /// Bytes live at the end.
    pub live_end_bytes: u64,
    /// Of those, objects unreachable from the registers (leaked), per the oracle.
    pub leaked_objects: u64,
    /// Of those, bytes unreachable from the registers.
    pub leaked_bytes: u64,
    /// Deterministic work units.
    pub work: Work,
    /// The strategy's own statistics.
    pub strategy_stats: StrategyStats,
    /// Copy-on-write pages dirtied after a `fork` event.
    pub cow: CowReport,
    /// `Probe` observations.
    pub probes: Vec<ProbeRecord>,
    /// Sanity checks run under `--verify`.
    pub verify: Option<VerifyReport>,
    /// Wall-clock figures.
    pub time: Timing,
    /// Where the result came from.
    pub provenance: Provenance,
}

impl RunRecord {
    /// The record without its wall-clock and provenance fields: what must be identical across
    /// runs, machines and thread counts.
    pub fn deterministic(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(self).unwrap_or(serde_json::Value::Null);
        if let Some(m) = v.as_object_mut() {
            m.remove("time");
            m.remove("provenance");
            if let Some(vr) = m.get_mut("verify").and_then(|x| x.as_object_mut()) {
                vr.remove("ns");
            }
        }
        v
    }
}
