//! `gclab report`: print a result's tables and write them into its README, and write its HTML
//! page (`index.html`) and the index of every result beside it (`results/index.html`).

use crate::classify::{ClassifyExt, CmdContext, CmdResult};
use crate::experiment::Experiment;
use crate::results::ResultSet;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Arguments of `gclab report`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Results directories (`results/<name>`).
    #[arg(required = true)]
    pub dirs: Vec<PathBuf>,
    /// Print only; do not touch README.md or the HTML pages.
    #[arg(long)]
    pub print: bool,
}

/// Runs `gclab report`.
pub fn run(a: Args) -> CmdResult {
    let mut roots = BTreeSet::new();
    for d in &a.dirs {
        let rs = ResultSet::load(d)?;
        if a.print {
            print!("{}", crate::readme::markdown(&rs));
        } else {
            crate::readme::update_readme(d, &rs)
                .internal()
                .with_context(|| format!("writing {}/README.md", d.display()))?;
            let page = crate::html::write_result_page(&rs, d)?;
            eprintln!("{}: README.md and {} updated", d.display(), page.display());
            roots.insert(root_of(d));
        }
    }
    for root in roots {
        let index = write_results_index(&root)?;
        eprintln!("{}: the index of every result", index.display());
    }
    Ok(())
}

/// The directory holding the result directory `dir` (`results` for `results/NAME`).
fn root_of(dir: &Path) -> PathBuf {
    match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => dir.join(".."),
    }
}

/// Writes `root/index.html`, the index of every experiment under `root` (the directories with
/// an `experiment.toml`); returns its path.
pub fn write_results_index(root: &Path) -> CmdResult<PathBuf> {
    let exps = results_of(root)?;
    Ok(crate::html::write_index(root, &exps)?)
}

/// The experiments under `root`, in the order of their directory names.
pub fn results_of(root: &Path) -> CmdResult<Vec<Experiment>> {
    let mut exps = Vec::new();
    for dir in super::reproduce::experiments(root, &[])? {
        exps.push(Experiment::load(&dir)?);
    }
    Ok(exps)
}
