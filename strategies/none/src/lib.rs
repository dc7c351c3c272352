//! # gclab-none
//!
//! The no-collection baseline: never frees anything, keeps no metadata, costs nothing. It is the
//! "Epsilon" of lower-bound-overhead comparisons: what the program costs with no memory
//! management at all, and how much memory it needs if nothing is ever reclaimed.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use gclab_core::heap::{Heap, ObjId};
use gclab_core::strategy::{Guarantee, StrategyFactory, StrategyInfo};
use gclab_core::{ParamError, Params, Strategy, Versions};

/// Never frees. See the crate docs.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoCollection;

impl Strategy for NoCollection {
    #[inline(always)]
    fn alloc(&mut self, _heap: &mut Heap, _obj: ObjId) {}
    #[inline(always)]
    fn retain(&mut self, _heap: &mut Heap, _obj: ObjId) {}
    #[inline(always)]
    fn release(&mut self, _heap: &mut Heap, _obj: ObjId) {}
}

impl StrategyFactory for NoCollection {
    const INFO: StrategyInfo = StrategyInfo {
        name: "none",
        description: "never frees anything: the no-collection baseline",
        params: &[],
        presets: &[],
        guarantee: Guarantee::Safe,
        versions: Versions::NotCPython,
    };

    fn build(_params: &Params) -> Result<Self, ParamError> {
        Ok(NoCollection)
    }
}
