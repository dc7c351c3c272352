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
//! Only the default policy calibrates; the four others are predictions. The cost model is
//! `cost.rs`, the markdown `report.rs`.

mod cost;
mod report;

pub use cost::{CostModel, Shape};
pub use report::report_markdown;

use super::recording::preset_for;
use super::FidelityError;
use crate::metrics::Percentiles;
use crate::runner::{self, RunOutput, RunSpec, Source};
use serde::Deserialize;
use std::collections::BTreeMap;
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

fn range(v: &[f64]) -> (f64, f64) {
    let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if v.is_empty() {
        (0.0, 0.0)
    } else {
        (lo, hi)
    }
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
