//! `gclab sweep`: run every cell of an experiment file.

use crate::classify::{Classify, ClassifyExt, CmdContext, CmdResult, ExitClass};
use crate::experiment::Experiment;
use crate::sweep::{self, SweepOptions};
use std::io::IsTerminal;
use std::path::PathBuf;

/// Arguments of `gclab sweep`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The experiment file (`results/<name>/experiment.toml`) or its directory.
    pub experiment: PathBuf,
    /// Worker threads (default: one per core). Each simulation is single-threaded.
    #[arg(long, short = 'j')]
    pub jobs: Option<usize>,
    /// Skip cells already in the results file (after a kill, or to add replicates).
    #[arg(long)]
    pub resume: bool,
    /// Run only shard I of N (cells whose plan index is I mod N); defaults to
    /// SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT when those are set.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
    /// Results file (default: `runs.jsonl` beside the experiment, or
    /// `shards/shard-I-of-N.jsonl` for a shard).
    #[arg(long, short = 'o')]
    pub out: Option<PathBuf>,
    /// Sanity mode in every cell: re-trace from the registers after every collection.
    #[arg(long)]
    pub verify: bool,
    /// Simulated memory budget for every cell, bytes (a cell over it ends as out_of_memory).
    #[arg(long, value_name = "BYTES")]
    pub max_heap: Option<u64>,
    /// Print the cells and exit.
    #[arg(long)]
    pub dry_run: bool,
    /// No progress bar.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Exit 0 even if some cells failed.
    #[arg(long)]
    pub keep_going: bool,
}

/// A sweep in which some cells failed (exit code 1 unless `--keep-going`).
#[derive(Debug, thiserror::Error)]
#[error("{failed} of {total} cells failed (their rows record why)")]
pub struct CellsFailed {
    /// Failed cells.
    pub failed: usize,
    /// Cells run.
    pub total: usize,
}

impl Classify for CellsFailed {
    fn exit_class(&self) -> ExitClass {
        ExitClass::Internal
    }
}

/// Runs `gclab sweep`.
pub fn run(a: Args) -> CmdResult {
    let exp = Experiment::load(&a.experiment)?;
    let shard = match &a.shard {
        Some(s) => Some(sweep::parse_shard(s)?),
        None => sweep::shard_from_slurm()?,
    };
    if a.dry_run {
        for c in exp.cells() {
            if shard.is_none_or(|(i, n)| c.index % n == i) {
                println!("{}\tseed={:#018x}", c.key, c.seed);
            }
        }
        return Ok(());
    }
    let out = a.out.unwrap_or_else(|| match shard {
        Some((i, n)) => exp
            .dir
            .join("shards")
            .join(format!("shard-{i}-of-{n}.jsonl")),
        None => exp.dir.join("runs.jsonl"),
    });
    if let Some(p) = out.parent() {
        std::fs::create_dir_all(p)
            .internal()
            .with_context(|| format!("creating {}", p.display()))?;
    }
    let opts = SweepOptions {
        jobs: a.jobs,
        resume: a.resume,
        shard,
        out: out.clone(),
        verify: a.verify,
        max_heap: a.max_heap,
        progress: !a.quiet && std::io::stderr().is_terminal(),
        max_replicates: None,
    };
    let t = std::time::Instant::now();
    let s = sweep::run(&exp, &opts)?;
    eprintln!(
        "{}: {} cells ({} already done), {} ok, {} out of memory, {} failed in {:.1}s -> {}",
        exp.name,
        s.planned,
        s.skipped,
        s.ok,
        s.out_of_memory,
        s.failed.len(),
        t.elapsed().as_secs_f64(),
        out.display()
    );
    for (cell, err) in &s.failed {
        eprintln!("  failed: {cell}: {err}");
    }
    if !s.failed.is_empty() && !a.keep_going {
        return Err(CellsFailed {
            failed: s.failed.len(),
            total: s.planned - s.skipped,
        }
        .into());
    }
    Ok(())
}
