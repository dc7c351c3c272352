//! The HTML reports in a real browser: every committed `results/*/index.html` and
//! `results/index.html` is rendered in headless Chromium, driven over its DevTools protocol on
//! a pipe (`--remote-debugging-pipe`: JSON messages ended by a NUL byte on file descriptors 3
//! and 4, which a shell maps onto the child's standard input and output; no network, no
//! WebSocket). A page fails on any console error, uncaught exception, failed or non-local
//! request, on an image that did not load, and on a figure (inline `<svg>` or `<img>`) with no
//! rendered width or height. Full-page screenshots go to `<target>/browser-screenshots/` for
//! a person to look at.
//!
//! Skips (saying why, passing) only when Chromium is not installed and
//! `scripts/ci/install-chromium.sh` cannot install it. The browser runs in a process group of
//! its own, killed by a guard on every path, panics included.

use base64::Engine as _;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

/// How long one protocol call or page load may take.
const TIMEOUT: Duration = Duration::from_secs(60);
/// The tallest screenshot taken (a page taller than this is cut there).
const MAX_SHOT_HEIGHT: f64 = 30_000.0;

/// The repository root.
fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Chromium's path: `GCLAB_CHROMIUM`, or the first of the usual names that exists, installing
/// it with `scripts/ci/install-chromium.sh` if none does.
fn chromium() -> Option<PathBuf> {
    let find = || {
        std::env::var_os("GCLAB_CHROMIUM")
            .map(PathBuf::from)
            .into_iter()
            .chain(
                ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
                    .iter()
                    .map(PathBuf::from),
            )
            .find(|p| p.is_file())
    };
    find().or_else(|| {
        let script = root().join("scripts/ci/install-chromium.sh");
        let _ = Command::new("bash").arg(script).status();
        find()
    })
}

/// The browser: its process group, the pipe to it and the messages from it.
struct Browser {
    child: Child,
    to: ChildStdin,
    from: Receiver<Value>,
    next_id: u64,
    /// Events received while waiting for a reply, in order.
    events: Vec<Value>,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    /// Asks the browser to close and gives it a few seconds to reap its own processes, then
    /// kills the whole process group (the browser and its renderers) and reaps the browser.
    fn drop(&mut self) {
        let _ = self
            .to
            .write_all(b"{\"id\":0,\"method\":\"Browser.close\",\"params\":{}}\0");
        let _ = self.to.flush();
        let end = Instant::now() + Duration::from_secs(5);
        while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < end {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Browser {
    /// Starts headless Chromium with a fresh profile, its log in `log`.
    fn launch(exe: &Path, log: &Path) -> Result<Browser, String> {
        let profile = tempfile::tempdir().map_err(|e| format!("profile directory: {e}"))?;
        let log = std::fs::File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(r#"exec "$0" "$@" 3<&0 4>&1 </dev/null >/dev/null"#)
            .arg(exe)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--hide-scrollbars",
                "--remote-debugging-pipe",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log)
            .process_group(0)
            .spawn()
            .map_err(|e| format!("starting {}: {e}", exe.display()))?;
        let (to, out) = match (child.stdin.take(), child.stdout.take()) {
            (Some(i), Some(o)) => (i, o),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return Err("no pipes to the browser".into());
            }
        };
        let (tx, from) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut r = BufReader::new(out);
            let mut buf = Vec::new();
            while matches!(r.read_until(0, &mut buf), Ok(n) if n > 0) {
                if buf.last() == Some(&0) {
                    buf.pop();
                }
                if let Ok(v) = serde_json::from_slice::<Value>(&buf) {
                    if tx.send(v).is_err() {
                        break;
                    }
                }
                buf.clear();
            }
        });
        Ok(Browser {
            child,
            to,
            from,
            next_id: 0,
            events: Vec::new(),
            _profile: profile,
        })
    }

    /// The next message, or an error after [`TIMEOUT`].
    fn recv(&mut self, what: &str) -> Result<Value, String> {
        match self.from.recv_timeout(TIMEOUT) {
            Ok(v) => Ok(v),
            Err(RecvTimeoutError::Timeout) => Err(format!("no answer in {TIMEOUT:?} to {what}")),
            Err(RecvTimeoutError::Disconnected) => Err(format!("the browser exited ({what})")),
        }
    }

    /// Calls `method` (in `session` if given) and returns its result.
    fn call(
        &mut self,
        session: Option<&str>,
        method: &str,
        params: Value,
    ) -> Result<Value, String> {
        self.next_id += 1;
        let id = self.next_id;
        let mut msg = json!({ "id": id, "method": method, "params": params });
        if let Some(s) = session {
            msg["sessionId"] = json!(s);
        }
        let mut bytes = msg.to_string().into_bytes();
        bytes.push(0);
        self.to
            .write_all(&bytes)
            .and_then(|()| self.to.flush())
            .map_err(|e| format!("writing {method} to the browser: {e}"))?;
        loop {
            let v = self.recv(method)?;
            if v["id"] == json!(id) {
                if let Some(e) = v.get("error") {
                    return Err(format!("{method}: {e}"));
                }
                return Ok(v["result"].clone());
            }
            self.events.push(v);
        }
    }

    /// Waits for the event `method` of `session` (already received or to come).
    fn wait_event(&mut self, session: &str, method: &str) -> Result<(), String> {
        let is = |v: &Value| v["method"] == json!(method) && v["sessionId"] == json!(session);
        if self.events.iter().any(is) {
            return Ok(());
        }
        let end = Instant::now() + TIMEOUT;
        while Instant::now() < end {
            let v = self.recv(method)?;
            let hit = is(&v);
            self.events.push(v);
            if hit {
                return Ok(());
            }
        }
        Err(format!("no {method} in {TIMEOUT:?}"))
    }
}

/// What the page says about its figures: tag, id or source, rendered size, loaded.
const FIGURES_JS: &str = r#"JSON.stringify(
  [...document.querySelectorAll('svg, img')]
    .filter(e => !(e.parentElement && e.parentElement.closest('svg')))
    .map(e => {
      const r = e.getBoundingClientRect();
      const img = e.tagName.toLowerCase() === 'img';
      return { what: img ? e.getAttribute('src') : (e.closest('figure') || {}).id || 'svg',
               w: r.width, h: r.height,
               loaded: img ? (e.complete && e.naturalWidth > 0) : true };
    }))"#;

/// The problems the events of `session` report: errors on the console, exceptions, failed
/// requests, and requests for anything but a local file (`allow_files`) or the page itself.
fn problems(events: &[Value], session: &str, page: &str, allow_files: bool) -> Vec<String> {
    let mut out = Vec::new();
    for e in events.iter().filter(|e| e["sessionId"] == json!(session)) {
        let p = &e["params"];
        match e["method"].as_str().unwrap_or("") {
            "Runtime.exceptionThrown" => out.push(format!("exception: {}", p["exceptionDetails"])),
            "Runtime.consoleAPICalled"
                if matches!(p["type"].as_str(), Some("error" | "assert")) =>
            {
                out.push(format!("console {}: {}", p["type"], p["args"]))
            }
            "Log.entryAdded" if p["entry"]["level"] == json!("error") => out.push(format!(
                "log error: {} {}",
                p["entry"]["text"], p["entry"]["url"]
            )),
            "Network.loadingFailed" => out.push(format!("failed to load: {p}")),
            "Network.requestWillBeSent" => {
                let url = p["request"]["url"].as_str().unwrap_or("");
                let local = url == page
                    || url.starts_with("data:")
                    || (allow_files && url.starts_with("file://"));
                if !local {
                    out.push(format!("requested a resource it should not need: {url}"));
                }
            }
            _ => {}
        }
    }
    out
}

/// Renders one page, checks it and saves its screenshot as `shots/name.png`.
fn check_page(
    b: &mut Browser,
    file: &Path,
    name: &str,
    shots: &Path,
    allow_files: bool,
) -> Result<String, String> {
    let url = format!("file://{}", file.display());
    let target = b.call(None, "Target.createTarget", json!({ "url": "about:blank" }))?;
    let target_id = target["targetId"].clone();
    let attached = b.call(
        None,
        "Target.attachToTarget",
        json!({ "targetId": target_id, "flatten": true }),
    )?;
    let session = attached["sessionId"]
        .as_str()
        .ok_or("no session id")?
        .to_string();
    let s = Some(session.as_str());
    for domain in ["Page", "Runtime", "Log", "Network"] {
        b.call(s, &format!("{domain}.enable"), json!({}))?;
    }
    b.call(
        s,
        "Emulation.setDeviceMetricsOverride",
        json!({ "width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": false }),
    )?;
    b.events.clear();
    b.call(s, "Page.navigate", json!({ "url": url }))?;
    b.wait_event(&session, "Page.loadEventFired")?;
    let figs = b.call(
        s,
        "Runtime.evaluate",
        json!({ "expression": FIGURES_JS, "returnByValue": true }),
    )?;
    let figs: Vec<Value> = figs["result"]["value"]
        .as_str()
        .and_then(|t| serde_json::from_str(t).ok())
        .ok_or_else(|| format!("the figure script returned {figs}"))?;
    let mut bad = problems(&b.events, &session, &url, allow_files);
    for f in &figs {
        let (w, h) = (
            f["w"].as_f64().unwrap_or(0.0),
            f["h"].as_f64().unwrap_or(0.0),
        );
        if w <= 0.0 || h <= 0.0 {
            bad.push(format!("figure {} rendered {w}x{h}", f["what"]));
        }
        if f["loaded"] != json!(true) {
            bad.push(format!("image {} did not load", f["what"]));
        }
    }
    if figs.is_empty() {
        bad.push("no figure on the page".into());
    }
    let m = b.call(s, "Page.getLayoutMetrics", json!({}))?;
    let width = m["cssContentSize"]["width"].as_f64().unwrap_or(1280.0);
    let height = m["cssContentSize"]["height"]
        .as_f64()
        .unwrap_or(900.0)
        .min(MAX_SHOT_HEIGHT);
    let shot = b.call(
        s,
        "Page.captureScreenshot",
        json!({ "format": "png", "captureBeyondViewport": true,
                "clip": { "x": 0, "y": 0, "width": width, "height": height, "scale": 1 } }),
    )?;
    let png = base64::engine::general_purpose::STANDARD
        .decode(shot["data"].as_str().unwrap_or(""))
        .map_err(|e| format!("screenshot: {e}"))?;
    let path = shots.join(format!("{name}.png"));
    std::fs::write(&path, &png).map_err(|e| format!("{}: {e}", path.display()))?;
    b.call(None, "Target.closeTarget", json!({ "targetId": target_id }))?;
    if bad.is_empty() {
        Ok(format!(
            "{name}: {} figure(s), {width}x{height} px, {}",
            figs.len(),
            path.display()
        ))
    } else {
        Err(format!("{}:\n  {}", file.display(), bad.join("\n  ")))
    }
}

/// The pages to check: `results/index.html` and every `results/*/index.html`, each with its
/// screenshot name and whether it may load local files (only the index, for its thumbnails).
fn pages() -> Vec<(PathBuf, String, bool)> {
    let results = root().join("results");
    let mut out = vec![(results.join("index.html"), "index".to_string(), true)];
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&results)
        .expect("results/ is readable")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("experiment.toml").is_file())
        .collect();
    dirs.sort();
    for d in dirs {
        let name = d
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        out.push((d.join("index.html"), name, false));
    }
    out
}

#[test]
fn every_report_renders_in_chromium() {
    let Some(exe) = chromium() else {
        eprintln!(
            "SKIPPED: Chromium is not installed and scripts/ci/install-chromium.sh could not \
             install it (set GCLAB_CHROMIUM to a Chromium binary)"
        );
        return;
    };
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap_or(Path::new("target"))
        .join("browser-screenshots");
    std::fs::create_dir_all(&shots).expect("creating the screenshot directory");
    let mut browser = Browser::launch(&exe, &shots.join("chromium.log"))
        .unwrap_or_else(|e| panic!("launching {}: {e}", exe.display()));
    let mut failures = Vec::new();
    for (file, name, allow_files) in pages() {
        if !file.is_file() {
            failures.push(format!(
                "{} is missing: run `gclab report` on the result",
                file.display()
            ));
            continue;
        }
        match check_page(&mut browser, &file, &name, &shots, allow_files) {
            Ok(line) => eprintln!("{line}"),
            Err(e) => failures.push(e),
        }
    }
    drop(browser);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
