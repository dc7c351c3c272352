//! The order of the generation lists after collections, against a naive model of CPython
//! 3.11's `gc_collect_main` written with vectors (no intrusive links, no `gc_refs` kept in the
//! prev link): merge the younger lists, `update_refs` / `subtract_refs`, the breadth-first
//! `move_unreachable` (objects found reachable again re-appended to young's tail),
//! `untrack_tuples`, promotion (`untrack_dicts` for full collections), then the garbage and
//! what dies with it gone. The order decides where later collections find objects and which
//! tuples one pass untracks, so the lists must come out exactly in this order.

use std::collections::{HashMap, HashSet};

use gclab_core::executor::{ExecConfig, Executor};
use gclab_core::heap::ObjId;
use gclab_core::op::{GcOp, Op, StreamHeader};
use gclab_core::workload::OpSink;
use gclab_core::{Kind, Strategy};
use gclab_generational::{Config, GcList, Generational};

const REGS: u32 = 24;
const LISTS: [GcList; 3] = [GcList::GEN0, GcList::GEN1, GcList::GEN2];

/// splitmix64: a small deterministic generator for the op streams.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn is_container(k: Kind) -> bool {
    matches!(k, Kind::Tuple | Kind::List | Kind::Dict | Kind::Instance)
}

/// What the paths of one collection did, to check that the streams exercise them.
#[derive(Default, Debug)]
struct Seen {
    examined: usize,
    garbage: usize,
    reappended: usize,
    untracked: usize,
}

/// What the naive model predicts for `collect(g)`: the three lists and the number collected.
fn predict(ex: &Executor<Generational>, g: usize, seen: &mut Seen) -> ([Vec<ObjId>; 3], usize) {
    let st = &ex.strategy;
    let heap = &ex.heap;
    let mut gens: [Vec<ObjId>; 3] = LISTS.map(|l| st.gc_list_ids(l));
    let kind = |x: ObjId| heap.kind(x);
    let slots = |x: ObjId| heap.slots(x).to_vec();
    let mut tracked: HashSet<ObjId> = HashSet::new();
    for l in LISTS.iter().chain([GcList::PERMANENT].iter()) {
        tracked.extend(st.gc_list_ids(*l));
    }

    // gc_collect_main: merge the younger generations into generation g.
    let mut young = gens[g].clone();
    for gen in gens.iter().take(g) {
        young.extend(gen.iter().copied());
    }
    let in_young: HashSet<ObjId> = young.iter().copied().collect();
    seen.examined += young.len();
    // update_refs and subtract_refs
    let mut refs: HashMap<ObjId, i64> = young
        .iter()
        .map(|&x| (x, st.refcount(x).expect("refcount") as i64))
        .collect();
    for &x in &young {
        for c in slots(x) {
            if !c.is_nil() && in_young.contains(&c) {
                *refs.get_mut(&c).expect("in young") -= 1;
            }
        }
    }
    // move_unreachable
    let mut unreachable: Vec<ObjId> = Vec::new();
    let mut scanned: HashSet<ObjId> = HashSet::new();
    let mut i = 0;
    while i < young.len() {
        let x = young[i];
        if refs[&x] > 0 {
            let mut items = slots(x);
            if matches!(kind(x), Kind::List | Kind::Tuple) {
                items.reverse();
            }
            for c in items {
                if c.is_nil() || !in_young.contains(&c) || scanned.contains(&c) {
                    continue;
                }
                if let Some(p) = unreachable.iter().position(|&u| u == c) {
                    unreachable.remove(p);
                    seen.reappended += 1;
                    young.push(c);
                    refs.insert(c, 1);
                } else if refs[&c] == 0 {
                    refs.insert(c, 1);
                }
            }
            scanned.insert(x);
            i += 1;
        } else {
            young.remove(i);
            unreachable.push(x);
        }
    }
    // untrack_tuples (and untrack_dicts for full collections)
    let untrack = |young: &mut Vec<ObjId>, tracked: &mut HashSet<ObjId>, k: Kind, n: &mut usize| {
        let mut out = Vec::new();
        for &x in young.iter() {
            let atoms_only = slots(x).iter().all(|&c| {
                c.is_nil()
                    || !(is_container(kind(c)) && (kind(c) != Kind::Tuple || tracked.contains(&c)))
            });
            if kind(x) == k && atoms_only {
                tracked.remove(&x);
                *n += 1;
            } else {
                out.push(x);
            }
        }
        *young = out;
    };
    untrack(&mut young, &mut tracked, Kind::Tuple, &mut seen.untracked);
    for gen in gens.iter_mut().take(g + 1) {
        gen.clear();
    }
    if g < 2 {
        gens[g + 1].extend(young);
    } else {
        untrack(&mut young, &mut tracked, Kind::Dict, &mut seen.untracked);
        gens[2] = young;
    }
    seen.garbage += unreachable.len();
    (gens, unreachable.len())
}

fn random_op(rng: &mut Rng, ex: &Executor<Generational>) -> Op {
    let regs = ex.heap.registers();
    let reg = |rng: &mut Rng| rng.below(REGS as u64) as u32;
    loop {
        let r = reg(rng);
        let o = regs[r as usize];
        let (k, len) = if o.is_nil() {
            (None, 0)
        } else {
            (Some(ex.heap.kind(o)), ex.heap.slots(o).len() as u32)
        };
        match rng.below(20) {
            0..=5 => {
                let kind = [
                    Kind::List,
                    Kind::Tuple,
                    Kind::Dict,
                    Kind::Instance,
                    Kind::Float,
                    Kind::List,
                    Kind::Tuple,
                ][rng.below(7) as usize];
                let len = if kind == Kind::Float {
                    0
                } else {
                    rng.below(4) as u32
                };
                return Op::Alloc { dst: r, kind, len };
            }
            6..=11 => {
                let Some(k) = k else { continue };
                if !is_container(k) {
                    continue;
                }
                let grows = matches!(k, Kind::Dict | Kind::Instance) && rng.below(4) == 0;
                if len == 0 && !grows {
                    continue;
                }
                let slot = if grows {
                    len
                } else {
                    rng.below(len as u64) as u32
                };
                return Op::Store {
                    obj: r,
                    slot,
                    src: reg(rng),
                };
            }
            12..=14 => {
                if k != Some(Kind::List) {
                    continue;
                }
                return Op::Append {
                    list: r,
                    src: reg(rng),
                };
            }
            15 => {
                if len == 0 {
                    continue;
                }
                return Op::Load {
                    dst: reg(rng),
                    obj: r,
                    slot: rng.below(len as u64) as u32,
                };
            }
            16 => {
                return Op::Copy {
                    dst: reg(rng),
                    src: r,
                }
            }
            _ => return Op::Clear { dst: r },
        }
    }
}

/// Runs `collect(g)` on `ex` and checks the number collected and the three lists against
/// [`predict`]; `at` names the place in the stream for the messages.
fn collect_and_check(ex: &mut Executor<Generational>, g: usize, seen: &mut Seen, at: &str) {
    let (want, garbage) = predict(ex, g, seen);
    let collected0 = ex.strategy.get_stats()[g].collected;
    ex.ops(&[Op::Gc(GcOp::Collect {
        generation: g as i32,
    })])
    .expect("collect");
    assert_eq!(
        ex.strategy.get_stats()[g].collected - collected0,
        garbage as u64,
        "{at}: collected by gen{g}"
    );
    for (l, want) in LISTS.iter().zip(want) {
        // The garbage is gone, and so is what died with it by reference counting.
        let want: Vec<ObjId> = want.into_iter().filter(|&x| ex.heap.is_live(x)).collect();
        assert_eq!(
            ex.strategy.gc_list_ids(*l),
            want,
            "{at}: {l:?} after collect({g})"
        );
    }
}

/// An executor of `REGS` registers running the default configuration with threshold0 = 0: no
/// automatic collection, so every collection the tests run is checked.
fn manual_exec(exec: ExecConfig) -> Executor<Generational> {
    let header = StreamHeader::new(REGS);
    let cfg = Config {
        thresholds: [0, 10, 10],
        ..Config::default()
    };
    Executor::new(Generational::new(cfg), &header, exec)
}

fn check_seed(seed: u64, seen: &mut Seen) -> usize {
    let mut ex = manual_exec(ExecConfig::default());
    let mut rng = Rng(seed);
    let mut checked = 0;
    for step in 0..8000 {
        let op = random_op(&mut rng, &ex);
        ex.ops(&[op]).expect("valid op");
        if step % 293 == 292 {
            let g = rng.below(3) as usize;
            collect_and_check(&mut ex, g, seen, &format!("seed {seed} step {step}"));
            checked += 1;
        }
    }
    checked
}

#[test]
fn generation_lists_keep_cpythons_order_through_collections() {
    let mut checked = 0;
    let mut seen = Seen::default();
    for seed in 1..=20 {
        checked += check_seed(seed, &mut seen);
    }
    assert!(checked >= 20 * 27);
    println!("{checked} collections: {seen:?}");
    assert!(seen.garbage > 500 && seen.reappended > 100 && seen.untracked > 500);
}

/// Ops for [`check_long_lists`]: most new objects are kept alive by the holder list in
/// register 0, so that the generations grow to thousands of objects; stores between the other
/// registers and overwrites of the holder's items make cycles and garbage among them.
fn long_lists_ops(rng: &mut Rng, ex: &Executor<Generational>) -> Vec<Op> {
    let regs = ex.heap.registers();
    let other = |rng: &mut Rng| 1 + rng.below(REGS as u64 - 1) as u32;
    loop {
        let r = other(rng);
        let o = regs[r as usize];
        match rng.below(15) {
            0..=5 => {
                let kind = [
                    Kind::List,
                    Kind::List,
                    Kind::List,
                    Kind::Instance,
                    Kind::Instance,
                    Kind::Dict,
                    Kind::Tuple,
                    Kind::Float,
                ][rng.below(8) as usize];
                let len = if kind == Kind::Float {
                    0
                } else {
                    rng.below(3) as u32
                };
                let mut ops = vec![Op::Alloc { dst: r, kind, len }];
                if rng.below(4) != 0 {
                    ops.push(Op::Append { list: 0, src: r });
                }
                return ops;
            }
            6 | 7 => {
                if o.is_nil() || !is_container(ex.heap.kind(o)) {
                    continue;
                }
                let k = ex.heap.kind(o);
                let len = ex.heap.slots(o).len() as u32;
                let slot = if matches!(k, Kind::Dict | Kind::Instance) && rng.below(2) == 0 {
                    len
                } else if len > 0 {
                    rng.below(len as u64) as u32
                } else {
                    continue;
                };
                return vec![Op::Store {
                    obj: r,
                    slot,
                    src: other(rng),
                }];
            }
            8 | 9 => {
                let len = ex.heap.slots(regs[0]).len() as u64;
                if len == 0 {
                    continue;
                }
                // Drops an item of the holder (and what only it held).
                return vec![Op::Store {
                    obj: 0,
                    slot: rng.below(len) as u32,
                    src: other(rng),
                }];
            }
            10 => return vec![Op::Clear { dst: r }],
            11 => {
                // A burst of lists kept by the holder, some holding themselves: a run of
                // consecutive ids.
                let mut ops = Vec::new();
                for _ in 0..1 + rng.below(24) {
                    ops.push(Op::Alloc {
                        dst: r,
                        kind: Kind::List,
                        len: 0,
                    });
                    if rng.below(4) == 0 {
                        ops.push(Op::Append { list: r, src: r });
                    }
                    ops.push(Op::Append { list: 0, src: r });
                }
                return ops;
            }
            _ => {
                if o.is_nil() || ex.heap.kind(o) != Kind::List {
                    continue;
                }
                // Half of these make the list hold itself.
                let src = if rng.below(2) == 0 { r } else { other(rng) };
                return vec![Op::Append { list: r, src }];
            }
        }
    }
}

/// Collections of generations of thousands of objects allocated in index order (ids are never
/// reused in verify mode), so that the lists are long runs of consecutive indices, which the
/// collector walks without reading every link; garbage, cycles and objects re-appended by
/// `move_unreachable` fall inside the runs. Returns (collections checked, objects examined in
/// lists at least 4096 long, those of them followed by 9 consecutive ids).
fn check_long_lists(seed: u64, seen: &mut Seen) -> (usize, usize, usize) {
    let mut ex = manual_exec(ExecConfig {
        verify: true,
        ..ExecConfig::default()
    });
    ex.ops(&[Op::Alloc {
        dst: 0,
        kind: Kind::List,
        len: 0,
    }])
    .expect("holder");
    let mut rng = Rng(seed);
    let (mut checked, mut long, mut consecutive) = (0, 0, 0);
    for step in 0..40_000 {
        let ops = long_lists_ops(&mut rng, &ex);
        ex.ops(&ops).expect("valid ops");
        if step % 4000 == 3999 {
            let g = [0, 1, 1, 2, 2][rng.below(5) as usize];
            let young: Vec<ObjId> = LISTS[..=g]
                .iter()
                .flat_map(|&l| ex.strategy.gc_list_ids(l))
                .collect();
            if young.len() >= 4096 {
                // Objects followed by at least 9 consecutive ids: where a walk verifies runs.
                long += young.len();
                consecutive += young
                    .windows(10)
                    .filter(|w| w.windows(2).all(|p| p[1].0 == p[0].0 + 1))
                    .count();
            }
            collect_and_check(&mut ex, g, seen, &format!("seed {seed} step {step}"));
            checked += 1;
        }
    }
    (checked, long, consecutive)
}

#[test]
fn long_lists_in_index_order_keep_cpythons_order() {
    let mut seen = Seen::default();
    let (mut checked, mut long, mut consecutive) = (0, 0, 0);
    for seed in 1..=4 {
        let (c, l, k) = check_long_lists(seed, &mut seen);
        checked += c;
        long += l;
        consecutive += k;
    }
    println!(
        "{checked} collections, {long} objects in long lists, {consecutive} consecutive: {seen:?}"
    );
    assert_eq!(checked, 40);
    // The walks in runs were exercised: long lists, mostly in index order, with garbage and
    // re-appended objects.
    assert!(
        long > 100_000 && consecutive * 5 > long,
        "{long} {consecutive}"
    );
    assert!(seen.garbage > 1000 && seen.reappended > 100, "{seen:?}");
}
