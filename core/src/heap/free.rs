//! Freeing objects: the four methods a strategy calls (see [`Heap`] for which to use when).
//!
//! Every free marks the object freed, updates the accounting at once and returns its slot
//! block to the pool (`free_common` and `release_block`); the four methods differ only in how
//! the strategy receives the object's children.
//!
//! The per-object work is shared (`free_common`, `release_block`); the loops over the children
//! are not, for measured reasons. `free_with` and `free_with_noting` stay two bodies: merging
//! them would put a copy-on-write test in the per-child loop of the path that has none, and
//! `free_with_noting` must borrow the block and the dirty bits at once, which a closure given to
//! `free_with` cannot. `free_into` extends the buffer from the block in one call: written as
//! `free_with` pushing each child, trial deletion's churn replay took 0.37 % more instructions
//! (callgrind, 86.83 M against 87.16 M). `free` keeps the nil slots (trial deletion counts them
//! as references traversed), so it reads the block itself.

use super::cow::{bit_clear, bit_get, bit_set, WriteCause};
use super::{Heap, ObjId, FREE};
use crate::kind::Kind;
use crate::slots::NO_BLOCK;

impl Heap {
    /// Frees a live object and appends its children (its non-nil slots, in slot order) to
    /// `children`, so that a strategy can release them. Accounting is updated at once. See
    /// [`Heap`] for which free to use when.
    ///
    /// # Panics
    /// If `id` is not live (a double free: a strategy bug).
    #[inline]
    pub fn free_into(&mut self, id: ObjId, children: &mut Vec<ObjId>) {
        let (off, code) = self.free_common(id);
        if off != NO_BLOCK {
            children.extend(self.pool.get(off).iter().filter(|c| !c.is_nil()));
            self.release_block(off, code);
        }
    }

    /// Frees a live object and calls `release(child)` for each of its non-nil slots, in slot
    /// order, before its slot block goes back to the pool: a strategy drops the references the
    /// object held without copying them anywhere. Accounting is updated at once, as with
    /// [`Heap::free_into`].
    ///
    /// `release` cannot reach the heap (it is borrowed meanwhile), so a strategy counts the
    /// reference-count writes it makes there and adds them to [`Heap::work`] afterwards. That
    /// is exact only while copy-on-write accounting is off ([`Heap::cow_active`]), when a
    /// write is nothing but a count; with it on, use [`Heap::free_into`] and
    /// [`Heap::note_rc_write`] for each child, which also marks the child's page.
    ///
    /// # Panics
    /// If `id` is not live (a double free: a strategy bug).
    #[inline]
    pub fn free_with(&mut self, id: ObjId, mut release: impl FnMut(ObjId)) {
        let (off, code) = self.free_common(id);
        if off != NO_BLOCK {
            for &c in self.pool.get(off) {
                if !c.is_nil() {
                    release(c);
                }
            }
            self.release_block(off, code);
        }
    }

    /// [`Heap::free_with`] for when copy-on-write accounting may be on: `release` answers
    /// whether it wrote the child's reference count, and the heap notes each such write as
    /// [`Heap::note_rc_write`] does (a work unit, and the child's page marked dirty if the child
    /// is a pre-fork object). The same frees and writes as [`Heap::free_into`] followed by
    /// `note_rc_write` for each written child, without the copy of the children.
    ///
    /// # Panics
    /// If `id` is not live (a double free: a strategy bug).
    #[inline]
    pub fn free_with_noting(&mut self, id: ObjId, mut release: impl FnMut(ObjId) -> bool) {
        let (off, code) = self.free_common(id);
        if off != NO_BLOCK {
            // Disjoint fields: the block is read while the work counter and the dirty bits are
            // written (what `note_rc_write` reaches through `&mut self`).
            let (pool, cow, pages, work) = (&self.pool, &mut self.cow, &self.pages, &mut self.work);
            for &c in pool.get(off) {
                if !c.is_nil() && release(c) {
                    work.rc_writes += 1;
                    if cow.active && bit_get(&cow.prefork, c.index()) {
                        let page = pages[c.index()] as usize;
                        bit_set(&mut cow.dirty[WriteCause::RefCount as usize], page);
                    }
                }
            }
            self.release_block(off, code);
        }
    }

    /// Frees a live object that has no slots (an atom, which can never hold a reference):
    /// [`Heap::free_with`] without the loop over the children, small enough to inline into a
    /// strategy's `Py_DECREF`.
    ///
    /// # Panics
    /// If `id` is not live (a double free: a strategy bug).
    #[inline(always)]
    pub fn free_atom(&mut self, id: ObjId) {
        let (off, code) = self.free_common(id);
        if off != NO_BLOCK {
            // Not reached for an atom; kept so that a misuse frees like `free_with` rather than
            // leaking the block.
            self.release_block(off, code);
        }
    }

    /// Frees a live object and returns all its slots (nil ones included), so that a strategy can
    /// release its children. Allocates the returned vector; [`Heap::free_into`] does not.
    ///
    /// # Panics
    /// If `id` is not live (a double free: a strategy bug).
    pub fn free(&mut self, id: ObjId) -> Vec<ObjId> {
        let (off, code) = self.free_common(id);
        let out = self.pool.get(off).to_vec();
        if off != NO_BLOCK {
            self.release_block(off, code);
        }
        out
    }

    /// Returns the slot block of a freed object of kind `code` to the pool: a tuple's is a
    /// fixed block, every other container's a growable one.
    #[inline(always)]
    fn release_block(&mut self, off: u32, code: u8) {
        if code == Kind::Tuple as u8 {
            self.pool.release_fixed(off);
        } else {
            self.pool.release(off);
        }
    }

    /// Marks `id` freed and updates the accounting; returns its slot block ([`NO_BLOCK`]:
    /// none), which the caller releases, and its kind code.
    #[inline(always)]
    fn free_common(&mut self, id: ObjId) -> (u32, u8) {
        let i = id.index();
        let code = self.kinds[i];
        assert!(code != FREE, "double free of {id:?}");
        self.kinds[i] = FREE;
        self.acct.live_objects -= 1;
        self.acct.live_bytes -= self.sizes[i] as u64;
        self.acct.frees_by_kind[code as usize] += 1;
        if self.cow.active {
            bit_clear(&mut self.cow.prefork, i);
        }
        if self.reuse_ids {
            self.free_ids.push(id.0);
        }
        (std::mem::replace(&mut self.slots[i], NO_BLOCK), code)
    }
}
