//! The shared conformance suite: pure reference counting keeps exactly what is reachable from
//! the registers or from a cycle (the `Refcount` guarantee it declares).
gclab_conformance::conformance_tests!(gclab_refcount::RefCount);
