//! The reachability oracle: what the registers reach, the garbage not yet freed, and a
//! recount of the arena that checks the incremental accounting.

use super::{Heap, ObjId, FREE};

impl Heap {
    /// Marks every object reachable from the registers. Returns the mark bits (one `bool` per
    /// index) or, if a freed object is reachable, its id: some strategy freed a live object.
    pub fn reachable(&self) -> Result<Vec<bool>, ObjId> {
        let mut marks = vec![false; self.kinds.len()];
        let mut stack: Vec<ObjId> = Vec::new();
        for &r in &self.regs {
            if !r.is_nil() {
                stack.push(r);
            }
        }
        while let Some(id) = stack.pop() {
            let i = id.index();
            if i >= marks.len() || self.kinds[i] == FREE {
                return Err(id);
            }
            if marks[i] {
                continue;
            }
            marks[i] = true;
            for &c in self.pool.get(self.slots[i]) {
                if !c.is_nil() && !marks.get(c.index()).copied().unwrap_or(false) {
                    stack.push(c);
                }
            }
        }
        Ok(marks)
    }

    /// Live objects and bytes that are unreachable from the registers (garbage not yet freed).
    pub fn unreachable_live(&self) -> Result<(u64, u64), ObjId> {
        let marks = self.reachable()?;
        let mut objs = 0;
        let mut bytes = 0;
        for (i, &k) in self.kinds.iter().enumerate() {
            if k != FREE && !marks[i] {
                objs += 1;
                bytes += self.sizes[i] as u64;
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
