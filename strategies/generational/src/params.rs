//! The strategy's parameters and presets (CPython 3.11, 3.12, 3.13, 3.14.5 and later, 3.15, the
//! guide's thresholds, `gc.disable()`), with the releases each stands for, and building the
//! strategy from them.

use crate::config::{Config, DictTracking, TupleTracking};
use crate::Generational;
use gclab_core::params::{ParamSpec, ParamType};
use gclab_core::strategy::{Guarantee, Preset, StrategyFactory, StrategyInfo};
use gclab_core::{ParamError, Params, VersionRange, Versions};

const PARAMS: &[ParamSpec] = &[
    ParamSpec { name: "t0", ty: ParamType::I64, default: "700", help: "threshold0 (C int; 0 turns automatic collection off, negative collects at every counted allocation)" },
    ParamSpec { name: "t1", ty: ParamType::I64, default: "10", help: "threshold1 (C int)" },
    ParamSpec { name: "t2", ty: ParamType::I64, default: "10", help: "threshold2 (C int)" },
    ParamSpec { name: "deferred", ty: ParamType::Bool, default: "false", help: "3.12+: run automatic collections at the next SafePoint instead of inside the allocation" },
    ParamSpec { name: "dicts", ty: ParamType::Text, default: "lazy", help: "dict tracking: lazy (3.11-3.13: tracked when a container is stored, atom-only dicts untracked by full collections) or always (3.14+: tracked from creation, never untracked)" },
    ParamSpec { name: "tuples", ty: ParamType::Text, default: "always", help: "tuple tracking: always (3.11-3.14.0: tracked at creation) or containers (3.14.1+: tracked once a container is stored into it); collections untrack atom-only tuples either way" },
    ParamSpec { name: "enabled", ty: ParamType::Bool, default: "true", help: "gc.isenabled() at start (false: automatic collection off, counts still run)" },
    ParamSpec { name: "callbacks", ty: ParamType::Bool, default: "false", help: "model a gc.callbacks hook (CPython's two info dicts per collection), as the fidelity replay installs" },
    ParamSpec { name: "every_ops", ty: ParamType::U64, default: "0", help: "manual policy: collect `generation` every N ops of simulated time (0: off)" },
    ParamSpec { name: "every_ms", ty: ParamType::U64, default: "0", help: "manual policy: collect `generation` every T ms of wall time (0: off)" },
    ParamSpec { name: "on_event", ty: ParamType::Text, default: "", help: "manual policy: collect `generation` when the workload emits this event (e.g. request_end; empty: off)" },
    ParamSpec { name: "freeze_on_event", ty: ParamType::Text, default: "", help: "gc.freeze() when the workload emits this event (e.g. startup, marked by a recorded program; empty: off)" },
    ParamSpec { name: "generation", ty: ParamType::I64, default: "2", help: "generation the manual policies collect (0, 1 or 2)" },
];

const PRESETS: &[Preset] = &[
    Preset { name: "cpython-3.11", description: "CPython 3.11: thresholds (700, 10, 10), collects inside the allocation", params: &[("t0", "700"), ("t1", "10"), ("t2", "10"), ("deferred", "false")], versions: Versions::Release(VersionRange::from(3, 11, 0)) },
    Preset { name: "cpython-3.12", description: "CPython 3.12: thresholds (700, 10, 10), collection deferred to the next safe point (eval breaker)", params: &[("t0", "700"), ("t1", "10"), ("t2", "10"), ("deferred", "true")], versions: Versions::Release(VersionRange::from(3, 12, 0)) },
    Preset { name: "cpython-3.13", description: "CPython 3.13: thresholds (2000, 10, 10), collection deferred to the next safe point", params: &[("t0", "2000"), ("t1", "10"), ("t2", "10"), ("deferred", "true")], versions: Versions::Release(VersionRange::from(3, 13, 0)) },
    Preset { name: "cpython-3.14.5", description: "CPython 3.14.5+: 3.13's generational GC restored (gh-148726), with 3.14's tracking: dicts from creation and never untracked, tuples only once they hold a container", params: GEN_3_14_5, versions: Versions::Release(VersionRange::from(3, 14, 5)) },
    Preset { name: "cpython-3.15", description: "CPython 3.15: the same collector as cpython-3.14.5 (the forward-port of gh-148726 on main)", params: GEN_3_14_5, versions: Versions::Release(VersionRange::from(3, 15, 0)) },
    Preset { name: "guide-800-20-20", description: "the guide's gc.set_threshold(800, 20, 20) on CPython 3.11", params: &[("t0", "800"), ("t1", "20"), ("t2", "20"), ("deferred", "false")], versions: Versions::Configured(VersionRange::from(3, 11, 0)) },
    Preset { name: "gc-disabled", description: "gc.disable(): no automatic collection (counts still run, gc.collect ops work); add every_ops=N, every_ms=T or on_event=NAME for manual collection", params: &[("enabled", "false")], versions: Versions::Configured(VersionRange::from(3, 11, 0)) },
];

/// The settings of CPython 3.14.5 and later, and of 3.15: 3.13's (thresholds (2000, 10, 10),
/// deferred collection) with 3.14's tracking of dicts (from creation) and tuples (once they
/// hold a container) (`docs/cpython-model.md`, section 2.12).
const GEN_3_14_5: &[(&str, &str)] = &[
    ("t0", "2000"),
    ("t1", "10"),
    ("t2", "10"),
    ("deferred", "true"),
    ("dicts", "always"),
    ("tuples", "containers"),
];

/// Parameter `key` of `p` as a C `int`, the type of CPython's thresholds. A value outside the
/// `i32` range is a range error whose message reads `{v} does not fit a C int{note}; valid:
/// {MIN}..={MAX}` (this strategy's note says that CPython raises `OverflowError`;
/// `cpython-3.14` passes an empty one).
pub fn c_int_param(p: &Params, key: &str, note: &str) -> Result<i64, ParamError> {
    let v = p.i64(key);
    if v < i32::MIN as i64 || v > i32::MAX as i64 {
        return Err(p.range_error(
            key,
            format!(
                "{v} does not fit a C int{note}; valid: {}..={}",
                i32::MIN,
                i32::MAX
            ),
        ));
    }
    Ok(v)
}

fn c_int(p: &Params, key: &str) -> Result<i64, ParamError> {
    c_int_param(p, key, " (CPython raises OverflowError)")
}

/// Parameter `key`, one of a few named values (`dicts`, `tuples`); anything else is a range error
/// that lists what is valid.
fn choice<T>(
    p: &Params,
    key: &str,
    parse: fn(&str) -> Option<T>,
    valid: fn() -> String,
) -> Result<T, ParamError> {
    let v = p.text(key);
    parse(v).ok_or_else(|| {
        p.range_error(
            key,
            format!("'{v}' is not a way of tracking {key}; valid: {}", valid()),
        )
    })
}

impl StrategyFactory for Generational {
    const INFO: StrategyInfo = StrategyInfo {
        name: "generational",
        description: "CPython's reference counting + generational cycle detector (3.11 gcmodule.c; presets for 3.12, 3.13, 3.14.5+, 3.15 and gc.disable with manual policies)",
        params: PARAMS,
        presets: PRESETS,
        guarantee: Guarantee::CPython,
        // The defaults are CPython 3.11's, which the preset `cpython-3.11` names.
        versions: Versions::NotCPython,
    };

    fn build(p: &Params) -> Result<Self, ParamError> {
        let g = p.i64("generation");
        if !(0..=2).contains(&g) {
            return Err(p.range_error(
                "generation",
                format!("{g}: CPython's gc.collect raises ValueError('invalid generation'); valid generations are 0, 1 and 2"),
            ));
        }
        let dicts = choice(p, "dicts", DictTracking::from_name, DictTracking::valid)?;
        let tuples = choice(p, "tuples", TupleTracking::from_name, TupleTracking::valid)?;
        let ev = p.text("on_event");
        let freeze = p.text("freeze_on_event");
        let cfg = Config {
            thresholds: [c_int(p, "t0")?, c_int(p, "t1")?, c_int(p, "t2")?],
            deferred: p.bool("deferred"),
            dicts,
            tuples,
            enabled: p.bool("enabled"),
            callbacks: p.bool("callbacks"),
            every_ops: p.u64("every_ops"),
            every_ms: p.u64_in("every_ms", 0, 1 << 40)?,
            on_event: (!ev.is_empty()).then(|| ev.to_string()),
            freeze_on_event: (!freeze.is_empty()).then(|| freeze.to_string()),
            manual_generation: g as usize,
        };
        Ok(Generational::new(cfg))
    }
}
