//! Sweeps: run every cell of an [`Experiment`], in parallel across cells (rayon; each
//! simulation single-threaded), appending one JSON line per run to a results file.
//!
//! Crash safety: each row is written with one `write` of the whole line on a file opened for
//! appending, after its sidecar file is complete (written to a temporary name and renamed). A
//! SIGKILL therefore loses at most the cells in flight, and can leave at most one partial last
//! line, which [`read_rows`] ignores and `--resume` truncates before appending. A panic inside
//! one cell is caught and recorded as that cell's failure; the sweep goes on.
//!
//! The sweep produces results data; the shapes it writes ([`RunRow`], [`Sidecar`]) and their
//! reading and merging live in [`crate::results`].

use crate::experiment::{Cell, Experiment, SEED_HASH};
use crate::metrics;
use crate::provenance::Provenance;
use crate::results::{
    read_rows, write_rows, write_sidecar, CellStatus, Metrics, ResultsError, RunRow, Sched,
    Sidecar, Status, WallMetrics, ROW_SCHEMA,
};
use crate::runner::{self, RunOutput, RunSpec, Sampling, Source};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;
use std::collections::BTreeSet;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Options of a sweep.
#[derive(Clone, Debug)]
pub struct SweepOptions {
    /// Worker threads (default: rayon's default).
    pub jobs: Option<usize>,
    /// Skip cells already in the results file.
    pub resume: bool,
    /// Run only shard `I` of `N` (cells whose plan index is `I mod N`).
    pub shard: Option<(usize, usize)>,
    /// The results file.
    pub out: PathBuf,
    /// Sanity mode for every cell.
    pub verify: bool,
    /// Memory budget for every cell (overrides the experiment's).
    pub max_heap: Option<u64>,
    /// Show a progress bar (on a terminal only).
    pub progress: bool,
    /// Run only cells whose replicate is below this (the quick mode of `reproduce`).
    pub max_replicates: Option<u32>,
}

/// What a sweep did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SweepSummary {
    /// Cells in this sweep's share.
    pub planned: usize,
    /// Cells skipped because they were already done (`--resume`).
    pub skipped: usize,
    /// Cells that completed.
    pub ok: usize,
    /// Cells that ran out of memory.
    pub out_of_memory: usize,
    /// Cells that failed, with their messages.
    pub failed: Vec<(String, String)>,
}

/// Errors of a sweep as a whole (a failing cell is not one: it is recorded).
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// Reading or writing results.
    #[error("{path}: {message}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        message: String,
    },
    /// Reading or writing the result files (rows, sidecars).
    #[error(transparent)]
    Results(#[from] ResultsError),
    /// Bad `--shard` or thread count.
    #[error("{0}")]
    Usage(String),
}

fn io_err(path: &Path, e: impl std::fmt::Display) -> SweepError {
    SweepError::Io {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// Parses `I/N` (0 <= I < N).
pub fn parse_shard(s: &str) -> Result<(usize, usize), SweepError> {
    let bad = || {
        SweepError::Usage(format!(
            "--shard '{s}': expected I/N with 0 <= I < N, e.g. 0/4"
        ))
    };
    let (i, n) = s.split_once('/').ok_or_else(bad)?;
    let i: usize = i.trim().parse().map_err(|_| bad())?;
    let n: usize = n.trim().parse().map_err(|_| bad())?;
    if n == 0 || i >= n {
        return Err(bad());
    }
    Ok((i, n))
}

/// The shard from Slurm's job-array variables, if set: `SLURM_ARRAY_TASK_ID` (minus
/// `SLURM_ARRAY_TASK_MIN`, if set) of `SLURM_ARRAY_TASK_COUNT`.
pub fn shard_from_slurm() -> Result<Option<(usize, usize)>, SweepError> {
    let get = |k: &str| std::env::var(k).ok();
    let (Some(id), Some(count)) = (get("SLURM_ARRAY_TASK_ID"), get("SLURM_ARRAY_TASK_COUNT"))
    else {
        return Ok(None);
    };
    let min = get("SLURM_ARRAY_TASK_MIN").unwrap_or_else(|| "0".into());
    let parse = |k: &str, v: &str| {
        v.trim()
            .parse::<usize>()
            .map_err(|_| SweepError::Usage(format!("{k}='{v}' is not a non-negative integer")))
    };
    let id = parse("SLURM_ARRAY_TASK_ID", &id)?;
    let count = parse("SLURM_ARRAY_TASK_COUNT", &count)?;
    let min = parse("SLURM_ARRAY_TASK_MIN", &min)?;
    let i = id.checked_sub(min).ok_or_else(|| {
        SweepError::Usage(format!(
            "SLURM_ARRAY_TASK_ID {id} is below SLURM_ARRAY_TASK_MIN {min}"
        ))
    })?;
    parse_shard(&format!("{i}/{count}")).map(Some)
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic with a non-string payload".into()
    }
}

struct Ctx<'a> {
    exp: &'a Experiment,
    opts: &'a SweepOptions,
    dir: PathBuf,
    sched: Sched,
}

/// What the cell runs: its strategy, workload, seed and the sweep's options.
fn spec_of(ctx: &Ctx<'_>, cell: &Cell) -> RunSpec {
    RunSpec {
        strategy: cell.strategy.name.clone(),
        strategy_params: cell.strategy.params.clone(),
        source: Source::parse(&cell.workload.name, cell.workload.params.clone()),
        seed: cell.seed,
        verify: ctx.opts.verify || ctx.exp.file.verify,
        max_heap: ctx.opts.max_heap.or(cell.max_heap),
    }
}

/// The row of a cell before its outcome is known: a failure without a message.
fn blank_row(ctx: &Ctx<'_>, cell: &Cell) -> RunRow {
    RunRow {
        schema: ROW_SCHEMA.into(),
        experiment: ctx.exp.name.clone(),
        cell: cell.key.clone(),
        index: cell.index,
        strategy: cell.strategy.label.clone(),
        workload: cell.workload.label.clone(),
        master_seed: cell.master_seed,
        replicate: cell.replicate,
        seed: cell.seed,
        seed_hash: SEED_HASH.into(),
        status: CellStatus::Failed,
        error: None,
        run: None,
        metrics: None,
        sidecar: None,
        wall: None,
        sched: ctx.sched.clone(),
        provenance: Provenance::current(),
    }
}

/// Fills the row of a cell that ran: status, metrics, record and sidecar.
fn record_output(ctx: &Ctx<'_>, cell: &Cell, row: &mut RunRow, out: RunOutput, cpu_ns: u64) {
    let m = Metrics::derive(&out.record, &out.collections, &out.timeline);
    let wm = WallMetrics::derive(
        &out.record,
        &out.collections,
        cpu_ns,
        metrics::peak_rss_bytes(),
    );
    row.status = match out.record.status {
        Status::Ok => CellStatus::Ok,
        Status::OutOfMemory => CellStatus::OutOfMemory,
    };
    let keep_pauses = ctx.exp.file.keep_pause_log;
    if !out.timeline.is_empty() || keep_pauses {
        let sc = Sidecar::of_run(&cell.key, &out.timeline, &out.collections, keep_pauses);
        match write_sidecar(&ctx.dir, &sc) {
            Ok(rel) => row.sidecar = Some(rel),
            Err(e) => {
                row.status = CellStatus::Failed;
                row.error = Some(format!("writing the sidecar: {e}"));
            }
        }
    }
    row.run = Some(out.record);
    row.metrics = Some(m);
    row.wall = Some(wm);
}

fn run_cell(ctx: &Ctx<'_>, cell: &Cell) -> RunRow {
    let exp = ctx.exp;
    let spec = spec_of(ctx, cell);
    let sampling = Sampling {
        every: exp.file.timeline_every,
        garbage: exp.file.garbage,
    };
    let cpu0 = metrics::thread_cpu_ns();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        #[cfg(test)]
        if tests::PANIC_ON
            .lock()
            .map(|p| p.as_deref() == Some(&format!("{}/{}", exp.name, cell.key)))
            .unwrap_or(false)
        {
            panic!("deliberate test panic in {}", cell.key);
        }
        runner::run_sampled(&spec, sampling)
    }));
    let cpu_ns = metrics::thread_cpu_ns().saturating_sub(cpu0);
    let mut row = blank_row(ctx, cell);
    match result {
        Err(payload) => {
            row.error = Some(format!("panic: {}", panic_message(&*payload)));
        }
        Ok(Err(e)) => row.error = Some(e.to_string()),
        Ok(Ok(out)) => record_output(ctx, cell, &mut row, out, cpu_ns),
    }
    row
}

thread_local! {
    static QUIET_PANICS: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

type PanicHook = Box<dyn Fn(&std::panic::PanicHookInfo<'_>) + Sync + Send + 'static>;

/// While alive, keeps the panic hook from printing panics on sweep threads (they are recorded
/// in their rows, and would print over the progress bar); dropping it restores the hook.
struct QuietPanics {
    prev: Option<Arc<PanicHook>>,
}

impl QuietPanics {
    fn install() -> QuietPanics {
        let prev = Arc::new(std::panic::take_hook());
        let hook = prev.clone();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET_PANICS.with(|q| q.get()) {
                hook(info);
            }
        }));
        QuietPanics { prev: Some(prev) }
    }
}

impl Drop for QuietPanics {
    fn drop(&mut self) {
        let _ = std::panic::take_hook();
        if let Some(Ok(prev)) = self.prev.take().map(Arc::try_unwrap) {
            std::panic::set_hook(prev);
        }
    }
}

/// The cells of this sweep's share: its shard, and its replicates in quick mode.
fn share<'a>(all: &'a [Cell], opts: &SweepOptions) -> Vec<&'a Cell> {
    all.iter()
        .filter(|c| opts.shard.is_none_or(|(i, n)| c.index % n == i))
        .filter(|c| opts.max_replicates.is_none_or(|m| c.replicate < m))
        .collect()
}

/// Prepares the results file: with `--resume`, cuts a partial last line and returns the cells
/// already done; otherwise removes it.
fn prepare_out(opts: &SweepOptions) -> Result<BTreeSet<String>, SweepError> {
    let mut done = BTreeSet::new();
    if opts.resume {
        let (rows, good) = read_rows(&opts.out)?;
        // Drop a partial last line left by a kill, so the next row starts on its own line.
        if let Ok(meta) = std::fs::metadata(&opts.out) {
            if meta.len() != good {
                let f = std::fs::OpenOptions::new()
                    .write(true)
                    .open(&opts.out)
                    .map_err(|e| io_err(&opts.out, e))?;
                f.set_len(good).map_err(|e| io_err(&opts.out, e))?;
            }
        }
        done.extend(rows.into_iter().map(|r| r.cell));
    } else if opts.out.exists() {
        std::fs::remove_file(&opts.out).map_err(|e| io_err(&opts.out, e))?;
    }
    Ok(done)
}

/// The worker pool: `jobs` threads, or rayon's default.
fn thread_pool(jobs: Option<usize>) -> Result<rayon::ThreadPool, SweepError> {
    let mut builder = rayon::ThreadPoolBuilder::new();
    if let Some(j) = jobs {
        if j == 0 {
            return Err(SweepError::Usage("--jobs must be at least 1".into()));
        }
        builder = builder.num_threads(j);
    }
    builder
        .build()
        .map_err(|e| SweepError::Usage(format!("cannot start worker threads: {e}")))
}

/// How the rows of this process are scheduled.
fn sched(opts: &SweepOptions, threads: usize) -> Sched {
    Sched {
        shard: opts
            .shard
            .map_or_else(|| "0/1".to_string(), |(i, n)| format!("{i}/{n}")),
        threads,
        slurm: std::env::var("SLURM_ARRAY_JOB_ID").ok().map(|j| {
            format!(
                "{j}_{}",
                std::env::var("SLURM_ARRAY_TASK_ID").unwrap_or_default()
            )
        }),
    }
}

fn progress_bar(show: bool, len: usize) -> ProgressBar {
    let pb = if show {
        ProgressBar::with_draw_target(Some(len as u64), ProgressDrawTarget::stderr())
    } else {
        ProgressBar::hidden()
    };
    if let Ok(style) =
        ProgressStyle::with_template("{bar:40} {pos}/{len} cells  {elapsed_precise} (eta {eta})")
    {
        pb.set_style(style);
    }
    pb
}

/// Appends one row to the results file: one write of the whole line, on a file opened for
/// appending.
fn append_row(file: &Mutex<File>, out: &Path, row: &RunRow) -> Result<(), SweepError> {
    let mut line = serde_json::to_string(row).map_err(|e| io_err(out, e))?;
    line.push('\n');
    let r = match file.lock() {
        Ok(mut f) => f.write_all(line.as_bytes()).and_then(|_| f.flush()),
        Err(_) => Err(std::io::Error::other("results file lock poisoned")),
    };
    r.map_err(|e| io_err(out, e))
}

/// How one cell ended: its status, key and error message.
type Outcome = (CellStatus, String, Option<String>);

/// Runs the cells on the pool, appending each row as it completes; returns the outcomes, or
/// the last error writing a row.
fn run_cells(
    pool: &rayon::ThreadPool,
    ctx: &Ctx<'_>,
    todo: &[&Cell],
    file: &Mutex<File>,
    pb: &ProgressBar,
) -> Result<Vec<Outcome>, SweepError> {
    let write_errors: Mutex<Vec<SweepError>> = Mutex::new(Vec::new());
    let outcomes: Vec<Outcome> = pool.install(|| {
        todo.par_iter()
            .map(|cell| {
                QUIET_PANICS.with(|q| q.set(true));
                let row = run_cell(ctx, cell);
                QUIET_PANICS.with(|q| q.set(false));
                if let Err(e) = append_row(file, &ctx.opts.out, &row) {
                    if let Ok(mut v) = write_errors.lock() {
                        v.push(e);
                    }
                }
                if row.status == CellStatus::Failed {
                    pb.println(format!(
                        "cell {} failed: {}",
                        row.cell,
                        row.error.as_deref().unwrap_or("")
                    ));
                }
                pb.inc(1);
                (row.status, row.cell, row.error)
            })
            .collect()
    });
    match write_errors.into_inner().ok().and_then(|mut v| v.pop()) {
        Some(e) => Err(e),
        None => Ok(outcomes),
    }
}

/// Rewrites the results file in plan order, so committed results diff cleanly.
fn sort_in_plan_order(out: &Path) -> Result<(), SweepError> {
    let (mut rows, _) = read_rows(out)?;
    rows.sort_by_key(|r| r.index);
    write_rows(out, &rows)?;
    Ok(())
}

/// Runs the sweep.
pub fn run(exp: &Experiment, opts: &SweepOptions) -> Result<SweepSummary, SweepError> {
    let all = exp.cells();
    let share = share(&all, opts);
    let dir = opts
        .out
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    std::fs::create_dir_all(&dir).map_err(|e| io_err(&dir, e))?;
    let done = prepare_out(opts)?;
    let todo: Vec<&Cell> = share
        .iter()
        .copied()
        .filter(|c| !done.contains(&c.key))
        .collect();
    let mut summary = SweepSummary {
        planned: share.len(),
        skipped: share.len() - todo.len(),
        ..Default::default()
    };
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&opts.out)
        .map_err(|e| io_err(&opts.out, e))?;
    let file = Mutex::new(file);
    let pool = thread_pool(opts.jobs)?;
    let ctx = Ctx {
        exp,
        opts,
        dir,
        sched: sched(opts, pool.current_num_threads()),
    };
    let pb = progress_bar(opts.progress, todo.len());
    let quiet = QuietPanics::install();
    let outcomes = run_cells(&pool, &ctx, &todo, &file, &pb);
    drop(quiet);
    pb.finish_and_clear();
    for (status, cell, error) in outcomes? {
        match status {
            CellStatus::Ok => summary.ok += 1,
            CellStatus::OutOfMemory => summary.out_of_memory += 1,
            CellStatus::Failed => summary.failed.push((cell, error.unwrap_or_default())),
        }
    }
    drop(file);
    sort_in_plan_order(&opts.out)?;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::deterministic_by_cell;

    /// Cells whose key contains this panic (to test that a panic stays inside its cell).
    pub(super) static PANIC_ON: Mutex<Option<String>> = Mutex::new(None);

    fn exp(dir: &Path, extra: &str) -> Experiment {
        exp_named(dir, extra, "t")
    }

    fn exp_named(dir: &Path, extra: &str, name: &str) -> Experiment {
        let text = format!(
            "replicates = 2\ntimeline_every = 300\n{extra}\n[[strategy]]\nname = \"refcount\"\n[[strategy]]\nname = \"none\"\n[[workload]]\nname = \"cycles\"\nparams = {{ count = 300 }}\n[[workload]]\nname = \"cycles\"\nlabel = \"cycles-dicts\"\nparams = {{ count = 200, mix = \"0:0:1\" }}\n"
        );
        Experiment::parse(
            &text,
            &dir.join("experiment.toml"),
            name.into(),
            dir.to_path_buf(),
        )
        .unwrap()
    }

    fn opts(out: PathBuf, jobs: usize) -> SweepOptions {
        SweepOptions {
            jobs: Some(jobs),
            resume: false,
            shard: None,
            out,
            verify: false,
            max_heap: None,
            progress: false,
            max_replicates: None,
        }
    }

    #[test]
    fn one_thread_and_two_give_identical_deterministic_columns() {
        let d = tempfile::tempdir().unwrap();
        let e = exp(d.path(), "");
        let a = d.path().join("a/runs.jsonl");
        let b = d.path().join("b/runs.jsonl");
        run(&e, &opts(a.clone(), 1)).unwrap();
        run(&e, &opts(b.clone(), 2)).unwrap();
        let (ra, _) = read_rows(&a).unwrap();
        let (rb, _) = read_rows(&b).unwrap();
        assert_eq!(ra.len(), 8);
        assert_eq!(deterministic_by_cell(&ra), deterministic_by_cell(&rb));
        // Sidecars too, byte for byte.
        for r in &ra {
            let s = r.sidecar.as_ref().unwrap();
            assert_eq!(
                std::fs::read(d.path().join("a").join(s)).unwrap(),
                std::fs::read(d.path().join("b").join(s)).unwrap()
            );
        }
    }

    #[test]
    fn a_panicking_cell_is_recorded_and_the_sweep_goes_on() {
        let d = tempfile::tempdir().unwrap();
        let e = exp_named(d.path(), "", "panicky");
        let out = d.path().join("runs.jsonl");
        *PANIC_ON.lock().unwrap() = Some("panicky/cycles-dicts|none|s1|r1".into());
        let s = run(&e, &opts(out.clone(), 2));
        *PANIC_ON.lock().unwrap() = None;
        let s = s.unwrap();
        assert_eq!(s.ok, 7);
        assert_eq!(s.failed.len(), 1);
        let (rows, _) = read_rows(&out).unwrap();
        let bad: Vec<_> = rows
            .iter()
            .filter(|r| r.status == CellStatus::Failed)
            .collect();
        assert_eq!(bad.len(), 1);
        assert!(bad[0]
            .error
            .as_deref()
            .unwrap()
            .contains("deliberate test panic"));
    }

    #[test]
    fn memory_budget_ends_cells_as_out_of_memory() {
        let d = tempfile::tempdir().unwrap();
        let e = exp(d.path(), "max_heap = 20000\nverify = true");
        let out = d.path().join("runs.jsonl");
        let s = run(&e, &opts(out.clone(), 2)).unwrap();
        assert!(s.out_of_memory >= 4, "{s:?}");
        let (rows, _) = read_rows(&out).unwrap();
        let oom = rows
            .iter()
            .find(|r| r.status == CellStatus::OutOfMemory)
            .unwrap();
        assert!(oom.run.as_ref().unwrap().stop_reason.is_some());
        assert!(rows
            .iter()
            .all(|r| r.run.as_ref().unwrap().verify.is_some()));
    }

    #[test]
    fn shard_parsing() {
        assert_eq!(parse_shard("1/4").unwrap(), (1, 4));
        assert!(parse_shard("4/4").is_err());
        assert!(parse_shard("x").is_err());
        assert!(parse_shard("0/0").is_err());
    }
}
