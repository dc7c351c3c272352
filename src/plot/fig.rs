//! A figure as data ([`Fig`]): grouped bars, or a grid of line panels; laid out and drawn once
//! per backend (SVG, and PNG if asked).

use super::panel::{
    bar_panel, compact, draw_err, empty_panel, line_panel, mark_near_coinciding, merge_identical,
    order_by_data, titled_wrapped, wrap_lines, Panel, Series, Stroke, ValueLabels,
};
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
        /// Which bars carry their value above them.
        values: ValueLabels,
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
        /// The panels; those without series are named, with their notes, in a line under the
        /// title (see `shown_panels`).
        panels: Vec<PanelData>,
    },
    /// A grid of small bar panels, each with its own axis and a wrapped caption (one per
    /// claim check).
    BarGrid {
        /// Title above the grid.
        title: String,
        /// Columns of the grid.
        cols: usize,
        /// The panels.
        panels: Vec<BarPanelData>,
    },
}

/// One panel of a [`Fig::Panels`].
pub(super) struct PanelData {
    /// Caption.
    pub(super) name: String,
    /// Its series.
    pub(super) series: Vec<Series>,
    /// A remark drawn in the panel: what it does not show, and why.
    pub(super) note: Option<String>,
    /// The panel's own y axis description (its own unit), instead of the figure's.
    pub(super) y_desc: Option<String>,
}

impl PanelData {
    /// A panel with no note.
    pub(super) fn new(name: String, series: Vec<Series>) -> Self {
        PanelData {
            name,
            series,
            note: None,
            y_desc: None,
        }
    }
}

/// One panel of a [`Fig::BarGrid`]: bars with their values written above them.
pub(super) struct BarPanelData {
    /// Caption (wrapped onto several lines).
    pub(super) title: String,
    /// Y axis description.
    pub(super) y_desc: String,
    /// Category labels under the bars.
    pub(super) cats: Vec<String>,
    /// The bars (one series, or one per colour).
    pub(super) series: Vec<Series>,
    /// A dashed horizontal line (what the bars are compared with).
    pub(super) reference: Option<f64>,
}

/// A log y axis drawn on linear coordinates (the log10 of each value), so that zero gets a
/// row of its own below the first decade, marked by a break in the axis, instead of being
/// drawn at some small positive value; its range is fitted to the data and spans at least one
/// decade, and it is labelled at decades (and at 2 and 5 times them when fewer than three
/// decades fit).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct LogAxis {
    /// log10 of the lowest position of the log part.
    lo: f64,
    /// log10 of the highest.
    hi: f64,
    /// Where zero is drawn, if any value is zero.
    zero_row: Option<f64>,
}

impl LogAxis {
    /// The axis for the values of `series` (all `>= 0`).
    pub(super) fn fit(series: &[Series]) -> Self {
        let ys = || series.iter().flat_map(|s| s.points.iter().map(|p| p.1));
        let pos = ys().filter(|y| *y > 0.0);
        let min = pos.clone().fold(f64::INFINITY, f64::min);
        let max = pos.fold(0.0, f64::max);
        let (mut lo, mut hi) = if min.is_finite() {
            (min.log10() - 0.12, max.log10() + 0.12)
        } else {
            (0.0, 1.0)
        };
        if hi - lo < 1.0 {
            let pad = (1.0 - (hi - lo)) / 2.0;
            (lo, hi) = (lo - pad, hi + pad);
        }
        let zero_row = ys().any(|y| y <= 0.0).then_some(lo - 0.3);
        LogAxis { lo, hi, zero_row }
    }

    /// Where `y` is drawn.
    pub(super) fn map(&self, y: f64) -> f64 {
        if y > 0.0 {
            y.log10()
        } else {
            self.zero_row.unwrap_or(self.lo)
        }
    }

    /// The drawn range.
    pub(super) fn range(&self) -> (f64, f64) {
        (self.zero_row.map_or(self.lo, |z| z - 0.12), self.hi)
    }

    /// Where the axis is broken (between the zero row and the log part), if it is.
    pub(super) fn brk(&self) -> Option<f64> {
        self.zero_row.map(|z| (z + self.lo) / 2.0)
    }

    /// The labelled ticks, `(position, label)`.
    pub(super) fn ticks(&self) -> Vec<(f64, String)> {
        let decades = |mult: &[f64]| -> Vec<(f64, String)> {
            let mut out = Vec::new();
            for k in self.lo.floor() as i32..=self.hi.ceil() as i32 {
                for m in mult {
                    let v = m * 10f64.powi(k);
                    let t = v.log10();
                    if t >= self.lo && t <= self.hi {
                        out.push((t, compact(v)));
                    }
                }
            }
            out
        };
        let mut ticks = decades(&[1.0]);
        if ticks.len() < 3 {
            ticks = decades(&[1.0, 2.0, 5.0]);
        }
        if let Some(z) = self.zero_row {
            ticks.insert(0, (z, "0".to_string()));
        }
        ticks
    }
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
        // Fitted to the data, but at least a decade wide, so that two decades are labelled.
        x0 = x0.max(1e-9);
        if x1 < x0 * 10.0 {
            let mid = (x0 * x1).sqrt();
            (x0, x1) = (mid / 10f64.sqrt(), mid * 10f64.sqrt());
        }
    } else if categorical {
        x0 = -0.3;
        x1 += 0.3;
    } else if x1 <= x0 {
        x1 = x0 + 1.0;
    }
    (x0, x1, y0, y1)
}

/// How the axes of a line panel are scaled.
#[derive(Clone, Copy)]
struct Axes {
    x_log: bool,
    y_log: bool,
    y_range: Option<(f64, f64)>,
    categorical: bool,
}

/// Draws one panel of a [`Fig::Panels`]: identical series merged, the legend in the order the
/// lines end, a log y axis with zero's own row, or the note alone when nothing is left.
fn draw_panel<'a, DB: DrawingBackend>(
    file: &Path,
    area: &DrawingArea<DB, Shift>,
    p: Panel<'a>,
    series: &[Series],
    axes: Axes,
) -> Result<(), PlotError> {
    let mut series = merge_identical(series.to_vec());
    order_by_data(&mut series);
    if series.is_empty() {
        return empty_panel(file, area, p.title, p.note.unwrap_or("nothing to draw"));
    }
    // A merged label too long for a legend line is shortened there and given in full in the
    // panel's note.
    let mut note = p.note.map(str::to_string);
    for s in &mut series {
        let names: Vec<String> = s.label.split(" = ").map(str::to_string).collect();
        if s.label.chars().count() > 44 && names.len() > 2 {
            let full = format!("equal: {}", s.label);
            note = Some(note.map_or(full.clone(), |n| format!("{n}; {full}")));
            s.label = format!("{} = {} (+{} equal)", names[0], names[1], names.len() - 2);
        }
    }
    let p = Panel {
        note: note.as_deref(),
        ..p
    };
    // A scatter gets room around its outermost points for their markers.
    let scatter = series.iter().all(|s| s.stroke == Stroke::Points) && !axes.x_log;
    let pad = |r: (f64, f64, f64, f64), y: bool| {
        let (dx, dy) = ((r.1 - r.0) * 0.05, if y { (r.3 - r.2) * 0.05 } else { 0.0 });
        (r.0 - dx, r.1 + dx, r.2 - dy, r.3 + dy)
    };
    if !axes.y_log {
        let mut ranges = panel_ranges(&series, axes.x_log, false, axes.y_range, axes.categorical);
        if scatter {
            ranges = pad(ranges, true);
        }
        ranges = legend_room(area, &series, axes, ranges);
        let tol = ((ranges.1 - ranges.0) * 0.015, (ranges.3 - ranges.2) * 0.015);
        mark_near_coinciding(&mut series, tol);
        return draw_line_panel(file, area, &p, &series, (axes.x_log, false), ranges);
    }
    let axis = LogAxis::fit(&series);
    for s in &mut series {
        for pt in &mut s.points {
            pt.1 = axis.map(pt.1);
        }
        s.err.clear();
    }
    let ticks = axis.ticks();
    let p = Panel {
        y_ticks: Some((&ticks, axis.brk())),
        ..p
    };
    let mut ranges = panel_ranges(
        &series,
        axes.x_log,
        false,
        Some(axis.range()),
        axes.categorical,
    );
    if scatter {
        ranges = pad(ranges, false);
    }
    ranges = legend_room(area, &series, axes, ranges);
    let tx = if scatter {
        (ranges.1 - ranges.0) * 0.015
    } else {
        0.0
    };
    mark_near_coinciding(&mut series, (tx, (ranges.3 - ranges.2) * 0.015));
    draw_line_panel(file, area, &p, &series, (axes.x_log, false), ranges)
}

/// The ranges of a panel of points over categories (every series drawn as points at the same
/// few x positions, so that no corner is free of them) raised at the top by the legend's
/// height, so that the legend sits above the points instead of on them; other panels' ranges
/// as they are.
fn legend_room<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    series: &[Series],
    axes: Axes,
    r: (f64, f64, f64, f64),
) -> (f64, f64, f64, f64) {
    let points = series
        .iter()
        .all(|s| matches!(s.stroke, Stroke::Points | Stroke::Ring));
    if !axes.categorical || !points {
        return r;
    }
    // The plotting height: the panel less its caption, x labels and margins.
    let plot_h = (area.dim_in_pixel().1 as f64 - 95.0).max(100.0);
    let legend_h = 18.0 * series.len() as f64 + 16.0;
    let f = (legend_h / plot_h).min(0.6);
    (r.0, r.1, r.2, r.3 + (r.3 - r.2) * f / (1.0 - f))
}

/// Draws one panel of a [`Fig::BarGrid`]: its caption wrapped above, then the bars with
/// their values.
fn draw_bar_grid_panel<DB: DrawingBackend>(
    file: &Path,
    area: &DrawingArea<DB, Shift>,
    bp: &BarPanelData,
) -> Result<(), PlotError> {
    let err = draw_err(file);
    let (w, _) = area.dim_in_pixel();
    let lines = wrap_lines(&bp.title, ((w as f64 - 20.0) / 7.6) as usize);
    let (head, body) = area.split_vertically(8 + 17 * lines.len() as u32);
    let style = TextStyle::from(("sans-serif", 14).into_font());
    for (k, line) in lines.iter().enumerate() {
        head.draw(&Text::new(
            line.clone(),
            (10, 6 + 17 * k as i32),
            style.clone(),
        ))
        .map_err(&err)?;
    }
    let p = Panel {
        reference: bp.reference,
        values: ValueLabels::All,
        ..Panel::new("", "", &bp.y_desc)
    };
    let top = bp
        .series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .chain(bp.reference)
        .fold(0.0, f64::max);
    // All zero: an axis from 0 to 1, so that the zero bar reads as zero.
    let top = if top > 0.0 { top } else { 1.0 };
    bar_panel(file, &body, &p, &bp.cats, &bp.series, 0f64..top * 1.15, 0.0)
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

/// The panels of a [`Fig::Panels`] that get a panel of their own, and a line saying what the
/// others do not show: panels without series are collapsed into that line ("names: note",
/// one entry per distinct note) unless no panel has series, when those with notes are drawn.
fn shown_panels(panels: &[PanelData]) -> (Vec<&PanelData>, Option<String>) {
    let with_series: Vec<&PanelData> = panels.iter().filter(|p| !p.series.is_empty()).collect();
    if with_series.is_empty() {
        return (panels.iter().filter(|p| p.note.is_some()).collect(), None);
    }
    let mut notes: Vec<(&str, Vec<&str>)> = Vec::new();
    for p in panels.iter().filter(|p| p.series.is_empty()) {
        if let Some(n) = &p.note {
            match notes.iter_mut().find(|(m, _)| m == n) {
                Some((_, names)) => names.push(&p.name),
                None => notes.push((n, vec![&p.name])),
            }
        }
    }
    let line = notes
        .iter()
        .map(|(n, names)| format!("{}: {n}", names.join(", ")))
        .collect::<Vec<_>>()
        .join("; ");
    (with_series, (!line.is_empty()).then_some(line))
}

impl Fig {
    /// Whether the figure has nothing to draw (a grid whose panels all lack series).
    pub(super) fn is_empty(&self) -> bool {
        match self {
            Fig::Panels { panels, .. } => panels.iter().all(|p| p.series.is_empty()),
            Fig::BarGrid { panels, .. } => panels.is_empty(),
            Fig::Bars { .. } => false,
        }
    }

    fn size(&self) -> (u32, u32) {
        match self {
            Fig::Bars { cats, .. } => ((260 + 110 * cats.len() as u32).clamp(640, 2400), 480),
            Fig::Panels { panels, .. } => {
                let (shown, line) = shown_panels(panels);
                let (r, c) = grid(shown.len());
                (
                    c as u32 * 520,
                    r as u32 * 380 + 40 + 20 * line.is_some() as u32,
                )
            }
            Fig::BarGrid { cols, panels, .. } => {
                let rows = panels.len().div_ceil(*cols).max(1) as u32;
                (*cols as u32 * 400, rows * 330 + 40)
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
                values,
            } => {
                let p = Panel {
                    legend: Some(SeriesLabelPosition::UpperRight),
                    reference: *reference,
                    values: *values,
                    ..Panel::new(title, "workload", y_desc)
                };
                let series = merge_identical(series.clone());
                draw_bars(file, root, &p, cats, &series, *y_log)?;
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
                let body = titled_wrapped(file, root, title, 22)?;
                let (panels, line) = shown_panels(panels);
                let body = match line {
                    Some(l) => titled_wrapped(file, &body, &format!("Not drawn: {l}"), 14)?,
                    None => body,
                };
                let areas = body.split_evenly(grid(panels.len()));
                for (area, pd) in areas.iter().zip(panels) {
                    let p = Panel {
                        legend: Some(legend.clone()),
                        x_cats: x_cats.as_deref(),
                        note: pd.note.as_deref(),
                        ..Panel::new(&pd.name, x_desc, pd.y_desc.as_deref().unwrap_or(y_desc))
                    };
                    let axes = Axes {
                        x_log: *x_log,
                        y_log: *y_log,
                        y_range: *y_range,
                        categorical: x_cats.is_some(),
                    };
                    draw_panel(file, area, p, &pd.series, axes)?;
                }
            }
            Fig::BarGrid {
                title,
                cols,
                panels,
            } => {
                let body = titled_wrapped(file, root, title, 22)?;
                let rows = panels.len().div_ceil(*cols).max(1);
                let areas = body.split_evenly((rows, *cols));
                for (area, bp) in areas.iter().zip(panels) {
                    draw_bar_grid_panel(file, area, bp)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plot::panel::Stroke;

    fn series(label: &str, ys: &[f64]) -> Series {
        Series {
            label: label.into(),
            color: plotters::style::RGBColor(0, 0, 0),
            points: ys.iter().enumerate().map(|(i, y)| (i as f64, *y)).collect(),
            err: Vec::new(),
            stroke: Stroke::Solid,
        }
    }

    #[test]
    fn a_log_axis_draws_zero_on_its_own_row_below_a_break() {
        let axis = LogAxis::fit(&[series("a", &[0.0, 100.0, 10_000.0])]);
        let zero = axis.map(0.0);
        assert!(zero < axis.map(100.0), "zero is below every positive value");
        let (lo, hi) = axis.range();
        assert!(lo < zero && hi > 4.0, "the range holds zero and 10k");
        let b = axis.brk().expect("a break");
        assert!(zero < b && b < 2.0);
        let ticks = axis.ticks();
        assert_eq!(ticks[0], (zero, "0".to_string()));
        assert!(ticks.iter().any(|t| t.1 == "100") && ticks.iter().any(|t| t.1 == "10k"));
    }

    #[test]
    fn a_log_axis_without_zero_has_no_break_and_two_labels_at_least() {
        let axis = LogAxis::fit(&[series("a", &[15_000.0, 18_000.0])]);
        assert_eq!(axis.brk(), None);
        let (lo, hi) = axis.range();
        assert!(hi - lo >= 1.0 - 1e-9, "at least a decade");
        assert!(lo <= 15_000f64.log10() && hi >= 18_000f64.log10());
        assert!(axis.ticks().len() >= 2, "{:?}", axis.ticks());
    }
}
