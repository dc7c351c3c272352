//! Figures of the published results that are not sweeps (no `experiment.toml`, no
//! `runs.jsonl`): each is drawn from the measurement file its own script or command wrote and
//! committed beside its README. [`MEASURED`] is the table: a file name, a figure stem and the
//! function that draws one from the other. `gclab plot DIR` draws every entry whose file exists
//! in `DIR`, into `DIR/figures/`, and the figure is a function of the file alone (byte-identical
//! on every machine, whatever clock measured the numbers in it).

use super::fig::{Fig, PanelData};
use super::panel::{color, compact, Series, Stroke, ValueLabels};
use super::PlotError;
use crate::metrics;
use plotters::prelude::SeriesLabelPosition;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// One measured figure: drawn into `figures/STEM.svg` when `DIR/FILE` exists.
pub struct Measured {
    /// The measurement file, relative to the result's directory.
    pub file: &'static str,
    /// The figure's file stem.
    pub stem: &'static str,
    /// What wrote the file (for error messages and the docs).
    pub writer: &'static str,
    make: fn(&Path) -> Result<Fig, PlotError>,
}

/// Every measured figure, in the order they are drawn; the first a result has is its headline
/// (the thumbnail in `results/index.html`).
pub const MEASURED: &[Measured] = &[
    Measured {
        file: "characterisation.json",
        stem: "characterisation",
        writer: "gclab workloads",
        make: characterisation,
    },
    Measured {
        file: "fidelity.jsonl",
        stem: "fidelity",
        writer: "gclab fidelity --jsonl, scripts/workloads_fidelity.sh",
        make: fidelity,
    },
    Measured {
        file: "raw/trace_replay.json",
        stem: "trace_replay",
        writer: "scripts/perf_vs_cpython.sh",
        make: trace_replay,
    },
    Measured {
        file: "raw.json",
        stem: "full_collect",
        writer: "scripts/bench_full_collect.py --json",
        make: full_collect,
    },
];

/// Whether `dir` holds any file a [`MEASURED`] figure is drawn from.
pub fn has_measured(dir: &Path) -> bool {
    MEASURED.iter().any(|m| dir.join(m.file).is_file())
}

/// Draws the measured figures of `dir` into `dir/figures/` (SVG, and PNG if `png`); returns the
/// files written (none if `dir` holds no measurement file gclab draws).
pub fn write_measured(dir: &Path, png: bool) -> Result<Vec<PathBuf>, PlotError> {
    super::register_font()?;
    let mut written = Vec::new();
    for m in MEASURED {
        let file = dir.join(m.file);
        if file.is_file() {
            let fig = (m.make)(&file)?;
            written.extend(fig.render(&dir.join("figures"), m.stem, png)?);
        }
    }
    Ok(written)
}

fn bad(file: &Path, message: impl std::fmt::Display) -> PlotError {
    PlotError::Data {
        file: file.to_path_buf(),
        message: message.to_string(),
    }
}

fn read_json<T: DeserializeOwned>(file: &Path) -> Result<T, PlotError> {
    let text = std::fs::read_to_string(file).map_err(|e| bad(file, e))?;
    serde_json::from_str(&text).map_err(|e| bad(file, e))
}

/// A case's short name for a panel: the workload and the parameters that tell variants apart
/// (`variant=`, `freeze=`), without sizes.
fn case_name(case: &str) -> String {
    let mut words = case.split_whitespace();
    let mut name = words.next().unwrap_or("").to_string();
    for w in words {
        if let Some(v) = w
            .strip_prefix("variant=")
            .or_else(|| w.strip_prefix("case="))
        {
            name.push(' ');
            name.push_str(v);
        } else if w.starts_with("freeze=") {
            name.push(' ');
            name.push_str(w);
        }
    }
    name
}

/// Model against real CPython (`fidelity.jsonl`), one panel per case: per CPython version, the
/// collections of each generation and the objects collected, real and modelled as points of
/// the same colour. Where the model equals CPython at every version, the two series merge into
/// one legend entry "…, CPython = …, model"; where it does not, both points are drawn.
fn fidelity(file: &Path) -> Result<Fig, PlotError> {
    let text = std::fs::read_to_string(file).map_err(|e| bad(file, e))?;
    let mut lines: Vec<Compared> = Vec::new();
    for (i, l) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        lines.push(serde_json::from_str(l).map_err(|e| bad(file, format!("line {}: {e}", i + 1)))?);
    }
    if lines.is_empty() {
        return Err(bad(file, "no comparisons in it"));
    }
    let mut versions: Vec<String> = Vec::new();
    let mut cases: Vec<String> = Vec::new();
    for l in &lines {
        if !versions.contains(&l.cpython.version) {
            versions.push(l.cpython.version.clone());
        }
        if !cases.contains(&l.case) {
            cases.push(l.case.clone());
        }
    }
    let metrics: [(&str, FidelityPick); 4] = [
        ("gen 0", |l| {
            (l.cpython.per_generation[0], l.model.per_generation[0])
        }),
        ("gen 1", |l| {
            (l.cpython.per_generation[1], l.model.per_generation[1])
        }),
        ("gen 2", |l| {
            (l.cpython.per_generation[2], l.model.per_generation[2])
        }),
        ("collected", |l| (l.cpython.collected, l.model.collected)),
    ];
    let mut differ = 0;
    let panels = cases
        .iter()
        .map(|case| {
            let rows: Vec<(usize, &Compared)> = lines
                .iter()
                .filter(|l| &l.case == case)
                .filter_map(|l| Some((versions.iter().position(|v| *v == l.cpython.version)?, l)))
                .collect();
            differ += rows.iter().filter(|(_, l)| !l.each_equal).count();
            let series = fidelity_series(&rows, &metrics);
            let unequal: Vec<&str> = rows
                .iter()
                .filter(|(_, l)| !l.each_equal)
                .map(|(_, l)| l.cpython.version.as_str())
                .collect();
            let unequal = (!unequal.is_empty()).then(|| {
                format!(
                    "collection by collection NOT equal on {}",
                    unequal.join(", ")
                )
            });
            let all_zero = series.iter().all(|s| s.points.iter().all(|p| p.1 == 0.0));
            if all_zero {
                // Nothing to see: said in words (in a line under the title).
                let none = "no collection on either side";
                let note = unequal.map_or(none.to_string(), |u| {
                    format!("{none}; {u} (the final counts differ)")
                });
                PanelData {
                    note: Some(note),
                    ..PanelData::new(case_name(case), Vec::new())
                }
            } else {
                PanelData {
                    note: unequal.map(|u| format!("{u} (totals as drawn)")),
                    ..PanelData::new(case_name(case), series)
                }
            }
        })
        .collect();
    let verdict = if differ == 0 {
        format!("all {} pairs equal collection by collection", lines.len())
    } else {
        format!(
            "{differ} of {} pairs not equal collection by collection",
            lines.len()
        )
    };
    Ok(Fig::Panels {
        title: format!(
            "The model against real CPython per case ({verdict}): gen N = collections of \
             generation N, collected = objects collected; a point: one replay; \"CPython = \
             model\": equal at every version"
        ),
        x_desc: "CPython version (the model: its preset)".into(),
        y_desc: "count (log; 0 below the break)".into(),
        x_log: false,
        y_log: true,
        y_range: None,
        x_cats: Some(versions),
        legend: SeriesLabelPosition::UpperRight,
        panels,
    })
}

/// One line of `fidelity.jsonl` (the schema of `gclab fidelity --jsonl`,
/// `crate::fidelity::FidelityLine`, and of `scripts/workloads_fidelity.sh`): the fields drawn.
/// Read here with its own type because `src/plot/` may not import `crate::fidelity` (the module
/// that runs interpreters; ARCHITECTURE.md's map, checked by `tests/architecture.rs`);
/// `tests/figures.rs` checks that what one writes the other reads.
#[derive(Deserialize)]
struct Compared {
    case: String,
    model: Totals,
    cpython: RealTotals,
    each_equal: bool,
}

/// The model's totals in a [`Compared`].
#[derive(Deserialize)]
struct Totals {
    per_generation: [u64; 3],
    collected: u64,
}

/// Real CPython's totals in a [`Compared`].
#[derive(Deserialize)]
struct RealTotals {
    version: String,
    per_generation: [u64; 3],
    collected: u64,
}

/// Which totals of a [`Compared`] a series draws: (CPython's, the model's).
type FidelityPick = fn(&Compared) -> (u64, u64);

/// The series of one case's panel (`rows`: each line with its version's x position): a metric
/// on which the model equals CPython at every version is one series "NAME: CPython = model"
/// (metrics with the same values share it, "NAME, NAME: ..."); a metric on which they differ
/// is two, "NAME: CPython" and "NAME: model", in the same colour.
fn fidelity_series(rows: &[(usize, &Compared)], metrics: &[(&str, FidelityPick)]) -> Vec<Series> {
    // Metrics equal on both sides: their names, the first one's index (its colour), the points.
    type Equal<'a> = (Vec<&'a str>, usize, Vec<(f64, f64)>);
    let mut equal: Vec<Equal<'_>> = Vec::new();
    let mut series = Vec::new();
    for (k, (name, pick)) in metrics.iter().enumerate() {
        let side = |real: bool| -> Vec<(f64, f64)> {
            rows.iter()
                .map(|&(x, l)| {
                    let (r, m) = pick(l);
                    (x as f64, if real { r } else { m } as f64)
                })
                .collect()
        };
        let (real, model) = (side(true), side(false));
        if real == model {
            match equal.iter_mut().find(|e| e.2 == real) {
                Some(e) => e.0.push(name),
                None => equal.push((vec![name], k, real)),
            }
        } else {
            for (label, points) in [("CPython", real), ("model", model)] {
                series.push(Series {
                    label: format!("{name}: {label}"),
                    color: color(k),
                    points,
                    err: Vec::new(),
                    stroke: Stroke::Points,
                });
            }
        }
    }
    let merged = equal.into_iter().map(|(names, k, points)| Series {
        label: format!("{}: CPython = model", names.join(", ")),
        color: color(k),
        points,
        err: Vec::new(),
        stroke: Stroke::Points,
    });
    merged.chain(series).collect()
}

/// One workload of `characterisation.json` (`gclab workloads --json`): the fields drawn.
#[derive(Deserialize)]
struct Characterised {
    workload: String,
    #[serde(default)]
    params: Vec<String>,
    bytes_allocated: u64,
    cyclic_garbage_bytes: u64,
    min_peak_bytes: u64,
}

/// What each workload asks of a collector (`characterisation.json`): bytes allocated, the
/// cyclic garbage reference counting alone never frees, and the smallest peak any collector
/// could reach (an oracle freeing every object when it becomes unreachable), one group of bars
/// per workload on a log axis.
fn characterisation(file: &Path) -> Result<Fig, PlotError> {
    let mut rows: Vec<Characterised> = read_json(file)?;
    if rows.is_empty() {
        return Err(bad(file, "no workloads in it"));
    }
    // A workload's variants side by side, workloads in the order the file first names them.
    let first: Vec<String> = rows.iter().map(|r| r.workload.clone()).collect();
    rows.sort_by_key(|r| first.iter().position(|w| *w == r.workload));
    let cats: Vec<String> = rows
        .iter()
        .map(|r| case_name(&format!("{} {}", r.workload, r.params.join(" "))))
        .collect();
    type Pick = fn(&Characterised) -> u64;
    let fields: [(&str, Pick); 3] = [
        ("bytes allocated", |r| r.bytes_allocated),
        ("cyclic garbage: what reference counting never frees", |r| {
            r.cyclic_garbage_bytes
        }),
        ("smallest possible peak (an oracle collector)", |r| {
            r.min_peak_bytes
        }),
    ];
    let series = fields
        .iter()
        .enumerate()
        .map(|(k, (label, pick))| Series {
            label: label.to_string(),
            color: color(k),
            points: rows
                .iter()
                .enumerate()
                .map(|(i, r)| (i as f64, pick(r) as f64))
                .collect(),
            err: Vec::new(),
            stroke: Stroke::Solid,
        })
        .collect();
    Ok(Fig::Bars {
        title: "What each workload asks of a collector (seed 1, default parameters, \
                independent of the strategy); a bar: one run of the workload"
            .into(),
        y_desc: "bytes (log; a bar marked 0 is zero)".into(),
        cats,
        series,
        reference: None,
        y_log: true,
        values: ValueLabels::Short,
    })
}

/// One row of `raw/trace_replay.json` (`scripts/perf_vs_cpython.sh`): the fields drawn.
#[derive(Deserialize)]
struct Replay {
    trace: String,
    preset: String,
    python: String,
    gclab_wall_ns: Vec<u64>,
    cpython_replay_ns: Vec<u64>,
}

/// The median of integer times ([`metrics::median`]); NaN if empty.
fn median(xs: &[u64]) -> f64 {
    metrics::median(&xs.iter().map(|&x| x as f64).collect::<Vec<_>>())
}

/// `n` with a comma between groups of three digits (as `crate::report::thousands`, which
/// `src/plot/` may not import: ARCHITECTURE.md's map).
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The target of `docs/performance.md` for replaying a trace: CPython's time over gclab's.
const REPLAY_TARGET: f64 = 20.0;

/// How many times faster gclab replays each trace than real CPython runs it
/// (`raw/trace_replay.json`): the ratio of the medians, one bar per CPython version, the
/// target dashed.
fn trace_replay(file: &Path) -> Result<Fig, PlotError> {
    let rows: Vec<Replay> = read_json(file)?;
    if rows.is_empty() {
        return Err(bad(file, "no traces in it"));
    }
    let mut traces: Vec<String> = Vec::new();
    let mut sides: Vec<(String, String)> = Vec::new();
    for r in &rows {
        if !traces.contains(&r.trace) {
            traces.push(r.trace.clone());
        }
        let side = (r.preset.clone(), r.python.clone());
        if !sides.contains(&side) {
            sides.push(side);
        }
    }
    let rounds = rows
        .iter()
        .map(|r| r.gclab_wall_ns.len())
        .max()
        .unwrap_or(0);
    let series = sides
        .iter()
        .enumerate()
        .map(|(k, (preset, python))| Series {
            label: format!("CPython {python} / gclab {preset}"),
            color: color(k),
            points: traces
                .iter()
                .enumerate()
                .map(|(i, t)| {
                    let y = rows
                        .iter()
                        .find(|r| &r.trace == t && &r.preset == preset && &r.python == python)
                        .map_or(f64::NAN, |r| {
                            median(&r.cpython_replay_ns) / median(&r.gclab_wall_ns)
                        });
                    (i as f64, y)
                })
                .collect(),
            err: Vec::new(),
            stroke: Stroke::Solid,
        })
        .collect();
    Ok(Fig::Bars {
        title: format!(
            "Replaying a trace: real CPython's time over gclab's on the same op stream; a bar: \
             the ratio of the medians over {rounds} alternating rounds; dashed: the {}x target",
            compact(REPLAY_TARGET)
        ),
        y_desc: "CPython time / gclab time (times faster)".into(),
        cats: traces,
        series,
        reference: Some(REPLAY_TARGET),
        y_log: false,
        values: ValueLabels::All,
    })
}

/// `raw.json` of `scripts/bench_full_collect.py --json`: the fields drawn.
#[derive(Deserialize)]
struct FullCollect {
    objects: u64,
    python: String,
    preset: String,
    rounds: Vec<FullCollectRound>,
}

/// One round of [`FullCollect`]: every timed collection of both sides, ns.
#[derive(Deserialize)]
struct FullCollectRound {
    gclab_full_ns: Vec<u64>,
    gclab_gen0_ns: Vec<u64>,
    cpython_full_ns: Vec<u64>,
    cpython_gen0_ns: Vec<u64>,
}

/// Full and gen-0 collection, gclab's model against real CPython on the same heap
/// (`raw.json`): per round, the median of the timed collections.
fn full_collect(file: &Path) -> Result<Fig, PlotError> {
    let d: FullCollect = read_json(file)?;
    if d.rounds.is_empty() || d.objects == 0 {
        return Err(bad(file, "no rounds in it"));
    }
    let n = d.objects as f64;
    let side = |label: String, k: usize, pick: RoundPick, per: f64| {
        per_round(label, color(k), &d.rounds, pick, per)
    };
    let g = format!("gclab ({} model)", d.preset);
    let c = format!("CPython {}", d.python);
    let reps = d
        .rounds
        .iter()
        .map(|r| r.gclab_full_ns.len())
        .max()
        .unwrap_or(0);
    let panels = vec![
        PanelData {
            y_desc: Some("ns per object".into()),
            ..PanelData::new(
                format!(
                    "Full collection of {} live containers",
                    thousands(d.objects)
                ),
                vec![
                    side(c.clone(), 1, |r| &r.cpython_full_ns, n),
                    side(g.clone(), 0, |r| &r.gclab_full_ns, n),
                ],
            )
        },
        PanelData {
            y_desc: Some("ns per collection".into()),
            ..PanelData::new(
                "Gen-0 collection, the whole heap in gen 2".to_string(),
                vec![
                    side(g, 0, |r| &r.gclab_gen0_ns, 1.0),
                    side(c, 1, |r| &r.cpython_gen0_ns, 1.0),
                ],
            )
        },
    ];
    Ok(Fig::Panels {
        title: format!(
            "Collecting the same heap ({} empty lists in one list): gclab against CPython, \
             alternating in one run; a point: the median of {reps} timed collections in one round",
            thousands(d.objects - 1)
        ),
        x_desc: "round".into(),
        y_desc: "ns".into(),
        x_log: false,
        y_log: false,
        y_range: None,
        x_cats: Some((1..=d.rounds.len()).map(|i| i.to_string()).collect()),
        legend: SeriesLabelPosition::UpperRight,
        panels,
    })
}

/// Which times of a round a series shows.
type RoundPick = fn(&FullCollectRound) -> &Vec<u64>;

/// A series with one point per round: the median of the round's times divided by `per`
/// (collection times are skewed by the odd slow one, so a mean would describe none of them).
fn per_round(
    label: String,
    color: plotters::style::RGBColor,
    rounds: &[FullCollectRound],
    pick: RoundPick,
    per: f64,
) -> Series {
    Series {
        label,
        color,
        points: rounds
            .iter()
            .enumerate()
            .map(|(i, r)| (i as f64, median(pick(r)) / per))
            .collect(),
        err: Vec::new(),
        stroke: Stroke::Solid,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_names_keep_what_tells_variants_apart_and_drop_sizes() {
        assert_eq!(case_name("cycles size=20000"), "cycles");
        assert_eq!(
            case_name("gen-vs-list n=2000 reps=20 variant=gen"),
            "gen-vs-list gen"
        );
        assert_eq!(
            case_name("web-service requests=400 freeze=true"),
            "web-service freeze=true"
        );
    }

    #[test]
    fn thousands_are_grouped_by_commas() {
        assert_eq!(thousands(999_999), "999,999");
        assert_eq!(thousands(1_000_000), "1,000,000");
        assert_eq!(thousands(12), "12");
    }

    #[test]
    fn medians_of_odd_and_even_counts() {
        assert_eq!(median(&[3, 1, 2]), 2.0);
        assert_eq!(median(&[4, 1, 3, 2]), 2.5);
        assert!(median(&[]).is_nan());
    }

    #[test]
    fn a_malformed_file_is_a_data_error_naming_the_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let f = dir.path().join("raw.json");
        std::fs::write(&f, "{\"objects\": 3}").expect("write");
        match full_collect(&f) {
            Err(PlotError::Data { file, message }) => {
                assert_eq!(file, f);
                assert!(
                    message.contains("python") || message.contains("missing"),
                    "{message}"
                );
            }
            other => panic!("expected a data error, got {:?}", other.err()),
        }
    }
}
