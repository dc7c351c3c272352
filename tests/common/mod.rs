//! Helpers shared by the binary's integration tests: running the `gclab` binary, and one run
//! through the library.

use gclab::results::RunRecord;
use gclab::runner::{self, RunSpec, Source};
use std::process::Command;

/// Runs the `gclab` binary with `args`: (exit code, stdout, stderr).
pub fn gclab(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_gclab"))
        .args(args)
        .output()
        .expect("run gclab");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// One verified run of `strategy` (with `sparams`) on `workload` (with `params`), seeded `seed`.
pub fn run(
    strategy: &str,
    sparams: &[(&str, &str)],
    workload: &str,
    params: &[&str],
    seed: u64,
) -> RunRecord {
    let spec = RunSpec {
        strategy: strategy.into(),
        strategy_params: sparams
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        source: Source::parse(workload, params.iter().map(|s| s.to_string()).collect()),
        seed,
        verify: true,
        max_heap: None,
    };
    runner::run(&spec).expect("run").record
}
