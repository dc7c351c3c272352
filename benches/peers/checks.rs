//! The check table: what each system freed in each regime ([`record`]), what it must free
//! (from the guarantee its strategy declares), and [`print_checks`], which prints the table and
//! fails the bench on a mismatch between runs, between the reference counters, or a leak of a
//! complete gclab strategy.

use gclab::registry;
use gclab_core::strategy::Guarantee;
use std::cell::RefCell;
use std::collections::BTreeMap;

/// What one system did in one regime: for the check table.
#[derive(Clone, Debug, Default)]
struct FreeTally {
    created: u64,
    freed: Option<u64>,
    runs: u64,
    inconsistent: bool,
}

thread_local! {
    static CHECKS: RefCell<BTreeMap<(String, String), FreeTally>> = const { RefCell::new(BTreeMap::new()) };
}

pub fn record(regime: &str, system: &str, created: u64, freed: u64) {
    CHECKS.with(|c| {
        let mut c = c.borrow_mut();
        let e = c
            .entry((regime.to_string(), system.to_string()))
            .or_default();
        e.created = created;
        if let Some(f) = e.freed {
            if f != freed {
                e.inconsistent = true;
            }
        }
        e.freed = Some(freed);
        e.runs += 1;
    });
}

/// What a row must free, from the guarantee its strategy declares (gclab rows) or what it is
/// (the native `rc` rows).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Expected {
    /// Reference counting: exactly the nodes `rc` frees (the cycles leak).
    AsRc,
    /// A complete collector: every node, after its final collection.
    All,
    /// May keep any garbage (no collector).
    Any,
    /// A peer: whatever it frees is printed, not checked.
    Peer,
}

/// What `system` (a row name, `-py` or not) must free.
fn expected(system: &str) -> Expected {
    let base = system.strip_suffix("-py").unwrap_or(system);
    if base == "rc" {
        return Expected::AsRc;
    }
    let Some(name) = base.strip_prefix("gclab-") else {
        return Expected::Peer;
    };
    match registry::resolve(name).map(|(info, _)| info.guarantee) {
        Ok(Guarantee::Refcount) => Expected::AsRc,
        Ok(Guarantee::Complete | Guarantee::CPython) => Expected::All,
        Ok(Guarantee::Safe) => Expected::Any,
        Err(_) => Expected::Peer,
    }
}

pub fn print_checks(ops: u64, every: u64, created: u64) {
    eprintln!(
        "\npeers check: churn ops={ops}, nodes created={created}, manual regime collects every {every} ops"
    );
    eprintln!(
        "{:<8} {:<24} {:>10} {:>10} {:>10} {:>6}  note",
        "regime", "system", "created", "freed", "leaked", "runs"
    );
    CHECKS.with(|c| {
        for ((regime, system), e) in c.borrow().iter() {
            let freed = e.freed.unwrap_or(0);
            let leaked = e.created.saturating_sub(freed);
            let note = if e.inconsistent {
                "FREED COUNT DIFFERS BETWEEN RUNS"
            } else if leaked == 0 {
                "ok: everything freed"
            } else if expected(system) == Expected::AsRc {
                "expected: reference counting leaks the cycles"
            } else if expected(system) == Expected::Any && freed == 0 {
                "expected: never frees"
            } else if expected(system) == Expected::Any {
                "expected: may keep garbage"
            } else {
                "LEAK: a cycle collector left nodes unfreed after its final collection"
            };
            eprintln!(
                "{regime:<8} {system:<24} {:>10} {freed:>10} {leaked:>10} {:>6}  {note}",
                e.created, e.runs
            );
        }
    });
    CHECKS.with(|c| {
        let c = c.borrow();
        assert!(
            !c.values().any(|e| e.inconsistent),
            "a system freed a different number of nodes in different runs"
        );
        for regime in ["auto", "manual"] {
            let check = |system: &str| c.get(&(regime.to_string(), system.to_string()));
            // Native `Rc` on the churn operations and on the Python program, and gclab's
            // `refcount` on both: the same program under the same semantics, in both views.
            let rc = check("rc").and_then(|e| e.freed);
            for ((r, system), e) in c.iter().filter(|((r, _), _)| r == regime) {
                match expected(system) {
                    Expected::AsRc => {
                        if let (Some(a), Some(b)) = (rc, e.freed) {
                            assert_eq!(a, b, "{r}: rc freed {a} nodes, {system} {b}");
                        }
                    }
                    Expected::All => assert_eq!(
                        e.freed,
                        Some(e.created),
                        "{r}: {system} leaked after its final collection"
                    ),
                    Expected::Any | Expected::Peer => {}
                }
            }
        }
    });
}
