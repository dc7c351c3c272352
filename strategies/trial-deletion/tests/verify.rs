//! Runs trial-deletion over every workload of the catalogue (small sizes) in `--verify` mode: the
//! reachability oracle checks after every collection and at the end that nothing reachable was
//! freed.

use gclab_core::executor::{ExecConfig, Executor};
use gclab_core::workload;
use gclab_core::StrategyFactory;
use gclab_trial_deletion::TrialDeletion;

/// Workload parameters that keep each run small in a debug build.
fn small(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    for key in ["count", "requests", "objects", "n", "size", "iterations"] {
        let declared = gclab_workloads::catalog()
            .iter()
            .any(|e| e.info.name == name && e.info.params.iter().any(|p| p.name == key));
        if declared {
            out.push(format!("{key}=300"));
        }
    }
    out
}

#[test]
fn verify_on_every_workload() {
    for entry in gclab_workloads::catalog() {
        let name = entry.info.name;
        let built = gclab_workloads::find(name, &small(name))
            .or_else(|_| gclab_workloads::find(name, &[]))
            .expect("workload builds");
        for buffer in ["10000", "1", "7", "0"] {
            let params = vec![("buffer".to_string(), buffer.to_string())];
            let strategy = TrialDeletion::from_pairs(&params).expect("strategy builds");
            let cfg = ExecConfig {
                verify: true,
                ..ExecConfig::default()
            };
            let mut ex = Executor::new(strategy, &built.workload.header(), cfg);
            workload::stream(name, &built.params, &*built.workload, 1, &mut ex)
                .unwrap_or_else(|e| panic!("trial-deletion on {name}: {e}"));
            ex.finish()
                .unwrap_or_else(|e| panic!("trial-deletion on {name} (end): {e}"));
        }
    }
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
