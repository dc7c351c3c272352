//! # gclab
//!
//! The gclab binary's library. Library modules:
//!
//! - [`registry`]: the strategies and presets by name;
//! - [`runner`]: runs one strategy against one workload or trace and produces its JSON record;
//! - [`experiment`]: experiment files (`results/<name>/experiment.toml`) and their cells;
//! - [`sweep`]: runs every cell of an experiment into `runs.jsonl`, shards and merges;
//! - [`results`]: the data of a run (record, row, sidecar, metrics) and of a result set, with
//!   their reading, writing, merging and error type;
//! - [`metrics`]: the figures derived from a run (pauses, MMU, percentiles, memory);
//! - [`analysis`], [`plot`], [`readme`]: functions of a loaded [`results::ResultSet`]: derived
//!   tables, figures and README sections (they never import the runner or the sweep);
//! - [`html`]: a result's browsable page (`results/<name>/index.html`, figures inline) and the
//!   index of every result (`results/index.html`);
//! - [`compare`]: two result sets, or two strategies of one, compared metric by metric (exact
//!   differences, bootstrap intervals of wall-clock ratios);
//! - [`pipeline`]: the regenerate pipeline (sweep, figures, README) shared by the default job
//!   and `gclab reproduce`;
//! - [`fidelity`]: the comparison of the generational model with real CPython interpreters;
//! - [`report`]: the text the CLI prints (run summaries, the catalogue);
//! - [`provenance`]: where and how a run was made;
//! - [`classify`]: exit codes from the errors' own classification.
//!
//! The command line is [`cmd`]: one module per command, each with its clap `Args` and `run`;
//! the binary (`src/main.rs`) parses, calls [`cmd::dispatch`] and prints the error.

#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub mod analysis;
pub mod classify;
pub mod cmd;
pub mod compare;
pub mod experiment;
pub mod fidelity;
pub mod html;
pub mod metrics;
pub mod pipeline;
pub mod plot;
pub mod provenance;
pub mod readme;
pub mod registry;
pub mod report;
pub mod results;
pub mod runner;
pub mod sweep;
