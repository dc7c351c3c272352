//! The `gclab` command line: list, run, trace, and (with no command) the default job.

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use gclab::registry::RegistryError;
use gclab::report;
use gclab::runner::{self, RunError, RunSpec, Source};
use gclab_core::params::{parse_pairs, ParamError};
use gclab_core::trace::{TraceError, TraceFormat, TraceWriter};
use gclab_core::workload::{ExecErrorKind, Stop};
use gclab_workloads::WorkloadError;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "gclab",
    version,
    about = "A benchmark and research harness for garbage-collection strategies",
    long_about = "gclab runs pluggable GC strategies against seeded synthetic workloads and reports \
                  throughput, pauses and peak memory. With no command it runs the default job."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// List strategies (with parameters and presets) and workloads (with parameters and defaults).
    List,
    /// Run one strategy against one workload or trace and print a summary.
    Run(RunArgs),
    /// Write a workload's op stream to a trace file.
    Trace(TraceArgs),
    /// Run every cell of an experiment file, appending one JSON line per run.
    Sweep(gclab::cmd_sweep::SweepArgs),
    /// Join shard outputs of a sweep, refusing duplicate and missing cells.
    Merge(gclab::cmd_merge::MergeArgs),
    /// Draw every figure of a results directory (SVG, and PNG with the bundled font).
    Plot(gclab::cmd_plot::PlotArgs),
    /// Write a result's tables and claim verdicts into its README (from runs.jsonl only).
    Report(gclab::cmd_report::ReportArgs),
    /// Rerun every published experiment and redraw its figures; `--check` compares instead.
    Reproduce(gclab::cmd_reproduce::ReproduceArgs),
    /// Create a new strategy crate `strategies/NAME/` from the template and register it.
    NewStrategy(NewStrategyArgs),
    /// Characterise workloads (strategy-independent): ops, allocations, bytes, the minimum
    /// possible peak, cyclic garbage, lifetimes; writes results/workloads/.
    Workloads(WorkloadsArgs),
    /// Compare the generational model with real CPython 3.11/3.12/3.13, collection by collection.
    Fidelity(FidelityArgs),
    /// Time one full collection of the cpython-3.11 model over N live tracked containers
    /// (used by scripts/bench_full_collect.py); prints one JSON line.
    BenchCollect(BenchCollectArgs),
    /// Harness memory per simulated object: build a live heap, report peak RSS per object.
    #[command(hide = true)]
    MemProbe(MemProbeArgs),
}

#[derive(Args)]
struct MemProbeArgs {
    /// Live simulated objects to build.
    #[arg(long, default_value_t = 10_000_000)]
    objects: u64,
    /// Strategy or preset.
    #[arg(long, short, default_value = "cpython-3.11")]
    strategy: String,
    /// Heap shape: lists, atoms or chain.
    #[arg(long, default_value = "lists")]
    shape: String,
}

#[derive(Args)]
struct BenchCollectArgs {
    /// Tracked containers in the live heap.
    #[arg(long, default_value_t = 1_000_000)]
    objects: u64,
    /// Heap shape: `lists` (empty lists in one list) or `dicts` (dicts each holding a list).
    #[arg(long, default_value = "lists")]
    shape: String,
    /// Full collections to time (the median is reported).
    #[arg(long, default_value_t = 7)]
    reps: usize,
}

#[derive(Args)]
struct NewStrategyArgs {
    /// Strategy name: lowercase letters, digits and '-' (the crate is `gclab-NAME`).
    name: String,
    /// Name of the strategy type (default: NAME in CamelCase).
    #[arg(long = "type", value_name = "TYPE")]
    ty: Option<String>,
    /// Workspace root.
    #[arg(long, default_value = ".")]
    root: PathBuf,
    /// Only write the crate; print the two lines to add instead of adding them.
    #[arg(long)]
    no_register: bool,
}

#[derive(Args)]
struct FidelityArgs {
    /// Cases to run, comma-separated (default: all of the `fidelity` workload's cases).
    #[arg(long, value_delimiter = ',')]
    cases: Vec<String>,
    /// Size of every case (default: each case's own).
    #[arg(long)]
    size: Option<u64>,
    /// Seed of the traces.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The replay script (default: scripts/cpython_replay.py of the source tree).
    #[arg(long)]
    script: Option<PathBuf>,
    /// Directory for the traces (default: a directory under the system temp dir).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Also write the markdown table to FILE.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Compare a trace of this catalogue workload instead of the `fidelity` cases.
    #[arg(long, short)]
    workload: Option<String>,
    /// Parameter `key=value` of --workload (repeatable).
    #[arg(
        long = "param",
        short = 'p',
        value_name = "KEY=VALUE",
        requires = "workload"
    )]
    params: Vec<String>,
}

#[derive(Args)]
struct WorkloadsArgs {
    /// Only this workload (default: every workload and the guide's variants).
    #[arg(long, short)]
    workload: Option<String>,
    /// Workload parameter `key=value` (repeatable; needs --workload).
    #[arg(long = "param", short = 'p', value_name = "KEY=VALUE")]
    params: Vec<String>,
    /// Seed of the workloads' RNG.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Output directory.
    #[arg(long, default_value = "results/workloads")]
    out: PathBuf,
}

#[derive(Args)]
struct StreamArgs {
    /// Workload name (see `gclab list`), or `trace:FILE` to replay a trace.
    #[arg(long, short)]
    workload: String,
    /// Seed of the workload's RNG.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Workload parameter `key=value` (repeatable).
    #[arg(long = "param", short = 'p', value_name = "KEY=VALUE")]
    params: Vec<String>,
}

#[derive(Args)]
struct RunArgs {
    /// Strategy or preset name (see `gclab list`).
    #[arg(long, short)]
    strategy: String,
    /// Strategy parameter `key=value` (repeatable; overrides a preset's values).
    #[arg(long = "sparam", short = 'S', value_name = "KEY=VALUE")]
    sparams: Vec<String>,
    #[command(flatten)]
    stream: StreamArgs,
    /// Also write the run's JSON record to FILE (`-` for standard output).
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Sanity mode: check with the reachability oracle after every collection and at the end
    /// that no reachable object was freed.
    #[arg(long)]
    verify: bool,
    /// Simulated memory budget in bytes; the run stops as out of memory beyond it.
    #[arg(long, value_name = "BYTES")]
    max_heap: Option<u64>,
}

#[derive(Args)]
struct TraceArgs {
    #[command(flatten)]
    stream: StreamArgs,
    /// Output file.
    #[arg(long, short)]
    output: PathBuf,
    /// Write the readable text form instead of the compact binary form.
    #[arg(long)]
    text: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match dispatch(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", render(&e));
            ExitCode::from(exit_code(&e))
        }
    }
}

/// The error and its causes, skipping a cause whose text the message before it already shows.
fn render(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let msg = cause.to_string();
        if !out.contains(&msg) {
            if !out.is_empty() {
                out.push_str(": ");
            }
            out.push_str(&msg);
        }
    }
    out
}

/// 2 for bad input (names, parameters, files, ops in a trace); 1 for anything else, such as a
/// strategy found freeing a reachable object.
fn exit_code(e: &anyhow::Error) -> u8 {
    for cause in e.chain() {
        if let Some(RunError::Exec(Stop::Exec(x))) = cause.downcast_ref::<RunError>() {
            return if matches!(x.kind, ExecErrorKind::ReachableFreed { .. }) {
                1
            } else {
                2
            };
        }
        if cause.is::<RunError>()
            || cause.is::<RegistryError>()
            || cause.is::<WorkloadError>()
            || cause.is::<ParamError>()
            || cause.is::<TraceError>()
            || cause.is::<UserError>()
            || cause.is::<gclab::experiment::ExperimentError>()
            || cause.is::<gclab::sweep::MergeError>()
            || matches!(
                cause.downcast_ref(),
                Some(gclab::sweep::SweepError::Usage(_))
            )
            || cause.is::<gclab_workloads::CharacteriseError>()
            || matches!(
                cause.downcast_ref::<gclab::cmd_bench_collect::BenchError>(),
                Some(gclab::cmd_bench_collect::BenchError::Usage(_))
            )
            || matches!(
                cause.downcast_ref::<gclab::cmd_mem_probe::MemProbeError>(),
                Some(
                    gclab::cmd_mem_probe::MemProbeError::Usage(_)
                        | gclab::cmd_mem_probe::MemProbeError::Registry(_)
                )
            )
            || matches!(
                cause.downcast_ref::<gclab::cmd_fidelity::FidelityError>(),
                Some(gclab::cmd_fidelity::FidelityError::Usage(_))
            )
        {
            return 2;
        }
    }
    1
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct UserError(String);

fn dispatch(cli: Cli) -> Result<()> {
    match cli.command {
        None => default_job(),
        Some(Command::List) => {
            print!("{}", report::catalogue());
            Ok(())
        }
        Some(Command::Run(a)) => run(a),
        Some(Command::Trace(a)) => trace(a),
        Some(Command::Sweep(a)) => gclab::cmd_sweep::run(a),
        Some(Command::Merge(a)) => gclab::cmd_merge::run(a),
        Some(Command::Plot(a)) => gclab::cmd_plot::run(a),
        Some(Command::Report(a)) => gclab::cmd_report::run(a),
        Some(Command::Reproduce(a)) => gclab::cmd_reproduce::run(a),
        Some(Command::NewStrategy(a)) => {
            let msg =
                gclab::cmd_new_strategy::run(&a.root, &a.name, a.ty.as_deref(), a.no_register)
                    .map_err(|e| UserError(e.to_string()))?;
            print!("{msg}");
            Ok(())
        }
        Some(Command::Workloads(a)) => {
            if a.workload.is_none() && !a.params.is_empty() {
                return Err(UserError("--param needs --workload".into()).into());
            }
            gclab::cmd_workloads::run(a.workload.as_deref(), &a.params, a.seed, &a.out)
        }
        Some(Command::Fidelity(a)) => fidelity(a),
        Some(Command::MemProbe(a)) => {
            let r = gclab::cmd_mem_probe::run(a.objects, &a.strategy, &a.shape)?;
            println!(
                "{}",
                serde_json::to_string(&r).context("serialising the result")?
            );
            Ok(())
        }
        Some(Command::BenchCollect(a)) => {
            let r = gclab::cmd_bench_collect::run(a.objects, &a.shape, a.reps)?;
            println!(
                "{}",
                serde_json::to_string(&r).context("serialising the result")?
            );
            Ok(())
        }
    }
}

fn run(a: RunArgs) -> Result<()> {
    let spec = RunSpec {
        strategy: a.strategy,
        strategy_params: parse_pairs(&a.sparams)?,
        source: Source::parse(&a.stream.workload, a.stream.params),
        seed: a.stream.seed,
        verify: a.verify,
        max_heap: a.max_heap,
    };
    if matches!(spec.source, Source::Trace(_)) && a.stream.seed != 1 {
        eprintln!("note: --seed is ignored when replaying a trace; the trace carries its own seed");
    }
    let out = runner::run(&spec)?;
    print!("{}", report::summary(&out.record));
    if let Some(path) = a.json {
        let line = serde_json::to_string(&out.record).context("serialising the run record")?;
        if path.as_os_str() == "-" {
            println!("{line}");
        } else {
            std::fs::write(&path, format!("{line}\n"))
                .with_context(|| format!("writing {}", path.display()))?;
        }
    }
    Ok(())
}

fn trace(a: TraceArgs) -> Result<()> {
    if a.stream.workload.starts_with("trace:") {
        return Err(UserError("gclab trace needs a workload name, not a trace".into()).into());
    }
    let built = gclab_workloads::find(&a.stream.workload, &a.stream.params)?;
    let file = std::fs::File::create(&a.output)
        .with_context(|| format!("creating {}", a.output.display()))?;
    let format = if a.text {
        TraceFormat::Text
    } else {
        TraceFormat::Binary
    };
    let mut w = TraceWriter::new(std::io::BufWriter::new(file), format);
    gclab_core::workload::stream(
        &a.stream.workload,
        &built.params,
        &*built.workload,
        a.stream.seed,
        &mut w,
    )
    .map_err(|e| anyhow::anyhow!("writing {}: {e}", a.output.display()))?;
    let mut inner = w.finish()?;
    inner
        .flush()
        .with_context(|| format!("writing {}", a.output.display()))?;
    eprintln!("wrote {}", a.output.display());
    Ok(())
}

fn fidelity(a: FidelityArgs) -> Result<()> {
    use gclab::cmd_fidelity as f;
    if let Some(w) = &a.workload {
        return fidelity_workload(w, &a);
    }
    let opts = f::Options {
        cases: a.cases,
        size: a.size,
        seed: a.seed,
        script: a.script.unwrap_or_else(f::default_script),
        dir: a.dir.unwrap_or_else(|| {
            std::env::temp_dir().join(format!("gclab-fidelity-{}", std::process::id()))
        }),
    };
    let mut header = true;
    let report = f::check(&opts, |line| {
        if std::mem::take(&mut header) {
            print!("{}", f::table(&f::Report::default()));
        }
        println!("{line}");
    })?;
    for (v, why) in &report.skipped {
        println!("skipped CPython {v}: {why}");
    }
    if let Some(path) = a.out {
        std::fs::write(&path, f::table(&report))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    let bad = report.rows.iter().filter(|r| !r.matches()).count();
    if bad > 0 {
        anyhow::bail!(
            "{bad} of {} (trace, CPython) pairs do not match",
            report.rows.len()
        );
    }
    println!("all {} (trace, CPython) pairs match", report.rows.len());
    Ok(())
}

/// `gclab fidelity --workload NAME`: one workload's trace in every CPython found.
fn fidelity_workload(workload: &str, a: &FidelityArgs) -> Result<()> {
    use gclab::cmd_fidelity as f;
    let script = a.script.clone().unwrap_or_else(f::default_script);
    let dir = a.dir.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("gclab-fidelity-{}", std::process::id()))
    });
    let mut report = f::Report::default();
    print!("{}", f::table(&f::Report::default()));
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
    if let Some(path) = &a.out {
        std::fs::write(path, f::table(&report))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    let bad = report.rows.iter().filter(|r| !r.matches()).count();
    if bad > 0 {
        anyhow::bail!(
            "{bad} of {} (trace, CPython) pairs do not match",
            report.rows.len()
        );
    }
    println!("all {} (trace, CPython) pairs match", report.rows.len());
    Ok(())
}

/// The job `cargo run --release` runs: the default experiment (results/default), its figures
/// and its README tables.
fn default_job() -> Result<()> {
    gclab::cmd_default::run()
}
