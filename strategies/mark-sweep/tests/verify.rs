//! Runs mark-sweep over every workload of the catalogue in `--verify` mode: the reachability
//! oracle checks after every collection and at the end that nothing reachable was freed
//! (`gclab_workloads::verify_tests!`: default parameters, then a small growing heap).
gclab_workloads::verify_tests!(
    gclab_mark_sweep::MarkSweep,
    [[("initial", "20000"), ("growth", "1.2")]]
);
