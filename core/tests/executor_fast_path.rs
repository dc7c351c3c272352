//! The executor's fast loop (no budget, no verify) must still take timeline samples.

use gclab_core::executor::{ExecConfig, Executor};
use gclab_core::heap::{Heap, ObjId};
use gclab_core::op::{Op, StreamHeader};
use gclab_core::strategy::Strategy;
use gclab_core::workload::OpSink;
use gclab_core::Kind;

struct Nothing;
impl Strategy for Nothing {
    fn alloc(&mut self, _: &mut Heap, _: ObjId) {}
    fn retain(&mut self, _: &mut Heap, _: ObjId) {}
    fn release(&mut self, _: &mut Heap, _: ObjId) {}
}

#[test]
fn timeline_sampled_without_verify_or_budget() {
    let header = StreamHeader::new(1);
    let mut ex = Executor::new(Nothing, &header, ExecConfig::default());
    ex.sample_timeline(10, false);
    let ops: Vec<Op> = (0..100)
        .map(|_| Op::Alloc {
            dst: 0,
            kind: Kind::Float,
            len: 0,
        })
        .collect();
    ex.ops(&ops).unwrap();
    assert_eq!(ex.timeline().len(), 10);
    assert_eq!(ex.timeline()[9].at_op, 100);
    assert_eq!(ex.timeline()[9].live_objects, 100);
}
