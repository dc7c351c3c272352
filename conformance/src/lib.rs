//! # gclab-conformance
//!
//! The conformance suite every gclab strategy must pass, in one line of its tests:
//!
//! ```ignore
//! gclab_conformance::conformance_tests!(MyStrategy);
//! // or, equivalently:
//! #[test]
//! fn conformance() {
//!     gclab_conformance::check_declared::<MyStrategy>();
//! }
//! ```
//!
//! What is checked beyond the universal properties depends on the [`Guarantee`] the strategy
//! declares in its `StrategyInfo`; the suite reads it from there.
//!
//! It runs the strategy on thousands of random, always-valid op streams (proptest; see [`gen`]:
//! generated programs, then a quarter as many again of streams shaped like recordings of real
//! programs, with a type table, `New` objects and the interpreter's own collector ops)
//! under the executor's sanity mode (`ExecConfig { verify: true }`: freed ids are quarantined,
//! so a use of a freed object is caught deterministically, and the oracle re-traces after every
//! collection), beside a *shadow* run that never frees (see [`model`]). After **every op** it
//! checks:
//!
//! * **safety** — no object reachable from the registers has been freed (every [`Guarantee`]);
//! * **accounting** — live objects and bytes equal a recount of the unfreed objects' sizes;
//! * **reference counts** — for a strategy that reports them, each live object's count equals
//!   the references held to it (registers and slots of unfreed objects);
//! * **refcount exactness** ([`Guarantee::Refcount`]) — the live objects are exactly those
//!   reachable from the registers or from a cycle: acyclic garbage is freed at once, garbage on
//!   or hanging from a cycle leaks, and nothing else;
//! * **completeness** ([`Guarantee::Complete`], [`Guarantee::CPython`]) — after `gc.collect(2)`
//!   (when nothing is frozen) the live objects are exactly those reachable from the registers.
//!   Every stream ends with `gc.unfreeze(); gc.collect(2)`, so this is checked at least once;
//! * **CPython statistics** (strategies that report generations) — `get_stats()` counters only
//!   grow, and `gc.collect(g)` returns collected plus uncollectable; for [`Guarantee::CPython`]
//!   also that the collection is charged to generation `g` only and that `get_count()` (the
//!   `count0`, `count1`, `count2` counters) follows the specification.
//!
//! and at the end that the same stream run again gives the same deterministic figures.
//!
//! A failing stream is shrunk by proptest to a minimal one, printed op by op, and saved as a
//! text trace under `target/conformance-failures/` (or `$GCLAB_CONFORMANCE_DIR`), which
//! `gclab run -s NAME -w trace:FILE --verify` replays.
//!
//! Environment: `GCLAB_CONFORMANCE_CASES` (streams per check), `GCLAB_CONFORMANCE_SEED` (a u64;
//! the default seed makes CI reproducible), `GCLAB_CONFORMANCE_DIR` (where failures go).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod checker;
pub mod gen;
pub mod model;

use checker::Checker;
use gclab_core::executor::{ExecConfig, Executor, ProbeRecord};
use gclab_core::heap::{Accounting, CowReport, ObjId, Work};
use gclab_core::op::{GcOp, Op, StreamHeader};
use gclab_core::strategy::{Strategy, StrategyFactory, StrategyStats};
use gclab_core::trace::{TraceFormat, TraceWriter};
use gclab_core::workload::OpSink;
use gen::RawOp;
use model::NoFree;
use proptest::test_runner::{
    Config as PtConfig, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner,
};
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;

/// What a strategy promises, which decides the properties checked beyond safety, accounting and
/// determinism (which every strategy must meet). Each strategy declares its own in
/// [`StrategyInfo::guarantee`](gclab_core::strategy::StrategyInfo::guarantee), which
/// [`conformance_tests!`] and [`check_declared`] read.
pub use gclab_core::strategy::Guarantee;

/// How many streams, how long, over how many registers.
#[derive(Clone, Debug)]
pub struct Config {
    /// Random streams to run (before shrinking).
    pub cases: u32,
    /// Longest stream, in op templates (the epilogue adds two ops).
    pub max_ops: usize,
    /// Registers of every stream.
    pub registers: u8,
    /// Seed of proptest's RNG.
    pub seed: u64,
    /// A name for the strategy in messages and failure file names.
    pub label: String,
    /// Where a failing stream's trace goes; `None` means `target/conformance-failures`.
    pub failure_dir: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Config {
        let env_u64 = |k: &str| {
            std::env::var(k)
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
        };
        Config {
            cases: env_u64("GCLAB_CONFORMANCE_CASES")
                .map(|c| c.min(u32::MAX as u64) as u32)
                .unwrap_or(DEFAULT_CASES),
            max_ops: 120,
            registers: 4,
            seed: env_u64("GCLAB_CONFORMANCE_SEED").unwrap_or(0x9c1a_b5ee_d000_0001),
            label: "strategy".into(),
            failure_dir: std::env::var_os("GCLAB_CONFORMANCE_DIR").map(PathBuf::from),
        }
    }
}

/// Streams per check unless `GCLAB_CONFORMANCE_CASES` says otherwise.
pub const DEFAULT_CASES: u32 = 2000;

/// The ops every generated stream ends with, so that completeness is checked at least once.
pub const EPILOGUE: [Op; 2] = [
    Op::Gc(GcOp::Unfreeze),
    Op::Gc(GcOp::Collect { generation: 2 }),
];

/// A property that failed, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The property, in a few words.
    pub property: &'static str,
    /// The op after which it failed (0-based), if it failed at an op.
    pub op_index: Option<usize>,
    /// What exactly was wrong.
    pub detail: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.op_index {
            Some(i) => write!(f, "[{}] after op {i}: {}", self.property, self.detail),
            None => write!(f, "[{}] {}", self.property, self.detail),
        }
    }
}

/// The result of running one stream under the checks.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The stream's header.
    pub header: StreamHeader,
    /// The ops that ran (up to and including the failing one).
    pub ops: Vec<Op>,
    /// The first property that failed, if any.
    pub violation: Option<Violation>,
}

/// A minimal failing stream found by [`find_failure`].
#[derive(Clone, Debug)]
pub struct Failure {
    /// The strategy's label.
    pub label: String,
    /// What failed on the minimal stream.
    pub violation: Violation,
    /// The minimal stream's header.
    pub header: StreamHeader,
    /// The minimal stream.
    pub ops: Vec<Op>,
    /// Where it was saved as a text trace, if it could be.
    pub trace: Option<PathBuf>,
    /// Why it could not be saved, if it could not.
    pub trace_error: Option<String>,
    /// The proptest seed that found it.
    pub seed: u64,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "conformance failure for {}: {}",
            self.label, self.violation
        )?;
        writeln!(
            f,
            "minimal stream ({} ops, {} registers, names {:?}):",
            self.ops.len(),
            self.header.registers,
            self.header.names
        )?;
        for (i, op) in self.ops.iter().enumerate() {
            writeln!(f, "  {i:>3}: {op:?}")?;
        }
        match (&self.trace, &self.trace_error) {
            (Some(p), _) => writeln!(
                f,
                "saved as {} (replay: gclab run -s {} -w trace:{} --verify)",
                p.display(),
                self.label,
                p.display()
            )?,
            (None, Some(e)) => writeln!(f, "could not save the trace: {e}")?,
            (None, None) => {}
        }
        write!(
            f,
            "proptest seed {} (set GCLAB_CONFORMANCE_SEED to vary it)",
            self.seed
        )
    }
}

/// Checks strategy `S`, built with its default parameters, against `expect`; panics with the
/// minimal failing stream (and where its trace was saved) if any property fails.
pub fn check<S: StrategyFactory>(expect: Guarantee) {
    check_params::<S>(&[], expect, Config::default());
}

/// Checks strategy `S`, built with its default parameters, against the guarantee it declares
/// in its [`StrategyInfo`](gclab_core::strategy::StrategyInfo) (what [`conformance_tests!`]
/// runs).
pub fn check_declared<S: StrategyFactory>() {
    check::<S>(S::INFO.guarantee);
}

/// Checks strategy `S` once per parameter set, on a quarter of the streams each, against the
/// guarantee it declares: for parameters that make its automatic collection run inside the
/// suite's small streams (what `conformance_tests!(T, params: [...])` runs). Each check is
/// labelled with the strategy's name and the set (`trial-deletion buffer=1`).
pub fn check_param_sets<S: StrategyFactory>(sets: &[&[(&str, &str)]]) {
    for set in sets {
        let pairs: Vec<(String, String)> = set
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let mut label = S::INFO.name.to_string();
        for (k, v) in set.iter() {
            label.push_str(&format!(" {k}={v}"));
        }
        let cfg = Config {
            cases: Config::default().cases / 4,
            label,
            ..Config::default()
        };
        check_params::<S>(&pairs, S::INFO.guarantee, cfg);
    }
}

/// [`check`] with parameters (for example a preset's) and a configuration.
pub fn check_params<S: StrategyFactory>(
    params: &[(String, String)],
    expect: Guarantee,
    mut cfg: Config,
) {
    if let Err(e) = S::from_pairs(params) {
        panic!(
            "conformance: cannot build {} with {params:?}: {e}",
            S::INFO.name
        );
    }
    if cfg.label == Config::default().label {
        cfg.label = S::INFO.name.to_string();
    }
    let make = || match S::from_pairs(params) {
        Ok(s) => s,
        Err(e) => panic!("conformance: building {} failed: {e}", S::INFO.name),
    };
    check_with(make, expect, &cfg);
}

/// Checks the strategies `make` builds (a fresh one per stream) against `expect`; panics with
/// the minimal failing stream if any property fails.
pub fn check_with<S: Strategy>(make: impl Fn() -> S, expect: Guarantee, cfg: &Config) {
    if let Some(f) = find_failure(make, expect, cfg) {
        panic!("{f}");
    }
}

/// Runs `cfg.cases` random streams; on the first failure, shrinks it to a minimal stream, saves
/// that as a trace and returns it. `None` if every stream passed.
pub fn find_failure<S: Strategy>(
    make: impl Fn() -> S,
    expect: Guarantee,
    cfg: &Config,
) -> Option<Failure> {
    let pt = PtConfig {
        cases: cfg.cases,
        failure_persistence: None,
        ..PtConfig::default()
    };
    let mut seed = [0u8; 32];
    for (i, chunk) in seed.chunks_mut(8).enumerate() {
        chunk.copy_from_slice(
            &(cfg.seed ^ (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)).to_le_bytes(),
        );
    }
    let mut runner = TestRunner::new_with_rng(pt, TestRng::from_seed(RngAlgorithm::ChaCha, &seed));
    let regs = cfg.registers.max(1);
    let generated = header(regs as u32);
    let check = |header: &StreamHeader, raws: Vec<RawOp>| match run_raw_with(
        &make,
        expect,
        header.clone(),
        &raws,
    )
    .violation
    {
        None => Ok(()),
        Some(v) => Err(TestCaseError::fail(v.to_string())),
    };
    let mut result = runner
        .run(&gen::raw_stream(regs, cfg.max_ops), |raws| {
            check(&generated, raws)
        })
        .map_err(|e| (e, generated.clone()));
    if result.is_ok() && cfg.cases >= 4 {
        // Then recorded streams, a quarter as many, from a seed of their own (the generated
        // streams above are what they were before recorded ops existed).
        let recorded = recorded_header(regs as u32);
        let pt = PtConfig {
            cases: cfg.cases / 4,
            failure_persistence: None,
            ..PtConfig::default()
        };
        let mut seed = seed;
        seed[0] ^= 0x5e;
        let mut runner =
            TestRunner::new_with_rng(pt, TestRng::from_seed(RngAlgorithm::ChaCha, &seed));
        result = runner
            .run(&gen::recorded_stream(regs, cfg.max_ops), |raws| {
                check(&recorded, raws)
            })
            .map_err(|e| (e, recorded));
    }
    let (violation, header, ops) = match result {
        Ok(()) => return None,
        Err((TestError::Abort(why), header)) => (
            Violation {
                property: "proptest ran",
                op_index: None,
                detail: format!("proptest aborted: {why}"),
            },
            header,
            Vec::new(),
        ),
        Err((TestError::Fail(why, raws), header)) => {
            let out = run_raw_with(&make, expect, header, &raws);
            let v = out.violation.unwrap_or(Violation {
                property: "reproducible failure",
                op_index: None,
                detail: format!("the minimal stream failed under proptest ({why}) but passed when run again: the strategy is not deterministic"),
            });
            (v, out.header, out.ops)
        }
    };
    let (trace, trace_error) = match save_trace(cfg, &header, &ops) {
        Ok(p) => (Some(p), None),
        Err(e) => (None, Some(e)),
    };
    let f = Failure {
        label: cfg.label.clone(),
        violation,
        header,
        ops,
        trace,
        trace_error,
        seed: cfg.seed,
    };
    if let Some(p) = &f.trace {
        eprintln!(
            "conformance: minimal failing stream saved to {}",
            p.display()
        );
    }
    Some(f)
}

/// The header of every generated stream.
pub fn header(registers: u32) -> StreamHeader {
    StreamHeader::new(registers)
        .workload("conformance")
        .names(gen::NAMES)
}

/// The header of every recorded stream: [`header`] with the type table [`gen::types`].
pub fn recorded_header(registers: u32) -> StreamHeader {
    header(registers).types(gen::types())
}

fn failure_dir(cfg: &Config) -> PathBuf {
    if let Some(d) = &cfg.failure_dir {
        return d.clone();
    }
    if let Some(t) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(t).join("conformance-failures");
    }
    // A test binary lives in `<target>/<profile>/deps/`.
    if let Ok(exe) = std::env::current_exe() {
        if let Some(target) = exe
            .ancestors()
            .find(|a| a.file_name().is_some_and(|n| n == "deps"))
            .and_then(|deps| deps.parent())
            .and_then(|profile| profile.parent())
        {
            return target.join("conformance-failures");
        }
    }
    std::env::temp_dir().join("gclab-conformance-failures")
}

fn save_trace(cfg: &Config, header: &StreamHeader, ops: &[Op]) -> Result<PathBuf, String> {
    let dir = failure_dir(cfg);
    std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let name = gclab_core::trace::file_stem(&cfg.label);
    let path = dir.join(format!("{name}.trace"));
    let file =
        std::fs::File::create(&path).map_err(|e| format!("creating {}: {e}", path.display()))?;
    let mut w = TraceWriter::new(std::io::BufWriter::new(file), TraceFormat::Text);
    w.begin(header).map_err(|e| e.to_string())?;
    w.ops(ops).map_err(|e| e.to_string())?;
    let mut inner = w.finish().map_err(|e| e.to_string())?;
    std::io::Write::flush(&mut inner).map_err(|e| format!("writing {}: {e}", path.display()))?;
    Ok(path)
}

/// Runs one stream of templates (interpreted into valid ops, then [`EPILOGUE`]) under every
/// check; a panic inside the strategy is reported as a violation.
pub fn run_raw<S: Strategy>(
    make: &dyn Fn() -> S,
    expect: Guarantee,
    registers: u32,
    raws: &[RawOp],
) -> Outcome {
    run_raw_with(make, expect, header(registers), raws)
}

/// [`run_raw`] with a header of the caller's (for recorded streams, [`recorded_header`]).
pub fn run_raw_with<S: Strategy>(
    make: &dyn Fn() -> S,
    expect: Guarantee,
    header: StreamHeader,
    raws: &[RawOp],
) -> Outcome {
    run_source(make, expect, header, Source::Raw(raws))
}

/// Runs an explicit op stream (for example a saved failure, or a hand-written regression)
/// under every check. Nothing is appended to it.
pub fn run_ops<S: Strategy>(
    make: &dyn Fn() -> S,
    expect: Guarantee,
    header: StreamHeader,
    ops: &[Op],
) -> Outcome {
    run_source(make, expect, header, Source::Ops(ops))
}

enum Source<'a> {
    Raw(&'a [RawOp]),
    Ops(&'a [Op]),
}

fn run_source<S: Strategy>(
    make: &dyn Fn() -> S,
    expect: Guarantee,
    header: StreamHeader,
    src: Source<'_>,
) -> Outcome {
    let mut ops = Vec::new();
    let r = catch_unwind(AssertUnwindSafe(|| {
        drive(make, expect, &header, src, &mut ops)
    }));
    let violation = match r {
        Ok(Ok(())) => None,
        Ok(Err(v)) => Some(v),
        Err(payload) => {
            let msg = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "(non-string panic payload)".into());
            Some(Violation {
                property: "no panic",
                op_index: ops.len().checked_sub(1),
                detail: format!("panicked: {msg}"),
            })
        }
    };
    Outcome {
        header,
        ops,
        violation,
    }
}

fn verify_cfg() -> ExecConfig {
    ExecConfig {
        verify: true,
        max_heap: None,
    }
}

fn drive<S: Strategy>(
    make: &dyn Fn() -> S,
    expect: Guarantee,
    header: &StreamHeader,
    src: Source<'_>,
    ops: &mut Vec<Op>,
) -> Result<(), Violation> {
    let mut ck = Checker {
        expect,
        real: Executor::new(make(), header, verify_cfg()),
        shadow: Executor::new(NoFree, header, verify_cfg()),
        frozen: false,
    };
    match src {
        Source::Raw(raws) => {
            let mut interp = gen::Interpreter::new();
            for raw in raws {
                if let Some(op) = interp.next(raw, &ck.shadow.heap) {
                    ops.push(op);
                    ck.step(&op, ops.len() - 1)?;
                    interp.after(&op, &ck.shadow.heap);
                }
            }
            for op in EPILOGUE {
                ops.push(op);
                ck.step(&op, ops.len() - 1)?;
            }
        }
        Source::Ops(list) => {
            for op in list {
                ops.push(*op);
                ck.step(op, ops.len() - 1)?;
            }
        }
    }
    if let Err(stop) = ck.real.finish() {
        return Err(Violation {
            property: "no reachable object freed",
            op_index: None,
            detail: format!("at the end of the stream: {stop}"),
        });
    }
    // Determinism: the same stream again, with a fresh strategy.
    let first = Figures::of(&ck.real);
    let mut again = Executor::new(make(), header, verify_cfg());
    let r = again.ops(ops).and_then(|_| again.finish());
    if let Err(stop) = r {
        return Err(Violation {
            property: "deterministic",
            op_index: None,
            detail: format!("the second run of the same stream failed: {stop}"),
        });
    }
    let second = Figures::of(&again);
    if let Some(diff) = first.diff(&second) {
        return Err(Violation {
            property: "deterministic",
            op_index: None,
            detail: format!("the same stream gave different figures: {diff}"),
        });
    }
    Ok(())
}

/// The `gc.get_count()` a strategy reports through its `count0`..`count2` counters, if it does.
pub fn counts(stats: &StrategyStats) -> Option<[u64; 3]> {
    let get = |name: &str| {
        stats
            .counters
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| *v)
    };
    Some([get("count0")?, get("count1")?, get("count2")?])
}

/// The deterministic figures of a run: everything but wall-clock time.
#[derive(Clone, Debug, PartialEq)]
struct Figures {
    acct: Accounting,
    work: Work,
    /// (at_op, work, generation, examined, freed, live bytes after, live objects after)
    collections: Vec<(u64, u64, i32, u64, u64, u64, u64)>,
    gc_returned: u64,
    stats: StrategyStats,
    probes: Vec<ProbeRecord>,
    cow: CowReport,
    live: Vec<bool>,
}

impl Figures {
    fn of<S: Strategy>(ex: &Executor<S>) -> Figures {
        let h = &ex.heap;
        Figures {
            acct: h.acct.clone(),
            work: h.work.clone(),
            collections: h
                .collections()
                .iter()
                .map(|c| {
                    (
                        c.at_op,
                        c.work,
                        c.generation,
                        c.examined,
                        c.freed,
                        c.live_bytes_after,
                        c.live_objects_after,
                    )
                })
                .collect(),
            gc_returned: ex.gc_returned(),
            stats: ex.strategy.stats(),
            probes: ex.probes().to_vec(),
            cow: h.cow_report(),
            live: (0..h.capacity())
                .map(|i| h.is_live(ObjId(i as u32)))
                .collect(),
        }
    }

    fn diff(&self, o: &Figures) -> Option<String> {
        macro_rules! cmp {
            ($($f:ident),*) => {$(
                if self.$f != o.$f {
                    return Some(format!("{}: {:?} vs {:?}", stringify!($f), self.$f, o.$f));
                }
            )*};
        }
        cmp!(
            acct,
            work,
            collections,
            gc_returned,
            stats,
            probes,
            cow,
            live
        );
        None
    }
}

/// Expands to the conformance tests of a strategy crate, checked against the guarantee the
/// strategy declares in its `StrategyInfo` (so it is stated once, in the strategy):
///
/// ```ignore
/// // `#[test] fn conformance()`: default parameters.
/// gclab_conformance::conformance_tests!(gclab_my_gc::MyGc);
/// // The same, plus `#[test] fn conformance_params()`: each parameter set on a quarter of the
/// // streams, for parameters that make the automatic collection run in small streams.
/// gclab_conformance::conformance_tests!(gclab_my_gc::MyGc, params: [
///     [("every", "3")],
///     [("every", "50"), ("other", "x")],
/// ]);
/// ```
#[macro_export]
macro_rules! conformance_tests {
    ($ty:ty $(,)?) => {
        #[test]
        fn conformance() {
            $crate::check_declared::<$ty>();
        }
    };
    ($ty:ty, params: [$([$(($k:expr, $v:expr)),* $(,)?]),* $(,)?]) => {
        $crate::conformance_tests!($ty);

        #[test]
        fn conformance_params() {
            $crate::check_param_sets::<$ty>(&[$(&[$(($k, $v)),*]),*]);
        }
    };
}
