//! Fuzzes the whole replay path of `gclab run -w trace:FILE`: arbitrary bytes through the trace
//! reader into the executor running reference counting in sanity mode with a memory budget.
//! Hostile ops (registers that do not exist, huge lengths, bad slots, bad names) must end in an
//! error or an out-of-memory stop, never a panic or an unbounded allocation.
#![no_main]

use gclab_core::executor::{ExecConfig, Executor};
use gclab_core::trace::{TraceError, TraceReader};
use gclab_core::workload::Stop;
use gclab_refcount::RefCount;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(mut r) = TraceReader::open(data) else {
        return;
    };
    let header = r.header().clone();
    let cfg = ExecConfig {
        verify: true,
        max_heap: Some(64 << 20),
    };
    let mut ex = Executor::new(RefCount::new(), &header, cfg);
    match r.feed(&mut ex) {
        Ok(_) => {
            // Pure reference counting never frees a reachable object.
            ex.finish().expect("refcount freed a reachable object");
        }
        Err(TraceError::Stopped(Stop::Exec(e))) => {
            assert!(
                !matches!(
                    e.kind,
                    gclab_core::workload::ExecErrorKind::ReachableFreed { .. }
                ),
                "refcount freed a reachable object: {e}"
            );
        }
        Err(_) => {}
    }
});
