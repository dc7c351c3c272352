//! Analyses of a loaded result set: lower-bound overheads (LBO) and the threshold trade-off.
//! Functions of a [`ResultSet`] and of nothing else.

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
