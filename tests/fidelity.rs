//! The fidelity check on small traces: the generational model must match every CPython
//! (3.11, 3.12, 3.13) found on this machine collection by collection. A missing interpreter is
//! skipped with a printed reason.

use gclab::fidelity::{self, Options};

#[test]
fn model_matches_every_cpython_present_on_small_traces() {
    let dir = std::env::temp_dir().join(format!("gclab-fidelity-test-{}", std::process::id()));
    let opts = Options {
        cases: Vec::new(),
        size: Some(3000),
        seed: 7,
        script: fidelity::default_script(),
        dir: dir.clone(),
    };
    let report = fidelity::check(&opts, |line| println!("{line}")).expect("fidelity check runs");
    for (v, why) in &report.skipped {
        println!("SKIPPED CPython {v}: {why}");
    }
    let _ = std::fs::remove_dir_all(&dir);
    if report.rows.is_empty() {
        println!("SKIPPED: no CPython 3.11/3.12/3.13 found; nothing to compare");
        return;
    }
    let bad: Vec<String> = report
        .rows
        .iter()
        .filter(|r| !r.matches())
        .map(|r| {
            format!(
                "{} on {}: first difference at {:?}",
                r.case,
                r.python,
                r.first_difference()
            )
        })
        .collect();
    assert!(bad.is_empty(), "mismatches:\n{}", bad.join("\n"));
    // Something was actually compared: the cycles case collects.
    assert!(report.rows.iter().any(|r| r.real.collected > 0));
}
