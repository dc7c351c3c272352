//! The error type of reading and writing result files and loading a result set.

use crate::experiment::ExperimentError;
use std::path::{Path, PathBuf};

/// Why result files could not be read or written, or a result set not loaded.
#[derive(Debug, thiserror::Error)]
pub enum ResultsError {
    /// Reading or writing a file.
    #[error("{path}: {message}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        message: String,
    },
    /// A results file with a broken line that is not the last.
    #[error("{path}:{line}: not a sweep row: {message}")]
    BadRow {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// The parse error.
        message: String,
    },
    /// The experiment file of a result set.
    #[error(transparent)]
    Experiment(#[from] ExperimentError),
    /// A result set without rows.
    #[error("{0} has no runs.jsonl rows; run `gclab sweep` first")]
    Empty(String),
}

impl ResultsError {
    /// An [`ResultsError::Io`] error about `path`.
    pub fn io(path: &Path, e: impl std::fmt::Display) -> ResultsError {
        ResultsError::Io {
            path: path.to_path_buf(),
            message: e.to_string(),
        }
    }
}
