//! Foundation acceptance tests (issue 2): leak accounting, determinism, bad input.

mod common;

use common::gclab;
use gclab::results::RunRecord;
use gclab_core::workload::{stream, CountingSink};

fn run(strategy: &str, workload: &str, params: &[&str], seed: u64) -> RunRecord {
    common::run(strategy, &[], workload, params, seed)
}

#[test]
fn refcount_leaks_exactly_the_cycles() {
    let r = run("refcount", "cycles", &["count=2000"], 7);
    let k = &r.allocations_by_kind;
    // Every list (with the strings it holds), instance and dict is on or hangs off a cycle; the
    // tuples and floats are acyclic garbage and must be freed.
    let cyclic = k["list"] + k["str"] + k["instance"] + k["dict"];
    assert_eq!(r.leaked_objects, cyclic);
    assert_eq!(r.live_end_objects, cyclic);
    assert_eq!(r.frees, k["tuple"] + k["float"]);
    assert_eq!(k["tuple"], 2000);
}

#[test]
fn refcount_leak_matches_workload_parameters() {
    // Only self-appended lists holding 3 strings: 4 objects leak per cycle.
    let r = run(
        "refcount",
        "cycles",
        &["count=500", "mix=1:0:0", "strings=3"],
        1,
    );
    assert_eq!(r.leaked_objects, 500 * 4);
    // Only two-dict cycles: 2 objects per cycle.
    let r = run("refcount", "cycles", &["count=500", "mix=0:0:1"], 1);
    assert_eq!(r.leaked_objects, 500 * 2);
    // Only self-referencing instances.
    let r = run(
        "refcount",
        "cycles",
        &["count=500", "mix=0:1:0", "acyclic=0"],
        1,
    );
    assert_eq!(r.leaked_objects, 500);
    assert_eq!(r.frees, 0);
}

#[test]
fn none_leaks_everything_dropped() {
    let r = run("none", "cycles", &["count=1000"], 3);
    assert_eq!(r.frees, 0);
    assert_eq!(r.leaked_objects, r.allocations);
}

#[test]
fn acyclic_workload_leaks_nothing_under_refcount() {
    let r = run("refcount", "refcount-walkthrough", &[], 1);
    assert_eq!(r.leaked_objects, 0);
    assert_eq!(r.live_end_objects, 0);
    let counts: Vec<Option<u64>> = r.probes.iter().map(|p| p.refcount).collect();
    assert_eq!(counts, vec![Some(1), Some(2), Some(3), Some(2), Some(1)]);
}

#[test]
fn same_seed_same_figures_different_seed_different_stream() {
    let a = run("refcount", "cycles", &["count=3000"], 11);
    let b = run("refcount", "cycles", &["count=3000"], 11);
    assert_eq!(a.deterministic(), b.deterministic());
    let hash = |seed| {
        let built = gclab_workloads::find("cycles", &["count=300".to_string()]).unwrap();
        let mut sink = CountingSink::default();
        stream("cycles", &built.params, &*built.workload, seed, &mut sink).unwrap();
        sink.hash
    };
    assert_eq!(hash(5), hash(5));
    assert_ne!(hash(5), hash(6));
}

#[test]
fn bad_input_exits_2_and_lists_what_is_valid() {
    let (code, _, err) = gclab(&["run", "-s", "nosuch", "-w", "cycles"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("valid strategies: ") && err.contains("refcount"),
        "{err}"
    );
    let (code, _, err) = gclab(&["run", "-s", "refcount", "-w", "nosuch"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("valid workloads: ") && err.contains("cycles"),
        "{err}"
    );
    let (code, _, err) = gclab(&["run", "-s", "refcount", "-w", "cycles", "-p", "nope=1"]);
    assert_eq!(code, 2);
    assert!(err.contains("valid parameters: count"), "{err}");
    let (code, _, err) = gclab(&["run", "-s", "refcount", "-w", "cycles", "-p", "count=x"]);
    assert_eq!(code, 2);
    assert!(err.contains("expected a non-negative integer"), "{err}");
    let (code, _, err) = gclab(&["run", "-s", "refcount", "-w", "cycles", "-p", "mix=1:1"]);
    assert_eq!(code, 2);
    assert!(err.contains("mix"), "{err}");
    let (code, _, err) = gclab(&["run", "-s", "refcount", "-w", "cycles", "-S", "x=1"]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown parameter 'x' for refcount"), "{err}");
}

#[test]
fn run_prints_summary_and_json() {
    let dir = std::env::temp_dir().join(format!("gclab-json-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let json = dir.join("r.json");
    let (code, out, err) = gclab(&[
        "run",
        "-s",
        "refcount",
        "-w",
        "cycles",
        "-p",
        "count=100",
        "--json",
        json.to_str().unwrap(),
        "--verify",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("of which leaked"), "{out}");
    let rec: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(rec["strategy"], "refcount");
    assert!(rec["provenance"]["git_commit"].is_string());
    assert!(rec["leaked_objects"].as_u64().unwrap() > 0);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn trace_then_replay_gives_the_same_figures() {
    let dir = std::env::temp_dir().join(format!("gclab-trace-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (file, text) in [("c.trace", false), ("c.txt", true)] {
        let path = dir.join(file);
        let p = path.to_str().unwrap();
        let mut args = vec![
            "trace",
            "-w",
            "cycles",
            "-p",
            "count=700",
            "--seed",
            "9",
            "-o",
            p,
        ];
        if text {
            args.push("--text");
        }
        let (code, _, err) = gclab(&args);
        assert_eq!(code, 0, "{err}");
        let direct = run("refcount", "cycles", &["count=700"], 9);
        let replayed = run("refcount", &format!("trace:{p}"), &[], 0);
        let strip = |r: &RunRecord| {
            let mut v = r.deterministic();
            v.as_object_mut().unwrap().remove("trace");
            v
        };
        assert_eq!(strip(&direct), strip(&replayed), "{file}");
    }
    // A truncated trace is refused with exit code 2 and the byte offset.
    let full = std::fs::read(dir.join("c.trace")).unwrap();
    let cut = dir.join("cut.trace");
    std::fs::write(&cut, &full[..full.len() / 2]).unwrap();
    let (code, _, err) = gclab(&[
        "run",
        "-s",
        "refcount",
        "-w",
        &format!("trace:{}", cut.display()),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("byte offset"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}
