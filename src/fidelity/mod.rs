//! The `generational` model against real CPython, collection by collection: the library behind
//! `gclab fidelity` (the command is [`crate::cmd::fidelity`]).
//!
//! For each case of the `fidelity` workload, the trace is written to a temporary directory,
//! run through the model preset of each CPython version found (3.11 -> `cpython-3.11`, 3.12 ->
//! `cpython-3.12`, 3.13 -> `cpython-3.13`, with `callbacks=true` because the replay installs a
//! `gc.callbacks` hook), and replayed in that interpreter by `scripts/cpython_replay.py`. The
//! two sequences of collections (generation, collected, uncollectable), the per-generation
//! statistics and the final counts are compared.

pub mod policies;
pub mod recording;

use crate::classify::{Classify, ExitClass};
use crate::runner::{self, RunSpec, Source};
use gclab_core::trace::{TraceFormat, TraceWriter};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Why the fidelity check could not run (a mismatch is a result, not an error).
#[derive(Debug, thiserror::Error)]
pub enum FidelityError {
    /// A bad case name or size.
    #[error("{0}")]
    Usage(String),
    /// The model run failed.
    #[error("model run for case {case} failed: {source}")]
    Model {
        /// The case.
        case: String,
        /// The error.
        #[source]
        source: runner::RunError,
    },
    /// Writing the trace failed.
    #[error("writing trace {path}: {msg}")]
    Trace {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        msg: String,
    },
    /// The replay script failed or printed something unreadable.
    #[error("replay of {case} in {python}: {msg}")]
    Replay {
        /// The case.
        case: String,
        /// The interpreter.
        python: String,
        /// What went wrong.
        msg: String,
    },
}

/// A bad case name or size is bad input; a failed model run has the run's class; a trace that
/// cannot be written or a replay that fails is internal.
impl Classify for FidelityError {
    fn exit_class(&self) -> ExitClass {
        match self {
            FidelityError::Usage(_) => ExitClass::Usage,
            FidelityError::Model { source, .. } => source.exit_class(),
            FidelityError::Trace { .. } | FidelityError::Replay { .. } => ExitClass::Internal,
        }
    }
}

/// The CPython versions judged, with the model preset for each.
pub const VERSIONS: [(&str, &str, [i32; 3]); 3] = [
    ("3.11", "cpython-3.11", [700, 10, 10]),
    ("3.12", "cpython-3.12", [700, 10, 10]),
    ("3.13", "cpython-3.13", [2000, 10, 10]),
];

/// The default size of each case (the full run).
pub fn default_size(case: &str) -> u64 {
    match case {
        "append-lists" => 1_000_000,
        "dict-cycles" => 50_000,
        "mix" => 200_000,
        "freeze" => 40_000,
        "thresholds" => 30_000,
        _ => 20_000,
    }
}

/// An interpreter found for a version, or why none was.
#[derive(Clone, Debug)]
pub enum Interpreter {
    /// Found at this path.
    Found(PathBuf),
    /// Not found; the reason.
    Missing(String),
}

/// Looks for CPython `version` ("3.11"): `~/.pyenv/versions/<version>.*/bin/python` (highest
/// patch level first), then `python<version>` on `PATH`.
pub fn find_python(version: &str) -> Interpreter {
    let mut tried = Vec::new();
    if let Some(home) = std::env::var_os("HOME") {
        let dir = Path::new(&home).join(".pyenv/versions");
        tried.push(format!("{}/{version}.*/bin/python", dir.display()));
        if let Ok(rd) = std::fs::read_dir(&dir) {
            let mut found: Vec<(u32, PathBuf)> = rd
                .filter_map(|e| e.ok())
                .filter_map(|e| {
                    let name = e.file_name().to_string_lossy().to_string();
                    let rest = name.strip_prefix(&format!("{version}."))?;
                    let patch: u32 = rest.parse().ok()?;
                    let py = e.path().join("bin/python");
                    py.is_file().then_some((patch, py))
                })
                .collect();
            found.sort();
            if let Some((_, p)) = found.pop() {
                return Interpreter::Found(p);
            }
        }
    }
    let exe = format!("python{version}");
    tried.push(format!("{exe} on PATH"));
    if let Some(path) = std::env::var_os("PATH") {
        for d in std::env::split_paths(&path) {
            let p = d.join(&exe);
            if p.is_file() {
                return Interpreter::Found(p);
            }
        }
    }
    Interpreter::Missing(format!(
        "CPython {version} not found (tried {})",
        tried.join(", ")
    ))
}

/// One collection: generation, collected, uncollectable.
pub type Collection = [u64; 3];

/// What one side (model or real) reports for one trace.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Side {
    /// Every collection, in order.
    pub collections: Vec<Collection>,
    /// Collections per generation.
    pub per_gen: [u64; 3],
    /// Objects collected, all generations.
    pub collected: u64,
    /// `gc.get_count()` at the end.
    pub count: [i64; 3],
}

impl Side {
    fn from_collections(collections: Vec<Collection>, count: [i64; 3]) -> Side {
        let mut per_gen = [0; 3];
        let mut collected = 0;
        for c in &collections {
            per_gen[(c[0] as usize).min(2)] += 1;
            collected += c[1];
        }
        Side {
            collections,
            per_gen,
            collected,
            count,
        }
    }
}

/// The comparison for one (case, version).
#[derive(Clone, Debug)]
pub struct FidelityRow {
    /// The case.
    pub case: String,
    /// Its size.
    pub size: u64,
    /// CPython version string reported by the interpreter.
    pub python: String,
    /// The model preset.
    pub preset: String,
    /// Real CPython.
    pub real: Side,
    /// The model.
    pub model: Side,
    /// The replay's self check: GC objects the replay loop itself allocated (must be 0).
    pub loop_allocations: i64,
}

impl FidelityRow {
    /// Index of the first collection where the sequences differ (None if they are equal).
    pub fn first_difference(&self) -> Option<usize> {
        let (a, b) = (&self.real.collections, &self.model.collections);
        (0..a.len().max(b.len())).find(|&i| a.get(i) != b.get(i))
    }

    /// True if the sequences, the final counts and the self check all agree.
    pub fn matches(&self) -> bool {
        self.first_difference().is_none()
            && self.real.count == self.model.count
            && self.loop_allocations == 0
    }
}

#[derive(Deserialize)]
struct ReplayOut {
    python: String,
    collections: Vec<Collection>,
    count: [i64; 3],
    self_check: SelfCheck,
}

#[derive(Deserialize)]
struct SelfCheck {
    loop_allocations: i64,
}

/// Options of a fidelity check.
#[derive(Clone, Debug)]
pub struct Options {
    /// Cases to run (empty: all).
    pub cases: Vec<String>,
    /// Size for every case (None: each case's default).
    pub size: Option<u64>,
    /// The replay script.
    pub script: PathBuf,
    /// Where to write traces.
    pub dir: PathBuf,
    /// Seed of the traces.
    pub seed: u64,
}

/// What happened for each version: its rows, or why it was skipped.
#[derive(Debug, Default)]
pub struct Report {
    /// Compared rows.
    pub rows: Vec<FidelityRow>,
    /// Versions skipped, with the reason.
    pub skipped: Vec<(String, String)>,
}

fn model_side(
    case: &str,
    workload: &str,
    params: &[String],
    seed: u64,
    preset: &str,
) -> Result<Side, FidelityError> {
    let spec = RunSpec {
        strategy: preset.to_string(),
        strategy_params: vec![("callbacks".into(), "true".into())],
        source: Source::Workload {
            name: workload.into(),
            params: params.to_vec(),
        },
        seed,
        verify: false,
        max_heap: None,
    };
    let out = runner::run(&spec).map_err(|source| FidelityError::Model {
        case: case.to_string(),
        source,
    })?;
    let colls: Vec<Collection> = out
        .collections
        .iter()
        .map(|c| [c.generation.max(0) as u64, c.freed, 0])
        .collect();
    let counter = |k: &str| {
        out.record
            .strategy_stats
            .counters
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| *v as i64)
            .unwrap_or(-1)
    };
    Ok(Side::from_collections(
        colls,
        [counter("count0"), counter("count1"), counter("count2")],
    ))
}

fn write_trace(
    workload: &str,
    params: &[String],
    seed: u64,
    path: &Path,
) -> Result<(), FidelityError> {
    let err = |msg: String| FidelityError::Trace {
        path: path.to_path_buf(),
        msg,
    };
    let built = gclab_workloads::find(workload, params).map_err(|e| err(e.to_string()))?;
    let file = std::fs::File::create(path).map_err(|e| err(e.to_string()))?;
    let mut w = TraceWriter::new(std::io::BufWriter::new(file), TraceFormat::Binary);
    gclab_core::workload::stream(workload, &built.params, &*built.workload, seed, &mut w)
        .map_err(|e| err(e.to_string()))?;
    let mut inner = w.finish().map_err(|e| err(e.to_string()))?;
    inner.flush().map_err(|e| err(e.to_string()))
}

fn real_side(
    python: &Path,
    script: &Path,
    trace: &Path,
    case: &str,
    th: [i32; 3],
) -> Result<(String, Side, i64), FidelityError> {
    let err = |msg: String| FidelityError::Replay {
        case: case.to_string(),
        python: python.display().to_string(),
        msg,
    };
    let out = Command::new(python)
        .arg(script)
        .arg(trace)
        .arg("--thresholds")
        .arg(format!("{},{},{}", th[0], th[1], th[2]))
        .output()
        .map_err(|e| err(format!("cannot run: {e}")))?;
    if !out.status.success() {
        return Err(err(format!(
            "exited with {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let r: ReplayOut =
        serde_json::from_slice(&out.stdout).map_err(|e| err(format!("unreadable output: {e}")))?;
    Ok((
        r.python,
        Side::from_collections(r.collections, r.count),
        r.self_check.loop_allocations,
    ))
}

/// Runs the check. `progress` is called with a line per finished row.
pub fn check(opts: &Options, mut progress: impl FnMut(&str)) -> Result<Report, FidelityError> {
    let all = gclab_workloads::fidelity::CASES;
    let cases: Vec<String> = if opts.cases.is_empty() {
        all.iter().map(|s| s.to_string()).collect()
    } else {
        opts.cases.clone()
    };
    for c in &cases {
        if !all.contains(&c.as_str()) {
            return Err(FidelityError::Usage(format!(
                "unknown case '{c}'; valid cases: {}",
                all.join(", ")
            )));
        }
    }
    if opts.size == Some(0) {
        return Err(FidelityError::Usage("--size must be at least 1".into()));
    }
    std::fs::create_dir_all(&opts.dir).map_err(|e| FidelityError::Trace {
        path: opts.dir.clone(),
        msg: e.to_string(),
    })?;
    let mut report = Report::default();
    let mut pythons = Vec::new();
    for (v, preset, th) in VERSIONS {
        match find_python(v) {
            Interpreter::Found(p) => pythons.push((p, preset, th)),
            Interpreter::Missing(why) => report.skipped.push((v.to_string(), why)),
        }
    }
    for case in &cases {
        let size = opts.size.unwrap_or_else(|| default_size(case));
        let trace = opts.dir.join(format!("{case}-{size}.gclt"));
        let params = vec![format!("case={case}"), format!("size={size}")];
        write_trace("fidelity", &params, opts.seed, &trace)?;
        for (py, preset, th) in &pythons {
            let model = model_side(case, "fidelity", &params, opts.seed, preset)?;
            let (python, real, loop_allocations) = real_side(py, &opts.script, &trace, case, *th)?;
            let row = FidelityRow {
                case: case.clone(),
                size,
                python,
                preset: preset.to_string(),
                real,
                model,
                loop_allocations,
            };
            progress(&table_line(&row));
            report.rows.push(row);
        }
    }
    Ok(report)
}

/// The same comparison for a trace of any workload of the catalogue (`workload` with `key=value`
/// `params`, seeded `seed`), in the interpreter `python` against the model `preset` (with
/// `callbacks=true`), at the interpreter's thresholds `th`. The trace is written into `dir`.
/// `size` in the row is 0; its case is the workload and its parameters.
#[allow(clippy::too_many_arguments)]
pub fn check_workload(
    workload: &str,
    params: &[String],
    seed: u64,
    python: &Path,
    preset: &str,
    th: [i32; 3],
    script: &Path,
    dir: &Path,
) -> Result<FidelityRow, FidelityError> {
    let case = if params.is_empty() {
        workload.to_string()
    } else {
        format!("{workload} {}", params.join(" "))
    };
    std::fs::create_dir_all(dir).map_err(|e| FidelityError::Trace {
        path: dir.to_path_buf(),
        msg: e.to_string(),
    })?;
    let file = gclab_core::trace::file_stem(&case);
    let trace = dir.join(format!("{file}-{seed}.gclt"));
    write_trace(workload, params, seed, &trace)?;
    let model = model_side(&case, workload, params, seed, preset)?;
    let (python, real, loop_allocations) = real_side(python, script, &trace, &case, th)?;
    let _ = std::fs::remove_file(&trace);
    Ok(FidelityRow {
        case,
        size: 0,
        python,
        preset: preset.to_string(),
        real,
        model,
        loop_allocations,
    })
}

/// One line of the markdown table for a row.
pub fn row_line(r: &FidelityRow) -> String {
    table_line(r)
}

fn gens(s: &Side) -> String {
    format!("{}/{}/{}", s.per_gen[0], s.per_gen[1], s.per_gen[2])
}

fn table_line(r: &FidelityRow) -> String {
    let verdict = match r.first_difference() {
        None if r.matches() => "yes".to_string(),
        None if r.loop_allocations != 0 => {
            format!("no: replay loop allocated {}", r.loop_allocations)
        }
        None => format!(
            "no: final count real {:?} model {:?}",
            r.real.count, r.model.count
        ),
        Some(i) => {
            let show = |s: &Side| {
                s.collections
                    .get(i)
                    .map(|c| format!("gen{} collected {}", c[0], c[1]))
                    .unwrap_or_else(|| "none".into())
            };
            format!(
                "no: collection #{} real {} model {}",
                i + 1,
                show(&r.real),
                show(&r.model)
            )
        }
    };
    format!(
        "| {} (size {}) | {} | {} | {} | {} | {} | {:?} | {:?} | {} |",
        r.case,
        r.size,
        r.python,
        gens(&r.real),
        gens(&r.model),
        r.real.collected,
        r.model.collected,
        r.real.count,
        r.model.count,
        verdict
    )
}

/// The markdown table of a report.
pub fn table(report: &Report) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "| trace | CPython | collections gen0/1/2 real | modelled | objects collected real | modelled | final count real | modelled | match |");
    let _ = writeln!(s, "|---|---|---|---|---|---|---|---|---|");
    for r in &report.rows {
        let _ = writeln!(s, "{}", table_line(r));
    }
    for (v, why) in &report.skipped {
        let _ = writeln!(s, "\nSkipped CPython {v}: {why}");
    }
    s
}

/// One (trace, CPython) comparison as a line of JSON: the schema of `gclab fidelity --jsonl`
/// and of `scripts/workloads_fidelity.sh`, which `gclab plot` draws
/// (`results/fidelity/fidelity.jsonl`, `results/workloads/fidelity.jsonl`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FidelityLine {
    /// The case (a `fidelity` case, or a workload with its parameters), with its size.
    pub case: String,
    /// Ops of the trace, where known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ops: Option<u64>,
    /// The model preset.
    pub strategy: String,
    /// What the model did.
    pub model: ModelTotals,
    /// What real CPython did.
    pub cpython: RealTotals,
    /// Whether the two sequences of collections (and the final counts) are equal.
    pub each_equal: bool,
}

/// The model's totals in a [`FidelityLine`].
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ModelTotals {
    /// Collections per generation.
    pub per_generation: [u64; 3],
    /// Objects collected, all generations.
    pub collected: u64,
}

/// Real CPython's totals in a [`FidelityLine`].
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RealTotals {
    /// The interpreter's version.
    pub version: String,
    /// Collections per generation.
    pub per_generation: [u64; 3],
    /// Objects collected, all generations.
    pub collected: u64,
}

impl FidelityLine {
    /// The line of one compared row.
    pub fn of(r: &FidelityRow) -> FidelityLine {
        FidelityLine {
            case: format!("{} size={}", r.case, r.size),
            ops: None,
            strategy: r.preset.clone(),
            model: ModelTotals {
                per_generation: r.model.per_gen,
                collected: r.model.collected,
            },
            cpython: RealTotals {
                version: r.python.clone(),
                per_generation: r.real.per_gen,
                collected: r.real.collected,
            },
            each_equal: r.matches(),
        }
    }
}

/// The report's rows as JSON lines ([`FidelityLine`]).
pub fn jsonl(report: &Report) -> String {
    let mut s = String::new();
    for r in &report.rows {
        // A struct of strings and integers always serialises.
        if let Ok(line) = serde_json::to_string(&FidelityLine::of(r)) {
            s.push_str(&line);
            s.push('\n');
        }
    }
    s
}

/// The default replay script: `scripts/cpython_replay.py` in the source tree.
pub fn default_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/cpython_replay.py")
}
