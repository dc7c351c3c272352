//! `refcount-walkthrough`: the guide's `sys.getrefcount` session as ops.
//!
//! ```text
//! my_str = "Hello world!"            -> probe: 1 (the guide's getrefcount shows 2)
//! my_arr = []; my_arr.append(my_str) -> probe: 2 (guide: 3)
//! my_dict = {}; my_dict['my_str'] = my_str -> probe: 3 (guide: 4)
//! my_arr = []                        -> probe: 2 (guide: 3)
//! my_dict['my_str'] = "Some other string" -> probe: 1 (guide: 2)
//! ```
//!
//! Each count is one less than the guide shows because `sys.getrefcount`'s own argument is a
//! temporary reference, and a probe here takes none.

use gclab_core::kind::Kind;
use gclab_core::op::StreamHeader;
use gclab_core::params::{ParamError, Params};
use gclab_core::workload::{Emitter, Stop, Workload, WorkloadEntry, WorkloadInfo};
use rand_chacha::ChaCha8Rng;

/// Catalogue entry.
pub const ENTRY: WorkloadEntry = WorkloadEntry {
    info: WorkloadInfo {
        name: "refcount-walkthrough",
        description: "the guide's sys.getrefcount session: reference counts 1, 2, 3, 2, 1",
        params: &[],
    },
    build,
};

/// The probe labels, in order, with the count the guide prints for each.
pub const STEPS: [(&str, u64); 5] = [
    ("my_str = \"Hello world!\"", 2),
    ("my_arr.append(my_str)", 3),
    ("my_dict['my_str'] = my_str", 4),
    ("my_arr = []", 3),
    ("my_dict['my_str'] = \"Some other string\"", 2),
];

/// The workload.
#[derive(Debug, Clone, Copy)]
pub struct Walkthrough;

fn build(_: &Params) -> Result<Box<dyn Workload>, ParamError> {
    Ok(Box::new(Walkthrough))
}

const MY_STR: u32 = 0;
const MY_ARR: u32 = 1;
const MY_DICT: u32 = 2;
const TMP: u32 = 3;

impl Workload for Walkthrough {
    fn header(&self) -> StreamHeader {
        StreamHeader::new(4).names(STEPS.iter().map(|(s, _)| s))
    }

    fn generate(&self, _rng: &mut ChaCha8Rng, out: &mut Emitter<'_>) -> Result<(), Stop> {
        out.alloc(MY_STR, Kind::Str, 12)?;
        out.probe(MY_STR, 0)?;
        out.alloc(MY_ARR, Kind::List, 0)?;
        out.append(MY_ARR, MY_STR)?;
        out.probe(MY_STR, 1)?;
        out.alloc(MY_DICT, Kind::Dict, 0)?;
        out.store(MY_DICT, 0, MY_STR)?;
        out.probe(MY_STR, 2)?;
        out.alloc(MY_ARR, Kind::List, 0)?;
        out.probe(MY_STR, 3)?;
        out.alloc(TMP, Kind::Str, 17)?;
        out.store(MY_DICT, 0, TMP)?;
        out.clear(TMP)?;
        out.probe(MY_STR, 4)?;
        for r in [MY_STR, MY_ARR, MY_DICT] {
            out.clear(r)?;
        }
        Ok(())
    }
}
