//! The shared conformance suite (random op streams under the oracle; complete after a full
//! collection).
gclab_conformance::conformance_tests!(gclab_mark_sweep::MarkSweep, Complete);

/// With a small heap the automatic collection runs inside the random streams too, both with a
/// growing heap and with a fixed budget (no `max_heap` here, so going over it just collects).
#[test]
fn conformance_small_heaps() {
    use gclab_conformance::{check_params, Config, Expect};
    for (k, v) in [("initial", "300"), ("budget", "2000")] {
        let cfg = Config {
            cases: Config::default().cases / 4,
            label: format!("mark-sweep {k}={v}"),
            ..Config::default()
        };
        check_params::<gclab_mark_sweep::MarkSweep>(&[(k.into(), v.into())], Expect::Complete, cfg);
    }
}
