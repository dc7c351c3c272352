//! `gclab reproduce`: [`regenerate`](crate::pipeline::regenerate) every published experiment
//! under `results/` in place (sweep, figures, README tables, HTML pages and the index of
//! results); with `--check`, rerun into a temporary directory instead and compare the
//! deterministic columns, sidecars, figures and the HTML pages' deterministic parts with the
//! committed ones, byte for byte. The results that are not sweeps have their figures redrawn
//! from their committed measurement files ([`crate::plot::MEASURED`]), or with `--check`
//! redrawn into a temporary directory and compared.
use crate::classify::{Classify, ClassifyExt, CmdContext, CmdError, CmdResult, ExitClass};
use crate::experiment::Experiment;
use crate::html;
use crate::pipeline::{self, RegenerateOptions};
use crate::plot::PlotOptions;
use crate::results::{read_rows, write_rows, ResultSet, RunRow};
use crate::sweep;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Arguments of `gclab reproduce`.
#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// Rerun into a temporary directory and compare with the committed results instead of
    /// overwriting them; exit 1 if anything deterministic differs.
    #[arg(long)]
    pub check: bool,
    /// Rerun only the first replicate of each cell (figures are then redrawn from the
    /// committed rows with the rerun rows substituted).
    #[arg(long)]
    pub quick: bool,
    /// The directory holding the published experiments.
    #[arg(long, default_value = "results")]
    pub root: PathBuf,
    /// Only these results (directory names under `--root`; repeat the flag for several).
    #[arg(long)]
    pub only: Vec<String>,
    /// Worker threads.
    #[arg(long, short = 'j')]
    pub jobs: Option<usize>,
    /// SVG only.
    #[arg(long)]
    pub no_png: bool,
}

/// Deterministic differences found by `--check`.
#[derive(Debug, thiserror::Error)]
#[error("{count} deterministic difference(s) from the committed results (listed above)")]
pub struct CheckFailed {
    /// How many.
    pub count: usize,
}

impl Classify for CheckFailed {
    fn exit_class(&self) -> ExitClass {
        ExitClass::Internal
    }
}

/// The directories under `root` that `keep` accepts, sorted (only those named in `only`, if
/// any are).
fn result_dirs(root: &Path, only: &[String], keep: fn(&Path) -> bool) -> CmdResult<Vec<PathBuf>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(root)
        .internal()
        .with_context(|| format!("reading {}", root.display()))?
    {
        let p = e.internal()?.path();
        if keep(&p) && (only.is_empty() || only.contains(&dir_name(&p))) {
            out.push(p);
        }
    }
    out.sort();
    Ok(out)
}

/// The last component of `p`, as text.
fn dir_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Whether `p` is a sweep's result (it has an `experiment.toml`).
fn is_experiment(p: &Path) -> bool {
    p.join("experiment.toml").is_file()
}

/// Whether `p` is a result that is not a sweep but holds a measurement file `gclab plot` draws.
fn is_measured(p: &Path) -> bool {
    !p.join("experiment.toml").exists() && crate::plot::has_measured(p)
}

/// The experiment directories under `root`, sorted (only those named, if any are); none is an
/// error.
pub fn experiments(root: &Path, only: &[String]) -> CmdResult<Vec<PathBuf>> {
    let out = result_dirs(root, only, is_experiment)?;
    if out.is_empty() {
        return Err(CmdError::internal(anyhow::anyhow!(
            "no experiments (directories with experiment.toml) under {}",
            root.display()
        )));
    }
    Ok(out)
}

/// The figures of a result that is not a sweep, redrawn from copies of its measurement files
/// into a temporary directory: what differs from the committed SVGs.
fn check_measured(dir: &Path) -> CmdResult<Vec<String>> {
    let tmp = tempfile::tempdir()
        .internal()
        .context("creating a temporary directory")?;
    for m in crate::plot::MEASURED {
        let from = dir.join(m.file);
        if from.is_file() {
            let to = tmp.path().join(m.file);
            if let Some(parent) = to.parent() {
                std::fs::create_dir_all(parent).internal()?;
            }
            std::fs::copy(&from, &to)
                .internal()
                .with_context(|| format!("copying {}", from.display()))?;
        }
    }
    crate::plot::write_measured(tmp.path(), false)?;
    Ok(compare_figures(dir, tmp.path()))
}

/// Prints what `--check` found in `dir` (each difference, then a verdict line ending in
/// `suffix`); returns how many differences there were.
fn print_check(dir: &Path, found: &[String], matched: &str, suffix: &str) -> usize {
    for d in found {
        println!("DIFFERS {}: {d}", dir.display());
    }
    let verdict = if found.is_empty() {
        matched.to_string()
    } else {
        format!("{} difference(s)", found.len())
    };
    println!("{}: {verdict}{suffix}", dir.display());
    found.len()
}

/// Runs `gclab reproduce`.
pub fn run(a: Args) -> CmdResult {
    let mut diffs = 0;
    let exps = result_dirs(&a.root, &a.only, is_experiment)?;
    let measured = result_dirs(&a.root, &a.only, is_measured)?;
    let found: Vec<String> = exps.iter().chain(&measured).map(|p| dir_name(p)).collect();
    if let Some(bad) = a.only.iter().find(|n| !found.contains(n)) {
        let all = result_dirs(&a.root, &[], |p| is_experiment(p) || is_measured(p))?;
        let names: Vec<String> = all.iter().map(|p| dir_name(p)).collect();
        return Err(CmdError::usage(anyhow::anyhow!(
            "--only {bad}: no such result under {}; the results are: {}",
            a.root.display(),
            names.join(", ")
        )));
    }
    if exps.is_empty() && measured.is_empty() {
        return Err(CmdError::internal(anyhow::anyhow!(
            "no results (directories with experiment.toml or a measurement file gclab draws) \
             under {}",
            a.root.display()
        )));
    }
    for dir in exps {
        let t = std::time::Instant::now();
        if a.check {
            let found = check_dir(&dir, &a)?;
            let elapsed = format!(" ({:.1}s)", t.elapsed().as_secs_f64());
            diffs += print_check(
                &dir,
                &found,
                "deterministic results and figures match",
                &elapsed,
            );
        } else {
            let exp = Experiment::load(&dir)?;
            let done = pipeline::regenerate(&exp, &a.regenerate_options())?;
            model_vs_real(&dir, false)?;
            if !done.summary.failed.is_empty() {
                eprintln!(
                    "{}: {} cell(s) failed",
                    dir.display(),
                    done.summary.failed.len()
                );
            }
            println!(
                "{}: regenerated ({:.1}s)",
                dir.display(),
                t.elapsed().as_secs_f64()
            );
        }
    }
    for dir in &measured {
        if a.check {
            let found = check_measured(dir)?;
            let matched = "figures redrawn from its measurement files match";
            diffs += print_check(dir, &found, matched, "");
        } else {
            crate::plot::write_measured(dir, !a.no_png)?;
            println!(
                "{}: figures redrawn from its measurement files",
                dir.display()
            );
        }
    }
    if a.check {
        for d in check_index(&a.root)? {
            println!("DIFFERS {}: {d}", a.root.display());
            diffs += 1;
        }
    } else {
        let index = super::report::write_results_index(&a.root)?;
        println!("{}: the index of every result", index.display());
    }
    if diffs > 0 {
        return Err(CheckFailed { count: diffs }.into());
    }
    Ok(())
}

impl Args {
    /// The regenerate options these arguments ask for (`--quick`: the first replicate only).
    fn regenerate_options(&self) -> RegenerateOptions {
        RegenerateOptions {
            jobs: self.jobs,
            max_replicates: self.quick.then_some(1),
            png: !self.no_png,
        }
    }
}

/// The first place two JSON values differ, as a path.
pub fn first_diff(a: &serde_json::Value, b: &serde_json::Value, path: &str) -> Option<String> {
    use serde_json::Value;
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, va) in x {
                match y.get(k) {
                    Some(vb) => {
                        if let Some(d) = first_diff(va, vb, &format!("{path}.{k}")) {
                            return Some(d);
                        }
                    }
                    None => return Some(format!("{path}.{k}: missing in the rerun")),
                }
            }
            y.keys()
                .find(|k| !x.contains_key(*k))
                .map(|k| format!("{path}.{k}: only in the rerun"))
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find_map(|(i, (p, q))| first_diff(p, q, &format!("{path}[{i}]"))),
        _ if a == b => None,
        _ => Some(format!("{path}: committed {a}, rerun {b}")),
    }
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    if from.is_dir() {
        for e in std::fs::read_dir(from)? {
            let p = e?.path();
            if p.is_file() {
                if let Some(n) = p.file_name() {
                    std::fs::copy(&p, to.join(n))?;
                }
            }
        }
    }
    Ok(())
}

/// Reruns one experiment into a temporary directory and lists what differs from the committed
/// results: rows (deterministic columns), sidecars and deterministic figures (`figures/*.svg`).
pub fn check_dir(dir: &Path, a: &Args) -> CmdResult<Vec<String>> {
    let exp = Experiment::load(dir)?;
    let tmp = tempfile::tempdir()
        .internal()
        .context("creating a temporary directory")?;
    let work = tmp.path().join(&exp.name);
    std::fs::create_dir_all(&work).internal()?;
    std::fs::copy(dir.join("experiment.toml"), work.join("experiment.toml")).internal()?;
    // Committed sidecars first, so a quick rerun can redraw figures from the full set.
    copy_dir(&dir.join("runs"), &work.join("runs")).internal()?;
    let texp = Experiment::load(&work)?;
    sweep::run(
        &texp,
        &a.regenerate_options()
            .sweep_options(work.join("runs.jsonl")),
    )?;

    let mut found = Vec::new();
    let (committed, _) = read_rows(&dir.join("runs.jsonl"))?;
    let (rerun, _) = read_rows(&work.join("runs.jsonl"))?;
    let cmap: BTreeMap<&str, &RunRow> = committed.iter().map(|r| (r.cell.as_str(), r)).collect();
    let rmap: BTreeMap<&str, &RunRow> = rerun.iter().map(|r| (r.cell.as_str(), r)).collect();
    for (cell, r) in &rmap {
        match cmap.get(cell) {
            None => found.push(format!(
                "runs.jsonl: cell '{cell}' is not in the committed results"
            )),
            Some(c) => {
                if let Some(d) = first_diff(&c.deterministic(), &r.deterministic(), "") {
                    found.push(format!("runs.jsonl: cell '{cell}': {d}"));
                }
                if let (Some(cs), Some(rs)) = (&c.sidecar, &r.sidecar) {
                    // The rerun's sidecar overwrote the copied one in `work`.
                    let cb = std::fs::read(dir.join(cs)).ok();
                    let rb = std::fs::read(work.join(rs)).ok();
                    if cs != rs || cb != rb {
                        found.push(format!("{cs}: sidecar differs"));
                    }
                } else if c.sidecar.is_some() != r.sidecar.is_some() {
                    found.push(format!(
                        "runs.jsonl: cell '{cell}': sidecar present in only one"
                    ));
                }
            }
        }
    }
    if !a.quick {
        for cell in cmap.keys() {
            if !rmap.contains_key(cell) {
                found.push(format!("runs.jsonl: committed cell '{cell}' was not rerun"));
            }
        }
    }
    // Figures from the rerun rows (plus, in quick mode, the committed rows not rerun).
    let mut rows: Vec<RunRow> = rerun.clone();
    if a.quick {
        rows.extend(
            committed
                .iter()
                .filter(|c| !rmap.contains_key(c.cell.as_str()))
                .cloned(),
        );
    }
    rows.sort_by_key(|r| r.index);
    write_rows(&work.join("runs.jsonl"), &rows)?;
    let rs = ResultSet::load(&work)?;
    crate::plot::write_all(&rs, &work, &PlotOptions { png: false })?;
    found.extend(compare_figures(dir, &work));
    found.extend(compare_page(dir, &rs, &work)?);
    found.extend(model_vs_real(dir, true)?);
    Ok(found)
}

/// The model-against-real-runs comparisons of `dir` (`real-runs/*.jsonl`, see
/// [`crate::fidelity::policies`]): recomputed from the committed real runs and recordings, and
/// either compared with the committed markdown (`check`, returning what differs) or written.
fn model_vs_real(dir: &Path, check: bool) -> CmdResult<Vec<String>> {
    use crate::fidelity::policies::{regenerate, Published};
    let mut found = Vec::new();
    for p in regenerate(dir, Path::new("corpus/recordings"))? {
        match p {
            Published::Skipped(v, why) => println!(
                "{}: model-vs-real/{v}.md not rechecked: {why}",
                dir.display()
            ),
            Published::Done(v, path, md) if check => {
                if std::fs::read_to_string(&path).ok().as_deref() != Some(md.as_str()) {
                    found.push(format!(
                        "model-vs-real/{v}.md: differs from its recomputation"
                    ));
                }
            }
            Published::Done(_, path, md) => {
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent).internal()?;
                }
                std::fs::write(&path, md)
                    .internal()
                    .with_context(|| format!("writing {}", path.display()))?;
            }
        }
    }
    Ok(found)
}

/// The committed `dir/index.html` against the page of the rerun (`rs`, figures under `work`),
/// both without their wall-clock part ([`html::deterministic_part`]).
fn compare_page(dir: &Path, rs: &ResultSet, work: &Path) -> CmdResult<Vec<String>> {
    let rerun = html::deterministic_part(&html::result_page(rs, work)?);
    Ok(match std::fs::read_to_string(dir.join(html::INDEX)) {
        Err(_) => vec![format!("{}: not committed", html::INDEX)],
        Ok(c) if html::deterministic_part(&c) != rerun => vec![format!(
            "{}: differs outside its wall-clock part",
            html::INDEX
        )],
        Ok(_) => Vec::new(),
    })
}

/// The committed `root/index.html` against the index of the experiments under `root`.
fn check_index(root: &Path) -> CmdResult<Vec<String>> {
    let page = html::index_page(root, &super::report::results_of(root)?);
    Ok(match std::fs::read_to_string(root.join(html::INDEX)).ok() {
        None => vec![format!("{}: not committed", html::INDEX)],
        Some(c) if c != page => vec![format!(
            "{}: differs from the index of the experiments",
            html::INDEX
        )],
        Some(_) => Vec::new(),
    })
}

/// The deterministic figures (`figures/*.svg`) of `dir` and `work` that differ, are missing from
/// the rerun or were not committed.
fn compare_figures(dir: &Path, work: &Path) -> Vec<String> {
    let svgs = |d: &Path| -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(d.join("figures"))
            .map(|it| {
                it.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| n.ends_with(".svg"))
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    };
    let (cf, rf) = (svgs(dir), svgs(work));
    let mut found = Vec::new();
    for f in &cf {
        if !rf.contains(f) {
            found.push(format!("figures/{f}: not produced by the rerun"));
        } else if std::fs::read(dir.join("figures").join(f)).ok()
            != std::fs::read(work.join("figures").join(f)).ok()
        {
            found.push(format!("figures/{f}: differs byte for byte"));
        }
    }
    for f in &rf {
        if !cf.contains(f) {
            found.push(format!(
                "figures/{f}: produced by the rerun but not committed"
            ));
        }
    }
    found
}
