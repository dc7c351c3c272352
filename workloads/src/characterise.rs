//! Strategy-independent characterisation of a workload's op stream, from exact death times.
//!
//! [`Characteriser`] is an [`OpSink`] that runs the stream against its own mirror of the heap
//! and works out, for every object, the op at which it became unreachable from the registers:
//! its *death time*. From the death times follow the figures an oracle collector (one that
//! frees every object the moment it becomes unreachable) would reach: the minimum possible peak
//! of live bytes and of live objects, each object's lifetime, and which garbage is cyclic.
//!
//! ## Method
//!
//! 1. **Reference counting, exact for acyclic garbage.** The mirror keeps a reference count per
//!    object (registers and slots, with the executor's order: the new reference is taken before
//!    the old one is dropped). An object whose count reaches zero died at that op, and so do the
//!    children its freeing drops to zero.
//! 2. **Periodic exact oracle for cyclic garbage, with exact attribution.** Every decrement
//!    records the op in `last_dec` of the object. Every `max(live objects, 65,536)` ops (and at
//!    the end) the mirror marks everything reachable from the registers; the live objects left
//!    unmarked are the garbage reference counting could not free (it is in or hangs off a cycle).
//!    The death time of such an object `o` is the maximum `last_dec` over `o` and every garbage
//!    object that reaches `o`. Why: nothing can create a reference to an unreachable object, so
//!    every edge into `o` present at the batch existed when `o` died, and the objects it comes
//!    from were dead by then; the removal of the last live reference into that ancestor set
//!    killed `o` and was a decrement on one of its members; no member is decremented by the
//!    program after it died. The maximum is propagated by visiting the garbage in decreasing
//!    `last_dec` order, each visit claiming the still unclaimed garbage it reaches.
//! 3. **Timeline.** Allocation and growth bytes (`plus`) and deaths (`minus`) are logged per op of
//!    the current window; deaths found by a batch are written back into the window at their exact
//!    op. Within one op, the bytes added count before the bytes freed (an `Alloc` into a register
//!    allocates before it drops the register's old object), as in the executor. Scanning the
//!    window yields the exact minimum peak.
//!
//! **Cost:** reference counting is O(1) per op plus O(children) per free; a batch costs
//! O(live objects + their references) and runs at most once per `max(live, 65,536)` ops, so the
//! amortised cost is O(1 + average out-degree) per op and memory is O(live objects + window).
//!
//! *Cyclic garbage* here is garbage that pure reference counting never frees: the objects on
//! cycles, everything reachable only through them, and everything a leaked cycle still refers
//! to (which keeps a count above zero forever). For a stream that drops everything at its end it
//! equals what the `refcount` strategy leaks.

use gclab_core::heap::{Heap, ObjId};
use gclab_core::kind::{Kind, ALL_KINDS, NUM_KINDS};
use gclab_core::op::{Op, StreamHeader};
use gclab_core::workload::{OpSink, Stop};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The characterisation of one stream. Every figure is deterministic.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Characterisation {
    /// Workload name.
    pub workload: String,
    /// Resolved parameters, `key=value`.
    pub params: Vec<String>,
    /// Seed.
    pub seed: u64,
    /// Ops in the stream.
    pub ops: u64,
    /// Objects allocated.
    pub allocations: u64,
    /// Objects allocated, by kind name (kinds never allocated are left out).
    pub allocations_by_kind: BTreeMap<String, u64>,
    /// Modelled bytes allocated, including list and dict growth.
    pub bytes_allocated: u64,
    /// Minimum possible peak of live bytes: an oracle collector's peak.
    pub min_peak_bytes: u64,
    /// Minimum possible peak of live objects.
    pub min_peak_objects: u64,
    /// Objects that became garbage during the stream.
    pub garbage_objects: u64,
    /// Of those, objects pure reference counting cannot free (cyclic garbage).
    pub cyclic_garbage_objects: u64,
    /// Bytes of cyclic garbage.
    pub cyclic_garbage_bytes: u64,
    /// `cyclic_garbage_objects / garbage_objects` (0 when there is no garbage).
    pub cyclic_fraction: f64,
    /// Objects still reachable at the end of the stream.
    pub live_at_end: u64,
    /// Mean lifetime in ops, from allocation to death; objects alive at the end count until the
    /// end (censored).
    pub mean_lifetime_ops: f64,
    /// Batches of the exact oracle the analysis ran (its cost).
    pub oracle_batches: u64,
}

/// The analysis sink. See the module docs.
pub struct Characteriser {
    heap: Heap,
    /// Per type of the header's type table, the kind of its `New` objects.
    type_kinds: Vec<Kind>,
    counts: Vec<u32>,
    last_dec: Vec<u64>,
    birth: Vec<u64>,
    /// Current op index.
    t: u64,
    /// Window start (op index of `plus[0]`).
    win_start: u64,
    plus_bytes: Vec<u64>,
    plus_objs: Vec<u64>,
    minus_bytes: Vec<u64>,
    minus_objs: Vec<u64>,
    live_bytes: u64,
    live_objs: u64,
    peak_bytes: u64,
    peak_objs: u64,
    garbage: u64,
    cyclic: u64,
    cyclic_bytes: u64,
    lifetime_sum: u128,
    batches: u64,
    worklist: Vec<ObjId>,
    deaths: Option<Vec<(u64, u64)>>,
    error: Option<String>,
    min_window: u64,
}

const MIN_WINDOW: u64 = 1 << 16;

impl Characteriser {
    /// A characteriser for a stream with this header.
    pub fn new(header: &StreamHeader) -> Characteriser {
        Characteriser {
            heap: Heap::new(header.registers, true),
            type_kinds: header
                .types
                .iter()
                .map(|t| if t.gc { Kind::Object } else { Kind::Leaf })
                .collect(),
            counts: Vec::new(),
            last_dec: Vec::new(),
            birth: Vec::new(),
            t: 0,
            win_start: 0,
            plus_bytes: Vec::new(),
            plus_objs: Vec::new(),
            minus_bytes: Vec::new(),
            minus_objs: Vec::new(),
            live_bytes: 0,
            live_objs: 0,
            peak_bytes: 0,
            peak_objs: 0,
            garbage: 0,
            cyclic: 0,
            cyclic_bytes: 0,
            lifetime_sum: 0,
            batches: 0,
            worklist: Vec::new(),
            deaths: None,
            error: None,
            min_window: MIN_WINDOW,
        }
    }

    /// Sets the smallest window between oracle batches (default 65,536 ops). Small windows run
    /// many batches: tests use them to exercise the death-time attribution across batches.
    pub fn min_window(mut self, ops: u64) -> Characteriser {
        self.min_window = ops.max(1);
        self
    }

    /// Also records `(birth op, death op)` for every object that dies (for tests).
    pub fn log_deaths(mut self) -> Characteriser {
        self.deaths = Some(Vec::new());
        self
    }

    /// The recorded `(birth op, death op)` pairs, sorted, if [`Characteriser::log_deaths`] was on.
    pub fn deaths(&self) -> Option<Vec<(u64, u64)>> {
        self.deaths.as_ref().map(|d| {
            let mut v = d.clone();
            v.sort_unstable();
            v
        })
    }

    #[inline]
    fn slot(&mut self) -> usize {
        (self.t - self.win_start) as usize
    }

    #[inline]
    fn add_plus(&mut self, bytes: u64, objs: u64) {
        let i = self.slot();
        self.plus_bytes[i] += bytes;
        self.plus_objs[i] += objs;
    }

    fn die(&mut self, id: ObjId, at: u64) {
        let i = (at - self.win_start) as usize;
        let size = self.heap.size(id) as u64;
        self.minus_bytes[i] += size;
        self.minus_objs[i] += 1;
        self.garbage += 1;
        self.lifetime_sum += (at - self.birth[id.index()]) as u128;
        if let Some(d) = &mut self.deaths {
            d.push((self.birth[id.index()], at));
        }
    }

    #[inline]
    fn retain(&mut self, id: ObjId) {
        if !id.is_nil() {
            self.counts[id.index()] += 1;
        }
    }

    fn release(&mut self, id: ObjId) {
        if id.is_nil() {
            return;
        }
        let t = self.t;
        self.worklist.push(id);
        while let Some(x) = self.worklist.pop() {
            let i = x.index();
            self.last_dec[i] = t;
            self.counts[i] -= 1;
            if self.counts[i] == 0 {
                self.die(x, t);
                let children = self.heap.free(x);
                for &c in children.iter() {
                    if !c.is_nil() {
                        self.worklist.push(c);
                    }
                }
            }
        }
    }

    fn set_reg(&mut self, r: usize, v: ObjId) {
        self.retain(v);
        let old = self.heap.set_reg(r, v);
        self.release(old);
    }

    fn reg(&self, r: u32) -> Result<ObjId, String> {
        self.heap
            .registers()
            .get(r as usize)
            .copied()
            .ok_or_else(|| format!("register r{r} does not exist"))
    }

    fn obj(&self, r: u32) -> Result<ObjId, String> {
        let v = self.reg(r)?;
        if v.is_nil() {
            Err(format!("register r{r} is empty"))
        } else {
            Ok(v)
        }
    }

    fn exec(&mut self, op: &Op) -> Result<(), String> {
        match *op {
            Op::Alloc { dst, kind, len } => self.alloc(dst, kind, len)?,
            Op::New { dst, ty, size } => {
                let kind = *self
                    .type_kinds
                    .get(ty as usize)
                    .ok_or_else(|| format!("type #{ty} does not exist"))?;
                self.alloc(dst, kind, size)?;
            }
            Op::Store { obj, slot, src } => {
                let o = self.obj(obj)?;
                let v = self.reg(src)?;
                let before = self.heap.size(o);
                let old = self.heap.store(o, slot, v).map_err(|e| e.to_string())?;
                self.grew(o, before);
                self.retain(v);
                self.release(old);
            }
            Op::Append { list, src } => {
                let o = self.obj(list)?;
                let v = self.reg(src)?;
                let before = self.heap.size(o);
                self.heap.append(o, v).map_err(|e| e.to_string())?;
                self.grew(o, before);
                self.retain(v);
            }
            Op::Load { dst, obj, slot } => {
                self.reg(dst)?;
                let o = self.obj(obj)?;
                let v = self.heap.load(o, slot).map_err(|e| e.to_string())?;
                self.set_reg(dst as usize, v);
            }
            Op::Copy { dst, src } => {
                self.reg(dst)?;
                let v = self.reg(src)?;
                self.set_reg(dst as usize, v);
            }
            Op::Clear { dst } => {
                self.reg(dst)?;
                self.set_reg(dst as usize, ObjId::NIL);
            }
            Op::Event { .. } | Op::Probe { .. } | Op::SafePoint | Op::Gc(_) | Op::Interp(_) => {}
        }
        Ok(())
    }

    /// An allocation into register `dst`.
    fn alloc(&mut self, dst: u32, kind: Kind, len: u32) -> Result<(), String> {
        self.reg(dst)?;
        let id = self.heap.alloc(kind, len).map_err(|e| e.to_string())?;
        let i = id.index();
        if i >= self.counts.len() {
            let n = self.heap.capacity().max(i + 1);
            self.counts.resize(n, 0);
            self.last_dec.resize(n, 0);
            self.birth.resize(n, 0);
        }
        self.counts[i] = 0;
        self.birth[i] = self.t;
        self.last_dec[i] = self.t;
        let size = self.heap.size(id) as u64;
        self.add_plus(size, 1);
        self.set_reg(dst as usize, id);
        Ok(())
    }

    /// Accounts a container's growth by the difference of its sizes, as the heap's live-byte
    /// accounting does (no transient double count for a `realloc`), so that the oracle's peak
    /// never exceeds a strategy's.
    fn grew(&mut self, o: ObjId, before: u32) {
        let after = self.heap.size(o);
        if after > before {
            self.add_plus((after - before) as u64, 0);
        } else if after < before {
            let i = self.slot();
            self.minus_bytes[i] += (before - after) as u64;
        }
    }

    fn window_len(&self) -> u64 {
        self.live_objs.max(self.min_window)
    }

    fn open_window(&mut self) {
        let n = self.window_len() as usize;
        for v in [
            &mut self.plus_bytes,
            &mut self.plus_objs,
            &mut self.minus_bytes,
            &mut self.minus_objs,
        ] {
            v.clear();
            v.resize(n, 0);
        }
        self.win_start = self.t;
    }

    /// Finds the cyclic garbage, attributes its death times, frees it, and scans the window.
    fn batch(&mut self) {
        self.batches += 1;
        // The mirror holds no freed object that is reachable, so the oracle cannot fail.
        let marks = self.heap.reachable().unwrap_or_default();
        let mut white: Vec<ObjId> = self
            .heap
            .live_ids()
            .filter(|id| !marks.get(id.index()).copied().unwrap_or(false))
            .collect();
        if !white.is_empty() {
            // Decreasing last decrement; each visit claims the unclaimed white objects it reaches.
            white.sort_unstable_by_key(|id| std::cmp::Reverse(self.last_dec[id.index()]));
            let mut death: Vec<u64> = vec![u64::MAX; white.len()];
            // Position in `white` by object index; u32::MAX for objects not in it.
            let mut index = vec![u32::MAX; self.heap.capacity()];
            for (k, w) in white.iter().enumerate() {
                index[w.index()] = k as u32;
            }
            let white_pos = |index: &[u32], c: ObjId| -> Option<usize> {
                if c.is_nil() {
                    return None;
                }
                match index[c.index()] {
                    u32::MAX => None,
                    k => Some(k as usize),
                }
            };
            let mut stack = Vec::new();
            for k in 0..white.len() {
                if death[k] != u64::MAX {
                    continue;
                }
                let d = self.last_dec[white[k].index()];
                death[k] = d;
                stack.push(white[k]);
                while let Some(x) = stack.pop() {
                    for &c in self.heap.slots(x) {
                        if let Some(kc) = white_pos(&index, c) {
                            if death[kc] == u64::MAX {
                                death[kc] = d;
                                stack.push(c);
                            }
                        }
                    }
                }
            }
            for (k, &w) in white.iter().enumerate() {
                self.die(w, death[k]);
                self.cyclic += 1;
                self.cyclic_bytes += self.heap.size(w) as u64;
            }
            // Freed without releasing their live children: pure reference counting would leak
            // these objects and keep their references, so a child they refer to never reaches
            // a count of zero either; when it becomes unreachable a later batch finds it (with
            // its exact death time) and counts it as cyclic garbage.
            for &w in &white {
                self.heap.free(w);
            }
        }
        // Scan the window.
        let n = (self.t - self.win_start) as usize;
        for i in 0..n {
            self.live_bytes += self.plus_bytes[i];
            self.live_objs += self.plus_objs[i];
            self.peak_bytes = self.peak_bytes.max(self.live_bytes);
            self.peak_objs = self.peak_objs.max(self.live_objs);
            self.live_bytes -= self.minus_bytes[i];
            self.live_objs -= self.minus_objs[i];
        }
        self.open_window();
    }

    /// Ends the analysis: a last batch, then the figures. Call it once, after the stream.
    pub fn finish(&mut self, header: &StreamHeader) -> Result<Characterisation, Stop> {
        if let Some(e) = self.error.take() {
            return Err(Stop::Sink(e));
        }
        if self.plus_bytes.is_empty() {
            self.open_window();
        }
        self.batch();
        let acct = &self.heap.acct;
        let allocations = acct.allocations();
        let live_at_end = self.heap.live_ids().count() as u64;
        let mut lifetime = self.lifetime_sum;
        for id in self.heap.live_ids() {
            lifetime += (self.t - self.birth[id.index()]) as u128;
        }
        let by_kind: [u64; NUM_KINDS] = acct.allocs_by_kind;
        Ok(Characterisation {
            workload: header.workload.clone(),
            params: header
                .params
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect(),
            seed: header.seed,
            ops: self.t,
            allocations,
            allocations_by_kind: ALL_KINDS
                .iter()
                .filter(|k: &&Kind| by_kind[**k as usize] > 0)
                .map(|k| (k.name().to_string(), by_kind[*k as usize]))
                .collect(),
            bytes_allocated: acct.bytes_allocated,
            min_peak_bytes: self.peak_bytes,
            min_peak_objects: self.peak_objs,
            garbage_objects: self.garbage,
            cyclic_garbage_objects: self.cyclic,
            cyclic_garbage_bytes: self.cyclic_bytes,
            cyclic_fraction: if self.garbage == 0 {
                0.0
            } else {
                self.cyclic as f64 / self.garbage as f64
            },
            live_at_end,
            mean_lifetime_ops: if allocations == 0 {
                0.0
            } else {
                lifetime as f64 / allocations as f64
            },
            oracle_batches: self.batches,
        })
    }
}

impl OpSink for Characteriser {
    fn ops(&mut self, ops: &[Op]) -> Result<(), Stop> {
        if self.plus_bytes.is_empty() {
            self.open_window();
        }
        for op in ops {
            if (self.t - self.win_start) as usize >= self.plus_bytes.len() {
                self.batch();
            }
            if let Err(e) = self.exec(op) {
                let msg = format!("op {} ({op:?}): {e}", self.t);
                self.error = Some(msg.clone());
                return Err(Stop::Sink(msg));
            }
            self.t += 1;
        }
        Ok(())
    }
}
