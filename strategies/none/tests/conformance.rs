//! The shared conformance suite: the no-collection baseline must be safe (it trivially is),
//! account exactly and be deterministic (the `Safe` guarantee it declares).
gclab_conformance::conformance_tests!(gclab_none::NoCollection);
