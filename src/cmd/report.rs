//! `gclab report`: print a result's tables and write them into its README.

use crate::classify::{ClassifyExt, CmdContext, CmdResult};
use crate::results::ResultSet;
use std::path::PathBuf;

/// Arguments of `gclab report`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Results directories (`results/<name>`).
    #[arg(required = true)]
    pub dirs: Vec<PathBuf>,
    /// Print only; do not touch README.md.
    #[arg(long)]
    pub print: bool,
}

/// Runs `gclab report`.
pub fn run(a: Args) -> CmdResult {
    for d in &a.dirs {
        let rs = ResultSet::load(d)?;
        if a.print {
            print!("{}", crate::readme::markdown(&rs));
        } else {
            crate::readme::update_readme(d, &rs)
                .internal()
                .with_context(|| format!("writing {}/README.md", d.display()))?;
            eprintln!("{}: README.md updated", d.display());
        }
    }
    Ok(())
}
