//! Runs pure reference counting over every workload of the catalogue in `--verify` mode: the
//! reachability oracle checks at the end that nothing reachable was freed
//! (`gclab_workloads::verify_tests!`; it has no parameters).
gclab_workloads::verify_tests!(gclab_refcount::RefCount);
