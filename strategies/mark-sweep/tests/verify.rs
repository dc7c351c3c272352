//! Runs mark-sweep over every workload of the catalogue in `--verify` mode: the reachability
//! oracle checks after every collection and at the end that nothing reachable was freed. To keep
//! a debug-build test fast, each workload runs with its default parameters and only its first
//! `PREFIX_OPS` ops (a prefix of a valid stream is a valid stream).

use gclab_core::executor::{ExecConfig, Executor};
use gclab_core::workload::{self, OpSink, Stop};
use gclab_core::{Op, Strategy, StrategyFactory};
use gclab_mark_sweep::MarkSweep;

/// Ops run per workload.
const PREFIX_OPS: u64 = 150_000;

/// Forwards the first `left` ops to the executor and drops the rest.
struct Prefix<'a, S: Strategy> {
    ex: &'a mut Executor<S>,
    left: u64,
}

impl<S: Strategy> OpSink for Prefix<'_, S> {
    fn ops(&mut self, ops: &[Op]) -> Result<(), Stop> {
        let n = (self.left as usize).min(ops.len());
        self.left -= n as u64;
        self.ex.ops(&ops[..n])
    }
}

/// Runs mark-sweep with `params` on the first ops of every workload, under the oracle.
fn verify_catalogue(params: &[(&str, &str)]) {
    let params: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    for entry in gclab_workloads::catalog() {
        let name = entry.info.name;
        let built = gclab_workloads::find(name, &[]).expect("workload builds");
        let strategy = MarkSweep::from_pairs(&params).expect("strategy builds");
        let cfg = ExecConfig {
            verify: true,
            ..ExecConfig::default()
        };
        let mut ex = Executor::new(strategy, &built.workload.header(), cfg);
        let mut sink = Prefix {
            ex: &mut ex,
            left: PREFIX_OPS,
        };
        workload::stream(name, &built.params, &*built.workload, 1, &mut sink)
            .unwrap_or_else(|e| panic!("mark-sweep {params:?} on {name}: {e}"));
        ex.finish()
            .unwrap_or_else(|e| panic!("mark-sweep {params:?} on {name} (end): {e}"));
    }
}

#[test]
fn verify_on_every_workload() {
    verify_catalogue(&[]);
}

/// With parameters that make it collect often.
#[test]
fn verify_on_every_workload_collecting_often() {
    verify_catalogue(&[("initial", "20000"), ("growth", "1.2")]);
}
