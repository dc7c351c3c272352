//! The shared conformance suite: CPython's collector model is complete after a full collection,
//! never frees a reachable object, and follows the `gc` module's statistics and counters (the
//! `CPython` guarantee it declares in its `StrategyInfo`). Besides the defaults (3.11), the
//! tracking of 3.14.5 and later (dicts from creation, tuples once they hold a container) is
//! checked, at a small threshold so that automatic collections run often.
gclab_conformance::conformance_tests!(
    gclab_generational::Generational,
    params: [[("t0", "50"), ("deferred", "true"), ("dicts", "always"), ("tuples", "containers")]]
);
