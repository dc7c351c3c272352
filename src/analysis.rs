//! Reading a results directory back: rows grouped by (workload, strategy), LBO, the threshold
//! trade-off. Plots and reports are functions of this, and of nothing else.

use crate::experiment::{Experiment, ExperimentError};
use crate::metrics::{mean_ci95, Percentiles};
use crate::sweep::{read_rows, read_sidecar, CellStatus, Row, SweepError};
use std::path::Path;

/// A heap timeline of one group: `(workload, strategy, samples)`; see [`crate::sweep::Sidecar`].
pub type Timeline = (String, String, Vec<[i64; 5]>);

/// One completed run, flattened for analysis.
#[derive(Clone, Debug)]
pub struct Run {
    /// The row as read.
    pub row: Row,
    /// Peak live bytes.
    pub peak_live_bytes: u64,
    /// Pauses in work units.
    pub pauses_work: Percentiles,
    /// MMU on the work clock.
    pub mmu_work: Vec<(u64, f64)>,
    /// Total deterministic cost.
    pub work_total: u64,
    /// Collector work.
    pub work_collector: u64,
    /// Distilled work.
    pub work_distilled: u64,
    /// Pauses in ns.
    pub pauses_ns: Option<Percentiles>,
    /// MMU on the wall clock.
    pub mmu_wall: Option<Vec<(u64, f64)>>,
    /// Ops per second.
    pub ops_per_sec: Option<f64>,
}

/// The runs of one (workload, strategy) pair, in replicate order.
#[derive(Clone, Debug)]
pub struct Group {
    /// Workload label.
    pub workload: String,
    /// Strategy label.
    pub strategy: String,
    /// Completed runs.
    pub runs: Vec<Run>,
}

/// A results directory, read.
#[derive(Clone, Debug)]
pub struct ResultSet {
    /// The experiment.
    pub exp: Experiment,
    /// Every row.
    pub rows: Vec<Row>,
    /// Completed runs by group.
    pub groups: Vec<Group>,
}

/// Why a results directory could not be read.
#[derive(Debug, thiserror::Error)]
pub enum AnalysisError {
    /// The experiment file.
    #[error(transparent)]
    Experiment(#[from] ExperimentError),
    /// The results file or a sidecar.
    #[error(transparent)]
    Sweep(#[from] SweepError),
    /// No results yet.
    #[error("{0} has no runs.jsonl rows; run `gclab sweep` first")]
    Empty(String),
}

impl ResultSet {
    /// Reads `dir/experiment.toml` and `dir/runs.jsonl`.
    pub fn load(dir: &Path) -> Result<ResultSet, AnalysisError> {
        let exp = Experiment::load(dir)?;
        let (rows, _) = read_rows(&dir.join("runs.jsonl"))?;
        if rows.is_empty() {
            return Err(AnalysisError::Empty(dir.display().to_string()));
        }
        Ok(ResultSet::from_rows(exp, rows))
    }

    /// Groups rows of `exp`.
    pub fn from_rows(exp: Experiment, mut rows: Vec<Row>) -> ResultSet {
        rows.sort_by_key(|r| r.index);
        let mut groups = Vec::new();
        for w in &exp.workloads {
            for s in &exp.strategies {
                let runs = rows
                    .iter()
                    .filter(|r| r.workload == w.label && r.strategy == s.label)
                    .filter(|r| r.status == CellStatus::Ok)
                    .filter_map(|r| {
                        let run = r.run.as_ref()?;
                        let m = r.metrics.as_ref()?;
                        Some(Run {
                            row: r.clone(),
                            peak_live_bytes: run.peak_live_bytes,
                            pauses_work: m.pauses_work.clone(),
                            mmu_work: m.mmu_work.clone(),
                            work_total: m.work_total,
                            work_collector: m.work_collector,
                            work_distilled: m.work_distilled,
                            pauses_ns: r.wall.as_ref().map(|x| x.pauses_ns.clone()),
                            mmu_wall: r.wall.as_ref().map(|x| x.mmu_wall.clone()),
                            ops_per_sec: r.wall.as_ref().map(|x| x.ops_per_sec),
                        })
                    })
                    .collect();
                groups.push(Group {
                    workload: w.label.clone(),
                    strategy: s.label.clone(),
                    runs,
                });
            }
        }
        ResultSet { exp, rows, groups }
    }

    /// Workload labels, in experiment order.
    pub fn workloads(&self) -> Vec<String> {
        self.exp.workloads.iter().map(|w| w.label.clone()).collect()
    }

    /// Strategy labels, in experiment order.
    pub fn strategies(&self) -> Vec<String> {
        self.exp
            .strategies
            .iter()
            .map(|s| s.label.clone())
            .collect()
    }

    /// The group of a (workload, strategy) pair.
    pub fn group(&self, workload: &str, strategy: &str) -> Option<&Group> {
        self.groups
            .iter()
            .find(|g| g.workload == workload && g.strategy == strategy)
    }

    /// Every completed run.
    pub fn runs(&self) -> impl Iterator<Item = &Run> {
        self.groups.iter().flat_map(|g| g.runs.iter())
    }

    /// The heap timeline of the first completed run of each group that has one:
    /// `(workload, strategy, samples)`.
    pub fn timelines(&self) -> Result<Vec<Timeline>, SweepError> {
        let mut out = Vec::new();
        for g in &self.groups {
            if let Some(sc) = g.runs.first().and_then(|r| r.row.sidecar.clone()) {
                let s = read_sidecar(&self.exp.dir.join(sc))?;
                if !s.timeline.is_empty() {
                    out.push((g.workload.clone(), g.strategy.clone(), s.timeline));
                }
            }
        }
        Ok(out)
    }
}

/// LBO of one strategy on one workload.
#[derive(Clone, Debug, PartialEq)]
pub struct Lbo {
    /// Workload label.
    pub workload: String,
    /// Strategy label.
    pub strategy: String,
    /// Total / MDC in deterministic work units.
    pub work: f64,
    /// Total / MDC in wall time.
    pub wall: f64,
    /// The strategy whose distilled work cost is the minimum.
    pub mdc_strategy: String,
}

/// Lower-bound overheads (methodology §1.3): per workload, the minimum distilled cost (total
/// minus collector cost, mean over replicates) across the experiment's strategies, and each
/// strategy's mean total against it, in work units and in wall time.
pub fn lbo(rs: &ResultSet) -> Vec<Lbo> {
    let mut out = Vec::new();
    for w in rs.workloads() {
        let groups: Vec<&Group> = rs
            .groups
            .iter()
            .filter(|g| g.workload == w && !g.runs.is_empty())
            .collect();
        let mean = |g: &Group, f: &dyn Fn(&Run) -> f64| {
            mean_ci95(&g.runs.iter().map(f).collect::<Vec<_>>()).0
        };
        let wall_total = |r: &Run| r.row.wall.as_ref().map_or(0.0, |x| x.wall_ns as f64);
        let wall_distilled = |r: &Run| {
            r.row
                .wall
                .as_ref()
                .map_or(0.0, |x| x.wall_ns.saturating_sub(x.collector_ns) as f64)
        };
        let mut mdc_work = f64::INFINITY;
        let mut mdc_strategy = String::new();
        let mut mdc_wall = f64::INFINITY;
        for g in &groups {
            let d = mean(g, &|r| r.work_distilled as f64);
            if d < mdc_work {
                mdc_work = d;
                mdc_strategy = g.strategy.clone();
            }
            mdc_wall = mdc_wall.min(mean(g, &wall_distilled));
        }
        for g in &groups {
            out.push(Lbo {
                workload: w.clone(),
                strategy: g.strategy.clone(),
                work: mean(g, &|r| r.work_total as f64) / mdc_work.max(1.0),
                wall: mean(g, &wall_total) / mdc_wall.max(1.0),
                mdc_strategy: mdc_strategy.clone(),
            });
        }
    }
    out
}

/// One point of the threshold trade-off.
#[derive(Clone, Debug, PartialEq)]
pub struct TradeoffPoint {
    /// Workload label.
    pub workload: String,
    /// Strategy label.
    pub strategy: String,
    /// The parameter's value.
    pub x: f64,
    /// Mean collector work, mean max pause (work units), mean peak live bytes.
    pub y: [f64; 3],
}

/// The trade-off of a strategy parameter: for each group whose strategy sets `param`
/// numerically (and positive, for the log axis), its collector work, max pause and peak memory.
pub fn tradeoff(rs: &ResultSet, param: &str) -> Vec<TradeoffPoint> {
    let mut out = Vec::new();
    for g in &rs.groups {
        let Some(cfg) = rs.exp.strategies.iter().find(|s| s.label == g.strategy) else {
            continue;
        };
        let Some(x) = cfg
            .params
            .iter()
            .rev()
            .find(|(k, _)| k == param)
            .and_then(|(_, v)| v.parse::<f64>().ok())
        else {
            continue;
        };
        if x <= 0.0 || g.runs.is_empty() {
            continue;
        }
        let m = |f: &dyn Fn(&Run) -> f64| mean_ci95(&g.runs.iter().map(f).collect::<Vec<_>>()).0;
        out.push(TradeoffPoint {
            workload: g.workload.clone(),
            strategy: g.strategy.clone(),
            x,
            y: [
                m(&|r| r.work_collector as f64),
                m(&|r| r.pauses_work.max as f64),
                m(&|r| r.peak_live_bytes as f64),
            ],
        });
    }
    out.sort_by(|a, b| {
        a.workload
            .cmp(&b.workload)
            .then(a.x.partial_cmp(&b.x).unwrap_or(std::cmp::Ordering::Equal))
    });
    out
}
