//! The executor: runs an op stream against the simulated heap, calling the strategy's hooks.
//!
//! It is generic over the strategy, so the hooks are statically dispatched and inline into the
//! loop. It implements [`OpSink`], so a workload or a trace reader feeds it directly, chunk by
//! chunk, in constant memory.

use crate::heap::{Accounting, CowReport, Heap, ObjId, Work};
use crate::kind::{Kind, MAX_TUPLE_LEN};
use crate::op::{GcOp, InterpOp, Op, Reg, StreamHeader};
use crate::recorder::CollectionRecord;
use crate::strategy::{GcReply, Strategy, StrategyStats};
use crate::workload::{ExecError, ExecErrorKind, OpSink, Stop};
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// How the executor runs.
#[derive(Clone, Debug, Default)]
pub struct ExecConfig {
    /// Sanity mode: after every collection and at the end, re-trace the heap from the registers
    /// and fail if any reachable object was freed. Freed indices are never reused in this mode.
    pub verify: bool,
    /// Simulated memory budget in bytes: the run stops with [`Stop::OutOfMemory`] when live
    /// bytes exceed it.
    pub max_heap: Option<u64>,
}

/// One `Probe` op's observation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeRecord {
    /// Position of the probe in the stream.
    pub op_index: u64,
    /// The probe's label.
    pub label: String,
    /// The strategy's reference count of the observed object (None if it keeps none or the
    /// register was empty).
    pub refcount: Option<u64>,
}

/// The cost of the sanity checks `--verify` ran.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyReport {
    /// Oracle passes run.
    pub checks: u64,
    /// Wall time spent in them, ns.
    pub ns: u64,
}

/// One sample of the heap timeline, taken every K ops (see [`Executor::sample_timeline`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineSample {
    /// Ops executed when the sample was taken.
    pub at_op: u64,
    /// Live bytes (allocated, not yet freed).
    pub live_bytes: u64,
    /// Live objects.
    pub live_objects: u64,
    /// Of the live bytes, those unreachable from the registers (garbage retained), per the
    /// oracle; `None` when the sampler was asked not to run the oracle.
    pub garbage_bytes: Option<u64>,
    /// Of the live objects, those unreachable from the registers.
    pub garbage_objects: Option<u64>,
}

/// Everything an executor reports about a finished run, read at once by [`Executor::report`]
/// so that a harness builds its records from this and never from the executor's fields.
#[derive(Clone, Debug, PartialEq)]
pub struct ExecReport {
    /// The heap's accounting: allocations and frees by kind, live and peak objects and bytes.
    pub accounting: Accounting,
    /// The deterministic work counters (ops executed among them).
    pub work: Work,
    /// Every collection the strategy recorded, in order.
    pub collections: Vec<CollectionRecord>,
    /// Live objects unreachable from the registers at the end (leaked), per the oracle.
    pub leaked_objects: u64,
    /// Modelled bytes of those objects.
    pub leaked_bytes: u64,
    /// The sum of every `gc.collect()` return value the program saw.
    pub gc_collect_returned: u64,
    /// The strategy's own statistics.
    pub strategy_stats: StrategyStats,
    /// Copy-on-write page faults after a `fork` event.
    pub cow: CowReport,
    /// The probes observed, in stream order.
    pub probes: Vec<ProbeRecord>,
    /// What the sanity checks cost, in verify mode ([`ExecConfig::verify`]); `None` otherwise.
    pub verify: Option<VerifyReport>,
    /// The heap timeline samples (empty unless [`Executor::sample_timeline`] turned it on).
    pub timeline: Vec<TimelineSample>,
    /// Wall time spent taking the timeline samples, ns (see [`Executor::timeline_ns`]).
    pub timeline_ns: u64,
}

/// Runs ops against a heap with strategy `S`.
pub struct Executor<S: Strategy> {
    /// The heap.
    pub heap: Heap,
    /// The strategy.
    pub strategy: S,
    names: Vec<String>,
    /// Per type of the header's type table, the kind its `New` objects get.
    type_kinds: Vec<Kind>,
    fork_id: Option<u32>,
    cfg: ExecConfig,
    probes: Vec<ProbeRecord>,
    seen_collections: usize,
    verify: VerifyReport,
    gc_returned: u64,
    timeline_every: u64,
    /// No per-op check is on (no memory budget, no `--verify`, no timeline sampling): every op
    /// takes [`Executor::fast_op`]. Kept up to date by [`Executor::new`] and
    /// [`Executor::sample_timeline`], so that the per-op test is one byte.
    plain: bool,
    timeline_garbage: bool,
    timeline: Vec<TimelineSample>,
    timeline_ns: u64,
}

impl<S: Strategy> Executor<S> {
    /// An executor for a stream with this header.
    pub fn new(strategy: S, header: &StreamHeader, cfg: ExecConfig) -> Executor<S> {
        let mut heap = Heap::new(header.registers, !cfg.verify);
        // Only a `fork` event needs per-object pages; a stream that cannot fork saves them.
        heap.set_page_tracking(header.name_id("fork").is_some());
        let cfg_plain = cfg.max_heap.is_none() && !cfg.verify;
        Executor {
            heap,
            strategy,
            names: header.names.clone(),
            type_kinds: header
                .types
                .iter()
                .map(|t| if t.gc { Kind::Object } else { Kind::Leaf })
                .collect(),
            fork_id: header.name_id("fork"),
            cfg,
            probes: Vec::new(),
            seen_collections: 0,
            verify: VerifyReport::default(),
            gc_returned: 0,
            timeline_every: 0,
            plain: cfg_plain,
            timeline_garbage: false,
            timeline: Vec::new(),
            timeline_ns: 0,
        }
    }

    /// Wall time spent taking timeline samples (mostly the oracle), ns: a harness cost that
    /// callers subtract from the run's wall time.
    pub fn timeline_ns(&self) -> u64 {
        self.timeline_ns
    }

    /// Samples the heap timeline every `every` ops (0 turns sampling off, the default). With
    /// `garbage`, each sample also runs the reachability oracle to measure the garbage retained
    /// (unreachable bytes not yet freed): this costs a heap trace per sample, so choose `every`
    /// accordingly.
    pub fn sample_timeline(&mut self, every: u64, garbage: bool) {
        self.timeline_every = every;
        self.plain = self.cfg.max_heap.is_none() && !self.cfg.verify && every == 0;
        self.timeline_garbage = garbage;
    }

    /// The timeline samples taken so far.
    pub fn timeline(&self) -> &[TimelineSample] {
        &self.timeline
    }

    /// Takes one timeline sample now (the sampler also calls this every K ops).
    pub fn take_sample(&mut self) {
        let t = Instant::now();
        let (garbage_objects, garbage_bytes) = if self.timeline_garbage {
            match self.heap.unreachable_live() {
                Ok((o, b)) => (Some(o), Some(b)),
                Err(_) => (None, None),
            }
        } else {
            (None, None)
        };
        self.timeline.push(TimelineSample {
            at_op: self.heap.work.ops,
            live_bytes: self.heap.acct.live_bytes,
            live_objects: self.heap.acct.live_objects,
            garbage_bytes,
            garbage_objects,
        });
        self.timeline_ns += t.elapsed().as_nanos() as u64;
    }

    /// The probes observed so far.
    pub fn probes(&self) -> &[ProbeRecord] {
        &self.probes
    }

    /// The sum of every `gc.collect()` return value the program saw.
    pub fn gc_returned(&self) -> u64 {
        self.gc_returned
    }

    /// What the sanity checks cost.
    pub fn verify_report(&self) -> &VerifyReport {
        &self.verify
    }

    /// The run's report: the heap's accounting, work, collections and copy-on-write faults, the
    /// strategy's statistics, the probes, the verify cost and the timeline, copied out.
    ///
    /// Runs the reachability oracle once to count the leaked objects (a heap trace: take the
    /// run's wall time before calling this). The oracle cannot fail at this point of a run
    /// that ended normally: a reachable freed object would have stopped it under `--verify`,
    /// and without `--verify` ids are reused, so the count is whatever the oracle finds, and
    /// 0 if it meets a freed object.
    pub fn report(&self) -> ExecReport {
        let (leaked_objects, leaked_bytes) = self.heap.unreachable_live().unwrap_or((0, 0));
        ExecReport {
            accounting: self.heap.acct.clone(),
            work: self.heap.work.clone(),
            collections: self.heap.collections().to_vec(),
            leaked_objects,
            leaked_bytes,
            gc_collect_returned: self.gc_returned,
            strategy_stats: self.strategy.stats(),
            cow: self.heap.cow_report(),
            probes: self.probes.clone(),
            verify: self.cfg.verify.then(|| self.verify.clone()),
            timeline: self.timeline.clone(),
            timeline_ns: self.timeline_ns,
        }
    }

    /// Ends the run: calls the strategy's `finish` hook and, in verify mode, checks the heap a
    /// last time.
    pub fn finish(&mut self) -> Result<(), Stop> {
        self.strategy.finish(&mut self.heap);
        if self.cfg.verify {
            self.check_oracle("end of run")?;
        }
        Ok(())
    }

    #[inline]
    fn err(&self, op: &Op, kind: ExecErrorKind) -> Stop {
        Stop::Exec(ExecError {
            op_index: self.heap.work.ops,
            op: format!("{op:?}"),
            kind,
        })
    }

    /// The kind of a `New` object of type `ty`.
    #[inline]
    fn type_kind(&self, ty: u32) -> Result<Kind, ExecErrorKind> {
        self.type_kinds
            .get(ty as usize)
            .copied()
            .ok_or(ExecErrorKind::NoSuchType {
                ty,
                types: self.type_kinds.len() as u32,
            })
    }

    #[inline]
    fn reg(&self, r: Reg) -> Result<usize, ExecErrorKind> {
        let n = self.heap.registers().len();
        if (r as usize) < n {
            Ok(r as usize)
        } else {
            Err(ExecErrorKind::NoSuchRegister {
                reg: r,
                registers: n as u32,
            })
        }
    }

    /// The (possibly nil) value of a register, checked to be live if not nil.
    #[inline]
    fn value(&self, r: Reg) -> Result<ObjId, ExecErrorKind> {
        let v = self.heap.registers()[self.reg(r)?];
        if !v.is_nil() && !self.heap.is_live(v) {
            return Err(ExecErrorKind::ReachableFreed { obj: v.0 });
        }
        Ok(v)
    }

    /// The object in a register, which must not be empty.
    #[inline]
    fn object(&self, r: Reg) -> Result<ObjId, ExecErrorKind> {
        let v = self.value(r)?;
        if v.is_nil() {
            Err(ExecErrorKind::EmptyRegister { reg: r })
        } else {
            Ok(v)
        }
    }

    /// The hooks after `v` was written into a slot of `o` that held `old` (nil for an append):
    /// `INCREF` and `stored` for the new value, then `DECREF` of the old.
    #[inline(always)]
    fn stored(&mut self, o: ObjId, v: ObjId, old: ObjId) {
        if !v.is_nil() {
            self.strategy.retain(&mut self.heap, v);
            self.strategy.stored(&mut self.heap, o, v);
        }
        if !old.is_nil() {
            self.strategy.release(&mut self.heap, old);
        }
    }

    #[inline(always)]
    fn set_reg(&mut self, r: usize, v: ObjId) {
        if !v.is_nil() {
            self.strategy.retain(&mut self.heap, v);
        }
        let old = self.heap.set_reg(r, v);
        if !old.is_nil() {
            self.strategy.release(&mut self.heap, old);
        }
    }

    fn check_oracle(&mut self, _when: &str) -> Result<(), Stop> {
        let t = Instant::now();
        let r = self.heap.reachable();
        self.verify.checks += 1;
        self.verify.ns += t.elapsed().as_nanos() as u64;
        match r {
            Ok(_) => Ok(()),
            Err(obj) => Err(Stop::Exec(ExecError {
                op_index: self.heap.work.ops,
                op: "oracle check".into(),
                kind: ExecErrorKind::ReachableFreed { obj: obj.0 },
            })),
        }
    }

    #[inline(always)]
    fn exec(&mut self, op: &Op) -> Result<(), ExecErrorKind> {
        match *op {
            Op::Alloc { dst, kind, len } => {
                let r = self.reg(dst)?;
                if kind == Kind::Tuple && len > MAX_TUPLE_LEN {
                    return Err(ExecErrorKind::TooLarge {
                        kind: kind.name(),
                        len,
                        limit: MAX_TUPLE_LEN,
                    });
                }
                let id = self.heap.alloc(kind, len)?;
                self.strategy.alloc(&mut self.heap, id);
                self.set_reg(r, id);
            }
            Op::Store { obj, slot, src } => {
                let o = self.object(obj)?;
                let v = self.value(src)?;
                let old = self.heap.store(o, slot, v)?;
                self.stored(o, v, old);
            }
            Op::Append { list, src } => {
                let o = self.object(list)?;
                let v = self.value(src)?;
                self.heap.append(o, v)?;
                self.stored(o, v, ObjId::NIL);
            }
            Op::Load { dst, obj, slot } => {
                let r = self.reg(dst)?;
                let o = self.object(obj)?;
                let v = self.heap.load(o, slot)?;
                if !v.is_nil() && !self.heap.is_live(v) {
                    return Err(ExecErrorKind::ReachableFreed { obj: v.0 });
                }
                self.set_reg(r, v);
            }
            Op::Copy { dst, src } => {
                let r = self.reg(dst)?;
                let v = self.value(src)?;
                self.set_reg(r, v);
            }
            Op::Clear { dst } => {
                let r = self.reg(dst)?;
                self.set_reg(r, ObjId::NIL);
            }
            Op::Event { id } => {
                let Some(name) = self.names.get(id as usize) else {
                    return Err(ExecErrorKind::NoSuchName {
                        id,
                        names: self.names.len() as u32,
                    });
                };
                if Some(id) == self.fork_id {
                    self.heap.fork();
                }
                self.strategy.event(&mut self.heap, name);
            }
            Op::Probe { reg, label } => {
                let Some(name) = self.names.get(label as usize) else {
                    return Err(ExecErrorKind::NoSuchName {
                        id: label,
                        names: self.names.len() as u32,
                    });
                };
                let v = self.value(reg)?;
                let refcount = if v.is_nil() {
                    None
                } else {
                    self.strategy.refcount(v)
                };
                self.probes.push(ProbeRecord {
                    op_index: self.heap.work.ops,
                    label: name.clone(),
                    refcount,
                });
            }
            Op::New { dst, ty, size } => {
                let r = self.reg(dst)?;
                let kind = self.type_kind(ty)?;
                let id = self.heap.alloc_recorded(kind, size);
                self.strategy.alloc(&mut self.heap, id);
                self.set_reg(r, id);
            }
            Op::Interp(i) => {
                let obj = match i {
                    InterpOp::Track { reg, .. } | InterpOp::Untrack { reg } => {
                        let v = self.value(reg)?;
                        if v.is_nil() {
                            return Ok(());
                        }
                        v
                    }
                    _ => ObjId::NIL,
                };
                self.strategy.interp(&mut self.heap, &i, obj);
            }
            Op::SafePoint => self.strategy.safe_point(&mut self.heap),
            Op::Gc(g) => {
                if let GcOp::Collect { generation } = g {
                    if !(0..=2).contains(&generation) {
                        return Err(ExecErrorKind::InvalidGeneration { generation });
                    }
                }
                if let GcReply::Collected(n) = self.strategy.gc(&mut self.heap, &g) {
                    self.gc_returned += n;
                }
            }
        }
        Ok(())
    }
}

impl<S: Strategy> Executor<S> {
    /// Executes `op` through the heap's fast paths (see `Heap::fast_load` and friends); `false`
    /// when the op needs the general path ([`Executor::exec`]), in which case nothing was done.
    /// The hooks are called exactly as `exec` calls them.
    #[inline(always)]
    fn fast_exec(&mut self, op: &Op) -> bool {
        match *op {
            Op::Load { dst, obj, slot } => {
                let r = dst as usize;
                if r >= self.heap.registers().len() {
                    return false;
                }
                let Some(v) = self.heap.fast_load(obj as usize, slot) else {
                    return false;
                };
                self.set_reg(r, v);
            }
            Op::Clear { dst } => {
                let r = dst as usize;
                if r >= self.heap.registers().len() {
                    return false;
                }
                let old = self.heap.set_reg(r, ObjId::NIL);
                if !old.is_nil() {
                    self.strategy.release(&mut self.heap, old);
                }
            }
            Op::SafePoint => self.strategy.safe_point(&mut self.heap),
            Op::Append { list, src } => {
                let Some((o, v)) = self.heap.fast_append(list as usize, src as usize) else {
                    return false;
                };
                self.stored(o, v, ObjId::NIL);
            }
            Op::Store { obj, slot, src } => {
                let Some((o, v, old)) = self.heap.fast_store(obj as usize, slot, src as usize)
                else {
                    return false;
                };
                self.stored(o, v, old);
            }
            Op::Copy { dst, src } => {
                let r = dst as usize;
                if r >= self.heap.registers().len() {
                    return false;
                }
                let Some(v) = self.heap.fast_value(src as usize) else {
                    return false;
                };
                self.set_reg(r, v);
            }
            Op::Alloc { dst, kind, len } => {
                let r = dst as usize;
                if r >= self.heap.registers().len() || (kind == Kind::Tuple && len > MAX_TUPLE_LEN)
                {
                    return false;
                }
                let Ok(id) = self.heap.alloc(kind, len) else {
                    return false;
                };
                self.strategy.alloc(&mut self.heap, id);
                self.set_reg(r, id);
            }
            Op::New { dst, ty, size } => {
                let r = dst as usize;
                let Some(&kind) = self.type_kinds.get(ty as usize) else {
                    return false;
                };
                if r >= self.heap.registers().len() {
                    return false;
                }
                let id = self.heap.alloc_recorded(kind, size);
                self.strategy.alloc(&mut self.heap, id);
                self.set_reg(r, id);
            }
            Op::Interp(i @ InterpOp::Count { .. }) => {
                self.strategy.interp(&mut self.heap, &i, ObjId::NIL);
            }
            Op::Interp(i @ InterpOp::Untrack { reg }) => {
                let Some(v) = self.heap.fast_value(reg as usize) else {
                    return false;
                };
                if !v.is_nil() {
                    self.strategy.interp(&mut self.heap, &i, v);
                }
            }
            _ => return false,
        }
        true
    }

    /// [`Executor::exec`], out of line: the rare ops and every error. The op comes by value
    /// (in registers), so that the fast path never has to store it.
    #[inline(never)]
    fn exec_slow(&mut self, op: Op) -> Result<(), Stop> {
        self.exec(&op).map_err(|kind| self.err(&op, kind))
    }
}

impl<S: Strategy> Executor<S> {
    /// True when no per-op check is on (no memory budget, no `--verify`, no timeline
    /// sampling): the common case, which runs every op through [`Executor::fast_op`].
    #[inline(always)]
    fn plain(&self) -> bool {
        self.plain
    }

    /// One op in the plain mode: the fast path, else the general one out of line.
    #[inline(always)]
    fn fast_op(&mut self, op: &Op) -> Result<(), Stop> {
        if !self.fast_exec(op) {
            self.exec_slow(*op)?;
        }
        self.heap.work.ops += 1;
        Ok(())
    }

    /// The ops with every per-op check (budget, timeline, oracle).
    #[inline(never)]
    fn checked_ops(&mut self, ops: &[Op]) -> Result<(), Stop> {
        for op in ops {
            // A budget is checked before an allocation too (as CPython raises MemoryError before
            // the object exists), so that a hostile length never reaches the real allocator.
            let new_size = match op {
                Op::Alloc { kind, len, .. } => Some(kind.initial_size(*len) as u64),
                Op::New { size, .. } => Some(*size as u64),
                _ => None,
            };
            if let (Some(budget), Some(size)) = (self.cfg.max_heap, new_size) {
                if self.heap.acct.live_bytes + size > budget {
                    // Give a strategy that can collect the chance to make room first (the
                    // allocation failure that triggers a tracing collector).
                    let short = self.heap.acct.live_bytes + size - budget;
                    self.strategy.reclaim(&mut self.heap, short);
                }
                let after = self.heap.acct.live_bytes + size;
                if after > budget {
                    return Err(Stop::OutOfMemory {
                        live_bytes: after,
                        budget,
                        op_index: self.heap.work.ops,
                    });
                }
            }
            if let Err(kind) = self.exec(op) {
                return Err(self.err(op, kind));
            }
            self.heap.work.ops += 1;
            if self.timeline_every != 0 && self.heap.work.ops % self.timeline_every == 0 {
                self.take_sample();
            }
            if let Some(budget) = self.cfg.max_heap {
                if self.heap.acct.live_bytes > budget {
                    return Err(Stop::OutOfMemory {
                        live_bytes: self.heap.acct.live_bytes,
                        budget,
                        op_index: self.heap.work.ops - 1,
                    });
                }
            }
            if self.cfg.verify && self.heap.collections().len() != self.seen_collections {
                self.seen_collections = self.heap.collections().len();
                self.check_oracle("after collection")?;
            }
        }
        Ok(())
    }
}

impl<S: Strategy> OpSink for Executor<S> {
    fn ops(&mut self, ops: &[Op]) -> Result<(), Stop> {
        if self.plain() {
            // The common case, with the per-op budget, oracle and timeline checks hoisted out.
            for op in ops {
                self.fast_op(op)?;
            }
            return Ok(());
        }
        self.checked_ops(ops)
    }

    #[inline(always)]
    fn op(&mut self, op: &Op) -> Result<(), Stop> {
        if self.plain() {
            return self.fast_op(op);
        }
        self.checked_ops(std::slice::from_ref(op))
    }

    /// In the plain mode (no memory budget, `--verify` or timeline sampling).
    #[inline]
    fn has_fast_path(&self) -> bool {
        self.plain()
    }

    /// The common case of every op in the plain mode (`fast_exec`, which changes nothing when
    /// it declines); `false` for anything else, which then goes through `op`. The plain test is
    /// repeated here although the trace reader asked `has_fast_path` first, so that a caller
    /// that did not ask cannot skip the budget, `--verify` or timeline checks.
    #[inline(always)]
    fn op_fast(&mut self, op: &Op) -> bool {
        if self.plain() && self.fast_exec(op) {
            self.heap.work.ops += 1;
            return true;
        }
        false
    }
}
