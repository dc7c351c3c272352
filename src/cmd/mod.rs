//! The `gclab` commands: one module per command, each owning its clap `Args` and a `run` that
//! returns a [`CmdResult`] (its error classified for the exit code, see [`crate::classify`]).
//! [`Cli`] is the whole command line and [`dispatch`] runs the command it names; `src/main.rs`
//! only parses, dispatches and prints the error.

use crate::classify::CmdResult;
use clap::{Parser, Subcommand};

pub mod bench_collect;
pub mod compare;
pub mod default;
pub mod fidelity;
pub mod list;
pub mod mem_probe;
pub mod merge;
pub mod new_strategy;
pub mod plot;
pub mod record;
pub mod report;
pub mod reproduce;
pub mod run;
pub mod sweep;
pub mod trace;
pub mod workloads;

/// The `gclab` command line.
#[derive(Parser)]
#[command(
    name = "gclab",
    version,
    about = "A benchmark and research harness for garbage-collection strategies",
    long_about = "gclab runs pluggable GC strategies against seeded synthetic workloads and reports \
                  throughput, pauses and peak memory. With no command it runs the default job."
)]
pub struct Cli {
    /// The command (none: the default job).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The commands; each variant's doc comment is its `--help` summary.
#[derive(Subcommand)]
pub enum Command {
    /// List strategies (with parameters and presets) and workloads (with parameters and defaults).
    List(list::Args),
    /// Run one strategy against one workload or trace and print a summary.
    Run(run::Args),
    /// Write a workload's op stream to a trace file.
    Trace(trace::Args),
    /// Record a real Python program in a real CPython: write its trace and its collector log.
    Record(record::Args),
    /// Run every cell of an experiment file, appending one JSON line per run.
    Sweep(sweep::Args),
    /// Join shard outputs of a sweep, refusing duplicate and missing cells.
    Merge(merge::Args),
    /// Draw every figure of a results directory (SVG, and PNG with the bundled font).
    Plot(plot::Args),
    /// Write a result's tables and claim verdicts into its README (from runs.jsonl only).
    Report(report::Args),
    /// Compare two result sets, or two strategies of one, metric by metric: exact differences
    /// of deterministic metrics, bootstrap intervals of wall-clock ratios.
    Compare(compare::Args),
    /// Rerun every published experiment and redraw its figures; `--check` compares instead.
    Reproduce(reproduce::Args),
    /// Create a new strategy crate `strategies/NAME/` from the template and register it.
    NewStrategy(new_strategy::Args),
    /// Characterise workloads (strategy-independent): ops, allocations, bytes, the minimum
    /// possible peak, cyclic garbage, lifetimes; writes results/workloads/.
    Workloads(workloads::Args),
    /// Compare the generational model with real CPython 3.11/3.12/3.13, collection by collection.
    Fidelity(fidelity::Args),
    /// Time one full collection of the cpython-3.11 model over N live tracked containers
    /// (used by scripts/bench_full_collect.py); prints one JSON line.
    BenchCollect(bench_collect::Args),
    /// Harness memory per simulated object: build a live heap, report peak RSS per object.
    #[command(hide = true)]
    MemProbe(mem_probe::Args),
}

/// Runs `command`, or the default job if there is none.
pub fn dispatch(command: Option<Command>) -> CmdResult {
    match command {
        None => default::run(),
        Some(Command::List(a)) => list::run(a),
        Some(Command::Run(a)) => run::run(a),
        Some(Command::Trace(a)) => trace::run(a),
        Some(Command::Record(a)) => record::run(a),
        Some(Command::Sweep(a)) => sweep::run(a),
        Some(Command::Merge(a)) => merge::run(a),
        Some(Command::Plot(a)) => plot::run(a),
        Some(Command::Report(a)) => report::run(a),
        Some(Command::Compare(a)) => compare::run(a),
        Some(Command::Reproduce(a)) => reproduce::run(a),
        Some(Command::NewStrategy(a)) => new_strategy::run(a),
        Some(Command::Workloads(a)) => workloads::run(a),
        Some(Command::Fidelity(a)) => fidelity::run(a),
        Some(Command::BenchCollect(a)) => bench_collect::run(a),
        Some(Command::MemProbe(a)) => mem_probe::run(a),
    }
}

/// Prints `value` as one JSON line on standard output (the commands whose output a script reads).
pub fn print_json(value: &impl serde::Serialize) -> CmdResult {
    use crate::classify::{ClassifyExt, CmdContext};
    let line = serde_json::to_string(value)
        .internal()
        .context("serialising the result")?;
    println!("{line}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }
}
