//! The workloads' safe points against real CPython: traces of `gcbench`, `binary-trees` and
//! `web-service` (small parameters) replayed by `scripts/cpython_replay.py` in every CPython
//! (3.11, 3.12, 3.13) found on this machine must give the generational model's collections,
//! collection by collection (generation and objects collected), and its final counts. 3.12 and
//! 3.13 collect only at eval-breaker checks, which the replay loop passes after every op, so
//! this checks that these workloads emit a `SafePoint` wherever the difference matters. A
//! missing interpreter is skipped with a printed reason, as in `tests/fidelity.rs`.
//!
//! The ignored test `every_workload_at_default_parameters` does the same for the whole
//! catalogue at default parameters (minutes in release mode:
//! `cargo test --release --test workload_fidelity -- --ignored --nocapture`).

use gclab::fidelity::{self, FidelityRow, Interpreter};

fn pythons() -> Vec<(std::path::PathBuf, &'static str, [i32; 3])> {
    let mut found = Vec::new();
    for (v, preset, th) in fidelity::VERSIONS {
        match fidelity::find_python(v) {
            Interpreter::Found(p) => found.push((p, preset, th)),
            Interpreter::Missing(why) => println!("SKIPPED CPython {v}: {why}"),
        }
    }
    found
}

fn compare(cases: &[(&str, &[&str])], tag: &str) -> Vec<FidelityRow> {
    let dir = std::env::temp_dir().join(format!(
        "gclab-workload-fidelity-{tag}-{}",
        std::process::id()
    ));
    let script = fidelity::default_script();
    let pys = pythons();
    let mut rows = Vec::new();
    for (workload, params) in cases {
        let params: Vec<String> = params.iter().map(|s| s.to_string()).collect();
        for (py, preset, th) in &pys {
            let t = std::time::Instant::now();
            let row =
                fidelity::check_workload(workload, &params, 1, py, preset, *th, &script, &dir)
                    .expect("the comparison runs");
            println!(
                "{} ({:.1} s)",
                fidelity::row_line(&row),
                t.elapsed().as_secs_f64()
            );
            rows.push(row);
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    rows
}

fn assert_all_match(rows: &[FidelityRow]) {
    let bad: Vec<String> = rows
        .iter()
        .filter(|r| !r.matches())
        .map(|r| {
            format!(
                "{} on {}: first difference at collection {:?} (real {} collections, model {}; final counts real {:?}, model {:?})",
                r.case,
                r.python,
                r.first_difference(),
                r.real.collections.len(),
                r.model.collections.len(),
                r.real.count,
                r.model.count
            )
        })
        .collect();
    assert!(bad.is_empty(), "mismatches:\n{}", bad.join("\n"));
}

#[test]
fn safe_points_match_cpython_on_small_workloads() {
    let rows = compare(
        &[
            (
                "gcbench",
                &[
                    "stretch_depth=12",
                    "long_lived_depth=10",
                    "array_size=5000",
                    "max_depth=10",
                ],
            ),
            ("binary-trees", &["depth=10"]),
            (
                "web-service",
                &[
                    "requests=400",
                    "modules=40",
                    "cache_entries=2000",
                    "config=200",
                    "memo_size=100",
                ],
            ),
        ],
        "small",
    );
    if rows.is_empty() {
        println!("SKIPPED: no CPython 3.11/3.12/3.13 found; nothing to compare");
        return;
    }
    assert_all_match(&rows);
    // Something was compared under a deferring version: every case collects.
    for r in &rows {
        assert!(
            !r.real.collections.is_empty(),
            "{} collected nothing",
            r.case
        );
    }
}

#[test]
#[ignore = "minutes: every workload at default parameters in three interpreters (run with --release)"]
fn every_workload_at_default_parameters() {
    let cases: &[(&str, &[&str])] = &[
        ("cycles", &[]),
        ("refcount-walkthrough", &[]),
        ("concat", &[]),
        ("concat", &["variant=format"]),
        ("concat", &["variant=join"]),
        ("gen-vs-list", &[]),
        ("gen-vs-list", &["variant=gen"]),
        ("map-vs-loop", &[]),
        ("map-vs-loop", &["variant=map"]),
        ("combinations", &[]),
        ("thresholds", &[]),
        ("binary-trees", &[]),
        ("gcbench", &[]),
        ("churn", &[]),
        ("create_gc_cycles", &[]),
        ("gc_traversal", &[]),
        ("btree", &[]),
        ("web-service", &[]),
        ("web-service", &["freeze=true"]),
    ];
    let rows = compare(cases, "all");
    assert_all_match(&rows);
}
