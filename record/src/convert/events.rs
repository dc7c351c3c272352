//! The program's events outside collections: creations, deaths, marks, the recording's start.

use super::collection::Snap;
use super::{ConvertError, Converter, Emit, STARTUP_EVENT};
use crate::raw::{Event, Mark, RawError, RawReader, F_GC_TYPE, F_IN_GC};
use gclab_core::op::{GcOp, InterpOp, Op};
use std::io::Read;

impl Converter {
    pub(super) fn run<R: Read>(
        &mut self,
        mut reader: RawReader<R>,
        out: &mut dyn Emit,
    ) -> Result<(), ConvertError> {
        let mut init: Vec<Snap> = Vec::new();
        let mut init_state: (Option<(u64, u32)>, Option<[u32; 3]>) = (None, None);
        while let Some((ev, gc0)) = self.next_record(&mut reader, "")? {
            if !self.started {
                match ev {
                    Event::Type { .. } | Event::Thresholds(_) => self.note(&ev),
                    Event::GcState {
                        long_lived_total,
                        long_lived_pending,
                    } => init_state.0 = Some((long_lived_total, long_lived_pending)),
                    Event::Counts {
                        count0,
                        count1,
                        count2,
                        enabled,
                    } => {
                        init_state.1 = Some([count0, count1, count2]);
                        self.enabled = enabled;
                    }
                    Event::InitObj { .. } | Event::Edge { .. } | Event::Size(_) => {
                        Snap::add(&mut init, &ev);
                    }
                    _ => {
                        // The program starts: the initial heap and state go first.
                        self.start(out, &init, init_state)?;
                        init = Vec::new();
                        self.started = true;
                        self.prev_gc0 = init_state.1.map_or(0, |c| c[0] as u16);
                        self.event(&mut reader, out, ev, gc0)?;
                    }
                }
                continue;
            }
            self.event(&mut reader, out, ev, gc0)?;
        }
        if !self.started {
            self.start(out, &init, init_state)?;
        }
        Ok(())
    }

    /// The next record, counted; `None` at the end of the log, or where a truncated log stops
    /// (noted in the diagnostics, `inside` saying where: empty, or ", inside a collection,").
    pub(super) fn next_record<R: Read>(
        &mut self,
        reader: &mut RawReader<R>,
        inside: &str,
    ) -> Result<Option<(Event, u16)>, ConvertError> {
        match reader.next_event() {
            Ok(Some(e)) => {
                self.diag.records += 1;
                Ok(Some(e))
            }
            Ok(None) => Ok(None),
            Err(RawError::Truncated { offset, records }) => {
                self.diag.truncated = Some(format!(
                    "the recording stops at byte offset {offset}{inside} without its END record; \
                     the {records} complete records before it were converted"
                ));
                Ok(None)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Records what a type or threshold event says.
    pub(super) fn note(&mut self, ev: &Event) {
        match ev {
            Event::Type {
                tid,
                name,
                basic_size,
                flags,
            } => {
                let i = *tid as usize;
                if i >= self.types.len() {
                    self.types.resize(i + 1, None);
                }
                self.types[i] = Some((name.clone(), flags & F_GC_TYPE != 0, *basic_size));
            }
            Event::Thresholds(t) => self.threshold0 = t[0] as i64,
            _ => {}
        }
    }

    pub(super) fn start(
        &mut self,
        out: &mut dyn Emit,
        init: &[Snap],
        state: (Option<(u64, u32)>, Option<[u32; 3]>),
    ) -> Result<(), ConvertError> {
        self.sync(out, init)?;
        if let Some(c) = state.1 {
            for (g, v) in c.iter().enumerate() {
                out.emit(Op::Interp(InterpOp::SetCount {
                    generation: g as u8,
                    value: *v,
                }))?;
            }
            self.count0 = c[0] as i64;
            self.counts_now = c;
        }
        if let Some((total, pending)) = state.0 {
            out.emit(Op::Interp(InterpOp::LongLived {
                total: total.min(u32::MAX as u64) as u32,
                pending,
            }))?;
        }
        Ok(())
    }

    /// One event of the program (outside the initial heap).
    pub(super) fn event<R: Read>(
        &mut self,
        reader: &mut RawReader<R>,
        out: &mut dyn Emit,
        ev: Event,
        gc0: u16,
    ) -> Result<(), ConvertError> {
        match ev {
            Event::Create { flags, .. } | Event::Destroy { flags, .. }
                if flags & F_IN_GC != 0 && !self.in_span =>
            {
                self.pre_start.push(ev);
            }
            Event::Create {
                addr,
                tid,
                size,
                flags,
            } => {
                self.count(out, gc0)?;
                if let Some(&old) = self.live.get(&addr) {
                    // Created again without a recorded death.
                    self.diag.inferred_deaths += 1;
                    self.release(out, old, addr, 0)?;
                }
                self.diag.creates += 1;
                self.new_obj(out, addr, tid, flags & F_GC_TYPE != 0, size as u64)?;
            }
            Event::Destroy { addr, size, .. } => {
                match self.live.get(&addr) {
                    Some(&o) => self.release(out, o, addr, size)?,
                    None => self.diag.unknown_deaths += 1,
                }
                self.count(out, gc0)?;
            }
            Event::Mark(m) => self.mark(out, m)?,
            Event::GcStart { generation } => self.collection(reader, out, generation, gc0)?,
            Event::Type { .. } | Event::Thresholds(_) => self.note(&ev),
            Event::Counts {
                count0,
                count1,
                count2,
                enabled,
            } => {
                self.counts_now = [count0, count1, count2];
                self.enabled = enabled;
            }
            _ => {}
        }
        Ok(())
    }

    pub(super) fn mark(&mut self, out: &mut dyn Emit, m: Mark) -> Result<(), ConvertError> {
        match m {
            Mark::Collect(g) => self.pending_manual = Some(g),
            Mark::Freeze => {
                out.emit(Op::Gc(GcOp::Freeze))?;
                for g in 0..3 {
                    let ids: Vec<u32> = std::mem::take(&mut self.gens[g]).into_iter().collect();
                    for o in ids {
                        self.objs[o as usize].generation = 3;
                        self.gens[3].insert(o);
                    }
                }
                self.count0 = 0;
            }
            Mark::Unfreeze => {
                out.emit(Op::Gc(GcOp::Unfreeze))?;
                let ids: Vec<u32> = std::mem::take(&mut self.gens[3]).into_iter().collect();
                for o in ids {
                    self.objs[o as usize].generation = 2;
                    self.gens[2].insert(o);
                }
            }
            Mark::Enable => {
                out.emit(Op::Gc(GcOp::Enable))?;
                self.enabled = true;
            }
            Mark::Disable => {
                out.emit(Op::Gc(GcOp::Disable))?;
                self.enabled = false;
            }
            Mark::SetThreshold(t0, t1, t2) => {
                out.emit(Op::Gc(GcOp::SetThreshold {
                    t0: t0 as i32,
                    t1: t1 as i32,
                    t2: t2 as i32,
                }))?;
                self.threshold0 = t0 as i64;
            }
            Mark::Event(1) => out.emit(Op::Event { id: STARTUP_EVENT })?,
            Mark::Start | Mark::End | Mark::Event(_) | Mark::Other(..) => {}
        }
        Ok(())
    }
}
