//! The strategy registry: the one place where names become strategies.
//!
//! Registering a strategy crate is one line in the `registry!` invocation below (plus its
//! dependency in the root `Cargo.toml`; `gclab new-strategy` writes both). Everything else
//! (`gclab list`, `gclab run`, sweeps, benches, the conformance suite) finds it from here. The
//! executor stays generic over the strategy type, so dispatch happens once, here, and the hot
//! loop is statically dispatched.
//!
//! Every strategy and preset says which CPython releases it stands for
//! ([`gclab_core::version::Versions`]);
//! [`preset_for_version`] maps a release to the name that models it, and `cpython=VERSION`
//! is accepted wherever a strategy name is ([`resolve`]).

use gclab_core::params::ParamError;
use gclab_core::strategy::{Strategy, StrategyFactory, StrategyInfo};
use gclab_core::version::{Requested, VersionRange, VersionSyntaxError};

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
    /// A CPython version that no strategy or preset stands for (`cpython=VERSION`).
    #[error(transparent)]
    Version(#[from] VersionError),
}

/// Why a CPython version does not resolve to one strategy or preset.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VersionError {
    /// Not a version.
    #[error(transparent)]
    Syntax(#[from] VersionSyntaxError),
    /// No strategy or preset stands for it.
    #[error("no preset models CPython {version}; the presets cover: {covered}")]
    NotCovered {
        /// The version given.
        version: String,
        /// Every release range and the name that models it.
        covered: String,
    },
    /// A minor version whose releases are modelled by more than one preset.
    #[error("CPython {version} is modelled by more than one preset ({choices}); give the patch release, e.g. {example}")]
    Ambiguous {
        /// The version given.
        version: String,
        /// The ranges of that minor version and their names.
        choices: String,
        /// A full version that resolves.
        example: String,
    },
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

/// The prefix of a strategy name that asks for the model of a CPython release
/// (`cpython=3.14.6`).
pub const BY_VERSION: &str = "cpython=";

/// Every strategy and preset that stands for CPython releases out of the box
/// ([`Versions::Release`](gclab_core::version::Versions::Release)), with its range, in registry order (strategies before their
/// presets).
pub fn release_ranges() -> Vec<(&'static str, VersionRange)> {
    let mut out = Vec::new();
    for i in infos() {
        if let Some(r) = i.versions.release() {
            out.push((i.name, r));
        }
        for p in i.presets {
            if let Some(r) = p.versions.release() {
                out.push((p.name, r));
            }
        }
    }
    out
}

fn listing(ranges: &[(&'static str, VersionRange)]) -> String {
    let mut sorted = ranges.to_vec();
    sorted.sort_by_key(|(_, r)| (r.major, r.minor, r.first));
    sorted
        .iter()
        .map(|(name, r)| format!("{r} ({name})"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The strategy or preset that models CPython `version` (`3.14.6`, or `3.15` when one preset
/// models every release of that minor version): the one whose [`Versions::Release`](gclab_core::version::Versions::Release) range
/// holds it. Versions no preset covers, and minor versions split between presets, are errors
/// that list what is covered.
pub fn preset_for_version(version: &str) -> Result<&'static str, VersionError> {
    let req: Requested = version.parse()?;
    let ranges = release_ranges();
    if let Some(v) = req.version() {
        if let Some((name, _)) = ranges.iter().find(|(_, r)| r.contains(v)) {
            return Ok(name);
        }
    } else {
        let same: Vec<_> = ranges
            .iter()
            .filter(|(_, r)| r.same_minor(req.major, req.minor))
            .copied()
            .collect();
        match same.as_slice() {
            [(name, r)] if r.is_whole_minor() => return Ok(name),
            [] => {}
            _ => {
                let last = same
                    .iter()
                    .max_by_key(|(_, r)| r.first)
                    .map(|(_, r)| r.first);
                return Err(VersionError::Ambiguous {
                    version: req.to_string(),
                    choices: listing(&same),
                    example: format!("{}.{}.{}", req.major, req.minor, last.unwrap_or(0)),
                });
            }
        }
    }
    Err(VersionError::NotCovered {
        version: req.to_string(),
        covered: listing(&ranges),
    })
}

/// Resolves a strategy or preset name (or `cpython=VERSION`, see [`preset_for_version`]) to
/// its base strategy and the parameters the preset sets.
pub fn resolve(name: &str) -> Result<(StrategyInfo, Vec<(String, String)>), RegistryError> {
    if let Some(v) = name.strip_prefix(BY_VERSION) {
        return resolve(preset_for_version(v)?);
    }
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
    fn every_release_maps_to_the_preset_that_models_it() {
        let cases = [
            ("3.11.0", "cpython-3.11"),
            ("3.11.9", "cpython-3.11"),
            ("3.11", "cpython-3.11"),
            ("3.12.1", "cpython-3.12"),
            ("3.13.0", "cpython-3.13"),
            ("3.13.7", "cpython-3.13"),
            ("3.14.0", "cpython-3.14.0"),
            ("3.14.1", "cpython-3.14"),
            ("3.14.4", "cpython-3.14"),
            ("3.14.5", "cpython-3.14.5"),
            ("3.14.6", "cpython-3.14.5"),
            ("3.14.10", "cpython-3.14.5"),
            ("3.15.0", "cpython-3.15"),
            ("3.15.2", "cpython-3.15"),
            ("3.15", "cpython-3.15"),
        ];
        for (v, want) in cases {
            assert_eq!(preset_for_version(v), Ok(want), "{v}");
        }
    }

    #[test]
    fn release_ranges_do_not_overlap() {
        let ranges = release_ranges();
        for (i, (a, ra)) in ranges.iter().enumerate() {
            for (b, rb) in &ranges[i + 1..] {
                let overlap = ra.same_minor(rb.major, rb.minor)
                    && ra.last.is_none_or(|l| rb.first <= l)
                    && rb.last.is_none_or(|l| ra.first <= l);
                assert!(!overlap, "{a} ({ra}) and {b} ({rb}) overlap");
            }
        }
        // Only CPython models stand for releases.
        let names: Vec<_> = ranges.iter().map(|(n, _)| *n).collect();
        assert!(names.iter().all(|n| n.starts_with("cpython-")), "{names:?}");
    }

    #[test]
    fn versions_no_preset_covers_are_errors_that_say_what_is() {
        for v in ["3.10.4", "3.16.0", "2.7.18", "3.10", "4.0"] {
            let e = preset_for_version(v).unwrap_err();
            assert!(matches!(e, VersionError::NotCovered { .. }), "{v}: {e:?}");
            let msg = e.to_string();
            assert!(
                msg.contains(&format!("no preset models CPython {v}")),
                "{msg}"
            );
            assert!(msg.contains("3.14.5-3.14.x (cpython-3.14.5)"), "{msg}");
            assert!(msg.contains("3.11.0-3.11.x (cpython-3.11)"), "{msg}");
        }
        let e = preset_for_version("3.14").unwrap_err();
        assert!(matches!(e, VersionError::Ambiguous { .. }), "{e:?}");
        let msg = e.to_string();
        assert!(
            msg.contains("3.14.0 (cpython-3.14.0), 3.14.1-3.14.4 (cpython-3.14), 3.14.5-3.14.x (cpython-3.14.5)"),
            "{msg}"
        );
        assert!(msg.contains("e.g. 3.14.5"), "{msg}");
        let e = preset_for_version("3.14.x").unwrap_err();
        assert!(matches!(e, VersionError::Syntax(_)), "{e:?}");
    }

    #[test]
    fn cpython_equals_version_resolves_like_the_preset() {
        let (info, params) = resolve("cpython=3.14.6").expect("resolves");
        let (info2, params2) = resolve("cpython-3.14.5").expect("resolves");
        assert_eq!((info.name, params), (info2.name, params2));
        let (info, params) = resolve("cpython=3.14.2").expect("resolves");
        assert_eq!((info.name, params.len()), ("cpython-3.14", 0));
        assert!(matches!(
            resolve("cpython=3.9.1"),
            Err(RegistryError::Version(VersionError::NotCovered { .. }))
        ));
    }

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
