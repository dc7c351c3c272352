//! Object identity: [`ObjId`], an object's index in the heap's arena.
//!
//! A module of its own so that the heap ([`crate::heap`]) and its slot pool both take it from
//! here, without importing each other. `gclab_core::heap::ObjId` and `gclab_core::ObjId`
//! re-export it.

use serde::{Deserialize, Serialize};

/// An object's index in the heap's arena. [`ObjId::NIL`] stands for `None` / an empty register.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ObjId(pub u32);

impl ObjId {
    /// No object: an empty register or slot (`None`).
    pub const NIL: ObjId = ObjId(u32::MAX);

    /// True if this is [`ObjId::NIL`].
    #[inline]
    pub const fn is_nil(self) -> bool {
        self.0 == u32::MAX
    }

    /// The index as `usize`, for indexing a strategy's own metadata vectors.
    #[inline]
    pub const fn index(self) -> usize {
        self.0 as usize
    }
}
