//! The trace reader's fast loop against the executor's other entry points. A binary trace is
//! replayed through the reader's fast path (`OpSink::op_fast`, with `OpSink::op` for what it
//! declines), and the same ops go through `Executor::ops` as one chunk; both must end the same
//! way (the same op count, or the same error at the same op) with the same heap accounting and
//! work counters. The streams are valid programs over 200 registers (the conformance suite's
//! generator: lists that grow, dicts that gain keys, cycles, collections; registers above 127
//! take two varint bytes), with safe points after ops (which the reader executes in the same
//! step), and with one hostile op at a random place (a register or slot out of range, an
//! operand of three varint bytes, a load from an empty register), after which both must stop
//! with the same error. With `--verify` on, the reader takes the general path for every op;
//! that is compared too.

use gclab_conformance::gen::{raw_stream, Interpreter, RawOp};
use gclab_core::executor::{ExecConfig, Executor};
use gclab_core::kind::ALL_KINDS;
use gclab_core::op::{Op, StreamHeader};
use gclab_core::strategy::StrategyFactory;
use gclab_core::trace::{TraceError, TraceFormat, TraceReader, TraceWriter};
use gclab_core::workload::OpSink;
use gclab_core::Strategy as GcStrategy;
use proptest::prelude::*;

/// Registers of the streams: those above 127 take two varint bytes; 20 000 (three) does not
/// exist.
const REGISTERS: u32 = 200;

fn reg() -> impl Strategy<Value = u32> {
    prop_oneof![20 => 0u32..6, 2 => Just(150u32), 1 => Just(20_000u32)]
}

fn slot() -> impl Strategy<Value = u32> {
    prop_oneof![20 => 0u32..6, 2 => 100u32..300, 1 => Just(20_000u32)]
}

/// Any op over a few registers: valid or not, depending on the heap it meets.
fn hostile() -> impl Strategy<Value = Op> {
    prop_oneof![
        (reg(), 0usize..8, 0u32..4).prop_map(|(dst, k, len)| Op::Alloc {
            dst,
            kind: ALL_KINDS[k],
            len
        }),
        (reg(), slot(), reg()).prop_map(|(obj, slot, src)| Op::Store { obj, slot, src }),
        (reg(), reg()).prop_map(|(list, src)| Op::Append { list, src }),
        (reg(), reg(), slot()).prop_map(|(dst, obj, slot)| Op::Load { dst, obj, slot }),
        (reg(), reg()).prop_map(|(dst, src)| Op::Copy { dst, src }),
        reg().prop_map(|dst| Op::Clear { dst }),
    ]
}

/// Turns templates into a valid program (run on a `refcount` executor to know the program's
/// state), a safe point after every op that `safe` marks, and `extra` inserted at `at` (of the
/// program's length).
fn program(raws: &[RawOp], safe: &[bool], extra: Option<(Op, f64)>) -> Vec<Op> {
    let mut ex = Executor::new(
        gclab_refcount::RefCount::new(),
        &header(),
        ExecConfig::default(),
    );
    let mut interp = Interpreter::new();
    let mut ops = Vec::new();
    for (i, raw) in raws.iter().enumerate() {
        let Some(op) = interp.next(raw, &ex.heap) else {
            continue;
        };
        ex.ops(std::slice::from_ref(&op))
            .expect("a generated op is valid");
        interp.after(&op, &ex.heap);
        ops.push(op);
        if safe.get(i).copied().unwrap_or(false) {
            ex.ops(&[Op::SafePoint]).expect("a safe point is valid");
            interp.after(&Op::SafePoint, &ex.heap);
            ops.push(Op::SafePoint);
        }
    }
    if let Some((op, at)) = extra {
        let i = ((ops.len() as f64) * at) as usize;
        ops.insert(i.min(ops.len()), op);
    }
    ops
}

fn header() -> StreamHeader {
    gclab_conformance::header(REGISTERS)
}

fn binary(ops: &[Op]) -> Vec<u8> {
    let mut w = TraceWriter::new(Vec::new(), TraceFormat::Binary);
    w.begin(&header()).expect("begin");
    w.ops(ops).expect("ops");
    w.finish().expect("finish")
}

/// How a run ended, and the executor's deterministic state at that point.
fn outcome<S: GcStrategy>(ex: &Executor<S>, end: Result<u64, String>) -> String {
    format!(
        "{end:?}\n{:?}\n{:?}\n{}",
        ex.heap.acct,
        ex.heap.work,
        ex.heap.collections().len()
    )
}

fn by_chunk<S: GcStrategy>(strategy: S, ops: &[Op], verify: bool) -> String {
    let cfg = ExecConfig {
        verify,
        max_heap: None,
    };
    let mut ex = Executor::new(strategy, &header(), cfg);
    ex.begin(&header()).expect("begin");
    let end = match ex.ops(ops) {
        Ok(()) => Ok(ops.len() as u64),
        Err(stop) => Err(stop.to_string()),
    };
    outcome(&ex, end)
}

fn by_trace<S: GcStrategy>(strategy: S, bytes: &[u8], verify: bool) -> String {
    let cfg = ExecConfig {
        verify,
        max_heap: None,
    };
    let mut ex = Executor::new(strategy, &header(), cfg);
    let mut r = TraceReader::open(bytes).expect("open");
    let end = match r.feed(&mut ex) {
        Ok(n) => Ok(n),
        Err(TraceError::Stopped(stop)) => Err(stop.to_string()),
        Err(e) => panic!("the trace itself failed: {e}"),
    };
    outcome(&ex, end)
}

fn check<S: GcStrategy>(make: impl Fn() -> S, ops: &[Op]) -> Result<(), TestCaseError> {
    let bytes = binary(ops);
    for verify in [false, true] {
        let chunk = by_chunk(make(), ops, verify);
        let trace = by_trace(make(), &bytes, verify);
        prop_assert_eq!(&chunk, &trace, "verify={}", verify);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn trace_replay_equals_chunks_refcount(
        raws in raw_stream(REGISTERS as u8, 600),
        safe in prop::collection::vec(any::<bool>(), 600),
        extra in prop::option::of((hostile(), 0.0f64..1.0)),
    ) {
        check(gclab_refcount::RefCount::new, &program(&raws, &safe, extra))?;
    }

    #[test]
    fn trace_replay_equals_chunks_generational(
        raws in raw_stream(REGISTERS as u8, 600),
        safe in prop::collection::vec(any::<bool>(), 600),
        extra in prop::option::of((hostile(), 0.0f64..1.0)),
        deferred in any::<bool>(),
    ) {
        let make = || {
            gclab_generational::Generational::from_pairs(&[("deferred".into(), deferred.to_string())])
                .expect("valid parameters")
        };
        check(make, &program(&raws, &safe, extra))?;
    }
}
