//! Reading and writing `runs.jsonl`: whole files of [`RunRow`]s, tolerant of a last line cut by
//! a kill.

use super::{ResultsError, RunRow};
use std::io::BufRead;
use std::path::Path;

/// Reads a results file: every complete row, and the byte length of the complete part. A
/// last line without its newline (a write cut by a kill) is ignored; a broken line elsewhere
/// is an error. A missing file has no rows.
pub fn read_rows(path: &Path) -> Result<(Vec<RunRow>, u64), ResultsError> {
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), 0)),
        Err(e) => return Err(ResultsError::io(path, e)),
    };
    let mut reader = std::io::BufReader::new(file);
    let mut rows = Vec::new();
    let mut good = 0u64;
    let mut line = String::new();
    let mut n = 0;
    loop {
        line.clear();
        let got = reader
            .read_line(&mut line)
            .map_err(|e| ResultsError::io(path, e))?;
        if got == 0 {
            break;
        }
        n += 1;
        if !line.ends_with('\n') {
            break; // a partial last line: cut by a kill
        }
        if line.trim().is_empty() {
            good += got as u64;
            continue;
        }
        match serde_json::from_str::<RunRow>(&line) {
            Ok(r) => rows.push(r),
            Err(e) => {
                return Err(ResultsError::BadRow {
                    path: path.to_path_buf(),
                    line: n,
                    message: e.to_string(),
                })
            }
        }
        good += got as u64;
    }
    Ok((rows, good))
}

/// Writes rows to `path` atomically (a temporary file renamed over it).
pub fn write_rows(path: &Path, rows: &[RunRow]) -> Result<(), ResultsError> {
    let tmp = path.with_extension("jsonl.tmp");
    let mut out = String::new();
    for r in rows {
        out.push_str(&serde_json::to_string(r).map_err(|e| ResultsError::io(path, e))?);
        out.push('\n');
    }
    std::fs::write(&tmp, out).map_err(|e| ResultsError::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| ResultsError::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_last_line_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("runs.jsonl");
        std::fs::write(&p, "{\"schema\":").unwrap();
        let (rows, good) = read_rows(&p).unwrap();
        assert!(rows.is_empty());
        assert_eq!(good, 0);
        std::fs::write(&p, "garbage\n{}\n").unwrap();
        assert!(matches!(
            read_rows(&p),
            Err(ResultsError::BadRow { line: 1, .. })
        ));
    }
}
