//! # gclab-workloads
//!
//! The workload catalogue. Each workload is a pure function of (parameters, seed) that yields an
//! op stream through an [`Emitter`](gclab_core::Emitter); none of them knows which strategy will
//! run it. [`catalog`] lists them all; [`find`] looks one up by name and builds it.

#![warn(missing_docs)]

use gclab_core::params::{parse_pairs, ParamError, Params};
use gclab_core::workload::{Workload, WorkloadEntry};

pub mod churn;
pub mod cycles;
pub mod fidelity;
pub mod walkthrough;

/// Every workload, in the order `gclab list` shows them.
pub fn catalog() -> Vec<WorkloadEntry> {
    vec![
        cycles::ENTRY,
        walkthrough::ENTRY,
        churn::ENTRY,
        fidelity::ENTRY,
    ]
}

/// Why a workload could not be built.
#[derive(Debug, thiserror::Error)]
pub enum WorkloadError {
    /// No workload has that name.
    #[error("unknown workload '{name}'; valid workloads: {valid}")]
    Unknown {
        /// The name given.
        name: String,
        /// The valid names, comma-separated.
        valid: String,
    },
    /// A parameter problem.
    #[error(transparent)]
    Param(#[from] ParamError),
}

/// A built workload with its resolved parameters.
pub struct Built {
    /// The catalogue entry.
    pub entry: WorkloadEntry,
    /// The resolved parameters (defaults filled in).
    pub params: Params,
    /// The workload.
    pub workload: Box<dyn Workload>,
}

/// Looks up `name` and builds it with `key=value` parameters.
pub fn find(name: &str, params: &[String]) -> Result<Built, WorkloadError> {
    let cat = catalog();
    let Some(entry) = cat.iter().find(|e| e.info.name == name).copied() else {
        return Err(WorkloadError::Unknown {
            name: name.to_string(),
            valid: cat
                .iter()
                .map(|e| e.info.name)
                .collect::<Vec<_>>()
                .join(", "),
        });
    };
    let pairs = parse_pairs(params)?;
    let params = Params::resolve(entry.info.name, entry.info.params, &pairs)?;
    let workload = (entry.build)(&params)?;
    Ok(Built {
        entry,
        params,
        workload,
    })
}
