//! The simulated heap: objects in a struct-of-arrays arena, the registers (roots), exact
//! accounting, deterministic work counters, the collection recorder, copy-on-write page tracking
//! and the reachability oracle.
//!
//! The executor owns the heap and mutates it for the program; a strategy reads it and frees
//! objects through [`Heap::free`]. Objects are `u32` indices ([`ObjId`]), never boxes.

pub use crate::id::ObjId;
use crate::kind::{dict_size, list_capacity, list_size, Kind, ALL_KINDS, NUM_KINDS};
use crate::recorder::{CollectionRecord, Recorder};
use crate::slots::{PoolFull, SlotPool, MAX_WORDS, NO_BLOCK};
use serde::{Deserialize, Serialize};
use std::time::Instant;

const FREE: u8 = u8::MAX;

/// Exact, deterministic accounting of the simulated heap.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Accounting {
    /// Objects currently live (allocated, not freed).
    pub live_objects: u64,
    /// Modelled bytes currently live.
    pub live_bytes: u64,
    /// Highest `live_objects` seen.
    pub peak_objects: u64,
    /// Highest `live_bytes` seen.
    pub peak_bytes: u64,
    /// Objects allocated, by [`Kind`] code.
    pub allocs_by_kind: [u64; NUM_KINDS],
    /// Objects freed, by [`Kind`] code.
    pub frees_by_kind: [u64; NUM_KINDS],
    /// Modelled bytes allocated in total, including list and dict growth (a resize counts the
    /// whole new block, as a `realloc` that moves would).
    pub bytes_allocated: u64,
}

impl Accounting {
    /// Total objects allocated.
    pub fn allocations(&self) -> u64 {
        self.allocs_by_kind.iter().sum()
    }
    /// Total objects freed.
    pub fn frees(&self) -> u64 {
        self.frees_by_kind.iter().sum()
    }
}

/// Deterministic work units: identical on every machine and every run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Work {
    /// Ops executed.
    pub ops: u64,
    /// Objects visited by a collector (each visit of an object in a collection pass).
    pub objects_visited: u64,
    /// References traversed by a collector.
    pub refs_traversed: u64,
    /// Reference-count writes (increments and decrements).
    pub rc_writes: u64,
    /// Writes a collector makes to object headers (gc_refs, list links, marks).
    pub gc_header_writes: u64,
}

/// What caused a write to an object's memory, for copy-on-write accounting after a `fork`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum WriteCause {
    /// A reference-count update.
    RefCount = 0,
    /// A collector's own header write (gc_refs, relinking, marking).
    Collector = 1,
    /// The program writing a slot.
    Mutator = 2,
}

/// Copy-on-write report: 4 KiB pages of the pre-fork heap written after the `fork` event.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CowReport {
    /// Pages holding at least one object live at the fork.
    pub prefork_pages: u64,
    /// Pre-fork pages written after the fork, by any cause.
    pub dirty_pages: u64,
    /// Pre-fork pages written by reference-count updates.
    pub dirty_by_refcount: u64,
    /// Pre-fork pages written by the collector.
    pub dirty_by_collector: u64,
    /// Pre-fork pages written by the program's stores.
    pub dirty_by_mutator: u64,
}

/// The capacity of the slot block a dict's or instance's first key gets: most instances and
/// small dicts never need to move it (two moves, for two keys, with a block of one).
const FIRST_KEY_BLOCK: u32 = 4;

/// CPython's capacity for a list's first item (`list_resize` from 0 to 1 allocates 4 slots), and
/// the slot block its first append gets (`push`'s hint for it is `min(4, 2 * 0 + 16)`).
const FIRST_APPEND_CAP: u32 = list_capacity(0, 0, 1);
const _: () = assert!(FIRST_APPEND_CAP == 4);

/// Page size for copy-on-write accounting.
pub const PAGE_SIZE: u64 = 4096;

#[derive(Default, Clone, Debug)]
struct Cow {
    active: bool,
    /// Bit per object id: live at the fork and not freed since.
    prefork: Vec<u64>,
    /// Bit per page: dirtied by cause.
    dirty: [Vec<u64>; 3],
    prefork_pages: u64,
}

#[inline]
fn bit_get(v: &[u64], i: usize) -> bool {
    v.get(i >> 6).is_some_and(|w| w & (1 << (i & 63)) != 0)
}
#[inline]
fn bit_set(v: &mut Vec<u64>, i: usize) {
    let w = i >> 6;
    if w >= v.len() {
        v.resize(w + 1, 0);
    }
    v[w] |= 1 << (i & 63);
}
#[inline]
fn bit_clear(v: &mut [u64], i: usize) {
    if let Some(w) = v.get_mut(i >> 6) {
        *w &= !(1 << (i & 63));
    }
}
fn bit_count(v: &[u64]) -> u64 {
    v.iter().map(|w| w.count_ones() as u64).sum()
}

/// Why a mutator operation on the heap failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HeapError {
    /// The object is not a container of a kind that supports the operation.
    #[error("a {kind} has no slots for this operation")]
    NotContainer {
        /// The object's kind.
        kind: &'static str,
    },
    /// The slot index is out of range.
    #[error("slot {slot} out of range for a {kind} with {len} slots")]
    SlotOutOfRange {
        /// The requested slot.
        slot: u32,
        /// The object's kind.
        kind: &'static str,
        /// Its current number of slots.
        len: u32,
    },
    /// `append` on something that is not a list.
    #[error("append needs a list, found a {kind}")]
    NotList {
        /// The object's kind.
        kind: &'static str,
    },
    /// The simulator's slot pool is full: all containers together hold at most
    /// [`MAX_SLOT_WORDS`] words of references and slot-block headers (16 GiB).
    #[error("the simulated heap holds more references than the simulator's limit of {} slots (16 GiB of slot storage); run a smaller workload (for example a lower `size` parameter)", MAX_SLOT_WORDS)]
    SlotPoolFull,
}

/// The most words of slot storage (references plus one or two header words per block) the
/// simulated heap can hold: the slot pool's offsets are `u32`.
pub const MAX_SLOT_WORDS: usize = MAX_WORDS;

impl From<PoolFull> for HeapError {
    fn from(_: PoolFull) -> HeapError {
        HeapError::SlotPoolFull
    }
}

/// The simulated heap. See the module docs.
///
/// # Freeing: which method a strategy should call
///
/// Every free marks the object freed, updates the accounting at once and returns its slot
/// block to the pool (the private `free_common` and `release_block`); the four methods differ
/// only in how the strategy receives the object's children:
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
///
/// `free_into` is a thin wrapper over `free_with`. `free_with` and `free_with_noting` stay two
/// bodies: merging them would put a copy-on-write test in the per-child loop of the path
/// that has none, and `free_with_noting` must borrow the block and the dirty bits at once,
/// which a closure given to `free_with` cannot. `free` keeps the nil slots (trial deletion
/// counts them as references traversed), so it reads the block itself.
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

    /// Turns per-object page tracking (for copy-on-write accounting) off or on. It is on by
    /// default; the executor turns it off when its stream declares no `fork` event, since only
    /// a fork needs pages. If [`Heap::fork`] is called while tracking is off, pages are assigned
    /// then, in index order (as a compacted heap would lay the objects out), and tracking turns
    /// back on.
    pub fn set_page_tracking(&mut self, on: bool) {
        if on && !self.track_pages {
            self.assign_pages_by_index();
        }
        if !on {
            self.pages = Vec::new();
        }
        self.track_pages = on;
    }

    fn assign_pages_by_index(&mut self) {
        let mut at = 0u64;
        self.pages = self
            .kinds
            .iter()
            .zip(&self.sizes)
            .map(|(&k, &sz)| {
                if k == FREE {
                    return 0;
                }
                let page = (at / PAGE_SIZE).min(u32::MAX as u64) as u32;
                at += sz as u64;
                page
            })
            .collect();
        self.bump = self.bump.max(at);
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

    // ----- freeing (strategies) -----

    /// Frees a live object and appends its children (its non-nil slots, in slot order) to
    /// `children`, so that a strategy can release them: [`Heap::free_with`] pushing each child.
    /// Accounting is updated at once. See [`Heap`] for which free to use when.
    ///
    /// # Panics
    /// If `id` is not live (a double free: a strategy bug).
    #[inline]
    pub fn free_into(&mut self, id: ObjId, children: &mut Vec<ObjId>) {
        self.free_with(id, |c| children.push(c));
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

    // ----- write notifications (strategies) -----

    /// Records a reference-count write to `id`'s header (a work unit, and a copy-on-write fault
    /// if `id` lies in the pre-fork heap).
    #[inline]
    pub fn note_rc_write(&mut self, id: ObjId) {
        self.work.rc_writes += 1;
        if self.cow.active {
            self.cow_touch(id, WriteCause::RefCount);
        }
    }

    /// Records a collector's write to `id`'s header (gc_refs, list links, mark bits).
    #[inline]
    pub fn note_gc_write(&mut self, id: ObjId) {
        self.work.gc_header_writes += 1;
        if self.cow.active {
            self.cow_touch(id, WriteCause::Collector);
        }
    }

    /// True once a `fork` event has started copy-on-write accounting: a strategy that batches
    /// its header-write counts must then report each written object with
    /// [`Heap::note_gc_write`] / [`Heap::note_rc_write`].
    #[inline]
    pub fn cow_active(&self) -> bool {
        self.cow.active
    }

    /// A write to `id`'s memory after the fork: the test of whether `id` is a pre-fork object is
    /// inline (most writes after a fork are to objects allocated since), the page's dirty bit is
    /// set out of line.
    #[inline(always)]
    fn cow_touch(&mut self, id: ObjId, cause: WriteCause) {
        if bit_get(&self.cow.prefork, id.index()) {
            self.cow_dirty(id, cause);
        }
    }

    #[cold]
    #[inline(never)]
    fn cow_dirty(&mut self, id: ObjId, cause: WriteCause) {
        let page = self.pages[id.index()] as usize;
        bit_set(&mut self.cow.dirty[cause as usize], page);
    }

    // ----- collections (strategies) -----

    /// Starts timing a collection of `generation` (use -1 when generations do not apply).
    pub fn begin_collection(&mut self, generation: i32) -> CollectionStart {
        CollectionStart {
            generation,
            start_ns: self.now_ns(),
            work_before: self.work.objects_visited + self.work.refs_traversed,
            at_op: self.work.ops,
        }
    }

    /// Ends a collection begun with [`Heap::begin_collection`]: `examined` objects were
    /// considered, `freed` were reclaimed (the collector's own count).
    pub fn end_collection(&mut self, start: CollectionStart, examined: u64, freed: u64) {
        let end = self.now_ns();
        let work = self.work.objects_visited + self.work.refs_traversed - start.work_before;
        self.recorder.push(CollectionRecord {
            at_op: start.at_op,
            start_ns: start.start_ns,
            duration_ns: end.saturating_sub(start.start_ns),
            work,
            generation: start.generation,
            examined,
            freed,
            live_bytes_after: self.acct.live_bytes,
            live_objects_after: self.acct.live_objects,
        });
    }

    /// The collections recorded so far.
    pub fn collections(&self) -> &[CollectionRecord] {
        self.recorder.records()
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
        Ok(id)
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

    #[inline]
    fn note_mutator_write(&mut self, id: ObjId) {
        if self.cow.active {
            self.cow_touch(id, WriteCause::Mutator);
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
            Kind::Dict | Kind::Instance => {
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
        if (code != Kind::Dict as u8 && code != Kind::Instance as u8)
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

    // ----- copy-on-write (executor) -----

    /// Marks the start of copy-on-write accounting: every object live now is in the pre-fork
    /// heap (the parent's memory shared with a forked child).
    pub fn fork(&mut self) {
        if !self.track_pages {
            self.set_page_tracking(true);
        }
        // Both bitmaps are sized up front: one pass over the heap, no growth check per bit.
        let mut prefork = vec![0u64; self.kinds.len().div_ceil(64)];
        let n_pages = self.pages.iter().max().map_or(0, |&p| p as usize + 1);
        let mut pages = vec![0u64; n_pages.div_ceil(64)];
        for (i, (&k, &p)) in self.kinds.iter().zip(&self.pages).enumerate() {
            if k != FREE {
                prefork[i >> 6] |= 1 << (i & 63);
                pages[p as usize >> 6] |= 1 << (p & 63);
            }
        }
        self.cow = Cow {
            active: true,
            prefork,
            dirty: Default::default(),
            prefork_pages: bit_count(&pages),
        };
    }

    /// The copy-on-write report (all zero when no fork happened).
    pub fn cow_report(&self) -> CowReport {
        let d = &self.cow.dirty;
        let n = d.iter().map(|v| v.len()).max().unwrap_or(0);
        let union: u64 = (0..n)
            .map(|w| {
                let x = d
                    .iter()
                    .map(|v| v.get(w).copied().unwrap_or(0))
                    .fold(0, |a, b| a | b);
                x.count_ones() as u64
            })
            .sum();
        CowReport {
            prefork_pages: self.cow.prefork_pages,
            dirty_pages: union,
            dirty_by_refcount: bit_count(&d[0]),
            dirty_by_collector: bit_count(&d[1]),
            dirty_by_mutator: bit_count(&d[2]),
        }
    }

    // ----- the oracle -----

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

    /// True if freed indices are reused (false in `--verify` mode, where they are quarantined so
    /// that every use of a freed object is caught).
    pub fn reuses_ids(&self) -> bool {
        self.reuse_ids
    }

    /// Live objects by kind: a breakdown for reports.
    pub fn live_by_kind(&self) -> [u64; NUM_KINDS] {
        let mut out = [0; NUM_KINDS];
        for k in ALL_KINDS {
            out[k as usize] =
                self.acct.allocs_by_kind[k as usize] - self.acct.frees_by_kind[k as usize];
        }
        out
    }
}

/// A collection in progress; see [`Heap::begin_collection`].
#[derive(Copy, Clone, Debug)]
pub struct CollectionStart {
    generation: i32,
    start_ns: u64,
    work_before: u64,
    at_op: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::executor::{ExecConfig, Executor};
    use crate::op::{Op, StreamHeader};
    use crate::strategy::Strategy;
    use crate::workload::{ExecErrorKind, OpSink, Stop};

    /// A strategy that keeps nothing.
    struct Nothing;
    impl Strategy for Nothing {
        fn alloc(&mut self, _: &mut Heap, _: ObjId) {}
        fn retain(&mut self, _: &mut Heap, _: ObjId) {}
        fn release(&mut self, _: &mut Heap, _: ObjId) {}
    }

    fn small_heap(words: usize) -> Heap {
        let mut h = Heap::new(2, true);
        h.pool = SlotPool::with_limit(words);
        h
    }

    #[test]
    fn a_full_slot_pool_refuses_appends_and_tuples_and_changes_nothing() {
        let mut h = small_heap(64);
        let l = h.alloc(Kind::List, 0).unwrap();
        let x = h.alloc(Kind::Float, 0).unwrap();
        let mut appended = 0;
        let err = loop {
            let before = (h.acct.clone(), h.size(l), h.slots(l).len());
            match h.append(l, x) {
                Ok(()) => appended += 1,
                Err(e) => {
                    assert_eq!((h.acct.clone(), h.size(l), h.slots(l).len()), before);
                    break e;
                }
            }
        };
        assert_eq!(err, HeapError::SlotPoolFull);
        assert!(appended > 8, "{appended}");
        let objects = h.acct.live_objects;
        assert_eq!(h.alloc(Kind::Tuple, 100), Err(HeapError::SlotPoolFull));
        assert_eq!(
            h.acct.live_objects, objects,
            "the refused tuple was not allocated"
        );
        assert!(err.to_string().contains("limit"), "{err}");
    }

    #[test]
    fn a_full_slot_pool_stops_the_run_with_an_error_naming_the_op() {
        let header = StreamHeader::new(2);
        let mut ops = vec![
            Op::Alloc {
                dst: 0,
                kind: Kind::List,
                len: 0,
            },
            Op::Alloc {
                dst: 1,
                kind: Kind::Int,
                len: 1,
            },
        ];
        ops.extend((0..100).map(|_| Op::Append { list: 0, src: 1 }));
        // Through the chunk path and the one-op path alike.
        for one_by_one in [false, true] {
            let mut ex = Executor::new(Nothing, &header, ExecConfig::default());
            ex.heap = small_heap(64);
            let r = if one_by_one {
                ops.iter().try_for_each(|op| ex.op(op))
            } else {
                ex.ops(&ops)
            };
            match r {
                Err(Stop::Exec(e)) => {
                    assert_eq!(e.kind, ExecErrorKind::Heap(HeapError::SlotPoolFull));
                    assert!(e.op.contains("Append"), "{}", e.op);
                }
                other => panic!("expected a slot-pool error, got {other:?}"),
            }
        }
    }

    /// `free_with_noting` makes exactly the writes and marks exactly the pages that
    /// `free_into` followed by `note_rc_write` for each written child does, on a list whose
    /// items lie on many pages, some allocated before the fork and some after, some skipped.
    #[test]
    fn free_with_noting_notes_what_free_into_and_note_rc_write_do() {
        let build = || {
            let mut h = Heap::new(1, true);
            let l = h.alloc(Kind::List, 0).unwrap();
            let mut items = Vec::new();
            for n in 0..1200 {
                if n == 600 {
                    h.fork();
                }
                let x = h.alloc(Kind::Float, 0).unwrap();
                h.append(l, x).unwrap();
                items.push(x);
            }
            // A nil slot, which neither form reports.
            let t = h.alloc(Kind::Tuple, 3).unwrap();
            h.append(l, t).unwrap();
            (h, l, items)
        };
        // Skip every third child (as `delete_garbage` skips the other garbage), and every child
        // on the first two pages (floats of 24 bytes, 170 to a page), so that some pre-fork
        // pages stay clean.
        let written = |c: ObjId| c.0 >= 345 && c.0 % 3 != 0;
        let (mut a, la, _) = build();
        let mut children = Vec::new();
        a.free_into(la, &mut children);
        for &c in &children {
            if written(c) {
                a.note_rc_write(c);
            }
        }
        let (mut b, lb, items) = build();
        let mut seen = Vec::new();
        b.free_with_noting(lb, |c| {
            seen.push(c);
            written(c)
        });
        assert_eq!(seen, children);
        assert_eq!(seen.len(), items.len() + 1);
        assert_eq!(b.work, a.work);
        assert_eq!(b.acct, a.acct);
        let report = b.cow_report();
        assert_eq!(report, a.cow_report());
        assert!(report.dirty_by_refcount > 1, "{report:?}");
        assert!(
            report.dirty_by_refcount < report.prefork_pages,
            "{report:?}"
        );
    }
}
