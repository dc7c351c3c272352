//! The per-op checks: a [`Checker`] runs each op on the strategy under test and on a
//! never-freeing shadow, then checks safety, accounting, reference counts, exactness and the
//! CPython statistics after it (the properties listed in the crate docs), one function each.

use crate::model::{self, NoFree};
use crate::{counts, Violation};
use gclab_core::executor::Executor;
use gclab_core::heap::ObjId;
use gclab_core::op::{GcOp, InterpOp, Op};
use gclab_core::strategy::{Guarantee, Strategy, StrategyStats};
use gclab_core::workload::{ExecErrorKind, OpSink, Stop};

/// The strategy under test beside the shadow run, and what it promises.
pub(crate) struct Checker<S: Strategy> {
    /// What the strategy promises.
    pub(crate) expect: Guarantee,
    /// The run of the strategy under test.
    pub(crate) real: Executor<S>,
    /// The run that never frees: the independent graph the checks compare against.
    pub(crate) shadow: Executor<NoFree>,
    /// Whether a `gc.freeze()` is in force (completeness is not checked then).
    pub(crate) frozen: bool,
}

/// A violation of `property` after op `at`.
fn fail(property: &'static str, at: usize, detail: String) -> Violation {
    Violation {
        property,
        op_index: Some(at),
        detail,
    }
}

impl<S: Strategy> Checker<S> {
    /// Runs `op`, the `at`-th op of the stream, and checks every property after it.
    pub(crate) fn step(&mut self, op: &Op, at: usize) -> Result<(), Violation> {
        let stats_before = self.real.strategy.stats();
        let returned_before = self.real.gc_returned();
        self.execute(op, at)?;
        let rooted = self.check_safety(at)?;
        self.check_accounting(at)?;
        self.check_refcounts(at)?;
        self.check_exact(op, at, rooted)?;
        self.check_gc_stats(op, at, &stats_before, returned_before)
    }

    /// Runs `op` on the real and the shadow executor and follows `gc.freeze()`.
    fn execute(&mut self, op: &Op, at: usize) -> Result<(), Violation> {
        if let Err(stop) = self.real.ops(std::slice::from_ref(op)) {
            let property = match &stop {
                Stop::Exec(e) if matches!(e.kind, ExecErrorKind::ReachableFreed { .. }) => {
                    "no reachable object freed"
                }
                _ => "valid stream executes",
            };
            return Err(fail(property, at, format!("the executor stopped: {stop}")));
        }
        if let Err(stop) = self.shadow.ops(std::slice::from_ref(op)) {
            return Err(fail(
                "valid stream executes",
                at,
                format!("the stream itself is invalid (the never-freeing shadow run rejected it): {stop}"),
            ));
        }
        match op {
            // A track into the permanent generation (3) freezes that object, as gc.freeze()
            // would: completeness is not checked until gc.unfreeze().
            Op::Gc(GcOp::Freeze)
            | Op::Interp(InterpOp::Track {
                generation: 3.., ..
            }) => self.frozen = true,
            Op::Gc(GcOp::Unfreeze) => self.frozen = false,
            _ => {}
        }
        Ok(())
    }

    /// Safety, by the real heap's own oracle and by the independent shadow graph; returns
    /// which objects the shadow finds reachable from the registers.
    fn check_safety(&self, at: usize) -> Result<Vec<bool>, Violation> {
        let heap = &self.real.heap;
        let shadow = &self.shadow.heap;
        if let Err(obj) = heap.reachable() {
            return Err(fail(
                "no reachable object freed",
                at,
                format!(
                    "object {} is reachable from the registers but was freed",
                    obj.0
                ),
            ));
        }
        let rooted = model::root_live(shadow);
        for (i, &r) in rooted.iter().enumerate() {
            if r && !heap.is_live(ObjId(i as u32)) {
                return Err(fail(
                    "no reachable object freed",
                    at,
                    format!(
                        "object {i} (a {}) is reachable from the registers but was freed",
                        shadow.kind(ObjId(i as u32)).name()
                    ),
                ));
            }
        }
        Ok(rooted)
    }

    /// Accounting: live objects and bytes equal a recount of the unfreed objects.
    fn check_accounting(&self, at: usize) -> Result<(), Violation> {
        let heap = &self.real.heap;
        let (objs, bytes) = heap.recount();
        let a = &heap.acct;
        if (objs, bytes) != (a.live_objects, a.live_bytes)
            || a.live_objects != a.allocations() - a.frees()
        {
            return Err(fail(
                "live bytes equal the sizes of unfreed objects",
                at,
                format!(
                    "accounting says {} objects / {} bytes live ({} allocated - {} freed), a recount finds {objs} / {bytes}",
                    a.live_objects, a.live_bytes, a.allocations(), a.frees()
                ),
            ));
        }
        Ok(())
    }

    /// Reference counts, for strategies that keep them: each equals the references the
    /// program holds (registers, and slots of unfreed objects).
    fn check_refcounts(&self, at: usize) -> Result<(), Violation> {
        let heap = &self.real.heap;
        let mut held = vec![0u64; heap.capacity()];
        let live_slots = heap.live_ids().flat_map(|id| heap.slots(id).iter());
        for r in heap.registers().iter().chain(live_slots) {
            if !r.is_nil() {
                held[r.index()] += 1;
            }
        }
        for id in heap.live_ids() {
            if let Some(rc) = self.real.strategy.refcount(id) {
                if rc != held[id.index()] {
                    return Err(fail(
                        "reference counts equal the references held",
                        at,
                        format!(
                            "object {} (a {}) has reference count {rc} but {} references to it exist",
                            id.0,
                            heap.kind(id).name(),
                            held[id.index()]
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// What must be live, exactly: always for [`Guarantee::Refcount`], after an unfrozen
    /// `gc.collect(2)` for [`Guarantee::Complete`] and [`Guarantee::CPython`]. `rooted` is what
    /// the shadow finds reachable from the registers.
    fn check_exact(&self, op: &Op, at: usize, rooted: Vec<bool>) -> Result<(), Violation> {
        let heap = &self.real.heap;
        let shadow = &self.shadow.heap;
        let exact = match self.expect {
            Guarantee::Refcount => Some((
                model::refcount_live(shadow),
                "refcount keeps exactly what is reachable from the registers or a cycle",
                "reachable from the registers or from a cycle",
            )),
            Guarantee::Complete | Guarantee::CPython
                if !self.frozen && matches!(op, Op::Gc(GcOp::Collect { generation: 2 })) =>
            {
                Some((
                    rooted,
                    "a full collection frees all garbage",
                    "reachable from the registers",
                ))
            }
            _ => None,
        };
        let Some((want, property, why)) = exact else {
            return Ok(());
        };
        for (i, &w) in want.iter().enumerate() {
            let id = ObjId(i as u32);
            let live = heap.is_live(id);
            if live != w {
                let kind = shadow.kind(id).name();
                let detail = if live {
                    format!("object {i} (a {kind}) is still live but is not {why}")
                } else {
                    format!("object {i} (a {kind}) was freed but is {why}")
                };
                return Err(fail(property, at, detail));
            }
        }
        Ok(())
    }

    /// `get_count()` between collections (`docs/cpython-model.md`): with no collection during an op,
    /// `count1` and `count2` do not move and `count0` grows by at most one, only when a
    /// GC-capable object (a container) is allocated; frees may lower it. A recording's ops may
    /// move them too: `New` as an allocation, `interp count D` by at most `D`, and
    /// `interp set-count G V` sets count `G` to `V` (a strategy may ignore both). `get_threshold()`
    /// and `isenabled()` follow `set_threshold`, `enable` and `disable`.
    fn check_counts(
        &self,
        op: &Op,
        at: usize,
        before: &StrategyStats,
        after: &StrategyStats,
    ) -> Result<(), Violation> {
        let v = |detail: String| {
            Err(Violation {
                property: "get_count() follows the specification",
                op_index: Some(at),
                detail,
            })
        };
        let collections =
            |s: &StrategyStats| -> u64 { s.generations.iter().map(|g| g.collections).sum() };
        if let (Some(cb), Some(ca)) = (counts(before), counts(after)) {
            if collections(after) == collections(before) && !matches!(op, Op::Gc(_)) {
                // The most each count may be after the op, when nothing is collected.
                let mut most = [cb[0], cb[1], cb[2]];
                match *op {
                    Op::Alloc { kind, .. } if kind.is_container() => most[0] += 1,
                    Op::New { .. } => most[0] += 1,
                    Op::Interp(InterpOp::Count { delta }) => {
                        most[0] += u64::from(delta.max(0).unsigned_abs())
                    }
                    _ => {}
                }
                let set = match *op {
                    Op::Interp(InterpOp::SetCount { generation, value }) => {
                        Some((usize::from(generation), u64::from(value)))
                    }
                    _ => None,
                };
                let fine = (0..3).all(|g| match set {
                    Some((sg, value)) if sg == g => ca[g] == cb[g] || ca[g] == value,
                    _ if g == 0 => ca[0] <= most[0],
                    _ => ca[g] == cb[g],
                });
                if !fine {
                    return v(format!(
                        "{op:?} ran no collection but took get_count() from {cb:?} to {ca:?}"
                    ));
                }
            }
        }
        let counter =
            |s: &StrategyStats, k: &str| s.counters.iter().find(|(n, _)| n == k).map(|(_, x)| *x);
        let want: &[(&str, u64)] = match *op {
            Op::Gc(GcOp::SetThreshold { t0, t1, t2 }) => &[
                ("threshold0", t0.max(0) as u64),
                ("threshold1", t1.max(0) as u64),
                ("threshold2", t2.max(0) as u64),
            ],
            Op::Gc(GcOp::Enable) => &[("enabled", 1)],
            Op::Gc(GcOp::Disable) => &[("enabled", 0)],
            _ => &[],
        };
        for &(k, w) in want {
            if let Some(x) = counter(after, k) {
                if x != w {
                    return v(format!(
                        "after {op:?} the strategy reports {k} = {x}, expected {w}"
                    ));
                }
            }
        }
        Ok(())
    }

    /// The CPython statistics, for strategies that report generations: `get_stats()` only
    /// grows, `gc.collect(g)` returns collected plus uncollectable, and for
    /// [`Guarantee::CPython`] `get_count()`, and the collection is charged to generation `g`.
    fn check_gc_stats(
        &self,
        op: &Op,
        at: usize,
        before: &StrategyStats,
        returned_before: u64,
    ) -> Result<(), Violation> {
        let after = self.real.strategy.stats();
        if before.generations.is_empty() && after.generations.is_empty() {
            return Ok(());
        }
        check_stats_grow(at, before, &after)?;
        if self.expect == Guarantee::CPython {
            self.check_counts(op, at, before, &after)?;
        }
        let Op::Gc(gc) = op else {
            return Ok(());
        };
        let returned = self.real.gc_returned() - returned_before;
        if let GcOp::Collect { generation } = *gc {
            check_collect_returned(generation, at, returned, before, &after)?;
        }
        if self.expect != Guarantee::CPython {
            return Ok(());
        }
        if let GcOp::Collect { generation } = *gc {
            check_collect_charged(generation, at, before, &after)?;
        }
        check_count_after_gc(gc, at, before, &after)
    }
}

/// `get_stats()` counters only grow, and generations are never dropped.
fn check_stats_grow(
    at: usize,
    before: &StrategyStats,
    after: &StrategyStats,
) -> Result<(), Violation> {
    if after.generations.len() < before.generations.len() {
        return Err(fail(
            "gc stats only grow",
            at,
            format!(
                "get_stats() went from {} generations to {}",
                before.generations.len(),
                after.generations.len()
            ),
        ));
    }
    for (g, (b, a)) in before
        .generations
        .iter()
        .zip(&after.generations)
        .enumerate()
    {
        if a.collections < b.collections
            || a.collected < b.collected
            || a.uncollectable < b.uncollectable
        {
            return Err(fail(
                "gc stats only grow",
                at,
                format!("get_stats()[{g}] went from {b:?} to {a:?}"),
            ));
        }
    }
    Ok(())
}

/// `gc.collect(generation)` returned `returned`: the growth of collected + uncollectable.
fn check_collect_returned(
    generation: i32,
    at: usize,
    returned: u64,
    before: &StrategyStats,
    after: &StrategyStats,
) -> Result<(), Violation> {
    let sum = |s: &StrategyStats| -> u64 {
        s.generations
            .iter()
            .map(|g| g.collected + g.uncollectable)
            .sum()
    };
    let delta = sum(after) - sum(before);
    if returned != delta {
        return Err(fail(
            "collect() returns collected + uncollectable",
            at,
            format!("gc.collect({generation}) returned {returned} but get_stats() grew by {delta} collected + uncollectable"),
        ));
    }
    Ok(())
}

/// `gc.collect(generation)` counts one collection of that generation and changes no other
/// generation's statistics.
fn check_collect_charged(
    generation: i32,
    at: usize,
    before: &StrategyStats,
    after: &StrategyStats,
) -> Result<(), Violation> {
    let g0 = |s: &StrategyStats, g: usize| s.generations.get(g).cloned().unwrap_or_default();
    let g = generation as usize;
    for i in 0..after.generations.len().max(3) {
        let (b, a) = (g0(before, i), g0(after, i));
        let want = b.collections + u64::from(i == g);
        if a.collections != want {
            return Err(fail(
                "collect(g) is charged to generation g",
                at,
                format!("after gc.collect({generation}) get_stats()[{i}].collections is {} (was {}), expected {want}", a.collections, b.collections),
            ));
        }
        if i != g && (a.collected, a.uncollectable) != (b.collected, b.uncollectable) {
            return Err(fail(
                "collect(g) is charged to generation g",
                at,
                format!("gc.collect({generation}) changed get_stats()[{i}] from {b:?} to {a:?}"),
            ));
        }
    }
    Ok(())
}

/// `get_count()` after a `gc` op (`docs/cpython-model.md`): a collection of `g` zeroes the
/// counts up to `g` and bumps the next; `freeze` zeroes them; the other ops leave them.
fn check_count_after_gc(
    gc: &GcOp,
    at: usize,
    before: &StrategyStats,
    after: &StrategyStats,
) -> Result<(), Violation> {
    let (Some(cb), Some(ca)) = (counts(before), counts(after)) else {
        return Ok(());
    };
    let want: Option<[u64; 3]> = match *gc {
        GcOp::Collect { generation: 0 } => Some([0, cb[1] + 1, cb[2]]),
        GcOp::Collect { generation: 1 } => Some([0, 0, cb[2] + 1]),
        GcOp::Collect { generation: 2 } => Some([0, 0, 0]),
        GcOp::Freeze => Some([0, 0, 0]),
        GcOp::Unfreeze | GcOp::Enable | GcOp::Disable | GcOp::SetThreshold { .. } => Some(cb),
        GcOp::Collect { .. } => None,
    };
    if let Some(w) = want {
        if ca != w {
            return Err(fail(
                "get_count() follows the specification",
                at,
                format!("{gc:?} took get_count() from {cb:?} to {ca:?}, expected {w:?}"),
            ));
        }
    }
    Ok(())
}
