//! Matching, estimates and verdicts of [`super::compare`], on the committed
//! `results/strategy-matrix` rows.

use super::*;

fn matrix() -> Source {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("results/strategy-matrix");
    Source::load(&dir).unwrap()
}

/// The same rows as a file source, keeping those `keep` accepts.
fn subset(src: &Source, keep: impl Fn(&RunRow) -> bool) -> Source {
    Source::File {
        path: PathBuf::from("subset.jsonl"),
        rows: src.rows().iter().filter(|r| keep(r)).cloned().collect(),
    }
}

#[test]
fn a_set_against_itself_has_no_difference() {
    let m = matrix();
    let opts = Options {
        metrics: vec!["all".into()],
        ..Options::default()
    };
    let c = compare(&m, &m, &opts).unwrap();
    assert_eq!(c.matched(), m.rows().len());
    assert!(c.only_a.is_empty() && c.only_b.is_empty());
    for g in &c.groups {
        for v in &g.deterministic {
            assert_eq!(v.a, v.b, "{} {}", g.workload, v.metric.name);
        }
        for (v, e) in &g.wall {
            match e {
                Estimate::Ratio(ci, 3) => {
                    assert_eq!(
                        (ci.low, ci.ratio, ci.high),
                        (1.0, 1.0, 1.0),
                        "{}",
                        v.metric.name
                    )
                }
                Estimate::BothZero => {}
                other => panic!("{} {}: {other:?}", g.workload, v.metric.name),
            }
        }
    }
}

#[test]
fn strategies_are_matched_on_workload_and_seed() {
    let m = matrix();
    let opts = Options {
        strategies: Some(("cpython-3.12".into(), "cpython-3.13".into())),
        metrics: vec!["run.collections".into()],
        ..Options::default()
    };
    let c = compare(&m, &m, &opts).unwrap();
    assert_eq!(c.groups.len(), m.workloads().len());
    let g = c.groups.iter().find(|g| g.workload == "cycles").unwrap();
    assert_eq!(g.strategy, None);
    let of = |s: &str| -> Vec<u64> {
        m.rows()
            .iter()
            .filter(|r| r.workload == "cycles" && r.strategy == s)
            .map(|r| r.run.as_ref().unwrap().collections)
            .collect()
    };
    assert_eq!(g.deterministic[0].a.as_ref(), Some(&of("cpython-3.12")));
    assert_eq!(g.deterministic[0].b.as_ref(), Some(&of("cpython-3.13")));
    assert!(g.wall.is_empty());
}

#[test]
fn partial_overlap_lists_each_sides_own_runs() {
    let m = matrix();
    let a = subset(&m, |r| r.strategy != "none");
    let b = subset(&m, |r| r.workload != "cycles");
    let c = compare(&a, &b, &Options::default()).unwrap();
    let only = |v: &[OneSided]| -> Vec<(String, String)> {
        v.iter()
            .map(|o| (o.workload.clone(), o.strategy.clone().unwrap()))
            .collect()
    };
    // A lacks `none`; B lacks `cycles`.
    assert!(only(&c.only_a).iter().all(|(w, _)| w == "cycles"));
    assert_eq!(c.only_a.len(), m.strategies().len() - 1);
    assert!(only(&c.only_b).iter().all(|(_, s)| s == "none"));
    assert_eq!(c.only_b.len(), m.workloads().len() - 1);
    assert!(c
        .groups
        .iter()
        .all(|g| g.workload != "cycles" && g.strategy.as_deref() != Some("none")));
}

#[test]
fn disjoint_sides_say_what_each_has() {
    let m = matrix();
    let a = subset(&m, |r| r.workload == "cycles");
    let b = subset(&m, |r| r.workload == "churn");
    let err = compare(&a, &b, &Options::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("share no cells"), "{err}");
    assert!(err.contains("A has workloads cycles;"), "{err}");
    assert!(err.contains("B has workloads churn;"), "{err}");
}

#[test]
fn unknown_names_list_the_valid_ones() {
    let m = matrix();
    let opts = Options {
        strategies: Some(("cpython-3.12".into(), "cpython-9".into())),
        ..Options::default()
    };
    let err = compare(&m, &m, &opts).unwrap_err().to_string();
    assert!(
        err.contains("'cpython-9'") && err.contains("cpython-3.13"),
        "{err}"
    );
    let opts = Options {
        workloads: vec!["cyclez".into()],
        ..Options::default()
    };
    let err = compare(&m, &m, &opts).unwrap_err().to_string();
    assert!(err.contains("'cyclez'") && err.contains("cycles"), "{err}");
}

#[test]
fn duplicate_cells_are_refused() {
    let m = matrix();
    let mut rows = m.rows().to_vec();
    rows.push(rows[0].clone());
    let a = Source::File {
        path: PathBuf::from("dup.jsonl"),
        rows,
    };
    assert!(matches!(
        compare(&a, &m, &Options::default()),
        Err(CompareError::Duplicate { .. })
    ));
}

#[test]
fn estimates_follow_the_runs_and_zeros() {
    assert_eq!(
        Estimate::of(Some(&[1.0]), Some(&[2.0])),
        Estimate::TooFew(1)
    );
    assert_eq!(Estimate::of(None, Some(&[2.0, 3.0])), Estimate::Missing);
    assert_eq!(
        Estimate::of(Some(&[0.0, 0.0]), Some(&[0.0, 0.0])),
        Estimate::BothZero
    );
    assert_eq!(
        Estimate::of(Some(&[0.0, 1.0]), Some(&[1.0, 1.0])),
        Estimate::Undefined
    );
    let a = [100.0, 103.0, 98.0, 101.0, 99.0, 102.0, 100.5, 97.5];
    let slower: Vec<f64> = a.iter().map(|x| x * 1.3).collect();
    let e = Estimate::of(Some(&a), Some(&slower));
    assert_eq!(e.verdict(), Some(Verdict::Higher), "{e:?}");
    let e = Estimate::of(Some(&slower), Some(&a));
    assert_eq!(e.verdict(), Some(Verdict::Lower), "{e:?}");
    let e = Estimate::of(Some(&a), Some(&a));
    assert_eq!(e.verdict(), Some(Verdict::NoDifference), "{e:?}");
    // Three runs that all move the same way: an interval, but no verdict.
    let e = Estimate::of(Some(&a[..3]), Some(&slower[..3]));
    assert!(matches!(e, Estimate::Ratio(ci, 3) if ci.low > 1.0), "{e:?}");
    assert_eq!(e.verdict(), None);
}
