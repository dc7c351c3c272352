//! Merging shard outputs into one results file: every cell of the plan exactly once.

use super::{read_rows, ResultsError, RunRow};
use crate::experiment::Experiment;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Joins shard outputs: refuses a cell present twice or missing (unless `allow_partial`), and
/// returns the rows in plan order.
pub fn merge(
    exp: &Experiment,
    inputs: &[PathBuf],
    allow_partial: bool,
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
    let mut rows: Vec<RunRow> = by_key.into_values().map(|(r, _)| r).collect();
    rows.sort_by_key(|r| r.index);
    Ok(rows)
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
