//! Human-readable reports: the summary `gclab run` prints and the catalogue `gclab list` prints.

use crate::registry;
use crate::results::{RunRecord, Status};
use std::fmt::Write;

fn ms(ns: u64) -> String {
    format!("{:.3} ms", ns as f64 / 1e6)
}

/// Groups digits in threes: 1234567 -> "1,234,567".
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The summary of one run.
pub fn summary(r: &RunRecord) -> String {
    let mut s = String::new();
    let src = match &r.trace {
        Some(t) => format!("trace {t} (workload {})", r.workload),
        None => format!("workload {}", r.workload),
    };
    let _ = writeln!(
        s,
        "gclab run: strategy {} on {src}, seed {}",
        r.strategy, r.seed
    );
    if !r.workload_params.is_empty() {
        let p: Vec<String> = r
            .workload_params
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let _ = writeln!(s, "  workload params      {}", p.join(" "));
    }
    if r.status == Status::OutOfMemory {
        let _ = writeln!(
            s,
            "  STOPPED: {}",
            r.stop_reason.as_deref().unwrap_or("out of memory")
        );
    }
    for (k, v) in summary_rows(r) {
        let _ = writeln!(s, "  {k:<20} {v}");
    }
    strategy_details(r, &mut s);
    run_details(r, &mut s);
    s
}

/// The aligned `name value` lines of the summary.
fn summary_rows(r: &RunRecord) -> Vec<(&'static str, String)> {
    let kinds: Vec<String> = r
        .allocations_by_kind
        .iter()
        .filter(|(_, &n)| n > 0)
        .map(|(k, n)| format!("{k} {}", thousands(*n)))
        .collect();
    vec![
        ("ops", thousands(r.ops)),
        (
            "allocations",
            format!("{} ({})", thousands(r.allocations), kinds.join(", ")),
        ),
        ("bytes allocated", thousands(r.bytes_allocated)),
        ("frees", thousands(r.frees)),
        ("peak live objects", thousands(r.peak_live_objects)),
        ("peak live bytes", thousands(r.peak_live_bytes)),
        ("collections", thousands(r.collections)),
        ("objects collected", thousands(r.collected)),
        (
            "live at end",
            format!(
                "{} objects, {} bytes",
                thousands(r.live_end_objects),
                thousands(r.live_end_bytes)
            ),
        ),
        (
            "  of which leaked",
            format!(
                "{} objects, {} bytes (unreachable from the registers, per the oracle)",
                thousands(r.leaked_objects),
                thousands(r.leaked_bytes)
            ),
        ),
        (
            "wall time",
            format!(
                "{} (mutator {}, collector {}, max pause {})",
                ms(r.time.wall_ns),
                ms(r.time.mutator_ns),
                ms(r.time.collector_ns),
                ms(r.time.max_pause_ns)
            ),
        ),
        (
            "work units",
            format!(
                "objects visited {}, refs traversed {}, rc writes {}, gc header writes {}",
                thousands(r.work.objects_visited),
                thousands(r.work.refs_traversed),
                thousands(r.work.rc_writes),
                thousands(r.work.gc_header_writes)
            ),
        ),
    ]
}

/// The per-generation table and the strategy's own counters.
fn strategy_details(r: &RunRecord, s: &mut String) {
    if !r.strategy_stats.generations.is_empty() {
        let _ = writeln!(
            s,
            "  per generation       collections   collected   uncollectable"
        );
        for (g, st) in r.strategy_stats.generations.iter().enumerate() {
            let _ = writeln!(
                s,
                "    gen{g}               {:>11} {:>11} {:>15}",
                thousands(st.collections),
                thousands(st.collected),
                thousands(st.uncollectable)
            );
        }
    }
    for (k, v) in &r.strategy_stats.counters {
        let _ = writeln!(s, "  {k:<20} {}", thousands(*v));
    }
}

/// Copy-on-write, verification and probe lines, where the run has them.
fn run_details(r: &RunRecord, s: &mut String) {
    if r.cow.prefork_pages > 0 {
        let c = &r.cow;
        let _ = writeln!(
            s,
            "  copy-on-write        {} of {} pre-fork pages dirtied after fork (refcount {}, collector {}, mutator {})",
            thousands(c.dirty_pages),
            thousands(c.prefork_pages),
            thousands(c.dirty_by_refcount),
            thousands(c.dirty_by_collector),
            thousands(c.dirty_by_mutator)
        );
    }
    if let Some(v) = &r.verify {
        let _ = writeln!(
            s,
            "  verify               {} oracle checks passed ({})",
            v.checks,
            ms(v.ns)
        );
    }
    if !r.probes.is_empty() {
        let _ = writeln!(
            s,
            "  probes (reference count of the observed object after each step):"
        );
        for p in &r.probes {
            let rc = p.refcount.map_or("n/a".to_string(), |n| n.to_string());
            let _ = writeln!(s, "    {:<45} {rc}", p.label);
        }
        let _ = writeln!(
            s,
            "  note: sys.getrefcount() shows one more than these, because its own argument is a temporary reference; a probe takes none."
        );
    }
}

/// The catalogue: strategies with parameters and presets, workloads with parameters and
/// defaults.
pub fn catalogue() -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Strategies (--strategy NAME, or {}VERSION for the model of a CPython release; --sparam key=value):",
        registry::BY_VERSION
    );
    for i in registry::infos() {
        let _ = writeln!(s, "  {:<22} {}", i.name, i.description);
        if i.versions.range().is_some() {
            let _ = writeln!(s, "      models {}", i.versions);
        }
        for p in i.params {
            let _ = writeln!(
                s,
                "      {:<18} default {:<10} {}",
                p.name, p.default, p.help
            );
        }
        for p in i.presets {
            let set: Vec<String> = p.params.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let versions = match p.versions.range() {
                Some(_) => format!("({}) ", p.versions),
                None => String::new(),
            };
            let _ = writeln!(
                s,
                "    preset {:<15} {versions}{} [{}]",
                p.name,
                p.description,
                set.join(" ")
            );
        }
    }
    let _ = writeln!(
        s,
        "\nWorkloads (--workload NAME or trace:FILE, --param key=value):"
    );
    for e in gclab_workloads::catalogue() {
        let _ = writeln!(s, "  {:<22} {}", e.info.name, e.info.description);
        for p in e.info.params {
            let _ = writeln!(
                s,
                "      {:<18} default {:<10} {}",
                p.name, p.default, p.help
            );
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::thousands;

    #[test]
    fn thousands_are_grouped_by_commas() {
        assert_eq!(thousands(999_999), "999,999");
        assert_eq!(thousands(1_000_000), "1,000,000");
        assert_eq!(thousands(12), "12");
    }
}
