//! One real collection: its events read up to its stop, the model synced to its snapshot, the
//! collection triggered, and the events inside it replayed.

use super::{ConvertError, Converter, Emit, RealCollection, Trigger, NIL_REG};
use crate::raw::{Event, RawReader, F_IN_GC};
use gclab_core::op::{GcOp, Op};
use std::collections::{HashMap, HashSet};
use std::io::Read;

/// A snapshot object with its referents.
pub(super) struct Snap {
    pub(super) addr: u64,
    pub(super) tid: u16,
    pub(super) generation: u8,
    pub(super) refcount: u32,
    pub(super) edges: Vec<u64>,
    pub(super) size: u64,
}

impl Snap {
    /// Adds what a snapshot record says to `snaps`: a new object (`SnapObj`, `InitObj`), or a
    /// referent (`Edge`) or the size (`Size`) of the last one. Other events are ignored.
    pub(super) fn add(snaps: &mut Vec<Snap>, ev: &Event) {
        match *ev {
            Event::SnapObj {
                addr,
                tid,
                generation,
                refcount,
            }
            | Event::InitObj {
                addr,
                tid,
                generation,
                refcount,
            } => snaps.push(Snap {
                addr,
                tid,
                generation,
                refcount,
                edges: Vec::new(),
                size: 0,
            }),
            Event::Edge { addr } => {
                if let Some(s) = snaps.last_mut() {
                    s.edges.push(addr);
                }
            }
            Event::Size(n) => {
                if let Some(s) = snaps.last_mut() {
                    s.size = n;
                }
            }
            _ => {}
        }
    }
}

/// CPython's `deduce_unreachable` on a snapshot: `gc_refs` = reference count minus references
/// from the snapshot's own objects; everything reachable within the snapshot from an object
/// with `gc_refs > 0` survives; the rest is unreachable. Returns the unreachable addresses.
pub(super) fn unreachable(snaps: &[Snap]) -> HashSet<u64> {
    let index: HashMap<u64, usize> = snaps.iter().enumerate().map(|(i, s)| (s.addr, i)).collect();
    let mut gc_refs: Vec<i64> = snaps.iter().map(|s| s.refcount as i64).collect();
    for s in snaps {
        for e in &s.edges {
            if let Some(&j) = index.get(e) {
                gc_refs[j] -= 1;
            }
        }
    }
    let mut reached = vec![false; snaps.len()];
    let mut stack: Vec<usize> = (0..snaps.len()).filter(|&i| gc_refs[i] > 0).collect();
    for &i in &stack {
        reached[i] = true;
    }
    while let Some(i) = stack.pop() {
        for e in &snaps[i].edges {
            if let Some(&j) = index.get(e) {
                if !reached[j] {
                    reached[j] = true;
                    stack.push(j);
                }
            }
        }
    }
    snaps
        .iter()
        .zip(&reached)
        .filter(|(_, &r)| !r)
        .map(|(s, _)| s.addr)
        .collect()
}

/// The events of one real collection, from its start to its stop.
struct Span {
    snaps: Vec<Snap>,
    /// The program's events inside it (creations, deaths, marks), with their young counts.
    inside: Vec<(Event, u16)>,
    /// Survivors the collector untracked.
    untracked: Vec<u64>,
    times: Vec<u64>,
    counts_before: [u32; 3],
    /// (collected, uncollectable, young count) at its stop.
    stop: Option<(u64, u32, u16)>,
}

impl Converter {
    /// A real collection of `generation` that started with the young count `gc0`: its events
    /// up to its stop are read first, then the model is synced to its snapshot, the collection
    /// triggered, and the events inside it replayed.
    pub(super) fn collection<R: Read>(
        &mut self,
        reader: &mut RawReader<R>,
        out: &mut dyn Emit,
        generation: u32,
        gc0: u16,
    ) -> Result<(), ConvertError> {
        let span = self.read_span(reader)?;
        // The objects the collection freed: unreachable snapshot objects that died inside it.
        // (A snapshot object that died inside it without being unreachable died by reference
        // counting, when something the collection or a callback did dropped it: it is
        // released when its death arrives. An unreachable one that did not die was resurrected
        // by a finalizer or is uncollectable: it keeps its root.)
        let unreach = unreachable(&span.snaps);
        let died: HashSet<u64> = span
            .inside
            .iter()
            .filter_map(|(e, _)| match e {
                Event::Destroy { addr, flags, .. }
                    if flags & F_IN_GC != 0 && unreach.contains(addr) =>
                {
                    Some(*addr)
                }
                _ => None,
            })
            .collect();
        self.diag.unreachable_survivors += (unreach.len() - died.len()) as u64;
        let g = (generation as usize).min(2);
        let garbage = self.sync_young(out, &span, g, &died)?;
        // The count (no safe point before it: the collection runs at the trigger, after the
        // model was synced and counted as the interpreter was), then the trigger.
        self.count_then(out, gc0, false)?;
        let at_op = out.count();
        self.scheduled = false;
        let trigger = match self.pending_manual.take() {
            Some(gen) => {
                out.emit(Op::Gc(GcOp::Collect { generation: gen }))?;
                Trigger::Manual
            }
            None => {
                out.emit(Op::SafePoint)?;
                Trigger::Automatic
            }
        };
        self.after_collection(g, &garbage);
        self.replay_inside(reader, out, &span, &died)?;
        let (collected, uncollectable, c) = span.stop.unwrap_or((0, 0, self.prev_gc0));
        self.count(out, c)?;
        let duration_ns = match (span.times.first(), span.times.get(1)) {
            (Some(a), Some(b)) => b.saturating_sub(*a),
            _ => 0,
        };
        self.collections.push(RealCollection {
            index: self.collections.len() as u64,
            generation: generation.min(255) as u8,
            collected,
            uncollectable: uncollectable as u64,
            duration_ns,
            counts_before: span.counts_before,
            trigger,
            examined: span.snaps.len() as u64,
            died: garbage.len() as u64,
            at_op,
        });
        Ok(())
    }

    /// Reads a collection's events up to its stop (or the end of a truncated recording).
    fn read_span<R: Read>(&mut self, reader: &mut RawReader<R>) -> Result<Span, ConvertError> {
        let mut span = Span {
            snaps: Vec::new(),
            inside: Vec::new(),
            untracked: Vec::new(),
            times: Vec::new(),
            counts_before: self.counts_now,
            stop: None,
        };
        let mut seen_counts = false;
        while let Some((ev, c)) = self.next_record(reader, ", inside a collection,")? {
            match ev {
                Event::SnapObj { .. } | Event::Edge { .. } | Event::Size(_) => {
                    Snap::add(&mut span.snaps, &ev);
                }
                Event::Untracked { addr } => span.untracked.push(addr),
                Event::Time(ns) => span.times.push(ns),
                Event::Counts {
                    count0,
                    count1,
                    count2,
                    ..
                } if !seen_counts => {
                    span.counts_before = [count0, count1, count2];
                    seen_counts = true;
                }
                Event::GcStop {
                    collected,
                    uncollectable,
                    ..
                } => {
                    span.stop = Some((collected, uncollectable, c));
                    break;
                }
                Event::GcState { .. } | Event::Thresholds(_) => {}
                other => span.inside.push((other, c)),
            }
        }
        Ok(span)
    }

    /// Makes the model's generations 0..=`g` what the snapshot says, untracks the survivors the
    /// collector untracked, and takes roots and outside references from the garbage (the
    /// snapshot objects in `died`), which it returns.
    fn sync_young(
        &mut self,
        out: &mut dyn Emit,
        span: &Span,
        g: usize,
        died: &HashSet<u64>,
    ) -> Result<Vec<u32>, ConvertError> {
        let ids = self.sync(out, &span.snaps)?;
        let in_snap: HashSet<u32> = ids.iter().copied().collect();
        let mut stale: Vec<u32> = (0..=g)
            .flat_map(|k| self.gens[k].iter().copied())
            .filter(|o| !in_snap.contains(o))
            .collect();
        stale.sort_unstable();
        for o in stale {
            self.untrack(out, o)?;
        }
        for a in &span.untracked {
            if let Some(&o) = self.live.get(a) {
                if !died.contains(a) {
                    self.untrack(out, o)?;
                }
            }
        }
        // The garbage: no root, no reference from outside the snapshot.
        let mut garbage: Vec<u32> = span
            .snaps
            .iter()
            .zip(&ids)
            .filter(|(s, _)| died.contains(&s.addr))
            .map(|(_, &o)| o)
            .collect();
        garbage.sort_unstable();
        for &o in &garbage {
            self.cut_in_edges(out, o, |r| in_snap.contains(&r))?;
            self.drop_root(out, o)?;
            self.objs[o as usize].doomed = true;
        }
        Ok(garbage)
    }

    /// The converter's view after a collection of generations 0..=`g`: survivors move up, the
    /// garbage leaves the lists (the converter forgets it when its death arrives), the count
    /// restarts from 0.
    fn after_collection(&mut self, g: usize, garbage: &[u32]) {
        let next = (g + 1).min(2) as u8;
        let survivors: Vec<u32> = (0..=g)
            .flat_map(|k| std::mem::take(&mut self.gens[k]).into_iter())
            .collect();
        for o in survivors {
            if self.objs[o as usize].reg == NIL_REG {
                // garbage: the model frees it now
                continue;
            }
            self.objs[o as usize].generation = next;
            self.gens[next as usize].insert(o);
        }
        for &o in garbage {
            if self.objs[o as usize].tracked {
                let gg = self.objs[o as usize].generation as usize;
                self.gens[gg].remove(&o);
                self.objs[o as usize].tracked = false;
            }
        }
        self.prev_gc0 = 0;
        self.count0 = 0;
    }

    /// The events the interpreter recorded once its collector was running: those before the
    /// "start" callback, then those inside the collection. Inside it the count is first the
    /// pre-reset value (the callbacks' own objects), then what the collection left: only the
    /// value at its stop is kept, so these events carry no count.
    fn replay_inside<R: Read>(
        &mut self,
        reader: &mut RawReader<R>,
        out: &mut dyn Emit,
        span: &Span,
        died: &HashSet<u64>,
    ) -> Result<(), ConvertError> {
        self.in_span = true;
        for ev in std::mem::take(&mut self.pre_start) {
            self.event(reader, out, ev, self.prev_gc0)?;
        }
        for (ev, _) in &span.inside {
            let c = self.prev_gc0;
            match *ev {
                Event::Destroy { addr, size, .. } if died.contains(&addr) => {
                    if let Some(&o) = self.live.get(&addr) {
                        self.forget(o, addr, size);
                        self.diag.deaths += 1;
                    }
                }
                ref other => self.event(reader, out, other.clone(), c)?,
            }
        }
        self.in_span = false;
        Ok(())
    }
}
