//! The `gclab` binary: parses the command line, runs the command (see [`gclab::cmd`]) and, on
//! error, prints it once and exits with the code its class gives (2 bad input, 1 otherwise).

#![forbid(unsafe_code)]

use clap::Parser;
use gclab::cmd::{dispatch, Cli};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match dispatch(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", e.render());
            ExitCode::from(e.exit_code())
        }
    }
}
