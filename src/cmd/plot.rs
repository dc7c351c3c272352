//! `gclab plot`: draw every figure of a results directory from its files alone.

use crate::classify::CmdResult;
use crate::plot::{self, PlotOptions};
use crate::results::ResultSet;
use std::path::PathBuf;

/// Arguments of `gclab plot`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Results directories (`results/<name>`), each with `experiment.toml` and `runs.jsonl`.
    #[arg(required = true)]
    pub dirs: Vec<PathBuf>,
    /// SVG only (no PNG).
    #[arg(long)]
    pub no_png: bool,
}

/// Runs `gclab plot`.
pub fn run(a: Args) -> CmdResult {
    for d in &a.dirs {
        let rs = ResultSet::load(d)?;
        let files = plot::write_all(&rs, d, &PlotOptions { png: !a.no_png })?;
        eprintln!("{}: wrote {} figure files", d.display(), files.len());
    }
    Ok(())
}
