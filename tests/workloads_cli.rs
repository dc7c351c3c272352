//! Every workload runs under `refcount`, `none` and `cpython-3.11` from `gclab run` (checked by the
//! oracle) and from its trace, with the same figures; bad workload parameters exit 2 with a
//! message; `gclab workloads` writes its table.

use std::path::PathBuf;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_gclab");

/// Small versions of every workload, as `gclab` arguments.
const SMALL: &[(&str, &[&str])] = &[
    ("cycles", &["count=200"]),
    ("refcount-walkthrough", &[]),
    ("concat", &["reps=50"]),
    ("gen-vs-list", &["n=30", "reps=2", "variant=gen"]),
    (
        "map-vs-loop",
        &["words=30", "n_max=20", "reps=20", "variant=map"],
    ),
    ("combinations", &["n=10", "reps=2", "variant=itertools"]),
    ("thresholds", &["rounds=5", "batch=50"]),
    ("binary-trees", &["depth=6"]),
    (
        "gcbench",
        &[
            "stretch_depth=6",
            "long_lived_depth=4",
            "array_size=100",
            "min_depth=2",
            "max_depth=4",
        ],
    ),
    ("churn", &["ops=2000"]),
    ("create_gc_cycles", &["loops=2"]),
    ("gc_traversal", &["levels=40", "loops=2"]),
    ("btree", &["records=200"]),
    (
        "web-service",
        &[
            "modules=5",
            "funcs=3",
            "consts=3",
            "cache_entries=50",
            "config=20",
            "requests=30",
            "rows=5",
            "freeze=true",
        ],
    ),
];

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gclab-wl-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join(name)
}

fn gclab(args: &[String]) -> (i32, String, String) {
    let out = Command::new(BIN).args(args).output().expect("run gclab");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

/// The deterministic figures of a run record.
fn figures(json: &str) -> serde_json::Value {
    let line = json.lines().last().unwrap_or("");
    let v: serde_json::Value = serde_json::from_str(line).expect("a JSON record");
    let mut out = serde_json::Map::new();
    for k in [
        "ops",
        "allocations",
        "frees",
        "bytes_allocated",
        "peak_live_bytes",
        "leaked_objects",
        "cow",
    ] {
        out.insert(k.to_string(), v[k].clone());
    }
    serde_json::Value::Object(out)
}

#[test]
fn every_workload_runs_directly_and_from_its_trace() {
    for (name, params) in SMALL {
        let mut p: Vec<String> = Vec::new();
        for kv in *params {
            p.push("-p".into());
            p.push(kv.to_string());
        }
        let trace = tmp(&format!("{name}.trace"));
        let mut args = s(&["trace", "-w", name, "-o"]);
        args.push(trace.display().to_string());
        args.extend(p.iter().cloned());
        let (code, _, err) = gclab(&args);
        assert_eq!(code, 0, "trace {name}: {err}");
        for strategy in ["refcount", "none", "cpython-3.11"] {
            // The direct run also checks, with the reachability oracle, that no reachable object
            // is ever freed.
            let mut direct = s(&["run", "--verify", "-s", strategy, "-w", name, "--json", "-"]);
            direct.extend(p.iter().cloned());
            let (code, out_d, err) = gclab(&direct);
            assert_eq!(code, 0, "run {strategy} {name}: {err}");
            let from_trace = vec![
                "run".to_string(),
                "-s".into(),
                strategy.into(),
                "-w".into(),
                format!("trace:{}", trace.display()),
                "--json".into(),
                "-".into(),
            ];
            let (code, out_t, err) = gclab(&from_trace);
            assert_eq!(code, 0, "run {strategy} trace:{name}: {err}");
            assert_eq!(
                figures(&out_d),
                figures(&out_t),
                "{strategy} on {name}: direct and trace differ"
            );
        }
    }
}

#[test]
fn bad_parameters_exit_2_with_a_message() {
    let cases: &[(&str, &str, &str)] = &[
        ("churn", "ops=0", "outside"),
        ("concat", "reps=-1", "non-negative integer"),
        ("concat", "variant=times", "plus, format, join"),
        ("concat", "k=1", "outside 2..=64"),
        ("concat", "size=0", "outside"),
        ("binary-trees", "depth=30", "max_bytes"),
        ("gcbench", "long_lived_depth=33", "max_bytes"),
        ("gc_traversal", "levels=1000000", "max_bytes"),
        ("btree", "degree=1", "outside"),
        ("web-service", "gc=off", "on, disable, threshold0"),
        ("web-service", "cyclic=1.5", "outside 0..=1"),
        ("map-vs-loop", "n_max=5000", "outside"),
        ("thresholds", "threshold=1,2", "three integers"),
    ];
    for (name, kv, needle) in cases {
        let (code, _, err) = gclab(&s(&["run", "-s", "none", "-w", name, "-p", kv]));
        assert_eq!(code, 2, "{name} {kv}: {err}");
        assert!(
            err.contains(needle),
            "{name} {kv}: message {err:?} lacks {needle:?}"
        );
    }
}

#[test]
fn workloads_command_writes_its_table() {
    let dir = tmp("table");
    let mut args = s(&["workloads", "-w", "concat", "-p", "reps=10", "--out"]);
    args.push(dir.display().to_string());
    let (code, out, err) = gclab(&args);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("| concat |"), "{out}");
    let json = std::fs::read_to_string(dir.join("characterisation-concat.json")).expect("json");
    let v: serde_json::Value = serde_json::from_str(&json).expect("valid json");
    assert_eq!(v[0]["allocations"], 70);
    let (code, _, err) = gclab(&s(&["workloads", "-p", "reps=10"]));
    assert_eq!(code, 2, "{err}");
}
