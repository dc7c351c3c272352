//! Two result sets, or two strategies of one, compared metric by metric (`gclab compare`).
//!
//! A side is a loaded [`ResultSet`] or the rows of a `runs.jsonl` file ([`Source`]). Runs are
//! matched by their cell: workload label, strategy label and stream seed (the seed is derived
//! from the master seed, the workload, its resolved parameters and the replicate, so equal
//! seeds mean equal streams). When two strategies are compared ([`Options::strategies`]), A
//! keeps the runs of the first and B those of the second, matched on workload and seed. The
//! matched runs of one (workload, strategy) group are its replicates:
//!
//! * deterministic metrics ([`metric::DETERMINISTIC`]) get each side's mean over them, computed
//!   exactly from integer sums, the exact difference, the relative difference and how many
//!   matched runs differ at all;
//! * wall-clock metrics ([`metric::WALL`]) get the ratio of medians B/A with its 95% paired
//!   bootstrap interval ([`crate::metrics::bootstrap_median_ratio`], fixed seed) and a verdict.
//!
//! Cells on one side only are listed, not compared; so are runs that did not complete. The
//! tables are drawn by [`render`].

pub mod metric;
mod render;

use crate::metrics::{bootstrap_median_ratio, RatioCi};
use crate::results::{read_rows, ResultSet, ResultsError, Run, RunRow};
use metric::MetricDef;
pub use render::{render, Format};
use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Bootstrap resamples per wall-clock metric.
pub const RESAMPLES: usize = 10_000;
/// Seed of the bootstrap's random stream: the same intervals on every run.
pub const BOOTSTRAP_SEED: u64 = 0x6763_6c61_6263_6d70;
/// Matched runs a verdict needs. With `n` pairs, a percentile bootstrap calls a difference
/// significant whenever every pair moves the same way, which happens by chance with
/// probability `2 / 2^n` when there is no difference: 50% for 2 runs, 25% for 3, 6% for 5,
/// 3% for 6. Below 6 the interval is printed but no verdict is given (`docs/compare.md`).
pub const MIN_RUNS_FOR_VERDICT: usize = 6;

/// Why two sides could not be compared. Everything but a file that cannot be read is bad
/// input.
#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    /// The path does not exist.
    #[error("{0}: no such file or directory; give a results directory (holding experiment.toml and runs.jsonl) or a runs.jsonl file")]
    Missing(PathBuf),
    /// The path exists but is not a result set.
    #[error("{path} is not a result set ({why}); give a results directory (holding experiment.toml and runs.jsonl) or a runs.jsonl file")]
    NotAResultSet {
        /// The path.
        path: PathBuf,
        /// What is missing.
        why: String,
    },
    /// Reading the result set failed.
    #[error(transparent)]
    Results(#[from] ResultsError),
    /// A side has two completed rows for one cell.
    #[error("{path} has two completed rows for cell {cell}; a result set holds each cell once")]
    Duplicate {
        /// The side's path.
        path: PathBuf,
        /// The cell's key.
        cell: String,
    },
    /// A strategy named with `--strategies` is not in its side.
    #[error("strategy '{name}' is not in {side}; its strategies: {}", valid.join(", "))]
    UnknownStrategy {
        /// The name given.
        name: String,
        /// The side, as `A (path)`.
        side: String,
        /// The side's strategy labels.
        valid: Vec<String>,
    },
    /// A workload named with `--workload` is on neither side.
    #[error("workload '{name}' is on neither side; the workloads: {}", valid.join(", "))]
    UnknownWorkload {
        /// The name given.
        name: String,
        /// The workload labels of both sides.
        valid: Vec<String>,
    },
    /// A metric name that is no metric's path or the end of one.
    #[error("unknown metric '{name}'; `all`, or one of: {}", valid.join(", "))]
    UnknownMetric {
        /// The name given.
        name: String,
        /// Every metric's path.
        valid: Vec<String>,
    },
    /// A metric name that ends more than one metric's path.
    #[error("metric '{name}' is ambiguous: {}", candidates.join(", "))]
    AmbiguousMetric {
        /// The name given.
        name: String,
        /// The paths it ends.
        candidates: Vec<String>,
    },
    /// No completed run of A has a matching run in B.
    #[error("A and B share no cells (a cell is a workload, a strategy and a stream seed).\n  A has {a}\n  B has {b}")]
    NoSharedCells {
        /// What A has, briefly.
        a: String,
        /// What B has, briefly.
        b: String,
    },
}

/// One side of a comparison as read from disk.
#[derive(Debug)]
pub enum Source {
    /// A results directory, loaded.
    Set(Box<ResultSet>),
    /// The rows of a `runs.jsonl` file (a shard, a copy), without an experiment.
    File {
        /// The file.
        path: PathBuf,
        /// Its rows, in plan order.
        rows: Vec<RunRow>,
    },
}

impl Source {
    /// Reads a results directory (or its `experiment.toml`) as a [`ResultSet`], or any other
    /// file as `runs.jsonl` rows.
    pub fn load(path: &Path) -> Result<Source, CompareError> {
        if !path.exists() {
            return Err(CompareError::Missing(path.to_path_buf()));
        }
        let dir = match path.file_name() {
            Some(n) if n == "experiment.toml" && path.is_file() => path.parent(),
            _ if path.is_dir() => Some(path),
            _ => None,
        };
        if let Some(dir) = dir {
            if !dir.join("experiment.toml").is_file() {
                return Err(CompareError::NotAResultSet {
                    path: path.to_path_buf(),
                    why: "no experiment.toml in it".into(),
                });
            }
            return Ok(Source::Set(Box::new(ResultSet::load(dir)?)));
        }
        let (mut rows, _) = read_rows(path).map_err(|e| match e {
            ResultsError::BadRow { .. } => CompareError::NotAResultSet {
                path: path.to_path_buf(),
                why: e.to_string(),
            },
            e => CompareError::Results(e),
        })?;
        if rows.is_empty() {
            return Err(CompareError::NotAResultSet {
                path: path.to_path_buf(),
                why: "no rows".into(),
            });
        }
        rows.sort_by_key(|r| r.index);
        Ok(Source::File {
            path: path.to_path_buf(),
            rows,
        })
    }

    /// Its rows, in plan order.
    pub fn rows(&self) -> &[RunRow] {
        match self {
            Source::Set(rs) => rs.rows(),
            Source::File { rows, .. } => rows,
        }
    }

    /// Where it was read from.
    pub fn path(&self) -> &Path {
        match self {
            Source::Set(rs) => &rs.exp().dir,
            Source::File { path, .. } => path,
        }
    }

    /// The strategy labels of its rows, in order of first appearance.
    pub fn strategies(&self) -> Vec<String> {
        distinct(self.rows().iter().map(|r| r.strategy.as_str()))
    }

    /// The workload labels of its rows, in order of first appearance.
    pub fn workloads(&self) -> Vec<String> {
        distinct(self.rows().iter().map(|r| r.workload.as_str()))
    }
}

/// At most twelve names joined, then how many more.
fn few(names: &[String]) -> String {
    let mut s = names
        .iter()
        .take(12)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > 12 {
        s.push_str(&format!(" and {} more", names.len() - 12));
    }
    s
}

fn distinct<'a>(items: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in items {
        if !out.iter().any(|x| x == s) {
            out.push(s.to_string());
        }
    }
    out
}

/// What to compare.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Compare A's runs of the first strategy with B's runs of the second, on workload and
    /// seed; `None`: every cell the two sides share.
    pub strategies: Option<(String, String)>,
    /// Only these workloads (all if empty).
    pub workloads: Vec<String>,
    /// Metric names ([`metric::select`]): none for the headline metrics, `all` for all.
    pub metrics: Vec<String>,
    /// Keep only the rows that show a difference: a deterministic metric on which some
    /// matched run differs, a wall-clock metric with a verdict other than no difference.
    pub changed_only: bool,
}

/// The values of one metric on the matched runs of a group, one per run on each side (`None`
/// for a side where some run lacks it).
#[derive(Clone, Debug, PartialEq)]
pub struct Values<T> {
    /// The metric.
    pub metric: MetricDef,
    /// A's values, in run order.
    pub a: Option<Vec<T>>,
    /// B's values, paired with A's.
    pub b: Option<Vec<T>>,
}

/// A wall-clock metric's comparison.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Estimate {
    /// Fewer than two matched runs: no interval.
    TooFew(usize),
    /// Some run lacks the metric.
    Missing,
    /// Every value is zero on both sides (no collections, say).
    BothZero,
    /// Some value is zero (or not positive): a ratio is not defined.
    Undefined,
    /// The ratio of medians and its interval, from this many matched runs.
    Ratio(RatioCi, usize),
}

/// What a ratio's interval says (given enough runs, [`MIN_RUNS_FOR_VERDICT`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The interval lies below 1.
    Lower,
    /// The interval lies above 1.
    Higher,
    /// The interval contains 1.
    NoDifference,
}

impl Estimate {
    /// The estimate from paired values (`None` when a side lacks them).
    pub fn of(a: Option<&[f64]>, b: Option<&[f64]>) -> Estimate {
        let (Some(a), Some(b)) = (a, b) else {
            return Estimate::Missing;
        };
        if a.len() < 2 {
            return Estimate::TooFew(a.len());
        }
        if a.iter().chain(b).all(|x| *x == 0.0) {
            return Estimate::BothZero;
        }
        bootstrap_median_ratio(a, b, RESAMPLES, BOOTSTRAP_SEED)
            .map_or(Estimate::Undefined, |ci| Estimate::Ratio(ci, a.len()))
    }

    /// The verdict of a ratio's interval: `None` without an interval or with fewer than
    /// [`MIN_RUNS_FOR_VERDICT`] runs.
    pub fn verdict(&self) -> Option<Verdict> {
        match self {
            Estimate::Ratio(_, n) if *n < MIN_RUNS_FOR_VERDICT => None,
            Estimate::Ratio(ci, _) if ci.low > 1.0 => Some(Verdict::Higher),
            Estimate::Ratio(ci, _) if ci.high < 1.0 => Some(Verdict::Lower),
            Estimate::Ratio(..) => Some(Verdict::NoDifference),
            _ => None,
        }
    }
}

/// The comparison of one group: a workload (and a strategy, when whole sets are compared).
#[derive(Clone, Debug, PartialEq)]
pub struct GroupCmp {
    /// Workload label.
    pub workload: String,
    /// Strategy label (`None` when two strategies are compared).
    pub strategy: Option<String>,
    /// Matched runs.
    pub runs: usize,
    /// Deterministic metrics, exact.
    pub deterministic: Vec<Values<u64>>,
    /// Wall-clock metrics with their estimates.
    pub wall: Vec<(Values<f64>, Estimate)>,
}

/// Runs of a group found on one side only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OneSided {
    /// Workload label.
    pub workload: String,
    /// Strategy label (`None` when two strategies are compared).
    pub strategy: Option<String>,
    /// How many runs.
    pub runs: usize,
}

/// A whole comparison, ready to render.
#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    /// A's path.
    pub a: PathBuf,
    /// B's path.
    pub b: PathBuf,
    /// The two strategies, when strategies are compared.
    pub strategies: Option<(String, String)>,
    /// The groups, in A's plan order.
    pub groups: Vec<GroupCmp>,
    /// Runs on A only.
    pub only_a: Vec<OneSided>,
    /// Runs on B only.
    pub only_b: Vec<OneSided>,
    /// Rows that did not complete (out of memory, failed) on A and on B.
    pub incomplete: (usize, usize),
    /// Metric rows left out by [`Options::changed_only`].
    pub unchanged: usize,
}

impl Comparison {
    /// Matched runs in all groups.
    pub fn matched(&self) -> usize {
        self.groups.iter().map(|g| g.runs).sum()
    }
}

/// A completed run with its serialised row (metrics are read by path).
struct Keyed<'a> {
    row: &'a RunRow,
    json: Value,
}

/// A run of A and the run of B on the same cell.
type Pair<'k, 'a> = (&'k Keyed<'a>, &'k Keyed<'a>);

/// A run's cell in the comparison: workload, strategy (empty when strategies are compared)
/// and stream seed.
type Key = (String, String, u64);

/// The completed runs of `src` (of one strategy, if given; of the given workloads, if any),
/// keyed, and how many selected rows did not complete.
fn keyed<'a>(
    src: &'a Source,
    strategy: Option<&str>,
    workloads: &[String],
) -> Result<(Vec<(Key, Keyed<'a>)>, usize), CompareError> {
    let mut out: Vec<(Key, Keyed<'a>)> = Vec::new();
    let mut seen = HashMap::new();
    let mut incomplete = 0;
    let rows = src.rows().iter().filter(|r| {
        strategy.is_none_or(|s| r.strategy == s)
            && (workloads.is_empty() || workloads.contains(&r.workload))
    });
    for row in rows {
        if Run::completed(row).is_none() {
            incomplete += 1;
            continue;
        }
        let key = (
            row.workload.clone(),
            if strategy.is_some() {
                String::new()
            } else {
                row.strategy.clone()
            },
            row.seed,
        );
        if seen.insert(key.clone(), ()).is_some() {
            return Err(CompareError::Duplicate {
                path: src.path().to_path_buf(),
                cell: row.cell.clone(),
            });
        }
        let json = serde_json::to_value(row).unwrap_or(Value::Null);
        out.push((key, Keyed { row, json }));
    }
    Ok((out, incomplete))
}

/// Checks the names of `opts` against the two sides.
fn check_names(a: &Source, b: &Source, opts: &Options) -> Result<(), CompareError> {
    if let Some((sa, sb)) = &opts.strategies {
        for (src, name, which) in [(a, sa, "A"), (b, sb, "B")] {
            let valid = src.strategies();
            if !valid.contains(name) {
                return Err(CompareError::UnknownStrategy {
                    name: name.clone(),
                    side: format!("{which} ({})", src.path().display()),
                    valid,
                });
            }
        }
    }
    let mut all = a.workloads();
    for w in b.workloads() {
        if !all.contains(&w) {
            all.push(w);
        }
    }
    if let Some(w) = opts.workloads.iter().find(|w| !all.contains(w)) {
        return Err(CompareError::UnknownWorkload {
            name: w.clone(),
            valid: all,
        });
    }
    Ok(())
}

/// What a side has, in a line: its workloads and strategies.
fn brief(runs: &[(Key, Keyed<'_>)], src: &Source, strategy: Option<&str>) -> String {
    let what = |f: fn(&RunRow) -> &str| few(&distinct(runs.iter().map(|(_, k)| f(k.row))));
    let at = src.path().display();
    match (runs.is_empty(), strategy) {
        (true, _) => format!("no completed runs to compare ({at})"),
        (false, Some(s)) => format!("strategy {s} on workloads {} ({at})", what(|r| &r.workload)),
        (false, None) => format!(
            "workloads {}; strategies {} ({at})",
            what(|r| &r.workload),
            what(|r| &r.strategy)
        ),
    }
}

/// Runs grouped by (workload, strategy), counted, in order.
fn one_sided<'k>(runs: impl Iterator<Item = &'k Key>, by_strategy: bool) -> Vec<OneSided> {
    let mut out: Vec<OneSided> = Vec::new();
    for (w, s, _) in runs {
        let strategy = by_strategy.then(|| s.clone());
        match out
            .iter_mut()
            .find(|o| o.workload == *w && o.strategy == strategy)
        {
            Some(o) => o.runs += 1,
            None => out.push(OneSided {
                workload: w.clone(),
                strategy,
                runs: 1,
            }),
        }
    }
    out
}

/// Runs grouped by (workload, strategy), each with its pairs.
type Groups<'k, 'a> = Vec<((String, String), Vec<Pair<'k, 'a>>)>;

/// The runs of A paired with B's runs of the same key, grouped by (workload, strategy) in A's
/// order; and the keys of the runs on A only and on B only.
fn pair_up<'k, 'a>(
    runs_a: &'k [(Key, Keyed<'a>)],
    runs_b: &'k [(Key, Keyed<'a>)],
) -> (Groups<'k, 'a>, Vec<&'k Key>, Vec<&'k Key>) {
    let index_b: HashMap<&Key, usize> = runs_b
        .iter()
        .enumerate()
        .map(|(i, (k, _))| (k, i))
        .collect();
    let mut groups: Groups<'k, 'a> = Vec::new();
    let mut matched_b = vec![false; runs_b.len()];
    let mut only_a = Vec::new();
    for (key, ka) in runs_a {
        let Some(&ib) = index_b.get(key) else {
            only_a.push(key);
            continue;
        };
        matched_b[ib] = true;
        let g = (key.0.clone(), key.1.clone());
        let pair = (ka, &runs_b[ib].1);
        match groups.iter_mut().find(|(k, _)| *k == g) {
            Some((_, pairs)) => pairs.push(pair),
            None => groups.push((g, vec![pair])),
        }
    }
    let only_b = runs_b
        .iter()
        .zip(&matched_b)
        .filter(|(_, m)| !**m)
        .map(|((k, _), _)| k)
        .collect();
    (groups, only_a, only_b)
}

/// Compares `b` against `a`.
pub fn compare(a: &Source, b: &Source, opts: &Options) -> Result<Comparison, CompareError> {
    let (det, wall) = metric::select(&opts.metrics)?;
    check_names(a, b, opts)?;
    let (sa, sb) = match &opts.strategies {
        Some((x, y)) => (Some(x.as_str()), Some(y.as_str())),
        None => (None, None),
    };
    let (runs_a, inc_a) = keyed(a, sa, &opts.workloads)?;
    let (runs_b, inc_b) = keyed(b, sb, &opts.workloads)?;
    let (groups, only_a, only_b) = pair_up(&runs_a, &runs_b);
    if groups.is_empty() {
        return Err(CompareError::NoSharedCells {
            a: brief(&runs_a, a, sa),
            b: brief(&runs_b, b, sb),
        });
    }
    let by_strategy = opts.strategies.is_none();
    let mut unchanged = 0;
    let mut keep = |changed: bool| {
        let keep = changed || !opts.changed_only;
        unchanged += usize::from(!keep);
        keep
    };
    let mut out = Vec::new();
    for ((w, s), pairs) in groups {
        let deterministic = values(&det, &pairs, Value::as_u64)
            .into_iter()
            .filter(|v| v.a.is_some() || v.b.is_some())
            .filter(|v| keep(v.a.is_none() || v.b.is_none() || v.a != v.b))
            .collect();
        let wall = values(&wall, &pairs, Value::as_f64)
            .into_iter()
            .filter(|v| v.a.is_some() || v.b.is_some())
            .map(|v| {
                let e = Estimate::of(v.a.as_deref(), v.b.as_deref());
                (v, e)
            })
            .filter(|(_, e)| {
                keep(matches!(
                    e.verdict(),
                    Some(Verdict::Lower | Verdict::Higher)
                ))
            })
            .collect();
        out.push(GroupCmp {
            workload: w,
            strategy: by_strategy.then_some(s),
            runs: pairs.len(),
            deterministic,
            wall,
        });
    }
    Ok(Comparison {
        a: a.path().to_path_buf(),
        b: b.path().to_path_buf(),
        strategies: opts.strategies.clone(),
        groups: out,
        only_a: one_sided(only_a.into_iter(), by_strategy),
        only_b: one_sided(only_b.into_iter(), by_strategy),
        incomplete: (inc_a, inc_b),
        unchanged,
    })
}

/// Each metric's values on both sides of the pairs, read by `get` from the serialised rows.
fn values<T>(
    metrics: &[MetricDef],
    pairs: &[Pair<'_, '_>],
    get: fn(&Value) -> Option<T>,
) -> Vec<Values<T>> {
    metrics
        .iter()
        .map(|m| {
            let p = m.pointer();
            let side = |of_b: bool| {
                pairs
                    .iter()
                    .map(|(x, y)| if of_b { y } else { x })
                    .map(|k| k.json.pointer(&p).and_then(get))
                    .collect::<Option<Vec<T>>>()
            };
            Values {
                metric: *m,
                a: side(false),
                b: side(true),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;
