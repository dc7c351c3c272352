//! The peers executing the Python program (the `-py` rows): the [`OpsSystem`] trait and
//! [`exec_ops`], which runs gclab's register-op stream natively, every reference taken or
//! dropped a `clone` or a `drop` of the system's pointer; one object type per peer.

use crate::adapters::{BaconRajan, Dumpster, GcModule, NativeRc, RustCc, System};
use crate::common::Capture;
use crate::run::{count_drops, timed, Run, Tally};
use gclab_core::kind::Kind;
use gclab_core::op::{GcOp, Op};
use std::cell::RefCell;

/// A system that can execute gclab's register-op stream natively: objects whose slots are a
/// `RefCell<Vec<Option<Ptr>>>` (`None` is Python's `None`), registers holding strong pointers.
pub trait OpsSystem {
    /// A strong pointer to an object.
    type Ptr: Clone;
    /// A new object with these slots.
    fn obj(slots: Vec<Option<Self::Ptr>>) -> Self::Ptr;
    /// The object's slots.
    fn slots(p: &Self::Ptr) -> &RefCell<Vec<Option<Self::Ptr>>>;
    /// A full collection.
    fn collect();
    /// Turns automatic collection on (the system's default) or off.
    fn auto(on: bool);
}

/// Executes gclab's register-op stream `py` (the churn workload's, [`py_stream`]) natively with
/// system `S`: every reference the modelled Python program takes and drops (loads into
/// registers, stores, appends, clears) becomes a `clone` or a `drop` of `S`'s pointer, with no
/// checks, no accounting and no strategy hooks; `gc.collect()`, `gc.disable()` and `gc.enable()`
/// ops call `S`'s collector and trigger switch. This is what a native implementation of the same
/// program costs, so the ratio of a gclab strategy's `-py` row to it is gclab's own overhead.
/// The stream is well formed (it comes from the workload), so errors are not handled. The
/// trigger is back on afterwards; the root list is not counted among the nodes freed.
pub fn replay_ops<S: OpsSystem>(py: &Capture) -> Run {
    let mut r = timed(|| run_ops::<S>(py.header.registers, &py.ops));
    S::auto(true);
    r.freed = r.freed.saturating_sub(1);
    r
}

/// The loop of [`replay_ops`]: [`exec_ops`], then the registers dropped and a collection.
pub fn run_ops<S: OpsSystem>(registers: u32, ops: &[Op]) {
    drop(exec_ops::<S>(registers, ops));
    S::collect();
}

/// Executes `ops` natively with system `S` and returns the registers as the last op left them
/// (so that a caller can keep their teardown out of a timing).
pub fn exec_ops<S: OpsSystem>(registers: u32, ops: &[Op]) -> Vec<Option<S::Ptr>> {
    let mut regs: Vec<Option<S::Ptr>> = vec![None; registers as usize];
    for op in ops {
        match *op {
            Op::Alloc { dst, kind, len } => {
                let slots = if kind == Kind::Tuple {
                    vec![None; len as usize]
                } else {
                    Vec::new()
                };
                regs[dst as usize] = Some(S::obj(slots));
            }
            Op::New { dst, .. } => regs[dst as usize] = Some(S::obj(Vec::new())),
            Op::Store { obj, slot, src } => {
                let v = regs[src as usize].clone();
                let o = regs[obj as usize].as_ref().expect("store into an object");
                let old = {
                    let mut s = S::slots(o).borrow_mut();
                    if slot as usize == s.len() {
                        s.push(v);
                        None
                    } else {
                        std::mem::replace(&mut s[slot as usize], v)
                    }
                };
                drop(old);
            }
            Op::Append { list, src } => {
                let v = regs[src as usize].clone();
                let o = regs[list as usize].as_ref().expect("append to a list");
                S::slots(o).borrow_mut().push(v);
            }
            Op::Load { dst, obj, slot } => {
                let v = {
                    let o = regs[obj as usize].as_ref().expect("load from an object");
                    let s = S::slots(o).borrow();
                    s[slot as usize].clone()
                };
                regs[dst as usize] = v;
            }
            Op::Copy { dst, src } => regs[dst as usize] = regs[src as usize].clone(),
            Op::Clear { dst } => regs[dst as usize] = None,
            Op::Gc(GcOp::Collect { .. }) => S::collect(),
            Op::Gc(GcOp::Disable) => S::auto(false),
            Op::Gc(GcOp::Enable) => S::auto(true),
            Op::Event { .. } | Op::Probe { .. } | Op::SafePoint | Op::Gc(_) | Op::Interp(_) => {}
        }
    }
    regs
}

/// The slots of an object of the op stream, for every system: a `RefCell<Vec<Option<P>>>`.
pub type Slots<P> = RefCell<Vec<Option<P>>>;

/// `impl OpsSystem for $sys`: objects `$obj` behind `$ptr`, made by `$new` from their slots;
/// collection and trigger as for the high-level system `$high`.
macro_rules! ops_system {
    ($sys:ident, $ptr:ty, $new:expr, $high:ty) => {
        impl OpsSystem for $sys {
            type Ptr = $ptr;
            #[inline]
            fn obj(slots: Vec<Option<Self::Ptr>>) -> Self::Ptr {
                $new(RefCell::new(slots))
            }
            #[inline]
            fn slots(p: &Self::Ptr) -> &Slots<Self::Ptr> {
                &p.slots
            }
            fn collect() {
                <$high>::collect();
            }
            fn auto(on: bool) {
                <$high>::auto(on);
            }
        }
    };
}

/// Native `Rc` on the Python program (`rc-py`).
pub struct RcOps;
pub struct RcObj {
    slots: Slots<std::rc::Rc<RcObj>>,
}
count_drops!(RcObj);
ops_system!(
    RcOps,
    std::rc::Rc<RcObj>,
    |slots| std::rc::Rc::new(RcObj { slots }),
    NativeRc
);

/// `gcmodule` on the Python program (`gcmodule-py`).
pub struct GcModuleOps;
pub struct GmObj {
    slots: Slots<gcmodule::Cc<GmObj>>,
}
impl gcmodule::Trace for GmObj {
    fn trace(&self, tracer: &mut gcmodule::Tracer) {
        self.slots.trace(tracer);
    }
    fn is_type_tracked() -> bool {
        true
    }
}
count_drops!(GmObj);
ops_system!(
    GcModuleOps,
    gcmodule::Cc<GmObj>,
    |slots| gcmodule::Cc::new(GmObj { slots }),
    GcModule
);

/// `dumpster` (unsync) on the Python program (`dumpster-py`).
pub struct DumpsterOps;
#[derive(dumpster::Trace)]
pub struct DObj {
    slots: Slots<dumpster::unsync::Gc<DObj>>,
}
count_drops!(DObj);
ops_system!(
    DumpsterOps,
    dumpster::unsync::Gc<DObj>,
    |slots| dumpster::unsync::Gc::new(DObj { slots }),
    Dumpster
);

/// `rust-cc` on the Python program (`rust-cc-py`).
pub struct RustCcOps;
#[derive(rust_cc::Trace, rust_cc::Finalize)]
pub struct CcObj {
    slots: Slots<rust_cc::Cc<CcObj>>,
    #[rust_cc(ignore)]
    _tally: Tally,
}
ops_system!(
    RustCcOps,
    rust_cc::Cc<CcObj>,
    |slots| rust_cc::Cc::new(CcObj {
        slots,
        _tally: Tally
    }),
    RustCc
);

/// `bacon_rajan_cc` on the Python program (`bacon_rajan_cc-py`).
pub struct BaconRajanOps;
pub struct BObj {
    slots: Slots<bacon_rajan_cc::Cc<BObj>>,
}
impl bacon_rajan_cc::Trace for BObj {
    fn trace(&self, tracer: &mut bacon_rajan_cc::Tracer) {
        self.slots.trace(tracer);
    }
}
count_drops!(BObj);
ops_system!(
    BaconRajanOps,
    bacon_rajan_cc::Cc<BObj>,
    |slots| bacon_rajan_cc::Cc::new(BObj { slots }),
    BaconRajan
);
