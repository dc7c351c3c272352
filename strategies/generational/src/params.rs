//! The strategy's parameters and presets (CPython 3.11, 3.12, 3.13, the guide's thresholds,
//! `gc.disable()`), and building it from them.

use crate::config::Config;
use crate::Generational;
use gclab_core::params::{ParamSpec, ParamType};
use gclab_core::strategy::{Guarantee, Preset, StrategyFactory, StrategyInfo};
use gclab_core::{ParamError, Params};

const PARAMS: &[ParamSpec] = &[
    ParamSpec { name: "t0", ty: ParamType::I64, default: "700", help: "threshold0 (C int; 0 turns automatic collection off, negative collects at every counted allocation)" },
    ParamSpec { name: "t1", ty: ParamType::I64, default: "10", help: "threshold1 (C int)" },
    ParamSpec { name: "t2", ty: ParamType::I64, default: "10", help: "threshold2 (C int)" },
    ParamSpec { name: "deferred", ty: ParamType::Bool, default: "false", help: "3.12+: run automatic collections at the next SafePoint instead of inside the allocation" },
    ParamSpec { name: "enabled", ty: ParamType::Bool, default: "true", help: "gc.isenabled() at start (false: automatic collection off, counts still run)" },
    ParamSpec { name: "callbacks", ty: ParamType::Bool, default: "false", help: "model a gc.callbacks hook (CPython's two info dicts per collection), as the fidelity replay installs" },
    ParamSpec { name: "every_ops", ty: ParamType::U64, default: "0", help: "manual policy: collect `generation` every N ops of simulated time (0: off)" },
    ParamSpec { name: "every_ms", ty: ParamType::U64, default: "0", help: "manual policy: collect `generation` every T ms of wall time (0: off)" },
    ParamSpec { name: "on_event", ty: ParamType::Text, default: "", help: "manual policy: collect `generation` when the workload emits this event (e.g. request_end; empty: off)" },
    ParamSpec { name: "freeze_on_event", ty: ParamType::Text, default: "", help: "gc.freeze() when the workload emits this event (e.g. startup, marked by a recorded program; empty: off)" },
    ParamSpec { name: "generation", ty: ParamType::I64, default: "2", help: "generation the manual policies collect (0, 1 or 2)" },
];

const PRESETS: &[Preset] = &[
    Preset { name: "cpython-3.11", description: "CPython 3.11: thresholds (700, 10, 10), collects inside the allocation", params: &[("t0", "700"), ("t1", "10"), ("t2", "10"), ("deferred", "false")] },
    Preset { name: "cpython-3.12", description: "CPython 3.12: thresholds (700, 10, 10), collection deferred to the next safe point (eval breaker)", params: &[("t0", "700"), ("t1", "10"), ("t2", "10"), ("deferred", "true")] },
    Preset { name: "cpython-3.13", description: "CPython 3.13: thresholds (2000, 10, 10), collection deferred to the next safe point", params: &[("t0", "2000"), ("t1", "10"), ("t2", "10"), ("deferred", "true")] },
    Preset { name: "guide-800-20-20", description: "the guide's gc.set_threshold(800, 20, 20) on CPython 3.11", params: &[("t0", "800"), ("t1", "20"), ("t2", "20"), ("deferred", "false")] },
    Preset { name: "gc-disabled", description: "gc.disable(): no automatic collection (counts still run, gc.collect ops work); add every_ops=N, every_ms=T or on_event=NAME for manual collection", params: &[("enabled", "false")] },
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

impl StrategyFactory for Generational {
    const INFO: StrategyInfo = StrategyInfo {
        name: "generational",
        description: "CPython's reference counting + generational cycle detector (3.11 gcmodule.c; presets for 3.12/3.13 and gc.disable with manual policies)",
        params: PARAMS,
        presets: PRESETS,
        guarantee: Guarantee::CPython,
    };

    fn build(p: &Params) -> Result<Self, ParamError> {
        let g = p.i64("generation");
        if !(0..=2).contains(&g) {
            return Err(p.range_error(
                "generation",
                format!("{g}: CPython's gc.collect raises ValueError('invalid generation'); valid generations are 0, 1 and 2"),
            ));
        }
        let ev = p.text("on_event");
        let freeze = p.text("freeze_on_event");
        let cfg = Config {
            thresholds: [c_int(p, "t0")?, c_int(p, "t1")?, c_int(p, "t2")?],
            deferred: p.bool("deferred"),
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
