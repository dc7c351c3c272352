//! `web-service`: the Instagram case. A pre-fork server builds a large long-lived heap at
//! start-up, forks, and its worker serves requests that read the shared heap and build
//! short-lived object graphs, some of them cyclic.
//!
//! ## Start-up (the parent process)
//!
//! * `sys.modules`: a dict of `modules` module dicts. Each module dict holds `funcs` functions
//!   (instances standing for function objects, each holding its code as `bytes`, its name as a
//!   `str`, a defaults tuple and a reference back to its module's dict, its `__globals__`: so the
//!   long-lived heap is full of cycles, as a real one is) and `consts` constant strings.
//! * A cache: a dict of `cache_entries` entries, each a tuple `(key str, value list)` whose list
//!   holds a few strs and ints.
//! * Configuration: a dict of `config` settings, each a small dict of strs, lists of strs or ints.
//!
//! Then, with `freeze=true`, `gc.freeze()` (moving every tracked object to the permanent
//! generation, as Instagram's recipe does just before forking), and the event `fork`: the
//! executor starts copy-on-write accounting, and every 4 KiB page holding a pre-fork object that
//! is written afterwards is counted, by cause (reference-count writes, collector writes,
//! program stores).
//!
//! ## Requests (the forked worker)
//!
//! Each of `requests` requests reads `config_reads` configuration values and calls `calls` functions (entries chosen with a `skew`: a few are hot; each a load from a module dict: a reference-count write
//! on a pre-fork object, as in CPython), then builds a request instance with a headers dict of
//! `headers` strs and a path str, a response instance referring to the request, and a body list
//! of `rows` 3-tuples `(int, str, cached value)` (the first `lookups` rows each look up a cache
//! entry; later rows reuse the last value read). With probability `cyclic` the request also
//! refers back to its response, so the whole request graph becomes cyclic garbage when dropped
//! (only a cycle collector frees it). With probability `memo` the response is kept in the
//! worker's memo ring of `memo_size` slots (a list allocated after the fork; the oldest entry is
//! evicted), so some request state survives into the old generation, as sessions and caches do
//! in a real worker, and full collections eventually run. Each request ends with the event
//! `request_end`.
//!
//! ## GC settings
//!
//! `gc=on` leaves the collector on; `gc=disable` calls `gc.disable()` at start; `gc=threshold0`
//! calls `gc.set_threshold(0, 10, 10)` at start (Instagram's first fix, because a library
//! re-enabled a disabled collector). `freeze=true` calls `gc.freeze()` just before `fork`.
//! `reenable=true` turns the collector back on in the worker right after `fork` (`gc.enable()`,
//! or `gc.set_threshold(700, 10, 10)`): with `gc=disable freeze=true reenable=true` this is the
//! recipe of bpo-31558 (disable early in the parent, freeze before fork, re-enable in the child).
//! `size` multiplies the number of requests. The stream ends after the last request with the
//! start-up heap still referenced: the worker exits without tearing it down (`os._exit`), so
//! the end-of-run teardown does not pollute the copy-on-write figures.
//!
//! ## Safe points
//!
//! CPython 3.12+ runs a scheduled collection only at an eval-breaker check (a Python call's
//! `RESUME`, a loop's back-edge, the end of a call to C), so the stream has a `SafePoint` where
//! the modelled program passes one. At start-up: after each module's dict is created (the
//! import system then runs Python calls before the module body), after each function definition
//! (taken to be decorated: a call), at every iteration of the cache and configuration loops and
//! of their inner loops (each configuration value is parsed by a call). In a request: on entry
//! to the handler, at each of the `calls` function calls, after the request and response
//! instances are allocated (their `__init__`), at every header, configuration read and body row,
//! and after each cache lookup (`cache.get`, a call to C). Between two safe points the program
//! allocates at most one container, except for a function object and its defaults tuple: real
//! CPython replaying the trace (`scripts/cpython_replay.py`, whose loop checks after every op)
//! can collect between those two where the program cannot, which shifts the young count by one
//! allocation; at the default parameters the shifts add up until, under 3.12 and 3.13, one
//! request's graph is collected one collection later than in the replay (per generation and in
//! total the collections and objects collected are equal). Smaller start-up heaps match
//! collection by collection (`tests/workload_fidelity.rs`).

use crate::util::{scaled, Lens, SIZE};
use gclab_core::kind::Kind;
use gclab_core::op::{GcOp, StreamHeader};
use gclab_core::params::{ParamError, ParamSpec, ParamType, Params};
use gclab_core::workload::{Emitter, Stop, Workload, WorkloadEntry, WorkloadInfo};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Catalogue entry.
pub const ENTRY: WorkloadEntry = WorkloadEntry {
    info: WorkloadInfo {
        name: "web-service",
        description: "the Instagram case: large start-up heap, fork, then requests building short-lived (partly cyclic) graphs",
        params: &[
            ParamSpec { name: "modules", ty: ParamType::U64, default: "400", help: "module dicts in sys.modules" },
            ParamSpec { name: "funcs", ty: ParamType::U64, default: "40", help: "functions per module" },
            ParamSpec { name: "consts", ty: ParamType::U64, default: "40", help: "constant strings per module" },
            ParamSpec { name: "cache_entries", ty: ParamType::U64, default: "20000", help: "entries of the long-lived cache" },
            ParamSpec { name: "config", ty: ParamType::U64, default: "2000", help: "configuration settings" },
            ParamSpec { name: "requests", ty: ParamType::U64, default: "4000", help: "requests served after the fork" },
            ParamSpec { name: "rows", ty: ParamType::U64, default: "40", help: "rows in each response body" },
            ParamSpec { name: "headers", ty: ParamType::U64, default: "12", help: "headers per request" },
            ParamSpec { name: "lookups", ty: ParamType::U64, default: "10", help: "cache entries read per request" },
            ParamSpec { name: "config_reads", ty: ParamType::U64, default: "10", help: "configuration values read per request" },
            ParamSpec { name: "calls", ty: ParamType::U64, default: "30", help: "functions called (loaded from module dicts) per request" },
            ParamSpec { name: "cyclic", ty: ParamType::F64, default: "0.3", help: "probability that a request's graph is cyclic" },
            ParamSpec { name: "memo", ty: ParamType::F64, default: "0.2", help: "probability that a response is kept in the worker's memo ring" },
            ParamSpec { name: "memo_size", ty: ParamType::U64, default: "1000", help: "slots of the worker's memo ring (oldest evicted)" },
            ParamSpec { name: "skew", ty: ParamType::F64, default: "3", help: "access skew: entry floor(n * u^skew) for uniform u (1 = uniform; larger = hotter few)" },
            ParamSpec { name: "freeze", ty: ParamType::Bool, default: "false", help: "call gc.freeze() just before fork" },
            ParamSpec { name: "gc", ty: ParamType::Text, default: "on", help: "on | disable (gc.disable() at start) | threshold0 (gc.set_threshold(0) at start)" },
            ParamSpec { name: "reenable", ty: ParamType::Bool, default: "false", help: "after fork, gc.enable() (gc=disable) or gc.set_threshold(700, 10, 10) (gc=threshold0) in the worker" },
            SIZE,
        ],
    },
    build,
};

/// Event names, in header order.
pub const NAMES: [&str; 2] = ["fork", "request_end"];

/// How the program configures the collector at start.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum GcMode {
    /// Leave it on.
    On,
    /// `gc.disable()`.
    Disable,
    /// `gc.set_threshold(0, 10, 10)`.
    Threshold0,
}

/// The workload.
#[derive(Debug, Clone)]
pub struct WebService {
    modules: u32,
    funcs: u32,
    consts: u32,
    cache_entries: u32,
    config: u32,
    requests: u64,
    rows: u32,
    headers: u32,
    lookups: u32,
    config_reads: u32,
    calls: u32,
    cyclic: f64,
    memo: f64,
    memo_size: u32,
    skew: f64,
    freeze: bool,
    gc: GcMode,
    reenable: bool,
}

fn build(p: &Params) -> Result<Box<dyn Workload>, ParamError> {
    let gc = match p.text("gc") {
        "on" => GcMode::On,
        "disable" => GcMode::Disable,
        "threshold0" => GcMode::Threshold0,
        other => {
            return Err(p.range_error(
                "gc",
                format!("'{other}' is not one of on, disable, threshold0"),
            ))
        }
    };
    let cyclic = p.f64("cyclic");
    if !(0.0..=1.0).contains(&cyclic) {
        return Err(p.range_error("cyclic", format!("{cyclic} is outside 0..=1")));
    }
    let memo = p.f64("memo");
    if !(0.0..=1.0).contains(&memo) {
        return Err(p.range_error("memo", format!("{memo} is outside 0..=1")));
    }
    let skew = p.f64("skew");
    if !(1.0..=100.0).contains(&skew) {
        return Err(p.range_error("skew", format!("{skew} is outside 1..=100")));
    }
    let small = |k: &str, lo: u64| p.u64_in(k, lo, 1 << 20).map(|v| v as u32);
    Ok(Box::new(WebService {
        modules: small("modules", 1)?,
        funcs: small("funcs", 1)?,
        consts: small("consts", 0)?,
        cache_entries: small("cache_entries", 1)?,
        config: small("config", 1)?,
        requests: scaled(p, "requests", 1 << 32)?,
        rows: small("rows", 0)?,
        headers: small("headers", 0)?,
        lookups: small("lookups", 0)?,
        config_reads: small("config_reads", 0)?,
        calls: small("calls", 0)?,
        cyclic,
        memo,
        memo_size: small("memo_size", 1)?,
        skew,
        freeze: p.bool("freeze"),
        gc,
        reenable: p.bool("reenable"),
    }))
}

const MODULES: u32 = 0;
const CACHE: u32 = 1;
const CONFIG: u32 = 2;
const M: u32 = 3;
const F: u32 = 4;
const X: u32 = 5;
const Y: u32 = 6;
const REQ: u32 = 7;
const RESP: u32 = 8;
const BODY: u32 = 9;
const ROW: u32 = 10;
const E: u32 = 11;
const V: u32 = 12;
const MEMO: u32 = 13;

fn str_len(rng: &mut ChaCha8Rng, lo: u32, hi: u32) -> u32 {
    rng.random_range(lo..=hi)
}

impl WebService {
    /// A skewed index into `0..n`: `floor(n * u^skew)`.
    fn pick(&self, rng: &mut ChaCha8Rng, n: u32) -> u32 {
        let u: f64 = rng.random();
        ((n as f64 * u.powf(self.skew)) as u32).min(n - 1)
    }

    fn startup(&self, rng: &mut ChaCha8Rng, out: &mut Emitter<'_>) -> Result<(), Stop> {
        out.alloc(MODULES, Kind::Dict, 0)?;
        for m in 0..self.modules {
            // Importing a module: the import system's Python code creates the module (its dict)
            // and then runs calls (`module_from_spec`, ...) before executing its body.
            out.alloc(M, Kind::Dict, 0)?;
            out.store(MODULES, m, M)?;
            out.safe_point()?;
            for f in 0..self.funcs {
                // A function: code bytes, name, defaults tuple, __globals__ (the module dict).
                out.alloc(F, Kind::Instance, 0)?;
                let code = str_len(rng, 20, 400);
                out.alloc(X, Kind::Bytes, code)?;
                out.store(F, 0, X)?;
                let name = str_len(rng, 4, 24);
                out.alloc(X, Kind::Str, name)?;
                out.store(F, 1, X)?;
                // The defaults: their values first, then the tuple (BUILD_TUPLE).
                let nd = rng.random_range(0..3u32);
                for d in 0..nd {
                    out.alloc(E + d, Kind::Str, str_len(rng, 1, 12))?;
                }
                out.alloc(X, Kind::Tuple, nd)?;
                for d in 0..nd {
                    out.store(X, d, E + d)?;
                }
                out.store(F, 2, X)?;
                out.store(F, 3, M)?;
                out.store(M, f, F)?;
                // The definition is decorated (`@route`, `@cache`, ...): a call.
                out.safe_point()?;
            }
            for c in 0..self.consts {
                out.alloc(X, Kind::Str, str_len(rng, 3, 80))?;
                out.store(M, self.funcs + c, X)?;
            }
        }
        out.alloc(CACHE, Kind::Dict, 0)?;
        for i in 0..self.cache_entries {
            out.alloc(Y, Kind::Str, str_len(rng, 8, 32))?;
            let n = rng.random_range(1..=6u32);
            out.alloc(V, Kind::List, 0)?;
            for _ in 0..n {
                if rng.random_bool(0.5) {
                    out.alloc(X, Kind::Str, str_len(rng, 2, 40))?;
                } else {
                    out.alloc(X, Kind::Int, 1)?;
                }
                out.append(V, X)?;
                out.safe_point()?;
            }
            // (key, values): the items first, then the tuple.
            out.alloc(E, Kind::Tuple, 2)?;
            out.store(E, 0, Y)?;
            out.store(E, 1, V)?;
            out.store(CACHE, i, E)?;
            out.safe_point()?;
        }
        out.alloc(CONFIG, Kind::Dict, 0)?;
        for i in 0..self.config {
            out.alloc(E, Kind::Dict, 0)?;
            let n = rng.random_range(1..=5u32);
            for j in 0..n {
                // Each value is parsed by a call (its RESUME).
                out.safe_point()?;
                if rng.random_bool(0.7) {
                    out.alloc(X, Kind::Str, str_len(rng, 1, 60))?;
                } else {
                    out.alloc(X, Kind::List, 0)?;
                    for _ in 0..rng.random_range(1..=4) {
                        out.alloc(Y, Kind::Str, str_len(rng, 1, 20))?;
                        out.append(X, Y)?;
                        out.safe_point()?;
                    }
                }
                out.store(E, j, X)?;
                out.safe_point()?;
            }
            out.store(CONFIG, i, E)?;
            out.safe_point()?;
        }
        for r in [M, F, X, Y, E, V] {
            out.clear(r)?;
        }
        Ok(())
    }

    fn request(
        &self,
        rng: &mut ChaCha8Rng,
        out: &mut Emitter<'_>,
        memo: &mut Lens,
        stored: &mut u64,
    ) -> Result<(), Stop> {
        // The handler is called: its RESUME.
        out.safe_point()?;
        // Calls: load the function from its module (a refcount write on the shared heap), then
        // call it (its RESUME is the safe point).
        for _ in 0..self.calls {
            let (m, f) = (self.pick(rng, self.modules), self.pick(rng, self.funcs));
            out.load(M, MODULES, m)?;
            out.load(F, M, f)?;
            out.safe_point()?;
        }
        // The request and its headers.
        out.alloc(REQ, Kind::Instance, 0)?;
        // Request.__init__
        out.safe_point()?;
        out.alloc(X, Kind::Dict, 0)?;
        for h in 0..self.headers {
            out.alloc(Y, Kind::Str, str_len(rng, 4, 60))?;
            out.store(X, h, Y)?;
            out.safe_point()?;
        }
        out.store(REQ, 0, X)?;
        out.alloc(X, Kind::Str, str_len(rng, 8, 64))?;
        out.store(REQ, 1, X)?;
        // Configuration reads.
        for _ in 0..self.config_reads {
            let i = self.pick(rng, self.config);
            out.load(E, CONFIG, i)?;
            out.load(V, E, 0)?;
            out.safe_point()?;
        }
        // The response, its body of rows from cache lookups.
        out.alloc(RESP, Kind::Instance, 0)?;
        // Response.__init__
        out.safe_point()?;
        out.store(RESP, 0, REQ)?;
        out.alloc(BODY, Kind::List, 0)?;
        for r in 0..self.rows {
            if r < self.lookups {
                let i = self.pick(rng, self.cache_entries);
                out.load(E, CACHE, i)?;
                out.load(V, E, 1)?;
                // `cache.get(key)`: CPython checks the eval breaker after a call to C.
                out.safe_point()?;
            }
            out.alloc(X, Kind::Int, 1)?;
            out.alloc(Y, Kind::Str, str_len(rng, 4, 40))?;
            out.alloc(ROW, Kind::Tuple, 3)?;
            out.store(ROW, 0, X)?;
            out.store(ROW, 1, Y)?;
            out.store(ROW, 2, V)?;
            out.append(BODY, ROW)?;
            out.safe_point()?;
        }
        out.store(RESP, 1, BODY)?;
        if rng.random_bool(self.cyclic) {
            out.store(REQ, 2, RESP)?;
        }
        if rng.random_bool(self.memo) {
            // memo[stored % memo_size] = resp: the ring fills, then evicts its oldest entry.
            let slot = (*stored % self.memo_size as u64) as u32;
            *stored += 1;
            if slot < memo.len {
                out.store(MEMO, slot, RESP)?;
            } else {
                memo.push(out, MEMO, RESP)?;
            }
        }
        for r in [M, F, X, Y, E, V, ROW, BODY, RESP, REQ] {
            out.clear(r)?;
        }
        out.event(1)
    }
}

impl Workload for WebService {
    fn header(&self) -> StreamHeader {
        StreamHeader::new(14).names(NAMES)
    }

    fn generate(&self, rng: &mut ChaCha8Rng, out: &mut Emitter<'_>) -> Result<(), Stop> {
        match self.gc {
            GcMode::On => {}
            GcMode::Disable => out.gc(GcOp::Disable)?,
            GcMode::Threshold0 => out.gc(GcOp::SetThreshold {
                t0: 0,
                t1: 10,
                t2: 10,
            })?,
        }
        self.startup(rng, out)?;
        if self.freeze {
            out.gc(GcOp::Freeze)?;
        }
        out.event(0)?;
        if self.reenable {
            match self.gc {
                GcMode::On => {}
                GcMode::Disable => out.gc(GcOp::Enable)?,
                GcMode::Threshold0 => out.gc(GcOp::SetThreshold {
                    t0: 700,
                    t1: 10,
                    t2: 10,
                })?,
            }
        }
        out.alloc(MEMO, Kind::List, 0)?;
        let mut memo = Lens::default();
        let mut stored = 0u64;
        for _ in 0..self.requests {
            self.request(rng, out, &mut memo, &mut stored)?;
        }
        // The worker exits without tearing down the start-up heap (a pre-fork worker leaves with
        // os._exit), so the shared heap stays live to the end of the stream.
        Ok(())
    }
}
