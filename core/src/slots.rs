//! The slot pool: every container's slots (its outgoing references) in one vector.
//!
//! An object's slots live in a *block* of the pool and the object keeps only the block's offset
//! (a `u32`; [`NO_BLOCK`] for atoms and empty containers). The offset names the block's length
//! word, and the items follow it, so reading a slot is the same for every block:
//!
//! * a **growable** block (lists, dicts, instances) is `[cap, len, item 0, .., item cap-1]`:
//!   its capacity is the word *before* the offset. Capacities are powers of two; a freed block
//!   goes on the free list of its capacity class and is reused by the next block of that class.
//!   The block at the end of the pool grows in place (by an eighth, so its capacity need not be a
//!   power of two: freed, it serves the largest class it can);
//! * a **fixed** block (tuples, whose length never changes) is `[len, item 0, ..]` with no
//!   capacity word: its capacity follows from its length ([`fixed_cap`]: the length itself up to
//!   8 items, then the next power of two), so a 1-tuple costs two words instead of three.
//!   Freed fixed blocks wait on free lists of their own, by capacity.
//!
//! A large block freed at the end of the pool shrinks it. The pool never holds more than
//! [`MAX_WORDS`] words (16 GiB of simulated references): a block that would pass the limit is
//! refused with [`PoolFull`], which the heap reports as an error of the op, instead of the
//! process running out of memory or the offsets overflowing.
//!
//! Compared with one heap allocation per container (a `ThinVec`, as gclab used before), this
//! costs 4 bytes per object instead of 8 plus a 16-byte header and the allocator's own chunk
//! overhead, and a block is taken from or returned to a free list in a few instructions instead
//! of a `malloc`/`realloc`/`free` call. The pool is a plain safe `Vec`: a block is a sub-slice,
//! and lengths and capacities are stored in the pool as `ObjId` words.

use crate::id::ObjId;

/// The offset an object without a slot block keeps: a permanent empty growable block (capacity
/// 0, length 0) at the start of the pool, so that reading its length or items needs no test.
pub(crate) const NO_BLOCK: u32 = 1;

/// The most words the pool may hold: offsets are `u32`.
pub(crate) const MAX_WORDS: usize = u32::MAX as usize;

/// Capacity classes of growable blocks: capacities `1 << class`.
const CLASSES: usize = 32;

/// Free lists of fixed blocks: one per capacity 1..=8, then one per power of two up to 2^31.
const FIXED_CLASSES: usize = 8 + 29;

/// Blocks at least this large that are freed at the very end of the pool shrink it, instead of
/// waiting on a free list (a huge list that dies gives its memory back to the pool's tail).
const SHRINK_AT: u32 = 1 << 12;

/// A block would take the pool past [`MAX_WORDS`].
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct PoolFull;

/// See the module docs.
#[derive(Debug)]
pub(crate) struct SlotPool {
    words: Vec<ObjId>,
    free: [u32; CLASSES],
    fixed_free: [u32; FIXED_CLASSES],
    /// The most words the pool may hold: [`MAX_WORDS`], or less in tests.
    limit: usize,
}

impl Default for SlotPool {
    fn default() -> SlotPool {
        SlotPool {
            // [`NO_BLOCK`]: capacity 0, length 0.
            words: vec![ObjId(0), ObjId(0)],
            free: [0; CLASSES],
            fixed_free: [0; FIXED_CLASSES],
            limit: MAX_WORDS,
        }
    }
}

/// The free list a growable block of capacity `cap` (>= 1) goes on: the largest class it can
/// serve (capacities are powers of two, except the pool's last block, which grows in place).
#[inline]
fn class_of(cap: u32) -> usize {
    (31 - cap.leading_zeros()) as usize
}

/// The capacity of a fixed block of `len` (>= 1) items: `len` up to 8, then the next power of
/// two (so that freed blocks of nearby lengths serve each other).
#[inline]
pub(crate) fn fixed_cap(len: u32) -> u32 {
    if len <= 8 {
        len
    } else {
        len.next_power_of_two()
    }
}

/// The free list of fixed blocks of length `len` (>= 1).
#[inline]
fn fixed_class(len: u32) -> usize {
    if len <= 8 {
        len as usize - 1
    } else {
        // 9..=16 -> 8, 17..=32 -> 9, ...
        8 + class_of(fixed_cap(len)) - 4
    }
}

impl SlotPool {
    /// A pool that holds at most `limit` words, for testing what happens when it is full.
    #[cfg(test)]
    pub(crate) fn with_limit(limit: usize) -> SlotPool {
        SlotPool {
            limit,
            ..SlotPool::default()
        }
    }

    /// The items of block `off`.
    #[inline(always)]
    pub(crate) fn get(&self, off: u32) -> &[ObjId] {
        let o = off as usize;
        let len = self.words[o].0 as usize;
        &self.words[o + 1..o + 1 + len]
    }

    /// The items of block `off`, mutable.
    #[cfg(test)]
    pub(crate) fn get_mut(&mut self, off: u32) -> &mut [ObjId] {
        let o = off as usize;
        let len = self.words[o].0 as usize;
        &mut self.words[o + 1..o + 1 + len]
    }

    /// The number of items in block `off`.
    #[inline(always)]
    pub(crate) fn len(&self, off: u32) -> u32 {
        self.words[off as usize].0
    }

    /// Item `slot` of block `off`, if the block has that many items.
    #[inline(always)]
    pub(crate) fn item(&self, off: u32, slot: u32) -> Option<ObjId> {
        let o = off as usize;
        if slot < self.words[o].0 {
            Some(self.words[o + 1 + slot as usize])
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
            Some(std::mem::replace(&mut self.words[o + 1 + slot as usize], v))
        } else {
            None
        }
    }

    /// Appends `n` nil words at the end of the pool, if the limit allows; returns where they
    /// start.
    #[inline]
    fn extend(&mut self, n: usize) -> Result<usize, PoolFull> {
        let o = self.words.len();
        if n > self.limit - o {
            return Err(PoolFull);
        }
        self.words.resize(o + n, ObjId::NIL);
        Ok(o)
    }

    /// A new fixed block of `len` (>= 1) nil items, for a tuple.
    pub(crate) fn alloc_fixed(&mut self, len: u32) -> Result<u32, PoolFull> {
        let class = fixed_class(len);
        let off = self.fixed_free[class];
        let o = if off != 0 {
            let o = off as usize;
            self.fixed_free[class] = self.words[o + 1].0;
            self.words[o + 1..o + 1 + len as usize].fill(ObjId::NIL);
            o
        } else {
            self.extend(1 + fixed_cap(len) as usize)?
        };
        self.words[o] = ObjId(len);
        Ok(o as u32)
    }

    /// Returns fixed block `off` to its free list (or to the end of the pool).
    pub(crate) fn release_fixed(&mut self, off: u32) {
        let o = off as usize;
        let len = self.words[o].0;
        let cap = fixed_cap(len);
        if cap >= SHRINK_AT && o + 1 + cap as usize == self.words.len() {
            self.words.truncate(o);
            return;
        }
        let class = fixed_class(len);
        self.words[o + 1] = ObjId(self.fixed_free[class]);
        self.fixed_free[class] = off;
    }

    /// A new growable block whose header says `len` items, with room for at least `cap`
    /// (>= `len`); its items are not initialised (they may hold a freed block's old values).
    #[inline]
    fn alloc_growable(&mut self, len: u32, cap: u32) -> Result<u32, PoolFull> {
        let cap = cap.max(len).max(1).next_power_of_two();
        let class = class_of(cap);
        let off = self.free[class];
        if off != 0 {
            let o = off as usize;
            self.free[class] = self.words[o + 1].0;
            self.words[o] = ObjId(len);
            return Ok(off);
        }
        let o = self.extend(2 + cap as usize)? + 1;
        self.words[o - 1] = ObjId(cap);
        self.words[o] = ObjId(len);
        Ok(o as u32)
    }

    /// Returns growable block `off` (not [`NO_BLOCK`]) to its free list (or to the end of the
    /// pool).
    pub(crate) fn release(&mut self, off: u32) {
        let o = off as usize;
        let cap = self.words[o - 1].0;
        if cap >= SHRINK_AT && o + 1 + cap as usize == self.words.len() {
            self.words.truncate(o - 1);
            return;
        }
        let class = class_of(cap);
        self.words[o] = ObjId(0);
        self.words[o + 1] = ObjId(self.free[class]);
        self.free[class] = off;
    }

    /// Appends `v` to the growable block at `*off` when that needs no move: the block has room,
    /// or there is none yet ([`NO_BLOCK`]) and a freed block of capacity `FIRST` waits on its
    /// free list. `false` (nothing done) otherwise, for [`SlotPool::push`]. The same block
    /// results as from `push(off, v, FIRST)`.
    #[inline(always)]
    pub(crate) fn push_no_move<const FIRST: u32>(&mut self, off: &mut u32, v: ObjId) -> bool {
        let o = *off as usize;
        let len = self.words[o].0;
        if len < self.words[o - 1].0 {
            self.words[o + 1 + len as usize] = v;
            self.words[o] = ObjId(len + 1);
            return true;
        }
        if *off != NO_BLOCK {
            return false;
        }
        let class = class_of(FIRST.next_power_of_two());
        let new = self.free[class];
        if new == 0 {
            return false;
        }
        let n = new as usize;
        self.free[class] = self.words[n + 1].0;
        self.words[n] = ObjId(1);
        self.words[n + 1] = v;
        *off = new;
        true
    }

    /// Appends `v` to the growable block at `*off` ([`NO_BLOCK`]: a new block with room for
    /// `hint` items), moving the block to a larger one when it is full. `hint` is the capacity
    /// to grow to (at least one more than the length). Never called on a fixed block.
    #[inline(always)]
    pub(crate) fn push(&mut self, off: &mut u32, v: ObjId, hint: u32) -> Result<(), PoolFull> {
        // NO_BLOCK's capacity is 0, so "no block yet" takes the slow path too.
        let o = *off as usize;
        let len = self.words[o].0;
        if len < self.words[o - 1].0 {
            self.words[o + 1 + len as usize] = v;
            self.words[o] = ObjId(len + 1);
            return Ok(());
        }
        self.push_grow(off, v, hint)
    }

    #[cold]
    #[inline(never)]
    fn push_grow(&mut self, off: &mut u32, v: ObjId, hint: u32) -> Result<(), PoolFull> {
        let o = *off as usize;
        let len = self.words[o].0;
        let want = hint.max(len + 1).next_power_of_two();
        let cap = self.words[o - 1].0;
        if *off != NO_BLOCK && o + 1 + cap as usize == self.words.len() {
            // The last block grows in place, by the hint or an eighth (the pool's own capacity
            // doubles without being touched, so a huge list costs little more than its items).
            let new_cap = hint.max(len + 1 + len / 8 + 4);
            self.extend((new_cap - cap) as usize)?;
            self.words[o - 1] = ObjId(new_cap);
        } else {
            let new = self.alloc_growable(len, want)?;
            let n = new as usize;
            if len <= 8 {
                for k in 0..len as usize {
                    self.words[n + 1 + k] = self.words[o + 1 + k];
                }
            } else {
                self.words.copy_within(o + 1..o + 1 + len as usize, n + 1);
            }
            if *off != NO_BLOCK {
                self.release(*off);
            }
            *off = new;
        }
        let o = *off as usize;
        self.words[o + 1 + len as usize] = v;
        self.words[o] = ObjId(len + 1);
        Ok(())
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
        Fixed(u8),
        Push(u8, u32, u8),
        Set(u8, u8, u32),
        Free(u8),
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            (1u8..40).prop_map(Step::Fixed),
            (any::<u8>(), any::<u32>(), 0u8..40).prop_map(|(i, v, h)| Step::Push(i, v, h)),
            (any::<u8>(), any::<u8>(), any::<u32>()).prop_map(|(i, k, v)| Step::Set(i, k, v)),
            any::<u8>().prop_map(Step::Free),
        ]
    }

    /// A block in the model: its offset, whether it is fixed, and its items.
    type Live = Vec<(u32, bool, Vec<ObjId>)>;

    proptest! {
        /// The pool behaves like one `Vec` per block, whatever the order of allocations,
        /// pushes, writes and frees, fixed and growable blocks mixed.
        #[test]
        fn pool_matches_vecs(steps in prop::collection::vec(step(), 0..300)) {
            let mut pool = SlotPool::default();
            let mut live: Live = Vec::new();
            for s in steps {
                match s {
                    Step::Fixed(l) => {
                        let off = pool.alloc_fixed(l as u32).unwrap();
                        prop_assert!(off != NO_BLOCK);
                        live.push((off, true, vec![ObjId::NIL; l as usize]));
                    }
                    Step::Push(i, v, h) => {
                        let growable: Vec<usize> =
                            (0..live.len()).filter(|&k| !live[k].1).collect();
                        if growable.is_empty() || i % 5 == 0 {
                            let mut off = NO_BLOCK;
                            pool.push(&mut off, ObjId(v), h as u32).unwrap();
                            live.push((off, false, vec![ObjId(v)]));
                        } else {
                            let k = growable[i as usize % growable.len()];
                            let (off, _, model) = &mut live[k];
                            pool.push(off, ObjId(v), h as u32).unwrap();
                            model.push(ObjId(v));
                        }
                    }
                    Step::Set(i, k, v) => {
                        if !live.is_empty() {
                            let j = i as usize % live.len();
                            let (off, _, model) = &mut live[j];
                            if !model.is_empty() {
                                let k = k as usize % model.len();
                                model[k] = ObjId(v);
                                pool.get_mut(*off)[k] = ObjId(v);
                            }
                        }
                    }
                    Step::Free(i) => {
                        if !live.is_empty() {
                            let (off, fixed, _) = live.swap_remove(i as usize % live.len());
                            if fixed {
                                pool.release_fixed(off);
                            } else {
                                pool.release(off);
                            }
                        }
                    }
                }
                for (off, _, model) in &live {
                    prop_assert_eq!(pool.get(*off), &model[..]);
                    prop_assert_eq!(pool.len(*off) as usize, model.len());
                    for (k, &v) in model.iter().enumerate() {
                        prop_assert_eq!(pool.item(*off, k as u32), Some(v));
                    }
                    prop_assert_eq!(pool.item(*off, model.len() as u32), None);
                }
            }
        }
    }

    proptest! {
        /// `push_no_move` then, when it declines, `push` lays out the pool exactly as `push`
        /// alone does: the same offsets, the same words (the executor's first-key fast path).
        #[test]
        fn push_no_move_is_push(steps in prop::collection::vec((any::<u8>(), any::<bool>()), 0..300)) {
            let (mut a, mut b) = (SlotPool::default(), SlotPool::default());
            let (mut offs_a, mut offs_b): (Vec<u32>, Vec<u32>) = (Vec::new(), Vec::new());
            for (n, (i, free)) in steps.into_iter().enumerate() {
                let v = ObjId(n as u32);
                if free && !offs_a.is_empty() {
                    let k = i as usize % offs_a.len();
                    let (oa, ob) = (offs_a.swap_remove(k), offs_b.swap_remove(k));
                    if oa != NO_BLOCK {
                        a.release(oa);
                        b.release(ob);
                    }
                    continue;
                }
                if offs_a.is_empty() || i % 3 == 0 {
                    offs_a.push(NO_BLOCK);
                    offs_b.push(NO_BLOCK);
                }
                let k = i as usize % offs_a.len();
                a.push(&mut offs_a[k], v, 4).unwrap();
                if !b.push_no_move::<4>(&mut offs_b[k], v) {
                    b.push(&mut offs_b[k], v, 4).unwrap();
                }
                prop_assert_eq!(&offs_a, &offs_b);
                prop_assert_eq!(&a.words, &b.words);
            }
        }
    }

    #[test]
    fn empty_block_is_empty() {
        let pool = SlotPool::default();
        assert!(pool.get(NO_BLOCK).is_empty());
        assert_eq!(pool.len(NO_BLOCK), 0);
        assert_eq!(pool.item(NO_BLOCK, 0), None);
    }

    #[test]
    fn last_block_grows_in_place_and_shrinks_when_freed() {
        let mut pool = SlotPool::default();
        let mut off = NO_BLOCK;
        for i in 0..100_000 {
            pool.push(&mut off, ObjId(i), 0).unwrap();
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
        let mut a = NO_BLOCK;
        for i in 0..3 {
            pool.push(&mut a, ObjId(i), 4).unwrap();
        }
        let mut b = NO_BLOCK;
        pool.push(&mut b, ObjId(9), 1).unwrap();
        pool.release(a);
        let mut c = NO_BLOCK;
        pool.push(&mut c, ObjId(7), 4).unwrap();
        assert_eq!(a, c, "a block of capacity 4 reuses the freed one");
        assert_eq!(pool.get(c), &[ObjId(7)]);
    }

    #[test]
    fn a_one_tuple_takes_two_words_and_freed_fixed_blocks_are_reused() {
        let mut pool = SlotPool::default();
        let a = pool.alloc_fixed(1).unwrap();
        assert_eq!(pool.words(), 2 + 2);
        let b = pool.alloc_fixed(3).unwrap();
        assert_eq!(pool.words(), 2 + 2 + 4);
        pool.get_mut(b)[1] = ObjId(5);
        pool.release_fixed(b);
        let c = pool.alloc_fixed(3).unwrap();
        assert_eq!(b, c);
        assert_eq!(pool.get(c), &[ObjId::NIL; 3], "a reused block starts nil");
        pool.release_fixed(a);
        // Lengths 9..=16 share capacity 16.
        let d = pool.alloc_fixed(10).unwrap();
        pool.release_fixed(d);
        let e = pool.alloc_fixed(16).unwrap();
        assert_eq!(d, e);
        assert_eq!(pool.len(e), 16);
    }

    #[test]
    fn fixed_classes_cover_every_length() {
        for len in (1..=70).chain([1 << 20, (1 << 31) - 1, 1 << 31]) {
            assert!(fixed_cap(len) >= len);
            assert!(fixed_class(len) < FIXED_CLASSES, "{len}");
        }
        assert_eq!(fixed_class(8), 7);
        assert_eq!(fixed_class(9), 8);
        assert_eq!(fixed_class(16), 8);
        assert_eq!(fixed_class(17), 9);
    }

    #[test]
    fn a_block_past_the_limit_is_refused_not_allocated() {
        let mut pool = SlotPool::default();
        assert_eq!(pool.extend(MAX_WORDS), Err(PoolFull));
        assert_eq!(pool.words(), 2, "nothing was allocated");
    }
}
