//! A figure as data ([`Fig`]): grouped bars, or a grid of line panels; laid out and drawn once
//! per backend (SVG, and PNG if asked).

use super::panel::{bar_panel, draw_err, line_panel, Panel, Series};
use super::PlotError;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::{Path, PathBuf};

/// What a figure shows; drawn once per backend (SVG, PNG).
pub(super) enum Fig {
    /// Grouped bars: one group per workload, one bar per strategy.
    Bars {
        /// Caption.
        title: String,
        /// Y axis description.
        y_desc: String,
        /// Category (workload) labels.
        cats: Vec<String>,
        /// One series per strategy; `points[i].1` is the bar of category `i`.
        series: Vec<Series>,
        /// A dashed horizontal reference line.
        reference: Option<f64>,
        /// Log y axis (bars start at the bottom of the axis).
        y_log: bool,
    },
    /// One line panel per workload (or per metric).
    Panels {
        /// Title above the grid.
        title: String,
        /// X axis description.
        x_desc: String,
        /// Y axis description.
        y_desc: String,
        /// Log x axis.
        x_log: bool,
        /// Log y axis.
        y_log: bool,
        /// A fixed y range (otherwise from the data).
        y_range: Option<(f64, f64)>,
        /// Category labels for a categorical x axis.
        x_cats: Option<Vec<String>>,
        /// Preferred legend position.
        legend: SeriesLabelPosition,
        /// Panel captions and their series; panels without series are not drawn.
        panels: Vec<(String, Vec<Series>)>,
    },
}

/// Rows and columns of a grid of `n` panels.
fn grid(n: usize) -> (usize, usize) {
    let cols = match n {
        0 | 1 => 1,
        2 | 4 => 2,
        _ => 3,
    };
    (n.div_ceil(cols).max(1), cols)
}

/// The axis ranges of a line panel: `(x0, x1, y0, y1)`.
fn panel_ranges(
    series: &[Series],
    x_log: bool,
    y_log: bool,
    y_range: Option<(f64, f64)>,
    categorical: bool,
) -> (f64, f64, f64, f64) {
    let pts = || series.iter().flat_map(|s| s.points.iter());
    let fold = |f: fn(f64, f64) -> f64, init: f64, sel: fn(&(f64, f64)) -> f64| {
        pts().map(sel).fold(init, f)
    };
    let mut x0 = fold(f64::min, f64::INFINITY, |p| p.0);
    let mut x1 = fold(f64::max, f64::NEG_INFINITY, |p| p.0);
    let (mut y0, mut y1) = match y_range {
        Some(r) => r,
        None => (
            fold(f64::min, f64::INFINITY, |p| p.1),
            fold(f64::max, f64::NEG_INFINITY, |p| p.1) * 1.05,
        ),
    };
    if !x0.is_finite() {
        (x0, x1) = (1.0, 10.0);
    }
    if !y0.is_finite() || !y1.is_finite() {
        (y0, y1) = (1.0, 10.0);
    }
    if y_log {
        y0 = y0.max(1.0) / 1.5;
        y1 = (y1 * 1.5).max(y0 * 10.0);
    } else if y_range.is_none() {
        y0 = y0.min(0.0);
        if y1 <= y0 {
            y1 = y0 + 1.0;
        }
    }
    if x_log {
        x0 = x0.max(1.0);
        x1 = x1.max(x0 * 10.0);
    } else if categorical {
        x0 = -0.3;
        x1 += 0.3;
    } else if x1 <= x0 {
        x1 = x0 + 1.0;
    }
    (x0, x1, y0, y1)
}

/// Draws a [`Fig::Bars`].
fn draw_bars<DB: DrawingBackend>(
    file: &Path,
    root: &DrawingArea<DB, Shift>,
    p: &Panel<'_>,
    cats: &[String],
    series: &[Series],
    y_log: bool,
) -> Result<(), PlotError> {
    let tops = series.iter().flat_map(|s| {
        s.points
            .iter()
            .zip(s.err.iter().chain(std::iter::repeat(&0.0)))
            .map(|(p, e)| p.1 + e)
    });
    let y_max = tops.fold(p.reference.unwrap_or(0.0), f64::max).max(1e-9);
    let y_min_pos = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .filter(|y| *y > 0.0)
        .fold(f64::INFINITY, f64::min);
    // The key is beside the bars (`bar_panel`), so the axis fits the data: a little room above
    // the tallest bar (or interval), and on a log axis half the smallest bar below.
    if y_log && y_min_pos.is_finite() {
        let lo = y_min_pos / 2.0;
        let hi = y_max * 1.5;
        bar_panel(file, root, p, cats, series, (lo..hi).log_scale(), lo)
    } else {
        bar_panel(file, root, p, cats, series, 0f64..y_max * 1.05, 0.0)
    }
}

/// Draws one line panel of a [`Fig::Panels`], with linear or log axes.
fn draw_line_panel<DB: DrawingBackend>(
    file: &Path,
    area: &DrawingArea<DB, Shift>,
    p: &Panel<'_>,
    series: &[Series],
    (x_log, y_log): (bool, bool),
    (x0, x1, y0, y1): (f64, f64, f64, f64),
) -> Result<(), PlotError> {
    match (x_log, y_log) {
        (false, false) => line_panel(file, area, p, x0..x1, y0..y1, series),
        (true, false) => line_panel(file, area, p, (x0..x1).log_scale(), y0..y1, series),
        (false, true) => line_panel(file, area, p, x0..x1, (y0..y1).log_scale(), series),
        (true, true) => line_panel(
            file,
            area,
            p,
            (x0..x1).log_scale(),
            (y0..y1).log_scale(),
            series,
        ),
    }
}

impl Fig {
    /// Whether the figure has nothing to draw (a grid whose panels all lack series).
    pub(super) fn is_empty(&self) -> bool {
        matches!(self, Fig::Panels { panels, .. } if panels.iter().all(|(_, s)| s.is_empty()))
    }

    fn size(&self) -> (u32, u32) {
        match self {
            Fig::Bars { cats, .. } => ((260 + 110 * cats.len() as u32).clamp(640, 1500), 480),
            Fig::Panels { panels, .. } => {
                let (r, c) = grid(panels.iter().filter(|(_, s)| !s.is_empty()).count());
                (c as u32 * 520, r as u32 * 380 + 40)
            }
        }
    }

    fn draw<DB: DrawingBackend>(
        &self,
        file: &Path,
        root: &DrawingArea<DB, Shift>,
    ) -> Result<(), PlotError> {
        let err = draw_err(file);
        root.fill(&WHITE).map_err(&err)?;
        match self {
            Fig::Bars {
                title,
                y_desc,
                cats,
                series,
                reference,
                y_log,
            } => {
                let p = Panel {
                    title,
                    x_desc: "workload",
                    y_desc,
                    legend: Some(SeriesLabelPosition::UpperRight),
                    x_cats: None,
                    reference: *reference,
                };
                draw_bars(file, root, &p, cats, series, *y_log)?;
            }
            Fig::Panels {
                title,
                x_desc,
                y_desc,
                x_log,
                y_log,
                y_range,
                x_cats,
                legend,
                panels,
            } => {
                let body = root.titled(title, ("sans-serif", 22)).map_err(&err)?;
                let panels: Vec<&(String, Vec<Series>)> =
                    panels.iter().filter(|(_, s)| !s.is_empty()).collect();
                let areas = body.split_evenly(grid(panels.len()));
                for (area, (name, series)) in areas.iter().zip(panels) {
                    let ranges = panel_ranges(series, *x_log, *y_log, *y_range, x_cats.is_some());
                    let p = Panel {
                        title: name,
                        x_desc,
                        y_desc,
                        legend: Some(legend.clone()),
                        x_cats: x_cats.as_deref(),
                        reference: None,
                    };
                    draw_line_panel(file, area, &p, series, (*x_log, *y_log), ranges)?;
                }
            }
        }
        root.present().map_err(&err)?;
        Ok(())
    }

    /// Writes `dir/stem.svg` (and `dir/stem.png` if `png`); returns the files written.
    pub(super) fn render(
        &self,
        dir: &Path,
        stem: &str,
        png: bool,
    ) -> Result<Vec<PathBuf>, PlotError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| PlotError::Io(format!("creating {}: {e}", dir.display())))?;
        let size = self.size();
        let svg = dir.join(format!("{stem}.svg"));
        {
            let root = SVGBackend::new(&svg, size).into_drawing_area();
            self.draw(&svg, &root)?;
        }
        let mut out = vec![svg];
        if png {
            let path = dir.join(format!("{stem}.png"));
            {
                let root = BitMapBackend::new(&path, size).into_drawing_area();
                self.draw(&path, &root)?;
            }
            out.push(path);
        }
        Ok(out)
    }
}
