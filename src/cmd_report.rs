//! `gclab report`: print a result's tables and write them into its README.

use crate::analysis::ResultSet;
use anyhow::{Context, Result};
use clap::Args;
use std::path::PathBuf;

/// Arguments of `gclab report`.
#[derive(Args, Debug)]
pub struct ReportArgs {
    /// Results directories (`results/<name>`).
    #[arg(required = true)]
    pub dirs: Vec<PathBuf>,
    /// Print only; do not touch README.md.
    #[arg(long)]
    pub print: bool,
}

/// Runs `gclab report`.
pub fn run(a: ReportArgs) -> Result<()> {
    for d in &a.dirs {
        let rs = ResultSet::load(d)?;
        if a.print {
            print!("{}", crate::readme::markdown(&rs));
        } else {
            crate::readme::update_readme(d, &rs)
                .with_context(|| format!("writing {}/README.md", d.display()))?;
            eprintln!("{}: README.md updated", d.display());
        }
    }
    Ok(())
}
