//! Every strategy and preset in the registry runs the shared conformance suite, so a strategy
//! added with one registry line is covered without anyone writing a test for it.
//!
//! What each strategy promises is its own declaration, `StrategyInfo::guarantee`: nothing about
//! a strategy is repeated here.

use gclab::registry::{self, WithFactory};
use gclab_conformance::{Config, DEFAULT_CASES};
use gclab_core::strategy::StrategyFactory;
use rayon::prelude::*;

/// Runs the suite on one registered name, against the guarantee its strategy declares.
struct ConformanceRun {
    name: String,
}

impl WithFactory for ConformanceRun {
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
        gclab_conformance::check_params::<S>(&params, S::INFO.guarantee, cfg);
    }
}

#[test]
fn every_registered_strategy_and_preset_conforms() {
    let names = registry::all_names();
    assert!(!names.is_empty());
    // Names are independent: check them in parallel (a failure panics, and rayon re-raises it).
    names.par_iter().for_each(|name| {
        let (info, _) = registry::resolve(name).expect("a listed name resolves");
        eprintln!("conformance: {name} ({:?})", info.guarantee);
        registry::with_factory(name, &[], ConformanceRun { name: name.clone() })
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    });
}
