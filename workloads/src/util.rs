//! Helpers shared by the workloads: scaled counts, memory-budget guards, lists with a logical
//! length.

use gclab_core::params::{ParamError, ParamSpec, ParamType, Params};
use gclab_core::workload::{Emitter, Stop};

/// The `size` parameter every workload declares: a scale factor on its main count.
pub const SIZE: ParamSpec = ParamSpec {
    name: "size",
    ty: ParamType::U64,
    default: "1",
    help: "scale factor on the main count (size=100 is a hundredfold run)",
};

/// The `max_bytes` parameter of workloads whose heap grows exponentially with a parameter.
pub const MAX_BYTES: ParamSpec = ParamSpec {
    name: "max_bytes",
    ty: ParamType::U64,
    default: "4294967296",
    help: "refuse parameters whose minimum live heap would exceed this many modelled bytes",
};

/// Reads the count `key` (at least 1) and multiplies it by `size` (1..=10000); the product must
/// not exceed `max`.
pub fn scaled(p: &Params, key: &str, max: u64) -> Result<u64, ParamError> {
    let v = p.u64_in(key, 1, max)?;
    let size = p.u64_in("size", 1, 10_000)?;
    v.checked_mul(size).filter(|&n| n <= max).ok_or_else(|| {
        p.range_error(
            "size",
            format!("{key} * size = {v} * {size} exceeds the limit of {max}"),
        )
    })
}

/// Fails with a clear message when `need` modelled bytes exceed the `max_bytes` parameter.
pub fn check_budget(p: &Params, what: &str, need: u64) -> Result<(), ParamError> {
    let max = p.u64("max_bytes");
    if need > max {
        Err(p.range_error(
            "max_bytes",
            format!(
                "{what} needs at least {need} modelled bytes live, more than max_bytes={max}; \
                 lower the size or raise max_bytes"
            ),
        ))
    } else {
        Ok(())
    }
}

/// A list whose trailing slots may be `None` after a swap-remove: its logical and physical length.
#[derive(Copy, Clone, Debug, Default)]
pub struct Lens {
    /// Logical length.
    pub len: u32,
    /// Physical length (slots ever appended).
    pub phys: u32,
}

impl Lens {
    /// Pushes the value in register `src` onto the list in register `list`.
    pub fn push(&mut self, out: &mut Emitter<'_>, list: u32, src: u32) -> Result<(), Stop> {
        if self.len < self.phys {
            out.store(list, self.len, src)?;
        } else {
            out.append(list, src)?;
            self.phys += 1;
        }
        self.len += 1;
        Ok(())
    }

    /// `swap_remove(i)` on the list in register `list`, using register `tmp`; `tmp` is left empty.
    pub fn swap_remove(
        &mut self,
        out: &mut Emitter<'_>,
        list: u32,
        i: u32,
        tmp: u32,
    ) -> Result<(), Stop> {
        let last = self.len - 1;
        if i != last {
            out.load(tmp, list, last)?;
            out.store(list, i, tmp)?;
            out.clear(tmp)?;
        }
        // `tmp` is empty here: storing it writes `None`.
        out.store(list, last, tmp)?;
        self.len -= 1;
        Ok(())
    }
}

/// The number of 30-bit digits CPython uses for a non-negative int `v` (at least 1).
pub fn int_digits(v: u128) -> u32 {
    let bits = 128 - v.leading_zeros();
    bits.div_ceil(30).max(1)
}
