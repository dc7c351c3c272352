//! # gclab
//!
//! The gclab binary's library: the strategy [`registry`], the [`runner`] that runs one cell and
//! produces its JSON record, [`provenance`], and the text [`report`]s the CLI prints. The
//! binary (`src/main.rs`) is a thin clap front end over these.

#![warn(missing_docs)]

pub mod cmd_bench_collect;
pub mod cmd_fidelity;
pub mod cmd_new_strategy;
pub mod cmd_workloads;
pub mod provenance;
pub mod registry;
pub mod report;
pub mod runner;
