//! One function per figure family: each reads the loaded [`ResultSet`] and returns the
//! [`Fig`] to draw, or `None` when the set has nothing for it. The table that names and places
//! them is [`super::FIGURES`].

use super::clock::Clock;
use super::fig::{Fig, PanelData};
use super::panel::{byte_unit, color, Series, Stroke, ValueLabels};
use super::PlotError;
use crate::analysis;
use crate::metrics::{mean_ci95, NINES_LABELS};
use crate::results::{Group, ResultSet, Run};
use plotters::prelude::SeriesLabelPosition;

/// What a figure function returns: the figure, or `None` when there is nothing to draw.
pub(super) type FigResult = Result<Option<Fig>, PlotError>;

/// The points of one line and the half-widths of their error bars (empty: none).
type Points = (Vec<(f64, f64)>, Vec<f64>);

/// One series per strategy that `f` has points for on workload `wl`.
fn strategy_series<F>(rs: &ResultSet, wl: &str, mut f: F) -> Vec<Series>
where
    F: FnMut(&Group<'_>) -> Option<Points>,
{
    let mut out = Vec::new();
    for (i, s) in rs.strategies().iter().enumerate() {
        if let Some(g) = rs.group(wl, s) {
            if let Some((points, err)) = f(&g) {
                out.push(Series {
                    label: s.clone(),
                    color: color(i),
                    points,
                    err,
                    stroke: Stroke::Solid,
                });
            }
        }
    }
    out
}

/// Bars of a per-run value: one bar per strategy, grouped by workload, mean ± 95% CI.
fn bars_of(rs: &ResultSet, value: impl Fn(&Run<'_>) -> Option<f64>) -> Vec<Series> {
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
                // No completed run (out of memory, failed): no bar, a cross (`bar_panel`).
                points.push((j as f64, if xs.is_empty() { f64::NAN } else { m }));
                err.push(h);
            }
            Series {
                label: s.clone(),
                color: color(i),
                points,
                err,
                stroke: Stroke::Solid,
            }
        })
        .collect()
}

/// Peak live memory, bars per workload (deterministic); a log axis when peaks span more than
/// a factor of 100.
pub(super) fn peak_memory(rs: &ResultSet) -> FigResult {
    let peak = |r: &Run<'_>| r.record().peak_live_bytes as f64;
    let max_peak = rs.runs().map(|r| peak(&r)).fold(0.0, f64::max);
    let (mut scale, mut unit) = byte_unit(max_peak);
    let min_peak = rs
        .runs()
        .map(|r| peak(&r))
        .filter(|b| *b > 0.0)
        .fold(f64::INFINITY, f64::min);
    let log = max_peak / min_peak > 100.0;
    if log {
        // A log axis spans several units: label it in bytes with k/M/G suffixes.
        (scale, unit) = (1.0, "bytes");
    }
    Ok(Some(Fig::Bars {
        title: "Peak live memory (simulated heap, exact); a bar: the mean over replicates, with its 95% CI"
            .into(),
        y_desc: if log {
            format!("peak live {unit} (log)")
        } else {
            format!("peak live {unit}")
        },
        cats: rs.workloads(),
        series: bars_of(rs, |r| Some(peak(r) / scale)),
        reference: None,
        y_log: log,
        values: ValueLabels::Short,
    }))
}

/// Lower-bound overhead on clock `C`, bars per workload.
pub(super) fn lbo<C: Clock>(rs: &ResultSet) -> FigResult {
    let lbo = analysis::lbo(rs);
    let wls = rs.workloads();
    let series: Vec<Series> = rs
        .strategies()
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
                        .map_or(f64::NAN, C::lbo);
                    (j as f64, v)
                })
                .collect(),
            err: Vec::new(),
            stroke: Stroke::Solid,
        })
        .collect();
    // A log axis when one overhead dwarfs the others (gc_traversal's is 300).
    let values = || {
        series
            .iter()
            .flat_map(|s: &Series| s.points.iter().map(|p| p.1))
    };
    let max = values().fold(0.0, f64::max);
    let min = values().filter(|v| *v > 0.0).fold(f64::INFINITY, f64::min);
    let y_log = max > 20.0 * min;
    Ok(Some(Fig::Bars {
        title: format!("{}; a bar: the mean over replicates", C::LBO_TITLE),
        y_desc: format!(
            "total / MDC (1 = no GC overhead){}",
            if y_log { ", log" } else { "" }
        ),
        cats: wls,
        series,
        reference: Some(1.0),
        y_log,
        values: ValueLabels::Short,
    }))
}

/// Pause percentiles of a group on clock `C` (means over replicates), on the nines axis.
fn pause_points<C: Clock>(g: &Group<'_>) -> Option<Points> {
    let per_run: Vec<[u64; 5]> = g
        .runs
        .iter()
        .filter_map(|r| {
            let p = C::pauses(r)?;
            (p.count > 0).then(|| p.nines())
        })
        .collect();
    if per_run.is_empty() {
        return None;
    }
    let mut pts = Vec::new();
    for k in 0..5 {
        let xs: Vec<f64> = per_run
            .iter()
            .map(|n| n[k] as f64 / C::PER_AXIS_UNIT)
            .collect();
        // Means over replicates; no CI bars (they hid the lines). A zero (a pause shorter than
        // one unit) is drawn on the axis's zero row.
        let (m, _) = mean_ci95(&xs);
        pts.push((k as f64, m));
    }
    Some((pts, Vec::new()))
}

/// Pause-length percentiles on clock `C`, one panel per workload; a panel names the
/// strategies that never paused there.
pub(super) fn pauses<C: Clock>(rs: &ResultSet) -> FigResult {
    let strategies = rs.strategies();
    let panels = rs
        .workloads()
        .into_iter()
        .map(|w| {
            let series = strategy_series(rs, &w, pause_points::<C>);
            let quiet: Vec<&str> = strategies
                .iter()
                .filter(|s| rs.group(&w, s).is_some() && !series.iter().any(|x| &x.label == *s))
                .map(String::as_str)
                .collect();
            let note = (!quiet.is_empty())
                .then(|| format!("no pauses (never collected here): {}", quiet.join(", ")));
            PanelData {
                note,
                ..PanelData::new(w, series)
            }
        })
        .collect();
    Ok(Some(Fig::Panels {
        title: format!(
            "{}; a point: the mean over replicates of a run's percentile",
            C::PAUSES_TITLE
        ),
        x_desc: "percentile".into(),
        y_desc: format!("pause ({}, log; 0 below the break)", C::UNIT),
        x_log: false,
        y_log: true,
        y_range: None,
        x_cats: Some(NINES_LABELS.iter().map(|s| s.to_string()).collect()),
        legend: SeriesLabelPosition::LowerRight,
        panels,
    }))
}

/// Minimum mutator utilisation on clock `C` (first replicate), one panel per workload.
pub(super) fn mmu<C: Clock>(rs: &ResultSet) -> FigResult {
    let panels = rs
        .workloads()
        .into_iter()
        .map(|w| {
            let series = strategy_series(rs, &w, |g| {
                let curve = C::mmu(g.runs.first()?)?;
                let pts: Vec<(f64, f64)> = curve
                    .iter()
                    .map(|&(x, y)| (x as f64 / C::PER_AXIS_UNIT, y))
                    .collect();
                (!pts.is_empty()).then_some((pts, Vec::new()))
            });
            PanelData::new(w, series)
        })
        .collect();
    Ok(Some(Fig::Panels {
        title: format!(
            "{}; a line: the first replicate's exact curve",
            C::MMU_TITLE
        ),
        x_desc: format!("window ({}, log)", C::UNIT),
        y_desc: "MMU".into(),
        x_log: true,
        y_log: false,
        y_range: Some((0.0, 1.05)),
        x_cats: None,
        legend: SeriesLabelPosition::MiddleLeft,
        panels,
    }))
}

/// Column `col` of the heap timelines (first replicate, from the sidecars), one panel per
/// workload, each in the byte unit of its own largest value; `None` without timelines.
fn timeline_column(rs: &ResultSet, col: usize, title: &str, quantity: &str) -> FigResult {
    let timelines = rs.timelines()?;
    if timelines.is_empty() {
        return Ok(None);
    }
    let strategies = rs.strategies();
    let panels = rs
        .workloads()
        .into_iter()
        .map(|w| {
            let of = |s: &String| {
                timelines
                    .iter()
                    .find(|(tw, ts, _)| *tw == w && ts == s)
                    .map(|(_, _, t)| t)
            };
            let maxb = strategies
                .iter()
                .filter_map(of)
                .flat_map(|t| t.iter().map(|x| x[col] as f64))
                .fold(0.0, f64::max);
            let (scale, unit) = byte_unit(maxb);
            let series = strategies
                .iter()
                .enumerate()
                .filter_map(|(i, s)| {
                    let pts: Vec<(f64, f64)> = of(s)?
                        .iter()
                        .filter(|x| x[col] >= 0)
                        .map(|x| (x[0] as f64, x[col] as f64 / scale))
                        .collect();
                    (!pts.is_empty()).then(|| Series {
                        label: s.clone(),
                        color: color(i),
                        points: pts,
                        err: Vec::new(),
                        stroke: Stroke::Solid,
                    })
                })
                .collect();
            PanelData {
                y_desc: Some(format!("{quantity} {unit}")),
                note: (maxb == 0.0).then(|| format!("0 {quantity} at every sample")),
                ..PanelData::new(w, series)
            }
        })
        .collect();
    Ok(Some(Fig::Panels {
        title: format!("{title}; a line: the first replicate's samples"),
        x_desc: "ops executed".into(),
        y_desc: format!("{quantity} bytes"),
        x_log: false,
        y_log: false,
        y_range: None,
        x_cats: None,
        legend: SeriesLabelPosition::UpperLeft,
        panels,
    }))
}

/// Heap timeline: live bytes over ops.
pub(super) fn timeline(rs: &ResultSet) -> FigResult {
    timeline_column(
        rs,
        1,
        "Heap timeline: live memory (allocated, not yet freed)",
        "live",
    )
}

/// Garbage retained over ops (the oracle's unreachable bytes not yet freed).
pub(super) fn garbage(rs: &ResultSet) -> FigResult {
    timeline_column(
        rs,
        3,
        "Garbage retained: unreachable memory not yet freed (oracle)",
        "garbage",
    )
}

/// The threshold trade-off of the experiment's `tradeoff_param`: collector work, max pause and
/// peak memory against the parameter, one line per workload.
pub(super) fn tradeoff(rs: &ResultSet) -> FigResult {
    let Some(param) = &rs.exp().file.plot.tradeoff_param else {
        return Ok(None);
    };
    let t = analysis::tradeoff(rs, param);
    if t.is_empty() {
        return Ok(None);
    }
    let wls = rs.workloads();
    let metric_panel = |title: &str, k: usize, div: f64| -> PanelData {
        let series = wls
            .iter()
            .enumerate()
            .filter_map(|(i, w)| {
                let pts: Vec<(f64, f64)> = t
                    .iter()
                    .filter(|p| &p.workload == w)
                    // A zero (no collection ran) is drawn on the axis's zero row.
                    .map(|p| (p.x, p.y[k] / div))
                    .collect();
                (!pts.is_empty()).then(|| Series {
                    label: w.clone(),
                    color: color(i),
                    points: pts,
                    err: Vec::new(),
                    stroke: Stroke::Solid,
                })
            })
            .collect();
        PanelData::new(title.to_string(), series)
    };
    // A log x axis only where the values span more than a factor of 20 (a heap factor of 1 to
    // 6 reads better on a linear one).
    let xs = || t.iter().map(|p| p.x).filter(|x| *x > 0.0);
    let x_log = xs().fold(0.0, f64::max) > 20.0 * xs().fold(f64::INFINITY, f64::min);
    let scale = if x_log { " (log)" } else { "" };
    Ok(Some(Fig::Panels {
        title: format!(
            "Threshold trade-off: {param}{scale} against collector work, max pause, peak memory; a point: the mean over replicates"
        ),
        x_desc: format!("{param}{scale}"),
        y_desc: "log scale, 0 below the break; unit in the panel title".into(),
        x_log,
        y_log: true,
        y_range: None,
        x_cats: None,
        legend: SeriesLabelPosition::LowerRight,
        panels: vec![
            metric_panel("collector work (work units; 0: no collection)", 0, 1.0),
            metric_panel("max pause (work units)", 1, 1.0),
            metric_panel("peak live memory (kB)", 2, 1e3),
        ],
    }))
}

/// Throughput (wall clock), bars per workload.
pub(super) fn throughput(rs: &ResultSet) -> FigResult {
    Ok(Some(Fig::Bars {
        title: "Throughput (wall clock), mean and 95% CI over replicates".into(),
        y_desc: "million ops per second".into(),
        cats: rs.workloads(),
        series: bars_of(rs, |r| r.wall().map(|w| w.ops_per_sec / 1e6)),
        reference: None,
        y_log: false,
        values: ValueLabels::Short,
    }))
}
