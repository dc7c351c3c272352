//! Every strategy and preset in the registry runs the shared conformance suite, so a strategy
//! added with one registry line is covered without anyone writing a test for it.
//!
//! What each strategy promises is declared in [`expect_for`]; a strategy not listed there must
//! be a complete collector (a full `gc.collect(2)` frees all garbage). A new strategy that is
//! not complete (a baseline, deferred reference counting without a cycle collector, ...) adds
//! its line there.

use gclab::registry::{self, WithFactory};
use gclab_conformance::{Config, Expect, DEFAULT_CASES};
use gclab_core::strategy::StrategyFactory;
use rayon::prelude::*;

/// What the strategy (by base name) promises.
fn expect_for(strategy: &str) -> Expect {
    match strategy {
        "none" => Expect::Safe,
        "refcount" => Expect::Refcount,
        "generational" => Expect::CPython,
        _ => Expect::Complete,
    }
}

struct Check {
    name: String,
    expect: Expect,
}

impl WithFactory for Check {
    type Output = ();
    fn call<S: StrategyFactory>(self, params: Vec<(String, String)>) {
        let cfg = Config {
            // The strategy crates run the suite on DEFAULT_CASES streams themselves; this
            // registry-wide pass adds as many again on another seed, per preset.
            cases: Config::default().cases.min(DEFAULT_CASES / 2),
            seed: Config::default().seed ^ 0x5eed,
            label: self.name.clone(),
            ..Config::default()
        };
        gclab_conformance::check_params::<S>(&params, self.expect, cfg);
    }
}

#[test]
fn every_registered_strategy_and_preset_conforms() {
    let names = registry::all_names();
    assert!(!names.is_empty());
    // Names are independent: check them in parallel (a failure panics, and rayon re-raises it).
    names.par_iter().for_each(|name| {
        let (info, _) = registry::resolve(name).expect("a listed name resolves");
        let expect = expect_for(info.name);
        eprintln!("conformance: {name} ({expect:?})");
        registry::with_factory(
            name,
            &[],
            Check {
                name: name.clone(),
                expect,
            },
        )
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    });
}
