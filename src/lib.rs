//! # gclab
//!
//! The gclab binary's library: the strategy [`registry`], the [`runner`] that runs one cell and
//! produces its JSON record, the [`sweep`] that runs an experiment's cells, [`provenance`], and
//! the text [`report`]s the CLI prints. The data of a run (record, row, sidecar, metrics) and
//! its reading, writing and merging live in [`results`]; the readers ([`analysis`], [`plot`],
//! [`readme`]) are functions of a loaded [`results::ResultSet`]. The binary (`src/main.rs`) is a
//! thin clap front end over these.

#![warn(missing_docs)]

pub mod analysis;
pub mod cmd_bench_collect;
pub mod cmd_default;
pub mod cmd_fidelity;
pub mod cmd_mem_probe;
pub mod cmd_merge;
pub mod cmd_new_strategy;
pub mod cmd_plot;
pub mod cmd_report;
pub mod cmd_reproduce;
pub mod cmd_sweep;
pub mod cmd_workloads;
pub mod experiment;
pub mod metrics;
pub mod plot;
pub mod provenance;
pub mod readme;
pub mod registry;
pub mod report;
pub mod results;
pub mod runner;
pub mod sweep;
