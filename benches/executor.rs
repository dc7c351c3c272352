//! `executor` bench: every registered strategy (and preset) on every catalogue workload at a
//! small size, plus an allocation-heavy stream; throughput in ops per second.
//!
//! The list of strategies comes from `gclab::registry` and the list of workloads from
//! `gclab_workloads::catalogue()`, so strategies and workloads added later are benched without
//! touching this file. Each stream is generated once, before timing, into a `Vec<Op>` (the first
//! `GCLAB_BENCH_OPS` ops, default 100 000); only the executor and the strategy are timed.
//!
//! Run one group: `cargo bench --bench executor -- 'executor/cycles'`; one cell:
//! `cargo bench --bench executor -- 'executor/cycles/refcount$'`.
//!
//! The `decode/*` groups split a trace replay's time: the same whole stream (the replay traces of
//! `scripts/perf_vs_cpython.sh`: `churn`, the fidelity `mix`, `web-service`), executed by
//! `cpython-3.11` once from a `Vec<Op>` (`ops`) and once decoded from its binary trace held in
//! memory (`trace`, what `gclab run -w trace:FILE` does, without the file). The difference is
//! what decoding costs; `ops` is what a replay could take with a free decoder.

#![forbid(unsafe_code)]

mod common;

use common::{
    capture_workload, env_usize, replay_n, replay_trace_n, strategy_names, test_mode, trace_bytes,
    Capture,
};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use gclab_core::kind::Kind;
use gclab_core::op::{Op, StreamHeader};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::time::Duration;

/// An allocation-heavy stream: `n` ops, over 70% of them allocations, into 64 registers. Each
/// step allocates a container (tuple, list or instance) or an atom into a random register,
/// dropping what was there, and links it to another register's object, so that most garbage
/// dies by reference count, chains form and break, and a few cycles appear (a register's object
/// stored into a slot of an object that it reaches).
pub fn alloc_heavy(n: usize, seed: u64) -> Capture {
    const R: u32 = 64;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut ops = Vec::with_capacity(n);
    while ops.len() < n {
        let r = rng.random_range(0..R);
        let s = rng.random_range(0..R);
        let pick = rng.random_range(0..10u32);
        match pick {
            0..=2 => ops.push(Op::Alloc {
                dst: r,
                kind: Kind::Float,
                len: 0,
            }),
            3 => ops.push(Op::Alloc {
                dst: r,
                kind: Kind::Str,
                len: rng.random_range(1..40),
            }),
            4..=5 | 8 => {
                // A pair (4, 5) or an instance (8) holding register s in its first slot.
                let (kind, len) = if pick == 8 {
                    (Kind::Instance, 0)
                } else {
                    (Kind::Tuple, 2)
                };
                ops.push(Op::Alloc { dst: r, kind, len });
                ops.push(Op::Store {
                    obj: r,
                    slot: 0,
                    src: s,
                });
            }
            6..=7 => {
                ops.push(Op::Alloc {
                    dst: r,
                    kind: Kind::List,
                    len: 0,
                });
                ops.push(Op::Append { list: r, src: s });
            }
            _ => ops.push(Op::Clear { dst: r }),
        }
    }
    ops.truncate(n);
    let header = StreamHeader::new(R)
        .workload("alloc-heavy")
        .params(vec![("ops".into(), n.to_string())])
        .seed(seed);
    Capture::from_parts(header, ops)
}

fn bench_executor(c: &mut Criterion) {
    let n = env_usize(
        "GCLAB_BENCH_OPS",
        if test_mode() { 20_000 } else { 100_000 },
    );
    let strategies = strategy_names();
    let mut streams: Vec<(String, Capture)> = gclab_workloads::catalogue()
        .iter()
        .map(|e| {
            (
                e.info.name.to_string(),
                capture_workload(e.info.name, &[], 1, n),
            )
        })
        .collect();
    streams.push(("alloc-heavy".into(), alloc_heavy(n, 1)));
    for (wname, cap) in &streams {
        let mut g = c.benchmark_group(format!("executor/{wname}"));
        g.throughput(Throughput::Elements(cap.ops.len() as u64));
        g.sample_size(10);
        g.warm_up_time(Duration::from_millis(300));
        g.measurement_time(Duration::from_secs(1));
        for s in &strategies {
            g.bench_function(BenchmarkId::from_parameter(s), |b| {
                b.iter_custom(|iters| replay_n(s, &cap.header, &cap.ops, iters))
            });
        }
        g.finish();
    }
}

fn bench_decode(c: &mut Criterion) {
    const PRESET: &str = "cpython-3.11";
    let q = test_mode();
    let streams: [(&str, &str, Vec<String>); 3] = [
        (
            "churn",
            "churn",
            vec![format!("ops={}", if q { 20_000 } else { 200_000 })],
        ),
        (
            "mix",
            "fidelity",
            vec![
                "case=mix".into(),
                format!("size={}", if q { 2_000 } else { 20_000 }),
            ],
        ),
        (
            "web-service",
            "web-service",
            vec![format!("requests={}", if q { 100 } else { 1_000 })],
        ),
    ];
    for (name, workload, params) in streams {
        let cap = capture_workload(workload, &params, 1, usize::MAX);
        let bytes = trace_bytes(&cap);
        let mut g = c.benchmark_group(format!("decode/{name}"));
        g.throughput(Throughput::Elements(cap.ops.len() as u64));
        g.sample_size(20);
        g.warm_up_time(Duration::from_millis(300));
        g.measurement_time(Duration::from_secs(2));
        g.bench_function("ops", |b| {
            b.iter_custom(|iters| replay_n(PRESET, &cap.header, &cap.ops, iters))
        });
        g.bench_function("trace", |b| {
            b.iter_custom(|iters| replay_trace_n(PRESET, &bytes, cap.ops.len() as u64, iters))
        });
        g.finish();
    }
}

criterion_group!(benches, bench_executor, bench_decode);
criterion_main!(benches);
