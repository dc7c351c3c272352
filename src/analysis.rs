//! Analyses of a loaded result set: lower-bound overheads (LBO), the threshold trade-off and
//! the verdicts of an experiment's claims. Functions of a [`ResultSet`] (and of the claims its
//! experiment file states) and of nothing else.

use crate::experiment::{Check, MetricRef};
use crate::metrics::mean_ci95;
use crate::results::{Group, ResultSet, Run};

/// LBO of one strategy on one workload.
#[derive(Clone, Debug, PartialEq)]
pub struct Lbo {
    /// Workload label.
    pub workload: String,
    /// Strategy label.
    pub strategy: String,
    /// Total / MDC in deterministic work units.
    pub work: f64,
    /// Total / MDC in wall time.
    pub wall: f64,
    /// The strategy whose distilled work cost is the minimum.
    pub mdc_strategy: String,
}

/// Lower-bound overheads (methodology §1.3): per workload, the minimum distilled cost (total
/// minus collector cost, mean over replicates) across the experiment's strategies, and each
/// strategy's mean total against it, in work units and in wall time.
pub fn lbo(rs: &ResultSet) -> Vec<Lbo> {
    let mut out = Vec::new();
    for w in rs.workloads() {
        let groups: Vec<Group<'_>> = rs
            .groups()
            .filter(|g| g.workload == w && !g.runs.is_empty())
            .collect();
        let mean = |g: &Group<'_>, f: &dyn Fn(&Run<'_>) -> f64| {
            mean_ci95(&g.runs.iter().map(f).collect::<Vec<_>>()).0
        };
        let wall_total = |r: &Run<'_>| r.wall().map_or(0.0, |x| x.wall_ns as f64);
        let wall_distilled = |r: &Run<'_>| {
            r.wall()
                .map_or(0.0, |x| x.wall_ns.saturating_sub(x.collector_ns) as f64)
        };
        let mut mdc_work = f64::INFINITY;
        let mut mdc_strategy = String::new();
        let mut mdc_wall = f64::INFINITY;
        for g in &groups {
            let d = mean(g, &|r| r.metrics().work_distilled as f64);
            if d < mdc_work {
                mdc_work = d;
                mdc_strategy = g.strategy.to_string();
            }
            mdc_wall = mdc_wall.min(mean(g, &wall_distilled));
        }
        for g in &groups {
            out.push(Lbo {
                workload: w.clone(),
                strategy: g.strategy.to_string(),
                work: mean(g, &|r| r.metrics().work_total as f64) / mdc_work.max(1.0),
                wall: mean(g, &wall_total) / mdc_wall.max(1.0),
                mdc_strategy: mdc_strategy.clone(),
            });
        }
    }
    out
}

/// One point of the threshold trade-off.
#[derive(Clone, Debug, PartialEq)]
pub struct TradeoffPoint {
    /// Workload label.
    pub workload: String,
    /// Strategy label.
    pub strategy: String,
    /// The parameter's value.
    pub x: f64,
    /// Mean collector work, mean max pause (work units), mean peak live bytes.
    pub y: [f64; 3],
}

/// The trade-off of a strategy parameter: for each group whose strategy sets `param`
/// numerically (and positive, for the log axis), its collector work, max pause and peak memory.
pub fn tradeoff(rs: &ResultSet, param: &str) -> Vec<TradeoffPoint> {
    let mut out = Vec::new();
    for g in rs.groups() {
        let Some(cfg) = rs.exp().strategies.iter().find(|s| s.label == g.strategy) else {
            continue;
        };
        let Some(x) = cfg
            .params
            .iter()
            .rev()
            .find(|(k, _)| k == param)
            .and_then(|(_, v)| v.parse::<f64>().ok())
        else {
            continue;
        };
        if x <= 0.0 || g.runs.is_empty() {
            continue;
        }
        let m =
            |f: &dyn Fn(&Run<'_>) -> f64| mean_ci95(&g.runs.iter().map(f).collect::<Vec<_>>()).0;
        out.push(TradeoffPoint {
            workload: g.workload.to_string(),
            strategy: g.strategy.to_string(),
            x,
            y: [
                m(&|r| r.metrics().work_collector as f64),
                m(&|r| r.metrics().pauses_work.max as f64),
                m(&|r| r.record().peak_live_bytes as f64),
            ],
        });
    }
    out.sort_by(|a, b| {
        a.workload
            .cmp(&b.workload)
            .then(a.x.partial_cmp(&b.x).unwrap_or(std::cmp::Ordering::Equal))
    });
    out
}

/// The mean over a group's completed runs of a dotted path into the deterministic row.
pub fn metric(rs: &ResultSet, m: &MetricRef) -> Option<f64> {
    let g = rs.group(&m.workload, &m.strategy)?;
    let pointer = format!("/{}", m.metric.replace('.', "/"));
    let xs: Vec<f64> = g
        .runs
        .iter()
        .filter_map(|r| r.row().deterministic().pointer(&pointer)?.as_f64())
        .collect();
    (!xs.is_empty()).then(|| mean_ci95(&xs).0)
}

/// The numbers of one check of a claim: its left side, its right side as measured (a metric,
/// or `None` against a constant), and the value the left side is compared with (`factor ×
/// right + offset`, or `factor × value + offset`); each `None` where a number is missing.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CheckValues {
    /// The left side, mean over replicates.
    pub left: Option<f64>,
    /// The right side's metric, mean over replicates (`None` for a constant).
    pub right: Option<f64>,
    /// What `left` is compared with.
    pub threshold: Option<f64>,
}

/// The numbers of one check (see [`CheckValues`]).
pub fn check_values(rs: &ResultSet, c: &Check) -> CheckValues {
    let right = c.right.as_ref().and_then(|m| metric(rs, m));
    let threshold = match (&c.right, c.value) {
        (Some(_), _) => right.map(|x| x * c.factor + c.offset),
        (None, Some(v)) => Some(v * c.factor + c.offset),
        (None, None) => None,
    };
    CheckValues {
        left: metric(rs, &c.left),
        right,
        threshold,
    }
}

/// Verdict of one check: `Some(true)` if it holds, `None` if a number is missing; and the
/// check in words with its numbers.
pub fn check(rs: &ResultSet, c: &Check) -> (Option<bool>, String) {
    let v = check_values(rs, c);
    let shown = |x: Option<f64>| x.map_or("n/a".to_string(), num);
    let desc = format!(
        "{} = {} {} {}{}{}",
        side(&c.left),
        shown(v.left),
        c.op,
        if c.factor != 1.0 {
            format!("{} × ", num(c.factor))
        } else {
            String::new()
        },
        match &c.right {
            Some(m) => format!("{} = {}", side(m), shown(v.right)),
            None => shown(c.value),
        },
        if c.offset != 0.0 {
            format!(" + {}", num(c.offset))
        } else {
            String::new()
        }
    );
    let verdict = match (v.left, v.threshold) {
        (Some(l), Some(r)) => Some(match c.op.as_str() {
            "<" => l < r,
            "<=" => l <= r,
            ">" => l > r,
            ">=" => l >= r,
            "==" => l == r,
            _ => false,
        }),
        _ => None,
    };
    (verdict, desc)
}

fn side(m: &MetricRef) -> String {
    format!("{} [{} / {}]", m.metric, m.workload, m.strategy)
}

/// A number for a table: integers without decimals, others with 3 significant digits.
pub fn num(x: f64) -> String {
    if (x == x.round() && x.abs() < 1e15) || x.abs() >= 100.0 {
        format!("{x:.0}")
    } else if x.abs() >= 1.0 {
        format!("{x:.2}")
    } else {
        format!("{x:.3}")
    }
}
