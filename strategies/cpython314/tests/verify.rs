//! Runs cpython-3.14 over every workload of the catalogue in `--verify` mode: the reachability
//! oracle checks after every collection and at the end that nothing reachable was freed
//! (`gclab_workloads::verify::verify_catalogue`, on each workload's first `PREFIX_OPS` ops).

use gclab_cpython314::CPython314;
use gclab_workloads::verify::PREFIX_OPS;

/// Runs cpython-3.14 with `params` on the first ops of every workload, under the oracle.
fn verify_catalogue(params: &[(&str, &str)]) {
    if let Err(e) = gclab_workloads::verify::verify_catalogue::<CPython314>(params, PREFIX_OPS) {
        panic!("{e}");
    }
}

#[test]
fn verify_on_every_workload() {
    verify_catalogue(&[]);
}

/// With parameters that make it collect often.
#[test]
fn verify_on_every_workload_collecting_often() {
    verify_catalogue(&[("t0", "100")]);
}
