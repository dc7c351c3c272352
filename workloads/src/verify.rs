//! Sanity-mode runs of a strategy over the whole catalogue, for a strategy crate's tests.
//!
//! [`verify_catalogue`] runs a strategy on the first ops of every workload with the executor in
//! verify mode: the reachability oracle checks after every collection and at the end that nothing
//! reachable was freed (freed indices are quarantined, so a dangling reference cannot hide behind
//! a reused one). A prefix of a valid stream is a valid stream, so a debug-build test stays fast.
//!
//! A strategy crate's `tests/verify.rs` is one line of [`verify_tests!`](crate::verify_tests)
//! (it lives here, beside the check, because `gclab-conformance` depends on `gclab-core` only).

use crate::{catalogue, find};
use gclab_core::executor::{ExecConfig, Executor};
use gclab_core::workload::{self, OpSink, Stop};
use gclab_core::{Op, Strategy, StrategyFactory};

/// Ops run per workload by the strategy crates' verify tests.
pub const PREFIX_OPS: u64 = 150_000;

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

/// Runs strategy `S` with `params` on the first `prefix_ops` ops of every workload of the
/// catalogue (default parameters, seed 1) in verify mode. Returns the first failure, naming the
/// strategy, its parameters and the workload.
pub fn verify_catalogue<S: StrategyFactory>(
    params: &[(&str, &str)],
    prefix_ops: u64,
) -> Result<(), String> {
    let pairs: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let who = format!("{} {params:?}", S::INFO.name);
    for entry in catalogue() {
        let name = entry.info.name;
        let built = find(name, &[]).map_err(|e| format!("{name}: {e}"))?;
        let strategy = S::from_pairs(&pairs).map_err(|e| format!("{who}: {e}"))?;
        let cfg = ExecConfig {
            verify: true,
            ..ExecConfig::default()
        };
        let mut ex = Executor::new(strategy, &built.workload.header(), cfg);
        let mut sink = Prefix {
            ex: &mut ex,
            left: prefix_ops,
        };
        workload::stream(name, &built.params, &*built.workload, 1, &mut sink)
            .map_err(|e| format!("{who} on {name}: {e}"))?;
        ex.finish()
            .map_err(|e| format!("{who} on {name} (end): {e}"))?;
    }
    Ok(())
}

/// Runs [`verify_catalogue`] on [`PREFIX_OPS`] ops per workload and panics with the failure: the
/// body of the tests [`verify_tests!`](crate::verify_tests) writes.
pub fn assert_catalogue<S: StrategyFactory>(params: &[(&str, &str)]) {
    if let Err(e) = verify_catalogue::<S>(params, PREFIX_OPS) {
        panic!("{e}");
    }
}

/// Expands to a strategy crate's verify tests: `verify_on_every_workload` (the whole catalogue,
/// [`PREFIX_OPS`](crate::verify::PREFIX_OPS) ops per workload, default strategy parameters,
/// under the oracle) and, for each parameter set given, the same with those parameters (choose
/// ones that make the strategy collect often):
///
/// ```ignore
/// gclab_workloads::verify_tests!(gclab_my_gc::MyGc, [
///     [("every", "500")],
/// ]);
/// ```
///
/// With one set the second test is `verify_on_every_workload_collecting_often`; with several it
/// runs them in order, naming the failing one.
#[macro_export]
macro_rules! verify_tests {
    ($ty:ty $(,)?) => {
        #[test]
        fn verify_on_every_workload() {
            $crate::verify::assert_catalogue::<$ty>(&[]);
        }
    };
    ($ty:ty, [$([$(($k:expr, $v:expr)),* $(,)?]),* $(,)?]) => {
        $crate::verify_tests!($ty);

        /// With parameters that make it collect often.
        #[test]
        fn verify_on_every_workload_collecting_often() {
            $(
                $crate::verify::assert_catalogue::<$ty>(&[$(($k, $v)),*]);
            )*
        }
    };
}
