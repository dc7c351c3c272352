//! Unit tests of the heap that reach its private fields: a full slot pool, and the
//! equivalence of the free methods under copy-on-write accounting.

use super::{Heap, HeapError, ObjId};
use crate::executor::{ExecConfig, Executor};
use crate::kind::Kind;
use crate::op::{Op, StreamHeader};
use crate::slots::SlotPool;
use crate::strategy::Strategy;
use crate::workload::{ExecErrorKind, OpSink, Stop};

/// A strategy that keeps nothing.
struct Nothing;
impl Strategy for Nothing {
    fn alloc(&mut self, _: &mut Heap, _: ObjId) {}
    fn retain(&mut self, _: &mut Heap, _: ObjId) {}
    fn release(&mut self, _: &mut Heap, _: ObjId) {}
}

fn small_heap(words: usize) -> Heap {
    let mut h = Heap::new(2, true);
    h.pool = SlotPool::with_limit(words);
    h
}

#[test]
fn a_full_slot_pool_refuses_appends_and_tuples_and_changes_nothing() {
    let mut h = small_heap(64);
    let l = h.alloc(Kind::List, 0).unwrap();
    let x = h.alloc(Kind::Float, 0).unwrap();
    let mut appended = 0;
    let err = loop {
        let before = (h.acct.clone(), h.size(l), h.slots(l).len());
        match h.append(l, x) {
            Ok(()) => appended += 1,
            Err(e) => {
                assert_eq!((h.acct.clone(), h.size(l), h.slots(l).len()), before);
                break e;
            }
        }
    };
    assert_eq!(err, HeapError::SlotPoolFull);
    assert!(appended > 8, "{appended}");
    let objects = h.acct.live_objects;
    assert_eq!(h.alloc(Kind::Tuple, 100), Err(HeapError::SlotPoolFull));
    assert_eq!(
        h.acct.live_objects, objects,
        "the refused tuple was not allocated"
    );
    assert!(err.to_string().contains("limit"), "{err}");
}

#[test]
fn a_full_slot_pool_stops_the_run_with_an_error_naming_the_op() {
    let header = StreamHeader::new(2);
    let mut ops = vec![
        Op::Alloc {
            dst: 0,
            kind: Kind::List,
            len: 0,
        },
        Op::Alloc {
            dst: 1,
            kind: Kind::Int,
            len: 1,
        },
    ];
    ops.extend((0..100).map(|_| Op::Append { list: 0, src: 1 }));
    // Through the chunk path and the one-op path alike.
    for one_by_one in [false, true] {
        let mut ex = Executor::new(Nothing, &header, ExecConfig::default());
        ex.heap = small_heap(64);
        let r = if one_by_one {
            ops.iter().try_for_each(|op| ex.op(op))
        } else {
            ex.ops(&ops)
        };
        match r {
            Err(Stop::Exec(e)) => {
                assert_eq!(e.kind, ExecErrorKind::Heap(HeapError::SlotPoolFull));
                assert!(e.op.contains("Append"), "{}", e.op);
            }
            other => panic!("expected a slot-pool error, got {other:?}"),
        }
    }
}

/// `free_with_noting` makes exactly the writes and marks exactly the pages that
/// `free_into` followed by `note_rc_write` for each written child does, on a list whose
/// items lie on many pages, some allocated before the fork and some after, some skipped.
#[test]
fn free_with_noting_notes_what_free_into_and_note_rc_write_do() {
    let build = || {
        let mut h = Heap::new(1, true);
        let l = h.alloc(Kind::List, 0).unwrap();
        let mut items = Vec::new();
        for n in 0..1200 {
            if n == 600 {
                h.fork();
            }
            let x = h.alloc(Kind::Float, 0).unwrap();
            h.append(l, x).unwrap();
            items.push(x);
        }
        // A nil slot, which neither form reports.
        let t = h.alloc(Kind::Tuple, 3).unwrap();
        h.append(l, t).unwrap();
        (h, l, items)
    };
    // Skip every third child (as `delete_garbage` skips the other garbage), and every child
    // on the first two pages (floats of 24 bytes, 170 to a page), so that some pre-fork
    // pages stay clean.
    let written = |c: ObjId| c.0 >= 345 && c.0 % 3 != 0;
    let (mut a, la, _) = build();
    let mut children = Vec::new();
    a.free_into(la, &mut children);
    for &c in &children {
        if written(c) {
            a.note_rc_write(c);
        }
    }
    let (mut b, lb, items) = build();
    let mut seen = Vec::new();
    b.free_with_noting(lb, |c| {
        seen.push(c);
        written(c)
    });
    assert_eq!(seen, children);
    assert_eq!(seen.len(), items.len() + 1);
    assert_eq!(b.work, a.work);
    assert_eq!(b.acct, a.acct);
    let report = b.cow_report();
    assert_eq!(report, a.cow_report());
    assert!(report.dirty_by_refcount > 1, "{report:?}");
    assert!(
        report.dirty_by_refcount < report.prefork_pages,
        "{report:?}"
    );
}
