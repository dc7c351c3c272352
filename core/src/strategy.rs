//! The strategy plug-in API: the hooks the executor calls, and how a strategy describes itself.
//!
//! A strategy owns the *policy*: its own metadata (reference counts, generation lists, marks,
//! buffers), when to collect and what to free. The executor owns the heap and the program's
//! semantics. See `docs/strategy-api.md` for the guide a person adding a strategy reads.
//!
//! The executor is generic over the strategy, so every hook is statically dispatched and can be
//! inlined into the hot loop.

use crate::heap::{Heap, ObjId};
use crate::op::{GcOp, InterpOp};
use crate::params::{ParamError, ParamSpec, Params};
use crate::version::Versions;
use serde::{Deserialize, Serialize};

/// What a `gc` op returns to the program.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum GcReply {
    /// Nothing (`enable`, `freeze`, ...).
    None,
    /// The return value of `gc.collect()`: objects collected plus uncollectable.
    Collected(u64),
}

/// Per-generation statistics, as `gc.get_stats()` reports them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenerationStats {
    /// Collections of this generation.
    pub collections: u64,
    /// Objects collected by those collections.
    pub collected: u64,
    /// Objects found uncollectable.
    pub uncollectable: u64,
}

/// A strategy's own statistics for reports and JSON records.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StrategyStats {
    /// Per-generation statistics (empty for strategies without generations).
    pub generations: Vec<GenerationStats>,
    /// Other named counters (for example `purple_buffer_peak`).
    pub counters: Vec<(String, u64)>,
    /// Bytes of metadata the strategy keeps per object slot of the arena (for harness-memory
    /// accounting); 0 if it keeps none.
    pub metadata_bytes_per_object: u64,
}

/// A garbage-collection strategy. See the module docs and `docs/strategy-api.md`.
///
/// Reference-count hooks (`retain`, `release`) are called for every reference the program
/// creates or drops: register writes, slot writes, appends. A strategy that does not count
/// references leaves them empty, and the compiler removes the calls.
pub trait Strategy {
    /// Called right after the executor allocated `obj`, before the program stores it anywhere.
    /// The object is not referenced yet; the executor calls [`Strategy::retain`] when it is
    /// stored into its destination register.
    fn alloc(&mut self, heap: &mut Heap, obj: ObjId);

    /// A new reference to `obj` was created (`Py_INCREF`).
    fn retain(&mut self, heap: &mut Heap, obj: ObjId);

    /// A reference to `obj` was dropped (`Py_DECREF`).
    fn release(&mut self, heap: &mut Heap, obj: ObjId);

    /// `value` (never nil) was just stored into a slot of `container`: for lazy dict tracking,
    /// write barriers and the like. Called after `retain(value)`.
    #[inline]
    fn stored(&mut self, _heap: &mut Heap, _container: ObjId, _value: ObjId) {}

    /// A safe point: where a deferred collection may run (CPython 3.12's eval breaker).
    #[inline]
    fn safe_point(&mut self, _heap: &mut Heap) {}

    /// A named program event (`request_end`, `fork`, ...).
    #[inline]
    fn event(&mut self, _heap: &mut Heap, _name: &str) {}

    /// The program's own call into the `gc` module. The executor has already rejected what
    /// CPython rejects (a generation outside 0..=2). The default does nothing and, for
    /// `collect`, returns 0.
    fn gc(&mut self, _heap: &mut Heap, op: &GcOp) -> GcReply {
        match op {
            GcOp::Collect { .. } => GcReply::Collected(0),
            _ => GcReply::None,
        }
    }

    /// A recording's report of the real interpreter's collector state ([`InterpOp`]). `obj` is
    /// the object in the op's register for `Track` and `Untrack` (never nil: the executor
    /// skips an op on an empty register), and nil otherwise. A strategy that does not model
    /// CPython's collector ignores these (the default).
    #[inline]
    fn interp(&mut self, _heap: &mut Heap, _op: &InterpOp, _obj: ObjId) {}

    /// The run is over (after the last op).
    fn finish(&mut self, _heap: &mut Heap) {}

    /// The reference count the strategy keeps for `obj`, if it keeps one (for `Probe` ops).
    fn refcount(&self, _obj: ObjId) -> Option<u64> {
        None
    }

    /// The strategy's statistics.
    fn stats(&self) -> StrategyStats {
        StrategyStats::default()
    }

    /// The heap budget in bytes this strategy was configured with, if its policy has one (a
    /// tracing collector triggered when live bytes reach a budget). The runner enforces it as
    /// [`crate::ExecConfig::max_heap`]: if live bytes exceed it after an op (the strategy could
    /// not collect enough), the run ends as out of memory.
    fn heap_budget(&self) -> Option<u64> {
        None
    }

    /// The executor is about to refuse an allocation because live bytes would exceed the
    /// budget ([`crate::ExecConfig::max_heap`]) by `short` bytes: a strategy that can free
    /// memory now (a tracing collector) collects here. Called between ops, so every live object
    /// the program can reach is reachable from the registers. The default does nothing.
    fn reclaim(&mut self, _heap: &mut Heap, _short: u64) {}
}

/// A named preset: a strategy with fixed parameter values (for example `cpython-3.11`).
#[derive(Copy, Clone, Debug)]
pub struct Preset {
    /// The name a user selects.
    pub name: &'static str,
    /// One line saying what it is.
    pub description: &'static str,
    /// The parameter values it sets; other parameters keep their defaults.
    pub params: &'static [(&'static str, &'static str)],
    /// The CPython releases it stands for (shown by `gclab list`; a version of a
    /// [`Versions::Release`] range resolves to it).
    pub versions: Versions,
}

/// What a strategy promises about the garbage it frees: declared once, in [`StrategyInfo`], and
/// checked by the conformance suite (`gclab-conformance`) beyond the properties every strategy
/// must meet (safety, exact accounting, determinism).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Guarantee {
    /// Only safety: it may keep any garbage (the `none` baseline).
    Safe,
    /// Pure reference counting: keeps exactly the objects reachable from the registers or from a
    /// cycle, after every op.
    Refcount,
    /// A complete collector: a full collection (`gc.collect(2)`, nothing frozen) leaves no
    /// unreachable object.
    Complete,
    /// A model of CPython's collector: [`Guarantee::Complete`] plus the `gc` module's statistics
    /// and counter semantics (`get_stats()`, `get_count()`, `gc.collect(g)` charged to `g`).
    CPython,
}

/// How a strategy crate describes itself to the registry.
#[derive(Copy, Clone, Debug)]
pub struct StrategyInfo {
    /// The strategy's name.
    pub name: &'static str,
    /// One line saying what it does.
    pub description: &'static str,
    /// Its parameters.
    pub params: &'static [ParamSpec],
    /// Named presets.
    pub presets: &'static [Preset],
    /// The CPython releases its default configuration stands for
    /// ([`Versions::NotCPython`] when it models none, or when a preset names them).
    pub versions: Versions,
    /// What it promises about garbage, for the conformance suite (every crate's own
    /// `conformance_tests!` and the registry-wide `tests/conformance.rs` read it from here). A
    /// required field: a strategy cannot be registered without declaring it.
    pub guarantee: Guarantee,
}

/// A strategy that can be built from parameters: what a strategy crate implements so that the
/// binary's registry can list it and build it by name.
pub trait StrategyFactory: Strategy + Sized {
    /// The strategy's description.
    const INFO: StrategyInfo;

    /// Builds the strategy from resolved parameters; rejects values outside their range.
    fn build(params: &Params) -> Result<Self, ParamError>;

    /// Resolves `given` parameters against [`Self::INFO`] and builds the strategy.
    fn from_pairs(given: &[(String, String)]) -> Result<Self, ParamError> {
        let p = Params::resolve(Self::INFO.name, Self::INFO.params, given)?;
        Self::build(&p)
    }
}
