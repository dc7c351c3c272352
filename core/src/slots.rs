//! The slot pool: every container's slots (its outgoing references) in one vector.
//!
//! An object's slots live in a *block* of the pool, `[len, cap, item 0, .., item cap-1]`, and
//! the object keeps only the block's offset (a `u32`; 0 means "no block", which is what atoms
//! and empty containers have). Block capacities are powers of two; a freed block goes on the
//! free list of its capacity class and is reused by the next block of that class. The block at
//! the end of the pool grows in place (by an eighth, so its capacity need not be a power of two:
//! freed, it serves the largest class it can), and a large block freed at the end shrinks the
//! pool.
//!
//! Compared with one heap allocation per container (a `ThinVec`, as gclab used before), this
//! costs 4 bytes per object instead of 8 plus a 16-byte header and the allocator's own chunk
//! overhead, and a block is taken from or returned to a free list in a few instructions instead
//! of a `malloc`/`realloc`/`free` call. The pool is a plain safe `Vec`: a block is a sub-slice,
//! and lengths and capacities are stored in the pool as `ObjId` words.

use crate::heap::ObjId;

/// Capacity classes: block capacities `1 << class`.
const CLASSES: usize = 32;

/// Blocks at least this large that are freed at the very end of the pool shrink it, instead of
/// waiting on a free list (a huge list that dies gives its memory back to the pool's tail).
const SHRINK_AT: u32 = 1 << 12;

/// See the module docs.
#[derive(Debug)]
pub(crate) struct SlotPool {
    words: Vec<ObjId>,
    free: [u32; CLASSES],
}

impl Default for SlotPool {
    fn default() -> SlotPool {
        SlotPool {
            // Offset 0 is never a block: it holds an empty header, so that 0 can mean "none".
            words: vec![ObjId(0), ObjId(0)],
            free: [0; CLASSES],
        }
    }
}

/// The free list a block of capacity `cap` (>= 1) goes on: the largest class it can serve
/// (capacities are powers of two, except the pool's last block, which grows in place).
#[inline]
fn class_of(cap: u32) -> usize {
    (31 - cap.leading_zeros()) as usize
}

impl SlotPool {
    /// The items of block `off` (empty for 0).
    #[inline(always)]
    pub(crate) fn get(&self, off: u32) -> &[ObjId] {
        let o = off as usize;
        let len = self.words[o].0 as usize;
        &self.words[o + 2..o + 2 + len]
    }

    /// The items of block `off`, mutable (empty for 0).
    #[cfg(test)]
    pub(crate) fn get_mut(&mut self, off: u32) -> &mut [ObjId] {
        let o = off as usize;
        let len = self.words[o].0 as usize;
        &mut self.words[o + 2..o + 2 + len]
    }

    /// The number of items in block `off` (0 for 0).
    #[inline(always)]
    pub(crate) fn len(&self, off: u32) -> u32 {
        self.words[off as usize].0
    }

    /// Item `slot` of block `off`, if the block has that many items.
    #[inline(always)]
    pub(crate) fn item(&self, off: u32, slot: u32) -> Option<ObjId> {
        let o = off as usize;
        if slot < self.words[o].0 {
            Some(self.words[o + 2 + slot as usize])
        } else {
            None
        }
    }

    /// Sets item `slot` of block `off` to `v` and returns the old item, if the block has that
    /// many items.
    #[inline(always)]
    pub(crate) fn replace(&mut self, off: u32, slot: u32, v: ObjId) -> Option<ObjId> {
        let o = off as usize;
        if slot < self.words[o].0 {
            Some(std::mem::replace(&mut self.words[o + 2 + slot as usize], v))
        } else {
            None
        }
    }

    /// A new block of `len` nil items with room for at least `cap` (>= `len`) items.
    pub(crate) fn alloc(&mut self, len: u32, cap: u32) -> u32 {
        let off = self.alloc_raw(len, cap);
        let o = off as usize;
        self.words[o + 2..o + 2 + len as usize].fill(ObjId::NIL);
        off
    }

    /// A new block whose header says `len` items, with room for at least `cap` (>= `len`);
    /// its items are not initialised (they may hold a freed block's old values).
    #[inline]
    fn alloc_raw(&mut self, len: u32, cap: u32) -> u32 {
        let cap = cap.max(len).max(1).next_power_of_two();
        let class = class_of(cap);
        let off = self.free[class];
        if off != 0 {
            let o = off as usize;
            self.free[class] = self.words[o + 2].0;
            self.words[o] = ObjId(len);
            return off;
        }
        let o = self.words.len();
        assert!(
            o + 2 + cap as usize <= u32::MAX as usize,
            "the slot pool is limited to 4 Gi words (16 GiB of simulated references)"
        );
        self.words.push(ObjId(len));
        self.words.push(ObjId(cap));
        self.words.resize(o + 2 + cap as usize, ObjId::NIL);
        o as u32
    }

    /// Returns block `off` (not 0) to its free list.
    pub(crate) fn release(&mut self, off: u32) {
        let o = off as usize;
        let cap = self.words[o + 1].0;
        if cap >= SHRINK_AT && o + 2 + cap as usize == self.words.len() {
            self.words.truncate(o);
            return;
        }
        let class = class_of(cap);
        self.words[o] = ObjId(0);
        self.words[o + 2] = ObjId(self.free[class]);
        self.free[class] = off;
    }

    /// Appends `v` to the block at `*off` (0: a new block with room for `hint` items), moving
    /// the block to a larger one when it is full. `hint` is the capacity to grow to (at least
    /// one more than the length).
    #[inline(always)]
    pub(crate) fn push(&mut self, off: &mut u32, v: ObjId, hint: u32) {
        // Offset 0's header says capacity 0, so "no block yet" takes the slow path too.
        let o = *off as usize;
        let len = self.words[o].0;
        if len < self.words[o + 1].0 {
            self.words[o + 2 + len as usize] = v;
            self.words[o] = ObjId(len + 1);
            return;
        }
        self.push_grow(off, v, hint);
    }

    #[cold]
    #[inline(never)]
    fn push_grow(&mut self, off: &mut u32, v: ObjId, hint: u32) {
        let o = *off as usize;
        let len = self.words[o].0;
        let want = hint.max(len + 1).next_power_of_two();
        if *off != 0 && o + 2 + self.words[o + 1].0 as usize == self.words.len() {
            // The last block grows in place, by the hint or an eighth (the pool's own capacity
            // doubles without being touched, so a huge list costs little more than its items).
            let cap = hint.max(len + 1 + len / 8 + 4);
            assert!(
                o + 2 + cap as usize <= u32::MAX as usize,
                "the slot pool is limited to 4 Gi words (16 GiB of simulated references)"
            );
            self.words.resize(o + 2 + cap as usize, ObjId::NIL);
            self.words[o + 1] = ObjId(cap);
        } else {
            let new = self.alloc_raw(len, want);
            let n = new as usize;
            if len <= 8 {
                for k in 0..len as usize {
                    self.words[n + 2 + k] = self.words[o + 2 + k];
                }
            } else {
                self.words.copy_within(o + 2..o + 2 + len as usize, n + 2);
            }
            if *off != 0 {
                self.release(*off);
            }
            *off = new;
        }
        let o = *off as usize;
        self.words[o + 2 + len as usize] = v;
        self.words[o] = ObjId(len + 1);
    }

    /// Words held by the pool (blocks, headers and free blocks): for memory reports and tests.
    #[cfg(test)]
    pub(crate) fn words(&self) -> usize {
        self.words.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Step {
        Alloc(u8, u8),
        Push(u8, u32, u8),
        Set(u8, u8, u32),
        Free(u8),
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            (0u8..20, 0u8..20).prop_map(|(l, c)| Step::Alloc(l, c)),
            (any::<u8>(), any::<u32>(), 0u8..40).prop_map(|(i, v, h)| Step::Push(i, v, h)),
            (any::<u8>(), any::<u8>(), any::<u32>()).prop_map(|(i, k, v)| Step::Set(i, k, v)),
            any::<u8>().prop_map(Step::Free),
        ]
    }

    proptest! {
        /// The pool behaves like one `Vec` per block, whatever the order of allocations,
        /// pushes, writes and frees.
        #[test]
        fn pool_matches_vecs(steps in prop::collection::vec(step(), 0..300)) {
            let mut pool = SlotPool::default();
            let mut live: Vec<(u32, Vec<ObjId>)> = Vec::new();
            for s in steps {
                match s {
                    Step::Alloc(l, c) => {
                        let off = pool.alloc(l as u32, c as u32);
                        prop_assert!(off != 0);
                        live.push((off, vec![ObjId::NIL; l as usize]));
                    }
                    Step::Push(i, v, h) => {
                        if live.is_empty() {
                            let mut off = 0;
                            pool.push(&mut off, ObjId(v), h as u32);
                            live.push((off, vec![ObjId(v)]));
                        } else {
                            let k = i as usize % live.len();
                            let (off, model) = &mut live[k];
                            pool.push(off, ObjId(v), h as u32);
                            model.push(ObjId(v));
                        }
                    }
                    Step::Set(i, k, v) => {
                        if !live.is_empty() {
                            let j = i as usize % live.len();
                            let (off, model) = &mut live[j];
                            if !model.is_empty() {
                                let k = k as usize % model.len();
                                model[k] = ObjId(v);
                                pool.get_mut(*off)[k] = ObjId(v);
                            }
                        }
                    }
                    Step::Free(i) => {
                        if !live.is_empty() {
                            let (off, _) = live.swap_remove(i as usize % live.len());
                            pool.release(off);
                        }
                    }
                }
                for (off, model) in &live {
                    prop_assert_eq!(pool.get(*off), &model[..]);
                    prop_assert_eq!(pool.len(*off) as usize, model.len());
                }
            }
        }
    }

    #[test]
    fn empty_block_is_empty() {
        let pool = SlotPool::default();
        assert!(pool.get(0).is_empty());
        assert_eq!(pool.len(0), 0);
    }

    #[test]
    fn last_block_grows_in_place_and_shrinks_when_freed() {
        let mut pool = SlotPool::default();
        let mut off = 0;
        for i in 0..100_000 {
            pool.push(&mut off, ObjId(i), 0);
        }
        // One block, grown in place by eighths: less than 1/8 + a few words of slack.
        assert!(
            pool.words() < 2 + 2 + 100_000 + 100_000 / 8 + 8,
            "{}",
            pool.words()
        );
        assert_eq!(pool.get(off).len(), 100_000);
        assert_eq!(pool.get(off)[99_999], ObjId(99_999));
        pool.release(off);
        assert_eq!(pool.words(), 2);
    }

    #[test]
    fn freed_blocks_are_reused_by_their_class() {
        let mut pool = SlotPool::default();
        let a = pool.alloc(3, 3);
        let _b = pool.alloc(1, 1);
        pool.release(a);
        let c = pool.alloc(4, 4);
        assert_eq!(a, c, "a block of capacity 4 reuses the freed one");
        assert_eq!(pool.get(c), &[ObjId::NIL; 4]);
    }
}
