//! The shared conformance suite: random op streams under the oracle. `Complete` promises
//! that a full `gc.collect(2)` leaves no unreachable object; use `Safe` for a strategy that may
//! keep garbage, `Refcount` for pure reference counting, `CPython` for a model of CPython.
gclab_conformance::conformance_tests!(gclab_cpython314::CPython314, Complete);

/// With tiny thresholds the increments (marking step, increments, completed scavenges) run
/// inside the random streams too.
#[test]
fn conformance_small_thresholds() {
    use gclab_conformance::{check_params, Config, Expect};
    for (t0, count) in [("3", "tracked"), ("5", "allocations")] {
        let cfg = Config {
            cases: Config::default().cases / 4,
            label: format!("cpython-3.14 t0={t0} count={count}"),
            ..Config::default()
        };
        check_params::<gclab_cpython314::CPython314>(
            &[("t0".into(), t0.into()), ("count".into(), count.into())],
            Expect::Complete,
            cfg,
        );
    }
}
