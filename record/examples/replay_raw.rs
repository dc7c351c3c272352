//! Development aid: converts a raw recording and replays it under a generational preset,
//! printing the real and the modelled collections side by side.
//! `cargo run -p gclab-record --example replay_raw -- RAW T0 DEFERRED(0|1)`

use gclab_core::executor::{ExecConfig, Executor};
use gclab_core::workload::OpSink;
use gclab_core::{InterpOp, Op, StreamHeader};
use gclab_generational::{Config, Generational};
use gclab_record::convert::convert;

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

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let path = args[1].clone();
    let t0: i64 = args[2].parse().unwrap_or(700);
    let deferred = args.get(3).map(|s| s == "1").unwrap_or(false);
    let mut sink = Collect(Vec::new(), None);
    let t = std::time::Instant::now();
    let conv = convert(
        || std::fs::File::open(&path).map(std::io::BufReader::new),
        "raw",
        Vec::new(),
        &mut sink,
    )
    .expect("converts");
    eprintln!("converted in {:?}: {:?}", t.elapsed(), conv.diagnostics);
    let header = sink.1.expect("header");
    if std::env::var_os("OPSTATS").is_some() {
        let mut tally: std::collections::BTreeMap<String, (u64, u64)> = Default::default();
        let vl = |x: u64| (64 - x.max(1).leading_zeros() as u64).div_ceil(7).max(1);
        for op in &sink.0 {
            let (k, b) = match *op {
                Op::New { dst, ty, size } => {
                    ("new", 1 + vl(dst as u64) + vl(ty as u64) + vl(size as u64))
                }
                Op::Clear { dst } => ("clear", 1 + vl(dst as u64)),
                Op::Store { obj, slot, src } => (
                    "store",
                    1 + vl(obj as u64) + vl(slot as u64) + vl(src as u64),
                ),
                Op::SafePoint => ("safepoint", 1),
                Op::Interp(InterpOp::Count { delta }) => {
                    (if delta > 0 { "count+" } else { "count-" }, 2)
                }
                Op::Interp(_) => ("interp", 4),
                _ => ("other", 3),
            };
            let e = tally.entry(k.to_string()).or_default();
            e.0 += 1;
            e.1 += b;
        }
        for (k, (n, b)) in tally {
            println!("{k:10} {n:10} ops {b:12} bytes");
        }
        return;
    }
    let mut ex = Executor::new(
        Generational::new(Config {
            thresholds: [t0, 10, 10],
            deferred,
            ..Config::default()
        }),
        &header,
        ExecConfig::default(),
    );
    ex.begin(&header).expect("begin");
    let t = std::time::Instant::now();
    if std::env::var("DEBUG_AT").is_ok() {
        let at: usize = std::env::var("DEBUG_AT").unwrap().parse().unwrap();
        for (i, op) in sink.0.iter().enumerate() {
            ex.ops(std::slice::from_ref(op)).expect("replay");
            if std::env::var_os("WINDOW").is_some() && i + 30 > at && i < at + 3 {
                println!("W {i} {op:?} {:?}", ex.strategy.get_count());
            }
            if i < at && matches!(op, Op::Interp(InterpOp::Count { .. })) {
                println!("M {i} {}", ex.strategy.get_count()[0]);
            }
        }
    } else {
        ex.ops(&sink.0).expect("replay");
    }
    ex.finish().expect("finish");
    eprintln!("replayed {} ops in {:?}", sink.0.len(), t.elapsed());
    let model = ex.report().collections;
    let (mut same, n) = (0, conv.collections.len().max(model.len()));
    for i in 0..n {
        let r = conv.collections.get(i);
        let m = model.get(i);
        let ok = match (r, m) {
            (Some(r), Some(m)) => r.generation as i32 == m.generation && r.collected == m.freed,
            _ => false,
        };
        same += ok as usize;
        if !ok || i < 5 {
            println!(
                "{i:4} real {:?} model {:?} {}",
                r.map(|r| (
                    r.generation,
                    r.collected,
                    r.died,
                    r.examined,
                    r.at_op,
                    r.trigger
                )),
                m.map(|m| (m.generation, m.freed, m.examined, m.at_op)),
                if ok { "" } else { "  <-- differs" }
            );
        }
    }
    println!("{same}/{n} collections equal");
}
