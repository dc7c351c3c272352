//! The strategy registry: the one place where names become strategies.
//!
//! Registering a strategy crate is one line in the `registry!` invocation below (plus its
//! dependency in the root `Cargo.toml`; `gclab new-strategy` writes both). Everything else
//! (`gclab list`, `gclab run`, sweeps, benches, the conformance suite) finds it from here. The
//! executor stays generic over the strategy type, so dispatch happens once, here, and the hot
//! loop is statically dispatched.

use gclab_core::params::ParamError;
use gclab_core::strategy::{Strategy, StrategyFactory, StrategyInfo};

/// Something to do with a strategy once it is built: the registry calls [`WithStrategy::call`]
/// with the concrete strategy type, so the work is monomorphised per strategy.
pub trait WithStrategy {
    /// What the work returns.
    type Output;
    /// Does the work with strategy `s`.
    fn call<S: Strategy>(self, s: S) -> Self::Output;
}

/// Something to do with a strategy *type* rather than one built value: the registry calls
/// [`WithFactory::call`] with the concrete type and the resolved parameters (a preset's plus the
/// caller's), so the work can build as many fresh strategies as it needs (the conformance suite
/// builds one per random stream).
pub trait WithFactory {
    /// What the work returns.
    type Output;
    /// Does the work with strategy type `S`; `params` are for [`StrategyFactory::from_pairs`].
    fn call<S: StrategyFactory>(self, params: Vec<(String, String)>) -> Self::Output;
}

/// Why a strategy could not be built.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// No strategy or preset has that name.
    #[error("unknown strategy '{name}'; valid strategies: {valid}")]
    Unknown {
        /// The name given.
        name: String,
        /// Valid strategy and preset names.
        valid: String,
    },
    /// A parameter problem.
    #[error(transparent)]
    Param(#[from] ParamError),
}

macro_rules! registry {
    ($($ty:ty),* $(,)?) => {
        /// Every registered strategy's description, in registry order.
        pub fn infos() -> Vec<StrategyInfo> {
            vec![$(<$ty as StrategyFactory>::INFO),*]
        }

        fn build_and_call<F: WithStrategy>(
            base: &str,
            params: &[(String, String)],
            f: F,
        ) -> Result<F::Output, RegistryError> {
            $(
                if base == <$ty as StrategyFactory>::INFO.name {
                    let s = <$ty as StrategyFactory>::from_pairs(params)?;
                    return Ok(f.call(s));
                }
            )*
            Err(unknown(base))
        }

        fn factory_and_call<F: WithFactory>(
            base: &str,
            params: Vec<(String, String)>,
            f: F,
        ) -> Result<F::Output, RegistryError> {
            $(
                if base == <$ty as StrategyFactory>::INFO.name {
                    // Fail early on bad parameters, as `with_strategy` does.
                    <$ty as StrategyFactory>::from_pairs(&params)?;
                    return Ok(f.call::<$ty>(params));
                }
            )*
            Err(unknown(base))
        }
    };
}

// One line per strategy crate.
registry!(
    gclab_none::NoCollection,
    gclab_refcount::RefCount,
    gclab_generational::Generational,
    gclab_trial_deletion::TrialDeletion,
    gclab_mark_sweep::MarkSweep,
    gclab_cpython314::CPython314,
);

fn unknown(name: &str) -> RegistryError {
    RegistryError::Unknown {
        name: name.to_string(),
        valid: all_names().join(", "),
    }
}

/// Every selectable name: strategies, then their presets.
pub fn all_names() -> Vec<String> {
    let mut out = Vec::new();
    for i in infos() {
        out.push(i.name.to_string());
    }
    for i in infos() {
        for p in i.presets {
            out.push(p.name.to_string());
        }
    }
    out
}

/// The most specific name of a strategy's default configuration: the first preset that sets
/// only default values (the runtime that configuration models: `cpython-3.11` for
/// `generational`), else the strategy's own name. Values are compared as written, so a preset
/// spelling a default differently (`1.0` for `1`) does not count.
pub fn default_name(info: &StrategyInfo) -> &'static str {
    let is_default = |(k, v): &(&str, &str)| {
        info.params
            .iter()
            .any(|spec| spec.name == *k && spec.default == *v)
    };
    info.presets
        .iter()
        .find(|p| p.params.iter().all(is_default))
        .map_or(info.name, |p| p.name)
}

/// Every registered strategy once, at its default parameters, under [`default_name`], in
/// registry order: for lists that show each strategy once (the peers bench).
pub fn default_configurations() -> Vec<(&'static str, StrategyInfo)> {
    infos().into_iter().map(|i| (default_name(&i), i)).collect()
}

/// Resolves a strategy or preset name to its base strategy and the parameters the preset sets.
pub fn resolve(name: &str) -> Result<(StrategyInfo, Vec<(String, String)>), RegistryError> {
    for i in infos() {
        if i.name == name {
            return Ok((i, Vec::new()));
        }
        for p in i.presets {
            if p.name == name {
                let params = p
                    .params
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect();
                return Ok((i, params));
            }
        }
    }
    Err(unknown(name))
}

/// The base strategy of `name` (a strategy or preset), as [`resolve`], and its parameters: the
/// preset's, then `params` (which override them).
fn resolve_with(
    name: &str,
    params: &[(String, String)],
) -> Result<(StrategyInfo, Vec<(String, String)>), RegistryError> {
    let (info, mut all) = resolve(name)?;
    all.extend(params.iter().cloned());
    Ok((info, all))
}

/// Builds the strategy (or preset) `name` with extra `params` (which override the preset's)
/// and runs `f` with it.
pub fn with_strategy<F: WithStrategy>(
    name: &str,
    params: &[(String, String)],
    f: F,
) -> Result<F::Output, RegistryError> {
    let (base, all) = resolve_with(name, params)?;
    build_and_call(base.name, &all, f)
}

/// Resolves the strategy (or preset) `name` with extra `params` (which override the preset's)
/// and runs `f` with its type; see [`WithFactory`].
pub fn with_factory<F: WithFactory>(
    name: &str,
    params: &[(String, String)],
    f: F,
) -> Result<F::Output, RegistryError> {
    let (base, all) = resolve_with(name, params)?;
    factory_and_call(base.name, all, f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_name_is_a_preset_of_defaults_only() {
        let generational = <gclab_generational::Generational as StrategyFactory>::INFO;
        assert_eq!(default_name(&generational), "cpython-3.11");
        let refcount = <gclab_refcount::RefCount as StrategyFactory>::INFO;
        assert_eq!(default_name(&refcount), "refcount");
        // cpython-3.14.0 sets a non-default `count`: the strategy keeps its own name.
        let cpython314 = <gclab_cpython314::CPython314 as StrategyFactory>::INFO;
        assert_eq!(default_name(&cpython314), "cpython-3.14");
        // Every default configuration resolves to no parameters beyond the defaults.
        for (name, info) in default_configurations() {
            let (base, params) = resolve(name).expect("a default name resolves");
            assert_eq!(base.name, info.name);
            for (k, v) in params {
                let spec = info
                    .params
                    .iter()
                    .find(|s| s.name == k)
                    .expect("a declared key");
                assert_eq!(spec.default, v, "{name}: {k}");
            }
        }
    }
}
