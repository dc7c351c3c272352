//! The suite must catch broken strategies and shrink their failures to a handful of ops; and a
//! correct test-only collector of each kind must pass.

use gclab_conformance::{find_failure, run_ops, Config, Failure, Guarantee};
use gclab_core::heap::{Heap, ObjId};
use gclab_core::kind::Kind;
use gclab_core::op::GcOp;
use gclab_core::op::Op;
use gclab_core::strategy::GcReply;
use gclab_core::workload::{OpSink, Stop};
use gclab_core::Strategy;

/// Reference counting with an optional bug: it forgets the INCREF of a value stored into a dict,
/// or never frees a recorded object (`Kind::Object`).
#[derive(Default)]
struct Rc {
    counts: Vec<u32>,
    forget_dict_incref: bool,
    leak_recorded_objects: bool,
}

impl Rc {
    fn dec(&mut self, heap: &mut Heap, obj: ObjId) {
        let mut work = vec![obj];
        while let Some(o) = work.pop() {
            let n = &mut self.counts[o.index()];
            *n = n.saturating_sub(1);
            if *n == 0 && heap.is_live(o) {
                if self.leak_recorded_objects && heap.kind(o) == Kind::Object {
                    continue;
                }
                for c in heap.free(o).iter().filter(|c| !c.is_nil()) {
                    work.push(*c);
                }
            }
        }
    }
}

impl Strategy for Rc {
    fn alloc(&mut self, heap: &mut Heap, obj: ObjId) {
        self.counts.resize(heap.capacity(), 0);
        self.counts[obj.index()] = 0;
    }
    fn retain(&mut self, _heap: &mut Heap, obj: ObjId) {
        self.counts[obj.index()] += 1;
    }
    fn release(&mut self, heap: &mut Heap, obj: ObjId) {
        self.dec(heap, obj);
    }
    fn stored(&mut self, heap: &mut Heap, container: ObjId, value: ObjId) {
        if self.forget_dict_incref && heap.kind(container) == Kind::Dict {
            // The bug: undo the INCREF the store made.
            self.counts[value.index()] -= 1;
        }
    }
}

/// A stop-the-world mark-sweep run by `gc.collect()`, with an optional bug: it skips garbage
/// that refers to itself (one kind of cycle).
#[derive(Default)]
struct MarkSweep {
    skip_self_cycles: bool,
}

impl Strategy for MarkSweep {
    fn alloc(&mut self, _heap: &mut Heap, _obj: ObjId) {}
    fn retain(&mut self, _heap: &mut Heap, _obj: ObjId) {}
    fn release(&mut self, _heap: &mut Heap, _obj: ObjId) {}
    fn gc(&mut self, heap: &mut Heap, op: &GcOp) -> GcReply {
        let GcOp::Collect { generation } = op else {
            return GcReply::None;
        };
        let t = heap.begin_collection(*generation);
        let marks = heap.reachable().unwrap_or_default();
        let dead: Vec<ObjId> = heap
            .live_ids()
            .filter(|id| !marks.get(id.index()).copied().unwrap_or(false))
            .filter(|&id| !(self.skip_self_cycles && heap.slots(id).contains(&id)))
            .collect();
        let examined = heap.live_ids().count() as u64;
        for &id in &dead {
            heap.free(id);
        }
        heap.end_collection(t, examined, dead.len() as u64);
        GcReply::Collected(dead.len() as u64)
    }
}

fn cfg(label: &str) -> Config {
    Config {
        cases: 500,
        label: format!("broken-{label}"),
        ..Config::default()
    }
}

struct Collect(Vec<Op>);
impl OpSink for Collect {
    fn ops(&mut self, ops: &[Op]) -> Result<(), Stop> {
        self.0.extend_from_slice(ops);
        Ok(())
    }
}

/// The saved trace holds exactly the minimal stream, and replaying it fails the same way.
fn assert_replays<S: gclab_core::Strategy>(f: &Failure, make: &dyn Fn() -> S, expect: Guarantee) {
    let path = f.trace.as_ref().expect("the failure was saved as a trace");
    let mut r = gclab_core::trace::open_file(path).expect("the saved trace opens");
    let header = r.header().clone();
    let mut sink = Collect(Vec::new());
    r.feed(&mut sink).expect("the saved trace reads");
    assert_eq!(sink.0, f.ops);
    assert_eq!(header.registers, f.header.registers);
    let again = run_ops(make, expect, header, &sink.0);
    assert_eq!(again.violation.as_ref(), Some(&f.violation));
}

fn assert_caught(f: Option<Failure>, property: &str, max_ops: usize) -> Failure {
    let f = f.expect("the broken strategy was not caught");
    eprintln!("{f}");
    assert_eq!(f.violation.property, property, "{f}");
    assert!(
        f.ops.len() <= max_ops,
        "shrunk to {} ops, expected at most {max_ops}:\n{f}",
        f.ops.len()
    );
    f
}

#[test]
fn catches_a_refcount_that_frees_a_reachable_object() {
    let make = || Rc {
        forget_dict_incref: true,
        ..Rc::default()
    };
    // Under `Safe` only safety is checked, so the premature free itself must be found (under
    // `Refcount` the exactness check may report the same bug first).
    let f = find_failure(make, Guarantee::Safe, &cfg("forgets-dict-incref"));
    // Minimal: d = {}; x = obj; d[0] = x; del x (or overwrite x) -> x freed while in d.
    let f = assert_caught(f, "no reachable object freed", 6);
    assert_replays(&f, &make, Guarantee::Safe);
}

#[test]
fn catches_a_collector_that_skips_a_cycle() {
    let make = || MarkSweep {
        skip_self_cycles: true,
    };
    let f = find_failure(make, Guarantee::Complete, &cfg("skips-self-cycles"));
    // Minimal: x = obj; x[0] = x; del x; + the epilogue's unfreeze, collect(2).
    let f = assert_caught(f, "a full collection frees all garbage", 6);
    assert_replays(&f, &make, Guarantee::Complete);
}

#[test]
fn catches_a_leak_under_the_refcount_expectation() {
    // A collector that frees nothing claims to be pure refcounting: the first acyclic garbage
    // object exposes it.
    let f = find_failure(
        || MarkSweep {
            skip_self_cycles: false,
        },
        Guarantee::Refcount,
        &cfg("marksweep-as-refcount"),
    );
    assert_caught(
        f,
        "refcount keeps exactly what is reachable from the registers or a cycle",
        3,
    );
}

/// Only the recorded streams hold `New` objects: the bug is found there, shrunk, and saved as a
/// version-2 trace (with its type table) that replays the same way.
#[test]
fn catches_a_refcount_that_leaks_recorded_objects() {
    let make = || Rc {
        leak_recorded_objects: true,
        ..Rc::default()
    };
    let f = find_failure(make, Guarantee::Refcount, &cfg("leaks-recorded-objects"));
    // Minimal: new r0 T N; clear r0 (or overwrite r0).
    let f = assert_caught(
        f,
        "refcount keeps exactly what is reachable from the registers or a cycle",
        3,
    );
    assert!(f.ops.iter().any(|op| matches!(op, Op::New { .. })), "{f}");
    assert!(!f.header.types.is_empty());
    let text = std::fs::read_to_string(f.trace.as_ref().expect("saved")).expect("readable");
    assert!(text.starts_with("gclab-trace text 2\n"), "{text}");
    assert_replays(&f, &make, Guarantee::Refcount);
}

#[test]
fn correct_refcount_passes() {
    let f = find_failure(Rc::default, Guarantee::Refcount, &cfg("rc-ok"));
    assert!(
        f.is_none(),
        "{}",
        f.map(|f| f.to_string()).unwrap_or_default()
    );
}

#[test]
fn correct_mark_sweep_passes() {
    let f = find_failure(MarkSweep::default, Guarantee::Complete, &cfg("ms-ok"));
    assert!(
        f.is_none(),
        "{}",
        f.map(|f| f.to_string()).unwrap_or_default()
    );
}

/// CPython's model with one of two bugs in what the `gc` module reports.
struct BadGen {
    inner: gclab_generational::Generational,
    /// `gc.collect()` returns one more than it collected.
    off_by_one_return: bool,
    /// `get_count()[1]` never grows.
    stuck_count1: bool,
}

impl BadGen {
    fn new(off_by_one_return: bool, stuck_count1: bool) -> BadGen {
        use gclab_core::strategy::StrategyFactory;
        BadGen {
            inner: gclab_generational::Generational::from_pairs(&[]).expect("defaults build"),
            off_by_one_return,
            stuck_count1,
        }
    }
}

impl Strategy for BadGen {
    fn alloc(&mut self, heap: &mut Heap, obj: ObjId) {
        self.inner.alloc(heap, obj)
    }
    fn retain(&mut self, heap: &mut Heap, obj: ObjId) {
        self.inner.retain(heap, obj)
    }
    fn release(&mut self, heap: &mut Heap, obj: ObjId) {
        self.inner.release(heap, obj)
    }
    fn stored(&mut self, heap: &mut Heap, c: ObjId, v: ObjId) {
        self.inner.stored(heap, c, v)
    }
    fn safe_point(&mut self, heap: &mut Heap) {
        self.inner.safe_point(heap)
    }
    fn event(&mut self, heap: &mut Heap, name: &str) {
        self.inner.event(heap, name)
    }
    fn gc(&mut self, heap: &mut Heap, op: &GcOp) -> GcReply {
        match self.inner.gc(heap, op) {
            GcReply::Collected(n) if self.off_by_one_return => GcReply::Collected(n + 1),
            r => r,
        }
    }
    fn stats(&self) -> gclab_core::StrategyStats {
        let mut s = self.inner.stats();
        if self.stuck_count1 {
            for (k, v) in s.counters.iter_mut() {
                if k == "count1" {
                    *v = 0;
                }
            }
        }
        s
    }
}

#[test]
fn catches_a_wrong_collect_return_value() {
    let f = find_failure(
        || BadGen::new(true, false),
        Guarantee::CPython,
        &cfg("gen-return"),
    );
    assert_caught(f, "collect() returns collected + uncollectable", 3);
}

#[test]
fn catches_counts_that_do_not_follow_the_spec() {
    let f = find_failure(
        || BadGen::new(false, true),
        Guarantee::CPython,
        &cfg("gen-count1"),
    );
    assert_caught(f, "get_count() follows the specification", 3);
}
