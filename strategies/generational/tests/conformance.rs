//! The shared conformance suite: CPython's collector model is complete after a full collection,
//! never frees a reachable object, and follows the `gc` module's statistics and counters (the
//! `CPython` guarantee it declares in its `StrategyInfo`).
gclab_conformance::conformance_tests!(gclab_generational::Generational);
