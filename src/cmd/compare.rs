//! `gclab compare`: two result sets, or two strategies of one, metric by metric.

use crate::classify::{ClassifyExt, CmdContext, CmdResult, UserError};
use crate::compare::{self, Format, Options, Source};
use std::path::PathBuf;

/// Arguments of `gclab compare`.
#[derive(clap::Args, Debug)]
#[command(after_long_help = "\
Runs are matched by cell: workload, strategy and stream seed (with --strategies: workload and \
seed). The matched runs of a group are its replicates. Deterministic metrics (work units, \
counts, bytes, pauses in work units) are printed exactly: each side's mean, B - A, (B - A)/A \
and how many runs differ. Wall-clock metrics get B/A, the ratio of the medians, with a 95% \
paired bootstrap interval (fixed seed: the same output on every run) and, from 6 matched \
runs on, a verdict (faster, slower, no significant difference); 2 to 5 runs get the interval \
without a verdict, 1 run neither. Cells on one side only are listed and not compared.

Examples:
  gclab compare results/strategy-matrix --strategies cpython-3.12 cpython-3.13
  gclab compare results/incremental /tmp/rerun --metric all --markdown cmp.md
  gclab compare results/strategy-matrix results/incremental -w churn -m peak_live_bytes -m wall_ns

See docs/compare.md.")]
pub struct Args {
    /// A, the baseline: a results directory (`results/NAME`, with experiment.toml and
    /// runs.jsonl) or a runs.jsonl file.
    pub a: PathBuf,
    /// B, compared against A (the same forms). Omit it with --strategies to compare two
    /// strategies of A.
    pub b: Option<PathBuf>,
    /// Compare strategy S_A of A with strategy S_B of B (of A when B is omitted), matching
    /// runs on workload and seed.
    #[arg(long, num_args = 2, value_names = ["S_A", "S_B"])]
    pub strategies: Option<Vec<String>>,
    /// Only this workload (repeatable; default: every workload).
    #[arg(long = "workload", short = 'w', value_name = "LABEL")]
    pub workloads: Vec<String>,
    /// Only this metric (repeatable): a row path such as `run.peak_live_bytes` or
    /// `wall.wall_ns`, or its unique end (`peak_live_bytes`); `all` for every metric. Default:
    /// the headline metrics (work, collections, pauses, peak and leaked bytes, wall and
    /// collector time, longest pause).
    #[arg(long = "metric", short = 'm', value_name = "NAME")]
    pub metrics: Vec<String>,
    /// Only the rows that show a difference: deterministic metrics on which some run differs,
    /// wall-clock metrics with a verdict of faster or slower (say, after a change that should
    /// not alter any result).
    #[arg(long)]
    pub changed: bool,
    /// What to print: aligned tables, or markdown.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Also write the comparison as markdown to FILE.
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
}

/// Runs `gclab compare`.
pub fn run(a: Args) -> CmdResult {
    let strategies = a.strategies.map(|v| (v[0].clone(), v[1].clone()));
    let b_path =
        match (&a.b, &strategies) {
            (Some(b), _) => b.clone(),
            (None, Some(_)) => a.a.clone(),
            (None, None) => return Err(UserError(
                "give B (a second results directory or runs.jsonl), or --strategies S_A S_B to \
                 compare two strategies of A"
                    .into(),
            )
            .into()),
        };
    let src_a = Source::load(&a.a).context("reading A")?;
    let src_b = if a.b.is_some() {
        Some(Source::load(&b_path).context("reading B")?)
    } else {
        None
    };
    let opts = Options {
        strategies,
        workloads: a.workloads,
        metrics: a.metrics,
        changed_only: a.changed,
    };
    let cmp = compare::compare(&src_a, src_b.as_ref().unwrap_or(&src_a), &opts)?;
    print!("{}", compare::render(&cmp, a.format));
    if let Some(file) = &a.markdown {
        std::fs::write(file, compare::render(&cmp, Format::Markdown))
            .internal()
            .with_context(|| format!("writing {}", file.display()))?;
        eprintln!("wrote {}", file.display());
    }
    Ok(())
}
