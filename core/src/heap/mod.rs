//! The simulated heap: objects in a struct-of-arrays arena, the registers (roots), exact
//! accounting, deterministic work counters, the collection recorder, copy-on-write page tracking
//! and the reachability oracle.
//!
//! The executor owns the heap and mutates it for the program; a strategy reads it and frees
//! objects through [`Heap::free`]. Objects are `u32` indices ([`ObjId`]), never boxes.
//!
//! The heap's parts: this module holds [`Heap`] with its reading methods and the mutation and
//! executor fast paths (the hot path); `free` the free methods, `cow` copy-on-write
//! accounting and the write notifications, `accounting` the counters and the collection
//! recorder's hooks, `oracle` reachability, `error` [`HeapError`].

mod accounting;
mod cow;
mod error;
mod free;
mod oracle;
#[cfg(test)]
mod tests;

pub use crate::id::ObjId;
pub use accounting::{Accounting, CollectionStart, CowReport, Work};
pub use cow::{WriteCause, PAGE_SIZE};
pub use error::{HeapError, MAX_SLOT_WORDS};

use crate::kind::{dict_size, list_capacity, list_size, Kind};
use crate::recorder::Recorder;
use crate::slots::{PoolFull, SlotPool, NO_BLOCK};
use cow::Cow;
use std::time::Instant;

const FREE: u8 = u8::MAX;

/// The capacity of the slot block a dict's or instance's first key gets: most instances and
/// small dicts never need to move it (two moves, for two keys, with a block of one).
const FIRST_KEY_BLOCK: u32 = 4;

/// CPython's capacity for a list's first item (`list_resize` from 0 to 1 allocates 4 slots), and
/// the slot block its first append gets (`push`'s hint for it is `min(4, 2 * 0 + 16)`).
const FIRST_APPEND_CAP: u32 = list_capacity(0, 0, 1);
const _: () = assert!(FIRST_APPEND_CAP == 4);

/// The simulated heap. See the module docs.
///
/// # Freeing: which method a strategy should call
///
/// Every free marks the object freed, updates the accounting at once and returns its slot
/// block to the pool; the four methods differ only in how the strategy receives the object's
/// children:
///
/// - [`Heap::free_with`]: `release(child)` for each non-nil slot, straight from the block. For
///   a cascade on the hot path while copy-on-write accounting is off (refcount, generational).
/// - [`Heap::free_with_noting`]: `release(child) -> bool` for each non-nil slot, and the heap
///   notes each write as [`Heap::note_rc_write`] does. For the same cascade while
///   [`Heap::cow_active`].
/// - [`Heap::free_into`]: the non-nil children appended to a `Vec` the strategy keeps, without
///   allocating once it has grown. For a worklist (mark-sweep, a collector's sweep, a
///   cascade with [`Heap::note_rc_write`] per child).
/// - [`Heap::free`]: a new `Vec` of every slot, nil ones included. For code off the hot path.
#[derive(Debug)]
pub struct Heap {
    kinds: Vec<u8>,
    sizes: Vec<u32>,
    /// The 4 KiB page each object was allocated on (for copy-on-write accounting). Kept only
    /// while `track_pages` is set: an executor whose stream has no `fork` event turns it off,
    /// which saves 4 bytes per object and a store per allocation.
    pages: Vec<u32>,
    track_pages: bool,
    /// Per object, the offset of its slot block in `pool` ([`NO_BLOCK`]: no slots).
    slots: Vec<u32>,
    pool: SlotPool,
    free_ids: Vec<u32>,
    reuse_ids: bool,
    regs: Vec<ObjId>,
    /// The next simulated address: objects are laid out in allocation order by a bump pointer
    /// and freed memory is never reused for addresses. That is a simplification of pymalloc,
    /// which reuses a freed block of the same size class within its pool; it can only place
    /// objects allocated after frees on later pages than CPython would, and it is what page
    /// numbers for copy-on-write accounting are derived from.
    bump: u64,
    /// Exact accounting.
    pub acct: Accounting,
    /// Deterministic work counters; strategies add their own work here.
    pub work: Work,
    recorder: Recorder,
    cow: Cow,
    start: Instant,
}

impl Heap {
    /// A heap with `registers` empty registers. With `reuse_ids == false` freed indices are
    /// quarantined (never reused), so any later reference to a freed object is caught: the
    /// `--verify` mode runs this way.
    pub fn new(registers: u32, reuse_ids: bool) -> Heap {
        Heap {
            kinds: Vec::new(),
            sizes: Vec::new(),
            pages: Vec::new(),
            track_pages: true,
            slots: Vec::new(),
            pool: SlotPool::default(),
            free_ids: Vec::new(),
            reuse_ids,
            regs: vec![ObjId::NIL; registers as usize],
            bump: 0,
            acct: Accounting::default(),
            work: Work::default(),
            recorder: Recorder::default(),
            cow: Cow::default(),
            start: Instant::now(),
        }
    }

    // ----- reading (strategies) -----

    /// One past the highest object index ever used: size a strategy's metadata vectors by this.
    #[inline]
    pub fn capacity(&self) -> usize {
        self.kinds.len()
    }

    /// True if `id` names a live (allocated, not freed) object.
    #[inline]
    pub fn is_live(&self, id: ObjId) -> bool {
        self.kinds.get(id.index()).is_some_and(|&k| k != FREE)
    }

    /// The kind of a live object.
    ///
    /// # Panics
    /// If `id` is not live (a strategy bug).
    #[inline]
    pub fn kind(&self, id: ObjId) -> Kind {
        let code = self.kinds[id.index()];
        match Kind::from_code(code) {
            Some(k) => k,
            None => panic!("kind of freed object {id:?}"),
        }
    }

    /// True if the live object `id` is of kind `kind`: [`Heap::kind`] as one compare, for a
    /// hot path that asks about one kind.
    #[inline]
    pub fn kind_is(&self, id: ObjId, kind: Kind) -> bool {
        self.kinds[id.index()] == kind as u8
    }

    /// The modelled size in bytes of a live object.
    #[inline]
    pub fn size(&self, id: ObjId) -> u32 {
        self.sizes[id.index()]
    }

    /// The slots (outgoing references) of an object; [`ObjId::NIL`] entries are `None`.
    #[inline]
    pub fn slots(&self, id: ObjId) -> &[ObjId] {
        self.pool.get(self.slots[id.index()])
    }

    /// The registers: the roots.
    #[inline]
    pub fn registers(&self) -> &[ObjId] {
        &self.regs
    }

    /// Iterates over every live object.
    pub fn live_ids(&self) -> impl Iterator<Item = ObjId> + '_ {
        self.kinds
            .iter()
            .enumerate()
            .filter(|(_, &k)| k != FREE)
            .map(|(i, _)| ObjId(i as u32))
    }

    /// Nanoseconds since the heap was created (the run's clock).
    #[inline]
    pub fn now_ns(&self) -> u64 {
        self.start.elapsed().as_nanos() as u64
    }

    /// True if freed indices are reused (false in `--verify` mode, where they are quarantined so
    /// that every use of a freed object is caught).
    pub fn reuses_ids(&self) -> bool {
        self.reuse_ids
    }

    // ----- mutation (executor) -----

    /// Allocates an object; it starts with no references to it. Fails only when a tuple's
    /// items would take the slot pool past its limit ([`HeapError::SlotPoolFull`]), in which
    /// case nothing was allocated.
    #[inline(always)]
    pub fn alloc(&mut self, kind: Kind, len: u32) -> Result<ObjId, HeapError> {
        let size = kind.initial_size(len);
        // A tuple's items exist from the start (nil); a list allocated with pre-allocated slots
        // gets its block at its first append, sized by its modelled capacity.
        let slots = if kind == Kind::Tuple && len > 0 {
            self.pool.alloc_fixed(len)?
        } else {
            NO_BLOCK
        };
        Ok(self.alloc_block(kind, size, slots))
    }

    /// [`Heap::alloc`] of a recording's object ([`Kind::Object`] or [`Kind::Leaf`]) of `size`
    /// bytes, for the executor's `New`: such an object starts without slots and its size is its
    /// length, so this cannot fail and needs no dispatch on the kind.
    #[inline(always)]
    pub(crate) fn alloc_recorded(&mut self, kind: Kind, size: u32) -> ObjId {
        debug_assert!(kind.is_recorded());
        debug_assert_eq!(kind.initial_size(size), size);
        self.alloc_block(kind, size, NO_BLOCK)
    }

    /// The allocation of an object of `size` bytes whose slot block (or [`NO_BLOCK`]) is
    /// `slots`.
    #[inline(always)]
    fn alloc_block(&mut self, kind: Kind, size: u32, slots: u32) -> ObjId {
        let bump = self.bump;
        self.bump += size as u64;
        let id = match self.free_ids.pop() {
            Some(i) => {
                let iu = i as usize;
                self.kinds[iu] = kind as u8;
                self.sizes[iu] = size;
                self.slots[iu] = slots;
                if self.track_pages {
                    self.pages[iu] = (bump / PAGE_SIZE).min(u32::MAX as u64) as u32;
                }
                ObjId(i)
            }
            None => {
                let i = self.kinds.len() as u32;
                self.kinds.push(kind as u8);
                self.sizes.push(size);
                self.slots.push(slots);
                if self.track_pages {
                    self.pages
                        .push((bump / PAGE_SIZE).min(u32::MAX as u64) as u32);
                }
                ObjId(i)
            }
        };
        self.acct.allocs_by_kind[kind as usize] += 1;
        self.acct.bytes_allocated += size as u64;
        self.acct.live_objects += 1;
        self.acct.live_bytes += size as u64;
        self.bump_peaks();
        id
    }

    #[inline]
    fn bump_peaks(&mut self) {
        if self.acct.live_bytes > self.acct.peak_bytes {
            self.acct.peak_bytes = self.acct.live_bytes;
        }
        if self.acct.live_objects > self.acct.peak_objects {
            self.acct.peak_objects = self.acct.live_objects;
        }
    }

    fn resize_to(&mut self, i: usize, new_size: u32) {
        let old = self.sizes[i];
        if new_size != old {
            self.sizes[i] = new_size;
            self.acct.live_bytes = self.acct.live_bytes - old as u64 + new_size as u64;
            if new_size > old {
                self.acct.bytes_allocated += new_size as u64;
            }
            self.bump_peaks();
        }
    }

    /// `obj[slot] = val`; returns the reference the slot held before (the caller releases it).
    #[inline(always)]
    pub fn store(&mut self, obj: ObjId, slot: u32, val: ObjId) -> Result<ObjId, HeapError> {
        let i = obj.index();
        let code = self.kinds[i];
        // Hot path: overwriting an existing slot of a tuple, list, dict or instance.
        if code >= Kind::Tuple as u8 && code != FREE {
            if let Some(old) = self.replace_slot(i, slot, val) {
                return Ok(old);
            }
        }
        self.store_slow(obj, slot, val)
    }

    /// Overwrites an existing slot of live container `i` and notes the write; the old value,
    /// or `None` (nothing done) if the slot does not exist.
    #[inline(always)]
    fn replace_slot(&mut self, i: usize, slot: u32, val: ObjId) -> Option<ObjId> {
        let old = self.pool.replace(self.slots[i], slot, val)?;
        self.note_mutator_write(ObjId(i as u32));
        Some(old)
    }

    /// [`Heap::store`] when the slot does not exist yet: adding a dict key or an attribute, or
    /// an error.
    #[cold]
    #[inline(never)]
    fn store_slow(&mut self, obj: ObjId, slot: u32, val: ObjId) -> Result<ObjId, HeapError> {
        let i = obj.index();
        let kind = self.kind(obj);
        let len = self.pool.len(self.slots[i]);
        match kind {
            Kind::Tuple | Kind::List => {
                if slot >= len {
                    return Err(HeapError::SlotOutOfRange {
                        slot,
                        kind: kind.name(),
                        len,
                    });
                }
            }
            Kind::Dict | Kind::Instance | Kind::Object => {
                if slot > len {
                    return Err(HeapError::SlotOutOfRange {
                        slot,
                        kind: kind.name(),
                        len,
                    });
                }
                if slot == len {
                    // A dict or instance with `slot` keys: only a full slot pool can refuse.
                    self.add_key(i, slot, val).ok_or(HeapError::SlotPoolFull)?;
                    return Ok(ObjId::NIL);
                }
            }
            _ => return Err(HeapError::NotContainer { kind: kind.name() }),
        }
        self.note_mutator_write(obj);
        match self.pool.replace(self.slots[i], slot, val) {
            Some(old) => Ok(old),
            None => Err(HeapError::SlotOutOfRange {
                slot,
                kind: kind.name(),
                len,
            }),
        }
    }

    /// `list.append(val)`, growing the list's modelled size as CPython 3.11 does.
    #[inline(always)]
    pub fn append(&mut self, list: ObjId, val: ObjId) -> Result<(), HeapError> {
        let i = list.index();
        if self.kinds[i] != Kind::List as u8 {
            return Err(self.not_list(list));
        }
        self.push_item(i, val)?;
        Ok(())
    }

    /// Appends `val` to live list `i` and notes the write. A list with spare capacity takes the
    /// item without a resize. For a list grown by appends this is what `list_capacity` decides
    /// anyway (CPython keeps `allocated / 2 <= size <= allocated`); for a list allocated with
    /// pre-allocated slots it models a builder that fills them directly (`list_extend`), which
    /// never shrinks.
    /// Nothing is done if the slot pool is full.
    #[inline(always)]
    fn push_item(&mut self, i: usize, val: ObjId) -> Result<(), PoolFull> {
        let n = self.pool.len(self.slots[i]);
        let allocated = (self.sizes[i] - 56) / 8;
        if n < allocated {
            // The block grows to the modelled capacity (bounded, for a list pre-allocated with
            // a huge length), rounded up to a power of two by the pool.
            self.pool
                .push(&mut self.slots[i], val, allocated.min(2 * n + 16))?;
        } else {
            self.append_grow(i, n, allocated, val)?;
        }
        self.note_mutator_write(ObjId(i as u32));
        Ok(())
    }

    /// An append to a full list: the push, then CPython's `list_resize` to the next capacity
    /// (in that order, so that a full slot pool leaves the list as it was).
    #[inline(never)]
    fn append_grow(
        &mut self,
        i: usize,
        n: u32,
        allocated: u32,
        val: ObjId,
    ) -> Result<(), PoolFull> {
        // The first append to an empty list (most of the grows: a list built by appends starts
        // empty) takes a freed block of FIRST_APPEND_CAP from its free list when one waits,
        // without `push_grow`'s general path: the same block `push` would give (the
        // `push_no_move_is_push` proptest) and the same size as `list_capacity`.
        if n == 0
            && self
                .pool
                .push_no_move::<FIRST_APPEND_CAP>(&mut self.slots[i], val)
        {
            self.resize_to(i, list_size(FIRST_APPEND_CAP));
            return Ok(());
        }
        let cap = list_capacity(allocated, n, n + 1);
        self.pool
            .push(&mut self.slots[i], val, cap.min(2 * n + 16))?;
        if cap != allocated {
            self.resize_to(i, list_size(cap));
        }
        Ok(())
    }

    #[cold]
    #[inline(never)]
    fn not_list(&self, list: ObjId) -> HeapError {
        HeapError::NotList {
            kind: self.kind(list).name(),
        }
    }

    /// `obj[slot]`.
    #[inline(always)]
    pub fn load(&self, obj: ObjId, slot: u32) -> Result<ObjId, HeapError> {
        let i = obj.index();
        let code = self.kinds[i];
        if code >= Kind::Tuple as u8 && code != FREE {
            if let Some(v) = self.pool.item(self.slots[i], slot) {
                return Ok(v);
            }
        }
        Err(self.load_error(obj, slot))
    }

    #[cold]
    #[inline(never)]
    fn load_error(&self, obj: ObjId, slot: u32) -> HeapError {
        let kind = self.kind(obj);
        if !kind.is_container() {
            return HeapError::NotContainer { kind: kind.name() };
        }
        HeapError::SlotOutOfRange {
            slot,
            kind: kind.name(),
            len: self.pool.len(self.slots[obj.index()]),
        }
    }

    // ----- executor fast paths -----
    //
    // Each returns `None` when anything is out of the ordinary (an empty or out-of-range
    // register, a freed object, a missing slot, a kind that does not fit, a list that must
    // grow); the executor then re-runs the op through the general path, which builds the exact
    // error or handles the rare case. They mutate nothing before every check has passed.

    /// True if `v` is nil or a live object: one load and one compare for a live object (the
    /// nil index is out of range, so nil takes the second test only when the first fails).
    #[inline(always)]
    fn nil_or_live(&self, v: ObjId) -> bool {
        match self.kinds.get(v.index()) {
            Some(&k) => k != FREE,
            None => v.is_nil(),
        }
    }

    /// The index of the live container (tuple, list, dict or instance) in register `r`.
    #[inline(always)]
    fn reg_container(&self, r: usize) -> Option<usize> {
        let i = self.regs.get(r)?.index();
        let &code = self.kinds.get(i)?;
        (code >= Kind::Tuple as u8 && code != FREE).then_some(i)
    }

    /// `regs[dst] <- regs[obj][slot]` without the reference-count hooks: the loaded value
    /// (nil or live), or `None` for the general path.
    #[inline(always)]
    pub(crate) fn fast_load(&self, obj: usize, slot: u32) -> Option<ObjId> {
        let i = self.reg_container(obj)?;
        let v = self.pool.item(self.slots[i], slot)?;
        self.nil_or_live(v).then_some(v)
    }

    /// The value of register `r` if it is nil or live (`None` for an out-of-range register or
    /// a freed object).
    #[inline(always)]
    pub(crate) fn fast_value(&self, r: usize) -> Option<ObjId> {
        let v = *self.regs.get(r)?;
        self.nil_or_live(v).then_some(v)
    }

    /// `regs[obj][slot] = regs[src]` for an existing slot, or a new key of a dict or instance:
    /// (container, value, old value).
    #[inline(always)]
    pub(crate) fn fast_store(
        &mut self,
        obj: usize,
        slot: u32,
        src: usize,
    ) -> Option<(ObjId, ObjId, ObjId)> {
        let i = self.reg_container(obj)?;
        let v = self.fast_value(src)?;
        let old = match self.replace_slot(i, slot, v) {
            Some(old) => old,
            None => {
                self.add_key(i, slot, v)?;
                ObjId::NIL
            }
        };
        Some((ObjId(i as u32), v, old))
    }

    /// `obj[slot] = val` adding key `slot` to live dict or instance `i` that has exactly `slot`
    /// keys (the next key in the model's numbering), growing a dict's modelled size as CPython
    /// does; `None` (nothing done) for anything else, which [`Heap::store_slow`] handles, or
    /// when the slot pool is full.
    ///
    /// Short for the common case (the block has room, or the first key takes a freed block; a
    /// dict's modelled size is updated here too); a block that must move goes further out of
    /// line.
    /// (Inlined into the executor's loop it made every other op slower: more registers live.)
    #[inline(never)]
    fn add_key(&mut self, i: usize, slot: u32, val: ObjId) -> Option<()> {
        let code = self.kinds[i];
        if (code != Kind::Dict as u8 && code != Kind::Instance as u8 && code != Kind::Object as u8)
            || slot != self.pool.len(self.slots[i])
        {
            return None;
        }
        if self
            .pool
            .push_no_move::<FIRST_KEY_BLOCK>(&mut self.slots[i], val)
        {
            if code == Kind::Dict as u8 {
                self.resize_to(i, dict_size(slot + 1));
            }
            self.note_mutator_write(ObjId(i as u32));
            return Some(());
        }
        self.add_key_slow(i, slot, val, code)
    }

    /// [`Heap::add_key`] for a block that must move (or a first key with no freed block).
    #[cold]
    #[inline(never)]
    fn add_key_slow(&mut self, i: usize, slot: u32, val: ObjId, code: u8) -> Option<()> {
        self.pool
            .push(&mut self.slots[i], val, FIRST_KEY_BLOCK)
            .ok()?;
        if code == Kind::Dict as u8 {
            self.resize_to(i, dict_size(slot + 1));
        }
        self.note_mutator_write(ObjId(i as u32));
        Some(())
    }

    /// `regs[list].append(regs[src])` (growing the list as CPython does): (list, value).
    #[inline(always)]
    pub(crate) fn fast_append(&mut self, list: usize, src: usize) -> Option<(ObjId, ObjId)> {
        let i = self.regs.get(list)?.index();
        if *self.kinds.get(i)? != Kind::List as u8 {
            return None;
        }
        let v = self.fast_value(src)?;
        self.push_item(i, v).ok()?;
        Some((ObjId(i as u32), v))
    }

    /// Sets a register, returning what it held.
    #[inline]
    pub fn set_reg(&mut self, r: usize, val: ObjId) -> ObjId {
        std::mem::replace(&mut self.regs[r], val)
    }
}
