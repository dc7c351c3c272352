//! A recording's ops through the executor: `New` allocates an object of its header type (a
//! container type's object takes slots like an instance), a type beyond the table is an error
//! naming the op, and each `Interp` op reaches the strategy with the object in its register
//! (and not at all for an empty register). Directly, and replayed from a trace (both forms,
//! plain and compressed), with a tiny strategy that records what it is told.

mod common;

use common::{tiny_v2, write, write_zstd};
use gclab_core::executor::{ExecConfig, Executor};
use gclab_core::heap::{Heap, ObjId};
use gclab_core::op::{InterpOp, Op, StreamHeader, TypeInfo};
use gclab_core::strategy::Strategy;
use gclab_core::trace::{TraceError, TraceFormat, TraceReader};
use gclab_core::workload::{ExecErrorKind, OpSink, Stop};
use gclab_core::Kind;

/// Keeps reference counts (freeing at zero, so that accounting can be checked) and a log of
/// what the executor told it.
#[derive(Default)]
struct Log {
    rc: Vec<u64>,
    allocs: Vec<(ObjId, Kind, u64)>,
    interp: Vec<(InterpOp, ObjId)>,
}

impl Strategy for Log {
    fn alloc(&mut self, heap: &mut Heap, obj: ObjId) {
        if self.rc.len() <= obj.index() {
            self.rc.resize(obj.index() + 1, 0);
        }
        self.allocs
            .push((obj, heap.kind(obj), u64::from(heap.size(obj))));
    }
    fn retain(&mut self, _heap: &mut Heap, obj: ObjId) {
        self.rc[obj.index()] += 1;
    }
    fn release(&mut self, heap: &mut Heap, obj: ObjId) {
        let mut stack = vec![obj];
        while let Some(o) = stack.pop() {
            self.rc[o.index()] -= 1;
            if self.rc[o.index()] == 0 {
                stack.extend(heap.free(o).into_iter().filter(|c| !c.is_nil()));
            }
        }
    }
    fn interp(&mut self, _heap: &mut Heap, op: &InterpOp, obj: ObjId) {
        self.interp.push((*op, obj));
    }
    fn refcount(&self, obj: ObjId) -> Option<u64> {
        self.rc.get(obj.index()).copied()
    }
}

fn exec(header: &StreamHeader, cfg: ExecConfig) -> Executor<Log> {
    Executor::new(Log::default(), header, cfg)
}

fn verify() -> ExecConfig {
    ExecConfig {
        verify: true,
        max_heap: None,
    }
}

#[test]
fn new_allocates_an_object_of_its_type() {
    let (header, ops) = tiny_v2();
    for cfg in [ExecConfig::default(), verify()] {
        let mut ex = exec(&header, cfg);
        ex.ops(&ops).unwrap();
        ex.finish().unwrap();
        let log = &ex.strategy;
        assert_eq!(
            log.allocs,
            vec![(ObjId(0), Kind::Object, 56), (ObjId(1), Kind::Leaf, 300)]
        );
        // `store r0 0 r1` added a slot to the object, like an instance's first attribute; the
        // clear at the end freed the object, and the leaf lives on in r1.
        assert!(!ex.heap.is_live(ObjId(0)));
        let a = &ex.heap.acct;
        assert_eq!((a.allocations(), a.frees()), (2, 1));
        assert_eq!(a.allocs_by_kind[Kind::Object as usize], 1);
        assert_eq!(a.allocs_by_kind[Kind::Leaf as usize], 1);
        assert_eq!(a.bytes_allocated, 356);
        assert_eq!(a.live_bytes, 300);
        assert_eq!(ex.strategy.rc[1], 1);
    }
}

#[test]
fn a_container_types_object_takes_slots_like_an_instance() {
    let (header, _) = tiny_v2();
    let mut ex = exec(&header, verify());
    let new = |dst, ty| Op::New { dst, ty, size: 16 };
    ex.ops(&[
        new(0, 0),
        new(1, 1),
        Op::Store {
            obj: 0,
            slot: 0,
            src: 1,
        },
        Op::Store {
            obj: 0,
            slot: 1,
            src: 0,
        },
        Op::Load {
            dst: 1,
            obj: 0,
            slot: 1,
        },
    ])
    .unwrap();
    assert_eq!(ex.heap.slots(ObjId(0)), &[ObjId(1), ObjId(0)]);
    // A slot two past the last, and any slot of a leaf, are errors.
    let e = ex
        .ops(&[Op::Store {
            obj: 0,
            slot: 3,
            src: 1,
        }])
        .unwrap_err();
    assert!(e.to_string().contains("slot"), "{e}");
    let mut ex = exec(&header, verify());
    ex.ops(&[new(0, 1)]).unwrap();
    assert!(ex
        .ops(&[Op::Store {
            obj: 0,
            slot: 0,
            src: 0
        }])
        .is_err());
}

#[test]
fn interp_ops_reach_the_strategy_with_their_object() {
    let (header, ops) = tiny_v2();
    let mut ex = exec(&header, verify());
    ex.ops(&ops).unwrap();
    assert_eq!(
        ex.strategy.interp,
        vec![
            (
                InterpOp::SetCount {
                    generation: 1,
                    value: 3
                },
                ObjId::NIL
            ),
            (
                InterpOp::LongLived {
                    total: 200,
                    pending: 7
                },
                ObjId::NIL
            ),
            (InterpOp::Count { delta: 1 }, ObjId::NIL),
            (
                InterpOp::Track {
                    reg: 0,
                    generation: 0
                },
                ObjId(0)
            ),
            (InterpOp::Untrack { reg: 0 }, ObjId(0)),
            (InterpOp::Count { delta: -1 }, ObjId::NIL),
        ]
    );
}

#[test]
fn track_and_untrack_of_an_empty_register_are_skipped() {
    let header = StreamHeader::new(2);
    let mut ex = exec(&header, verify());
    ex.ops(&[
        Op::Interp(InterpOp::Track {
            reg: 1,
            generation: 2,
        }),
        Op::Interp(InterpOp::Untrack { reg: 0 }),
        Op::Alloc {
            dst: 0,
            kind: Kind::Int,
            len: 0,
        },
        // An atom is passed on: whether it can be tracked is the strategy's business.
        Op::Interp(InterpOp::Untrack { reg: 0 }),
    ])
    .unwrap();
    assert_eq!(
        ex.strategy.interp,
        vec![(InterpOp::Untrack { reg: 0 }, ObjId(0))]
    );
}

#[test]
fn bad_types_and_registers_are_errors_naming_the_op() {
    let header = StreamHeader::new(2).types(vec![TypeInfo {
        name: "T".into(),
        gc: true,
    }]);
    let cases = [
        (
            Op::New {
                dst: 0,
                ty: 1,
                size: 8,
            },
            ExecErrorKind::NoSuchType { ty: 1, types: 1 },
        ),
        (
            Op::New {
                dst: 2,
                ty: 0,
                size: 8,
            },
            ExecErrorKind::NoSuchRegister {
                reg: 2,
                registers: 2,
            },
        ),
        (
            Op::Interp(InterpOp::Track {
                reg: 9,
                generation: 0,
            }),
            ExecErrorKind::NoSuchRegister {
                reg: 9,
                registers: 2,
            },
        ),
        (
            Op::Interp(InterpOp::Untrack { reg: u32::MAX }),
            ExecErrorKind::NoSuchRegister {
                reg: u32::MAX,
                registers: 2,
            },
        ),
    ];
    for cfg in [ExecConfig::default(), verify()] {
        for (op, kind) in &cases {
            let mut ex = exec(&header, cfg.clone());
            ex.ops(&[Op::SafePoint]).unwrap();
            match ex.ops(std::slice::from_ref(op)) {
                Err(Stop::Exec(e)) => {
                    assert_eq!(&e.kind, kind);
                    assert_eq!(e.op_index, 1);
                    assert!(e.to_string().starts_with("op 1 ("), "{e}");
                }
                other => panic!("{op:?}: {other:?}"),
            }
        }
    }
    // A stream without a type table has no types at all.
    let mut ex = exec(&StreamHeader::new(1), ExecConfig::default());
    let e = ex
        .ops(&[Op::New {
            dst: 0,
            ty: 0,
            size: 1,
        }])
        .unwrap_err();
    assert!(e.to_string().contains("type #0 does not exist"), "{e}");
}

/// A memory budget counts a recorded object's size before allocating it.
#[test]
fn budgets_count_new_objects() {
    let header = StreamHeader::new(2).types(vec![TypeInfo {
        name: "bytes".into(),
        gc: false,
    }]);
    let mut ex = exec(
        &header,
        ExecConfig {
            verify: false,
            max_heap: Some(1000),
        },
    );
    let new = |dst, size| Op::New { dst, ty: 0, size };
    ex.ops(&[new(0, 600)]).unwrap();
    match ex.ops(&[new(1, 500)]) {
        Err(Stop::OutOfMemory {
            live_bytes, budget, ..
        }) => assert_eq!((live_bytes, budget), (1100, 1000)),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        ex.heap.acct.live_bytes, 600,
        "the refused object was never allocated"
    );
}

/// Replayed from a trace, in every form, plain and compressed: the same objects, the same
/// interpreter ops, and a bad type stops the replay as the executor's error.
#[test]
fn replayed_from_traces() {
    let (header, ops) = tiny_v2();
    let mut direct = exec(&header, verify());
    direct.ops(&ops).unwrap();
    for format in [TraceFormat::Binary, TraceFormat::Text] {
        for bytes in [
            write(format, &header, &ops, 3),
            write_zstd(format, &header, &ops, 3, 3),
        ] {
            let mut r = TraceReader::open(&bytes[..]).unwrap();
            let mut ex = exec(r.header(), verify());
            assert_eq!(r.feed(&mut ex).unwrap(), ops.len() as u64);
            assert_eq!(ex.strategy.allocs, direct.strategy.allocs);
            assert_eq!(ex.strategy.interp, direct.strategy.interp);
            assert_eq!(ex.heap.acct, direct.heap.acct);
        }
        let mut bad = ops.clone();
        bad[5] = Op::New {
            dst: 1,
            ty: 7,
            size: 1,
        };
        let bytes = write_zstd(format, &header, &bad, 3, 3);
        let mut r = TraceReader::open(&bytes[..]).unwrap();
        let mut ex = exec(r.header(), verify());
        match r.feed(&mut ex) {
            Err(TraceError::Stopped(Stop::Exec(e))) => {
                assert_eq!(e.kind, ExecErrorKind::NoSuchType { ty: 7, types: 2 });
                assert_eq!(e.op_index, 5);
            }
            other => panic!("{other:?}"),
        }
    }
}
