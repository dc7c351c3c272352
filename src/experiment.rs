//! Experiments as files: `results/<name>/experiment.toml` names strategies and workloads with
//! their parameters, master seeds and replicates. [`Experiment::load`] reads and validates one
//! (unknown keys are rejected with the closest valid name, errors carry line and column), and
//! [`Experiment::cells`] expands it into the sweep's cells, each with a seed derived from the
//! cell's identity alone.
//!
//! ```toml
//! description = "refcount against no collection on the guide's cycles"
//! seeds = [1]
//! replicates = 3
//! timeline_every = 1000        # heap timeline sample every K ops (0: off)
//!
//! [[strategy]]
//! name = "refcount"
//!
//! [[strategy]]
//! name = "generational"
//! params = { t1 = 10 }
//! vary = { t0 = [100, 1000, 10000] }   # one strategy per value, labelled "generational t0=100"
//!
//! [[workload]]
//! name = "cycles"
//! params = { n = 1000 }
//! ```

use crate::registry::{self, WithStrategy};
use gclab_core::strategy::Strategy;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Why an experiment file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ExperimentError {
    /// The file could not be read.
    #[error("reading {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not a valid experiment (syntax, unknown key, wrong type).
    #[error("{path}:{line}:{column}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong, with the closest valid key for an unknown one.
        message: String,
    },
    /// The file parses but names something that does not exist or cannot run.
    #[error("{path}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong and what is valid.
        message: String,
    },
}

/// A parameter value in an experiment file: a string, integer, float or boolean.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum ParamValue {
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A boolean.
    Bool(bool),
    /// A string.
    Text(String),
}

impl std::fmt::Display for ParamValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParamValue::Int(i) => write!(f, "{i}"),
            ParamValue::Float(x) => write!(f, "{x}"),
            ParamValue::Bool(b) => write!(f, "{b}"),
            ParamValue::Text(s) => write!(f, "{s}"),
        }
    }
}

/// A `[[strategy]]` or `[[workload]]` entry.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// Strategy (or preset) or workload name.
    pub name: String,
    /// Label in results and figures (default: the name, plus the varied parameters).
    pub label: Option<String>,
    /// Fixed parameters.
    #[serde(default)]
    pub params: BTreeMap<String, ParamValue>,
    /// Parameters to vary: one entry per combination of values.
    #[serde(default)]
    pub vary: BTreeMap<String, Vec<ParamValue>>,
    /// Simulated memory budget for this entry's cells (overrides the experiment's).
    pub max_heap: Option<u64>,
}

/// Options for the figures of an experiment.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlotSpec {
    /// Draw the threshold trade-off figure against this strategy parameter (log x axis).
    pub tradeoff_param: Option<String>,
    /// Figures to skip, by file stem (e.g. `"garbage"`).
    #[serde(default)]
    pub skip: Vec<String>,
    /// The file stem of the figure that shows this result's finding (the first figure of its
    /// README; `tests/figures.rs` checks it), e.g. `"pages"` or `"scatter"`.
    pub headline: Option<String>,
    /// Draw the scatter figure: one point per strategy, one panel per workload.
    pub scatter: Option<ScatterSpec>,
}

/// The axes of the scatter figure: each a dotted path into the deterministic row (as a
/// claim's metric, e.g. `run.peak_live_bytes`, `metrics.pauses_work.max`,
/// `metrics.work_collector`), or `lbo` for the lower-bound overhead in work units.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScatterSpec {
    /// The x axis.
    pub x: String,
    /// The y axis.
    pub y: String,
    /// Only these strategies (labels), in the experiment's order (empty: all).
    #[serde(default)]
    pub strategies: Vec<String>,
    /// A log y axis (zero drawn on a row of its own below a break).
    #[serde(default)]
    pub y_log: bool,
}

/// One side of a claim's comparison: a metric of a (workload, strategy) pair, averaged over
/// replicates.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricRef {
    /// Workload label.
    pub workload: String,
    /// Strategy label.
    pub strategy: String,
    /// Dotted path into the deterministic row, e.g. `run.peak_live_bytes`,
    /// `metrics.pauses_work.max`, `run.cow.dirty_pages`.
    pub metric: String,
}

/// One check of a claim: `left op factor * right + offset` (or `left op factor * value + offset`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Check {
    /// Left side.
    pub left: MetricRef,
    /// `<`, `<=`, `>`, `>=`, `==`.
    pub op: String,
    /// Right side (a metric)...
    pub right: Option<MetricRef>,
    /// ...or a constant.
    pub value: Option<f64>,
    /// Multiplies the right side (default 1).
    #[serde(default = "unit")]
    pub factor: f64,
    /// Added to the right side after the factor (default 0).
    #[serde(default)]
    pub offset: f64,
    /// What the check means, in words.
    #[serde(default)]
    pub note: String,
}

fn unit() -> f64 {
    1.0
}

/// A claim the experiment tests: it holds if every check holds, holds in part if some do.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Claim {
    /// The claim, quoted or paraphrased.
    pub text: String,
    /// Checks against the measured numbers.
    pub check: Vec<Check>,
}

/// The experiment file as written.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExperimentFile {
    /// One line saying what the experiment is about.
    #[serde(default)]
    pub description: String,
    /// The question it answers (for the README).
    #[serde(default)]
    pub question: String,
    /// Master seeds (default `[1]`).
    #[serde(default = "default_seeds")]
    pub seeds: Vec<u64>,
    /// Replicates per master seed (default 1).
    #[serde(default = "one")]
    pub replicates: u32,
    /// Simulated memory budget in bytes for every cell.
    pub max_heap: Option<u64>,
    /// Heap timeline sample every K ops (0 or absent: off).
    #[serde(default)]
    pub timeline_every: u64,
    /// Measure garbage retained (unreachable bytes not yet freed) with the oracle at each
    /// timeline sample (default true).
    #[serde(default = "yes")]
    pub garbage: bool,
    /// Keep the full pause log of each run in its sidecar file (default false).
    #[serde(default)]
    pub keep_pause_log: bool,
    /// Run every cell in sanity mode.
    #[serde(default)]
    pub verify: bool,
    /// Strategies.
    #[serde(rename = "strategy", default)]
    pub strategies: Vec<Entry>,
    /// Workloads.
    #[serde(rename = "workload", default)]
    pub workloads: Vec<Entry>,
    /// Figure options.
    #[serde(default)]
    pub plot: PlotSpec,
    /// Claims checked against the results by `gclab report`.
    #[serde(rename = "claim", default)]
    pub claims: Vec<Claim>,
}

fn default_seeds() -> Vec<u64> {
    vec![1]
}
fn one() -> u32 {
    1
}
fn yes() -> bool {
    true
}

/// A strategy of the experiment, resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct StrategyCfg {
    /// Label in results.
    pub label: String,
    /// Strategy or preset name.
    pub name: String,
    /// Parameters.
    pub params: Vec<(String, String)>,
    /// Memory budget.
    pub max_heap: Option<u64>,
}

/// A workload of the experiment, resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct WorkloadCfg {
    /// Label in results.
    pub label: String,
    /// Workload name.
    pub name: String,
    /// Parameters as given (`key=value`).
    pub params: Vec<String>,
    /// Resolved parameters (defaults filled in), canonical: they feed the seed.
    pub resolved: Vec<(String, String)>,
    /// Memory budget.
    pub max_heap: Option<u64>,
}

/// One cell of a sweep: a strategy, a workload, a master seed and a replicate.
#[derive(Clone, Debug, PartialEq)]
pub struct Cell {
    /// Position in the plan (replicates outermost, so configurations interleave).
    pub index: usize,
    /// `workload|strategy|s<master>|r<replicate>`: unique in the experiment.
    pub key: String,
    /// The strategy.
    pub strategy: StrategyCfg,
    /// The workload.
    pub workload: WorkloadCfg,
    /// Master seed.
    pub master_seed: u64,
    /// Replicate number.
    pub replicate: u32,
    /// The stream's seed: derived from (master seed, workload, resolved parameters,
    /// replicate) only, so every strategy sees the same stream (common random numbers) and
    /// nothing depends on thread, shard or order.
    pub seed: u64,
    /// Memory budget.
    pub max_heap: Option<u64>,
}

/// A loaded, validated experiment.
#[derive(Clone, Debug)]
pub struct Experiment {
    /// Its name (the directory holding `experiment.toml`).
    pub name: String,
    /// The directory holding it (results go here).
    pub dir: PathBuf,
    /// The file as written.
    pub file: ExperimentFile,
    /// Strategies, expanded.
    pub strategies: Vec<StrategyCfg>,
    /// Workloads, expanded.
    pub workloads: Vec<WorkloadCfg>,
}

/// The seed-derivation algorithm's name, recorded in every row.
pub const SEED_HASH: &str = "fnv1a64+splitmix64/1";

/// Derives a cell's seed from its identity.
pub fn cell_seed(
    master: u64,
    workload: &str,
    resolved: &[(String, String)],
    replicate: u32,
) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for &b in bytes {
            h ^= b as u64;
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        h ^= 0xff;
        h = h.wrapping_mul(0x0100_0000_01b3);
    };
    eat(b"gclab-cell-seed/1");
    eat(&master.to_le_bytes());
    eat(workload.as_bytes());
    let mut sorted: Vec<&(String, String)> = resolved.iter().collect();
    sorted.sort();
    for (k, v) in sorted {
        eat(k.as_bytes());
        eat(v.as_bytes());
    }
    eat(&replicate.to_le_bytes());
    // splitmix64 finaliser.
    let mut z = h.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// 1-based line and column of byte `offset` in `text`.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// Adds "did you mean ..." to serde's "unknown field `x`, expected one of `a`, `b`" message.
fn suggest(message: &str) -> String {
    if !message.starts_with("unknown field") && !message.starts_with("unknown variant") {
        return message.to_string();
    }
    let ticked: Vec<&str> = message.split('`').skip(1).step_by(2).collect();
    let Some((bad, valid)) = ticked.split_first() else {
        return message.to_string();
    };
    let best = valid
        .iter()
        .map(|v| (strsim::damerau_levenshtein(bad, v), *v))
        .min();
    match best {
        Some((d, v)) if d <= bad.len().max(3) => format!("{message}; did you mean `{v}`?"),
        _ => message.to_string(),
    }
}

struct Probe;
impl WithStrategy for Probe {
    type Output = ();
    fn call<S: Strategy>(self, _s: S) {}
}

fn expand(e: &Entry) -> Vec<(String, Vec<(String, String)>)> {
    let fixed: Vec<(String, String)> = e
        .params
        .iter()
        .map(|(k, v)| (k.clone(), v.to_string()))
        .collect();
    let mut combos: Vec<Vec<(String, String)>> = vec![Vec::new()];
    for (k, values) in &e.vary {
        let mut next = Vec::new();
        for c in &combos {
            for v in values {
                let mut c = c.clone();
                c.push((k.clone(), v.to_string()));
                next.push(c);
            }
        }
        combos = next;
    }
    let base = e.label.clone().unwrap_or_else(|| e.name.clone());
    combos
        .into_iter()
        .map(|varied| {
            let label = if varied.is_empty() {
                base.clone()
            } else {
                let parts: Vec<String> = varied.iter().map(|(k, v)| format!("{k}={v}")).collect();
                format!("{base} {}", parts.join(","))
            };
            let mut params = fixed.clone();
            for (k, v) in varied {
                params.retain(|(pk, _)| *pk != k);
                params.push((k, v));
            }
            (label, params)
        })
        .collect()
}

/// The TOML text as an [`ExperimentFile`]; a syntax error, unknown key or wrong type is a
/// [`ExperimentError::Parse`] with its line and column (and the closest valid key).
fn parse_file(text: &str, path: &Path) -> Result<ExperimentFile, ExperimentError> {
    toml::from_str(text).map_err(|e| {
        let (line, column) = e.span().map_or((1, 1), |s| line_col(text, s.start));
        ExperimentError::Parse {
            path: path.to_path_buf(),
            line,
            column,
            message: suggest(e.message().trim()),
        }
    })
}

/// At least one strategy, workload, seed and replicate, and no empty `vary` list.
fn check_shape(file: &ExperimentFile) -> Result<(), String> {
    if file.strategies.is_empty() {
        return Err("no [[strategy]] entries; add at least one".into());
    }
    if file.workloads.is_empty() {
        return Err("no [[workload]] entries; add at least one".into());
    }
    if file.replicates == 0 || file.seeds.is_empty() {
        return Err("replicates must be at least 1 and seeds must not be empty".into());
    }
    for e in file.strategies.iter().chain(&file.workloads) {
        if let Some((k, _)) = e.vary.iter().find(|(_, v)| v.is_empty()) {
            return Err(format!(
                "'{}': vary.{k} is an empty list; give at least one value",
                e.name
            ));
        }
    }
    Ok(())
}

/// The `[[strategy]]` entries expanded, each checked by building it from the registry.
fn resolve_strategies(file: &ExperimentFile) -> Result<Vec<StrategyCfg>, String> {
    let mut strategies = Vec::new();
    for (i, e) in file.strategies.iter().enumerate() {
        for (label, params) in expand(e) {
            // `min_heap=auto` is resolved per cell by the runner (from the workload); check
            // the rest with a placeholder.
            let probe: Vec<(String, String)> = params
                .iter()
                .map(|(k, v)| {
                    let v = if v == "auto" { "1" } else { v.as_str() };
                    (k.clone(), v.to_string())
                })
                .collect();
            registry::with_strategy(&e.name, &probe, Probe)
                .map_err(|err| format!("strategy #{} ('{}'): {err}", i + 1, e.name))?;
            strategies.push(StrategyCfg {
                label,
                name: e.name.clone(),
                params,
                max_heap: e.max_heap.or(file.max_heap),
            });
        }
    }
    Ok(strategies)
}

/// The `[[workload]]` entries expanded, each built to check it and resolve its parameters.
fn resolve_workloads(file: &ExperimentFile) -> Result<Vec<WorkloadCfg>, String> {
    let mut workloads = Vec::new();
    for (i, e) in file.workloads.iter().enumerate() {
        if let Some(path) = e.name.strip_prefix("trace:") {
            // A recorded trace (a real program): no parameters; the header must read.
            if !e.params.is_empty() || !e.vary.is_empty() {
                return Err(format!(
                    "workload #{} ('{}'): a trace takes no parameters",
                    i + 1,
                    e.name
                ));
            }
            gclab_core::trace::open_file(std::path::Path::new(path))
                .map_err(|err| format!("workload #{} ('{}'): {err}", i + 1, e.name))?;
            let stem = std::path::Path::new(path)
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| path.to_string());
            workloads.push(WorkloadCfg {
                label: e.label.clone().unwrap_or(stem),
                name: e.name.clone(),
                params: Vec::new(),
                resolved: Vec::new(),
                max_heap: e.max_heap,
            });
            continue;
        }
        for (label, params) in expand(e) {
            let given: Vec<String> = params.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let built = gclab_workloads::find(&e.name, &given)
                .map_err(|err| format!("workload #{} ('{}'): {err}", i + 1, e.name))?;
            workloads.push(WorkloadCfg {
                label,
                name: e.name.clone(),
                params: given,
                resolved: built.params.pairs(),
                max_heap: e.max_heap,
            });
        }
    }
    Ok(workloads)
}

/// Labels are unique among the strategies and among the workloads, and free of `|` (the cell
/// key's separator).
fn check_labels(strategies: &[StrategyCfg], workloads: &[WorkloadCfg]) -> Result<(), String> {
    for (what, labels) in [
        (
            "strategy",
            strategies.iter().map(|s| &s.label).collect::<Vec<_>>(),
        ),
        (
            "workload",
            workloads.iter().map(|w| &w.label).collect::<Vec<_>>(),
        ),
    ] {
        let mut seen = BTreeSet::new();
        for l in labels {
            if l.contains('|') {
                return Err(format!("{what} label '{l}' must not contain '|'"));
            }
            if !seen.insert(l) {
                return Err(format!(
                    "two {what} entries are labelled '{l}'; give one a distinct `label`"
                ));
            }
        }
    }
    Ok(())
}

impl Experiment {
    /// Reads and validates `path` (an `experiment.toml`, or a directory holding one).
    pub fn load(path: &Path) -> Result<Experiment, ExperimentError> {
        let path = if path.is_dir() {
            path.join("experiment.toml")
        } else {
            path.to_path_buf()
        };
        let text = std::fs::read_to_string(&path).map_err(|source| ExperimentError::Io {
            path: path.clone(),
            source,
        })?;
        let dir = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "experiment".into());
        Experiment::parse(&text, &path, name, dir)
    }

    /// Parses and validates experiment text; `path` is used in messages.
    pub fn parse(
        text: &str,
        path: &Path,
        name: String,
        dir: PathBuf,
    ) -> Result<Experiment, ExperimentError> {
        let file = parse_file(text, path)?;
        let invalid = |message: String| ExperimentError::Invalid {
            path: path.to_path_buf(),
            message,
        };
        check_shape(&file).map_err(invalid)?;
        let strategies = resolve_strategies(&file).map_err(invalid)?;
        let workloads = resolve_workloads(&file).map_err(invalid)?;
        check_labels(&strategies, &workloads).map_err(invalid)?;
        Ok(Experiment {
            name,
            dir,
            file,
            strategies,
            workloads,
        })
    }

    /// Every cell, in plan order: master seed, then replicate, then workload, then strategy
    /// (so replicates of different configurations interleave).
    pub fn cells(&self) -> Vec<Cell> {
        let mut out = Vec::new();
        for &master in &self.file.seeds {
            for r in 0..self.file.replicates {
                for w in &self.workloads {
                    let seed = cell_seed(master, &w.name, &w.resolved, r);
                    for s in &self.strategies {
                        out.push(Cell {
                            index: out.len(),
                            key: format!("{}|{}|s{}|r{}", w.label, s.label, master, r),
                            strategy: s.clone(),
                            workload: w.clone(),
                            master_seed: master,
                            replicate: r,
                            seed,
                            max_heap: w.max_heap.or(s.max_heap),
                        });
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        /// Hostile input: arbitrary text never panics the reader, and a parse error always
        /// names a line and a column.
        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
            match parse(&text) {
                Ok(_) => {}
                Err(ExperimentError::Parse { line, column, .. }) => {
                    prop_assert!(line >= 1 && column >= 1);
                }
                Err(_) => {}
            }
        }

        /// Arbitrary bytes too (lossily decoded, as a file of any encoding would be refused
        /// by `read_to_string` before parsing).
        #[test]
        fn arbitrary_tomlish_never_panics(
            keys in proptest::collection::vec("[a-z_]{1,12}", 0..6),
            vals in proptest::collection::vec("[0-9\\[\\]{}\"a-z=., ]{0,12}", 0..6),
        ) {
            let mut text = String::new();
            for (k, v) in keys.iter().zip(&vals) {
                text.push_str(&format!("{k} = {v}\n[[strategy]]\n"));
            }
            let _ = parse(&text);
        }
    }

    fn parse(text: &str) -> Result<Experiment, ExperimentError> {
        Experiment::parse(text, Path::new("x.toml"), "x".into(), PathBuf::from("."))
    }

    const OK: &str = r#"
replicates = 2
[[strategy]]
name = "refcount"
[[strategy]]
name = "none"
[[workload]]
name = "cycles"
"#;

    #[test]
    fn expands_cells_with_shared_seeds() {
        let e = parse(OK).unwrap();
        let cells = e.cells();
        assert_eq!(cells.len(), 4);
        assert_eq!(cells[0].key, "cycles|refcount|s1|r0");
        assert_eq!(cells[0].seed, cells[1].seed, "common random numbers");
        assert_ne!(cells[0].seed, cells[2].seed, "replicates differ");
    }

    #[test]
    fn unknown_key_names_closest_and_position() {
        let err = parse("replicate = 2\n").unwrap_err().to_string();
        assert!(err.contains("x.toml:1:1"), "{err}");
        assert!(err.contains("did you mean `replicates`"), "{err}");
        let err = parse("[[strategy]]\nname = \"refcount\"\nparam = {}\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains(":3:1"), "{err}");
        assert!(err.contains("did you mean `params`"), "{err}");
    }

    #[test]
    fn unknown_strategy_lists_valid_names() {
        let err = parse("[[strategy]]\nname = \"refcont\"\n[[workload]]\nname = \"cycles\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("refcount"), "{err}");
    }

    #[test]
    fn vary_expands_labels_and_rejects_empty_lists() {
        let e = parse("[[strategy]]\nname = \"none\"\n[[workload]]\nname = \"cycles\"\nvary = { count = [10, 20] }\n")
            .unwrap();
        let labels: Vec<_> = e.workloads.iter().map(|w| w.label.as_str()).collect();
        assert_eq!(labels, ["cycles count=10", "cycles count=20"]);
        let err = parse("[[strategy]]\nname = \"none\"\n[[workload]]\nname = \"cycles\"\nvary = { count = [] }\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("empty"), "{err}");
    }
}
