//! Figures from result files only: `gclab plot results/<name>` reads `experiment.toml`,
//! `runs.jsonl` and the sidecars, and writes SVG and PNG figures.
//!
//! Figures drawn from deterministic metrics go to `figures/` and are byte-identical on every
//! machine: the text is laid out with the DejaVu Sans font committed under `assets/fonts/`
//! (registered with plotters' `register_font`, never a system font). Wall-clock figures go to
//! `figures/wall/`: they differ from run to run by nature.

use crate::analysis::{self, Group, ResultSet};
use crate::metrics::{mean_ci95, NINES_LABELS};
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::{Path, PathBuf};

/// The font every figure uses (DejaVu Sans 2.37, Bitstream Vera licence, see
/// `assets/fonts/LICENSE-DejaVu.txt`).
pub static FONT: &[u8] = include_bytes!("../assets/fonts/DejaVuSans.ttf");

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

const COLORS: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// The colour of the i-th strategy (or workload) of an experiment.
fn color(i: usize) -> RGBColor {
    COLORS[i % COLORS.len()]
}

/// One line (or one set of bars) of a panel.
#[derive(Clone, Debug)]
struct Series {
    label: String,
    color: RGBColor,
    points: Vec<(f64, f64)>,
    /// Half-widths of 95% CIs, one per point.
    err: Vec<f64>,
    dashed: bool,
}

/// A compact number: 1.5k, 20M, 0.25.
pub fn compact(v: f64) -> String {
    let a = v.abs();
    let (x, suffix) = if a >= 1e12 {
        (v / 1e12, "T")
    } else if a >= 1e9 {
        (v / 1e9, "G")
    } else if a >= 1e6 {
        (v / 1e6, "M")
    } else if a >= 1e4 {
        (v / 1e3, "k")
    } else {
        (v, "")
    };
    let s = if x != 0.0 && x.abs() < 0.01 {
        format!("{x:.0e}")
    } else if x == x.round() || x.abs() >= 10.0 {
        format!("{x:.0}")
    } else if x.abs() >= 1.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    };
    format!("{s}{suffix}")
}

/// A byte unit that keeps the largest value readable.
fn byte_unit(max: f64) -> (f64, &'static str) {
    if max >= 1e9 {
        (1e9, "GB")
    } else if max >= 1e6 {
        (1e6, "MB")
    } else if max >= 1e3 {
        (1e3, "kB")
    } else {
        (1.0, "bytes")
    }
}

struct Panel<'a> {
    title: &'a str,
    x_desc: &'a str,
    y_desc: &'a str,
    legend: Option<SeriesLabelPosition>,
    /// Category labels for a categorical x axis (points at 0, 1, 2, ...).
    x_cats: Option<&'a [String]>,
    /// A dashed horizontal reference line (bars).
    reference: Option<f64>,
}

fn draw_err<E: std::fmt::Display>(file: &Path) -> impl Fn(E) -> PlotError + '_ {
    move |e| PlotError::Draw {
        file: file.to_path_buf(),
        message: e.to_string(),
    }
}

fn line_panel<DB, X, Y>(
    file: &Path,
    area: &DrawingArea<DB, Shift>,
    p: &Panel<'_>,
    xr: X,
    yr: Y,
    series: &[Series],
) -> Result<(), PlotError>
where
    DB: DrawingBackend,
    X: AsRangedCoord<Value = f64>,
    Y: AsRangedCoord<Value = f64>,
    X::CoordDescType: ValueFormatter<f64> + Ranged<ValueType = f64>,
    Y::CoordDescType: ValueFormatter<f64> + Ranged<ValueType = f64>,
{
    let err = draw_err(file);
    let mut chart = ChartBuilder::on(area)
        .caption(p.title, ("sans-serif", 18))
        .margin(10)
        .x_label_area_size(42)
        .y_label_area_size(62)
        .build_cartesian_2d(xr, yr)
        .map_err(&err)?;
    let cats = p.x_cats;
    let xfmt = |x: &f64| match cats {
        Some(c) => {
            let i = x.round();
            if (x - i).abs() < 1e-9 && i >= 0.0 && (i as usize) < c.len() {
                c[i as usize].clone()
            } else {
                String::new()
            }
        }
        None => compact(*x),
    };
    let mut mesh = chart.configure_mesh();
    mesh.x_desc(p.x_desc)
        .y_desc(p.y_desc)
        .label_style(("sans-serif", 13))
        .axis_desc_style(("sans-serif", 14))
        .x_label_formatter(&xfmt)
        .y_label_formatter(&|y: &f64| compact(*y));
    if let Some(c) = cats {
        mesh.x_labels(c.len());
    } else {
        mesh.x_labels(6);
    }
    mesh.y_labels(6).draw().map_err(&err)?;
    for s in series {
        let style = ShapeStyle::from(&s.color).stroke_width(2);
        let anno = if s.dashed {
            chart
                .draw_series(DashedLineSeries::new(s.points.iter().copied(), 6, 4, style))
                .map_err(&err)?
        } else {
            chart
                .draw_series(LineSeries::new(s.points.iter().copied(), style))
                .map_err(&err)?
        };
        let c = s.color;
        anno.label(s.label.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2)));
        if s.points.len() <= 40 {
            chart
                .draw_series(
                    s.points
                        .iter()
                        .map(|&(x, y)| Circle::new((x, y), 3, s.color.filled())),
                )
                .map_err(&err)?;
        }
        if !s.err.is_empty() {
            chart
                .draw_series(s.points.iter().zip(&s.err).filter(|(_, e)| **e > 0.0).map(
                    |(&(x, y), &e)| {
                        ErrorBar::new_vertical(x, y - e, y, y + e, s.color.stroke_width(1), 6)
                    },
                ))
                .map_err(&err)?;
        }
    }
    if let Some(pos) = p.legend.clone() {
        let pos = emptiest_corner(&chart, series, pos);
        chart
            .configure_series_labels()
            .position(pos)
            .label_font(("sans-serif", 12))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .draw()
            .map_err(&err)?;
    }
    Ok(())
}

/// The legend position (of the four corners and the preferred one) whose box covers the fewest
/// samples of the drawn lines, so the legend hides as little data as possible.
fn emptiest_corner<DB, X, Y>(
    chart: &ChartContext<'_, DB, Cartesian2d<X, Y>>,
    series: &[Series],
    preferred: SeriesLabelPosition,
) -> SeriesLabelPosition
where
    DB: DrawingBackend,
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    let (xr, yr) = chart.plotting_area().get_pixel_range();
    let w = 190;
    let h = 18 * series.len() as i32 + 12;
    let mut samples = Vec::new();
    for s in series {
        let px: Vec<(i32, i32)> = s.points.iter().map(|p| chart.backend_coord(p)).collect();
        for pair in px.windows(2) {
            for k in 0..=16 {
                let t = k as f64 / 16.0;
                samples.push((
                    pair[0].0 + ((pair[1].0 - pair[0].0) as f64 * t) as i32,
                    pair[0].1 + ((pair[1].1 - pair[0].1) as f64 * t) as i32,
                ));
            }
        }
        samples.extend(px);
    }
    let boxes = |pos: &SeriesLabelPosition| -> (i32, i32) {
        let (l, r, t, b) = (xr.start, xr.end, yr.start, yr.end);
        let mid = (t + b) / 2;
        match pos {
            SeriesLabelPosition::UpperLeft => (l, t),
            SeriesLabelPosition::UpperRight => (r - w, t),
            SeriesLabelPosition::LowerLeft => (l, b - h),
            SeriesLabelPosition::LowerRight => (r - w, b - h),
            SeriesLabelPosition::MiddleLeft => (l, mid - h / 2),
            SeriesLabelPosition::MiddleRight => (r - w, mid - h / 2),
            _ => (r - w, t),
        }
    };
    let cost = |pos: &SeriesLabelPosition| {
        let (x0, y0) = boxes(pos);
        samples
            .iter()
            .filter(|(x, y)| *x >= x0 && *x <= x0 + w && *y >= y0 && *y <= y0 + h)
            .count()
    };
    let mut best = preferred.clone();
    let mut best_cost = cost(&preferred);
    for pos in [
        SeriesLabelPosition::UpperRight,
        SeriesLabelPosition::UpperLeft,
        SeriesLabelPosition::LowerRight,
        SeriesLabelPosition::LowerLeft,
        SeriesLabelPosition::MiddleLeft,
        SeriesLabelPosition::MiddleRight,
    ] {
        let c = cost(&pos);
        if c < best_cost {
            best_cost = c;
            best = pos;
        }
    }
    best
}

/// Grouped bars: one group per category, one bar per series; `points[i].1` is the bar height
/// for category `i`.
fn bar_panel<DB, Y>(
    file: &Path,
    area: &DrawingArea<DB, Shift>,
    p: &Panel<'_>,
    cats: &[String],
    series: &[Series],
    yr: Y,
    base: f64,
) -> Result<(), PlotError>
where
    DB: DrawingBackend,
    Y: AsRangedCoord<Value = f64>,
    Y::CoordDescType: ValueFormatter<f64> + Ranged<ValueType = f64>,
{
    let err = draw_err(file);
    let n = cats.len().max(1) as f64;
    // Category names are wrapped onto up to three lines to fit their group's width.
    let group_px = (area.dim_in_pixel().0 as f64 - 90.0) / n;
    let max_chars = ((group_px / 7.5).floor() as usize).max(4);
    let wrapped: Vec<Vec<String>> = cats.iter().map(|c| wrap(c, max_chars)).collect();
    let lines = wrapped.iter().map(|w| w.len()).max().unwrap_or(1) as u32;
    let mut chart = ChartBuilder::on(area)
        .caption(p.title, ("sans-serif", 18))
        .margin(10)
        .x_label_area_size(28 + 15 * lines)
        .y_label_area_size(62)
        .build_cartesian_2d(0f64..n, yr)
        .map_err(&err)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .x_desc(p.x_desc)
        .y_desc(p.y_desc)
        .label_style(("sans-serif", 13))
        .axis_desc_style(("sans-serif", 14))
        .y_label_formatter(&|y: &f64| compact(*y))
        .y_labels(6)
        .draw()
        .map_err(&err)?;
    // Category names under each group, drawn on the area in pixels (plotters' numeric axes
    // cannot place a label at each group's centre).
    let (bx, by) = area.get_base_pixel();
    let label_style =
        TextStyle::from(("sans-serif", 13).into_font()).pos(Pos::new(HPos::Center, VPos::Top));
    for (i, w) in wrapped.iter().enumerate() {
        let (px, py) = chart.backend_coord(&(i as f64 + 0.5, base));
        for (k, line) in w.iter().enumerate() {
            area.draw(&Text::new(
                line.clone(),
                (px - bx, py - by + 6 + 15 * k as i32),
                label_style.clone(),
            ))
            .map_err(&err)?;
        }
    }
    let k = series.len().max(1) as f64;
    let width = 0.8 / k;
    for (j, s) in series.iter().enumerate() {
        let c = s.color;
        let bars = s.points.iter().map(|&(x, y)| {
            let x0 = x + 0.1 + j as f64 * width;
            Rectangle::new([(x0, base), (x0 + width * 0.92, y.max(base))], c.filled())
        });
        chart
            .draw_series(bars)
            .map_err(&err)?
            .label(s.label.clone())
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], c.filled()));
        chart
            .draw_series(s.points.iter().zip(&s.err).filter(|(_, e)| **e > 0.0).map(
                |(&(x, y), &e)| {
                    let xc = x + 0.1 + j as f64 * width + width * 0.46;
                    ErrorBar::new_vertical(xc, y - e, y, y + e, BLACK.stroke_width(1), 4)
                },
            ))
            .map_err(&err)?;
    }
    if let Some(r) = p.reference {
        chart
            .draw_series(DashedLineSeries::new(
                [(0.0, r), (n, r)],
                6,
                4,
                BLACK.mix(0.6).stroke_width(1),
            ))
            .map_err(&err)?;
    }
    if let Some(pos) = p.legend.clone() {
        chart
            .configure_series_labels()
            .position(pos)
            .label_font(("sans-serif", 12))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .draw()
            .map_err(&err)?;
    }
    Ok(())
}

/// Splits a label into lines of at most `width` characters at spaces (at most three lines).
fn wrap(label: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for word in label.split(' ') {
        match lines.last_mut() {
            Some(l) if l.chars().count() + 1 + word.chars().count() <= width => {
                l.push(' ');
                l.push_str(word);
            }
            _ => lines.push(word.to_string()),
        }
    }
    if lines.len() > 3 {
        let rest = lines.split_off(2).join(" ");
        lines.push(rest);
    }
    lines
}

/// What a figure shows; drawn once per backend (SVG, PNG).
enum Fig<'a> {
    Bars {
        title: String,
        y_desc: String,
        cats: Vec<String>,
        series: Vec<Series>,
        reference: Option<f64>,
        /// Log y axis (bars start at the bottom of the axis).
        y_log: bool,
    },
    /// One line panel per workload.
    Panels {
        title: String,
        x_desc: String,
        y_desc: String,
        x_log: bool,
        y_log: bool,
        y_range: Option<(f64, f64)>,
        x_cats: Option<Vec<String>>,
        legend: SeriesLabelPosition,
        panels: Vec<(String, Vec<Series>)>,
        _p: std::marker::PhantomData<&'a ()>,
    },
}

fn grid(n: usize) -> (usize, usize) {
    let cols = match n {
        0 | 1 => 1,
        2 | 4 => 2,
        _ => 3,
    };
    (n.div_ceil(cols).max(1), cols)
}

impl Fig<'_> {
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
                let tops = series.iter().flat_map(|s| {
                    s.points
                        .iter()
                        .zip(s.err.iter().chain(std::iter::repeat(&0.0)))
                        .map(|(p, e)| p.1 + e)
                });
                let y_max = tops.fold(reference.unwrap_or(0.0), f64::max).max(1e-9);
                let y_min_pos = series
                    .iter()
                    .flat_map(|s| s.points.iter().map(|p| p.1))
                    .filter(|y| *y > 0.0)
                    .fold(f64::INFINITY, f64::min);
                let p = Panel {
                    title,
                    x_desc: "workload",
                    y_desc,
                    legend: Some(SeriesLabelPosition::UpperRight),
                    x_cats: None,
                    reference: *reference,
                };
                // Headroom above the bars for the legend in the upper right.
                let head = 1.1 + 0.06 * series.len() as f64;
                if *y_log && y_min_pos.is_finite() {
                    let lo = y_min_pos / 2.0;
                    let hi = y_max * (y_max / lo).powf(0.08 * series.len() as f64 + 0.1);
                    bar_panel(file, root, &p, cats, series, (lo..hi).log_scale(), lo)?;
                } else {
                    bar_panel(file, root, &p, cats, series, 0f64..y_max * head, 0.0)?;
                }
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
                ..
            } => {
                let body = root.titled(title, ("sans-serif", 22)).map_err(&err)?;
                let panels: Vec<&(String, Vec<Series>)> =
                    panels.iter().filter(|(_, s)| !s.is_empty()).collect();
                let areas = body.split_evenly(grid(panels.len()));
                for (area, (name, series)) in areas.iter().zip(panels) {
                    let pts = || series.iter().flat_map(|s| s.points.iter());
                    let fold = |f: fn(f64, f64) -> f64, init: f64, sel: fn(&(f64, f64)) -> f64| {
                        pts().map(sel).fold(init, f)
                    };
                    let mut x0 = fold(f64::min, f64::INFINITY, |p| p.0);
                    let mut x1 = fold(f64::max, f64::NEG_INFINITY, |p| p.0);
                    let (mut y0, mut y1) = match y_range {
                        Some(r) => *r,
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
                    if *y_log {
                        y0 = y0.max(1.0) / 1.5;
                        y1 = (y1 * 1.5).max(y0 * 10.0);
                    } else if y_range.is_none() {
                        y0 = y0.min(0.0);
                        if y1 <= y0 {
                            y1 = y0 + 1.0;
                        }
                    }
                    if *x_log {
                        x0 = x0.max(1.0);
                        x1 = x1.max(x0 * 10.0);
                    } else if x_cats.is_some() {
                        x0 = -0.3;
                        x1 += 0.3;
                    } else if x1 <= x0 {
                        x1 = x0 + 1.0;
                    }
                    let p = Panel {
                        title: name,
                        x_desc,
                        y_desc,
                        legend: Some(legend.clone()),
                        x_cats: x_cats.as_deref(),
                        reference: None,
                    };
                    match (*x_log, *y_log) {
                        (false, false) => line_panel(file, area, &p, x0..x1, y0..y1, series)?,
                        (true, false) => {
                            line_panel(file, area, &p, (x0..x1).log_scale(), y0..y1, series)?
                        }
                        (false, true) => {
                            line_panel(file, area, &p, x0..x1, (y0..y1).log_scale(), series)?
                        }
                        (true, true) => line_panel(
                            file,
                            area,
                            &p,
                            (x0..x1).log_scale(),
                            (y0..y1).log_scale(),
                            series,
                        )?,
                    }
                }
            }
        }
        root.present().map_err(&err)?;
        Ok(())
    }

    fn render(&self, dir: &Path, stem: &str, png: bool) -> Result<Vec<PathBuf>, PlotError> {
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

fn strategy_series<F>(rs: &ResultSet, wl: &str, mut f: F) -> Vec<Series>
where
    F: FnMut(&Group) -> Option<(Vec<(f64, f64)>, Vec<f64>)>,
{
    let mut out = Vec::new();
    for (i, s) in rs.strategies().iter().enumerate() {
        if let Some(g) = rs.group(wl, s) {
            if let Some((points, err)) = f(g) {
                out.push(Series {
                    label: s.clone(),
                    color: color(i),
                    points,
                    err,
                    dashed: false,
                });
            }
        }
    }
    out
}

/// Bars of a per-run value: one bar per strategy, grouped by workload, mean ± 95% CI.
fn bars_of(rs: &ResultSet, value: impl Fn(&analysis::Run) -> Option<f64>) -> Vec<Series> {
    let wls = rs.workloads();
    rs.strategies()
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let mut points = Vec::new();
            let mut err = Vec::new();
            for (j, w) in wls.iter().enumerate() {
                let xs: Vec<f64> = rs
                    .group(w, s)
                    .map(|g| g.runs.iter().filter_map(&value).collect())
                    .unwrap_or_default();
                let (m, h) = mean_ci95(&xs);
                points.push((j as f64, if xs.is_empty() { 0.0 } else { m }));
                err.push(h);
            }
            Series {
                label: s.clone(),
                color: color(i),
                points,
                err,
                dashed: false,
            }
        })
        .collect()
}

/// Draws every figure of a results directory; returns the files written.
pub fn plot_dir(
    dir: &Path,
    png: bool,
) -> Result<Vec<PathBuf>, Box<dyn std::error::Error + Send + Sync>> {
    register_font()?;
    let rs = ResultSet::load(dir)?;
    let figs = dir.join("figures");
    let wall = figs.join("wall");
    let skip = &rs.exp.file.plot.skip;
    let mut written = Vec::new();
    let mut emit = |d: &Path, stem: &str, fig: Fig<'_>| -> Result<(), PlotError> {
        let empty =
            matches!(&fig, Fig::Panels { panels, .. } if panels.iter().all(|(_, s)| s.is_empty()));
        if !empty && !skip.iter().any(|s| s == stem) {
            written.extend(fig.render(d, stem, png)?);
        }
        Ok(())
    };
    let wls = rs.workloads();

    // Peak live memory (deterministic).
    let max_peak = rs
        .runs()
        .map(|r| r.peak_live_bytes as f64)
        .fold(0.0, f64::max);
    let (mut scale, mut unit) = byte_unit(max_peak);
    let min_peak = rs
        .runs()
        .map(|r| r.peak_live_bytes as f64)
        .filter(|b| *b > 0.0)
        .fold(f64::INFINITY, f64::min);
    let peak_ratio = max_peak / min_peak;
    if peak_ratio > 100.0 {
        // A log axis spans several units: label it in bytes with k/M/G suffixes.
        (scale, unit) = (1.0, "bytes");
    }
    emit(
        &figs,
        "peak_memory",
        Fig::Bars {
            title: "Peak live memory (simulated heap, exact)".into(),
            y_desc: if peak_ratio > 100.0 {
                format!("peak live {unit} (log)")
            } else {
                format!("peak live {unit}")
            },
            cats: wls.clone(),
            series: bars_of(&rs, |r| Some(r.peak_live_bytes as f64 / scale)),
            reference: None,
            y_log: peak_ratio > 100.0,
        },
    )?;

    // LBO in work units (deterministic) and wall time.
    let lbo = analysis::lbo(&rs);
    let lbo_series = |wall: bool| -> Vec<Series> {
        rs.strategies()
            .iter()
            .enumerate()
            .map(|(i, s)| Series {
                label: s.clone(),
                color: color(i),
                points: wls
                    .iter()
                    .enumerate()
                    .map(|(j, w)| {
                        let v = lbo
                            .iter()
                            .find(|l| &l.workload == w && &l.strategy == s)
                            .map_or(0.0, |l| if wall { l.wall } else { l.work });
                        (j as f64, v)
                    })
                    .collect(),
                err: Vec::new(),
                dashed: false,
            })
            .collect()
    };
    emit(
        &figs,
        "lbo",
        Fig::Bars {
            title: "Lower-bound overhead, deterministic work (total / min distilled)".into(),
            y_desc: "total / MDC (1 = no GC overhead)".into(),
            cats: wls.clone(),
            series: lbo_series(false),
            reference: Some(1.0),
            y_log: false,
        },
    )?;

    // Pause percentiles on a nines axis, in work units.
    let nines: Vec<String> = NINES_LABELS.iter().map(|s| s.to_string()).collect();
    let pause_panels = |wall: bool| -> Vec<(String, Vec<Series>)> {
        wls.iter()
            .map(|w| {
                let series = strategy_series(&rs, w, |g| {
                    let per_run: Vec<[u64; 5]> = g
                        .runs
                        .iter()
                        .filter_map(|r| {
                            let p = if wall {
                                r.pauses_ns.as_ref()?
                            } else {
                                &r.pauses_work
                            };
                            (p.count > 0).then(|| p.nines())
                        })
                        .collect();
                    if per_run.is_empty() {
                        return None;
                    }
                    let mut pts = Vec::new();
                    let err = Vec::new();
                    for k in 0..5 {
                        let xs: Vec<f64> = per_run
                            .iter()
                            .map(|n| n[k] as f64 / if wall { 1e3 } else { 1.0 })
                            .collect();
                        // Means over replicates; no CI bars (a lower bound below zero has no
                        // place on the log axis, and they hid the lines).
                        let (m, _) = mean_ci95(&xs);
                        pts.push((k as f64, m.max(1e-3)));
                    }
                    Some((pts, err))
                });
                (w.clone(), series)
            })
            .collect()
    };
    emit(
        &figs,
        "pauses",
        Fig::Panels {
            title: "Pause-length percentiles (work units: objects visited + references traversed)"
                .into(),
            x_desc: "percentile".into(),
            y_desc: "pause (work units, log)".into(),
            x_log: false,
            y_log: true,
            y_range: None,
            x_cats: Some(nines.clone()),
            legend: SeriesLabelPosition::LowerRight,
            panels: pause_panels(false),
            _p: Default::default(),
        },
    )?;

    // MMU on the work clock (first replicate).
    let mmu_panels = |wall: bool| -> Vec<(String, Vec<Series>)> {
        wls.iter()
            .map(|w| {
                let series = strategy_series(&rs, w, |g| {
                    let r = g.runs.first()?;
                    let curve = if wall {
                        r.mmu_wall.as_ref()?
                    } else {
                        &r.mmu_work
                    };
                    let pts: Vec<(f64, f64)> = curve
                        .iter()
                        .map(|&(x, y)| (x as f64 / if wall { 1e3 } else { 1.0 }, y))
                        .collect();
                    (!pts.is_empty()).then_some((pts, Vec::new()))
                });
                (w.clone(), series)
            })
            .collect()
    };
    emit(
        &figs,
        "mmu",
        Fig::Panels {
            title: "Minimum mutator utilisation (work clock: 1 unit per op + collector work)"
                .into(),
            x_desc: "window (work units, log)".into(),
            y_desc: "MMU".into(),
            x_log: true,
            y_log: false,
            y_range: Some((0.0, 1.05)),
            x_cats: None,
            legend: SeriesLabelPosition::MiddleLeft,
            panels: mmu_panels(false),
            _p: Default::default(),
        },
    )?;

    // Heap timelines and garbage retained (first replicate, from sidecars).
    let timelines = rs.timelines()?;
    if !timelines.is_empty() {
        let maxb = timelines
            .iter()
            .flat_map(|(_, _, t)| t.iter().map(|s| s[1] as f64))
            .fold(0.0, f64::max);
        let (scale, unit) = byte_unit(maxb);
        let panels = |col: usize| -> Vec<(String, Vec<Series>)> {
            wls.iter()
                .map(|w| {
                    let series = rs
                        .strategies()
                        .iter()
                        .enumerate()
                        .filter_map(|(i, s)| {
                            let (_, _, t) =
                                timelines.iter().find(|(tw, ts, _)| tw == w && ts == s)?;
                            let pts: Vec<(f64, f64)> = t
                                .iter()
                                .filter(|x| x[col] >= 0)
                                .map(|x| (x[0] as f64, x[col] as f64 / scale))
                                .collect();
                            (!pts.is_empty()).then(|| Series {
                                label: s.clone(),
                                color: color(i),
                                points: pts,
                                err: Vec::new(),
                                dashed: false,
                            })
                        })
                        .collect();
                    (w.clone(), series)
                })
                .collect()
        };
        emit(
            &figs,
            "timeline",
            Fig::Panels {
                title: "Heap timeline: live memory (allocated, not yet freed)".into(),
                x_desc: "ops executed".into(),
                y_desc: format!("live {unit}"),
                x_log: false,
                y_log: false,
                y_range: None,
                x_cats: None,
                legend: SeriesLabelPosition::UpperLeft,
                panels: panels(1),
                _p: Default::default(),
            },
        )?;
        emit(
            &figs,
            "garbage",
            Fig::Panels {
                title: "Garbage retained: unreachable memory not yet freed (oracle)".into(),
                x_desc: "ops executed".into(),
                y_desc: format!("garbage {unit}"),
                x_log: false,
                y_log: false,
                y_range: None,
                x_cats: None,
                legend: SeriesLabelPosition::UpperLeft,
                panels: panels(3),
                _p: Default::default(),
            },
        )?;
    }

    // Threshold trade-off.
    if let Some(param) = &rs.exp.file.plot.tradeoff_param {
        let t = analysis::tradeoff(&rs, param);
        if !t.is_empty() {
            let metric_panel = |title: &str, k: usize, div: f64| -> (String, Vec<Series>) {
                let series = wls
                    .iter()
                    .enumerate()
                    .filter_map(|(i, w)| {
                        let pts: Vec<(f64, f64)> = t
                            .iter()
                            .filter(|p| &p.workload == w)
                            // A zero (no collection ran) has no place on a log axis.
                            .filter(|p| p.y[k] > 0.0)
                            .map(|p| (p.x, p.y[k] / div))
                            .collect();
                        (!pts.is_empty()).then(|| Series {
                            label: w.clone(),
                            color: color(i),
                            points: pts,
                            err: Vec::new(),
                            dashed: false,
                        })
                    })
                    .collect();
                (title.to_string(), series)
            };
            emit(
                &figs,
                "tradeoff",
                Fig::Panels {
                    title: format!(
                        "Threshold trade-off: {param} (log x) against collector work, max pause, peak memory"
                    ),
                    x_desc: format!("{param} (log)"),
                    y_desc: "log scale; unit in the panel title".into(),
                    x_log: true,
                    y_log: true,
                    y_range: None,
                    x_cats: None,
                    legend: SeriesLabelPosition::LowerRight,
                    panels: vec![
                        metric_panel("collector work (work units; none: no collection)", 0, 1.0),
                        metric_panel("max pause (work units)", 1, 1.0),
                        metric_panel("peak live memory (kB)", 2, 1e3),
                    ],
                    _p: Default::default(),
                },
            )?;
        }
    }

    // Wall-clock figures.
    emit(
        &wall,
        "throughput",
        Fig::Bars {
            title: "Throughput (wall clock), mean and 95% CI over replicates".into(),
            y_desc: "million ops per second".into(),
            cats: wls.clone(),
            series: bars_of(&rs, |r| r.ops_per_sec.map(|x| x / 1e6)),
            reference: None,
            y_log: false,
        },
    )?;
    emit(
        &wall,
        "lbo_wall",
        Fig::Bars {
            title: "Lower-bound overhead, wall time (total / min distilled)".into(),
            y_desc: "total / MDC (1 = no GC overhead)".into(),
            cats: wls.clone(),
            series: lbo_series(true),
            reference: Some(1.0),
            y_log: false,
        },
    )?;
    emit(
        &wall,
        "pauses_wall",
        Fig::Panels {
            title: "Pause-length percentiles (wall clock)".into(),
            x_desc: "percentile".into(),
            y_desc: "pause (µs, log)".into(),
            x_log: false,
            y_log: true,
            y_range: None,
            x_cats: Some(nines),
            legend: SeriesLabelPosition::LowerRight,
            panels: pause_panels(true),
            _p: Default::default(),
        },
    )?;
    emit(
        &wall,
        "mmu_wall",
        Fig::Panels {
            title: "Minimum mutator utilisation (wall clock)".into(),
            x_desc: "window (µs, log)".into(),
            y_desc: "MMU".into(),
            x_log: true,
            y_log: false,
            y_range: Some((0.0, 1.05)),
            x_cats: None,
            legend: SeriesLabelPosition::MiddleLeft,
            panels: mmu_panels(true),
            _p: Default::default(),
        },
    )?;
    Ok(written)
}
