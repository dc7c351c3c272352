//! Hostile op streams straight into the executor (what a crafted trace can feed it): registers
//! that do not exist, huge lengths and slots, bad name ids, invalid generations, any thresholds,
//! recorded objects of types that do not exist or of any size, interpreter ops with any values
//! (generations past the ones a trace may hold too).
//! The executor must answer each with an error or an out-of-memory stop — never a panic, never a
//! gigantic real allocation, and never a "reachable object freed" from a correct strategy.

use gclab_core::executor::{ExecConfig, Executor};
use gclab_core::kind::ALL_KINDS;
use gclab_core::op::{GcOp, InterpOp, Op};
use gclab_core::strategy::StrategyFactory;
use gclab_core::workload::{ExecErrorKind, OpSink, Stop};
use gclab_core::Strategy as GcStrategy;
use proptest::prelude::*;

fn small_or_any() -> impl Strategy<Value = u32> {
    prop_oneof![4 => 0u32..6, 1 => any::<u32>()]
}

fn hostile_op() -> impl Strategy<Value = Op> {
    let gc = prop_oneof![
        any::<i32>().prop_map(|generation| GcOp::Collect { generation }),
        (0i32..=2).prop_map(|generation| GcOp::Collect { generation }),
        Just(GcOp::Freeze),
        Just(GcOp::Unfreeze),
        Just(GcOp::Enable),
        Just(GcOp::Disable),
        (any::<i32>(), any::<i32>(), any::<i32>()).prop_map(|(t0, t1, t2)| GcOp::SetThreshold {
            t0,
            t1,
            t2
        }),
        (-2i32..4, -2i32..4, -2i32..4).prop_map(|(t0, t1, t2)| GcOp::SetThreshold { t0, t1, t2 }),
    ];
    let interp = prop_oneof![
        any::<i32>().prop_map(|delta| InterpOp::Count { delta }),
        (-3i32..4).prop_map(|delta| InterpOp::Count { delta }),
        (small_or_any(), any::<u8>())
            .prop_map(|(reg, generation)| InterpOp::Track { reg, generation }),
        small_or_any().prop_map(|reg| InterpOp::Untrack { reg }),
        (any::<u8>(), any::<u32>())
            .prop_map(|(generation, value)| InterpOp::SetCount { generation, value }),
        (any::<u32>(), any::<u32>())
            .prop_map(|(total, pending)| InterpOp::LongLived { total, pending }),
    ];
    prop_oneof![
        (small_or_any(), 0usize..ALL_KINDS.len(), small_or_any()).prop_map(|(dst, k, len)| {
            Op::Alloc {
                dst,
                kind: ALL_KINDS[k],
                len,
            }
        }),
        (small_or_any(), small_or_any(), small_or_any()).prop_map(|(obj, slot, src)| Op::Store {
            obj,
            slot,
            src
        }),
        (small_or_any(), small_or_any()).prop_map(|(list, src)| Op::Append { list, src }),
        (small_or_any(), small_or_any(), small_or_any()).prop_map(|(dst, obj, slot)| Op::Load {
            dst,
            obj,
            slot
        }),
        (small_or_any(), small_or_any()).prop_map(|(dst, src)| Op::Copy { dst, src }),
        small_or_any().prop_map(|dst| Op::Clear { dst }),
        small_or_any().prop_map(|id| Op::Event { id }),
        (small_or_any(), small_or_any()).prop_map(|(reg, label)| Op::Probe { reg, label }),
        Just(Op::SafePoint),
        gc.prop_map(Op::Gc),
        (small_or_any(), small_or_any(), small_or_any()).prop_map(|(dst, ty, size)| Op::New {
            dst,
            ty,
            size
        }),
        interp.prop_map(Op::Interp),
    ]
}

/// Feeds `ops` one at a time, skipping the ones the executor rejects (as a lenient replayer
/// would), so that later ops still run against a non-trivial heap.
fn feed<S: GcStrategy>(
    strategy: S,
    ops: &[Op],
    max_heap: Option<u64>,
) -> Result<(), TestCaseError> {
    let header = gclab_conformance::recorded_header(4);
    let cfg = ExecConfig {
        verify: true,
        max_heap,
    };
    let mut ex = Executor::new(strategy, &header, cfg);
    for op in ops {
        match ex.ops(std::slice::from_ref(op)) {
            Ok(()) => {}
            Err(Stop::Exec(e)) => {
                prop_assert!(
                    !matches!(e.kind, ExecErrorKind::ReachableFreed { .. }),
                    "a correct strategy freed a reachable object: {e}"
                );
                // The message names the op and its position.
                prop_assert!(e.to_string().starts_with("op "), "{e}");
            }
            Err(Stop::OutOfMemory { .. }) => return Ok(()),
            Err(other) => prop_assert!(false, "unexpected stop {other}"),
        }
    }
    prop_assert!(ex.finish().is_ok());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn hostile_ops_never_panic_refcount(ops in prop::collection::vec(hostile_op(), 0..80), budget in prop::option::of(0u64..100_000)) {
        feed(gclab_refcount::RefCount::new(), &ops, budget)?;
    }

    #[test]
    fn hostile_ops_never_panic_generational(ops in prop::collection::vec(hostile_op(), 0..80), deferred in any::<bool>(), budget in prop::option::of(0u64..100_000)) {
        let s = gclab_generational::Generational::from_pairs(&[("deferred".into(), deferred.to_string())])
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        feed(s, &ops, budget)?;
    }
}
