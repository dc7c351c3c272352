//! Runs cpython-3.14 over every workload of the catalogue in `--verify` mode: the reachability
//! oracle checks after every collection and at the end that nothing reachable was freed
//! (`gclab_workloads::verify_tests!`: default parameters, then thresholds that collect often).
gclab_workloads::verify_tests!(gclab_cpython314::CPython314, [[("t0", "100")]]);
