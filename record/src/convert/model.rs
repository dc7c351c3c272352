//! The converter's view of the model's heap: registers by lifetime, objects, their slots and the
//! references to them, tracking, and the snapshot sync that every collection and the recording's
//! start use.

use super::collection::Snap;
use super::{
    ConvertError, Converter, Emit, Obj, LIFETIME_CLASSES, LONGEST, MAX_PLAUSIBLE_SIZE, NIL_REG,
    NONE, POOLS,
};
use gclab_core::op::{InterpOp, Op};
use std::cmp::Reverse;

impl Converter {
    /// A register for a new object, by how long pass 1 saw it live ([`LIFETIME_CLASSES`]):
    /// registers below 128 (a one-byte operand) for objects that die young, below 16384 (two
    /// bytes) for objects that die within a while, the rest above, in one pool per class (a pool
    /// that is full lends from the next). Most objects are temporaries, so most register
    /// operands of the stream take one byte.
    ///
    /// Each pool hands out its lowest free register. The registers in use then depend only on
    /// which objects of a class are live, not on the order earlier ones died in, so a stretch
    /// of the program that repeats (a loop's iterations) repeats its register numbers, and
    /// with them its bytes, which zstd finds: a recording compresses to 30-50 % less than with
    /// the most recently freed register first (measured on the corpus, `docs/recording.md`).
    pub(super) fn alloc_reg(&mut self, class: u8) -> u32 {
        let class = (class as usize).min(POOLS.len() - 1);
        for (pool, &(_, end)) in POOLS.iter().enumerate().skip(class) {
            if let Some(Reverse(r)) = self.free[pool].pop() {
                self.max_reg = self.max_reg.max(r);
                return r;
            }
            if self.next[pool] < end {
                self.next[pool] += 1;
                let r = self.next[pool] - 1;
                self.max_reg = self.max_reg.max(r);
                return r;
            }
        }
        // The last pool ends at u32::MAX: more registers than a stream may have, refused by
        // `convert` (TooManyObjects) from pass 1's count before pass 2 runs.
        u32::MAX
    }

    /// Gives a register back to its pool.
    pub(super) fn free_reg(&mut self, r: u32) {
        let pool = POOLS
            .iter()
            .position(|&(_, end)| r < end)
            .unwrap_or(POOLS.len() - 1);
        self.free[pool].push(Reverse(r));
    }

    /// A new model object at `addr` (the caller has handled an old one there).
    pub(super) fn new_obj(
        &mut self,
        out: &mut dyn Emit,
        addr: u64,
        tid: u16,
        gc: bool,
        size: u64,
    ) -> Result<u32, ConvertError> {
        let id = self.objs.len() as u32;
        let known = self.death_size.get(id as usize).copied().unwrap_or(0);
        let class = if self.sizes_known {
            self.young.get(id as usize).copied().unwrap_or(LONGEST)
        } else {
            LONGEST
        };
        let reg = self.alloc_reg(class);
        if !self.sizes_known {
            self.born.push(self.diag.records);
        }
        let size = if self.sizes_known && known > 0 {
            known
        } else {
            size.min(u32::MAX as u64) as u32
        };
        // A size no Python object has is a field the recorder misread: the type's basic size.
        let size = if size > MAX_PLAUSIBLE_SIZE {
            self.diag.implausible_sizes += 1;
            self.types
                .get(tid as usize)
                .and_then(|t| t.as_ref())
                .map_or(0, |t| t.2 as u32)
        } else {
            size
        };
        let ty = self.ty(tid, gc);
        if let Some(n) = self.type_uses.get_mut(ty as usize) {
            *n += 1;
        } else {
            self.type_uses.resize(ty as usize + 1, 0);
            self.type_uses[ty as usize] = 1;
        }
        let ty = self.type_map.get(ty as usize).copied().unwrap_or(ty);
        out.emit(Op::New { dst: reg, ty, size })?;
        self.objs.push(Obj {
            reg,
            gc,
            tracked: gc,
            generation: 0,
            alive: true,
            ..Obj::default()
        });
        if gc {
            self.gens[0].insert(id);
        }
        self.live.insert(addr, id);
        Ok(id)
    }

    /// The young count moved to `gc0` (low 16 bits): the count op, after a safe point where the
    /// interpreter could have serviced a scheduled collection.
    pub(super) fn count(&mut self, out: &mut dyn Emit, gc0: u16) -> Result<(), ConvertError> {
        self.count_then(out, gc0, true)
    }

    /// [`Converter::count`], with the safe point before an increment only if `safe`.
    pub(super) fn count_then(
        &mut self,
        out: &mut dyn Emit,
        gc0: u16,
        safe: bool,
    ) -> Result<(), ConvertError> {
        let d = gc0.wrapping_sub(self.prev_gc0) as i16 as i32;
        self.prev_gc0 = gc0;
        if d == 0 {
            return Ok(());
        }
        if safe && d > 0 && !self.in_gap() {
            out.emit(Op::SafePoint)?;
        }
        out.emit(Op::Interp(InterpOp::Count { delta: d }))?;
        self.count0 = (self.count0 + d as i64).max(0);
        if d > 0 && self.enabled && self.threshold0 != 0 && self.count0 > self.threshold0 {
            // _Py_ScheduleGC: the eval breaker now runs a collection at its next check, even
            // if the count falls back meanwhile.
            self.scheduled = true;
        }
        Ok(())
    }

    /// Between a threshold crossing and the next collection: the interpreter had not reached
    /// its eval breaker yet, so no safe point may be offered to the model.
    pub(super) fn in_gap(&self) -> bool {
        self.scheduled
    }

    /// Sets object `o`'s slots to `new`, emitting a store per slot that changes.
    pub(super) fn set_slots(
        &mut self,
        out: &mut dyn Emit,
        o: u32,
        new: &[u32],
    ) -> Result<(), ConvertError> {
        let n = self.objs[o as usize].slots.len().max(new.len());
        for i in 0..n {
            let old = self.objs[o as usize].slots.get(i).copied().unwrap_or(NONE);
            let v = new.get(i).copied().unwrap_or(NONE);
            if old == v {
                continue;
            }
            let src = if v == NONE {
                NIL_REG
            } else {
                self.objs[v as usize].reg
            };
            out.emit(Op::Store {
                obj: self.objs[o as usize].reg,
                slot: i as u32,
                src,
            })?;
            self.diag.edge_stores += 1;
            let slots = &mut self.objs[o as usize].slots;
            if i == slots.len() {
                slots.push(v);
            } else {
                slots[i] = v;
            }
            if old != NONE {
                self.objs[old as usize].indegree -= 1;
            }
            if v != NONE {
                let t = &mut self.objs[v as usize];
                t.in_edges.push((o, i as u32));
                t.indegree += 1;
                if t.in_edges.len() > 2 * t.indegree as usize + 8 {
                    self.compact_in_edges(v);
                }
            }
        }
        Ok(())
    }

    /// Drops `in_edges` entries of `t` that are no longer current.
    pub(super) fn compact_in_edges(&mut self, t: u32) {
        let mut edges = std::mem::take(&mut self.objs[t as usize].in_edges);
        edges.retain(|&(r, s)| {
            let ro = &self.objs[r as usize];
            ro.alive && ro.slots.get(s as usize) == Some(&t)
        });
        edges.sort_unstable();
        edges.dedup();
        self.objs[t as usize].in_edges = edges;
    }

    /// Overwrites with `None` every current reference to `t` from a live object for which
    /// `keep(referrer)` is false.
    pub(super) fn cut_in_edges(
        &mut self,
        out: &mut dyn Emit,
        t: u32,
        keep: impl Fn(u32) -> bool,
    ) -> Result<(), ConvertError> {
        self.compact_in_edges(t);
        let edges = self.objs[t as usize].in_edges.clone();
        for (r, s) in edges {
            if keep(r) || self.objs[r as usize].reg == NIL_REG {
                continue;
            }
            out.emit(Op::Store {
                obj: self.objs[r as usize].reg,
                slot: s,
                src: NIL_REG,
            })?;
            self.diag.edge_stores += 1;
            self.objs[r as usize].slots[s as usize] = NONE;
            self.objs[t as usize].indegree -= 1;
        }
        self.compact_in_edges(t);
        Ok(())
    }

    /// Clears `o`'s register, returning it to the free list.
    pub(super) fn drop_root(&mut self, out: &mut dyn Emit, o: u32) -> Result<(), ConvertError> {
        let reg = std::mem::replace(&mut self.objs[o as usize].reg, NIL_REG);
        if reg != NIL_REG {
            out.emit(Op::Clear { dst: reg })?;
            self.free_reg(reg);
        }
        Ok(())
    }

    /// The converter forgets `o` (the model has freed it, or is about to).
    pub(super) fn forget(&mut self, o: u32, addr: u64, size: u32) {
        let ob = &mut self.objs[o as usize];
        ob.alive = false;
        let doomed = ob.doomed;
        let slots = std::mem::take(&mut ob.slots);
        ob.in_edges = Vec::new();
        if ob.tracked {
            let g = ob.generation as usize;
            self.gens[g].remove(&o);
        }
        for v in slots {
            if v != NONE {
                let t = &mut self.objs[v as usize];
                t.indegree -= 1;
                t.held |= doomed;
            }
        }
        if self.live.get(&addr) == Some(&o) {
            self.live.remove(&addr);
        }
        if !self.sizes_known {
            if self.death_size.len() <= o as usize {
                self.death_size.resize(o as usize + 1, 0);
                self.young.resize(o as usize + 1, LONGEST);
            }
            self.death_size[o as usize] = size;
            let born = self.born.get(o as usize).copied().unwrap_or(0);
            let age = self.diag.records.saturating_sub(born);
            self.young[o as usize] =
                LIFETIME_CLASSES.iter().take_while(|&&c| age >= c).count() as u8;
        }
    }

    /// A death by reference counting (or one inside a collection that the collection itself did
    /// not cause): the model's references to it cut, its register cleared.
    pub(super) fn release(
        &mut self,
        out: &mut dyn Emit,
        o: u32,
        addr: u64,
        size: u32,
    ) -> Result<(), ConvertError> {
        // Held by an object a pure reference counter never frees (garbage of a collection, or
        // an object such garbage held): such a counter keeps it too.
        self.compact_in_edges(o);
        let held = self.objs[o as usize].held
            || self.objs[o as usize].in_edges.iter().any(|&(r, _)| {
                let ro = &self.objs[r as usize];
                ro.alive && ro.doomed
            });
        if held {
            self.diag.held_by_garbage += 1;
            self.objs[o as usize].doomed = true;
        } else if self.in_span {
            self.diag.collection_deaths += 1;
        } else {
            self.diag.refcount_deaths += 1;
        }
        self.cut_in_edges(out, o, |_| false)?;
        self.drop_root(out, o)?;
        self.forget(o, addr, size);
        self.diag.deaths += 1;
        Ok(())
    }

    /// Makes `o` tracked in generation `g` in the model.
    pub(super) fn place(&mut self, out: &mut dyn Emit, o: u32, g: u8) -> Result<(), ConvertError> {
        let ob = &self.objs[o as usize];
        if ob.tracked && ob.generation == g {
            return Ok(());
        }
        let reg = ob.reg;
        if ob.tracked {
            out.emit(Op::Interp(InterpOp::Untrack { reg }))?;
            let old = ob.generation as usize;
            self.gens[old].remove(&o);
        }
        out.emit(Op::Interp(InterpOp::Track { reg, generation: g }))?;
        self.diag.tracking_fixes += 1;
        let ob = &mut self.objs[o as usize];
        ob.tracked = true;
        ob.generation = g;
        self.gens[g as usize].insert(o);
        Ok(())
    }

    pub(super) fn untrack(&mut self, out: &mut dyn Emit, o: u32) -> Result<(), ConvertError> {
        let ob = &mut self.objs[o as usize];
        if !ob.tracked {
            return Ok(());
        }
        ob.tracked = false;
        let (reg, g) = (ob.reg, ob.generation as usize);
        self.gens[g].remove(&o);
        out.emit(Op::Interp(InterpOp::Untrack { reg }))?;
        self.diag.tracking_fixes += 1;
        Ok(())
    }

    /// The model object at `addr`, given to the model first if the recording never saw it.
    pub(super) fn known_or_materialize(
        &mut self,
        out: &mut dyn Emit,
        s: &Snap,
    ) -> Result<u32, ConvertError> {
        if let Some(&o) = self.live.get(&s.addr) {
            return Ok(o);
        }
        self.diag.materialized += 1;
        let gc = self.type_is_gc(s.tid) || s.tid == u16::MAX;
        self.new_obj(out, s.addr, s.tid, gc, s.size)
    }

    /// Gives the model the objects of a snapshot (or of the initial heap): each present and
    /// tracked in its generation, with its referents as slots.
    pub(super) fn sync(
        &mut self,
        out: &mut dyn Emit,
        snaps: &[Snap],
    ) -> Result<Vec<u32>, ConvertError> {
        let mut ids = Vec::with_capacity(snaps.len());
        for s in snaps {
            let o = self.known_or_materialize(out, s)?;
            ids.push(o);
        }
        for (s, &o) in snaps.iter().zip(&ids) {
            if self.objs[o as usize].gc {
                self.place(out, o, s.generation.min(3))?;
            }
        }
        let mut referents = Vec::new();
        for (s, &o) in snaps.iter().zip(&ids) {
            referents.clear();
            for a in &s.edges {
                match self.live.get(a) {
                    Some(&t) if self.objs[t as usize].reg != NIL_REG => referents.push(t),
                    _ => self.diag.unknown_referents += 1,
                }
            }
            let r = std::mem::take(&mut referents);
            self.set_slots(out, o, &r)?;
            referents = r;
        }
        Ok(ids)
    }
}
