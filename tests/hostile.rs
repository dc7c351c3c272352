//! Hostile and over-budget input to `gclab run`: never a crash, always a clear result.
//!
//! * `--max-heap BYTES` ends a run with status `out_of_memory` in its JSON record and exit 0;
//! * a trace whose single op asks for a gigantic object is stopped before the real allocator
//!   sees it (with `--max-heap` as out of memory, without it as bad input, exit 2);
//! * a corrupt trace is bad input (exit 2) with a message naming the offset or line and column.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn gclab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gclab"))
        .args(args)
        .output()
        .expect("the gclab binary runs")
}

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gclab-hostile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join(name)
}

fn record(path: &PathBuf) -> serde_json::Value {
    let text = std::fs::read_to_string(path).expect("the JSON record was written");
    serde_json::from_str(&text).expect("the JSON record parses")
}

/// Runs `refcount` on the trace at `path`, checks that it exits 2 (bad input) and returns what it
/// wrote to stderr.
fn bad_trace_stderr(path: &Path) -> String {
    let trace = format!("trace:{}", path.display());
    let out = gclab(&["run", "-s", "refcount", "-w", &trace]);
    assert_eq!(out.status.code(), Some(2));
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn max_heap_ends_the_run_as_out_of_memory_with_exit_0() {
    // `none` on `cycles` with `count`, under a budget of `max_heap` bytes, its record to `json`.
    let run = |count: &str, max_heap: &str, json: &str| {
        gclab(&[
            "run",
            "-s",
            "none",
            "-w",
            "cycles",
            "-p",
            count,
            "--max-heap",
            max_heap,
            "--json",
            json,
        ])
    };
    let json = tmp("oom.json");
    let out = run(
        "count=2000",
        "20000",
        json.to_str().expect("utf-8 temp path"),
    );
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let r = record(&json);
    assert_eq!(r["status"], "out_of_memory", "{r}");
    let reason = r["stop_reason"].as_str().expect("a stop reason");
    assert!(reason.contains("20000"), "{reason}");
    assert!(r["peak_live_bytes"].as_u64().expect("peak") <= 20000, "{r}");
    // The same run with a budget large enough ends normally.
    let out = run("count=20", "100000000", "-");
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"status\":\"ok\""));
}

fn huge_tuple_trace() -> PathBuf {
    let p = tmp("huge.trace");
    std::fs::write(
        &p,
        "gclab-trace text 1\nworkload hostile\nseed 1\nregisters 1\nalloc r0 tuple 4000000000\nend 1\n",
    )
    .expect("write trace");
    p
}

#[test]
fn a_gigantic_allocation_under_a_budget_is_out_of_memory_not_a_crash() {
    let trace = format!("trace:{}", huge_tuple_trace().display());
    let json = tmp("huge.json");
    let out = gclab(&[
        "run",
        "-s",
        "refcount",
        "-w",
        &trace,
        "--max-heap",
        "1000000",
        "--verify",
        "--json",
        json.to_str().expect("utf-8 temp path"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = record(&json);
    assert_eq!(r["status"], "out_of_memory", "{r}");
    assert_eq!(r["ops"], 0, "the allocation must not have happened: {r}");
}

#[test]
fn a_gigantic_allocation_without_a_budget_is_bad_input() {
    let err = bad_trace_stderr(&huge_tuple_trace());
    assert!(
        err.contains("op 0") && err.contains("valid lengths are 0..="),
        "{err}"
    );
}

#[test]
fn corrupt_traces_are_bad_input_with_a_position() {
    let text = tmp("bad.txt");
    std::fs::write(
        &text,
        "gclab-trace text 1\nworkload w\nseed 1\nregisters 2\nalloc r0 pony 3\nend 1\n",
    )
    .expect("write");
    let err = bad_trace_stderr(&text);
    assert!(err.contains("line 5, column"), "{err}");

    let bin = tmp("bad.bin");
    std::fs::write(
        &bin,
        b"GCLT\x01\x00\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff",
    )
    .expect("write");
    let err = bad_trace_stderr(&bin);
    assert!(err.contains("byte offset"), "{err}");
}

#[test]
fn verify_does_not_change_the_deterministic_figures() {
    for s in gclab::registry::all_names() {
        let run = |verify: bool| {
            let spec = gclab::runner::RunSpec {
                strategy: s.clone(),
                strategy_params: vec![],
                source: gclab::runner::Source::parse(
                    "cycles",
                    vec!["count=300".into(), "collect=true".into()],
                ),
                seed: 7,
                verify,
                max_heap: None,
            };
            let mut d = gclab::runner::run(&spec)
                .expect("runs")
                .record
                .deterministic();
            d.as_object_mut().expect("an object").remove("verify");
            d
        };
        assert_eq!(run(false), run(true), "{s}: --verify changed the figures");
    }
}
