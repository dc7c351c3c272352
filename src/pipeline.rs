//! The regenerate pipeline: one published result rebuilt from its `experiment.toml` by a sweep
//! (into `runs.jsonl` and `runs/`), then the result set loaded once and handed to its figures
//! ([`crate::plot::write_all`]), its README tables ([`crate::readme::update_readme`]) and its
//! HTML page ([`crate::html::write_result_page`]).
//!
//! The default job (`cargo run --release`) is [`regenerate`] of `results/default`; `gclab
//! reproduce` is [`regenerate`] of every published result (or, with `--check`, a rerun compared
//! with the committed files).

use crate::classify::{Classify, ExitClass};
use crate::experiment::Experiment;
use crate::plot::{PlotError, PlotOptions};
use crate::results::{ResultSet, ResultsError};
use crate::sweep::{self, SweepError, SweepOptions, SweepSummary};
use std::io::IsTerminal;
use std::path::PathBuf;

/// How to regenerate.
#[derive(Clone, Debug, Default)]
pub struct RegenerateOptions {
    /// Worker threads (None: one per core).
    pub jobs: Option<usize>,
    /// Run only the first N replicates of each cell (None: all).
    pub max_replicates: Option<u32>,
    /// Draw PNG figures beside the SVG ones.
    pub png: bool,
}

impl RegenerateOptions {
    /// The options of the sweep that regenerates (or, for `reproduce --check`, reruns) a result
    /// into `out`: no resume, no shard, no verify or heap override, a progress bar if standard
    /// error is a terminal.
    pub fn sweep_options(&self, out: PathBuf) -> SweepOptions {
        SweepOptions {
            jobs: self.jobs,
            resume: false,
            shard: None,
            out,
            verify: false,
            max_heap: None,
            progress: std::io::stderr().is_terminal(),
            max_replicates: self.max_replicates,
        }
    }
}

/// What [`regenerate`] produced.
#[derive(Debug)]
pub struct Regenerated {
    /// The sweep's counts.
    pub summary: SweepSummary,
    /// The figure files written.
    pub figures: Vec<PathBuf>,
    /// The results, as read back from the directory.
    pub results: ResultSet,
}

/// Why a result could not be regenerated.
#[derive(Debug, thiserror::Error)]
pub enum RegenerateError {
    /// The previous sidecars could not be removed.
    #[error("removing {}", path.display())]
    Remove {
        /// The `runs/` directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The sweep failed as a whole.
    #[error(transparent)]
    Sweep(#[from] SweepError),
    /// The figures could not be drawn.
    #[error(transparent)]
    Plot(#[from] PlotError),
    /// The results could not be read back.
    #[error(transparent)]
    Load(#[from] ResultsError),
    /// The HTML page could not be written.
    #[error(transparent)]
    Html(#[from] crate::html::HtmlError),
    /// The README could not be written.
    #[error("writing {}/README.md", dir.display())]
    Readme {
        /// The results directory.
        dir: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// The class of the step that failed (a sweep's usage error or a result set that is not one is
/// bad input); removing or writing files is internal.
impl Classify for RegenerateError {
    fn exit_class(&self) -> ExitClass {
        match self {
            RegenerateError::Sweep(e) => e.exit_class(),
            RegenerateError::Load(e) => e.exit_class(),
            RegenerateError::Plot(e) => e.exit_class(),
            _ => ExitClass::Internal,
        }
    }
}

/// Regenerates the result of `exp` in its directory: removes the old sidecars (`runs/`), reruns
/// every cell into `runs.jsonl` (a progress bar if standard error is a terminal), draws the
/// figures, rewrites the README's generated section and writes the result's `index.html`.
pub fn regenerate(
    exp: &Experiment,
    opts: &RegenerateOptions,
) -> Result<Regenerated, RegenerateError> {
    let dir = &exp.dir;
    let runs = dir.join("runs");
    if runs.exists() {
        std::fs::remove_dir_all(&runs)
            .map_err(|source| RegenerateError::Remove { path: runs, source })?;
    }
    let summary = sweep::run(exp, &opts.sweep_options(dir.join("runs.jsonl")))?;
    let results = ResultSet::load(dir)?;
    let figures = crate::plot::write_all(&results, dir, &PlotOptions { png: opts.png })?;
    crate::readme::update_readme(dir, &results).map_err(|source| RegenerateError::Readme {
        dir: dir.clone(),
        source,
    })?;
    crate::html::write_result_page(&results, dir)?;
    Ok(Regenerated {
        summary,
        figures,
        results,
    })
}
