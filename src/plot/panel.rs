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
    /// Draw the line dashed.
    pub(super) dashed: bool,
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
        legend(file, &mut chart, pos)?;
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
    let titled = area.titled(p.title, ("sans-serif", 18)).map_err(&err)?;
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
        key(file, &key_area, series, key_w)?;
    }
    Ok(())
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
/// column (`area`) at the top.
fn key<DB: DrawingBackend>(
    file: &Path,
    area: &DrawingArea<DB, Shift>,
    series: &[Series],
    width: i32,
) -> Result<(), PlotError> {
    let err = draw_err(file);
    let style =
        TextStyle::from(("sans-serif", 12).into_font()).pos(Pos::new(HPos::Left, VPos::Center));
    let top = 16;
    let h = 18 * series.len() as i32 + 8;
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
    Ok(())
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
