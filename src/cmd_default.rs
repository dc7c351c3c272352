//! The job `cargo run --release` runs with no subcommand: the default experiment
//! (`results/default/experiment.toml`), its figures and its README tables.

use crate::analysis::ResultSet;
use crate::experiment::Experiment;
use crate::sweep::{self, SweepOptions};
use anyhow::{anyhow, Context, Result};
use std::io::IsTerminal;
use std::path::Path;

/// The default experiment, embedded so the binary can run it outside a checkout too.
pub const DEFAULT_EXPERIMENT: &str = include_str!("../results/default/experiment.toml");

/// Runs the default experiment in `results/default` (written from the embedded copy if the
/// directory does not exist), draws its figures and prints a summary.
pub fn run() -> Result<()> {
    let dir = Path::new("results/default");
    if !dir.join("experiment.toml").is_file() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        std::fs::write(dir.join("experiment.toml"), DEFAULT_EXPERIMENT)
            .with_context(|| format!("writing {}/experiment.toml", dir.display()))?;
    }
    let exp = Experiment::load(dir)?;
    println!("gclab default experiment: {}", exp.file.description);
    println!(
        "{} cells ({} strategies x {} workloads x {} replicates), in parallel across cores...\n",
        exp.cells().len(),
        exp.strategies.len(),
        exp.workloads.len(),
        exp.file.replicates
    );
    let runs = dir.join("runs");
    if runs.exists() {
        std::fs::remove_dir_all(&runs).with_context(|| format!("removing {}", runs.display()))?;
    }
    let t = std::time::Instant::now();
    let s = sweep::run(
        &exp,
        &SweepOptions {
            jobs: None,
            resume: false,
            shard: None,
            out: dir.join("runs.jsonl"),
            verify: false,
            max_heap: None,
            progress: std::io::stderr().is_terminal(),
            max_replicates: None,
        },
    )?;
    let files = crate::plot::plot_dir(dir, true).map_err(|e| anyhow!("{e}"))?;
    let rs = ResultSet::load(dir)?;
    crate::readme::update_readme(dir, &rs)
        .with_context(|| format!("writing {}/README.md", dir.display()))?;
    println!(
        "{:<16} {:<14} {:>11} {:>14} {:>12} {:>14} {:>10}",
        "workload", "strategy", "collections", "max pause", "peak live", "leaked at end", "Mops/s"
    );
    println!(
        "{:<16} {:<14} {:>11} {:>14} {:>12} {:>14} {:>10}",
        "", "", "", "(work units)", "(bytes)", "(bytes)", "(wall)"
    );
    for g in rs.groups() {
        let n = g.runs.len().max(1) as f64;
        let mean = |f: &dyn Fn(&crate::analysis::Run) -> f64| g.runs.iter().map(f).sum::<f64>() / n;
        let run = |r: &crate::analysis::Run, f: fn(&crate::runner::RunRecord) -> u64| {
            f(r.record()) as f64
        };
        println!(
            "{:<16} {:<14} {:>11.0} {:>14.0} {:>12.0} {:>14.0} {:>10.2}",
            g.workload,
            g.strategy,
            mean(&|r| run(r, |x| x.collections)),
            mean(&|r| r.metrics().pauses_work.max as f64),
            mean(&|r| r.record().peak_live_bytes as f64),
            mean(&|r| run(r, |x| x.leaked_bytes)),
            mean(&|r| r.wall().map_or(0.0, |w| w.ops_per_sec) / 1e6),
        );
    }
    println!(
        "\n{} ok, {} out of memory, {} failed in {:.1}s. Wrote {}/runs.jsonl, {} figure files under {}/figures/ and the tables in {}/README.md.",
        s.ok,
        s.out_of_memory,
        s.failed.len(),
        t.elapsed().as_secs_f64(),
        dir.display(),
        files.len(),
        dir.display(),
        dir.display()
    );
    println!("Run `gclab --help` for commands; `scripts/reproduce.sh` reruns every published experiment.");
    Ok(())
}
