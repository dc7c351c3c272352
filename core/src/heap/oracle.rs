//! The reachability oracle: what the registers reach, the garbage not yet freed, and a
//! recount of the arena that checks the incremental accounting.

use super::{Heap, ObjId, FREE};
use crate::slots::NO_BLOCK;

impl Heap {
    /// Marks every object reachable from the registers. Returns the mark bits (one `bool` per
    /// index) or, if a freed object is reachable, its id: some strategy freed a live object.
    pub fn reachable(&self) -> Result<Vec<bool>, ObjId> {
        let marks = self.mark_bits()?;
        Ok((0..self.kinds.len())
            .map(|i| marks[i >> 6] & (1 << (i & 63)) != 0)
            .collect())
    }

    /// The marking behind [`Heap::reachable`] and [`Heap::unreachable_live`]: one mark bit per
    /// object index (the marks of a few hundred thousand objects stay in the cache while the
    /// slots are read in any order), an object marked when it is first referenced, and only
    /// objects with a slot block pushed, so that atoms held by registers (most of a recording's
    /// objects) never go through the stack. `Err` names a reachable object that is not live.
    fn mark_bits(&self) -> Result<Vec<u64>, ObjId> {
        let mut marks = vec![0u64; self.kinds.len().div_ceil(64)];
        let mut stack: Vec<u32> = Vec::new();
        // Marks `c` (not nil) and queues its slots: Err if it is not live.
        let mark = |c: ObjId, marks: &mut [u64], stack: &mut Vec<u32>| -> Result<(), ObjId> {
            let i = c.index();
            match self.kinds.get(i) {
                Some(&k) if k != FREE => {}
                _ => return Err(c),
            }
            let (w, bit) = (i >> 6, 1u64 << (i & 63));
            if marks[w] & bit == 0 {
                marks[w] |= bit;
                if self.slots[i] != NO_BLOCK {
                    stack.push(i as u32);
                }
            }
            Ok(())
        };
        for &r in &self.regs {
            if !r.is_nil() {
                mark(r, &mut marks, &mut stack)?;
            }
        }
        while let Some(i) = stack.pop() {
            for &c in self.pool.get(self.slots[i as usize]) {
                if !c.is_nil() {
                    mark(c, &mut marks, &mut stack)?;
                }
            }
        }
        Ok(marks)
    }

    /// Live objects and bytes that are unreachable from the registers (garbage not yet freed);
    /// or, if a freed object is reachable, one such object. Run at the end of every run (the
    /// executor's report), over the mark bits a word at a time.
    pub fn unreachable_live(&self) -> Result<(u64, u64), ObjId> {
        let marks = self.mark_bits()?;
        let mut objs = 0;
        let mut bytes = 0;
        for ((kinds, sizes), &m) in self.kinds.chunks(64).zip(self.sizes.chunks(64)).zip(&marks) {
            if m == u64::MAX {
                continue;
            }
            for (j, (&k, &size)) in kinds.iter().zip(sizes).enumerate() {
                if k != FREE && m & (1 << j) == 0 {
                    objs += 1;
                    bytes += size as u64;
                }
            }
        }
        Ok((objs, bytes))
    }

    /// Recounts live objects and bytes from the arena itself, ignoring [`Heap::acct`]: a debug
    /// helper for checking the incremental accounting (the conformance suite asserts that it
    /// always equals `(acct.live_objects, acct.live_bytes)`). O(arena size).
    pub fn recount(&self) -> (u64, u64) {
        let mut objs = 0;
        let mut bytes = 0;
        for (i, &k) in self.kinds.iter().enumerate() {
            if k != FREE {
                objs += 1;
                bytes += self.sizes[i] as u64;
            }
        }
        (objs, bytes)
    }
}
