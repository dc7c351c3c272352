//! Runs trial-deletion over every workload of the catalogue in `--verify` mode: the reachability
//! oracle checks after every collection and at the end that nothing reachable was freed
//! (`gclab_workloads::verify::verify_catalogue`, on each workload's first `PREFIX_OPS` ops).

use gclab_core::executor::{ExecConfig, Executor};
use gclab_core::workload;
use gclab_core::StrategyFactory;
use gclab_trial_deletion::TrialDeletion;
use gclab_workloads::verify::PREFIX_OPS;

/// Runs trial-deletion with `params` on the first ops of every workload, under the oracle.
fn verify_catalogue(params: &[(&str, &str)]) {
    if let Err(e) = gclab_workloads::verify::verify_catalogue::<TrialDeletion>(params, PREFIX_OPS) {
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
    verify_catalogue(&[("buffer", "50")]);
}

/// Trial deletion is complete: after the program's final `gc.collect()` nothing unreachable is
/// left, whatever the buffer size (atoms held by cycles included).
#[test]
fn complete_after_gc_collect() {
    for buffer in ["0", "3", "10000"] {
        let built = gclab_workloads::find("cycles", &["count=500".into(), "collect=true".into()])
            .expect("workload builds");
        let s = TrialDeletion::from_pairs(&[("buffer".into(), buffer.into())]).expect("builds");
        let cfg = ExecConfig {
            verify: true,
            ..ExecConfig::default()
        };
        let mut ex = Executor::new(s, &built.workload.header(), cfg);
        workload::stream("cycles", &built.params, &*built.workload, 3, &mut ex).expect("runs");
        ex.finish().expect("finishes");
        assert_eq!(ex.heap.unreachable_live(), Ok((0, 0)), "buffer={buffer}");
        assert!(ex.gc_returned() > 0 || buffer != "0");
    }
}
