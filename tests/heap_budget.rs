//! mark-sweep's heap budget end to end: `min_heap=auto` is resolved by the runner from the
//! workload, the budget becomes the executor's `max_heap`, a budget below the minimum heap ends
//! as `out_of_memory` (a result, not an error) and one at the minimum heap completes.

use gclab::results::Status;
use gclab::runner::{self, RunSpec, Source};

fn spec(factor: &str, workload: &str, params: &[&str]) -> RunSpec {
    RunSpec {
        strategy: "mark-sweep".into(),
        strategy_params: vec![
            ("factor".into(), factor.into()),
            ("min_heap".into(), "auto".into()),
        ],
        source: Source::parse(workload, params.iter().map(|p| p.to_string()).collect()),
        seed: 1,
        verify: true,
        max_heap: None,
    }
}

#[test]
fn below_min_heap_is_out_of_memory_and_at_it_completes() {
    let params = ["count=2000"];
    let min =
        gclab_workloads::min_heap("cycles", &["count=2000".to_string()], 1).expect("min heap");
    let low = runner::run(&spec("0.8", "cycles", &params))
        .expect("runs")
        .record;
    assert_eq!(low.status, Status::OutOfMemory, "{:?}", low.stop_reason);
    let ok = runner::run(&spec("1.0", "cycles", &params))
        .expect("runs")
        .record;
    assert_eq!(ok.status, Status::Ok, "{:?}", ok.stop_reason);
    assert!(ok.collections > 0);
    // The record carries the resolved minimum heap, not "auto".
    assert_eq!(ok.strategy_params.get("min_heap"), Some(&min.to_string()));
}

#[test]
fn auto_needs_a_workload() {
    let mut s = spec("2", "trace:/nonexistent.trace", &[]);
    s.source = Source::Trace("/nonexistent.trace".into());
    let e = runner::run(&s).expect_err("a trace has no min heap");
    assert!(e.to_string().contains("min_heap=auto"), "{e}");
}
