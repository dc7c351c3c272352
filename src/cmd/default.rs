//! The job `cargo run --release` runs with no subcommand:
//! [`regenerate`](crate::pipeline::regenerate) `results/default` (the default experiment, its
//! figures, its README tables and its HTML page, and `results/index.html`) and print a
//! summary table.
use crate::classify::{ClassifyExt, CmdContext, CmdResult};
use crate::experiment::Experiment;
use crate::pipeline::{self, RegenerateOptions};
use std::path::Path;

/// The default experiment, embedded so the binary can run it outside a checkout too.
pub const DEFAULT_EXPERIMENT: &str = include_str!("../../results/default/experiment.toml");

/// Regenerates `results/default` (its `experiment.toml` written from the embedded copy if
/// there is none) and prints a summary table.
pub fn run() -> CmdResult {
    let dir = Path::new("results/default");
    if !dir.join("experiment.toml").is_file() {
        std::fs::create_dir_all(dir)
            .internal()
            .with_context(|| format!("creating {}", dir.display()))?;
        std::fs::write(dir.join("experiment.toml"), DEFAULT_EXPERIMENT)
            .internal()
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
    let t = std::time::Instant::now();
    let done = pipeline::regenerate(
        &exp,
        &RegenerateOptions {
            jobs: None,
            max_replicates: None,
            png: true,
        },
    )?;
    let (s, files, rs) = (done.summary, done.figures, done.results);
    let index = super::report::write_results_index(Path::new("results"))?;
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
        let mean = |f: &dyn Fn(&crate::results::Run) -> f64| g.runs.iter().map(f).sum::<f64>() / n;
        let run = |r: &crate::results::Run, f: fn(&crate::results::RunRecord) -> u64| {
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
        "\n{} ok, {} out of memory, {} failed in {:.1}s. Wrote {}/runs.jsonl, {} figure files under {}/figures/, the tables in {}/README.md, the report {}/index.html and {}.",
        s.ok,
        s.out_of_memory,
        s.failed.len(),
        t.elapsed().as_secs_f64(),
        dir.display(),
        files.len(),
        dir.display(),
        dir.display(),
        dir.display(),
        index.display()
    );
    println!("Run `gclab --help` for commands; `scripts/reproduce.sh` reruns every published experiment.");
    Ok(())
}
