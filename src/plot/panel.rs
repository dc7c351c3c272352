//! The drawing primitives of every figure: colours, number formats, a line panel and a panel
//! of grouped bars, drawn with plotters on any backend.

use super::PlotError;
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::Path;

/// Tableau's ten colours, then ten darker ones (from its `tab20b`), so that up to twenty series
/// of one figure have colours of their own.
const COLORS: [RGBColor; 20] = [
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
    RGBColor(57, 59, 121),
    RGBColor(99, 121, 57),
    RGBColor(140, 109, 49),
    RGBColor(132, 60, 57),
    RGBColor(123, 65, 115),
    RGBColor(0, 0, 0),
    RGBColor(107, 110, 207),
    RGBColor(181, 207, 107),
    RGBColor(231, 186, 82),
    RGBColor(214, 97, 107),
];

/// The colour of the i-th strategy (or workload) of an experiment.
pub(super) fn color(i: usize) -> RGBColor {
    COLORS[i % COLORS.len()]
}

/// How a series of a line panel is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Stroke {
    /// A solid line through the points (with a marker at each when there are few).
    Solid,
    /// A dashed line with hollow markers: a series that runs on (or within a few pixels of)
    /// one drawn before it, so that both stay visible.
    Dashed,
    /// Markers only (a scatter: one point per strategy).
    Points,
    /// A larger hollow ring: a point at (or within a few pixels of) one drawn before it.
    Ring,
}

/// One line (or one set of bars) of a panel.
#[derive(Clone, Debug)]
pub(super) struct Series {
    /// Legend label.
    pub(super) label: String,
    /// Colour.
    pub(super) color: RGBColor,
    /// Points, in drawing order.
    pub(super) points: Vec<(f64, f64)>,
    /// Half-widths of 95% CIs, one per point.
    pub(super) err: Vec<f64>,
    /// How the series is drawn.
    pub(super) stroke: Stroke,
}

/// Series whose points (and intervals) are identical merged into one, labelled with every
/// merged label joined by " = " and drawn in the first one's colour: a reader sees that they
/// coincide instead of one line hiding the others. Order is kept (by first occurrence).
pub(super) fn merge_identical(series: Vec<Series>) -> Vec<Series> {
    let mut out: Vec<Series> = Vec::with_capacity(series.len());
    for s in series {
        match out
            .iter_mut()
            .find(|o| o.points == s.points && o.err == s.err && o.stroke == s.stroke)
        {
            Some(o) => {
                o.label.push_str(" = ");
                o.label.push_str(&s.label);
            }
            None => out.push(s),
        }
    }
    out
}

/// Marks every series that runs within `(tx, ty)` (in the axes' own units) of a series before
/// it at every point, so that it does not hide under it: a solid line becomes
/// [`Stroke::Dashed`], a point [`Stroke::Ring`].
pub(super) fn mark_near_coinciding(series: &mut [Series], (tx, ty): (f64, f64)) {
    for i in 1..series.len() {
        let near = series[..i].iter().any(|o| {
            o.points.len() == series[i].points.len()
                && o.points
                    .iter()
                    .zip(&series[i].points)
                    .all(|(a, b)| (a.0 - b.0).abs() <= tx && (a.1 - b.1).abs() <= ty)
        });
        if near {
            series[i].stroke = match series[i].stroke {
                Stroke::Solid => Stroke::Dashed,
                Stroke::Points => Stroke::Ring,
                other => other,
            };
        }
    }
}

/// Sorts series (stably) by their last point's y, highest first, so that a legend lists them
/// in the order the lines end from top to bottom.
pub(super) fn order_by_data(series: &mut [Series]) {
    let last = |s: &Series| s.points.last().map_or(f64::NEG_INFINITY, |p| p.1);
    series.sort_by(|a, b| last(b).total_cmp(&last(a)));
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
pub(super) fn byte_unit(max: f64) -> (f64, &'static str) {
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

/// The titles, axes and legend of one panel.
pub(super) struct Panel<'a> {
    /// Caption.
    pub(super) title: &'a str,
    /// X axis description.
    pub(super) x_desc: &'a str,
    /// Y axis description.
    pub(super) y_desc: &'a str,
    /// Where the legend goes, if drawn.
    pub(super) legend: Option<SeriesLabelPosition>,
    /// Category labels for a categorical x axis (points at 0, 1, 2, ...).
    pub(super) x_cats: Option<&'a [String]>,
    /// A dashed horizontal reference line (bars).
    pub(super) reference: Option<f64>,
    /// A remark drawn in the panel (what it does not show, and why).
    pub(super) note: Option<&'a str>,
    /// Y axis ticks to draw instead of plotters' own, `(position, label)` (a transformed log
    /// axis, see `fig::LogAxis`), and the position of a break in the axis to mark, if any.
    pub(super) y_ticks: Option<YTicks<'a>>,
    /// Which bars carry their value above them.
    pub(super) values: ValueLabels,
}

/// Ticks of a y axis drawn by gclab, `(position, label)`, and where the axis is broken.
pub(super) type YTicks<'a> = (&'a [(f64, String)], Option<f64>);

/// Which bars of a bar panel carry their value written above them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ValueLabels {
    /// Only bars too short to read against the axis (under 3% of it), zero included, where the
    /// value fits over the bar.
    Short,
    /// Every bar.
    All,
}

impl<'a> Panel<'a> {
    /// A panel with a title and axis descriptions and nothing else.
    pub(super) fn new(title: &'a str, x_desc: &'a str, y_desc: &'a str) -> Self {
        Panel {
            title,
            x_desc,
            y_desc,
            legend: None,
            x_cats: None,
            reference: None,
            note: None,
            y_ticks: None,
            values: ValueLabels::Short,
        }
    }
}

/// Draws `note` in small grey text in the upper left of `area`'s plotting region at pixel
/// `(x, y)` of `area`, wrapped to `chars` characters a line.
fn note_text<DB: DrawingBackend>(
    file: &Path,
    area: &DrawingArea<DB, Shift>,
    note: &str,
    (x, y): (i32, i32),
    chars: usize,
) -> Result<(), PlotError> {
    let style = TextStyle::from(("sans-serif", 12).into_font())
        .color(&RGBColor(90, 90, 90))
        .pos(Pos::new(HPos::Left, VPos::Top));
    for (k, line) in wrap_lines(note, chars).iter().enumerate() {
        area.draw(&Text::new(
            line.clone(),
            (x, y + 15 * k as i32),
            style.clone(),
        ))
        .map_err(draw_err(file))?;
    }
    Ok(())
}

/// Draws `title` centred at the top of `area` in `size`-pixel text, wrapped onto as many lines
/// as the width needs, and returns the area below it.
pub(super) fn titled_wrapped<DB: DrawingBackend>(
    file: &Path,
    area: &DrawingArea<DB, Shift>,
    title: &str,
    size: u32,
) -> Result<DrawingArea<DB, Shift>, PlotError> {
    let err = draw_err(file);
    let (w, _) = area.dim_in_pixel();
    // DejaVu Sans averages under 0.55 em a character.
    let chars = ((w as f64 - 40.0) / (size as f64 * 0.55)).max(10.0) as usize;
    let lines = wrap_lines(title, chars);
    let line_h = size as i32 + 4;
    let (head, body) = area.split_vertically(line_h as u32 * lines.len() as u32 + 6);
    let style =
        TextStyle::from(("sans-serif", size).into_font()).pos(Pos::new(HPos::Center, VPos::Top));
    for (k, line) in lines.iter().enumerate() {
        head.draw(&Text::new(
            line.clone(),
            (w as i32 / 2, 4 + line_h * k as i32),
            style.clone(),
        ))
        .map_err(&err)?;
    }
    Ok(body)
}

/// A panel with nothing to draw: its caption and, in the middle, why.
pub(super) fn empty_panel<DB: DrawingBackend>(
    file: &Path,
    area: &DrawingArea<DB, Shift>,
    title: &str,
    note: &str,
) -> Result<(), PlotError> {
    let err = draw_err(file);
    let body = area.titled(title, ("sans-serif", 18)).map_err(&err)?;
    let (w, h) = body.dim_in_pixel();
    body.draw(&Rectangle::new(
        [(20, 10), (w as i32 - 20, h as i32 - 20)],
        BLACK.mix(0.2).stroke_width(1),
    ))
    .map_err(&err)?;
    note_text(
        file,
        &body,
        note,
        (40, h as i32 / 2 - 20),
        ((w as f64 - 80.0) / 6.8) as usize,
    )
}

/// Maps a plotters error into a [`PlotError`] about `file`.
pub(super) fn draw_err<E: std::fmt::Display>(file: &Path) -> impl Fn(E) -> PlotError + '_ {
    move |e| PlotError::Draw {
        file: file.to_path_buf(),
        message: e.to_string(),
    }
}

/// A panel of lines (with points and error bars) on the given axes.
pub(super) fn line_panel<DB, X, Y>(
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
    // A note goes in a strip of its own between the caption and the plot.
    let note_chars = ((area.dim_in_pixel().0 as f64 - 90.0) / 6.8) as usize;
    let note_lines = p.note.map(|n| wrap_lines(n, note_chars));
    let note_h = note_lines.as_ref().map_or(0, |l| 15 * l.len() as u32 + 4);
    let titled = area.titled(p.title, ("sans-serif", 18)).map_err(&err)?;
    let area = &titled;
    let mut chart = ChartBuilder::on(area)
        .margin(10)
        .margin_top(6 + note_h)
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
    if p.y_ticks.is_some() {
        // The ticks are drawn below, at the positions given.
        mesh.y_labels(0).disable_y_mesh();
    } else {
        mesh.y_labels(6);
    }
    mesh.draw().map_err(&err)?;
    if let Some((ticks, brk)) = p.y_ticks {
        y_ticks(file, area, &chart, ticks, brk)?;
    }
    for s in series {
        // A long zig-zag drawn 2 pixels wide gets miter spikes at its sharp turns in the
        // bitmap backend: long series are drawn 1 pixel wide.
        let width = if s.points.len() > 300 { 1 } else { 2 };
        let style = ShapeStyle::from(&s.color).stroke_width(width);
        let c = s.color;
        let anno = match s.stroke {
            Stroke::Solid => chart
                .draw_series(LineSeries::new(s.points.iter().copied(), style))
                .map_err(&err)?,
            Stroke::Dashed => chart
                .draw_series(DashedLineSeries::new(s.points.iter().copied(), 7, 5, style))
                .map_err(&err)?,
            Stroke::Points => chart
                .draw_series(
                    s.points
                        .iter()
                        .map(|&(x, y)| Circle::new((x, y), 6, c.filled())),
                )
                .map_err(&err)?,
            Stroke::Ring => chart
                .draw_series(
                    s.points
                        .iter()
                        .map(|&(x, y)| Circle::new((x, y), 10, c.stroke_width(2))),
                )
                .map_err(&err)?,
        };
        match s.stroke {
            Stroke::Points => {
                anno.label(s.label.clone())
                    .legend(move |(x, y)| Circle::new((x + 9, y), 5, c.filled()));
                continue;
            }
            Stroke::Ring => {
                anno.label(s.label.clone())
                    .legend(move |(x, y)| Circle::new((x + 9, y), 5, c.stroke_width(2)));
                continue;
            }
            _ => {}
        }
        if s.stroke == Stroke::Dashed {
            anno.label(s.label.clone()).legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 7, y)], c.stroke_width(2))
            });
        } else {
            anno.label(s.label.clone()).legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2))
            });
        }
        if s.points.len() <= 40 {
            let (r, fill) = match s.stroke {
                Stroke::Dashed => (5, false),
                _ => (3, true),
            };
            let marker = ShapeStyle {
                color: c.to_rgba(),
                filled: fill,
                stroke_width: 2,
            };
            chart
                .draw_series(
                    s.points
                        .iter()
                        .map(|&(x, y)| Circle::new((x, y), r, marker)),
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
        legend(file, &mut chart, pos)?;
    }
    if let Some(note) = p.note {
        let (xr, yr) = chart.plotting_area().get_pixel_range();
        let (bx, by) = area.get_base_pixel();
        let at = (xr.start - bx, yr.start - by - note_h as i32);
        note_text(file, area, note, at, note_chars)?;
    }
    Ok(())
}

/// Y axis ticks at given positions: a light grid line across the plot and the label left of
/// the axis; and, at `brk`, two short strokes across the axis marking a break (between a zero
/// row and the first decade of a log axis).
fn y_ticks<DB, X, Y>(
    file: &Path,
    area: &DrawingArea<DB, Shift>,
    chart: &ChartContext<'_, DB, Cartesian2d<X, Y>>,
    ticks: &[(f64, String)],
    brk: Option<f64>,
) -> Result<(), PlotError>
where
    DB: DrawingBackend,
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    let err = draw_err(file);
    let (xr, _) = chart.plotting_area().get_pixel_range();
    let (bx, by) = area.get_base_pixel();
    let style =
        TextStyle::from(("sans-serif", 13).into_font()).pos(Pos::new(HPos::Right, VPos::Center));
    let x0 = chart.x_range().start;
    for (y, label) in ticks {
        let (_, py) = chart.backend_coord(&(x0, *y));
        let py = py - by;
        area.draw(&PathElement::new(
            vec![(xr.start - bx, py), (xr.end - bx, py)],
            BLACK.mix(0.15).stroke_width(1),
        ))
        .map_err(&err)?;
        area.draw(&PathElement::new(
            vec![(xr.start - bx - 5, py), (xr.start - bx, py)],
            BLACK.stroke_width(1),
        ))
        .map_err(&err)?;
        area.draw(&Text::new(
            label.clone(),
            (xr.start - bx - 8, py),
            style.clone(),
        ))
        .map_err(&err)?;
    }
    if let Some(b) = brk {
        let (_, py) = chart.backend_coord(&(x0, b));
        let (px, py) = (xr.start - bx, py - by);
        for d in [-3, 3] {
            area.draw(&PathElement::new(
                vec![(px - 6, py + d + 3), (px + 6, py + d - 3)],
                BLACK.stroke_width(2),
            ))
            .map_err(&err)?;
        }
    }
    Ok(())
}

/// Draws the legend of `chart`'s labelled series at `pos`, in the style every panel shares.
fn legend<'a, DB, CT>(
    file: &Path,
    chart: &mut ChartContext<'a, DB, CT>,
    pos: SeriesLabelPosition,
) -> Result<(), PlotError>
where
    DB: DrawingBackend + 'a,
    CT: CoordTranslate,
{
    chart
        .configure_series_labels()
        .position(pos)
        .label_font(("sans-serif", 12))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .draw()
        .map_err(draw_err(file))
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
    let w = key_width(series);
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
pub(super) fn bar_panel<DB, Y>(
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
    // The title over the whole figure, the key in a column of its own to the right of the bars
    // (inside, it would need headroom above the bars, which stretches a log axis by decades).
    let titled = if p.title.is_empty() {
        area.clone()
    } else {
        titled_wrapped(file, area, p.title, 18)?
    };
    let keyed = p.legend.is_some() && !series.is_empty();
    let full_w = titled.dim_in_pixel().0 as i32;
    let key_w = key_width(series).min(full_w / 3);
    let (plot, key_area) = titled.split_horizontally(if keyed { full_w - key_w } else { full_w });
    let area = &plot;
    // Category names are wrapped onto up to three lines to fit their group's width.
    let group_px = (area.dim_in_pixel().0 as f64 - 90.0) / n;
    let max_chars = ((group_px / 7.5).floor() as usize).max(4);
    let wrapped: Vec<Vec<String>> = cats.iter().map(|c| wrap(c, max_chars)).collect();
    let lines = wrapped.iter().map(|w| w.len()).max().unwrap_or(1) as u32;
    let mut chart = ChartBuilder::on(area)
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
    let centres: Vec<(i32, i32)> = (0..wrapped.len())
        .map(|i| chart.backend_coord(&(i as f64 + 0.5, base)))
        .collect();
    category_labels(file, area, &wrapped, &centres)?;
    let k = series.len().max(1) as f64;
    let width = 0.8 / k;
    for (j, s) in series.iter().enumerate() {
        let c = s.color;
        let bars = s.points.iter().filter(|p| !p.1.is_nan()).map(|&(x, y)| {
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
                    // A bar's interval stops at the axis (a peak cannot be negative).
                    ErrorBar::new_vertical(
                        xc,
                        (y - e).max(base),
                        y,
                        y + e,
                        BLACK.stroke_width(1),
                        4,
                    )
                },
            ))
            .map_err(&err)?;
    }
    let equal = bar_annotations(file, area, &chart, p, series, (width, base))?;
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
    if keyed {
        let missing = series.iter().any(|s| s.points.iter().any(|p| p.1.is_nan()));
        key(file, &key_area, series, key_w, (!equal.is_empty(), missing))?;
    }
    Ok(())
}

/// What is written over a bar chart's bars: a bracket over the bars of one group whose values
/// are equal, and the values of bars too short to read (or of every bar, as `p.values` says),
/// a cross for a missing one. Returns the runs of equal bars (for the key).
fn bar_annotations<DB, X, Y>(
    file: &Path,
    area: &DrawingArea<DB, Shift>,
    chart: &ChartContext<'_, DB, Cartesian2d<X, Y>>,
    p: &Panel<'_>,
    series: &[Series],
    (width, base): (f64, f64),
) -> Result<Vec<(usize, usize, usize)>, PlotError>
where
    DB: DrawingBackend,
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    let err = draw_err(file);
    let equal = equal_runs(series);
    for &(i, j0, j1) in &equal {
        // A bracket over bars of one group whose values are equal.
        let x0 = i as f64 + 0.1 + j0 as f64 * width;
        let x1 = i as f64 + 0.1 + (j1 as f64 + 0.92) * width;
        let y = series[j0].points[i].1.max(base);
        let (px0, py) = chart.backend_coord(&(x0, y));
        let (px1, _) = chart.backend_coord(&(x1, y));
        let (bx, by) = area.get_base_pixel();
        let (px0, px1, py) = (px0 - bx, px1 - bx, py - by - 3);
        area.draw(&PathElement::new(
            vec![(px0, py + 3), (px0, py), (px1, py), (px1, py + 3)],
            BLACK.stroke_width(1),
        ))
        .map_err(&err)?;
    }
    let top = chart.y_range().end;
    let short = |y: f64| {
        if base > 0.0 {
            y <= base
        } else {
            y < 0.03 * top
        }
    };
    let value_style =
        TextStyle::from(("sans-serif", 11).into_font()).pos(Pos::new(HPos::Center, VPos::Bottom));
    // A bar's pixel width: a label wider than its bar (and its gap) would run into the next.
    let bar_px = {
        let (a, _) = chart.backend_coord(&(0.0, base));
        let (b, _) = chart.backend_coord(&(width, base));
        (b - a) as f64
    };
    for (j, s) in series.iter().enumerate() {
        for &(x, y) in &s.points {
            // A missing value (no completed run) is a cross on the axis.
            let text = if y.is_nan() {
                "×".to_string()
            } else {
                compact(y)
            };
            let fits = 6.2 * text.chars().count() as f64 <= bar_px + 2.0;
            if p.values == ValueLabels::All || y.is_nan() || (short(y) && fits) {
                let y = if y.is_nan() { base } else { y };
                let xc = x + 0.1 + j as f64 * width + width * 0.46;
                let (px, py) = chart.backend_coord(&(xc, y.max(base)));
                let (bx, by) = area.get_base_pixel();
                area.draw(&Text::new(
                    text,
                    (px - bx, py - by - 2),
                    value_style.clone(),
                ))
                .map_err(&err)?;
            }
        }
    }
    Ok(equal)
}

/// Width of the key column of a bar chart for `series`' labels, pixels (12-pixel sans-serif
/// averages under 6.6 pixels a character).
fn key_width(series: &[Series]) -> i32 {
    let chars = series
        .iter()
        .map(|s| s.label.chars().count())
        .max()
        .unwrap_or(0);
    (44.0 + 6.6 * chars as f64).ceil() as i32
}

/// The key of a bar chart, a swatch and a label per series in the series' order, in its own
/// column (`area`) at the top; then what a bracket over bars and a cross mean, if drawn.
fn key<DB: DrawingBackend>(
    file: &Path,
    area: &DrawingArea<DB, Shift>,
    series: &[Series],
    width: i32,
    (brackets, missing): (bool, bool),
) -> Result<(), PlotError> {
    let err = draw_err(file);
    let style =
        TextStyle::from(("sans-serif", 12).into_font()).pos(Pos::new(HPos::Left, VPos::Center));
    let top = 16;
    let h = 18 * (series.len() + brackets as usize + missing as usize) as i32 + 8;
    area.draw(&Rectangle::new(
        [(4, top), (width - 8, top + h)],
        BLACK.mix(0.3).stroke_width(1),
    ))
    .map_err(&err)?;
    for (i, s) in series.iter().enumerate() {
        let y = top + 13 + 18 * i as i32;
        area.draw(&Rectangle::new(
            [(12, y - 5), (24, y + 5)],
            s.color.filled(),
        ))
        .map_err(&err)?;
        area.draw(&Text::new(s.label.clone(), (30, y), style.clone()))
            .map_err(&err)?;
    }
    if brackets {
        let y = top + 13 + 18 * series.len() as i32;
        area.draw(&PathElement::new(
            vec![(12, y + 3), (12, y), (24, y), (24, y + 3)],
            BLACK.stroke_width(1),
        ))
        .map_err(&err)?;
        area.draw(&Text::new("equal values", (30, y), style.clone()))
            .map_err(&err)?;
    }
    if missing {
        let y = top + 13 + 18 * (series.len() + brackets as usize) as i32;
        let centred = TextStyle::from(("sans-serif", 12).into_font())
            .pos(Pos::new(HPos::Center, VPos::Center));
        area.draw(&Text::new("×", (18, y), centred)).map_err(&err)?;
        area.draw(&Text::new("no completed run", (30, y), style))
            .map_err(&err)?;
    }
    Ok(())
}

/// Runs of adjacent bars in one group with equal values (and both drawn), as `(group, first
/// series, last series)`.
fn equal_runs(series: &[Series]) -> Vec<(usize, usize, usize)> {
    let groups = series.iter().map(|s| s.points.len()).min().unwrap_or(0);
    let mut out = Vec::new();
    for i in 0..groups {
        let mut j0 = 0;
        for j in 1..=series.len() {
            let same = j < series.len()
                && series[j].points[i].1 == series[j0].points[i].1
                && series[j0].points[i].1 > 0.0;
            if !same {
                if j - 1 > j0 {
                    out.push((i, j0, j - 1));
                }
                j0 = j;
            }
        }
    }
    out
}

/// Category names under each group, drawn on the area in pixels at the groups' centres on the
/// base line (plotters' numeric axes cannot place a label at each group's centre).
fn category_labels<DB: DrawingBackend>(
    file: &Path,
    area: &DrawingArea<DB, Shift>,
    wrapped: &[Vec<String>],
    centres: &[(i32, i32)],
) -> Result<(), PlotError> {
    let err = draw_err(file);
    let (bx, by) = area.get_base_pixel();
    let label_style =
        TextStyle::from(("sans-serif", 13).into_font()).pos(Pos::new(HPos::Center, VPos::Top));
    for (w, &(px, py)) in wrapped.iter().zip(centres) {
        for (k, line) in w.iter().enumerate() {
            area.draw(&Text::new(
                line.clone(),
                (px - bx, py - by + 6 + 15 * k as i32),
                label_style.clone(),
            ))
            .map_err(&err)?;
        }
    }
    Ok(())
}

/// Splits a label into lines of at most `width` characters at spaces (at most three lines).
fn wrap(label: &str, width: usize) -> Vec<String> {
    let mut lines = wrap_lines(label, width);
    if lines.len() > 3 {
        let rest = lines.split_off(2).join(" ");
        lines.push(rest);
    }
    lines
}

/// Splits a text into lines of at most `width` characters at spaces (a longer word keeps a
/// line of its own).
pub(super) fn wrap_lines(text: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for word in text.split(' ') {
        match lines.last_mut() {
            Some(l) if l.chars().count() + 1 + word.chars().count() <= width => {
                l.push(' ');
                l.push_str(word);
            }
            _ => lines.push(word.to_string()),
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(label: &str, ys: &[f64]) -> Series {
        Series {
            label: label.into(),
            color: color(0),
            points: ys.iter().enumerate().map(|(i, y)| (i as f64, *y)).collect(),
            err: Vec::new(),
            stroke: Stroke::Solid,
        }
    }

    #[test]
    fn identical_series_merge_into_one_label_and_others_stay() {
        let merged = merge_identical(vec![
            series("3.11", &[1.0, 2.0]),
            series("3.12", &[1.0, 2.0]),
            series("3.13", &[1.0, 3.0]),
        ]);
        let labels: Vec<&str> = merged.iter().map(|s| s.label.as_str()).collect();
        assert_eq!(labels, ["3.11 = 3.12", "3.13"]);
    }

    #[test]
    fn a_series_close_to_an_earlier_one_is_dashed_and_a_far_one_is_not() {
        let mut s = vec![
            series("a", &[10.0, 20.0]),
            series("b", &[10.1, 20.1]),
            series("c", &[15.0, 20.0]),
        ];
        mark_near_coinciding(&mut s, (0.0, 0.5));
        let strokes: Vec<Stroke> = s.iter().map(|s| s.stroke).collect();
        assert_eq!(strokes, [Stroke::Solid, Stroke::Dashed, Stroke::Solid]);
    }

    #[test]
    fn legend_order_follows_where_the_lines_end() {
        let mut s = vec![series("low", &[5.0, 1.0]), series("high", &[0.0, 9.0])];
        order_by_data(&mut s);
        assert_eq!(s[0].label, "high");
    }
}
