//! Runs mark-sweep over every workload of the catalogue (small sizes) in `--verify` mode: the
//! reachability oracle checks after every collection and at the end that nothing reachable was
//! freed.

use gclab_core::executor::{ExecConfig, Executor};
use gclab_core::workload;
use gclab_core::StrategyFactory;
use gclab_mark_sweep::MarkSweep;

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
        for params in [
            vec![],
            vec![("initial".to_string(), "2000".to_string())],
            vec![("budget".to_string(), "30000".to_string())],
        ] {
            let strategy = MarkSweep::from_pairs(&params).expect("strategy builds");
            let cfg = ExecConfig {
                verify: true,
                ..ExecConfig::default()
            };
            let mut ex = Executor::new(strategy, &built.workload.header(), cfg);
            workload::stream(name, &built.params, &*built.workload, 1, &mut ex)
                .unwrap_or_else(|e| panic!("mark-sweep on {name}: {e}"));
            ex.finish()
                .unwrap_or_else(|e| panic!("mark-sweep on {name} (end): {e}"));
        }
    }
}
