//! Helpers the workload crate's test files share: [`SMALL`], the small version of every
//! workload, and how to build one, make its stream header and run it through an executor.

use gclab_core::executor::{ExecConfig, Executor};
use gclab_core::op::StreamHeader;
use gclab_core::strategy::Strategy;
use gclab_core::workload;
use gclab_workloads::{find, Built};

/// Small versions of every workload (a few thousand ops each).
pub const SMALL: &[(&str, &[&str])] = &[
    ("cycles", &["count=300"]),
    ("refcount-walkthrough", &[]),
    ("fidelity", &["size=200"]),
    ("concat", &["reps=40"]),
    ("concat", &["reps=40", "variant=join"]),
    ("gen-vs-list", &["n=20", "reps=3"]),
    ("gen-vs-list", &["n=20", "reps=3", "variant=gen"]),
    ("map-vs-loop", &["words=20", "n_max=9", "reps=30"]),
    (
        "map-vs-loop",
        &["words=20", "n_max=9", "reps=30", "variant=map"],
    ),
    ("combinations", &["n=8", "reps=2"]),
    ("combinations", &["n=8", "reps=2", "variant=itertools"]),
    (
        "thresholds",
        &["before=20", "after=5", "rounds=10", "batch=20"],
    ),
    ("binary-trees", &["depth=6"]),
    (
        "gcbench",
        &[
            "stretch_depth=6",
            "long_lived_depth=4",
            "array_size=100",
            "min_depth=2",
            "max_depth=4",
        ],
    ),
    ("churn", &["ops=3000", "roots=10"]),
    ("create_gc_cycles", &["cycles=5", "links=4", "loops=3"]),
    ("gc_traversal", &["levels=30", "loops=2"]),
    ("btree", &["records=100", "degree=3"]),
    (
        "web-service",
        &[
            "modules=5",
            "funcs=3",
            "consts=3",
            "cache_entries=50",
            "config=20",
            "requests=30",
            "rows=5",
            "headers=3",
            "lookups=3",
            "config_reads=3",
            "calls=5",
            "memo_size=5",
        ],
    ),
];

/// `p` as owned strings.
pub fn params(p: &[&str]) -> Vec<String> {
    p.iter().map(|s| s.to_string()).collect()
}

/// Workload `name` built with `p`, and the header of its stream with `seed`.
pub fn header_of(name: &str, p: &[String], seed: u64) -> (Built, StreamHeader) {
    let built = find(name, p).expect("small params are valid");
    let header = workload::stream_header(name, &built.params, &*built.workload, seed);
    (built, header)
}

/// Runs workload `name` with `p` and `seed` under strategy `s` to the end.
pub fn run<S: Strategy>(s: S, name: &str, p: &[String], seed: u64) -> Executor<S> {
    let (built, header) = header_of(name, p, seed);
    let mut ex = Executor::new(s, &header, ExecConfig::default());
    workload::stream(name, &built.params, &*built.workload, seed, &mut ex).unwrap();
    ex.finish().unwrap();
    ex
}
