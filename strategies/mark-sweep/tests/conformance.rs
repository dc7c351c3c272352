//! The shared conformance suite (random op streams under the oracle, checked against the
//! guarantee `MarkSweep` declares: complete after a full collection). With a small heap the
//! automatic collection runs inside the random streams too, both with a growing heap and with a
//! fixed budget (no `max_heap` here, so going over it just collects).
gclab_conformance::conformance_tests!(gclab_mark_sweep::MarkSweep, params: [
    [("initial", "300")],
    [("budget", "2000")],
]);
