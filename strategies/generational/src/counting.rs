//! The young count (`count0`) and CPython 3.11's free lists (list, dict, tuples by size),
//! which allocations and deallocations through them bypass.

use crate::layout::{
    DICT_FREELIST_MAX, IS_DICT, IS_TUPLE, LIST_FREELIST_MAX, REVERSE_TRAVERSE, TUPLE_FREELIST_MAX,
    TUPLE_MAXSAVESIZE,
};
use crate::Generational;
use gclab_core::heap::{Heap, ObjId};
use gclab_core::kind::Kind;

impl Generational {
    /// The young-count side of allocating a container of `kind` with `len` slots. Returns
    /// true if it went through `_PyObject_GC_Link` (not a free list, not the empty tuple).
    #[inline]
    pub(crate) fn count_alloc(&mut self, kind: Kind, len: usize) -> bool {
        let from_free = match kind {
            Kind::List => take(&mut self.list_free),
            Kind::Dict => take(&mut self.dict_free),
            Kind::Tuple => {
                if len == 0 {
                    return false;
                }
                len < TUPLE_MAXSAVESIZE && take(&mut self.tuple_free[len])
            }
            Kind::Instance => false,
            _ => return false,
        };
        if from_free {
            return false;
        }
        self.count[0] += 1;
        true
    }

    /// The young-count side of deallocating a container (`PyObject_GC_Del` or a free list).
    #[inline]
    pub(crate) fn count_dealloc(&mut self, kind: Kind, len: usize) {
        let to_free = match kind {
            Kind::List => put(&mut self.list_free, LIST_FREELIST_MAX),
            Kind::Dict => put(&mut self.dict_free, DICT_FREELIST_MAX),
            Kind::Tuple => {
                if len == 0 {
                    return;
                }
                len < TUPLE_MAXSAVESIZE && put(&mut self.tuple_free[len], TUPLE_FREELIST_MAX)
            }
            Kind::Instance => false,
            _ => return,
        };
        if !to_free && self.count[0] > 0 {
            self.count[0] -= 1;
        }
    }

    /// [`Generational::count_dealloc`] for the live container `id`, its kind read from its
    /// flags `f` (the kind bits set at allocation) rather than from the heap.
    #[inline(always)]
    pub(crate) fn count_dealloc_flags(&mut self, heap: &Heap, id: ObjId, f: u8) {
        let to_free = match f & (IS_TUPLE | IS_DICT | REVERSE_TRAVERSE) {
            // a list
            REVERSE_TRAVERSE => put(&mut self.list_free, LIST_FREELIST_MAX),
            IS_DICT => put(&mut self.dict_free, DICT_FREELIST_MAX),
            // an instance, or a recording's object (whose count the recording carries)
            0 => {
                if heap.kind_is(id, Kind::Object) {
                    return;
                }
                false
            }
            // a tuple
            _ => {
                let len = heap.slots(id).len();
                if len == 0 {
                    return;
                }
                len < TUPLE_MAXSAVESIZE && put(&mut self.tuple_free[len], TUPLE_FREELIST_MAX)
            }
        };
        if !to_free && self.count[0] > 0 {
            self.count[0] -= 1;
        }
    }

    /// The `info` dict CPython builds (and frees) for one round of `gc.callbacks` calls.
    pub(crate) fn callback_info_dict(&mut self) {
        if self.cfg.callbacks {
            self.count_alloc(Kind::Dict, 0);
            self.count_dealloc(Kind::Dict, 0);
        }
    }
}

#[inline]
pub(crate) fn take(n: &mut u32) -> bool {
    if *n > 0 {
        *n -= 1;
        true
    } else {
        false
    }
}

#[inline]
pub(crate) fn put(n: &mut u32, max: u32) -> bool {
    if *n < max {
        *n += 1;
        true
    } else {
        false
    }
}
