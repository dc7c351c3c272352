//! Table mode (`GCLAB_PEERS_TABLE=ROUNDS`), outside criterion: every row of both views in both
//! regimes, interleaved, one JSON line per (regime, system) for `scripts/perf_tables.py`.

use crate::checks::{print_checks, record};
use crate::rows::{entries, settings, streams, Entry};
use crate::run::Run;
use std::time::Duration;

/// Table mode (`GCLAB_PEERS_TABLE=ROUNDS`): every row of both views in both regimes, `ROUNDS`
/// rounds, interleaved (round-robin over the rows in each round, so that a change in machine
/// load hits every system alike), one JSON line per (regime, system) on standard output with
/// every run's wall and thread CPU time in ns, the nodes freed and, for gclab, the collections
/// its heap recorded; then the check table on standard error. `scripts/perf_tables.py` turns
/// these into the medians and ratios of `results/performance/`.
pub fn table_mode(rounds: usize) {
    let (ops, every, seed) = settings(1_000_000);
    // `GCLAB_PEERS_ONLY=a,b` and `GCLAB_PEERS_REGIME=auto|manual` restrict the table (for
    // profiling one system under callgrind or perf).
    let only: Option<Vec<String>> = std::env::var("GCLAB_PEERS_ONLY")
        .ok()
        .map(|s| s.split(',').map(str::to_string).collect());
    let want = |s: &str| only.as_ref().is_none_or(|o| o.iter().any(|x| x == s));
    let regime_only = std::env::var("GCLAB_PEERS_REGIME").ok();
    let mut created = 0;
    for (regime, collect_every) in [("auto", 0), ("manual", every)] {
        if regime_only.as_deref().is_some_and(|r| r != regime) {
            continue;
        }
        let s = streams(ops, seed, collect_every);
        created = s.created;
        let rows: Vec<Entry<'_>> = entries(&s, collect_every)
            .into_iter()
            .filter(|e| want(&e.name))
            .collect();
        let mut runs: Vec<Vec<Run>> = vec![Vec::with_capacity(rounds); rows.len()];
        for _ in 0..rounds {
            for (e, runs) in rows.iter().zip(&mut runs) {
                let r = (e.run)();
                record(regime, &e.name, s.created, r.freed);
                runs.push(r);
            }
        }
        for (e, runs) in rows.iter().zip(&runs) {
            let Some(last) = runs.last() else {
                continue;
            };
            let ns = |f: fn(&Run) -> Duration| {
                runs.iter()
                    .map(|r| f(r).as_nanos() as u64)
                    .collect::<Vec<_>>()
            };
            let line = serde_json::json!({
                "regime": regime,
                "system": e.name,
                "churn_ops": ops,
                "collect_every": collect_every,
                "seed": seed,
                "nodes_created": s.created,
                "nodes_freed": last.freed,
                "collections": last.collections,
                "times_ns": ns(|r| r.wall),
                "cpu_ns": ns(|r| r.cpu),
            });
            println!("{line}");
        }
    }
    print_checks(ops, every, created);
}
