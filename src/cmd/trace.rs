//! `gclab trace`: a workload's op stream written to a trace file (binary, or text with
//! `--text`; zstd-compressed with `--zstd`).

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
    /// Compress the trace with zstd as it is written, at LEVEL (1 to 19; `--zstd` alone is
    /// level 3). Every command that reads traces reads compressed ones without a flag.
    #[arg(
        long,
        value_name = "LEVEL",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = DEFAULT_LEVEL,
        value_parser = clap::value_parser!(i32).range(1..=19),
    )]
    pub zstd: Option<i32>,
}

/// `--zstd` without a level: [`gclab_core::trace::DEFAULT_ZSTD_LEVEL`], as clap wants it
/// (checked by a test).
const DEFAULT_LEVEL: &str = "3";

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
    let out = std::io::BufWriter::new(file);
    let mut w = match a.zstd {
        Some(level) => TraceWriter::compressed(out, format, level)
            .internal()
            .context("setting up zstd")?,
        None => TraceWriter::new(out, format),
    };
    gclab_core::workload::stream(
        &a.stream.workload,
        &built.params,
        &*built.workload,
        a.stream.seed,
        &mut w,
    )
    .map_err(|e| CmdError::internal(anyhow::anyhow!("writing {}: {e}", a.output.display())))?;
    let ops = w.ops_written();
    let mut inner = w.finish()?;
    inner
        .flush()
        .internal()
        .with_context(|| format!("writing {}", a.output.display()))?;
    let size = inner.get_ref().metadata().map(|m| m.len()).unwrap_or(0);
    match a.zstd {
        Some(level) => eprintln!(
            "wrote {} ({ops} ops, {size} bytes, zstd level {level})",
            a.output.display()
        ),
        None => eprintln!("wrote {} ({ops} ops, {size} bytes)", a.output.display()),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_default_level_is_the_trace_modules() {
        assert_eq!(
            super::DEFAULT_LEVEL.parse::<i32>().ok(),
            Some(gclab_core::trace::DEFAULT_ZSTD_LEVEL)
        );
    }
}
