//! `gclab merge`: join shard outputs into one results file, refusing duplicates and gaps.

use crate::classify::CmdResult;
use crate::experiment::Experiment;
use std::path::PathBuf;

/// Arguments of `gclab merge`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The experiment file the shards ran.
    pub experiment: PathBuf,
    /// Shard outputs (`shards/shard-*-of-N.jsonl`).
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// Output (default: `runs.jsonl` beside the experiment).
    #[arg(long, short = 'o')]
    pub out: Option<PathBuf>,
    /// Write what there is even if cells are missing.
    #[arg(long)]
    pub allow_partial: bool,
}

/// Runs `gclab merge`.
pub fn run(a: Args) -> CmdResult {
    let exp = Experiment::load(&a.experiment)?;
    let out = a.out.unwrap_or_else(|| exp.dir.join("runs.jsonl"));
    let out_dir = out.parent().unwrap_or(std::path::Path::new(""));
    let rows = crate::results::merge(&exp, &a.inputs, a.allow_partial, out_dir)?;
    crate::results::write_rows(&out, &rows)?;
    eprintln!(
        "merged {} rows from {} files into {}",
        rows.len(),
        a.inputs.len(),
        out.display()
    );
    Ok(())
}
