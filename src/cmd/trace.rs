//! `gclab trace`: a workload's op stream written to a trace file (binary, or text with
//! `--text`).

use super::run::StreamArgs;
use crate::classify::{ClassifyExt, CmdContext, CmdError, CmdResult, UserError};
use gclab_core::trace::{TraceFormat, TraceWriter};
use std::io::Write;
use std::path::PathBuf;

/// Arguments of `gclab trace`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The workload to write.
    #[command(flatten)]
    pub stream: StreamArgs,
    /// Output file.
    #[arg(long, short)]
    pub output: PathBuf,
    /// Write the readable text form instead of the compact binary form.
    #[arg(long)]
    pub text: bool,
}

/// Runs `gclab trace`.
pub fn run(a: Args) -> CmdResult {
    if a.stream.workload.starts_with("trace:") {
        return Err(UserError("gclab trace needs a workload name, not a trace".into()).into());
    }
    let built = gclab_workloads::find(&a.stream.workload, &a.stream.params)?;
    let file = std::fs::File::create(&a.output)
        .internal()
        .with_context(|| format!("creating {}", a.output.display()))?;
    let format = if a.text {
        TraceFormat::Text
    } else {
        TraceFormat::Binary
    };
    let mut w = TraceWriter::new(std::io::BufWriter::new(file), format);
    gclab_core::workload::stream(
        &a.stream.workload,
        &built.params,
        &*built.workload,
        a.stream.seed,
        &mut w,
    )
    .map_err(|e| CmdError::internal(anyhow::anyhow!("writing {}: {e}", a.output.display())))?;
    let mut inner = w.finish()?;
    inner
        .flush()
        .internal()
        .with_context(|| format!("writing {}", a.output.display()))?;
    eprintln!("wrote {}", a.output.display());
    Ok(())
}
