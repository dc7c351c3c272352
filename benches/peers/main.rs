//! `peers` bench: one seeded `churn` op stream (dumpster's benchmark: create a node, add an edge
//! between random roots, drop a root, drop a random edge; then drop everything and collect)
//! replayed through native `std::rc::Rc`, the Rust cycle-collector crates (`gcmodule`,
//! `dumpster` unsync, `rust-cc`, `bacon_rajan_cc`) and every strategy of gclab's registry, each
//! once at its default parameters under
//! [`registry::default_name`](gclab::registry::default_name) (`none`, `refcount`,
//! `cpython-3.11` for `generational`, ...). Throughput is churn operations per second.
//!
//! Two regimes, two groups:
//!
//! * `peers/auto`: each system with its own collection trigger (for `gcmodule` and
//!   `bacon_rajan_cc`, which have none, that is one collection at the end);
//! * `peers/manual`: automatic collection off everywhere and one full collection at the same op
//!   counts for all (every `GCLAB_PEERS_EVERY` churn ops, default `ops / 100`), plus the final one.
//!
//! Each group has two views of the same churn run:
//!
//! * **adapter view** (`rc`, `gcmodule`, `dumpster`, `rust-cc`, `bacon_rajan_cc`, then
//!   `gclab-NAME` for every registered strategy): every system replays the high-level
//!   churn operations through a small adapter, one operation at a time. A peer does one `clone`
//!   or `drop` per operation ([`replay`](adapters::replay)); gclab executes one register op per
//!   operation, its registers being the roots
//!   ([`direct_stream`](gclab_streams::direct_stream)). This is the adapter comparison.
//! * **Python-program view** (every name with a `-py` suffix): every system executes the `churn`
//!   workload's own op stream (`workloads/src/churn.rs`), the modelled Python program (roots in a
//!   Python list held in a register, temporaries loaded into registers, a safe point per
//!   iteration: about 4.3 register ops and 5 reference-count writes per churn operation). gclab
//!   runs it as its executor does; a peer executes it natively, every load, store, append and
//!   clear a `clone` or a `drop` ([`replay_ops`](native_ops::replay_ops)). Every system then
//!   does the same reference traffic, so the ratio of a gclab strategy to a peer is gclab's own
//!   overhead.
//!
//! All streams are generated once, before timing, into `Vec`s, with the very RNG draws of the
//! `churn` workload. Every node of a peer holds its edges in a `RefCell<Vec<_>>` and counts its
//! drops, and gclab's heap counts its live objects; after every timed run the bench checks that
//! each system freed what it should (everything, or for `Rc` and gclab `refcount` exactly the
//! nodes that die in cycles), and prints a table of created / freed / leaked per system at the
//! end. What a gclab row must free comes from the guarantee its strategy declares
//! (`StrategyInfo::guarantee`): reference counting exactly what `rc` frees, a complete collector
//! everything. A leak of a peer is printed, not hidden; a mismatch between runs, between the
//! reference counters, or a leak of a complete gclab strategy fails the bench.
//!
//! Run one regime: `cargo bench --bench peers -- peers/auto`.
//!
//! Two modes outside criterion print JSON lines for `scripts/perf_tables.py`: table mode
//! (`GCLAB_PEERS_TABLE=ROUNDS`, every row of both views, interleaved) and floor mode
//! (`GCLAB_PEERS_FLOOR=ROUNDS GCLAB_PEERS_TRACE=FILE`: a trace's op stream executed from
//! memory by native `Rc` and by gclab's executor, [`floor_mode`](floor::floor_mode)).
//!
//! The modules: [`churn`] (the high-level stream), [`adapters`] (the peers in the adapter view),
//! [`native_ops`] (the peers executing the Python program), [`gclab_streams`] (gclab's streams
//! and runs), [`rows`] (every row of a regime), [`run`] (one timed run), [`checks`] (what each
//! system must free), [`probe`], [`table`] and [`floor`] (the modes outside criterion).

#![forbid(unsafe_code)]

mod adapters;
mod checks;
mod churn;
#[path = "../common/mod.rs"]
mod common;
mod floor;
mod gclab_streams;
mod native_ops;
mod probe;
mod rows;
mod run;
mod table;

use checks::{print_checks, record};
use common::test_mode;
use criterion::{criterion_group, BenchmarkId, Criterion, Throughput};
use floor::{floor_check, floor_mode};
use probe::{probe_all, probe_child};
use rows::{entries, settings, streams};
use std::time::Duration;
use table::table_mode;

fn bench_peers(c: &mut Criterion) {
    let (ops, every, seed) = settings(if test_mode() { 20_000 } else { 1_000_000 });
    let mut created = 0;
    for (regime, collect_every) in [("auto", 0), ("manual", every)] {
        let s = streams(ops, seed, collect_every);
        created = s.created;
        let mut g = c.benchmark_group(format!("peers/{regime}"));
        g.throughput(Throughput::Elements(ops));
        g.sample_size(10);
        g.warm_up_time(Duration::from_millis(500));
        g.measurement_time(Duration::from_secs(2));
        for e in entries(&s, collect_every) {
            g.bench_function(BenchmarkId::from_parameter(&e.name), |b| {
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let r = (e.run)();
                        record(regime, &e.name, s.created, r.freed);
                        total += r.wall;
                    }
                    total
                })
            });
        }
        g.finish();
    }
    print_checks(ops, every, created);
}

criterion_group!(benches, bench_peers);

fn main() {
    if let Ok(system) = std::env::var("GCLAB_PEERS_PROBE") {
        probe_child(&system);
        return;
    }
    if let (Some(rounds), Ok(path)) = (
        std::env::var("GCLAB_PEERS_FLOOR")
            .ok()
            .and_then(|s| s.parse().ok()),
        std::env::var("GCLAB_PEERS_TRACE"),
    ) {
        let h = std::thread::Builder::new()
            .stack_size(1 << 30)
            .spawn(move || {
                for line in floor_mode(rounds, &path) {
                    println!("{line}");
                }
            })
            .expect("spawn floor thread");
        if h.join().is_err() {
            std::process::exit(101);
        }
        return;
    }
    if let Some(rounds) = std::env::var("GCLAB_PEERS_TABLE")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        let h = std::thread::Builder::new()
            .stack_size(1 << 30)
            .spawn(move || table_mode(rounds))
            .expect("spawn table thread");
        if h.join().is_err() {
            std::process::exit(101);
        }
        return;
    }
    // The recursive peers (gcmodule's collector, dropping long chains) need a deep stack: the
    // timed runs happen on a 1 GiB stack; `probe_all` reports what happens on an ordinary one.
    let (ops, _, _) = settings(if test_mode() { 20_000 } else { 1_000_000 });
    probe_all(ops);
    if test_mode() {
        floor_check();
    }
    let h = std::thread::Builder::new()
        .stack_size(1 << 30)
        .spawn(|| {
            benches();
            criterion::Criterion::default()
                .configure_from_args()
                .final_summary();
        })
        .expect("spawn bench thread");
    if h.join().is_err() {
        std::process::exit(101);
    }
}
