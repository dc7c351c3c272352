//! The strategy's configuration (its resolved parameters) and why a collection ran.

/// The strategy's configuration (resolved parameters).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// `gc.set_threshold` values at start (C ints; 0 and negatives as CPython treats them).
    pub thresholds: [i64; 3],
    /// 3.12+: schedule automatic collections and run them at the next safe point.
    pub deferred: bool,
    /// How dicts are tracked: lazily (3.11-3.13) or from their creation (3.14+).
    pub dicts: DictTracking,
    /// When tuples are tracked: at creation (3.11-3.14.0) or when they hold a container
    /// (3.14.1+).
    pub tuples: TupleTracking,
    /// `gc.isenabled()` at start.
    pub enabled: bool,
    /// A `gc.callbacks` hook is installed (two `info` dicts per collection).
    pub callbacks: bool,
    /// Manual policy: collect `manual_generation` every this many ops (0: off).
    pub every_ops: u64,
    /// Manual policy: collect `manual_generation` every this many ms of wall time (0: off).
    pub every_ms: u64,
    /// Manual policy: collect `manual_generation` when the workload emits this event.
    pub on_event: Option<String>,
    /// `gc.freeze()` when the workload emits this event (`startup` in a recording: the program's
    /// start-up is over).
    pub freeze_on_event: Option<String>,
    /// The generation the manual policies collect.
    pub manual_generation: usize,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            thresholds: [700, 10, 10],
            deferred: false,
            dicts: DictTracking::Lazy,
            tuples: TupleTracking::Always,
            enabled: true,
            callbacks: false,
            every_ops: 0,
            every_ms: 0,
            on_event: None,
            freeze_on_event: None,
            manual_generation: 2,
        }
    }
}

/// A parameter with a few named values, one per CPython era: the enum, its values' names and
/// eras, and parsing.
macro_rules! tracking_choice {
    ($(#[$m:meta])* $ty:ident { $($(#[$vm:meta])* $v:ident = $name:literal, $era:literal;)+ }) => {
        $(#[$m])*
        #[derive(Copy, Clone, Debug, PartialEq, Eq)]
        pub enum $ty {
            $($(#[$vm])* $v,)+
        }

        impl $ty {
            /// Every value, in order.
            pub const ALL: &'static [$ty] = &[$($ty::$v),+];

            /// The parameter value.
            pub fn name(self) -> &'static str {
                match self {
                    $($ty::$v => $name,)+
                }
            }

            /// The CPython releases that behave this way.
            pub fn era(self) -> &'static str {
                match self {
                    $($ty::$v => $era,)+
                }
            }

            /// The value named `s`, if any.
            pub fn from_name(s: &str) -> Option<$ty> {
                Self::ALL.iter().copied().find(|v| v.name() == s)
            }

            /// What is valid, for error messages: `lazy (3.11-3.13), always (3.14+)`.
            pub fn valid() -> String {
                Self::ALL
                    .iter()
                    .map(|v| format!("{} ({})", v.name(), v.era()))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        }
    };
}

tracking_choice! {
    /// How the collector tracks dicts (parameter `dicts`).
    DictTracking {
        /// CPython 3.11-3.13 (`MAINTAIN_TRACKING` in `Objects/dictobject.c`): a dict starts
        /// untracked, becomes tracked when a value that may be tracked is stored into it, and a
        /// full collection untracks the dicts that hold only atoms (`untrack_dicts`).
        Lazy = "lazy", "3.11-3.13";
        /// CPython 3.14 and later (gh-127010, PR #127027, "Don't lazily track and untrack
        /// dicts"): a dict is tracked when it is created, as a list is, and no collection
        /// untracks it.
        Always = "always", "3.14+";
    }
}

tracking_choice! {
    /// When the collector starts tracking a tuple (parameter `tuples`). Either way, collections
    /// untrack the tuples none of whose items may be tracked (`untrack_tuples`,
    /// `_PyTuple_MaybeUntrack`).
    TupleTracking {
        /// CPython 3.11-3.14.0: every tuple is tracked when it is created.
        Always = "always", "3.11-3.14.0";
        /// CPython 3.14.1 and later (gh-139951, PR #140262, backported to 3.14.1 by PR
        /// #140447): a tuple built from its items is tracked only if one of them is a GC object
        /// (a conservative test: a tuple of untracked tuples is tracked), so a tuple of atoms is
        /// never tracked. A gclab tuple is allocated and then filled, so the model tracks it
        /// when the first container is stored into it (traces store a tuple's items right after
        /// its allocation).
        Containers = "containers", "3.14.1+";
    }
}

/// Why a collection ran (for the counters).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Reason {
    /// The allocation trigger (`count0 > threshold0`).
    Automatic,
    /// `gc.collect()`.
    Manual,
    /// A manual policy of a disabled collector (every N ops, every T ms, on an event).
    Policy,
}
