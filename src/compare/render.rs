//! A [`Comparison`] as text: aligned tables for the terminal (comfy-table) or markdown.

use super::metric::{MetricDef, Unit};
use super::{
    few, Comparison, Estimate, GroupCmp, OneSided, Values, Verdict, BOOTSTRAP_SEED,
    MIN_RUNS_FOR_VERDICT, RESAMPLES,
};
use crate::metrics::median;
use crate::report::thousands;
use std::fmt::Write as _;

/// How a comparison is printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned tables with borders, for a terminal.
    Table,
    /// Markdown tables, for a README or an issue.
    Markdown,
}

/// A table before it is drawn: a header, which columns are numbers (right-aligned), the rows.
struct Grid {
    header: Vec<&'static str>,
    numeric: Vec<bool>,
    rows: Vec<Vec<String>>,
}

impl Grid {
    fn draw(&self, format: Format) -> String {
        match format {
            Format::Table => self.terminal(),
            Format::Markdown => self.markdown(),
        }
    }

    fn terminal(&self) -> String {
        use comfy_table::{presets, CellAlignment, Table};
        let mut t = Table::new();
        t.load_preset(presets::UTF8_FULL_CONDENSED);
        t.set_header(self.header.clone());
        for row in &self.rows {
            t.add_row(row.clone());
        }
        for (i, numeric) in self.numeric.iter().enumerate() {
            if let Some(c) = t.column_mut(i) {
                c.set_cell_alignment(if *numeric {
                    CellAlignment::Right
                } else {
                    CellAlignment::Left
                });
            }
        }
        format!("{t}\n")
    }

    fn markdown(&self) -> String {
        let line = |cells: Vec<String>| format!("| {} |\n", cells.join(" | "));
        let mut s = line(self.header.iter().map(|h| h.to_string()).collect());
        s.push_str(&line(
            self.numeric
                .iter()
                .map(|n| if *n { "---:" } else { "---" }.to_string())
                .collect(),
        ));
        for row in &self.rows {
            s.push_str(&line(row.iter().map(|c| c.replace('|', "\\|")).collect()));
        }
        s
    }
}

/// The comparison as text in `format`: who A and B are, the deterministic table, the
/// wall-clock table, and what was not compared.
pub fn render(c: &Comparison, format: Format) -> String {
    let md = format == Format::Markdown;
    let mut s = String::new();
    let side = |path: &std::path::Path, strategy: Option<&String>| {
        let p = if md {
            format!("`{}`", path.display())
        } else {
            path.display().to_string()
        };
        match strategy {
            Some(st) if md => format!("strategy `{st}` of {p}"),
            Some(st) => format!("strategy {st} of {p}"),
            None => p,
        }
    };
    let (sa, sb) = match &c.strategies {
        Some((a, b)) => (Some(a), Some(b)),
        None => (None, None),
    };
    let bullet = if md { "- " } else { "" };
    let _ = writeln!(s, "{bullet}A: {}", side(&c.a, sa));
    let _ = writeln!(s, "{bullet}B: {}", side(&c.b, sb));
    let _ = writeln!(
        s,
        "{bullet}{} matched {} in {} {} (runs matched on {}).",
        c.matched(),
        plural(c.matched(), "run"),
        c.groups.len(),
        plural(c.groups.len(), "group"),
        if c.strategies.is_some() {
            "workload and stream seed"
        } else {
            "workload, strategy and stream seed"
        }
    );
    let heading = |s: &mut String, text: &str| {
        let _ = writeln!(s, "\n{}{text}\n", if md { "### " } else { "" });
    };
    let by_strategy = c.strategies.is_none();
    let det = deterministic_grid(&c.groups, by_strategy);
    if !det.rows.is_empty() {
        heading(&mut s, "Deterministic metrics");
        let _ = writeln!(
            s,
            "Mean over the matched runs, from exact integer sums (two decimals where it is not \
             whole); B - A, its share of A, and how many matched runs differ at all. These are \
             identical on every machine.\n"
        );
        s.push_str(&det.draw(format));
    }
    let wall = wall_grid(&c.groups, by_strategy);
    if !wall.rows.is_empty() {
        heading(&mut s, "Wall-clock metrics");
        let _ = writeln!(
            s,
            "Median over the matched runs; B/A, the ratio of the medians, with its 95% paired \
             bootstrap interval ({RESAMPLES} resamples of the runs, seed {BOOTSTRAP_SEED:#x}). \
             The verdict is \"no significant difference\" when the interval contains 1; it needs \
             {MIN_RUNS_FOR_VERDICT} matched runs, since with fewer, runs that all happen to move \
             the same way look significant.\n"
        );
        s.push_str(&wall.draw(format));
    }
    notes(c, md, &mut s);
    s
}

/// The group's leading cells: workload, and strategy when whole sets are compared.
fn lead(g: &GroupCmp, by_strategy: bool) -> Vec<String> {
    let mut v = vec![g.workload.clone()];
    if by_strategy {
        v.push(g.strategy.clone().unwrap_or_default());
    }
    v
}

fn lead_header(by_strategy: bool) -> Vec<&'static str> {
    if by_strategy {
        vec!["workload", "strategy", "metric"]
    } else {
        vec!["workload", "metric"]
    }
}

fn deterministic_grid(groups: &[GroupCmp], by_strategy: bool) -> Grid {
    let mut header = lead_header(by_strategy);
    let lead_n = header.len();
    header.extend(["A", "B", "B - A", "(B - A)/A", "runs differing"]);
    let mut rows = Vec::new();
    for g in groups {
        for v in &g.deterministic {
            let mut row = lead(g, by_strategy);
            row.push(v.metric.name.to_string());
            row.extend(exact_cells(v));
            rows.push(row);
        }
    }
    Grid {
        numeric: (0..header.len()).map(|i| i >= lead_n).collect(),
        header,
        rows,
    }
}

/// A, B, B - A, (B - A)/A and the runs that differ, exactly.
fn exact_cells(v: &Values<u64>) -> Vec<String> {
    let sum = |xs: &Option<Vec<u64>>| {
        xs.as_ref()
            .map(|x| x.iter().map(|&n| n as u128).sum::<u128>())
    };
    let (Some(a), Some(b)) = (&v.a, &v.b) else {
        let show = |xs: &Option<Vec<u64>>| {
            xs.as_ref().map_or("n/a".to_string(), |x| {
                mean(x.iter().map(|&n| n as u128).sum(), x.len())
            })
        };
        return vec![
            show(&v.a),
            show(&v.b),
            "n/a".into(),
            "n/a".into(),
            "n/a".into(),
        ];
    };
    let (sa, sb) = (sum(&v.a).unwrap_or(0), sum(&v.b).unwrap_or(0));
    let n = a.len();
    let diff = if sb >= sa {
        let d = sb - sa;
        if d == 0 {
            "0".to_string()
        } else {
            format!("+{}", mean(d, n))
        }
    } else {
        format!("-{}", mean(sa - sb, n))
    };
    let differing = a.iter().zip(b).filter(|(x, y)| x != y).count();
    vec![
        mean(sa, n),
        mean(sb, n),
        diff,
        relative(sa, sb),
        format!("{differing} of {n}"),
    ]
}

/// `sum / n` with thousands separators: exact when it divides, else rounded to two decimals
/// (from the exact sum, so no rounding error accumulates).
fn mean(sum: u128, n: usize) -> String {
    let n = n.max(1) as u128;
    let group = |x: u128| thousands(u64::try_from(x).unwrap_or(u64::MAX));
    if sum % n == 0 {
        return group(sum / n);
    }
    let cents = (sum * 100 + n / 2) / n;
    format!("{}.{:02}", group(cents / 100), cents % 100)
}

/// `(B - A)/A` as a signed percentage; `n/a` when A is 0 and B is not.
fn relative(sa: u128, sb: u128) -> String {
    if sa == sb {
        return "0%".into();
    }
    if sa == 0 {
        return "n/a".into();
    }
    let r = (sb as f64 - sa as f64) / sa as f64 * 100.0;
    if r.abs() < 0.005 {
        format!("{}<0.01%", if r < 0.0 { "-" } else { "+" })
    } else {
        format!("{r:+.2}%")
    }
}

fn wall_grid(groups: &[GroupCmp], by_strategy: bool) -> Grid {
    let mut header = lead_header(by_strategy);
    let lead_n = header.len();
    header.extend([
        "A median",
        "B median",
        "B/A",
        "95% interval",
        "verdict",
        "runs",
    ]);
    let mut rows = Vec::new();
    for g in groups {
        for (v, e) in &g.wall {
            let mut row = lead(g, by_strategy);
            row.push(v.metric.name.to_string());
            let med = |xs: &Option<Vec<f64>>| {
                xs.as_ref()
                    .map_or("n/a".to_string(), |x| quantity(median(x), v.metric.unit))
            };
            row.extend([med(&v.a), med(&v.b)]);
            match e {
                Estimate::Ratio(ci, _) => row.extend([
                    format!("{:.3}", ci.ratio),
                    format!("[{:.3}, {:.3}]", ci.low, ci.high),
                ]),
                _ => row.extend(["-".to_string(), "-".to_string()]),
            }
            row.push(verdict(e, &v.metric));
            row.push(g.runs.to_string());
            rows.push(row);
        }
    }
    Grid {
        // The verdict is words: left-aligned.
        numeric: (0..header.len())
            .map(|i| i >= lead_n && i != header.len() - 2)
            .collect(),
        header,
        rows,
    }
}

/// A wall-clock value in its unit.
fn quantity(x: f64, unit: Unit) -> String {
    match unit {
        Unit::Ns if x >= 1e9 => format!("{:.3} s", x / 1e9),
        Unit::Ns if x >= 1e6 => format!("{:.3} ms", x / 1e6),
        Unit::Ns if x >= 1e3 => format!("{:.3} µs", x / 1e3),
        Unit::Ns => format!("{x:.0} ns"),
        Unit::Bytes => format!("{:.1} MiB", x / (1024.0 * 1024.0)),
        Unit::PerSecond => format!("{:.2} M/s", x / 1e6),
        Unit::Count => thousands(x.round() as u64),
    }
}

/// The verdict in the metric's words.
fn verdict(e: &Estimate, m: &MetricDef) -> String {
    match (e.verdict(), e) {
        (Some(Verdict::Lower), _) => format!("B {}", m.words.0),
        (Some(Verdict::Higher), _) => format!("B {}", m.words.1),
        (Some(Verdict::NoDifference), _) => "no significant difference".into(),
        (None, Estimate::Ratio(_, n)) => {
            format!("too few runs for a verdict ({n}; need {MIN_RUNS_FOR_VERDICT})")
        }
        (None, Estimate::TooFew(n)) => format!("too few runs for an interval ({n}; need 2)"),
        (None, Estimate::BothZero) => "zero on both sides".into(),
        (None, Estimate::Undefined) => "no ratio (a zero value)".into(),
        (None, _) => "n/a (missing on a side)".into(),
    }
}

/// Runs on one side only, groups whose seeds differ, runs that did not complete.
fn notes(c: &Comparison, md: bool, s: &mut String) {
    let list = |v: &[OneSided]| few(&v.iter().map(name).collect::<Vec<_>>());
    let mut lines = Vec::new();
    for (side, v) in [("A", &c.only_a), ("B", &c.only_b)] {
        if !v.is_empty() {
            let runs: usize = v.iter().map(|o| o.runs).sum();
            lines.push(format!(
                "Only in {side}, not compared: {runs} runs: {}.",
                list(v)
            ));
        }
    }
    let both: Vec<OneSided> = c
        .only_a
        .iter()
        .filter(|o| {
            c.only_b
                .iter()
                .any(|p| p.workload == o.workload && p.strategy == o.strategy)
        })
        .cloned()
        .collect();
    if !both.is_empty() {
        lines.push(format!(
            "On both sides but with different stream seeds (the workload's parameters or the \
             master seeds differ): {}.",
            list(&both)
        ));
    }
    if c.unchanged > 0 {
        lines.push(format!(
            "{} metric rows without a difference left out (--changed).",
            c.unchanged
        ));
    }
    if c.incomplete != (0, 0) {
        lines.push(format!(
            "Not compared: {} rows of A and {} of B did not complete (out of memory or failed).",
            c.incomplete.0, c.incomplete.1
        ));
    }
    if !lines.is_empty() {
        let _ = writeln!(s, "\n{}Notes\n", if md { "### " } else { "" });
        for l in lines {
            let _ = writeln!(s, "{}{l}", if md { "- " } else { "" });
        }
    }
}

/// `word`, with an `s` unless there is one.
fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        word.to_string()
    } else {
        format!("{word}s")
    }
}

fn name(o: &OneSided) -> String {
    match &o.strategy {
        Some(st) => format!("{} / {st} ({})", o.workload, o.runs),
        None => format!("{} ({})", o.workload, o.runs),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn means_are_exact_or_rounded_from_the_exact_sum() {
        assert_eq!(mean(3_000_000, 3), "1,000,000");
        assert_eq!(mean(10, 3), "3.33");
        assert_eq!(mean(20, 3), "6.67");
        assert_eq!(mean(0, 2), "0");
        // Sums beyond u64 stay exact.
        assert_eq!(mean(2 * u64::MAX as u128, 2), thousands(u64::MAX));
    }

    #[test]
    fn relative_differences() {
        assert_eq!(relative(200, 300), "+50.00%");
        assert_eq!(relative(300, 200), "-33.33%");
        assert_eq!(relative(0, 0), "0%");
        assert_eq!(relative(0, 5), "n/a");
        assert_eq!(relative(1_000_000, 1_000_001), "+<0.01%");
    }

    #[test]
    fn markdown_tables_align_numbers_right_and_escape_bars() {
        let g = Grid {
            header: vec!["name", "value"],
            numeric: vec![false, true],
            rows: vec![vec!["a|b".into(), "1".into()]],
        };
        assert_eq!(
            g.markdown(),
            "| name | value |\n| --- | ---: |\n| a\\|b | 1 |\n"
        );
        let t = g.terminal();
        assert!(t.contains("a|b") && t.contains("value"), "{t}");
    }
}
