//! A result set, loaded: the experiment and its rows, read once, with views that group the
//! completed runs by (workload, strategy). Plots and reports are functions of this and of
//! nothing else.

use super::WallMetrics;
use super::{read_rows, read_sidecar, CellStatus, Metrics, ResultsError, RunRecord, RunRow};
use crate::experiment::Experiment;
use std::path::Path;
use std::sync::OnceLock;

/// A heap timeline of one group: `(workload, strategy, samples)`; see [`super::Sidecar`].
pub type Timeline = (String, String, Vec<[i64; 5]>);

/// One completed run: a view of a row whose cell ran to its end, with its record and metrics.
#[derive(Clone, Copy, Debug)]
pub struct Run<'a> {
    row: &'a RunRow,
    record: &'a RunRecord,
    metrics: &'a Metrics,
}

impl<'a> Run<'a> {
    /// The view of `row` if its cell completed (status ok, with a record and metrics).
    pub fn completed(row: &'a RunRow) -> Option<Run<'a>> {
        if row.status != CellStatus::Ok {
            return None;
        }
        Some(Run {
            row,
            record: row.run.as_ref()?,
            metrics: row.metrics.as_ref()?,
        })
    }

    /// The row.
    pub fn row(&self) -> &'a RunRow {
        self.row
    }

    /// The run record.
    pub fn record(&self) -> &'a RunRecord {
        self.record
    }

    /// The deterministic metrics.
    pub fn metrics(&self) -> &'a Metrics {
        self.metrics
    }

    /// The wall-clock metrics, if the row has them.
    pub fn wall(&self) -> Option<&'a WallMetrics> {
        self.row.wall.as_ref()
    }
}

/// The completed runs of one (workload, strategy) pair, in replicate order.
#[derive(Clone, Debug)]
pub struct Group<'a> {
    /// Workload label.
    pub workload: &'a str,
    /// Strategy label.
    pub strategy: &'a str,
    /// Completed runs.
    pub runs: Vec<Run<'a>>,
}

/// Where a group's rows are: indices into the experiment's labels and into the rows.
#[derive(Clone, Debug)]
struct GroupRows {
    workload: usize,
    strategy: usize,
    rows: Vec<usize>,
}

/// A results directory, read: the experiment and every row, in plan order.
#[derive(Clone, Debug)]
pub struct ResultSet {
    exp: Experiment,
    rows: Vec<RunRow>,
    groups: Vec<GroupRows>,
    timelines: OnceLock<Vec<Timeline>>,
}

impl ResultSet {
    /// Reads `dir/experiment.toml` and `dir/runs.jsonl`.
    pub fn load(dir: &Path) -> Result<ResultSet, ResultsError> {
        let exp = Experiment::load(dir)?;
        let (rows, _) = read_rows(&dir.join("runs.jsonl"))?;
        if rows.is_empty() {
            return Err(ResultsError::Empty(dir.display().to_string()));
        }
        Ok(ResultSet::from_rows(exp, rows))
    }

    /// The result set of `exp` with these rows.
    pub fn from_rows(exp: Experiment, mut rows: Vec<RunRow>) -> ResultSet {
        rows.sort_by_key(|r| r.index);
        let mut groups = Vec::new();
        for (wi, w) in exp.workloads.iter().enumerate() {
            for (si, s) in exp.strategies.iter().enumerate() {
                let of_group = rows
                    .iter()
                    .enumerate()
                    .filter(|(_, r)| r.workload == w.label && r.strategy == s.label)
                    .filter(|(_, r)| Run::completed(r).is_some())
                    .map(|(i, _)| i)
                    .collect();
                groups.push(GroupRows {
                    workload: wi,
                    strategy: si,
                    rows: of_group,
                });
            }
        }
        ResultSet {
            exp,
            rows,
            groups,
            timelines: OnceLock::new(),
        }
    }

    /// The experiment.
    pub fn exp(&self) -> &Experiment {
        &self.exp
    }

    /// Every row, in plan order.
    pub fn rows(&self) -> &[RunRow] {
        &self.rows
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

    fn view(&self, g: &GroupRows) -> Group<'_> {
        Group {
            workload: &self.exp.workloads[g.workload].label,
            strategy: &self.exp.strategies[g.strategy].label,
            runs: g
                .rows
                .iter()
                .filter_map(|&i| Run::completed(&self.rows[i]))
                .collect(),
        }
    }

    /// Every (workload, strategy) group, workloads outer, in experiment order.
    pub fn groups(&self) -> impl Iterator<Item = Group<'_>> {
        self.groups.iter().map(|g| self.view(g))
    }

    /// The group of a (workload, strategy) pair.
    pub fn group(&self, workload: &str, strategy: &str) -> Option<Group<'_>> {
        self.groups
            .iter()
            .find(|g| {
                self.exp.workloads[g.workload].label == workload
                    && self.exp.strategies[g.strategy].label == strategy
            })
            .map(|g| self.view(g))
    }

    /// Every completed run, by group.
    pub fn runs(&self) -> impl Iterator<Item = Run<'_>> {
        self.groups
            .iter()
            .flat_map(|g| g.rows.iter().filter_map(|&i| Run::completed(&self.rows[i])))
    }

    /// The heap timeline of the first completed run of each group that has one:
    /// `(workload, strategy, samples)`. Read from the sidecars on the first call only.
    pub fn timelines(&self) -> Result<&[Timeline], ResultsError> {
        if let Some(t) = self.timelines.get() {
            return Ok(t);
        }
        let mut out = Vec::new();
        for g in self.groups() {
            if let Some(sc) = g.runs.first().and_then(|r| r.row().sidecar.as_ref()) {
                let s = read_sidecar(&self.exp.dir.join(sc))?;
                if !s.timeline.is_empty() {
                    out.push((g.workload.to_string(), g.strategy.to_string(), s.timeline));
                }
            }
        }
        Ok(self.timelines.get_or_init(|| out))
    }
}
