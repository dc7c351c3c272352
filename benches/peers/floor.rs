//! Floor mode (`GCLAB_PEERS_FLOOR=ROUNDS GCLAB_PEERS_TRACE=FILE`), outside criterion: a
//! trace's op stream executed from memory by native `Rc` and by gclab's executor, and its check
//! in test mode ([`floor_check`]).

use crate::common::{self, capture_workload, Capture};
use crate::gclab_streams::gclab_run;
use crate::native_ops::{exec_ops, RcOps};
use crate::run::{timed, Run};
use gclab_core::op::Op;
use std::time::Duration;

/// Floor mode (`GCLAB_PEERS_FLOOR=ROUNDS`, `GCLAB_PEERS_TRACE=FILE`; `scripts/perf_tables.py`
/// runs it next to each trace replay): the trace's whole op stream is decoded into memory once,
/// untimed, then executed `ROUNDS` times per system, interleaved:
///
/// * `rc-ops`: native `Rc` ([`exec_ops`]): every load, store, append and clear a `clone` or a
///   `drop`, objects `malloc`'d, no decoding, no checks, no modelled sizes, no cycle collection;
///   the teardown of what the registers still hold at the end is not timed;
/// * `gclab-none-ops`, `gclab-refcount-ops`, `gclab-cpython-3.11-ops`: gclab's executor on the
///   same ops from memory (no decoding), timed as the `-py` rows are;
/// * `gclab-cpython-3.11-trace`: the binary trace, held in memory, decoded and executed as `gclab
///   run -w trace:FILE` does.
///
/// This is the reference the replay target is read against: what executing the trace's program
/// costs natively, without a decoder or a collector (a reference point, not a lower bound:
/// gclab's slot pool beats `malloc` where allocation dominates). One JSON line per system with every
/// round's wall time and the objects freed during the timed span. `rc-ops` must free exactly
/// what gclab's `refcount` frees (both are pure reference counting of the same program): a
/// mismatch means the native replay did not execute the trace's program, and fails the run.
pub fn floor_mode(rounds: usize, path: &str) -> Vec<serde_json::Value> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    floor_rows(rounds, path, &bytes)
}

/// [`floor_mode`] on a binary trace held in memory, `path` naming it in the lines.
pub fn floor_rows(rounds: usize, path: &str, bytes: &[u8]) -> Vec<serde_json::Value> {
    let mut reader =
        gclab_core::trace::TraceReader::open(bytes).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut stream = Capture::unbounded();
    let n = reader
        .feed(&mut stream)
        .unwrap_or_else(|e| panic!("{path}: {e}"));
    let allocs = stream
        .ops
        .iter()
        .filter(|op| matches!(op, Op::Alloc { .. } | Op::New { .. }))
        .count() as u64;
    let native = || {
        let mut kept = None;
        let r = timed(|| kept = Some(exec_ops::<RcOps>(stream.header.registers, &stream.ops)));
        drop(kept);
        r
    };
    let stream = &stream;
    let gclab = |name: &'static str| move || gclab_run(name, stream, allocs, false);
    let trace = || Run {
        wall: common::replay_trace_n("cpython-3.11", bytes, n, 1),
        cpu: Duration::ZERO,
        freed: 0,
        collections: None,
    };
    // (name, whether the row counts its frees, the run). The trace row replays as `gclab run`
    // does and does not count them.
    type Row<'a> = (&'static str, bool, Box<dyn Fn() -> Run + 'a>);
    let rows: Vec<Row<'_>> = vec![
        ("rc-ops", true, Box::new(native)),
        ("gclab-none-ops", true, Box::new(gclab("none"))),
        ("gclab-refcount-ops", true, Box::new(gclab("refcount"))),
        (
            "gclab-cpython-3.11-ops",
            true,
            Box::new(gclab("cpython-3.11")),
        ),
        ("gclab-cpython-3.11-trace", false, Box::new(trace)),
    ];
    let mut runs: Vec<Vec<Run>> = vec![Vec::with_capacity(rounds); rows.len()];
    for _ in 0..rounds {
        for ((_, _, f), runs) in rows.iter().zip(&mut runs) {
            runs.push(f());
        }
    }
    let freed: Vec<Option<u64>> = rows
        .iter()
        .zip(&runs)
        .map(|((_, counts, _), r)| r.last().filter(|_| *counts).map(|r| r.freed))
        .collect();
    assert_eq!(
        freed[0], freed[2],
        "{path}: native Rc (rc-ops) and gclab refcount must free the same objects"
    );
    rows.iter()
        .zip(&runs)
        .zip(freed)
        .map(|(((name, _, _), runs), freed)| {
            let times: Vec<u64> = runs.iter().map(|r| r.wall.as_nanos() as u64).collect();
            serde_json::json!({
                "trace": path,
                "ops": n,
                "allocations": allocs,
                "system": name,
                "freed": freed,
                "times_ns": times,
            })
        })
        .collect()
}

/// Test mode's check of [`floor_rows`]: small traces of three workloads with dicts, instances,
/// tuples and a fork, one round each; each run asserts that native `Rc` freed what gclab
/// `refcount` freed.
pub fn floor_check() {
    for (name, params) in [
        ("fidelity", &["case=mix", "size=500"][..]),
        (
            "web-service",
            &[
                "modules=20",
                "cache_entries=500",
                "config=100",
                "requests=20",
            ],
        ),
        (
            "gcbench",
            &[
                "stretch_depth=7",
                "long_lived_depth=6",
                "array_size=500",
                "max_depth=6",
            ],
        ),
    ] {
        let params: Vec<String> = params.iter().map(|p| p.to_string()).collect();
        const LIMIT: usize = 1 << 20;
        let cap = capture_workload(name, &params, 1, LIMIT);
        assert!(
            cap.ops.len() < LIMIT,
            "{name}: the whole stream is captured"
        );
        let rows = floor_rows(1, name, &common::trace_bytes(&cap));
        eprintln!(
            "peers floor check: {name}: {} ops, native Rc freed {} (as gclab refcount)",
            cap.ops.len(),
            rows[0]["freed"]
        );
    }
}
