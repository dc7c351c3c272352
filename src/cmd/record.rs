//! `gclab record`: runs a Python program under a real CPython with the recorder, converts the
//! recording into a gclab trace and writes the real run's collector log and what is known about
//! the run beside it ([`gclab_record::files`]). Exits with the program's own exit status.

use crate::classify::{
    Classify, ClassifyExt, CmdContext, CmdError, CmdResult, ExitClass, UserError,
};
use gclab_record::files::{self, RecordingMeta};
use gclab_record::launch::{self, ExitStatusInfo, Program, RecordOptions};
use gclab_record::python::Mechanism;
use gclab_record::RecordError;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Arguments of `gclab record`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  gclab record -o build.gctrace -- build.py --fast\n  \
                        gclab record --python ~/.pyenv/versions/3.12.1/bin/python -m json.tool \
                        data.json\n\nBeside the trace FILE it writes FILE.collections.jsonl (the \
                        real collector log) and FILE.meta.json. Replay it with `gclab run -w \
                        trace:FILE -s STRATEGY`; compare the model with the real run with `gclab \
                        fidelity --recording FILE`."
)]
pub struct Args {
    /// The interpreter to record with (default: `python3` on PATH). CPython 3.13+, or 3.11/3.12
    /// linked against a shared libpython; its C headers must be installed.
    #[arg(long, value_name = "PATH")]
    pub python: Option<PathBuf>,
    /// The trace to write (default: the script's or module's name with `.gctrace`).
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Run a module (`python -m MODULE ARGS...`) instead of a script.
    #[arg(short = 'm', value_name = "MODULE")]
    pub module: Option<String>,
    /// Keep the raw event log (FILE.raw) after converting it.
    #[arg(long)]
    pub keep_raw: bool,
    /// The script and its arguments (or, with -m, the module's arguments).
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "SCRIPT [ARGS]"
    )]
    pub program: Vec<String>,
}

/// A bad interpreter, program or output path is bad input; a compiler or cache failure is the
/// environment's.
impl Classify for RecordError {
    fn exit_class(&self) -> ExitClass {
        if self.is_usage() {
            ExitClass::Usage
        } else {
            ExitClass::Internal
        }
    }
}

/// Runs `gclab record`.
pub fn run(a: Args) -> CmdResult {
    let (program, name, argv) = match (&a.module, a.program.split_first()) {
        (Some(m), _) => (
            Program::Module {
                name: m.clone(),
                args: a.program.clone(),
            },
            m.clone(),
            [vec!["-m".to_string(), m.clone()], a.program.clone()].concat(),
        ),
        (None, Some((script, args))) => (
            Program::Script {
                path: PathBuf::from(script),
                args: args.to_vec(),
            },
            Path::new(script)
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "program".into()),
            a.program.clone(),
        ),
        (None, None) => {
            return Err(UserError(
                "gclab record needs a program: `gclab record -- SCRIPT [ARGS...]` or \
                 `gclab record -m MODULE [ARGS...]`"
                    .into(),
            )
            .into())
        }
    };
    let out = a
        .output
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("{name}.gctrace")));
    let raw = {
        let mut s = out.as_os_str().to_os_string();
        s.push(".raw");
        PathBuf::from(s)
    };
    let outcome = launch::record(&RecordOptions {
        python: a.python.clone(),
        program,
        raw_out: raw.clone(),
        env: Vec::new(),
    })?;
    let raw_bytes = std::fs::metadata(&raw).map(|m| m.len()).unwrap_or(0);
    let version = {
        let (x, y, z) = outcome.interpreter.version;
        format!("{x}.{y}.{z}")
    };
    let t = Instant::now();
    let conv = files::convert_to_trace(
        &raw,
        &out,
        "recording",
        vec![
            ("program".into(), argv.join(" ")),
            ("python".into(), version.clone()),
        ],
    )
    .map_err(|e| {
        CmdError::internal(anyhow::anyhow!(
            "converting the recording {}: {e}",
            raw.display()
        ))
    })?;
    let convert_ns = t.elapsed().as_nanos() as u64;
    let (exit_code, signal) = match outcome.status {
        ExitStatusInfo::Code(c) => (Some(c), None),
        ExitStatusInfo::Signal(s) => (None, Some(s)),
    };
    let meta = RecordingMeta {
        program: argv,
        python: outcome.interpreter.path.display().to_string(),
        python_version: version.clone(),
        mechanism: match outcome.interpreter.mechanism {
            Mechanism::RefTracer => "reftracer".into(),
            Mechanism::Interposition => "interposition".into(),
        },
        exit_code,
        signal,
        wall_ns: outcome.wall_ns,
        convert_ns,
        raw_bytes,
        trace_bytes: std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0),
        collections: conv.collections.len() as u64,
        diagnostics: conv.diagnostics.clone(),
    };
    files::write_meta(&out, &meta)
        .internal()
        .with_context(|| format!("writing the recording's meta file beside {}", out.display()))?;
    if !a.keep_raw {
        let _ = std::fs::remove_file(&raw);
    }
    let d = &conv.diagnostics;
    eprintln!(
        "gclab: recorded {} objects and {} collections under CPython {version} in {:.2} s; \
         wrote {} ({} ops, {} bytes), {} and {}",
        d.creates,
        conv.collections.len(),
        outcome.wall_ns as f64 / 1e9,
        out.display(),
        d.ops,
        meta.trace_bytes,
        files::log_path(&out).display(),
        files::meta_path(&out).display(),
    );
    if let Some(t) = &d.truncated {
        eprintln!("gclab: warning: {t}");
    }
    match outcome.status {
        ExitStatusInfo::Code(0) => Ok(()),
        // The program's own status is passed through (a signal as the shell reports it).
        ExitStatusInfo::Code(c) => std::process::exit(c),
        ExitStatusInfo::Signal(s) => std::process::exit(128 + s),
    }
}
