//! The model against real runs under other collector policies: the library behind
//! `gclab fidelity --real-runs FILE`.
//!
//! `scripts/real_runs.py` runs each corpus program for real, without the recorder, under the
//! interpreter's default thresholds, (800,20,20), (10000,10,10), `gc.disable()` and `gc.freeze()`
//! after start-up, and writes every run's collections (generation, collected, duration from
//! `gc.callbacks`), peak RSS and wall time as JSON lines. This module replays each program's
//! recording under the matching model settings and sets the two side by side:
//!
//! - **collections per generation**: the model's count against the median of the real runs';
//! - **collector time and pauses**: a per-version cost model, `duration = fixed + per_visited *
//!   examined + per_work * work units + per_collected * collected` ([`CostModel`]), is fitted by
//!   weighted least squares (coefficients kept non-negative) to the default policy's real
//!   collections, each paired with the model's collection of the same generation and rank; it
//!   then predicts every collection of every policy's replay, and so the collector time and the
//!   pause percentiles;
//! - **peak memory and wall time**: the model predicts how a policy *changes* them. Peak RSS is
//!   predicted as the default run's real peak RSS plus the change in the model's peak live bytes;
//!   wall time as the default run's real wall time plus the change in predicted collector time.
//!
//! Only the default policy calibrates; the four others are predictions.

use super::recording::preset_for;
use super::FidelityError;
use crate::metrics::Percentiles;
use crate::runner::{self, RunOutput, RunSpec, Source};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// A collector policy of the real runs, and the model parameters that stand for it.
#[derive(Clone, Copy, Debug)]
pub struct Policy {
    /// The name in the real runs' file.
    pub name: &'static str,
    /// What it is, for tables.
    pub label: &'static str,
    /// Model parameters over the preset's.
    pub params: &'static [(&'static str, &'static str)],
}

/// The policies, in table order; the first is the default, which calibrates the cost model.
pub const POLICIES: [Policy; 5] = [
    Policy {
        name: "default",
        label: "default thresholds",
        params: &[],
    },
    Policy {
        name: "t800",
        label: "thresholds (800,20,20)",
        params: &[("t0", "800"), ("t1", "20"), ("t2", "20")],
    },
    Policy {
        name: "t10000",
        label: "thresholds (10000,10,10)",
        params: &[("t0", "10000"), ("t1", "10"), ("t2", "10")],
    },
    Policy {
        name: "disable",
        label: "gc.disable()",
        params: &[("enabled", "false")],
    },
    Policy {
        name: "freeze",
        label: "gc.freeze() after start-up",
        params: &[("freeze_on_event", "startup")],
    },
];

/// One real run, a line of `scripts/real_runs.py`'s output.
#[derive(Clone, Debug, Deserialize)]
pub struct RealRun {
    /// Corpus program.
    pub program: String,
    /// CPython version, `major.minor.micro`.
    pub version: String,
    /// Policy name (one of [`POLICIES`]).
    pub policy: String,
    /// Index of the run.
    pub run: u32,
    /// Wall time of the process, seconds.
    pub wall_s: f64,
    /// Peak resident set size of the process, KiB.
    pub peak_rss_kb: u64,
    /// Every collection: generation, objects collected, duration in ns.
    pub collections: Vec<[u64; 3]>,
}

/// Reads a real runs file: JSON lines, `#` comments allowed.
pub fn read_real_runs(path: &Path) -> Result<Vec<RealRun>, FidelityError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        FidelityError::Usage(format!(
            "cannot read real runs {}: {e} (scripts/real_runs.py writes them)",
            path.display()
        ))
    })?;
    let mut runs = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let run: RealRun = serde_json::from_str(line).map_err(|e| {
            FidelityError::Usage(format!("{}:{}: not a real run: {e}", path.display(), i + 1))
        })?;
        if !POLICIES.iter().any(|p| p.name == run.policy) {
            return Err(FidelityError::Usage(format!(
                "{}:{}: unknown policy '{}'; valid: {}",
                path.display(),
                i + 1,
                run.policy,
                POLICIES.map(|p| p.name).join(", ")
            )));
        }
        runs.push(run);
    }
    if runs.is_empty() {
        return Err(FidelityError::Usage(format!(
            "{} holds no real runs",
            path.display()
        )));
    }
    Ok(runs)
}

/// What the cost model sees of one collection: the objects in the generations collected, the
/// model's work units (objects visited plus references traversed), the objects collected.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Shape {
    /// Objects in the generations collected.
    pub visited: u64,
    /// Work units (objects visited plus references traversed, over every phase).
    pub work: u64,
    /// Objects collected.
    pub collected: u64,
}

impl Shape {
    fn term(&self, t: usize) -> f64 {
        match t {
            0 => 1.0,
            1 => self.visited as f64,
            2 => self.work as f64,
            _ => self.collected as f64,
        }
    }
}

/// The cost model of one CPython version: a collection's duration in ns.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CostModel {
    /// Fixed cost per collection, ns (the `gc.callbacks` calls included).
    pub fixed_ns: f64,
    /// Cost per object in the generations collected, ns.
    pub per_visited_ns: f64,
    /// Cost per work unit (object visited or reference traversed), ns.
    pub per_work_ns: f64,
    /// Cost per object collected, ns.
    pub per_collected_ns: f64,
    /// Collections the fit used.
    pub samples: usize,
    /// Median absolute relative error of the fitted collections.
    pub median_rel_error: f64,
}

impl CostModel {
    /// Predicted duration of a collection of shape `s`, ns.
    pub fn predict(&self, s: &Shape) -> f64 {
        self.fixed_ns
            + self.per_visited_ns * s.visited as f64
            + self.per_work_ns * s.work as f64
            + self.per_collected_ns * s.collected as f64
    }

    /// Fits `samples` (a collection's shape, its real duration in ns) by least squares weighted
    /// by the inverse of the duration, with every coefficient non-negative: the best of the fits
    /// over each subset of the four terms whose coefficients come out non-negative.
    ///
    /// The weighting sits between plain least squares, where the few long collections decide
    /// everything and the many short ones (the pause percentiles' bulk) are mispredicted, and
    /// least squares on the relative error, where the long ones (the collector time's bulk)
    /// are; on the corpus it gives the smallest errors on both.
    pub fn fit(samples: &[(Shape, u64)]) -> CostModel {
        let weight = |d: u64| 1.0 / d.max(1_000) as f64;
        let mut best: Option<(f64, [f64; 4])> = None;
        for mask in 1u8..16 {
            let terms: Vec<usize> = (0..4).filter(|t| mask & (1 << t) != 0).collect();
            let Some(c) = solve(samples, &terms, weight) else {
                continue;
            };
            if c.iter().any(|&x| x < 0.0) {
                continue;
            }
            let mut full = [0.0; 4];
            for (t, x) in terms.iter().zip(c) {
                full[*t] = x;
            }
            let err: f64 = samples
                .iter()
                .map(|(s, d)| {
                    let e = (0..4).map(|t| full[t] * s.term(t)).sum::<f64>() - *d as f64;
                    e * e * weight(*d)
                })
                .sum();
            if best.as_ref().is_none_or(|(b, _)| err < *b) {
                best = Some((err, full));
            }
        }
        let c = best.map(|b| b.1).unwrap_or_default();
        let mut m = CostModel {
            fixed_ns: c[0],
            per_visited_ns: c[1],
            per_work_ns: c[2],
            per_collected_ns: c[3],
            samples: samples.len(),
            median_rel_error: 0.0,
        };
        let mut rel: Vec<f64> = samples
            .iter()
            .filter(|s| s.1 > 0)
            .map(|(s, d)| ((m.predict(s) - *d as f64) / *d as f64).abs())
            .collect();
        m.median_rel_error = median_f(&mut rel);
        m
    }
}

/// Weighted least squares over the chosen terms (see [`Shape`]), by the normal equations;
/// `None` when they are singular.
fn solve(
    samples: &[(Shape, u64)],
    terms: &[usize],
    weight: impl Fn(u64) -> f64,
) -> Option<Vec<f64>> {
    let n = terms.len();
    let mut a = vec![vec![0.0f64; n + 1]; n];
    for (s, d) in samples {
        let w = weight(*d);
        for i in 0..n {
            for j in 0..n {
                a[i][j] += w * s.term(terms[i]) * s.term(terms[j]);
            }
            a[i][n] += w * s.term(terms[i]) * *d as f64;
        }
    }
    // Gauss-Jordan elimination with partial pivoting.
    for col in 0..n {
        let pivot = (col..n).max_by(|&p, &q| a[p][col].abs().total_cmp(&a[q][col].abs()))?;
        if a[pivot][col].abs() < 1e-300 {
            return None;
        }
        a.swap(col, pivot);
        let p = a[col].clone();
        for (r, row) in a.iter_mut().enumerate() {
            if r != col {
                let f = row[col] / p[col];
                for (x, y) in row.iter_mut().zip(&p).skip(col) {
                    *x -= f * y;
                }
            }
        }
    }
    let c: Vec<f64> = (0..n).map(|i| a[i][n] / a[i][i]).collect();
    c.iter().all(|x| x.is_finite()).then_some(c)
}

fn median_f(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }
}

fn median_u(v: impl IntoIterator<Item = u64>) -> f64 {
    let mut v: Vec<f64> = v.into_iter().map(|x| x as f64).collect();
    median_f(&mut v)
}

/// Collections per generation of a list of (generation, ...) collections.
fn per_generation(gens: impl IntoIterator<Item = u64>) -> [u64; 3] {
    let mut n = [0; 3];
    for g in gens {
        n[(g as usize).min(2)] += 1;
    }
    n
}

/// One program under one policy: the real runs' medians and the model's prediction.
#[derive(Clone, Debug, Default)]
pub struct PolicyRow {
    /// The policy's name.
    pub policy: &'static str,
    /// Real runs measured.
    pub runs: usize,
    /// Collections per generation, median of the real runs.
    pub real_collections: [f64; 3],
    /// Collections per generation in the model's replay.
    pub model_collections: [u64; 3],
    /// Collector time, sum of the pauses, median of the real runs, ms.
    pub real_gc_ms: f64,
    /// The real runs' smallest and largest collector time, ms.
    pub real_gc_range: (f64, f64),
    /// Collector time the cost model predicts for the replay's collections, ms.
    pub model_gc_ms: f64,
    /// The same with the cost model fitted to this program alone, ms.
    pub own_gc_ms: f64,
    /// Pause percentiles p50, p90, p99, max: medians over the real runs, µs.
    pub real_pauses_us: [f64; 4],
    /// The same, predicted, µs.
    pub model_pauses_us: [f64; 4],
    /// Peak RSS, median of the real runs, MB.
    pub real_rss_mb: f64,
    /// Peak RSS predicted (default's real plus the model's change in peak live bytes), MB.
    pub model_rss_mb: f64,
    /// The model's peak live bytes, MB.
    pub model_peak_live_mb: f64,
    /// Wall time, median of the real runs, s.
    pub real_wall_s: f64,
    /// The real runs' shortest and longest wall time, s.
    pub real_wall_range: (f64, f64),
    /// Wall time predicted (default's real plus the change in predicted collector time), s.
    pub model_wall_s: f64,
}

/// One program: its rows, in [`POLICIES`] order.
#[derive(Clone, Debug)]
pub struct ProgramRows {
    /// The program.
    pub program: String,
    /// Its recording.
    pub recording: PathBuf,
    /// Default-policy real collections that paired with a model collection of the same
    /// generation and rank, out of all default-policy real collections.
    pub paired: (usize, usize),
    /// The cost model fitted to this program's default runs alone.
    pub own: CostModel,
    /// One row per policy measured.
    pub rows: Vec<PolicyRow>,
}

/// The comparison for one CPython version.
#[derive(Clone, Debug)]
pub struct VersionReport {
    /// The version.
    pub version: String,
    /// The model preset.
    pub preset: String,
    /// The fitted cost model.
    pub cost: CostModel,
    /// Per program.
    pub programs: Vec<ProgramRows>,
}

fn replay(trace: &Path, preset: &str, p: &Policy) -> Result<RunOutput, FidelityError> {
    let spec = RunSpec {
        strategy: preset.to_string(),
        strategy_params: p
            .params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        source: Source::Trace(trace.to_path_buf()),
        seed: 0,
        verify: false,
        max_heap: None,
    };
    runner::run(&spec).map_err(|source| FidelityError::Model {
        case: format!("{} under {} ({})", trace.display(), preset, p.label),
        source,
    })
}

/// A replayed program: its name, its recording, and its replay under each of [`POLICIES`]
/// that has real runs.
type Replayed = (String, PathBuf, Vec<Option<RunOutput>>);
/// The real runs by (program, policy).
type RunsBy<'a> = BTreeMap<(&'a str, &'a str), Vec<&'a RealRun>>;

/// The cost model's samples: the default policy's real collections, the k-th of each
/// generation paired with the model's k-th of that generation; with, per program, the
/// collections paired out of all, and the cost model fitted to that program alone.
fn calibration(replays: &[Replayed], by: &RunsBy<'_>) -> Calibration {
    let mut samples = Vec::new();
    let mut paired = Vec::new();
    let mut own = Vec::new();
    for (prog, _, outs) in replays {
        let (mut n, mut total) = (0, 0);
        let first = samples.len();
        if let (Some(model), Some(real)) = (&outs[0], by.get(&(prog.as_str(), "default"))) {
            let mut of_gen: [Vec<Shape>; 3] = Default::default();
            for c in &model.collections {
                of_gen[(c.generation.max(0) as usize).min(2)].push(shape(c));
            }
            for run in real {
                let mut k = [0usize; 3];
                for c in &run.collections {
                    let g = (c[0] as usize).min(2);
                    total += 1;
                    if let Some(m) = of_gen[g].get(k[g]) {
                        samples.push((*m, c[2]));
                        n += 1;
                    }
                    k[g] += 1;
                }
            }
        }
        paired.push((n, total));
        own.push(CostModel::fit(&samples[first..]));
    }
    Calibration {
        samples,
        paired,
        own,
    }
}

/// What [`calibration`] finds.
struct Calibration {
    /// Every program's samples: a model collection's shape, the real one's duration in ns.
    samples: Vec<(Shape, u64)>,
    /// Per program: collections paired, out of all.
    paired: Vec<(usize, usize)>,
    /// Per program: the cost model fitted to it alone.
    own: Vec<CostModel>,
}

/// Compares the real runs `runs` (one CPython version) with replays of the recordings in
/// `recordings/<version>/<program>.gctrace`.
pub fn compare(runs: &[RealRun], recordings: &Path) -> Result<VersionReport, FidelityError> {
    let Some(first) = runs.first() else {
        return Err(FidelityError::Usage("no real runs to compare".into()));
    };
    let version = first.version.clone();
    if let Some(r) = runs.iter().find(|r| r.version != version) {
        return Err(FidelityError::Usage(format!(
            "real runs of CPython {} and {} in one file; write one file per version",
            version, r.version
        )));
    }
    let preset = preset_for(&version)?.to_string();
    // program -> policy -> runs, programs in the file's order.
    let mut order: Vec<&str> = Vec::new();
    let mut by: RunsBy<'_> = BTreeMap::new();
    for r in runs {
        if !order.contains(&r.program.as_str()) {
            order.push(&r.program);
        }
        by.entry((&r.program, &r.policy)).or_default().push(r);
    }
    // Replays first: the cost model needs every program's default collections.
    let mut replays: Vec<Replayed> = Vec::new();
    for prog in &order {
        let trace = recordings.join(&version).join(format!("{prog}.gctrace"));
        if !trace.is_file() {
            return Err(FidelityError::Usage(format!(
                "no recording {} for the real runs of {prog}; make it with \
                 scripts/record_corpus.sh --versions {version} --only {prog}",
                trace.display()
            )));
        }
        let mut outs = Vec::new();
        for p in &POLICIES {
            outs.push(if by.contains_key(&(*prog, p.name)) {
                Some(replay(&trace, &preset, p)?)
            } else {
                None
            });
        }
        replays.push((prog.to_string(), trace, outs));
    }
    let Calibration {
        samples,
        paired,
        own,
    } = calibration(&replays, &by);
    let cost = CostModel::fit(&samples);
    let mut programs = Vec::new();
    for (((prog, trace, outs), paired), own) in replays.into_iter().zip(paired).zip(own) {
        let mut rows: Vec<PolicyRow> = Vec::new();
        for (p, out) in POLICIES.iter().zip(&outs) {
            let (Some(out), Some(real)) = (out, by.get(&(prog.as_str(), p.name))) else {
                continue;
            };
            let mut r = row(p, out, real, &cost);
            r.own_gc_ms = predicted(out, &own).iter().sum::<u64>() as f64 / 1e6;
            rows.push(r);
        }
        // Changes from the default, anchored on the default's real figures.
        if let Some(d) = rows.iter().find(|r| r.policy == "default").cloned() {
            for r in &mut rows {
                r.model_rss_mb = d.real_rss_mb + (r.model_peak_live_mb - d.model_peak_live_mb);
                r.model_wall_s = d.real_wall_s + (r.model_gc_ms - d.model_gc_ms) / 1e3;
            }
        }
        programs.push(ProgramRows {
            program: prog,
            recording: trace,
            paired,
            own,
            rows,
        });
    }
    Ok(VersionReport {
        version,
        preset,
        cost,
        programs,
    })
}

fn shape(c: &gclab_core::recorder::CollectionRecord) -> Shape {
    Shape {
        visited: c.examined,
        work: c.work,
        collected: c.freed,
    }
}

/// The cost model's duration of each collection of a replay, ns.
fn predicted(out: &RunOutput, cost: &CostModel) -> Vec<u64> {
    out.collections
        .iter()
        .map(|c| cost.predict(&shape(c)).round().max(0.0) as u64)
        .collect()
}

fn row(p: &Policy, out: &RunOutput, real: &[&RealRun], cost: &CostModel) -> PolicyRow {
    let us = |x: u64| x as f64 / 1e3;
    let mut real_collections = [0.0; 3];
    for (g, slot) in real_collections.iter_mut().enumerate() {
        *slot = median_u(
            real.iter()
                .map(|r| per_generation(r.collections.iter().map(|c| c[0]))[g]),
        );
    }
    let mut real_pauses_us = [0.0; 4];
    let per_run: Vec<Percentiles> = real
        .iter()
        .map(|r| Percentiles::of(r.collections.iter().map(|c| c[2])))
        .collect();
    for (k, slot) in real_pauses_us.iter_mut().enumerate() {
        *slot = median_u(per_run.iter().map(|q| [q.p50, q.p90, q.p99, q.max][k])) / 1e3;
    }
    let predicted = predicted(out, cost);
    let gc: Vec<f64> = real
        .iter()
        .map(|r| r.collections.iter().map(|c| c[2]).sum::<u64>() as f64 / 1e6)
        .collect();
    let wall: Vec<f64> = real.iter().map(|r| r.wall_s).collect();
    let q = Percentiles::of(predicted.iter().copied());
    PolicyRow {
        policy: p.name,
        runs: real.len(),
        real_collections,
        model_collections: per_generation(
            out.collections.iter().map(|c| c.generation.max(0) as u64),
        ),
        real_gc_ms: median_f(&mut gc.clone()),
        real_gc_range: range(&gc),
        model_gc_ms: predicted.iter().sum::<u64>() as f64 / 1e6,
        own_gc_ms: 0.0,
        real_pauses_us,
        model_pauses_us: [us(q.p50), us(q.p90), us(q.p99), us(q.max)],
        real_rss_mb: median_u(real.iter().map(|r| r.peak_rss_kb)) * 1024.0 / 1e6,
        model_rss_mb: 0.0,
        model_peak_live_mb: out.record.peak_live_bytes as f64 / 1e6,
        real_wall_s: median_f(&mut wall.clone()),
        real_wall_range: range(&wall),
        model_wall_s: 0.0,
    }
}

/// The table label of the policy named `name`.
fn label(name: &'static str) -> &'static str {
    POLICIES
        .iter()
        .find(|q| q.name == name)
        .map_or(name, |q| q.label)
}

fn range(v: &[f64]) -> (f64, f64) {
    let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if v.is_empty() {
        (0.0, 0.0)
    } else {
        (lo, hi)
    }
}

/// Whether `x` lies within the real runs' range `r`.
fn within(x: f64, r: (f64, f64)) -> bool {
    r.0 <= x && x <= r.1
}

fn rel(model: f64, real: f64) -> String {
    if real == 0.0 {
        if model == 0.0 {
            "0%".into()
        } else {
            "n/a".into()
        }
    } else {
        format!("{:+.0}%", (model - real) / real * 100.0)
    }
}

fn gens(g: [f64; 3]) -> String {
    let f = |x: f64| {
        if x.fract() == 0.0 {
            format!("{x:.0}")
        } else {
            format!("{x:.1}")
        }
    };
    format!("{}/{}/{}", f(g[0]), f(g[1]), f(g[2]))
}

/// The comparison of one version as markdown.
pub fn report_markdown(r: &VersionReport) -> String {
    let mut s = String::new();
    let c = &r.cost;
    let _ = writeln!(s, "# Model against real runs: CPython {}\n", r.version);
    let _ = writeln!(
        s,
        "Written by `gclab fidelity --real-runs` from the real runs of `scripts/real_runs.py` \
         (`real-runs/{}.jsonl`) and replays of `corpus/recordings/{}/` under `{}` with the \
         matching settings. Real figures are medians over the runs; model figures come from \
         one deterministic replay each. Every column but the collection counts depends on this \
         machine.\n",
        r.version, r.version, r.preset
    );
    let _ = writeln!(s, "## Cost model\n");
    if c.samples == 0 {
        let _ = writeln!(
            s,
            "No default-policy runs paired with the model's collections: the cost model is not \
             fitted, and every predicted pause below is 0.\n"
        );
    } else {
        let _ = writeln!(
        s,
        "Fitted to the default policy's {} real collections, each paired with the model's \
         collection of the same generation and rank, by least squares weighted by the inverse of \
         the duration, with non-negative coefficients: a collection takes **{:.1} µs + {:.2} ns per object in the \
         generations collected + {:.2} ns per work unit (object visited or reference traversed) \
         + {:.2} ns per object collected**. Median error of a fitted collection's duration: \
         {:.0}%.\n",
        c.samples,
        c.fixed_ns / 1e3,
        c.per_visited_ns,
        c.per_work_ns,
        c.per_collected_ns,
        c.median_rel_error * 100.0
    );
    }
    let _ = writeln!(s, "## Collections and collector time\n");
    let _ = writeln!(
        s,
        "Collections per generation (0/1/2), collector time (the sum of the pauses) and pause \
         percentiles, real against the model's prediction. Error is model minus real over real.\n"
    );
    let _ = writeln!(
        s,
        "| program | policy | runs | collections real | model | collector ms real (range) | model | error | p50 µs real | model | p90 µs real | model | p99 µs real | model | max µs real | model |"
    );
    let _ = writeln!(
        s,
        "|---|---|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for p in &r.programs {
        for row in &p.rows {
            let label = label(row.policy);
            let _ = write!(
                s,
                "| {} | {} | {} | {} | {} | {:.1} ({:.1}–{:.1}) | {:.1} | {} |",
                p.program,
                label,
                row.runs,
                gens(row.real_collections),
                gens(row.model_collections.map(|x| x as f64)),
                row.real_gc_ms,
                row.real_gc_range.0,
                row.real_gc_range.1,
                row.model_gc_ms,
                rel(row.model_gc_ms, row.real_gc_ms),
            );
            for k in 0..4 {
                let _ = write!(
                    s,
                    " {:.0} | {:.0} |",
                    row.real_pauses_us[k], row.model_pauses_us[k]
                );
            }
            let _ = writeln!(s);
        }
    }
    let _ = writeln!(s, "\n## Peak memory and wall time\n");
    let _ = writeln!(
        s,
        "Peak RSS of the whole process and wall time, real against predicted. The model predicts \
         a policy's change: its peak RSS is the default's real peak RSS plus the change in the \
         model's peak live bytes, its wall time the default's real wall time plus the change in \
         predicted collector time (so the default rows agree by construction).\n"
    );
    let _ = writeln!(
        s,
        "| program | policy | peak RSS MB real | model | error | model peak live MB | wall s real (range) | model | error |"
    );
    let _ = writeln!(s, "|---|---|---:|---:|---:|---:|---:|---:|---:|");
    for p in &r.programs {
        for row in &p.rows {
            let label = label(row.policy);
            let _ = writeln!(
                s,
                "| {} | {} | {:.1} | {:.1} | {} | {:.1} | {:.3} ({:.3}–{:.3}) | {:.3} | {} |",
                p.program,
                label,
                row.real_rss_mb,
                row.model_rss_mb,
                rel(row.model_rss_mb, row.real_rss_mb),
                row.model_peak_live_mb,
                row.real_wall_s,
                row.real_wall_range.0,
                row.real_wall_range.1,
                row.model_wall_s,
                rel(row.model_wall_s, row.real_wall_s),
            );
        }
    }
    let _ = writeln!(s, "\n## The model's error per metric\n");
    let _ = writeln!(
        s,
        "Over the programs, for each policy: the median and the largest absolute error, and in \
         how many programs the prediction lies within the range of the real runs (the machine's \
         own run-to-run spread). Collections: model minus real, summed over the generations. \
         The default policy calibrates the cost model; the others are predictions.\n"
    );
    let _ = writeln!(
        s,
        "| policy | collections: programs equal | largest difference | collector time: median error | largest | within the real range | p90 pause: median error | largest | peak RSS: median error | largest | wall: median error | largest | within the real range |"
    );
    let _ = writeln!(
        s,
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for p in &POLICIES {
        let rows: Vec<&PolicyRow> = r
            .programs
            .iter()
            .flat_map(|x| x.rows.iter())
            .filter(|row| row.policy == p.name)
            .collect();
        if rows.is_empty() {
            continue;
        }
        let diff = |row: &&PolicyRow| -> f64 {
            (0..3)
                .map(|g| (row.model_collections[g] as f64 - row.real_collections[g]).abs())
                .sum()
        };
        let equal = rows.iter().filter(|row| diff(row) == 0.0).count();
        let largest = rows.iter().map(diff).fold(0.0, f64::max);
        let stat = |f: &dyn Fn(&PolicyRow) -> (f64, f64)| -> String {
            let mut errs: Vec<f64> = rows
                .iter()
                .map(|row| f(row))
                .filter(|(_, real)| *real > 0.0)
                .map(|(m, real)| ((m - real) / real).abs() * 100.0)
                .collect();
            if errs.is_empty() {
                return "n/a | n/a".into();
            }
            let max = errs.iter().copied().fold(0.0, f64::max);
            format!("{:.0}% | {:.0}%", median_f(&mut errs), max)
        };
        let gc_in = rows
            .iter()
            .filter(|row| within(row.model_gc_ms, row.real_gc_range))
            .count();
        let wall_in = rows
            .iter()
            .filter(|row| within(row.model_wall_s, row.real_wall_range))
            .count();
        let _ = writeln!(
            s,
            "| {} | {}/{} | {} | {} | {}/{} | {} | {} | {} | {}/{} |",
            p.label,
            equal,
            rows.len(),
            largest,
            stat(&|row| (row.model_gc_ms, row.real_gc_ms)),
            gc_in,
            rows.len(),
            stat(&|row| (row.model_pauses_us[1], row.real_pauses_us[1])),
            stat(&|row| (row.model_rss_mb, row.real_rss_mb)),
            stat(&|row| (row.model_wall_s, row.real_wall_s)),
            wall_in,
            rows.len(),
        );
    }
    let _ = writeln!(s, "\n## Calibrated per program\n");
    let _ = writeln!(
        s,
        "How much of the collector-time error is the program rather than the policy: the cost \
         model fitted to each program's own default runs, and its collector-time error (model \
         minus real over real) under each policy.\n"
    );
    let _ = write!(
        s,
        "| program | fixed µs | ns per object visited | ns per work unit | ns per object collected | median fitted error |"
    );
    for p in &POLICIES {
        let _ = write!(s, " {} |", p.label);
    }
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "|---|---:|---:|---:|---:|---:|{}",
        "---:|".repeat(POLICIES.len())
    );
    for p in &r.programs {
        let o = &p.own;
        let _ = write!(
            s,
            "| {} | {:.1} | {:.2} | {:.2} | {:.2} | {:.0}% |",
            p.program,
            o.fixed_ns / 1e3,
            o.per_visited_ns,
            o.per_work_ns,
            o.per_collected_ns,
            o.median_rel_error * 100.0
        );
        for q in &POLICIES {
            let cell = p
                .rows
                .iter()
                .find(|row| row.policy == q.name)
                .map_or("".into(), |row| rel(row.own_gc_ms, row.real_gc_ms));
            let _ = write!(s, " {cell} |");
        }
        let _ = writeln!(s);
    }
    let _ = writeln!(s, "\n## Pairing\n");
    let _ = writeln!(
        s,
        "Default-policy real collections paired with a model collection of the same generation \
         and rank (the calibration's samples), over all runs:\n"
    );
    for p in &r.programs {
        let _ = writeln!(s, "- {}: {} of {}", p.program, p.paired.0, p.paired.1);
    }
    s
}

/// What [`regenerate`] did for one real-runs file of a results directory.
#[derive(Clone, Debug)]
pub enum Published {
    /// The comparison, recomputed: the version, the path of its markdown, the markdown.
    Done(String, PathBuf, String),
    /// Not recomputed: the version and why (its recordings are not on this machine).
    Skipped(String, String),
}

/// Recomputes the comparison of every real-runs file `dir/real-runs/<version>.jsonl` whose
/// recordings are under `recordings/<version>/`, for `dir/model-vs-real/<version>.md`; the
/// caller writes or compares it. Versions whose recordings are absent (only one version's are
/// committed) are skipped, saying so.
pub fn regenerate(dir: &Path, recordings: &Path) -> Result<Vec<Published>, FidelityError> {
    let mut files: Vec<PathBuf> = match std::fs::read_dir(dir.join("real-runs")) {
        Ok(it) => it
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
            .collect(),
        Err(_) => return Ok(Vec::new()),
    };
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let version = f
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        if !recordings.join(&version).is_dir() {
            out.push(Published::Skipped(
                version.clone(),
                format!(
                    "no recordings under {}/{version} (scripts/record_corpus.sh --versions \
                     {version} makes them)",
                    recordings.display()
                ),
            ));
            continue;
        }
        let runs = read_real_runs(&f)?;
        let md = report_markdown(&compare(&runs, recordings)?);
        let path = dir.join("model-vs-real").join(format!("{version}.md"));
        out.push(Published::Done(version, path, md));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(visited: u64, work: u64, collected: u64) -> Shape {
        Shape {
            visited,
            work,
            collected,
        }
    }

    #[test]
    fn fit_recovers_a_linear_cost() {
        let samples: Vec<(Shape, u64)> = (0..50u64)
            .map(|i| {
                let v = 1000 + 137 * i;
                let w = 3 * v + (i * i * 7) % 900;
                let k = (i * 31) % 200;
                (sh(v, w, k), 5000 + 3 * v + w + 20 * k)
            })
            .collect();
        let m = CostModel::fit(&samples);
        assert!((m.fixed_ns - 5000.0).abs() < 1e-3, "{m:?}");
        assert!((m.per_visited_ns - 3.0).abs() < 1e-6, "{m:?}");
        assert!((m.per_work_ns - 1.0).abs() < 1e-6, "{m:?}");
        assert!((m.per_collected_ns - 20.0).abs() < 1e-6, "{m:?}");
        assert!(m.median_rel_error < 1e-9);
        assert_eq!(m.samples, 50);
    }

    #[test]
    fn fit_keeps_coefficients_non_negative() {
        // Duration falls with collected: an unconstrained fit would give it a negative cost.
        let samples: Vec<(Shape, u64)> = (0..40u64)
            .map(|i| {
                let v = 1000 + 50 * ((i * 37) % 40);
                (sh(v, 2 * v + i % 3, i), 10_000 + 2 * v - 30 * i)
            })
            .collect();
        let m = CostModel::fit(&samples);
        for c in [
            m.fixed_ns,
            m.per_visited_ns,
            m.per_work_ns,
            m.per_collected_ns,
        ] {
            assert!(c >= 0.0, "{m:?}");
        }
        assert_eq!(m.per_collected_ns, 0.0, "{m:?}");
        // The exact fit needs -30 per object collected, so the best allowed one is not exact.
        assert!(m.median_rel_error > 0.0, "{m:?}");
    }

    #[test]
    fn bad_lines_are_usage_errors() {
        let dir = std::env::temp_dir().join(format!("gclab-policies-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("runs.jsonl");
        std::fs::write(&f, "# comment\n{\"program\":\"p\"}\n").unwrap();
        let e = read_real_runs(&f).unwrap_err().to_string();
        assert!(e.contains("runs.jsonl:2"), "{e}");
        std::fs::write(
            &f,
            "{\"program\":\"p\",\"version\":\"3.13.0\",\"policy\":\"fast\",\"run\":0,\
             \"wall_s\":1.0,\"peak_rss_kb\":1,\"collections\":[]}\n",
        )
        .unwrap();
        let e = read_real_runs(&f).unwrap_err().to_string();
        assert!(
            e.contains("unknown policy 'fast'") && e.contains("t10000"),
            "{e}"
        );
        std::fs::write(&f, "# nothing\n").unwrap();
        assert!(read_real_runs(&f).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
