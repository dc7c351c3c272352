//! Exit codes from the errors themselves.
//!
//! Every error a command can return says which [`ExitClass`] it is in through the [`Classify`]
//! trait: bad input (a name, a parameter, a file, an op in a trace) is [`ExitClass::Usage`] and
//! exits 2; anything else, such as a strategy found freeing a reachable object or a file that
//! cannot be written, is [`ExitClass::Internal`] and exits 1.
//!
//! Commands return [`CmdResult`]. Its error, [`CmdError`], converts (with `?`) only from errors
//! that implement [`Classify`], so a new error type cannot reach `main` unclassified: it needs
//! an impl, or an explicit [`ClassifyExt::usage`] / [`ClassifyExt::internal`] at the call site
//! (which is how plain I/O and serialisation errors are classified). [`CmdContext`] adds context
//! to a message and keeps the class.
//!
//! The impls for errors defined outside the command modules (the core, workloads and the
//! library modules of this crate) live here; the command modules' own errors implement
//! [`Classify`] beside their definitions.

use crate::cmd::new_strategy::NewStrategyError;
use crate::compare::CompareError;
use crate::experiment::ExperimentError;
use crate::plot::PlotError;
use crate::registry::RegistryError;
use crate::results::MergeError;
use crate::results::ResultsError;
use crate::runner::RunError;
use crate::sweep::SweepError;
use gclab_core::params::ParamError;
use gclab_core::trace::TraceError;
use gclab_core::workload::{ExecErrorKind, Stop};
use gclab_workloads::{CharacteriseError, WorkloadError};
use std::fmt;

/// What kind of failure an error is, which decides the exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitClass {
    /// Bad input from the user: names, parameters, files, ops in a trace. Exit code 2.
    Usage,
    /// Anything else: a failed run, a file that cannot be written, a check that failed. Exit
    /// code 1.
    Internal,
}

impl ExitClass {
    /// The process exit code: 2 for [`ExitClass::Usage`], 1 for [`ExitClass::Internal`].
    pub fn code(self) -> u8 {
        match self {
            ExitClass::Usage => 2,
            ExitClass::Internal => 1,
        }
    }
}

/// An error that knows its own [`ExitClass`]. Every error type a command returns with `?`
/// implements it.
pub trait Classify: std::error::Error + Send + Sync + 'static {
    /// The class of this error.
    fn exit_class(&self) -> ExitClass;
}

/// A command's error: the error (with its causes and any context added) and its class.
///
/// Built from a [`Classify`] error with `?` or `into()`, or from any other error with an
/// explicit class ([`CmdError::usage`], [`CmdError::internal`], [`ClassifyExt`]).
pub struct CmdError {
    class: ExitClass,
    error: anyhow::Error,
}

/// The result of a command.
pub type CmdResult<T = ()> = Result<T, CmdError>;

impl CmdError {
    /// `error`, classified as bad input.
    pub fn usage(error: impl Into<anyhow::Error>) -> CmdError {
        CmdError {
            class: ExitClass::Usage,
            error: error.into(),
        }
    }

    /// `error`, classified as internal.
    pub fn internal(error: impl Into<anyhow::Error>) -> CmdError {
        CmdError {
            class: ExitClass::Internal,
            error: error.into(),
        }
    }

    /// The class.
    pub fn class(&self) -> ExitClass {
        self.class
    }

    /// The process exit code ([`ExitClass::code`]).
    pub fn exit_code(&self) -> u8 {
        self.class.code()
    }

    /// The error with its causes.
    pub fn error(&self) -> &anyhow::Error {
        &self.error
    }

    /// The same error with `context` as its outer message; the class is kept.
    pub fn context<C>(self, context: C) -> CmdError
    where
        C: fmt::Display + Send + Sync + 'static,
    {
        CmdError {
            class: self.class,
            error: self.error.context(context),
        }
    }

    /// The error and its causes on one line, skipping a cause whose text the message before it
    /// already shows.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for cause in self.error.chain() {
            let msg = cause.to_string();
            if !out.contains(&msg) {
                if !out.is_empty() {
                    out.push_str(": ");
                }
                out.push_str(&msg);
            }
        }
        out
    }
}

impl fmt::Debug for CmdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} error: {:?}", self.class, self.error)
    }
}

impl fmt::Display for CmdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render())
    }
}

impl<E: Classify> From<E> for CmdError {
    fn from(e: E) -> CmdError {
        CmdError {
            class: e.exit_class(),
            error: anyhow::Error::new(e),
        }
    }
}

/// Context for a classified error that keeps its class (the counterpart of
/// `anyhow::Context` for [`CmdResult`]).
pub trait CmdContext<T> {
    /// Wraps the error in `context`.
    fn context<C>(self, context: C) -> CmdResult<T>
    where
        C: fmt::Display + Send + Sync + 'static;

    /// Wraps the error in the context `f` returns (called only on error).
    fn with_context<C, F>(self, f: F) -> CmdResult<T>
    where
        C: fmt::Display + Send + Sync + 'static,
        F: FnOnce() -> C;
}

impl<T, E: Into<CmdError>> CmdContext<T> for Result<T, E> {
    fn context<C>(self, context: C) -> CmdResult<T>
    where
        C: fmt::Display + Send + Sync + 'static,
    {
        self.map_err(|e| e.into().context(context))
    }

    fn with_context<C, F>(self, f: F) -> CmdResult<T>
    where
        C: fmt::Display + Send + Sync + 'static,
        F: FnOnce() -> C,
    {
        self.map_err(|e| e.into().context(f()))
    }
}

/// An explicit class for an error that has none of its own (an I/O or serialisation error, an
/// `anyhow` message).
pub trait ClassifyExt<T> {
    /// Classifies the error as bad input (exit code 2).
    fn usage(self) -> CmdResult<T>;
    /// Classifies the error as internal (exit code 1).
    fn internal(self) -> CmdResult<T>;
}

impl<T, E: Into<anyhow::Error>> ClassifyExt<T> for Result<T, E> {
    fn usage(self) -> CmdResult<T> {
        self.map_err(CmdError::usage)
    }

    fn internal(self) -> CmdResult<T> {
        self.map_err(CmdError::internal)
    }
}

/// A usage error with only a message (an invalid combination of arguments).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UserError(pub String);

impl Classify for UserError {
    fn exit_class(&self) -> ExitClass {
        ExitClass::Usage
    }
}

/// Implements [`Classify`] as [`ExitClass::Usage`] for each type: errors that are always about
/// the input.
macro_rules! usage_errors {
    ($($ty:ty),* $(,)?) => {
        $(impl Classify for $ty {
            fn exit_class(&self) -> ExitClass {
                ExitClass::Usage
            }
        })*
    };
}

usage_errors!(
    RegistryError,
    WorkloadError,
    ParamError,
    TraceError,
    CharacteriseError,
    ExperimentError,
    MergeError,
    NewStrategyError,
);

/// A bad op in a trace is bad input; a strategy that freed a reachable object (found by
/// `--verify`) is internal; every other failure to run (a bad name, parameter or trace file) is
/// bad input.
impl Classify for RunError {
    fn exit_class(&self) -> ExitClass {
        match self {
            RunError::Exec(Stop::Exec(x))
                if matches!(x.kind, ExecErrorKind::ReachableFreed { .. }) =>
            {
                ExitClass::Internal
            }
            _ => ExitClass::Usage,
        }
    }
}

/// A bad `--shard` or thread count is bad input; reading or writing results is internal.
impl Classify for SweepError {
    fn exit_class(&self) -> ExitClass {
        match self {
            SweepError::Usage(_) => ExitClass::Usage,
            SweepError::Io { .. } => ExitClass::Internal,
            SweepError::Results(e) => e.exit_class(),
        }
    }
}

/// A result file that cannot be read or written is internal; a result set that is not one (a
/// broken row, a bad experiment file, no rows) is bad input.
impl Classify for ResultsError {
    fn exit_class(&self) -> ExitClass {
        match self {
            ResultsError::Io { .. } => ExitClass::Internal,
            ResultsError::Experiment(e) => e.exit_class(),
            ResultsError::BadRow { .. } | ResultsError::Empty(_) => ExitClass::Usage,
        }
    }
}

/// A result file that cannot be read is internal (as for [`ResultsError`]); everything else
/// about a comparison (paths that are not result sets, unknown names, no shared cells) is bad
/// input.
impl Classify for CompareError {
    fn exit_class(&self) -> ExitClass {
        match self {
            CompareError::Results(e) => e.exit_class(),
            _ => ExitClass::Usage,
        }
    }
}

/// Reading figures and writing pages is internal (the figures were just drawn).
impl Classify for crate::html::HtmlError {
    fn exit_class(&self) -> ExitClass {
        ExitClass::Internal
    }
}

/// Drawing and writing figures is internal; a wrong `[plot]` table is the user's; reading the
/// result set takes its own class.
impl Classify for PlotError {
    fn exit_class(&self) -> ExitClass {
        match self {
            PlotError::Results(e) => e.exit_class(),
            PlotError::Spec(_) | PlotError::Data { .. } => ExitClass::Usage,
            PlotError::Draw { .. } | PlotError::Font | PlotError::Io(_) => ExitClass::Internal,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gclab_core::workload::ExecError;

    fn code(e: impl Into<CmdError>) -> u8 {
        e.into().exit_code()
    }

    #[test]
    fn classes_have_their_codes() {
        assert_eq!(ExitClass::Usage.code(), 2);
        assert_eq!(ExitClass::Internal.code(), 1);
    }

    #[test]
    fn a_reachable_object_freed_is_internal_and_a_bad_op_is_usage() {
        assert_eq!(code(freed()), 1);
        let bad = ExecError {
            op_index: 3,
            op: "collect".into(),
            kind: ExecErrorKind::EmptyRegister { reg: 0 },
        };
        assert_eq!(code(RunError::Exec(Stop::Exec(bad))), 2);
        assert_eq!(code(RunError::Other("workers".into())), 2);
    }

    #[test]
    fn sweep_usage_is_usage_and_io_is_internal() {
        assert_eq!(code(SweepError::Usage("--shard".into())), 2);
        let io = SweepError::Io {
            path: "x".into(),
            message: "gone".into(),
        };
        assert_eq!(code(io), 1);
    }

    #[test]
    fn context_keeps_the_class_and_renders_once() {
        let e: CmdResult = Err(UserError("bad".into())).context("reading x");
        let e = e.unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert_eq!(e.render(), "reading x: bad");
        let io: Result<(), std::io::Error> = Err(std::io::Error::other("disk full"));
        let e = io.internal().with_context(|| "writing y").unwrap_err();
        assert_eq!(e.exit_code(), 1);
        assert_eq!(e.render(), "writing y: disk full");
        let io: Result<(), std::io::Error> = Err(std::io::Error::other("no"));
        assert_eq!(io.usage().unwrap_err().exit_code(), 2);
    }

    fn freed() -> RunError {
        RunError::Exec(Stop::Exec(ExecError {
            op_index: 0,
            op: "collect".into(),
            kind: ExecErrorKind::ReachableFreed { obj: 1 },
        }))
    }

    #[test]
    fn command_errors_classify_by_variant() {
        use crate::cmd::bench_collect::BenchError;
        use crate::cmd::mem_probe::MemProbeError;
        use crate::fidelity::FidelityError;
        assert_eq!(code(BenchError::Usage("--reps".into())), 2);
        assert_eq!(code(BenchError::Exec("bug".into())), 1);
        assert_eq!(code(MemProbeError::Usage("--objects".into())), 2);
        let unknown = RegistryError::Unknown {
            name: "x".into(),
            valid: "none".into(),
        };
        assert_eq!(code(MemProbeError::Registry(unknown)), 2);
        assert_eq!(code(MemProbeError::Exec("bug".into())), 1);
        assert_eq!(code(FidelityError::Usage("--size".into())), 2);
        let model = |source| FidelityError::Model {
            case: "mix".into(),
            source,
        };
        assert_eq!(code(model(freed())), 1);
        assert_eq!(code(model(RunError::Other("workers".into()))), 2);
        let replay = FidelityError::Replay {
            case: "mix".into(),
            python: "python3.11".into(),
            msg: "exited".into(),
        };
        assert_eq!(code(replay), 1);
        assert_eq!(code(NewStrategyError::BadName("Bad_Name".into())), 2);
        assert_eq!(code(UserError("--param needs --workload".into())), 2);
    }

    #[test]
    fn regenerate_errors_are_internal_unless_the_sweep_says_usage() {
        use crate::pipeline::RegenerateError;
        assert_eq!(
            code(RegenerateError::Sweep(SweepError::Usage("-j".into()))),
            2
        );
        assert_eq!(code(RegenerateError::Plot(PlotError::Font)), 1);
    }

    #[test]
    fn result_sets_that_are_not_are_bad_input_and_unreadable_files_internal() {
        assert_eq!(code(ResultsError::Empty("results/x".into())), 2);
        let bad = ResultsError::BadRow {
            path: "runs.jsonl".into(),
            line: 3,
            message: "expected value".into(),
        };
        assert_eq!(code(bad), 2);
        assert_eq!(
            code(ResultsError::io(std::path::Path::new("x"), "denied")),
            1
        );
        assert_eq!(
            code(SweepError::Results(ResultsError::Empty("y".into()))),
            2
        );
    }
}
