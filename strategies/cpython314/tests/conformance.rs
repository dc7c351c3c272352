//! The shared conformance suite: random op streams under the oracle, checked against the
//! guarantee `CPython314` declares in its `StrategyInfo` (complete after a full collection).
//! With tiny thresholds the increments (marking step, increments, completed scavenges) run
//! inside the random streams too.
gclab_conformance::conformance_tests!(gclab_cpython314::CPython314, params: [
    [("t0", "3"), ("count", "tracked")],
    [("t0", "5"), ("count", "allocations")],
]);
