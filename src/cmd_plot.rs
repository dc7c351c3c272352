//! `gclab plot`: draw every figure of a results directory from its files alone.

use anyhow::{anyhow, Result};
use clap::Args;
use std::path::PathBuf;

/// Arguments of `gclab plot`.
#[derive(Args, Debug)]
pub struct PlotArgs {
    /// Results directories (`results/<name>`), each with `experiment.toml` and `runs.jsonl`.
    #[arg(required = true)]
    pub dirs: Vec<PathBuf>,
    /// SVG only (no PNG).
    #[arg(long)]
    pub no_png: bool,
}

/// Runs `gclab plot`.
pub fn run(a: PlotArgs) -> Result<()> {
    for d in &a.dirs {
        let files = crate::plot::plot_dir(d, !a.no_png).map_err(|e| anyhow!("{e}"))?;
        eprintln!("{}: wrote {} figure files", d.display(), files.len());
    }
    Ok(())
}
