//! Runs trial-deletion over every workload of the catalogue in `--verify` mode: the reachability
//! oracle checks after every collection and at the end that nothing reachable was freed
//! (`gclab_workloads::verify_tests!`: default parameters, then a buffer that collects often).

use gclab_core::executor::{ExecConfig, Executor};
use gclab_core::workload;
use gclab_core::StrategyFactory;
use gclab_trial_deletion::TrialDeletion;

gclab_workloads::verify_tests!(TrialDeletion, [[("buffer", "50")]]);

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
