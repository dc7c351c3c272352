//! # gclab-workloads
//!
//! The workload catalogue. Each workload is a pure function of (parameters, seed) that yields an
//! op stream through an [`Emitter`](gclab_core::Emitter); none of them knows which strategy will
//! run it. [`catalogue`] lists them all; [`find`] looks one up by name and builds it.
//!
//! * The guide's cases: [`cycles`], [`walkthrough`] (`refcount-walkthrough`), [`concat`](mod@concat),
//!   [`gen_vs_list`], [`map_vs_loop`], [`combinations`], [`thresholds`], each modelling what
//!   CPython 3.11 really allocates and frees (measured with `sys.getsizeof` and `tracemalloc`;
//!   each module's docs give the measurements, and say where the guide's claim does not hold).
//! * Classic and Python benchmarks: [`binary_trees`], [`gcbench`], [`churn`] (dumpster's),
//!   [`gc_cycles`] (`create_gc_cycles`), [`gc_traversal`], [`btree`].
//! * The Instagram case: [`web_service`] (start-up heap, `fork`, requests; `freeze`).
//! * [`fidelity`]: traces for judging the generational model against real CPython.
//!
//! Every workload takes a `size` parameter that scales it about a hundredfold at `size=100`
//! (see each module), and workloads whose heap grows exponentially with a parameter refuse, with
//! a clear message, parameters whose minimum live heap exceeds `max_bytes`.
//!
//! [`characterise`](fn@characterise) works out the strategy-independent facts of a stream from
//! exact death times (see the [`characterise`](mod@characterise) module for the method): the
//! minimum possible peak live bytes (what an oracle collector needs: [`min_heap`]), the share of
//! cyclic garbage and the mean lifetime. `gclab workloads` prints them for the whole catalogue.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use gclab_core::params::{parse_pairs, ParamError, Params};
use gclab_core::workload::{Workload, WorkloadEntry};

pub mod binary_trees;
pub mod btree;
pub mod characterise;
pub mod churn;
pub mod combinations;
pub mod concat;
pub mod cycles;
pub mod fidelity;
pub mod gc_cycles;
pub mod gc_traversal;
pub mod gcbench;
pub mod gen_vs_list;
pub mod map_vs_loop;
pub mod shapes;
pub mod thresholds;
pub mod util;
pub mod verify;
pub mod walkthrough;
pub mod web_service;

/// Every workload, in the order `gclab list` shows them.
pub fn catalogue() -> Vec<WorkloadEntry> {
    vec![
        cycles::ENTRY,
        walkthrough::ENTRY,
        fidelity::ENTRY,
        concat::ENTRY,
        gen_vs_list::ENTRY,
        map_vs_loop::ENTRY,
        combinations::ENTRY,
        thresholds::ENTRY,
        binary_trees::ENTRY,
        gcbench::ENTRY,
        churn::ENTRY,
        gc_cycles::ENTRY,
        gc_traversal::ENTRY,
        btree::ENTRY,
        web_service::ENTRY,
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
    let cat = catalogue();
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

pub use characterise::{Characterisation, Characteriser};

/// Why a workload could not be characterised.
#[derive(Debug, thiserror::Error)]
pub enum CharacteriseError {
    /// The workload could not be built.
    #[error(transparent)]
    Workload(#[from] WorkloadError),
    /// The stream could not be analysed (a workload bug: an op on an empty register, ...).
    #[error("characterising {workload}: {stop}")]
    Stream {
        /// The workload.
        workload: String,
        /// What stopped the stream.
        stop: gclab_core::workload::Stop,
    },
}

/// Characterises workload `name` with `key=value` parameters and `seed`: ops, allocations,
/// bytes, the minimum possible peak live bytes and objects (an oracle collector's), the share of
/// cyclic garbage and the mean lifetime. See [`characterise`](mod@characterise) for the method.
/// Mark-sweep's heap-size sweeps use [`Characterisation::min_peak_bytes`] as `min_heap`.
pub fn characterise(
    name: &str,
    params: &[String],
    seed: u64,
) -> Result<Characterisation, CharacteriseError> {
    let built = find(name, params)?;
    let header = gclab_core::workload::stream_header(name, &built.params, &*built.workload, seed);
    let mut sink = Characteriser::new(&header);
    let stop = |stop| CharacteriseError::Stream {
        workload: name.to_string(),
        stop,
    };
    gclab_core::workload::stream(name, &built.params, &*built.workload, seed, &mut sink)
        .map_err(stop)?;
    sink.finish(&header).map_err(stop)
}

/// The minimum possible peak of live bytes of workload `name` with these parameters and seed:
/// what an oracle collector that frees every object the moment it becomes unreachable needs.
/// Mark-sweep's heap-size sweeps express heap sizes as multiples of it.
pub fn min_heap(name: &str, params: &[String], seed: u64) -> Result<u64, CharacteriseError> {
    characterise(name, params, seed).map(|c| c.min_peak_bytes)
}
