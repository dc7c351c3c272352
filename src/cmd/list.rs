//! `gclab list`: the strategies (with parameters and presets) and the workloads (with
//! parameters and defaults).

use crate::classify::CmdResult;

/// Arguments of `gclab list` (none).
#[derive(clap::Args, Debug)]
pub struct Args {}

/// Runs `gclab list`.
pub fn run(_args: Args) -> CmdResult {
    print!("{}", crate::report::catalogue());
    Ok(())
}
