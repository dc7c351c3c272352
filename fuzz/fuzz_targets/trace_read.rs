//! Fuzzes the trace reader (both forms) with arbitrary bytes: it must never panic, never
//! allocate beyond its documented bounds, and every decoding error must name its position.
#![no_main]

use gclab_core::op::Op;
use gclab_core::trace::{TraceError, TraceReader};
use gclab_core::workload::{OpSink, Stop};
use libfuzzer_sys::fuzz_target;

struct Count(u64);
impl OpSink for Count {
    fn ops(&mut self, ops: &[Op]) -> Result<(), Stop> {
        self.0 += ops.len() as u64;
        Ok(())
    }
}

fn check_position(e: &TraceError) {
    // Errors that are not about the bytes (a sink stop, feeding twice, opening a file) have no
    // position; every decoding error must have one, and its message must show it.
    if let Some(p) = e.position() {
        let msg = e.to_string();
        assert!(msg.contains(&p.to_string()), "error message {msg:?} does not name {p}");
    } else {
        assert!(
            matches!(e, TraceError::Stopped(_)
                    | TraceError::AlreadyFed
                    | TraceError::File { .. }
                    | TraceError::Unwritable(_)),
            "decoding error without a position: {e:?}"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    match TraceReader::open(data) {
        Err(e) => check_position(&e),
        Ok(mut r) => {
            let mut sink = Count(0);
            match r.feed(&mut sink) {
                Ok(n) => assert_eq!(n, sink.0),
                Err(e) => check_position(&e),
            }
        }
    }
});
