//! Compiling the recorder for an interpreter, once, into a cache.
//!
//! The sources are embedded in this crate ([`RECORDER_C`], [`SHIM_C`], [`BOOT_PY`]). For an
//! [`Interpreter`], [`ensure_built`] compiles
//!
//! * the extension `_gclab_recorder<EXT_SUFFIX>`:
//!   `cc -O2 -fPIC -shared -I<include> gclab_recorder.c -o ... -ldl -lpthread` (with the parts
//!   it `#include`s, [`RECORDER_PARTS`], written beside it), and
//! * on 3.11/3.12 the shim `libgclab_shim.so`: `cc -O2 -fPIC -shared gclab_shim.c -o ... -ldl`,
//!
//! and writes the boot script `_gclab_boot.py` beside them, in
//! `<cache root>/cpython-<version>-<key>/`, where the key hashes the sources, the interpreter's
//! path, its full version and its include directory. The cache root is `$GCLAB_CACHE_DIR`, else
//! `$XDG_CACHE_HOME/gclab/recorder`, else `~/.cache/gclab/recorder` ([`cache_root`]).
//!
//! A build happens in a fresh temporary directory under the root, which is renamed into place
//! when complete: two processes building the same key at once both succeed, one rename wins and
//! the other's directory is discarded. Nothing is fetched from the network.

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::RecordError;
use crate::python::{Interpreter, Mechanism};

/// The CPython extension module `_gclab_recorder` (3.11, 3.12, 3.13).
pub const RECORDER_C: &str = include_str!("../c/gclab_recorder.c");
/// The parts `gclab_recorder.c` `#include`s, by file name: one translation unit in several
/// files, so that the build stays one compiler call.
pub const RECORDER_PARTS: [(&str, &str); 2] = [
    ("gclab_sizes.c", include_str!("../c/gclab_sizes.c")),
    ("gclab_marks.c", include_str!("../c/gclab_marks.c")),
];
/// The `LD_PRELOAD` shim for 3.11/3.12.
pub const SHIM_C: &str = include_str!("../c/gclab_shim.c");
/// The launcher script the interpreter runs.
pub const BOOT_PY: &str = include_str!("../python/_gclab_boot.py");

/// File name of the boot script in a build directory.
pub const BOOT_NAME: &str = "_gclab_boot.py";
/// File name of the shim in a build directory.
pub const SHIM_NAME: &str = "libgclab_shim.so";
/// Written last into a build directory: its presence means the build is complete.
const COMPLETE: &str = "complete";
/// Bumped when the layout of a build directory changes.
const CACHE_LAYOUT: &str = "gclab-record cache layout 1";

/// The files of a completed build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Built {
    /// The build directory (goes first on the recorded program's `PYTHONPATH`).
    pub dir: PathBuf,
    /// The compiled extension module.
    pub extension: PathBuf,
    /// The boot script.
    pub boot: PathBuf,
    /// The `LD_PRELOAD` shim ([`Mechanism::Interposition`] only).
    pub shim: Option<PathBuf>,
    /// Whether this call compiled it (false: found in the cache).
    pub compiled: bool,
}

/// The cache root: `$GCLAB_CACHE_DIR`, else `$XDG_CACHE_HOME/gclab/recorder`, else
/// `$HOME/.cache/gclab/recorder`. Empty variables count as unset.
pub fn cache_root() -> Result<PathBuf, RecordError> {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(dir) = var("GCLAB_CACHE_DIR") {
        return Ok(PathBuf::from(dir));
    }
    if let Some(dir) = var("XDG_CACHE_HOME") {
        return Ok(PathBuf::from(dir).join("gclab").join("recorder"));
    }
    if let Some(home) = var("HOME") {
        return Ok(PathBuf::from(home)
            .join(".cache")
            .join("gclab")
            .join("recorder"));
    }
    Err(RecordError::NoCacheDir)
}

/// 64-bit FNV-1a, fed field by field (each field's length first, so fields cannot run together).
struct Fnv(u64);

impl Fnv {
    fn new() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
    fn bytes(&mut self, b: &[u8]) -> &mut Self {
        for &x in (b.len() as u64).to_le_bytes().iter().chain(b) {
            self.0 ^= u64::from(x);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
        self
    }
}

/// The cache key of `interp`: a hash of the embedded sources, the interpreter's path, its full
/// version and its include directory.
pub fn cache_key(interp: &Interpreter) -> String {
    let os = |p: &Path| p.as_os_str().as_encoded_bytes().to_vec();
    // two hashes with different seeds: 128 bits, so distinct inputs never share a directory
    let mut parts: Vec<Vec<u8>> = vec![
        CACHE_LAYOUT.as_bytes().to_vec(),
        RECORDER_C.as_bytes().to_vec(),
        RECORDER_PARTS[0].1.as_bytes().to_vec(),
        RECORDER_PARTS[1].1.as_bytes().to_vec(),
        SHIM_C.as_bytes().to_vec(),
        BOOT_PY.as_bytes().to_vec(),
        os(&interp.path),
        format!("{} {:#x}", interp.version_string(), interp.hexversion).into_bytes(),
        os(&interp.include_dir),
        interp.ext_suffix.as_bytes().to_vec(),
    ];
    let mut a = Fnv::new();
    for p in &parts {
        a.bytes(p);
    }
    parts.reverse();
    let mut b = Fnv::new();
    b.bytes(b"second");
    for p in &parts {
        b.bytes(p);
    }
    format!("{:016x}{:016x}", a.0, b.0)
}

/// The C compiler command: `$CC` (split on whitespace, so `ccache gcc` works), else `cc`.
/// [`RecordError::NoCompiler`] if its program is not found.
pub fn compiler() -> Result<Vec<OsString>, RecordError> {
    let cc = std::env::var("CC")
        .ok()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| "cc".to_string());
    let words: Vec<OsString> = cc.split_whitespace().map(OsString::from).collect();
    let program = PathBuf::from(&words[0]);
    if find_program(&program).is_none() {
        return Err(RecordError::NoCompiler { tried: cc });
    }
    Ok(words)
}

/// `program` if it names a file, or its first match on `PATH`.
fn find_program(program: &Path) -> Option<PathBuf> {
    if program.components().count() > 1 {
        return program.is_file().then(|| program.to_path_buf());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// The build directory's name for `interp`: readable version, then the key.
fn dir_name(interp: &Interpreter) -> String {
    format!("cpython-{}-{}", interp.version_string(), cache_key(interp))
}

/// The build for `interp` in the default [`cache_root`], compiling it if needed.
pub fn ensure_built(interp: &Interpreter) -> Result<Built, RecordError> {
    ensure_built_in(interp, &cache_root()?)
}

/// The build for `interp` under `root`, compiling it if needed (atomically, see the module doc).
pub fn ensure_built_in(interp: &Interpreter, root: &Path) -> Result<Built, RecordError> {
    let name = dir_name(interp);
    let dir = root.join(&name);
    if dir.join(COMPLETE).is_file() {
        return Ok(files(interp, dir, false));
    }
    let cc = compiler()?;
    fs::create_dir_all(root)
        .map_err(|e| RecordError::io(format!("creating the cache {}", root.display()), e))?;
    let tmp = TempDir::new(root, &name)?;
    compile_into(interp, &cc, &tmp.0)?;
    fs::write(tmp.0.join(COMPLETE), b"")
        .map_err(|e| RecordError::io(format!("writing {}", tmp.0.display()), e))?;
    if dir.exists() && !dir.join(COMPLETE).is_file() {
        // left by hand or by a crash of an older layout: rebuilt from scratch
        let _ = fs::remove_dir_all(&dir);
    }
    match fs::rename(&tmp.0, &dir) {
        Ok(()) => {
            tmp.keep();
            Ok(files(interp, dir, true))
        }
        // another process finished the same build first: use theirs
        Err(_) if dir.join(COMPLETE).is_file() => Ok(files(interp, dir, false)),
        Err(e) => Err(RecordError::io(
            format!("moving the build into {}", dir.display()),
            e,
        )),
    }
}

fn files(interp: &Interpreter, dir: PathBuf, compiled: bool) -> Built {
    Built {
        extension: dir.join(format!("_gclab_recorder{}", interp.ext_suffix)),
        boot: dir.join(BOOT_NAME),
        shim: (interp.mechanism == Mechanism::Interposition).then(|| dir.join(SHIM_NAME)),
        dir,
        compiled,
    }
}

fn compile_into(interp: &Interpreter, cc: &[OsString], dir: &Path) -> Result<(), RecordError> {
    let write = |name: &str, text: &str| {
        let p = dir.join(name);
        fs::write(&p, text).map_err(|e| RecordError::io(format!("writing {}", p.display()), e))?;
        Ok::<PathBuf, RecordError>(p)
    };
    let recorder_c = write("gclab_recorder.c", RECORDER_C)?;
    for (name, text) in RECORDER_PARTS {
        write(name, text)?;
    }
    write(BOOT_NAME, BOOT_PY)?;
    let mut include = OsString::from("-I");
    include.push(&interp.include_dir);
    run_cc(
        cc,
        &[
            "-O2".into(),
            "-fPIC".into(),
            "-shared".into(),
            include,
            recorder_c.into(),
            "-o".into(),
            dir.join(format!("_gclab_recorder{}", interp.ext_suffix))
                .into(),
            "-ldl".into(),
            "-lpthread".into(),
        ],
        &format!(
            "the recorder extension for CPython {} ({})",
            interp.version_string(),
            interp.path.display()
        ),
    )?;
    if interp.mechanism == Mechanism::Interposition {
        let shim_c = write("gclab_shim.c", SHIM_C)?;
        run_cc(
            cc,
            &[
                "-O2".into(),
                "-fPIC".into(),
                "-shared".into(),
                shim_c.into(),
                "-o".into(),
                dir.join(SHIM_NAME).into(),
                "-ldl".into(),
            ],
            "the LD_PRELOAD shim",
        )?;
    }
    Ok(())
}

fn run_cc(cc: &[OsString], args: &[OsString], what: &str) -> Result<(), RecordError> {
    let command = cc
        .iter()
        .chain(args)
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    let out = Command::new(&cc[0])
        .args(&cc[1..])
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => RecordError::NoCompiler {
                tried: cc[0].to_string_lossy().into_owned(),
            },
            _ => RecordError::CompileFailed {
                what: what.to_string(),
                command: command.clone(),
                stderr: e.to_string(),
            },
        })?;
    if out.status.success() {
        Ok(())
    } else {
        Err(RecordError::CompileFailed {
            what: what.to_string(),
            command,
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }
}

/// A build directory that is removed unless kept.
struct TempDir(PathBuf, bool);

impl TempDir {
    fn new(root: &Path, name: &str) -> Result<Self, RecordError> {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let path = root.join(format!(".tmp-{name}-{}-{nanos}", std::process::id()));
        fs::create_dir(&path)
            .map_err(|e| RecordError::io(format!("creating {}", path.display()), e))?;
        Ok(TempDir(path, false))
    }
    fn keep(mut self) {
        self.1 = true;
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if !self.1 {
            let _ = fs::remove_dir_all(&self.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn interp() -> Interpreter {
        Interpreter {
            path: "/x/bin/python3".into(),
            version: (3, 13, 0),
            hexversion: 0x030d00f0,
            mechanism: Mechanism::RefTracer,
            include_dir: "/x/include/python3.13".into(),
            ext_suffix: ".cpython-313-x86_64-linux-gnu.so".into(),
            shared: true,
            libdir: None,
            ldlibrary: None,
        }
    }

    #[test]
    fn the_key_changes_with_each_input() {
        let base = cache_key(&interp());
        assert_eq!(base, cache_key(&interp()), "stable");
        assert_eq!(base.len(), 32);
        let mut i = interp();
        i.path = "/y/bin/python3".into();
        assert_ne!(cache_key(&i), base);
        let mut i = interp();
        i.version = (3, 13, 1);
        assert_ne!(cache_key(&i), base);
        let mut i = interp();
        i.include_dir = "/y/include".into();
        assert_ne!(cache_key(&i), base);
    }

    #[test]
    fn fields_cannot_run_together() {
        let mut a = Fnv::new();
        a.bytes(b"ab").bytes(b"c");
        let mut b = Fnv::new();
        b.bytes(b"a").bytes(b"bc");
        assert_ne!(a.0, b.0);
    }

    #[test]
    fn files_of_a_build() {
        let b = files(&interp(), "/c/d".into(), false);
        assert_eq!(
            b.extension,
            PathBuf::from("/c/d/_gclab_recorder.cpython-313-x86_64-linux-gnu.so")
        );
        assert_eq!(b.boot, PathBuf::from("/c/d/_gclab_boot.py"));
        assert_eq!(b.shim, None);
        let mut i = interp();
        i.mechanism = Mechanism::Interposition;
        assert_eq!(
            files(&i, "/c/d".into(), false).shim,
            Some(PathBuf::from("/c/d/libgclab_shim.so"))
        );
    }

    #[test]
    fn sources_are_embedded() {
        assert!(RECORDER_C.contains("PyInit__gclab_recorder"));
        for (name, _) in RECORDER_PARTS {
            assert!(
                RECORDER_C.contains(&format!("#include \"{name}\"")),
                "{name}"
            );
        }
        assert!(SHIM_C.contains("gclab_shim_set_tracer"));
        assert!(BOOT_PY.contains("GCLAB_RECORD_RAW"));
    }
}
