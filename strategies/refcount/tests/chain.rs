//! Freeing a very long chain must not recurse.
use gclab_core::executor::{ExecConfig, Executor};
use gclab_core::op::{Op, StreamHeader};
use gclab_core::workload::OpSink;
use gclab_core::Kind;
use gclab_refcount::RefCount;

#[test]
fn million_long_chain_frees_without_stack_overflow() {
    let header = StreamHeader::new(2);
    let mut ex = Executor::new(RefCount::new(), &header, ExecConfig::default());
    let n = 1_000_000u32;
    let mut ops = vec![Op::Alloc {
        dst: 0,
        kind: Kind::List,
        len: 0,
    }];
    for _ in 0..n {
        ops.push(Op::Alloc {
            dst: 1,
            kind: Kind::List,
            len: 1,
        });
        ops.push(Op::Append { list: 1, src: 0 });
        ops.push(Op::Copy { dst: 0, src: 1 });
    }
    ops.push(Op::Clear { dst: 1 });
    ex.ops(&ops).unwrap();
    assert_eq!(ex.heap.acct.live_objects, n as u64 + 1);
    ex.ops(&[Op::Clear { dst: 0 }]).unwrap();
    assert_eq!(ex.heap.acct.live_objects, 0);
    assert_eq!(ex.heap.acct.live_bytes, 0);
}
