//! Figures from a loaded result set only: `gclab plot results/<name>` loads `experiment.toml`,
//! `runs.jsonl` and the sidecars once ([`ResultSet::load`]) and writes SVG and PNG figures
//! ([`write_all`]).
//!
//! Figures drawn from deterministic metrics go to `figures/` and are byte-identical on every
//! machine: the text is laid out with the DejaVu Sans font committed under `assets/fonts/`
//! (registered with plotters' `register_font`, never a system font). Wall-clock figures go to
//! `figures/wall/`: they differ from run to run by nature. Whether a figure is in work units or
//! wall-clock time is a type ([`Clock`]).
//!
//! Layout: [`FIGURES`] is the table of figures, one function each in `figures` (the figures
//! every result gets) or `headline` (the figures an experiment's `[plot]` table asks for to
//! show its finding: `scatter`, `pages`, `claims`); `fig` holds a figure as data and lays it
//! out; `panel` draws panels with plotters. Adding a figure is adding one function and one line
//! of the table.

mod clock;
mod fig;
mod figures;
mod headline;
mod measured;
mod panel;

pub use clock::{Clock, WallClock, WorkUnits};
pub use measured::{has_measured, write_measured, Measured, MEASURED};
pub use panel::compact;

use crate::results::{ResultSet, ResultsError};
use plotters::style::FontStyle;
use std::path::{Path, PathBuf};

/// The font every figure uses (DejaVu Sans 2.37, Bitstream Vera licence, see
/// `assets/fonts/LICENSE-DejaVu.txt`).
pub static FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// Why figures could not be drawn.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// Drawing failed.
    #[error("drawing {file}: {message}")]
    Draw {
        /// The figure.
        file: PathBuf,
        /// What failed.
        message: String,
    },
    /// The font could not be loaded.
    #[error("the bundled font could not be loaded")]
    Font,
    /// A results directory could not be written.
    #[error("{0}")]
    Io(String),
    /// The experiment's `[plot]` table asks for something that cannot be drawn.
    #[error("{0}")]
    Spec(String),
    /// A measurement file a figure is drawn from (see [`MEASURED`]) could not be read or is
    /// not what its writer writes.
    #[error("{}: {message}", file.display())]
    Data {
        /// The file.
        file: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// The result files (a sidecar) could not be read.
    #[error(transparent)]
    Results(#[from] ResultsError),
}

fn register_font() -> Result<(), PlotError> {
    static ONCE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let ok = *ONCE.get_or_init(|| {
        plotters::style::register_font("sans-serif", FontStyle::Normal, FONT).is_ok()
    });
    if ok {
        Ok(())
    } else {
        Err(PlotError::Font)
    }
}

/// One entry of [`FIGURES`]: where the figure goes, its file stem, and the function that
/// makes it from the result set.
pub struct Figure {
    /// Directory relative to the results directory (`figures` or `figures/wall`).
    pub dir: &'static str,
    /// File stem (`pauses` gives `pauses.svg` and `pauses.png`); `[plot] skip` names it.
    pub stem: &'static str,
    make: fn(&ResultSet) -> figures::FigResult,
}

const fn figure<C: Clock>(
    stem: &'static str,
    make: fn(&ResultSet) -> figures::FigResult,
) -> Figure {
    Figure {
        dir: C::DIR,
        stem,
        make,
    }
}

/// Every figure, in the order they are drawn.
pub const FIGURES: &[Figure] = &[
    figure::<WorkUnits>("scatter", headline::scatter),
    figure::<WorkUnits>("pages", headline::pages),
    figure::<WorkUnits>("claims", headline::claims),
    figure::<WorkUnits>("peak_memory", figures::peak_memory),
    figure::<WorkUnits>("lbo", figures::lbo::<WorkUnits>),
    figure::<WorkUnits>("pauses", figures::pauses::<WorkUnits>),
    figure::<WorkUnits>("mmu", figures::mmu::<WorkUnits>),
    figure::<WorkUnits>("timeline", figures::timeline),
    figure::<WorkUnits>("garbage", figures::garbage),
    figure::<WorkUnits>("tradeoff", figures::tradeoff),
    figure::<WallClock>("throughput", figures::throughput),
    figure::<WallClock>("lbo_wall", figures::lbo::<WallClock>),
    figure::<WallClock>("pauses_wall", figures::pauses::<WallClock>),
    figure::<WallClock>("mmu_wall", figures::mmu::<WallClock>),
];

/// How figures are written.
#[derive(Clone, Debug, Default)]
pub struct PlotOptions {
    /// Also write a PNG beside each SVG.
    pub png: bool,
}

/// Draws every figure of a loaded result set under `dir` (skipping those the experiment's
/// `[plot] skip` names and those with nothing to draw); returns the files written.
pub fn write_all(
    rs: &ResultSet,
    dir: &Path,
    opts: &PlotOptions,
) -> Result<Vec<PathBuf>, PlotError> {
    register_font()?;
    let spec = &rs.exp().file.plot;
    for name in spec.headline.iter().chain(&spec.skip) {
        if !FIGURES.iter().any(|f| f.stem == name) {
            let valid: Vec<&str> = FIGURES.iter().map(|f| f.stem).collect();
            return Err(PlotError::Spec(format!(
                "[plot] names no figure `{name}`; the figures are: {}",
                valid.join(", ")
            )));
        }
    }
    let skip = &spec.skip;
    let mut written = Vec::new();
    for f in FIGURES {
        let Some(fig) = (f.make)(rs)? else {
            continue;
        };
        if !fig.is_empty() && !skip.iter().any(|s| s == f.stem) {
            written.extend(fig.render(&dir.join(f.dir), f.stem, opts.png)?);
        }
    }
    Ok(written)
}
