//! The figures drawn for one result's finding rather than for every result (an experiment's
//! `[plot]` table asks for them): the scatter of two metrics, one point per strategy; the
//! pre-fork pages dirtied after a fork, by cause; and the claims' checks, each with its two
//! measured sides and its verdict.

use super::fig::{BarPanelData, Fig, PanelData};
use super::figures::FigResult;
use super::panel::{byte_unit, color, Series, Stroke, ValueLabels};
use super::PlotError;
use crate::analysis::{self, check, check_values, num};
use crate::experiment::MetricRef;
use crate::metrics::mean_ci95;
use crate::results::{ResultSet, Run};
use plotters::prelude::{RGBColor, SeriesLabelPosition};

/// What a metric path of the scatter figure is called on an axis, and whether it is in bytes.
fn metric_label(path: &str) -> (String, bool) {
    let known: &[(&str, &str, bool)] = &[
        (
            "lbo",
            "work overhead (LBO: total work / least distilled work)",
            false,
        ),
        ("run.peak_live_bytes", "Peak live memory", true),
        (
            "run.leaked_bytes",
            "unreachable memory left at the end",
            true,
        ),
        ("run.bytes_allocated", "memory allocated", true),
        (
            "metrics.garbage_peak_bytes",
            "Most garbage held at once",
            true,
        ),
        (
            "metrics.work_collector",
            "collector work (work units)",
            false,
        ),
        ("metrics.work_total", "total work (work units)", false),
        (
            "metrics.pauses_work.max",
            "longest pause (work units)",
            false,
        ),
        ("metrics.pauses_work.p99", "p99 pause (work units)", false),
        ("run.collections", "collections", false),
    ];
    known
        .iter()
        .find(|(p, _, _)| *p == path)
        .map_or((path.to_string(), false), |(_, l, b)| (l.to_string(), *b))
}

/// The mean over replicates of `path` for a (workload, strategy) pair.
fn value(rs: &ResultSet, lbo: &[analysis::Lbo], path: &str, w: &str, s: &str) -> Option<f64> {
    if path == "lbo" {
        return lbo
            .iter()
            .find(|l| l.workload == w && l.strategy == s)
            .map(|l| l.work);
    }
    analysis::metric(
        rs,
        &MetricRef {
            workload: w.to_string(),
            strategy: s.to_string(),
            metric: path.to_string(),
        },
    )
}

/// One strategy's point in a scatter panel: its index among the experiment's strategies (its
/// colour), its label, and its x and y where it has them.
type Cell<'a> = (usize, &'a String, Option<f64>, Option<f64>);

/// Two metrics against each other (the experiment's `[plot] scatter`), one panel per workload,
/// one point per strategy (strategies at the same point merged into one label).
pub(super) fn scatter(rs: &ResultSet) -> FigResult {
    let Some(spec) = &rs.exp().file.plot.scatter else {
        return Ok(None);
    };
    let lbo = analysis::lbo(rs);
    let (x_label, x_bytes) = metric_label(&spec.x);
    let (y_label, y_bytes) = metric_label(&spec.y);
    let all = rs.strategies();
    if let Some(bad) = spec.strategies.iter().find(|s| !all.contains(s)) {
        return Err(PlotError::Spec(format!(
            "[plot] scatter: no strategy is labelled `{bad}`; the strategies are: {}",
            all.join(", ")
        )));
    }
    // Each drawn strategy with its index among all (its colour), and per workload each one's
    // (x, y), computed once.
    let drawn: Vec<(usize, &String)> = all
        .iter()
        .enumerate()
        .filter(|(_, s)| spec.strategies.is_empty() || spec.strategies.contains(s))
        .collect();
    let table: Vec<(String, Vec<Cell<'_>>)> = rs
        .workloads()
        .into_iter()
        .map(|w| {
            let row = drawn
                .iter()
                .map(|&(i, s)| {
                    let x = value(rs, &lbo, &spec.x, &w, s);
                    (i, s, x, value(rs, &lbo, &spec.y, &w, s))
                })
                .collect();
            (w, row)
        })
        .collect();
    let scale = |path: &str,
                 pick: fn(&Cell<'_>) -> Option<f64>,
                 bytes: bool|
     -> Result<(f64, &'static str), PlotError> {
        let xs: Vec<f64> = table
            .iter()
            .flat_map(|(_, row)| row.iter().filter_map(pick))
            .collect();
        if xs.is_empty() {
            return Err(PlotError::Spec(format!(
                "[plot] scatter: no run has a value for `{path}` (a dotted path into the \
                 deterministic row of runs.jsonl, such as run.peak_live_bytes or \
                 metrics.pauses_work.max, or `lbo`)"
            )));
        }
        let max = xs.iter().copied().fold(0.0, f64::max);
        Ok(if bytes { byte_unit(max) } else { (1.0, "") })
    };
    let (xs, xu) = scale(&spec.x, |c| c.2, x_bytes)?;
    let (ys, yu) = scale(&spec.y, |c| c.3, y_bytes)?;
    let unit = |u: &str| {
        if u.is_empty() {
            String::new()
        } else {
            format!(" ({u})")
        }
    };
    let panels = table
        .into_iter()
        .map(|(w, row)| {
            let series = row
                .into_iter()
                .filter_map(|(i, s, x, y)| {
                    Some(Series {
                        label: s.clone(),
                        color: color(i),
                        points: vec![(x? / xs, y? / ys)],
                        err: Vec::new(),
                        stroke: Stroke::Points,
                    })
                })
                .collect();
            PanelData::new(w, series)
        })
        .collect();
    Ok(Some(Fig::Panels {
        title: format!(
            "{y_label} against {x_label}; a point: one strategy, the mean over replicates"
        ),
        x_desc: format!("{x_label}{}", unit(xu)),
        y_desc: if spec.y_log {
            format!("{y_label} ({yu} log; 0 below the break)")
        } else {
            format!("{y_label}{}", unit(yu))
        },
        x_log: false,
        y_log: spec.y_log,
        y_range: None,
        x_cats: None,
        legend: SeriesLabelPosition::UpperRight,
        panels,
    }))
}

/// The field of a run's copy-on-write report that counts one cause.
type PageCount = fn(&Run<'_>) -> u64;

/// The causes of a dirtied pre-fork page, with the field counting them, in the order they
/// are drawn.
const PAGE_SERIES: [(&str, PageCount); 5] = [
    ("pre-fork pages", |r| r.record().cow.prefork_pages),
    ("dirtied after the fork (any cause)", |r| {
        r.record().cow.dirty_pages
    }),
    ("by reference-count writes", |r| {
        r.record().cow.dirty_by_refcount
    }),
    ("by the collector's header writes", |r| {
        r.record().cow.dirty_by_collector
    }),
    ("by the program's stores", |r| {
        r.record().cow.dirty_by_mutator
    }),
];

/// Pre-fork pages dirtied after the fork, by cause, one group per (workload, strategy) whose
/// runs forked: drawn when any run forked. A page written for several causes counts once for each.
pub(super) fn pages(rs: &ResultSet) -> FigResult {
    if !rs.runs().any(|r| r.record().cow.prefork_pages > 0) {
        return Ok(None);
    }
    let mut cats = Vec::new();
    let mut groups = Vec::new();
    for w in rs.workloads() {
        for s in rs.strategies() {
            // Only the cells that forked.
            if let Some(g) = rs.group(&w, &s) {
                if g.runs.iter().any(|r| r.record().cow.prefork_pages > 0) {
                    cats.push(format!("{w}, {s}"));
                    groups.push(g);
                }
            }
        }
    }
    let series = PAGE_SERIES
        .iter()
        .enumerate()
        .map(|(i, (label, field))| {
            let (points, err) = groups
                .iter()
                .enumerate()
                .map(|(j, g)| {
                    let xs: Vec<f64> = g.runs.iter().map(|r| field(r) as f64).collect();
                    let (m, h) = mean_ci95(&xs);
                    ((j as f64, m), h)
                })
                .unzip();
            Series {
                label: label.to_string(),
                color: color(i),
                points,
                err,
                stroke: Stroke::Solid,
            }
        })
        .collect();
    Ok(Some(Fig::Bars {
        title: "Pre-fork pages dirtied after the fork, by cause; a bar: the mean over replicates (95% CI)"
            .into(),
        y_desc: "4 KiB pages (a page written for several causes counts in each)".into(),
        cats,
        series,
        reference: None,
        y_log: false,
        values: ValueLabels::Short,
    }))
}

/// Green for a check that holds, red for one that does not, grey for a missing number.
fn verdict_color(holds: Option<bool>) -> RGBColor {
    match holds {
        Some(true) => RGBColor(44, 160, 44),
        Some(false) => RGBColor(214, 39, 40),
        None => RGBColor(127, 127, 127),
    }
}

/// The side of a check under its bar: the workload and strategy.
fn side_label(m: &MetricRef) -> String {
    format!("{} / {}", m.workload, m.strategy)
}

/// Every claim check of the experiment, one panel each: the left side's bar, the right side's
/// (when it is a metric), the value the left side is compared with as a dashed line, and the
/// verdict in the caption; bars green when the check holds, red when it does not.
pub(super) fn claims(rs: &ResultSet) -> FigResult {
    let claims = &rs.exp().file.claims;
    if claims.is_empty() {
        return Ok(None);
    }
    let mut panels = Vec::new();
    for (i, claim) in claims.iter().enumerate() {
        for (j, c) in claim.check.iter().enumerate() {
            let (holds, _) = check(rs, c);
            let v = check_values(rs, c);
            let mut cats = vec![side_label(&c.left)];
            let mut points = vec![(0.0, v.left.unwrap_or(0.0))];
            if let (Some(m), Some(r)) = (&c.right, v.right) {
                cats.push(side_label(m));
                points.push((1.0, r));
            }
            let verdict = match holds {
                Some(true) => "holds",
                Some(false) => "does not hold",
                None => "a number is missing",
            };
            let compared = v.threshold.map_or(String::new(), |t| {
                format!(" (left {} {}, dashed)", c.op, num(t))
            });
            let note = if c.note.is_empty() {
                c.left.metric.clone()
            } else {
                c.note.clone()
            };
            panels.push(BarPanelData {
                title: format!("{}.{} {verdict}: {note}{compared}", i + 1, j + 1),
                y_desc: c.left.metric.clone(),
                cats,
                series: vec![Series {
                    label: c.left.metric.clone(),
                    color: verdict_color(holds),
                    points,
                    err: Vec::new(),
                    stroke: Stroke::Solid,
                }],
                reference: v.threshold,
            });
        }
    }
    Ok(Some(Fig::BarGrid {
        title: "The claims' checks: each panel one check, its measured sides (means over replicates) and the verdict; green holds, red does not".into(),
        cols: 4,
        panels,
    }))
}
