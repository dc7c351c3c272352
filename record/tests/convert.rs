//! The converter on hand-made raw logs: the model, replaying the converted stream, collects
//! when the recorded interpreter did and frees what it freed.

use gclab_core::executor::{ExecConfig, Executor};
use gclab_core::workload::OpSink;
use gclab_core::{Op, StreamHeader};
use gclab_generational::{Config, Generational};
use gclab_record::convert::{convert, Conversion, Trigger};
use gclab_record::raw::{F_GC_TYPE, F_IN_GC};

/// Writes a raw log record by record, keeping the young count as the interpreter would.
struct Raw {
    bytes: Vec<u8>,
    records: u64,
    gc0: u16,
}

const LIST: u16 = 0;
const NODE: u16 = 1;
const STR: u16 = 2;

impl Raw {
    fn new() -> Raw {
        let mut bytes = b"GCLABRAW".to_vec();
        bytes.extend_from_slice(&1u32.to_le_bytes());
        bytes.extend_from_slice(&0x030b07f0u32.to_le_bytes());
        let mut r = Raw {
            bytes,
            records: 0,
            gc0: 0,
        };
        for (tid, name, gc) in [
            (LIST, "list", true),
            (NODE, "Node", true),
            (STR, "str", false),
        ] {
            r.rec(
                tid as u64,
                name.len() as u32,
                12,
                if gc { F_GC_TYPE } else { 0 },
            );
            let mut chunk = [0u8; 16];
            chunk[..name.len()].copy_from_slice(name.as_bytes());
            r.bytes.extend_from_slice(&chunk);
        }
        r.rec(700 | (10 << 32), 10, 9, 0); // thresholds
        r.rec(0, 0, 8, 1); // counts, enabled
        r.rec(0, 0, 7, 0); // long-lived
        r.rec(0, 0, 6, 7); // mark start
        r
    }

    fn rec(&mut self, a: u64, b: u32, kind: u8, flags: u8) {
        self.bytes.extend_from_slice(&a.to_le_bytes());
        self.bytes.extend_from_slice(&b.to_le_bytes());
        self.bytes.extend_from_slice(&self.gc0.to_le_bytes());
        self.bytes.push(kind);
        self.bytes.push(flags);
        self.records += 1;
    }

    fn create(&mut self, addr: u64, tid: u16) {
        let gc = tid != STR;
        if gc {
            self.gc0 += 1;
        }
        self.rec(
            addr | (tid as u64) << 48,
            56,
            0,
            if gc { F_GC_TYPE } else { 0 },
        );
    }

    fn destroy(&mut self, addr: u64, tid: u16, in_gc: bool) {
        let gc = tid != STR;
        let f = if gc { F_GC_TYPE } else { 0 } | if in_gc { F_IN_GC } else { 0 };
        self.rec(addr | (tid as u64) << 48, 56, 1, f);
        if gc && self.gc0 > 0 {
            self.gc0 -= 1; // PyObject_GC_Del, seen by the next record
        }
    }

    /// A generation-0 collection whose snapshot is `objs` (address, type, referents) and in
    /// which the objects `dies` die.
    fn collect0(&mut self, objs: &[(u64, u16, Vec<u64>)], dies: &[(u64, u16)]) {
        self.rec(0, 0, 2, 0); // start
        self.rec(1, 0, 11, 0);
        self.rec(0, self.gc0 as u32, 8, 1);
        for (addr, tid, edges) in objs {
            self.rec(addr | (*tid as u64) << 48, 1, 4, 0);
            for e in edges {
                self.rec(*e, 0, 5, 0);
            }
            self.rec(56, 0, 15, 0);
        }
        self.gc0 = 0;
        for &(a, t) in dies {
            self.destroy(a, t, true);
        }
        self.rec(2, 0, 11, 0);
        self.rec(dies.len() as u64, 0, 3, 0); // stop
    }

    fn end(mut self) -> Vec<u8> {
        self.rec(0, 0, 6, 8);
        let n = self.records;
        self.rec(n, 0, 14, 0);
        self.bytes
    }
}

struct Collect(Vec<Op>, Option<StreamHeader>);
impl OpSink for Collect {
    fn begin(&mut self, h: &StreamHeader) -> Result<(), gclab_core::Stop> {
        self.1 = Some(h.clone());
        Ok(())
    }
    fn ops(&mut self, ops: &[Op]) -> Result<(), gclab_core::Stop> {
        self.0.extend_from_slice(ops);
        Ok(())
    }
}

fn run(bytes: &[u8], deferred: bool) -> (Conversion, Vec<(i32, u64)>) {
    let mut sink = Collect(Vec::new(), None);
    let conv = convert(|| Ok(bytes), "test", Vec::new(), &mut sink).expect("converts");
    let header = sink.1.expect("a header");
    let strategy = Generational::new(Config {
        thresholds: [700, 10, 10],
        deferred,
        ..Config::default()
    });
    let mut ex = Executor::new(
        strategy,
        &header,
        ExecConfig {
            verify: true,
            max_heap: None,
        },
    );
    ex.begin(&header).expect("begins");
    ex.ops(&sink.0).expect("replays");
    ex.finish().expect("finishes");
    let cols = ex
        .report()
        .collections
        .iter()
        .map(|c| (c.generation, c.freed))
        .collect();
    (conv, cols)
}

/// 701 nodes, two of them a cycle the collection frees; 3.11 collects inside the allocation of
/// the 701st, before its creation is recorded.
fn cycle_log() -> Vec<u8> {
    let mut r = Raw::new();
    let mut snap = Vec::new();
    for i in 0..700u64 {
        let a = 0x1000 + i * 64;
        r.create(a, NODE);
        let edges = match i {
            0 => vec![0x1000 + 64],
            1 => vec![0x1000],
            _ => vec![],
        };
        snap.push((a, NODE, edges));
    }
    // A string, created and dropped (not counted).
    r.create(0x9000, STR);
    r.destroy(0x9000, STR, false);
    // The 701st node's allocation passes the threshold: the collection runs first.
    r.gc0 += 1;
    r.collect0(&snap, &[(0x1000, NODE), (0x1040, NODE)]);
    r.gc0 = 0;
    r.create(0x20000, NODE);
    r.gc0 = 1; // it counted before the reset... and the collection reset the count
    r.end()
}

#[test]
fn a_cycle_collected_by_the_real_collection_is_collected_by_the_model() {
    let log = cycle_log();
    let (conv, cols) = run(&log, false);
    assert_eq!(conv.collections.len(), 1);
    let c = &conv.collections[0];
    assert_eq!(
        (c.generation, c.collected, c.died, c.examined),
        (0, 2, 2, 700)
    );
    assert_eq!(c.trigger, Trigger::Automatic);
    assert_eq!(
        cols,
        vec![(0, 2)],
        "the model collects once and frees the cycle"
    );
    assert_eq!(conv.diagnostics.unknown_deaths, 0);
    assert!(conv.diagnostics.truncated.is_none());
}

#[test]
fn a_truncated_log_converts_what_is_complete() {
    let log = cycle_log();
    // Cut inside the last records (no END): conversion keeps what came before.
    let cut = &log[..log.len() - 40];
    let mut sink = Collect(Vec::new(), None);
    let conv = convert(|| Ok(cut), "test", Vec::new(), &mut sink).expect("converts");
    let t = conv.diagnostics.truncated.expect("says it was truncated");
    assert!(t.contains("byte offset"), "{t}");
    assert_eq!(conv.collections.len(), 1);
}

#[test]
fn refcount_deaths_free_at_once() {
    let mut r = Raw::new();
    r.create(0x1000, LIST);
    r.create(0x2000, STR);
    r.destroy(0x2000, STR, false);
    r.destroy(0x1000, LIST, false);
    let log = r.end();
    let mut sink = Collect(Vec::new(), None);
    let conv = convert(|| Ok(&log[..]), "test", Vec::new(), &mut sink).expect("converts");
    assert_eq!(conv.diagnostics.deaths, 2);
    let h = sink.1.expect("header");
    assert_eq!(
        h.types.len(),
        3 + 2,
        "three recorded types and the two catch-alls"
    );
    let ty = |n: &str| h.types.iter().find(|t| t.name == n).expect("a type");
    assert!(ty("list").gc && !ty("str").gc);
}
