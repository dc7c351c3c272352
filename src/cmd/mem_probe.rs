//! `gclab mem-probe` (hidden): the harness's own memory per simulated object. It builds a live
//! heap of N objects with a strategy (default `cpython-3.11`), keeps it reachable, and reports
//! the process's peak resident set (`VmHWM` in `/proc/self/status`) before and after, per
//! object. This is what the executor's arrays, the objects' slot vectors and the strategy's
//! metadata cost together; the modelled (simulated) bytes are reported beside it.
//!
//! Shapes (built by `gclab_workloads::shapes`):
//! * `lists`: one holder list and N-1 empty lists appended to it (tracked containers with no
//!   slots of their own: the executor's and the strategy's per-object cost plus one slot each);
//! * `atoms`: holder lists of 1000 floats each, the holders appended to one list (untracked
//!   atoms: no slot block of their own);
//! * `chain`: N 1-tuples, each holding the previous one (every object has its own slot block:
//!   the worst case for slot storage).

use crate::classify::{Classify, CmdResult, ExitClass};
use crate::registry::{self, RegistryError, WithStrategy};
use gclab_core::executor::{ExecConfig, Executor};
use gclab_core::op::StreamHeader;
use gclab_core::strategy::Strategy;
use gclab_core::workload::Emitter;
use gclab_workloads::shapes::{self, Shape};
use serde::Serialize;
use std::time::Instant;

/// Heap shapes `mem-probe` builds.
pub const SHAPES: [&str; 3] = ["lists", "atoms", "chain"];

/// Why the probe could not run.
#[derive(Debug, thiserror::Error)]
pub enum MemProbeError {
    /// A bad argument.
    #[error("{0}")]
    Usage(String),
    /// A bad strategy name or parameter.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// Building the heap failed (a bug).
    #[error("building the heap: {0}")]
    Exec(String),
}

/// What the probe measured.
#[derive(Clone, Debug, Serialize)]
pub struct MemProbe {
    /// Strategy or preset.
    pub strategy: String,
    /// Heap shape.
    pub shape: String,
    /// Live simulated objects at the end.
    pub objects: u64,
    /// Modelled (simulated CPython) bytes live at the end.
    pub modelled_bytes: u64,
    /// Peak resident set before building the heap, bytes.
    pub vm_hwm_before: u64,
    /// Peak resident set after, bytes.
    pub vm_hwm_after: u64,
    /// `(vm_hwm_after - vm_hwm_before) / objects`: the harness's bytes per simulated object.
    pub bytes_per_object: f64,
    /// The strategy's own declared metadata per object slot.
    pub strategy_metadata_bytes_per_object: u64,
    /// Wall time to build the heap, ns.
    pub build_ns: u64,
}

use crate::metrics::peak_rss_bytes;

struct Built {
    live: u64,
    bytes: u64,
    before: u64,
    after: u64,
    meta: u64,
    build_ns: u64,
}

struct Build {
    objects: u64,
    shape: Shape,
}

impl WithStrategy for Build {
    type Output = Result<Built, MemProbeError>;
    fn call<S: Strategy>(self, s: S) -> Self::Output {
        let header = StreamHeader::new(shapes::REGISTERS)
            .workload(format!("mem-probe-{}", self.shape.name()));
        let before = peak_rss_bytes();
        let t = Instant::now();
        let mut ex = Executor::new(s, &header, ExecConfig::default());
        self.shape
            .emit(self.objects, &mut Emitter::new(&mut ex))
            .map_err(|e| MemProbeError::Exec(e.to_string()))?;
        let build_ns = t.elapsed().as_nanos() as u64;
        let after = peak_rss_bytes();
        let live = ex.heap.acct.live_objects;
        let bytes = ex.heap.acct.live_bytes;
        let meta = ex.strategy.stats().metadata_bytes_per_object;
        // Keep the heap alive until after the measurement, then drop it.
        drop(ex);
        Ok(Built {
            live,
            bytes,
            before,
            after,
            meta,
            build_ns,
        })
    }
}

/// Builds the heap and measures it.
pub fn probe(objects: u64, strategy: &str, shape: &str) -> Result<MemProbe, MemProbeError> {
    if objects < 2 {
        return Err(MemProbeError::Usage("--objects must be at least 2".into()));
    }
    let shape_kind = Shape::parse(shape, &SHAPES).map_err(MemProbeError::Usage)?;
    let b = registry::with_strategy(
        strategy,
        &[],
        Build {
            objects,
            shape: shape_kind,
        },
    )??;
    Ok(MemProbe {
        strategy: strategy.to_string(),
        shape: shape.to_string(),
        objects: b.live,
        modelled_bytes: b.bytes,
        vm_hwm_before: b.before,
        vm_hwm_after: b.after,
        bytes_per_object: b.after.saturating_sub(b.before) as f64 / b.live.max(1) as f64,
        strategy_metadata_bytes_per_object: b.meta,
        build_ns: b.build_ns,
    })
}

/// A bad argument, strategy name or parameter is bad input; a failure building the heap is
/// internal.
impl Classify for MemProbeError {
    fn exit_class(&self) -> ExitClass {
        match self {
            MemProbeError::Usage(_) | MemProbeError::Registry(_) => ExitClass::Usage,
            MemProbeError::Exec(_) => ExitClass::Internal,
        }
    }
}

/// Arguments of `gclab mem-probe`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Live simulated objects to build.
    #[arg(long, default_value_t = 10_000_000)]
    pub objects: u64,
    /// Strategy or preset.
    #[arg(long, short, default_value = "cpython-3.11")]
    pub strategy: String,
    /// Heap shape: lists, atoms or chain.
    #[arg(long, default_value = "lists")]
    pub shape: String,
}

/// Runs `gclab mem-probe` ([`probe`]) and prints the result as one JSON line.
pub fn run(a: Args) -> CmdResult {
    super::print_json(&probe(a.objects, &a.strategy, &a.shape)?)
}
