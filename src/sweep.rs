//! Sweeps: run every cell of an [`Experiment`], in parallel across cells (rayon; each
//! simulation single-threaded), appending one JSON line per run to a results file.
//!
//! Crash safety: each row is written with one `write` of the whole line on a file opened for
//! appending, after its sidecar file is complete (written to a temporary name and renamed). A
//! SIGKILL therefore loses at most the cells in flight, and can leave at most one partial last
//! line, which [`read_rows`] ignores and `--resume` truncates before appending. A panic inside
//! one cell is caught and recorded as that cell's failure; the sweep goes on.

use crate::experiment::{Cell, Experiment, SEED_HASH};
use crate::metrics::{self, Percentiles};
use crate::provenance::Provenance;
use crate::runner::{self, RunRecord, RunSpec, Sampling, Source, Status};
use gclab_core::executor::TimelineSample;
use gclab_core::recorder::CollectionRecord;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Schema of a sweep row.
pub const ROW_SCHEMA: &str = "gclab.sweep-row/1";

/// Sidecar files larger than this are gzip-compressed.
pub const COMPRESS_ABOVE: usize = 128 * 1024;

/// How a cell ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CellStatus {
    /// The run completed.
    Ok,
    /// The run exceeded its simulated memory budget; its figures are those at the stop.
    OutOfMemory,
    /// The run could not be carried out (an error, or a panic inside the cell).
    Failed,
}

/// Deterministic metrics derived from a run (identical on every machine).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Total deterministic cost: ops + reference-count writes + objects visited + references
    /// traversed + collector header writes.
    pub work_total: u64,
    /// Explicitly identifiable collector cost: work units inside collections.
    pub work_collector: u64,
    /// Distilled cost (`work_total - work_collector`), for LBO.
    pub work_distilled: u64,
    /// Length of the work clock (ops plus collection work) that MMU is computed on.
    pub work_clock: u64,
    /// Pause lengths in work units.
    pub pauses_work: Percentiles,
    /// Exact MMU curve on the work clock: `(window, utilisation)`.
    pub mmu_work: Vec<(u64, f64)>,
    /// Largest garbage retained (unreachable bytes not yet freed) at a timeline sample.
    pub garbage_peak_bytes: Option<u64>,
    /// Mean garbage retained over the timeline samples.
    pub garbage_mean_bytes: Option<u64>,
}

/// Wall-clock metrics (vary between runs and machines).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WallMetrics {
    /// Total wall time, ns.
    pub wall_ns: u64,
    /// Wall time outside collections, ns.
    pub mutator_ns: u64,
    /// Wall time inside collections, ns.
    pub collector_ns: u64,
    /// CPU time of the thread that ran the cell, ns.
    pub cpu_ns: u64,
    /// Pause lengths, ns.
    pub pauses_ns: Percentiles,
    /// Exact MMU curve on the wall clock: `(window ns, utilisation)`.
    pub mmu_wall: Vec<(u64, f64)>,
    /// Ops per second.
    pub ops_per_sec: f64,
    /// Peak RSS of the whole sweep process when the cell ended, bytes.
    pub process_peak_rss_bytes: u64,
}

/// How the row was scheduled (not deterministic).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sched {
    /// `I/N`.
    pub shard: String,
    /// Threads of the sweep.
    pub threads: usize,
    /// Slurm job and array task, if any.
    pub slurm: Option<String>,
}

/// One line of `runs.jsonl`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// Row schema.
    pub schema: String,
    /// Experiment name.
    pub experiment: String,
    /// The cell's key.
    pub cell: String,
    /// The cell's position in the plan.
    pub index: usize,
    /// Strategy label.
    pub strategy: String,
    /// Workload label.
    pub workload: String,
    /// Master seed.
    pub master_seed: u64,
    /// Replicate.
    pub replicate: u32,
    /// The stream's seed.
    pub seed: u64,
    /// How the seed was derived.
    pub seed_hash: String,
    /// How the cell ended.
    pub status: CellStatus,
    /// The error or panic message of a failed cell.
    pub error: Option<String>,
    /// The run record (absent for a failed cell).
    pub run: Option<RunRecord>,
    /// Deterministic metrics.
    pub metrics: Option<Metrics>,
    /// Sidecar with the heap timeline (and pause log), relative to the results file.
    pub sidecar: Option<String>,
    /// Wall-clock metrics.
    pub wall: Option<WallMetrics>,
    /// Scheduling.
    pub sched: Sched,
    /// Provenance of the sweep process.
    pub provenance: Provenance,
}

impl Row {
    /// The row without anything that depends on the machine, the time, the thread count or
    /// the shard: what must be identical across reruns.
    pub fn deterministic(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(self).unwrap_or(serde_json::Value::Null);
        if let Some(m) = v.as_object_mut() {
            m.remove("wall");
            m.remove("sched");
            m.remove("provenance");
            if let Some(r) = &self.run {
                m.insert("run".into(), r.deterministic());
            }
        }
        v
    }
}

/// The sidecar of one run: deterministic arrays too long for a JSON line.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Sidecar {
    /// The cell.
    pub cell: String,
    /// Timeline samples: `[at_op, live_bytes, live_objects, garbage_bytes, garbage_objects]`
    /// (garbage -1 when not measured).
    pub timeline: Vec<[i64; 5]>,
    /// Every collection: `[at_op, work, generation, examined, freed, live_bytes_after,
    /// live_objects_after]` (empty unless the experiment keeps pause logs).
    pub pauses: Vec<[i64; 7]>,
}

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
    /// A results file with a broken line that is not the last.
    #[error("{path}:{line}: not a sweep row: {message}")]
    BadRow {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// The parse error.
        message: String,
    },
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

/// Reads a results file: every complete row, and the byte length of the complete part. A
/// last line without its newline (a write cut by a kill) is ignored; a broken line elsewhere
/// is an error.
pub fn read_rows(path: &Path) -> Result<(Vec<Row>, u64), SweepError> {
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), 0)),
        Err(e) => return Err(io_err(path, e)),
    };
    let mut reader = std::io::BufReader::new(file);
    let mut rows = Vec::new();
    let mut good = 0u64;
    let mut line = String::new();
    let mut n = 0;
    loop {
        line.clear();
        let got = reader.read_line(&mut line).map_err(|e| io_err(path, e))?;
        if got == 0 {
            break;
        }
        n += 1;
        if !line.ends_with('\n') {
            break; // a partial last line: cut by a kill
        }
        if line.trim().is_empty() {
            good += got as u64;
            continue;
        }
        match serde_json::from_str::<Row>(&line) {
            Ok(r) => rows.push(r),
            Err(e) => {
                return Err(SweepError::BadRow {
                    path: path.to_path_buf(),
                    line: n,
                    message: e.to_string(),
                })
            }
        }
        good += got as u64;
    }
    Ok((rows, good))
}

/// Writes rows to `path` atomically (a temporary file renamed over it).
pub fn write_rows(path: &Path, rows: &[Row]) -> Result<(), SweepError> {
    let tmp = path.with_extension("jsonl.tmp");
    let mut out = String::new();
    for r in rows {
        out.push_str(&serde_json::to_string(r).map_err(|e| io_err(path, e))?);
        out.push('\n');
    }
    std::fs::write(&tmp, out).map_err(|e| io_err(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| io_err(path, e))
}

/// A file name for a cell's sidecar: readable, and unique through a hash of the key.
pub fn sidecar_stem(key: &str) -> String {
    let slug: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!(
        "{}-{:08x}",
        slug.chars().take(80).collect::<String>(),
        h as u32
    )
}

/// Reads a sidecar (plain or gzip-compressed JSON).
pub fn read_sidecar(path: &Path) -> Result<Sidecar, SweepError> {
    let bytes = std::fs::read(path).map_err(|e| io_err(path, e))?;
    let text = if path.extension().is_some_and(|e| e == "gz") {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut s)
            .map_err(|e| io_err(path, e))?;
        s
    } else {
        String::from_utf8(bytes).map_err(|e| io_err(path, e))?
    };
    serde_json::from_str(&text).map_err(|e| io_err(path, e))
}

fn write_sidecar(dir: &Path, sc: &Sidecar) -> Result<String, SweepError> {
    let runs = dir.join("runs");
    std::fs::create_dir_all(&runs).map_err(|e| io_err(&runs, e))?;
    let json = serde_json::to_vec(sc).map_err(|e| io_err(&runs, e))?;
    let stem = sidecar_stem(&sc.cell);
    let (name, bytes) = if json.len() > COMPRESS_ABOVE {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
        enc.write_all(&json).map_err(|e| io_err(&runs, e))?;
        (
            format!("{stem}.json.gz"),
            enc.finish().map_err(|e| io_err(&runs, e))?,
        )
    } else {
        (format!("{stem}.json"), json)
    };
    let path = runs.join(&name);
    let tmp = runs.join(format!("{name}.tmp"));
    std::fs::write(&tmp, bytes).map_err(|e| io_err(&tmp, e))?;
    std::fs::rename(&tmp, &path).map_err(|e| io_err(&path, e))?;
    Ok(format!("runs/{name}"))
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

/// Computes the deterministic and wall metrics of a run.
pub fn derive_metrics(
    record: &RunRecord,
    collections: &[CollectionRecord],
    timeline: &[TimelineSample],
    cpu_ns: u64,
) -> (Metrics, WallMetrics) {
    let w = &record.work;
    let work_total =
        w.ops + w.rc_writes + w.objects_visited + w.refs_traversed + w.gc_header_writes;
    let work_collector: u64 = collections.iter().map(|c| c.work).sum();
    let (spans, clock) = metrics::work_clock(collections, record.ops);
    let garbage: Vec<u64> = timeline.iter().filter_map(|t| t.garbage_bytes).collect();
    let m = Metrics {
        work_total,
        work_collector,
        work_distilled: work_total.saturating_sub(work_collector),
        work_clock: clock,
        pauses_work: Percentiles::of(collections.iter().map(|c| c.work)),
        mmu_work: metrics::mmu_curve(&spans, clock),
        garbage_peak_bytes: garbage.iter().copied().max(),
        garbage_mean_bytes: (!garbage.is_empty())
            .then(|| garbage.iter().sum::<u64>() / garbage.len() as u64),
    };
    let t = &record.time;
    let (wspans, wtotal) = metrics::wall_clock(collections, t.wall_ns);
    let wm = WallMetrics {
        wall_ns: t.wall_ns,
        mutator_ns: t.mutator_ns,
        collector_ns: t.collector_ns,
        cpu_ns,
        pauses_ns: Percentiles::of(collections.iter().map(|c| c.duration_ns)),
        mmu_wall: metrics::mmu_curve(&wspans, wtotal),
        ops_per_sec: if t.wall_ns > 0 {
            record.ops as f64 * 1e9 / t.wall_ns as f64
        } else {
            0.0
        },
        process_peak_rss_bytes: metrics::peak_rss_bytes(),
    };
    (m, wm)
}

struct Ctx<'a> {
    exp: &'a Experiment,
    opts: &'a SweepOptions,
    dir: PathBuf,
    sched: Sched,
}

fn run_cell(ctx: &Ctx<'_>, cell: &Cell) -> Row {
    let exp = ctx.exp;
    let spec = RunSpec {
        strategy: cell.strategy.name.clone(),
        strategy_params: cell.strategy.params.clone(),
        source: Source::parse(&cell.workload.name, cell.workload.params.clone()),
        seed: cell.seed,
        verify: ctx.opts.verify || exp.file.verify,
        max_heap: ctx.opts.max_heap.or(cell.max_heap),
    };
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
    let mut row = Row {
        schema: ROW_SCHEMA.into(),
        experiment: exp.name.clone(),
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
    };
    match result {
        Err(payload) => {
            row.error = Some(format!("panic: {}", panic_message(&*payload)));
        }
        Ok(Err(e)) => row.error = Some(e.to_string()),
        Ok(Ok(out)) => {
            let (m, wm) = derive_metrics(&out.record, &out.collections, &out.timeline, cpu_ns);
            row.status = match out.record.status {
                Status::Ok => CellStatus::Ok,
                Status::OutOfMemory => CellStatus::OutOfMemory,
            };
            if !out.timeline.is_empty() || exp.file.keep_pause_log {
                let sc = Sidecar {
                    cell: cell.key.clone(),
                    timeline: out
                        .timeline
                        .iter()
                        .map(|t| {
                            [
                                t.at_op as i64,
                                t.live_bytes as i64,
                                t.live_objects as i64,
                                t.garbage_bytes.map_or(-1, |x| x as i64),
                                t.garbage_objects.map_or(-1, |x| x as i64),
                            ]
                        })
                        .collect(),
                    pauses: if exp.file.keep_pause_log {
                        out.collections
                            .iter()
                            .map(|c| {
                                [
                                    c.at_op as i64,
                                    c.work as i64,
                                    c.generation as i64,
                                    c.examined as i64,
                                    c.freed as i64,
                                    c.live_bytes_after as i64,
                                    c.live_objects_after as i64,
                                ]
                            })
                            .collect()
                    } else {
                        Vec::new()
                    },
                };
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
    }
    row
}

thread_local! {
    static QUIET_PANICS: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs the sweep.
pub fn run(exp: &Experiment, opts: &SweepOptions) -> Result<SweepSummary, SweepError> {
    let all = exp.cells();
    let share: Vec<&Cell> = all
        .iter()
        .filter(|c| opts.shard.is_none_or(|(i, n)| c.index % n == i))
        .filter(|c| opts.max_replicates.is_none_or(|m| c.replicate < m))
        .collect();
    let dir = opts
        .out
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    std::fs::create_dir_all(&dir).map_err(|e| io_err(&dir, e))?;

    let mut done: BTreeSet<String> = BTreeSet::new();
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

    let mut builder = rayon::ThreadPoolBuilder::new();
    if let Some(j) = opts.jobs {
        if j == 0 {
            return Err(SweepError::Usage("--jobs must be at least 1".into()));
        }
        builder = builder.num_threads(j);
    }
    let pool = builder
        .build()
        .map_err(|e| SweepError::Usage(format!("cannot start worker threads: {e}")))?;
    let threads = pool.current_num_threads();
    let ctx = Ctx {
        exp,
        opts,
        dir,
        sched: Sched {
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
        },
    };

    let pb = if opts.progress {
        ProgressBar::with_draw_target(Some(todo.len() as u64), ProgressDrawTarget::stderr())
    } else {
        ProgressBar::hidden()
    };
    if let Ok(style) =
        ProgressStyle::with_template("{bar:40} {pos}/{len} cells  {elapsed_precise} (eta {eta})")
    {
        pb.set_style(style);
    }

    // Panics inside cells are recorded in their rows; keep the default hook from printing
    // them over the progress bar, on sweep threads only.
    let prev_hook = std::sync::Arc::new(std::panic::take_hook());
    {
        let prev = prev_hook.clone();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET_PANICS.with(|q| q.get()) {
                prev(info);
            }
        }));
    }
    let write_errors: Mutex<Vec<SweepError>> = Mutex::new(Vec::new());
    let results: Vec<(CellStatus, String, Option<String>)> = pool.install(|| {
        todo.par_iter()
            .map(|cell| {
                QUIET_PANICS.with(|q| q.set(true));
                let row = run_cell(&ctx, cell);
                QUIET_PANICS.with(|q| q.set(false));
                let line = match serde_json::to_string(&row) {
                    Ok(mut l) => {
                        l.push('\n');
                        l
                    }
                    Err(e) => {
                        if let Ok(mut v) = write_errors.lock() {
                            v.push(io_err(&opts.out, e));
                        }
                        String::new()
                    }
                };
                if !line.is_empty() {
                    // One write of the whole line, on a file opened for appending.
                    let r = match file.lock() {
                        Ok(mut f) => f.write_all(line.as_bytes()).and_then(|_| f.flush()),
                        Err(_) => Err(std::io::Error::other("results file lock poisoned")),
                    };
                    if let Err(e) = r {
                        if let Ok(mut v) = write_errors.lock() {
                            v.push(io_err(&opts.out, e));
                        }
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
    let _ = std::panic::take_hook();
    if let Ok(prev) = std::sync::Arc::try_unwrap(prev_hook) {
        std::panic::set_hook(prev);
    }
    pb.finish_and_clear();
    if let Some(e) = write_errors.into_inner().ok().and_then(|mut v| v.pop()) {
        return Err(e);
    }
    for (status, cell, error) in results {
        match status {
            CellStatus::Ok => summary.ok += 1,
            CellStatus::OutOfMemory => summary.out_of_memory += 1,
            CellStatus::Failed => summary.failed.push((cell, error.unwrap_or_default())),
        }
    }
    drop(file);
    // Leave the file in plan order, so committed results diff cleanly.
    let (mut rows, _) = read_rows(&opts.out)?;
    rows.sort_by_key(|r| r.index);
    write_rows(&opts.out, &rows)?;
    Ok(summary)
}

/// Joins shard outputs: refuses a cell present twice or missing (unless `allow_partial`), and
/// returns the rows in plan order.
pub fn merge(
    exp: &Experiment,
    inputs: &[PathBuf],
    allow_partial: bool,
) -> Result<Vec<Row>, MergeError> {
    let cells = exp.cells();
    let known: BTreeMap<&str, usize> = cells.iter().map(|c| (c.key.as_str(), c.index)).collect();
    let mut by_key: BTreeMap<String, (Row, PathBuf)> = BTreeMap::new();
    for p in inputs {
        let (rows, _) = read_rows(p).map_err(MergeError::Read)?;
        for r in rows {
            if !known.contains_key(r.cell.as_str()) {
                return Err(MergeError::Unknown {
                    cell: r.cell,
                    file: p.clone(),
                });
            }
            if let Some((_, first)) = by_key.get(&r.cell) {
                return Err(MergeError::Duplicate {
                    cell: r.cell.clone(),
                    first: first.clone(),
                    second: p.clone(),
                });
            }
            by_key.insert(r.cell.clone(), (r, p.clone()));
        }
    }
    let missing: Vec<String> = cells
        .iter()
        .filter(|c| !by_key.contains_key(&c.key))
        .map(|c| c.key.clone())
        .collect();
    if !missing.is_empty() && !allow_partial {
        return Err(MergeError::Missing {
            count: missing.len(),
            total: cells.len(),
            first: missing.into_iter().take(5).collect::<Vec<_>>().join(", "),
        });
    }
    let mut rows: Vec<Row> = by_key.into_values().map(|(r, _)| r).collect();
    rows.sort_by_key(|r| r.index);
    Ok(rows)
}

/// Why shard outputs could not be merged.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// An input could not be read.
    #[error(transparent)]
    Read(SweepError),
    /// A cell appears twice.
    #[error("cell '{cell}' appears in both {first} and {second}; a cell must be in exactly one shard output")]
    Duplicate {
        /// The cell.
        cell: String,
        /// Where it was first seen.
        first: PathBuf,
        /// Where it was seen again.
        second: PathBuf,
    },
    /// A cell is not in the experiment.
    #[error("{file}: cell '{cell}' is not a cell of this experiment (was the shard run with another experiment.toml?)")]
    Unknown {
        /// The cell.
        cell: String,
        /// The file.
        file: PathBuf,
    },
    /// Cells are missing.
    #[error("{count} of {total} cells are missing (first: {first}); run the missing shards or pass --allow-partial")]
    Missing {
        /// How many.
        count: usize,
        /// Of how many.
        total: usize,
        /// The first few.
        first: String,
    },
}

/// The deterministic projection of rows keyed by cell (for comparisons).
pub fn deterministic_by_cell(rows: &[Row]) -> BTreeMap<String, serde_json::Value> {
    rows.iter()
        .map(|r| (r.cell.clone(), r.deterministic()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn partial_last_line_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("runs.jsonl");
        std::fs::write(&p, "{\"schema\":").unwrap();
        let (rows, good) = read_rows(&p).unwrap();
        assert!(rows.is_empty());
        assert_eq!(good, 0);
        std::fs::write(&p, "garbage\n{}\n").unwrap();
        assert!(matches!(
            read_rows(&p),
            Err(SweepError::BadRow { line: 1, .. })
        ));
    }
}
