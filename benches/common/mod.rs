//! Shared helpers for the bench suites: capturing a prefix of a workload's op stream into memory
//! (so that generation is not timed) and replaying it through the registry.

#![allow(dead_code)]

use gclab::registry::{self, WithStrategy};
use gclab_core::executor::{ExecConfig, Executor};
use gclab_core::op::{Op, StreamHeader};
use gclab_core::strategy::Strategy;
use gclab_core::trace::{TraceFormat, TraceReader, TraceWriter};
use gclab_core::workload::{self, OpSink, Stop};
use std::time::{Duration, Instant};

/// Reads a size override from the environment (`GCLAB_BENCH_OPS` and friends), falling back to
/// `default`. A malformed value falls back too: benches must never fail on the environment.
pub fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// True when criterion runs the bench once in test mode (`cargo bench -- --test` or
/// `cargo test --benches`): benches then use their smallest sizes.
pub fn test_mode() -> bool {
    std::env::args().any(|a| a == "--test") || std::env::args().all(|a| a != "--bench")
}

/// A sink that keeps the header and the first `limit` ops, then stops the stream.
pub struct Capture {
    /// The stream header.
    pub header: StreamHeader,
    /// The captured ops.
    pub ops: Vec<Op>,
    limit: usize,
}

impl Capture {
    /// A capture made of an already built stream.
    pub fn from_parts(header: StreamHeader, ops: Vec<Op>) -> Capture {
        let limit = ops.len();
        Capture { header, ops, limit }
    }

    /// A capture that keeps every op of the stream (nothing reserved up front).
    pub fn unbounded() -> Capture {
        Capture {
            header: StreamHeader::default(),
            ops: Vec::new(),
            limit: usize::MAX,
        }
    }

    /// A capture of at most `limit` ops.
    pub fn new(limit: usize) -> Capture {
        Capture {
            header: StreamHeader::default(),
            ops: Vec::with_capacity(limit.min(1 << 24)),
            limit,
        }
    }
}

impl OpSink for Capture {
    fn begin(&mut self, header: &StreamHeader) -> Result<(), Stop> {
        self.header = header.clone();
        Ok(())
    }
    fn ops(&mut self, ops: &[Op]) -> Result<(), Stop> {
        let room = self.limit - self.ops.len();
        self.ops.extend_from_slice(&ops[..ops.len().min(room)]);
        if self.ops.len() >= self.limit {
            Err(Stop::Sink("capture full".into()))
        } else {
            Ok(())
        }
    }
}

/// The first `limit` ops of workload `name` (default parameters plus `params`) with `seed`.
/// A prefix of a stream is itself a valid stream, so this is a generic "small size" for any
/// workload in the catalogue.
pub fn capture_workload(name: &str, params: &[String], seed: u64, limit: usize) -> Capture {
    let built =
        gclab_workloads::find(name, params).unwrap_or_else(|e| panic!("workload {name}: {e}"));
    let mut cap = Capture::new(limit);
    match workload::stream(name, &built.params, &*built.workload, seed, &mut cap) {
        Ok(_) | Err(Stop::Sink(_)) => {}
        Err(e) => panic!("workload {name}: {e}"),
    }
    cap
}

/// The binary trace of a captured stream, in memory.
pub fn trace_bytes(cap: &Capture) -> Vec<u8> {
    let mut w = TraceWriter::new(Vec::new(), TraceFormat::Binary);
    w.begin(&cap.header).expect("trace header");
    w.ops(&cap.ops).expect("trace ops");
    w.finish().expect("trace end")
}

/// What one replay measured.
pub struct Replayed {
    /// Wall time spent executing (the strategy's construction and the heap's drop excluded).
    pub wall: Duration,
    /// Thread CPU time over the same span (zero if the clock is unavailable).
    pub cpu: Duration,
    /// Live objects at the end.
    pub live: u64,
    /// Whether the stream's first object (index 0) is still live.
    pub first_live: bool,
    /// Collections the heap recorded.
    pub collections: u64,
}

/// Replays `ops` once through a fresh strategy; see [`Replayed`].
pub struct ReplayOnce<'a> {
    /// Stream header.
    pub header: &'a StreamHeader,
    /// The ops.
    pub ops: &'a [Op],
}

impl WithStrategy for ReplayOnce<'_> {
    type Output = Replayed;
    fn call<S: Strategy>(self, s: S) -> Self::Output {
        let c = cpu_time::ThreadTime::try_now().ok();
        let t = Instant::now();
        let mut ex = Executor::new(s, self.header, ExecConfig::default());
        ex.ops(self.ops).expect("stream executes");
        ex.finish().expect("finish");
        let wall = t.elapsed();
        let cpu = c.and_then(|c| c.try_elapsed().ok()).unwrap_or_default();
        let live = ex.heap.acct.live_objects;
        let first_live = ex.heap.is_live(gclab_core::heap::ObjId(0));
        let collections = ex.heap.collections().len() as u64;
        drop(ex);
        Replayed {
            wall,
            cpu,
            live,
            first_live,
            collections,
        }
    }
}

/// Replays `ops` with strategy (or preset) `name`, `iters` times; the summed execution time.
pub fn replay_n(name: &str, header: &StreamHeader, ops: &[Op], iters: u64) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let r = registry::with_strategy(name, &[], ReplayOnce { header, ops })
            .unwrap_or_else(|e| panic!("strategy {name}: {e}"));
        total += r.wall;
    }
    total
}

/// Replays a binary trace held in memory through a fresh strategy, timed as `gclab run` times a
/// trace replay (from building the executor to the end of `finish`); checks that it fed `ops` ops.
pub struct ReplayTrace<'a> {
    /// The binary trace.
    pub bytes: &'a [u8],
    /// How many ops the trace holds.
    pub ops: u64,
}

impl WithStrategy for ReplayTrace<'_> {
    type Output = Duration;
    fn call<S: Strategy>(self, s: S) -> Self::Output {
        let mut reader = TraceReader::open(self.bytes).expect("trace opens");
        let header = reader.header().clone();
        let t = Instant::now();
        let mut ex = Executor::new(s, &header, ExecConfig::default());
        let n = reader.feed(&mut ex).expect("trace replays");
        ex.finish().expect("finish");
        let wall = t.elapsed();
        assert_eq!(n, self.ops, "the trace holds every op of the stream");
        wall
    }
}

/// Replays a binary trace with strategy (or preset) `name`, `iters` times; the summed time.
pub fn replay_trace_n(name: &str, bytes: &[u8], ops: u64, iters: u64) -> Duration {
    (0..iters)
        .map(|_| {
            registry::with_strategy(name, &[], ReplayTrace { bytes, ops })
                .unwrap_or_else(|e| panic!("strategy {name}: {e}"))
        })
        .sum()
}

/// Every selectable strategy name: each registered strategy, then each of its presets.
pub fn strategy_names() -> Vec<String> {
    registry::all_names()
}
