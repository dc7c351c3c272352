//! Runs the no-collection baseline over every workload of the catalogue in `--verify` mode
//! (`gclab_workloads::verify_tests!`; it has no parameters): the executor's accounting and the
//! oracle's end check on every workload.
gclab_workloads::verify_tests!(gclab_none::NoCollection);
