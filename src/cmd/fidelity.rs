//! `gclab fidelity`: the `generational` model against real CPython 3.11/3.12/3.13, collection
//! by collection, for the `fidelity` workload's cases or (with `--workload`) one trace of any
//! catalogue workload. Prints the markdown table row by row; exits 1 if any pair differs. The
//! comparison itself is the library module [`crate::fidelity`]. With `--recording`, one recording
//! against its real run; with `--real-runs`, real runs under several policies against the model.

use crate::classify::{ClassifyExt, CmdContext, CmdError, CmdResult};
use crate::fidelity::{self as f, Report};
use std::path::PathBuf;

/// Arguments of `gclab fidelity`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Cases to run, comma-separated (default: all of the `fidelity` workload's cases).
    #[arg(long, value_delimiter = ',')]
    pub cases: Vec<String>,
    /// Size of every case (default: each case's own).
    #[arg(long)]
    pub size: Option<u64>,
    /// Seed of the traces.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// The replay script (default: scripts/cpython_replay.py of the source tree).
    #[arg(long)]
    pub script: Option<PathBuf>,
    /// Directory for the traces (default: a directory under the system temp dir).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Also write the markdown table to FILE.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Also write every compared pair as a line of JSON to FILE (what `gclab plot` draws).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["recording", "real_runs"])]
    pub jsonl: Option<PathBuf>,
    /// Compare a trace of this catalogue workload instead of the `fidelity` cases.
    #[arg(long, short)]
    pub workload: Option<String>,
    /// Parameter `key=value` of --workload (repeatable).
    #[arg(
        long = "param",
        short = 'p',
        value_name = "KEY=VALUE",
        requires = "workload"
    )]
    pub params: Vec<String>,
    /// Compare a recording of a real program (`gclab record`) instead: replay it under the model
    /// preset of the interpreter that recorded it and compare with the real run's collector log.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["workload", "cases"])]
    pub recording: Option<PathBuf>,
    /// With --recording: the preset to replay (default: the recording interpreter's).
    #[arg(long, requires = "recording")]
    pub preset: Option<String>,
    /// Compare real runs under several collector policies (`scripts/real_runs.py`'s JSON lines,
    /// one CPython version) with replays of their recordings under the matching settings, fit
    /// the version's cost model, and print the comparison as markdown.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["workload", "cases", "recording"])]
    pub real_runs: Option<PathBuf>,
    /// With --real-runs: the directory of recordings, `DIR/<version>/<program>.gctrace`.
    #[arg(
        long,
        value_name = "DIR",
        default_value = "corpus/recordings",
        requires = "real_runs"
    )]
    pub recordings: PathBuf,
}

/// The trace directory when `--dir` is not given.
fn temp_dir() -> PathBuf {
    std::env::temp_dir().join(format!("gclab-fidelity-{}", std::process::id()))
}

/// Runs `gclab fidelity`.
pub fn run(a: Args) -> CmdResult {
    if let Some(r) = &a.real_runs {
        return run_real_runs(r, &a.recordings, a.out.clone());
    }
    if let Some(r) = &a.recording {
        return run_recording(r, a.preset.as_deref(), a.out.clone());
    }
    if let Some(w) = &a.workload {
        return run_workload(w, &a);
    }
    let opts = f::Options {
        cases: a.cases,
        size: a.size,
        seed: a.seed,
        script: a.script.unwrap_or_else(f::default_script),
        dir: a.dir.unwrap_or_else(temp_dir),
    };
    let mut header = true;
    let report = f::check(&opts, |line| {
        if std::mem::take(&mut header) {
            print!("{}", f::table(&Report::default()));
        }
        println!("{line}");
    })?;
    for (v, why) in &report.skipped {
        println!("skipped CPython {v}: {why}");
    }
    finish(&report, a.out, a.jsonl)
}

/// `gclab fidelity --workload NAME`: one workload's trace in every CPython found.
fn run_workload(workload: &str, a: &Args) -> CmdResult {
    let script = a.script.clone().unwrap_or_else(f::default_script);
    let dir = a.dir.clone().unwrap_or_else(temp_dir);
    let mut report = Report::default();
    print!("{}", f::table(&Report::default()));
    for (v, preset, th) in f::VERSIONS {
        match f::find_python(v) {
            f::Interpreter::Found(py) => {
                let row =
                    f::check_workload(workload, &a.params, a.seed, &py, preset, th, &script, &dir)?;
                println!("{}", f::row_line(&row));
                report.rows.push(row);
            }
            f::Interpreter::Missing(why) => {
                println!("skipped CPython {v}: {why}");
                report.skipped.push((v.to_string(), why));
            }
        }
    }
    if a.dir.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    finish(&report, a.out.clone(), a.jsonl.clone())
}

/// `gclab fidelity --recording FILE`: a recording against its real run.
fn run_recording(trace: &std::path::Path, preset: Option<&str>, out: Option<PathBuf>) -> CmdResult {
    let check = f::recording::check_recording(trace, preset)?;
    let table = f::recording::recording_table(&check);
    print!("{table}");
    if let Some(path) = out {
        std::fs::write(&path, &table)
            .internal()
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if !check.matches() {
        return Err(CmdError::internal(anyhow::anyhow!(
            "the replay of {} under {} differs from the real run",
            trace.display(),
            check.preset
        )));
    }
    println!(
        "all {} collections match, and refcount frees what the real run freed by reference counting",
        check.real.len()
    );
    Ok(())
}

/// `gclab fidelity --real-runs FILE`: real runs under several policies against the model.
fn run_real_runs(
    runs: &std::path::Path,
    recordings: &std::path::Path,
    out: Option<PathBuf>,
) -> CmdResult {
    let real = f::policies::read_real_runs(runs)?;
    let report = f::policies::compare(&real, recordings)?;
    let md = f::policies::report_markdown(&report);
    print!("{md}");
    if let Some(path) = out {
        std::fs::write(&path, &md)
            .internal()
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// Writes the table to `out` and the JSON lines to `jsonl` if asked, then fails (internal) if
/// any pair does not match.
fn finish(report: &Report, out: Option<PathBuf>, jsonl: Option<PathBuf>) -> CmdResult {
    for (path, text) in [(out, f::table(report)), (jsonl, f::jsonl(report))] {
        if let Some(path) = path {
            std::fs::write(&path, text)
                .internal()
                .with_context(|| format!("writing {}", path.display()))?;
        }
    }
    let bad = report.rows.iter().filter(|r| !r.matches()).count();
    if bad > 0 {
        return Err(CmdError::internal(anyhow::anyhow!(
            "{bad} of {} (trace, CPython) pairs do not match",
            report.rows.len()
        )));
    }
    println!("all {} (trace, CPython) pairs match", report.rows.len());
    Ok(())
}
