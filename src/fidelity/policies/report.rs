//! `model-vs-real/<version>.md`: a [`VersionReport`] as markdown, one function per section.

use super::{median_f, PolicyRow, VersionReport, POLICIES};
use std::fmt::Write as _;

/// The table label of the policy named `name`.
fn label(name: &'static str) -> &'static str {
    POLICIES
        .iter()
        .find(|q| q.name == name)
        .map_or(name, |q| q.label)
}

/// Whether `x` lies within the real runs' range `r`.
fn within(x: f64, r: (f64, f64)) -> bool {
    r.0 <= x && x <= r.1
}

fn rel(model: f64, real: f64) -> String {
    if real == 0.0 {
        if model == 0.0 {
            "0%".into()
        } else {
            "n/a".into()
        }
    } else {
        format!("{:+.0}%", (model - real) / real * 100.0)
    }
}

fn gens(g: [f64; 3]) -> String {
    let f = |x: f64| {
        if x.fract() == 0.0 {
            format!("{x:.0}")
        } else {
            format!("{x:.1}")
        }
    };
    format!("{}/{}/{}", f(g[0]), f(g[1]), f(g[2]))
}

/// The comparison of one version as markdown.
pub fn report_markdown(r: &VersionReport) -> String {
    let mut s = String::new();
    cost_section(&mut s, r);
    collections_section(&mut s, r);
    memory_section(&mut s, r);
    errors_section(&mut s, r);
    per_program_section(&mut s, r);
    pairing_section(&mut s, r);
    s
}

/// The title, what the file is, and the fitted cost model.
fn cost_section(s: &mut String, r: &VersionReport) {
    let c = &r.cost;
    let _ = writeln!(s, "# Model against real runs: CPython {}\n", r.version);
    let _ = writeln!(
        s,
        "Written by `gclab fidelity --real-runs` from the real runs of `scripts/real_runs.py` \
         (`real-runs/{}.jsonl`) and replays of `corpus/recordings/{}/` under `{}` with the \
         matching settings. Real figures are medians over the runs; model figures come from \
         one deterministic replay each. Every column but the collection counts depends on this \
         machine.\n",
        r.version, r.version, r.preset
    );
    let _ = writeln!(s, "## Cost model\n");
    if c.samples == 0 {
        let _ = writeln!(
            s,
            "No default-policy runs paired with the model's collections: the cost model is not \
             fitted, and every predicted pause below is 0.\n"
        );
    } else {
        let _ = writeln!(
        s,
        "Fitted to the default policy's {} real collections, each paired with the model's \
         collection of the same generation and rank, by least squares weighted by the inverse of \
         the duration, with non-negative coefficients: a collection takes **{:.1} µs + {:.2} ns per object in the \
         generations collected + {:.2} ns per work unit (object visited or reference traversed) \
         + {:.2} ns per object collected**. Median error of a fitted collection's duration: \
         {:.0}%.\n",
        c.samples,
        c.fixed_ns / 1e3,
        c.per_visited_ns,
        c.per_work_ns,
        c.per_collected_ns,
        c.median_rel_error * 100.0
    );
    }
}

/// Collections per generation, collector time and pauses, real against model.
fn collections_section(s: &mut String, r: &VersionReport) {
    let _ = writeln!(s, "## Collections and collector time\n");
    let _ = writeln!(
        s,
        "Collections per generation (0/1/2), collector time (the sum of the pauses) and pause \
         percentiles, real against the model's prediction. Error is model minus real over real.\n"
    );
    let _ = writeln!(
        s,
        "| program | policy | runs | collections real | model | collector ms real (range) | model | error | p50 µs real | model | p90 µs real | model | p99 µs real | model | max µs real | model |"
    );
    let _ = writeln!(
        s,
        "|---|---|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for p in &r.programs {
        for row in &p.rows {
            let label = label(row.policy);
            let _ = write!(
                s,
                "| {} | {} | {} | {} | {} | {:.1} ({:.1}–{:.1}) | {:.1} | {} |",
                p.program,
                label,
                row.runs,
                gens(row.real_collections),
                gens(row.model_collections.map(|x| x as f64)),
                row.real_gc_ms,
                row.real_gc_range.0,
                row.real_gc_range.1,
                row.model_gc_ms,
                rel(row.model_gc_ms, row.real_gc_ms),
            );
            for k in 0..4 {
                let _ = write!(
                    s,
                    " {:.0} | {:.0} |",
                    row.real_pauses_us[k], row.model_pauses_us[k]
                );
            }
            let _ = writeln!(s);
        }
    }
}

/// Peak RSS and wall time, real against predicted.
fn memory_section(s: &mut String, r: &VersionReport) {
    let _ = writeln!(s, "\n## Peak memory and wall time\n");
    let _ = writeln!(
        s,
        "Peak RSS of the whole process and wall time, real against predicted. The model predicts \
         a policy's change: its peak RSS is the default's real peak RSS plus the change in the \
         model's peak live bytes, its wall time the default's real wall time plus the change in \
         predicted collector time (so the default rows agree by construction).\n"
    );
    let _ = writeln!(
        s,
        "| program | policy | peak RSS MB real | model | error | model peak live MB | wall s real (range) | model | error |"
    );
    let _ = writeln!(s, "|---|---|---:|---:|---:|---:|---:|---:|---:|");
    for p in &r.programs {
        for row in &p.rows {
            let label = label(row.policy);
            let _ = writeln!(
                s,
                "| {} | {} | {:.1} | {:.1} | {} | {:.1} | {:.3} ({:.3}–{:.3}) | {:.3} | {} |",
                p.program,
                label,
                row.real_rss_mb,
                row.model_rss_mb,
                rel(row.model_rss_mb, row.real_rss_mb),
                row.model_peak_live_mb,
                row.real_wall_s,
                row.real_wall_range.0,
                row.real_wall_range.1,
                row.model_wall_s,
                rel(row.model_wall_s, row.real_wall_s),
            );
        }
    }
}

/// The model's error per metric and policy, over the programs.
fn errors_section(s: &mut String, r: &VersionReport) {
    let _ = writeln!(s, "\n## The model's error per metric\n");
    let _ = writeln!(
        s,
        "Over the programs, for each policy: the median and the largest absolute error, and in \
         how many programs the prediction lies within the range of the real runs (the machine's \
         own run-to-run spread). Collections: model minus real, summed over the generations. \
         The default policy calibrates the cost model; the others are predictions.\n"
    );
    let _ = writeln!(
        s,
        "| policy | collections: programs equal | largest difference | collector time: median error | largest | within the real range | p90 pause: median error | largest | peak RSS: median error | largest | wall: median error | largest | within the real range |"
    );
    let _ = writeln!(
        s,
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for p in &POLICIES {
        let rows: Vec<&PolicyRow> = r
            .programs
            .iter()
            .flat_map(|x| x.rows.iter())
            .filter(|row| row.policy == p.name)
            .collect();
        if rows.is_empty() {
            continue;
        }
        let diff = |row: &&PolicyRow| -> f64 {
            (0..3)
                .map(|g| (row.model_collections[g] as f64 - row.real_collections[g]).abs())
                .sum()
        };
        let equal = rows.iter().filter(|row| diff(row) == 0.0).count();
        let largest = rows.iter().map(diff).fold(0.0, f64::max);
        let stat = |f: &dyn Fn(&PolicyRow) -> (f64, f64)| -> String {
            let mut errs: Vec<f64> = rows
                .iter()
                .map(|row| f(row))
                .filter(|(_, real)| *real > 0.0)
                .map(|(m, real)| ((m - real) / real).abs() * 100.0)
                .collect();
            if errs.is_empty() {
                return "n/a | n/a".into();
            }
            let max = errs.iter().copied().fold(0.0, f64::max);
            format!("{:.0}% | {:.0}%", median_f(&mut errs), max)
        };
        let gc_in = rows
            .iter()
            .filter(|row| within(row.model_gc_ms, row.real_gc_range))
            .count();
        let wall_in = rows
            .iter()
            .filter(|row| within(row.model_wall_s, row.real_wall_range))
            .count();
        let _ = writeln!(
            s,
            "| {} | {}/{} | {} | {} | {}/{} | {} | {} | {} | {}/{} |",
            p.label,
            equal,
            rows.len(),
            largest,
            stat(&|row| (row.model_gc_ms, row.real_gc_ms)),
            gc_in,
            rows.len(),
            stat(&|row| (row.model_pauses_us[1], row.real_pauses_us[1])),
            stat(&|row| (row.model_rss_mb, row.real_rss_mb)),
            stat(&|row| (row.model_wall_s, row.real_wall_s)),
            wall_in,
            rows.len(),
        );
    }
}

/// The cost model fitted to each program alone, and its collector-time error per policy.
fn per_program_section(s: &mut String, r: &VersionReport) {
    let _ = writeln!(s, "\n## Calibrated per program\n");
    let _ = writeln!(
        s,
        "How much of the collector-time error is the program rather than the policy: the cost \
         model fitted to each program's own default runs, and its collector-time error (model \
         minus real over real) under each policy.\n"
    );
    let _ = write!(
        s,
        "| program | fixed µs | ns per object visited | ns per work unit | ns per object collected | median fitted error |"
    );
    for p in &POLICIES {
        let _ = write!(s, " {} |", p.label);
    }
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "|---|---:|---:|---:|---:|---:|{}",
        "---:|".repeat(POLICIES.len())
    );
    for p in &r.programs {
        let o = &p.own;
        let _ = write!(
            s,
            "| {} | {:.1} | {:.2} | {:.2} | {:.2} | {:.0}% |",
            p.program,
            o.fixed_ns / 1e3,
            o.per_visited_ns,
            o.per_work_ns,
            o.per_collected_ns,
            o.median_rel_error * 100.0
        );
        for q in &POLICIES {
            let cell = p
                .rows
                .iter()
                .find(|row| row.policy == q.name)
                .map_or("".into(), |row| rel(row.own_gc_ms, row.real_gc_ms));
            let _ = write!(s, " {cell} |");
        }
        let _ = writeln!(s);
    }
}

/// How many default-policy collections the calibration paired, per program.
fn pairing_section(s: &mut String, r: &VersionReport) {
    let _ = writeln!(s, "\n## Pairing\n");
    let _ = writeln!(
        s,
        "Default-policy real collections paired with a model collection of the same generation \
         and rank (the calibration's samples), over all runs:\n"
    );
    for p in &r.programs {
        let _ = writeln!(s, "- {}: {} of {}", p.program, p.paired.0, p.paired.1);
    }
}
