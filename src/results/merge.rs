//! Merging shard outputs into one results file: every cell of the plan exactly once.

use super::{read_rows, ResultsError, RunRow};
use crate::experiment::Experiment;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Joins shard outputs: refuses a cell present twice or missing (unless `allow_partial`), and
/// returns the rows in plan order, to be written into directory `out_dir`.
///
/// A row's sidecar is relative to the directory of the file it was written to (a shard's are
/// under `shards/runs/`); each is copied to `out_dir/runs/` and the row says `runs/NAME`, as a
/// single-process sweep's does, so the merged results stand on their own.
pub fn merge(
    exp: &Experiment,
    inputs: &[PathBuf],
    allow_partial: bool,
    out_dir: &Path,
) -> Result<Vec<RunRow>, MergeError> {
    let cells = exp.cells();
    let known: BTreeMap<&str, usize> = cells.iter().map(|c| (c.key.as_str(), c.index)).collect();
    let mut by_key: BTreeMap<String, (RunRow, PathBuf)> = BTreeMap::new();
    for p in inputs {
        let (rows, _) = read_rows(p).map_err(MergeError::Read)?;
        for r in rows {
            if !known.contains_key(r.cell.as_str()) {
                return Err(MergeError::Unknown {
                    cell: r.cell,
                    file: p.clone(),
                });
            }
            if let Some((_, first)) = by_key.get(&r.cell) {
                return Err(MergeError::Duplicate {
                    cell: r.cell.clone(),
                    first: first.clone(),
                    second: p.clone(),
                });
            }
            by_key.insert(r.cell.clone(), (r, p.clone()));
        }
    }
    let missing: Vec<String> = cells
        .iter()
        .filter(|c| !by_key.contains_key(&c.key))
        .map(|c| c.key.clone())
        .collect();
    if !missing.is_empty() && !allow_partial {
        return Err(MergeError::Missing {
            count: missing.len(),
            total: cells.len(),
            first: missing.into_iter().take(5).collect::<Vec<_>>().join(", "),
        });
    }
    let mut rows = Vec::with_capacity(by_key.len());
    for (mut r, p) in by_key.into_values() {
        if let Some(sc) = r.sidecar.take() {
            let from = p.parent().unwrap_or(Path::new("")).join(sc);
            r.sidecar = Some(gather_sidecar(&from, out_dir).map_err(MergeError::Sidecar)?);
        }
        rows.push(r);
    }
    rows.sort_by_key(|r| r.index);
    Ok(rows)
}

/// Copies sidecar `from` into `out_dir/runs/` (unless it is there already): its path relative
/// to `out_dir`.
fn gather_sidecar(from: &Path, out_dir: &Path) -> Result<String, ResultsError> {
    let name = from
        .file_name()
        .ok_or_else(|| ResultsError::io(from, "a sidecar path without a file name"))?;
    let runs = out_dir.join("runs");
    let to = runs.join(name);
    let same = match (std::fs::canonicalize(from), std::fs::canonicalize(&to)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if !same {
        std::fs::create_dir_all(&runs).map_err(|e| ResultsError::io(&runs, e))?;
        let tmp = runs.join(format!("{}.tmp", name.to_string_lossy()));
        std::fs::copy(from, &tmp).map_err(|e| ResultsError::io(from, e))?;
        std::fs::rename(&tmp, &to).map_err(|e| ResultsError::io(&to, e))?;
    }
    Ok(format!("runs/{}", name.to_string_lossy()))
}

/// Why shard outputs could not be merged.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// An input could not be read.
    #[error(transparent)]
    Read(ResultsError),
    /// A cell appears twice.
    #[error("cell '{cell}' appears in both {first} and {second}; a cell must be in exactly one shard output")]
    Duplicate {
        /// The cell.
        cell: String,
        /// Where it was first seen.
        first: PathBuf,
        /// Where it was seen again.
        second: PathBuf,
    },
    /// A cell is not in the experiment.
    #[error("{file}: cell '{cell}' is not a cell of this experiment (was the shard run with another experiment.toml?)")]
    Unknown {
        /// The cell.
        cell: String,
        /// The file.
        file: PathBuf,
    },
    /// A shard's sidecar could not be copied beside the merged file.
    #[error("copying a shard's sidecar: {0}")]
    Sidecar(ResultsError),
    /// Cells are missing.
    #[error("{count} of {total} cells are missing (first: {first}); run the missing shards or pass --allow-partial")]
    Missing {
        /// How many.
        count: usize,
        /// Of how many.
        total: usize,
        /// The first few.
        first: String,
    },
}
