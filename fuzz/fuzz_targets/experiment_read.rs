//! Fuzzes the experiment-file reader: arbitrary bytes as `experiment.toml` must parse or be
//! refused with an error, never panic; a TOML syntax error names its line and column.
#![no_main]
use gclab::experiment::{Experiment, ExperimentError};
use libfuzzer_sys::fuzz_target;
use std::path::{Path, PathBuf};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Experiment::parse(text, Path::new("fuzz.toml"), "fuzz".into(), PathBuf::from(".")) {
        Ok(e) => {
            // Expanding the cells must not panic either (bounded by the file's own lists).
            let n = e.cells().len();
            assert!(n < usize::MAX);
        }
        Err(ExperimentError::Parse { line, column, .. }) => {
            assert!(line >= 1 && column >= 1, "parse error without a position");
        }
        Err(_) => {}
    }
});
