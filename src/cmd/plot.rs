//! `gclab plot`: draw every figure of a results directory from its files alone: a sweep's
//! result from its `experiment.toml`, `runs.jsonl` and sidecars; a result that is not a sweep
//! from the measurement files its script wrote ([`crate::plot::MEASURED`]).

use crate::classify::{CmdError, CmdResult};
use crate::plot::{self, PlotOptions, MEASURED};
use crate::results::ResultSet;
use std::path::PathBuf;

/// Arguments of `gclab plot`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Results directories (`results/<name>`), each with `experiment.toml` and `runs.jsonl`,
    /// or, for a result that is not a sweep, with a measurement file gclab draws:
    /// `fidelity.jsonl`, `characterisation.json`, `raw/trace_replay.json` or `raw.json`.
    #[arg(required = true)]
    pub dirs: Vec<PathBuf>,
    /// SVG only (no PNG).
    #[arg(long)]
    pub no_png: bool,
}

/// Runs `gclab plot`.
pub fn run(a: Args) -> CmdResult {
    for d in &a.dirs {
        let files = if d.join("experiment.toml").is_file() || !d.is_dir() {
            let rs = ResultSet::load(d)?;
            plot::write_all(&rs, d, &PlotOptions { png: !a.no_png })?
        } else if plot::has_measured(d) {
            plot::write_measured(d, !a.no_png)?
        } else {
            let known: Vec<String> = MEASURED
                .iter()
                .map(|m| format!("{} ({})", m.file, m.writer))
                .collect();
            return Err(CmdError::usage(anyhow::anyhow!(
                "{}: nothing to draw: no experiment.toml (a sweep's result) and none of the \
                 measurement files gclab draws: {}",
                d.display(),
                known.join(", ")
            )));
        };
        eprintln!("{}: wrote {} figure files", d.display(), files.len());
    }
    Ok(())
}
