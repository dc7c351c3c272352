//! Fuzzes the reading of compressed traces against plain ones: the input, zstd-compressed, must
//! read exactly as the input itself does (the same ops, or the same error at the same place,
//! its byte offset then one of the decompressed trace), never panic, and never allocate beyond
//! the bounds of a plain trace plus zstd's window.
#![no_main]

use gclab_core::op::Op;
use gclab_core::trace::{Position, TraceError, TraceReader, ZSTD_MAGIC};
use gclab_core::workload::{OpSink, Stop};
use libfuzzer_sys::fuzz_target;

#[derive(Default)]
struct Keep(Vec<Op>);
impl OpSink for Keep {
    fn ops(&mut self, ops: &[Op]) -> Result<(), Stop> {
        self.0.extend_from_slice(ops);
        Ok(())
    }
}

/// The ops, or the error's message and position.
fn read(data: &[u8]) -> Result<Vec<Op>, (String, Option<Position>)> {
    let describe = |e: TraceError| (e.to_string(), e.position());
    let mut r = TraceReader::open(data).map_err(describe)?;
    let mut sink = Keep::default();
    let n = r.feed(&mut sink).map_err(describe)?;
    assert_eq!(n, sink.0.len() as u64);
    Ok(sink.0)
}

fuzz_target!(|data: &[u8]| {
    if data.starts_with(&ZSTD_MAGIC) {
        // Compressed already: read as such by `trace_read`; compressed again, it is not a trace.
        return;
    }
    let plain = read(data);
    // The last byte picks the level (1 to 4): the frame's block structure changes with it.
    let level = 1 + i32::from(data.last().copied().unwrap_or(0) % 4);
    let z = zstd::encode_all(data, level).expect("zstd compresses anything");
    let compressed = read(&z);
    match (plain, compressed) {
        (Ok(a), Ok(b)) => assert_eq!(a, b),
        (Err((msg, at)), Err((zmsg, zat))) => {
            let want = match at {
                Some(Position::Byte(off)) => Some(Position::Decompressed(off)),
                other => other,
            };
            assert_eq!(zat, want, "{msg} / {zmsg}");
            if let (Some(Position::Byte(off)), Some(p)) = (at, zat) {
                let plain_at = format!("byte offset {off}");
                assert_eq!(zmsg, msg.replace(&plain_at, &p.to_string()));
            } else {
                assert_eq!(zmsg, msg);
            }
        }
        (a, b) => panic!("plain {a:?}, compressed {b:?}"),
    }
});
