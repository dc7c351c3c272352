//! The data of a run, in one place: what a result set is on disk, and its shapes in memory.
//!
//! A result set is a directory `results/<name>/` holding:
//!
//! * `experiment.toml`: the plan ([`crate::experiment::Experiment`]);
//! * `runs.jsonl`: one [`RunRow`] per cell, a JSON line each, in plan order; a row carries the
//!   cell's [`RunRecord`] (the record `gclab run --json` prints), its deterministic
//!   [`Metrics`] and its wall-clock [`WallMetrics`];
//! * `runs/*.json` or `runs/*.json.gz`: one [`Sidecar`] per cell that has one (heap timeline and
//!   pause log, arrays too long for a JSON line), named by [`sidecar_stem`];
//! * `figures/` (deterministic figures), `figures/wall/` (wall-clock figures) and `README.md`,
//!   drawn and written from the above by [`crate::plot`] and [`crate::readme`].
//!
//! The runner and the sweep produce these shapes; the readers ([`crate::analysis`],
//! [`crate::plot`], [`crate::readme`], [`crate::report`]) consume them, through a
//! [`ResultSet`] loaded once. This module depends on neither side.

mod error;
mod io;
mod merge;
mod record;
mod row;
mod set;
mod sidecar;

pub use error::ResultsError;
pub use io::{read_rows, write_rows};
pub use merge::{merge, MergeError};
pub use record::{RunRecord, Status, Timing};
pub use row::{deterministic_by_cell, CellStatus, Metrics, RunRow, Sched, WallMetrics, ROW_SCHEMA};
pub use set::{Group, ResultSet, Run, Timeline};
pub use sidecar::{read_sidecar, sidecar_stem, write_sidecar, Sidecar, COMPRESS_ABOVE};
