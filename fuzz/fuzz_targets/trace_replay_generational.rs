//! Fuzzes CPython's collector model with hostile traces: arbitrary bytes through the trace reader
//! into the executor running `generational` in sanity mode with a memory budget. Negative and
//! zero thresholds, freeze/unfreeze in any order, gc calls between any two ops: it must never
//! panic and never free a reachable object.
#![no_main]

use gclab_core::executor::{ExecConfig, Executor};
use gclab_core::strategy::StrategyFactory;
use gclab_core::trace::{TraceError, TraceReader};
use gclab_core::workload::{ExecErrorKind, Stop};
use gclab_generational::Generational;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(mut r) = TraceReader::open(data) else {
        return;
    };
    let header = r.header().clone();
    // The last byte picks the 3.11 (collect inside the allocation) or 3.12 (deferred) mode.
    let deferred = data.len() > 8 && data[data.len() - 1] & 1 == 1;
    let params = [("deferred".to_string(), deferred.to_string())];
    let Ok(strategy) = Generational::from_pairs(&params) else {
        return;
    };
    let cfg = ExecConfig {
        verify: true,
        max_heap: Some(64 << 20),
    };
    let mut ex = Executor::new(strategy, &header, cfg);
    match r.feed(&mut ex) {
        Ok(_) => ex.finish().expect("generational freed a reachable object"),
        Err(TraceError::Stopped(Stop::Exec(e))) => assert!(
            !matches!(e.kind, ExecErrorKind::ReachableFreed { .. }),
            "generational freed a reachable object: {e}"
        ),
        Err(_) => {}
    }
});
