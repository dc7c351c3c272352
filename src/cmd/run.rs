//! `gclab run`: one strategy against one workload or trace; prints the run's summary and,
//! with `--json`, its record.

use crate::classify::{ClassifyExt, CmdContext, CmdResult};
use crate::report;
use crate::runner::{self, RunSpec, Source};
use gclab_core::params::parse_pairs;
use std::path::PathBuf;

/// The op stream to run or write: a workload with its seed and parameters, or a trace
/// (shared with `gclab trace`).
#[derive(clap::Args, Debug)]
pub struct StreamArgs {
    /// Workload name (see `gclab list`), or `trace:FILE` to replay a trace.
    #[arg(long, short)]
    pub workload: String,
    /// Seed of the workload's RNG.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Workload parameter `key=value` (repeatable).
    #[arg(long = "param", short = 'p', value_name = "KEY=VALUE")]
    pub params: Vec<String>,
}

/// Arguments of `gclab run`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Strategy or preset name (see `gclab list`).
    #[arg(long, short)]
    pub strategy: String,
    /// Strategy parameter `key=value` (repeatable; overrides a preset's values).
    #[arg(long = "sparam", short = 'S', value_name = "KEY=VALUE")]
    pub sparams: Vec<String>,
    /// The op stream.
    #[command(flatten)]
    pub stream: StreamArgs,
    /// Also write the run's JSON record to FILE (`-` for standard output).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Sanity mode: check with the reachability oracle after every collection and at the end
    /// that no reachable object was freed.
    #[arg(long)]
    pub verify: bool,
    /// Simulated memory budget in bytes; the run stops as out of memory beyond it.
    #[arg(long, value_name = "BYTES")]
    pub max_heap: Option<u64>,
}

/// Runs `gclab run`.
pub fn run(a: Args) -> CmdResult {
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
        let line = serde_json::to_string(&out.record)
            .internal()
            .context("serialising the run record")?;
        if path.as_os_str() == "-" {
            println!("{line}");
        } else {
            std::fs::write(&path, format!("{line}\n"))
                .internal()
                .with_context(|| format!("writing {}", path.display()))?;
        }
    }
    Ok(())
}
