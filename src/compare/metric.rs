//! The metrics `gclab compare` knows: each named by its dotted path in a `runs.jsonl` row (the
//! names claims use in `experiment.toml`), with its unit and, for wall-clock metrics, the words
//! a verdict uses. A name on the command line is a full path or the unique end of one.

use super::CompareError;

/// What a metric's values are and how they print.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// A count of things (objects, collections, pages), or work units.
    Count,
    /// Bytes.
    Bytes,
    /// Nanoseconds of wall or CPU time.
    Ns,
    /// Operations per second.
    PerSecond,
}

/// One metric: its path in the row, its unit and whether it is shown by default.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MetricDef {
    /// Dotted path into the row (`run.peak_live_bytes`, `metrics.pauses_work.max`,
    /// `wall.wall_ns`).
    pub name: &'static str,
    /// Its unit.
    pub unit: Unit,
    /// Shown when no `--metric` is given.
    pub headline: bool,
    /// For wall-clock metrics, the verdict when B is significantly lower and when it is
    /// significantly higher (`faster`, `slower`).
    pub words: (&'static str, &'static str),
}

impl MetricDef {
    /// The JSON pointer of the metric in a serialised row.
    pub fn pointer(&self) -> String {
        format!("/{}", self.name.replace('.', "/"))
    }
}

const fn det(name: &'static str, unit: Unit, headline: bool) -> MetricDef {
    MetricDef {
        name,
        unit,
        headline,
        words: ("lower", "higher"),
    }
}

const fn wall(
    name: &'static str,
    unit: Unit,
    headline: bool,
    words: (&'static str, &'static str),
) -> MetricDef {
    MetricDef {
        name,
        unit,
        headline,
        words,
    }
}

const TIME: (&str, &str) = ("faster", "slower");
const PAUSE: (&str, &str) = ("shorter", "longer");

/// The deterministic metrics: scalar fields of the run record and of `Metrics`
/// (`src/results/row.rs`), identical on every machine.
pub const DETERMINISTIC: &[MetricDef] = &[
    det("metrics.work_total", Unit::Count, true),
    det("metrics.work_collector", Unit::Count, true),
    det("metrics.work_distilled", Unit::Count, false),
    det("metrics.work_clock", Unit::Count, false),
    det("run.collections", Unit::Count, true),
    det("run.collected", Unit::Count, true),
    det("run.gc_collect_returned", Unit::Count, false),
    det("metrics.pauses_work.count", Unit::Count, false),
    det("metrics.pauses_work.p50", Unit::Count, false),
    det("metrics.pauses_work.p90", Unit::Count, false),
    det("metrics.pauses_work.p99", Unit::Count, true),
    det("metrics.pauses_work.p999", Unit::Count, false),
    det("metrics.pauses_work.max", Unit::Count, true),
    det("metrics.pauses_work.total", Unit::Count, false),
    det("run.peak_live_bytes", Unit::Bytes, true),
    det("run.peak_live_objects", Unit::Count, false),
    det("metrics.garbage_peak_bytes", Unit::Bytes, true),
    det("metrics.garbage_mean_bytes", Unit::Bytes, false),
    det("run.leaked_bytes", Unit::Bytes, true),
    det("run.leaked_objects", Unit::Count, false),
    det("run.live_end_bytes", Unit::Bytes, false),
    det("run.live_end_objects", Unit::Count, false),
    det("run.ops", Unit::Count, false),
    det("run.allocations", Unit::Count, false),
    det("run.frees", Unit::Count, false),
    det("run.bytes_allocated", Unit::Bytes, false),
    det("run.work.objects_visited", Unit::Count, false),
    det("run.work.refs_traversed", Unit::Count, false),
    det("run.work.rc_writes", Unit::Count, false),
    det("run.work.gc_header_writes", Unit::Count, false),
    det("run.cow.prefork_pages", Unit::Count, false),
    det("run.cow.dirty_pages", Unit::Count, false),
    det("run.cow.dirty_by_refcount", Unit::Count, false),
    det("run.cow.dirty_by_collector", Unit::Count, false),
    det("run.cow.dirty_by_mutator", Unit::Count, false),
];

/// The wall-clock metrics: scalar fields of `WallMetrics` (`src/results/row.rs`), which vary
/// between runs and machines.
pub const WALL: &[MetricDef] = &[
    wall("wall.wall_ns", Unit::Ns, true, TIME),
    wall("wall.mutator_ns", Unit::Ns, false, TIME),
    wall("wall.collector_ns", Unit::Ns, true, TIME),
    wall("wall.cpu_ns", Unit::Ns, false, TIME),
    wall("wall.pauses_ns.p50", Unit::Ns, false, PAUSE),
    wall("wall.pauses_ns.p90", Unit::Ns, false, PAUSE),
    wall("wall.pauses_ns.p99", Unit::Ns, false, PAUSE),
    wall("wall.pauses_ns.p999", Unit::Ns, false, PAUSE),
    wall("wall.pauses_ns.max", Unit::Ns, true, PAUSE),
    wall("wall.pauses_ns.total", Unit::Ns, false, TIME),
    wall(
        "wall.ops_per_sec",
        Unit::PerSecond,
        false,
        ("slower", "faster"),
    ),
    wall(
        "wall.process_peak_rss_bytes",
        Unit::Bytes,
        false,
        ("smaller", "larger"),
    ),
];

/// Fields of a row that are numbers but not compared, with the reason (`docs/compare.md`).
pub const NOT_COMPARED: &[(&str, &str)] = &[
    ("run.seed", "the cell's identity, the same on both sides"),
    (
        "run.provenance",
        "the machine the run was made on, not a measurement",
    ),
    ("run.work.ops", "the same as run.ops"),
    ("run.time", "the wall-clock figures again; see wall.*"),
    (
        "run.allocations_by_kind",
        "one count per kind; see run.allocations",
    ),
    (
        "run.strategy_stats",
        "counters of one strategy, not shared by the others",
    ),
    ("metrics.mmu_work", "a curve, not a number"),
    ("wall.mmu_wall", "a curve, not a number"),
    (
        "wall.pauses_ns.count",
        "the number of collections: run.collections",
    ),
];

/// The metrics `names` select, deterministic and wall-clock, in table order: the headline
/// metrics for no names, every metric for `all`, otherwise each name as a full path or the
/// unique end of one after a dot (`peak_live_bytes`, `pauses_ns.max`).
pub fn select(names: &[String]) -> Result<(Vec<MetricDef>, Vec<MetricDef>), CompareError> {
    if names.is_empty() {
        let pick = |t: &[MetricDef]| t.iter().filter(|m| m.headline).copied().collect();
        return Ok((pick(DETERMINISTIC), pick(WALL)));
    }
    if names.iter().any(|n| n == "all") {
        return Ok((DETERMINISTIC.to_vec(), WALL.to_vec()));
    }
    let mut chosen = Vec::new();
    for n in names {
        let m = resolve(n)?;
        if !chosen.contains(&m) {
            chosen.push(m);
        }
    }
    let keep = |t: &[MetricDef]| t.iter().filter(|m| chosen.contains(m)).copied().collect();
    Ok((keep(DETERMINISTIC), keep(WALL)))
}

/// The metric a name means: a full path, or the one path ending in `.name`.
fn resolve(name: &str) -> Result<MetricDef, CompareError> {
    let all = || DETERMINISTIC.iter().chain(WALL);
    if let Some(m) = all().find(|m| m.name == name) {
        return Ok(*m);
    }
    let tail = format!(".{name}");
    let ends: Vec<&MetricDef> = all().filter(|m| m.name.ends_with(&tail)).collect();
    match ends.as_slice() {
        [m] => Ok(**m),
        [] => Err(CompareError::UnknownMetric {
            name: name.to_string(),
            valid: all().map(|m| m.name.to_string()).collect(),
        }),
        many => Err(CompareError::AmbiguousMetric {
            name: name.to_string(),
            candidates: many.iter().map(|m| m.name.to_string()).collect(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::read_rows;
    use serde_json::Value;

    /// Every numeric leaf of `v` outside arrays, as a dotted path under `prefix`.
    fn leaves(v: &Value, prefix: &str, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    leaves(x, &format!("{prefix}.{k}"), out);
                }
            }
            Value::Number(_) => out.push(prefix.to_string()),
            _ => {}
        }
    }

    fn a_row() -> Value {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("results/incremental/runs.jsonl");
        let (rows, _) = read_rows(&path).unwrap();
        serde_json::to_value(&rows[0]).unwrap()
    }

    #[test]
    fn every_metric_is_a_number_of_a_real_row() {
        let row = a_row();
        for m in DETERMINISTIC {
            assert!(
                row.pointer(&m.pointer()).and_then(Value::as_u64).is_some(),
                "{}",
                m.name
            );
        }
        for m in WALL {
            assert!(
                row.pointer(&m.pointer()).and_then(Value::as_f64).is_some(),
                "{}",
                m.name
            );
        }
    }

    /// A new field of the run record, `Metrics` or `WallMetrics` is compared or said not to be.
    #[test]
    fn every_numeric_field_is_compared_or_excluded() {
        let row = a_row();
        let mut paths = Vec::new();
        for part in ["run", "metrics", "wall"] {
            leaves(&row[part], part, &mut paths);
        }
        let known = |p: &str| {
            DETERMINISTIC.iter().chain(WALL).any(|m| m.name == p)
                || NOT_COMPARED
                    .iter()
                    .any(|(x, _)| p == *x || p.starts_with(&format!("{x}.")))
        };
        let unknown: Vec<&String> = paths.iter().filter(|p| !known(p)).collect();
        assert!(
            unknown.is_empty(),
            "neither compared nor in NOT_COMPARED: {unknown:?}"
        );
    }

    #[test]
    fn names_resolve_by_path_or_unique_end() {
        let (d, w) = select(&["peak_live_bytes".into(), "pauses_ns.max".into()]).unwrap();
        assert_eq!(
            d.iter().map(|m| m.name).collect::<Vec<_>>(),
            ["run.peak_live_bytes"]
        );
        assert_eq!(
            w.iter().map(|m| m.name).collect::<Vec<_>>(),
            ["wall.pauses_ns.max"]
        );
        let (d, w) = select(&["all".into()]).unwrap();
        assert_eq!((d.len(), w.len()), (DETERMINISTIC.len(), WALL.len()));
        assert!(matches!(
            select(&["max".into()]),
            Err(CompareError::AmbiguousMetric { .. })
        ));
        let err = select(&["peak_bytes".into()]).unwrap_err().to_string();
        assert!(err.contains("run.peak_live_bytes"), "{err}");
    }
}
