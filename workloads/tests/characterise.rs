//! The characterisation's death times against a brute-force oracle, and its figures against
//! what the strategies measure.

mod common;

use common::{header_of, params, run, SMALL};
use gclab_core::executor::{ExecConfig, Executor};
use gclab_core::op::{Op, StreamHeader};
use gclab_core::strategy::StrategyFactory;
use gclab_core::workload::{self, OpSink, Stop};
use gclab_none::NoCollection;
use gclab_refcount::RefCount;
use gclab_workloads::{characterise, Characteriser};

/// Cases beyond the suite's [`SMALL`]: a kept `itertools` result and a recreated B-tree.
const MORE: &[(&str, &[&str])] = &[
    (
        "combinations",
        &["n=8", "reps=2", "variant=itertools", "keep=true"],
    ),
    ("btree", &["records=50", "degree=2", "recreate=0.7"]),
];

/// Every case: [`SMALL`] and [`MORE`].
fn cases() -> impl Iterator<Item = &'static (&'static str, &'static [&'static str])> {
    SMALL.iter().chain(MORE)
}

/// Feeds ops one by one to an executor running `none` (nothing is ever freed, ids never reused)
/// and after each op marks what is reachable: an object's death is the first op after which it
/// is unreachable. Also computes the oracle's peak, including the bytes an op allocates before it
/// drops a reference.
struct BruteForce {
    ex: Executor<NoCollection>,
    birth: Vec<u64>,
    death: Vec<Option<u64>>,
    reach_bytes: u64,
    reach_objs: u64,
    peak_bytes: u64,
    peak_objs: u64,
    t: u64,
}

impl BruteForce {
    fn new(h: &StreamHeader) -> BruteForce {
        BruteForce {
            ex: Executor::new(NoCollection, h, ExecConfig::default()),
            birth: Vec::new(),
            death: Vec::new(),
            reach_bytes: 0,
            reach_objs: 0,
            peak_bytes: 0,
            peak_objs: 0,
            t: 0,
        }
    }
    fn pairs(&self) -> Vec<(u64, u64)> {
        let mut v: Vec<(u64, u64)> = self
            .birth
            .iter()
            .zip(&self.death)
            .filter_map(|(&b, d)| d.map(|d| (b, d)))
            .collect();
        v.sort_unstable();
        v
    }
}

impl OpSink for BruteForce {
    fn ops(&mut self, ops: &[Op]) -> Result<(), Stop> {
        for op in ops {
            let cap = self.ex.heap.capacity();
            let live_before = self.ex.heap.acct.live_bytes;
            let objs_before = self.ex.heap.acct.live_objects;
            self.ex.ops(std::slice::from_ref(op))?;
            // `none` frees nothing: live bytes and objects only grow, by what the op allocated.
            let grown = self.ex.heap.acct.live_bytes - live_before;
            let new_objs = self.ex.heap.acct.live_objects - objs_before;
            self.peak_bytes = self.peak_bytes.max(self.reach_bytes + grown);
            self.peak_objs = self.peak_objs.max(self.reach_objs + new_objs);
            for _ in cap..self.ex.heap.capacity() {
                self.birth.push(self.t);
                self.death.push(None);
            }
            let marks = self.ex.heap.reachable().expect("none frees nothing");
            self.reach_bytes = 0;
            self.reach_objs = 0;
            for (i, &m) in marks.iter().enumerate() {
                if m {
                    self.reach_bytes += self.ex.heap.size(gclab_core::ObjId(i as u32)) as u64;
                    self.reach_objs += 1;
                } else if self.death[i].is_none() {
                    self.death[i] = Some(self.t);
                }
            }
            self.peak_bytes = self.peak_bytes.max(self.reach_bytes);
            self.peak_objs = self.peak_objs.max(self.reach_objs);
            self.t += 1;
        }
        Ok(())
    }
}

#[test]
fn death_times_match_a_brute_force_oracle() {
    for &(name, p) in cases() {
        let p = params(p);
        let (built, header) = header_of(name, &p, 7);
        let mut brute = BruteForce::new(&header);
        workload::stream(name, &built.params, &*built.workload, 7, &mut brute).unwrap();
        for window in [1, 5, 64, 1 << 16] {
            let mut c = Characteriser::new(&header).log_deaths().min_window(window);
            workload::stream(name, &built.params, &*built.workload, 7, &mut c).unwrap();
            let ch = c.finish(&header).unwrap();
            let deaths = c.deaths().unwrap();
            assert_eq!(deaths, brute.pairs(), "{name} {p:?} window {window}");
            assert_eq!(
                ch.min_peak_bytes, brute.peak_bytes,
                "{name} {p:?} peak bytes"
            );
            assert_eq!(
                ch.min_peak_objects, brute.peak_objs,
                "{name} {p:?} peak objects"
            );
            assert_eq!(ch.garbage_objects, deaths.len() as u64);
        }
    }
}

#[test]
fn figures_agree_with_the_strategies() {
    for &(name, p) in cases() {
        let p = params(p);
        let ch = characterise(name, &p, 3).unwrap();
        let rc = run(RefCount::new(), name, &p, 3);
        let none = run(NoCollection, name, &p, 3);
        let gen = run(
            gclab_generational::Generational::from_pairs(&[]).unwrap(),
            name,
            &p,
            3,
        );
        // The stream's own facts.
        assert_eq!(ch.ops, rc.heap.work.ops, "{name}");
        assert_eq!(ch.allocations, rc.heap.acct.allocations(), "{name}");
        assert_eq!(ch.bytes_allocated, none.heap.acct.bytes_allocated, "{name}");
        // No strategy can beat the oracle.
        for (s, peak) in [
            ("refcount", rc.heap.acct.peak_bytes),
            ("none", none.heap.acct.peak_bytes),
            ("generational", gen.heap.acct.peak_bytes),
        ] {
            assert!(
                ch.min_peak_bytes <= peak,
                "{name}: {s} peak {peak} < oracle {}",
                ch.min_peak_bytes
            );
        }
        // Cyclic garbage is exactly what pure reference counting leaks, and without cyclic
        // garbage reference counting is the oracle.
        let (leaked, _) = rc.heap.unreachable_live().unwrap();
        assert_eq!(ch.cyclic_garbage_objects, leaked, "{name}: refcount leak");
        if ch.cyclic_garbage_objects == 0 {
            assert_eq!(ch.min_peak_bytes, rc.heap.acct.peak_bytes, "{name}");
            assert_eq!(ch.min_peak_objects, rc.heap.acct.peak_objects, "{name}");
        }
        // What is alive at the end is what the registers reach.
        let marks = none.heap.reachable().unwrap();
        assert_eq!(
            ch.live_at_end,
            marks.iter().filter(|&&m| m).count() as u64,
            "{name}"
        );
    }
}
