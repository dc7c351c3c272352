//! `gclab plot`: draw every figure of a results directory from its files alone.

use crate::classify::{CmdError, CmdResult};
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
        let files = crate::plot::plot_dir(d, !a.no_png)
            .map_err(|e| CmdError::internal(anyhow::anyhow!("{e}")))?;
        eprintln!("{}: wrote {} figure files", d.display(), files.len());
    }
    Ok(())
}
