//! The browsable report of a result: `results/NAME/index.html`, one self-contained file (the
//! figures inline as SVG, the README's generated tables, the claims' verdicts and the runs'
//! provenance; no script, no external stylesheet, font or image), and `results/index.html`,
//! which links every result with its question and headline figure.
//!
//! The page is a pure function of the loaded [`ResultSet`] and the figures `gclab plot` wrote
//! (`figures/*.svg`, the deterministic ones, and `figures/wall/*.svg`), so that it is
//! byte-identical for the same `runs.jsonl` except for its wall-clock part: the wall-clock
//! tables and figures and the provenance sit between [`WALL_BEGIN`] and [`WALL_END`], which
//! [`deterministic_part`] cuts out for `gclab reproduce --check`.
//!
//! Layout: this file writes a result's page; `markdown` renders the README's markdown with
//! hover titles on table cells; `index` writes the page of every result.

mod index;
mod markdown;

pub use index::{index_page, write_index};

use crate::experiment::Experiment;
use crate::plot::FIGURES;
use crate::readme::{markdown_part, Part};
use crate::results::ResultSet;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The file name of a result's page and of the index of results.
pub const INDEX: &str = "index.html";
/// Start of the part of a result's page that differs from run to run.
pub const WALL_BEGIN: &str =
    "<!-- BEGIN wall clock: differs between runs; gclab reproduce --check does not compare it -->";
/// End of that part.
pub const WALL_END: &str = "<!-- END wall clock -->";

/// Why a page could not be written.
#[derive(Debug, thiserror::Error)]
pub enum HtmlError {
    /// A figure could not be read.
    #[error("reading {}", path.display())]
    Read {
        /// The figure.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The page could not be written.
    #[error("writing {}", path.display())]
    Write {
        /// The page.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// `s` escaped for HTML text and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    // Writing into a String cannot fail.
    let _ = pulldown_cmark_escape::escape_html(&mut out, s);
    out
}

/// The style of every page: no external font or stylesheet.
const STYLE: &str = "body{font-family:sans-serif;max-width:1200px;margin:1em auto;padding:0 1em;\
color:#222;line-height:1.4}\
table{border-collapse:collapse;margin:.5em 0;font-size:.9em}\
th,td{border:1px solid #ccc;padding:.2em .5em;text-align:left;vertical-align:top}\
th{background:#f0f0f0}tbody tr:hover{background:#eef4ff}\
figure{margin:1em 0}figure svg,figure img{max-width:100%;height:auto;display:block;\
border:1px solid #ddd}\
figcaption{font-size:.9em;color:#555}.wall{border-top:3px solid #ccc;margin-top:2em}\
.question{font-style:italic}code{background:#f4f4f4}\
ul.results{list-style:none;padding:0}ul.results li{margin:1.5em 0}";

/// The start of a page, up to and including `<body>`.
fn head(title: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        escape(title)
    )
}

/// The figure stems of `rs`'s experiment in the page's order: the headline first, then the
/// others of `dir` (`figures` or `figures/wall`) in the order of [`FIGURES`].
fn figure_order<'a>(exp: &'a Experiment, dir: &str) -> Vec<&'a str> {
    let headline = exp.file.plot.headline.as_deref();
    let mut stems: Vec<&str> = FIGURES
        .iter()
        .filter(|f| f.dir == dir)
        .map(|f| f.stem)
        .collect();
    if let Some(h) = headline {
        if let Some(i) = stems.iter().position(|s| *s == h) {
            let s = stems.remove(i);
            stems.insert(0, s);
        }
    }
    stems
}

/// The figures of `sub` (`figures` or `figures/wall`) under `dir` that exist, inline.
fn figures(exp: &Experiment, dir: &Path, sub: &str) -> Result<String, HtmlError> {
    let mut s = String::new();
    for stem in figure_order(exp, sub) {
        let path = dir.join(sub).join(format!("{stem}.svg"));
        let svg = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(source) => return Err(HtmlError::Read { path, source }),
        };
        // Only the <svg> element (an XML declaration or doctype would be out of place).
        let svg = svg.find("<svg").map_or(svg.as_str(), |i| &svg[i..]);
        let headline = exp.file.plot.headline.as_deref() == Some(stem) && sub == "figures";
        let _ = write!(
            s,
            "<figure id=\"fig-{id}\">\n<figcaption>{label}<code>{sub}/{stem}.svg</code></figcaption>\n{svg}\n</figure>\n",
            id = escape(&format!("{sub}/{stem}").replace('/', "-")),
            label = if headline { "Headline figure: " } else { "" },
            sub = escape(sub),
            stem = escape(stem),
            svg = svg.trim_end()
        );
    }
    Ok(s)
}

/// The distinct provenances of the rows, each with how many rows carry it.
fn provenance(rs: &ResultSet) -> String {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for r in rs.rows() {
        let p = &r.provenance;
        let line = format!(
            "{}: gclab {} at commit <code>{}</code>{}, built by {}; {} ({} logical CPUs), {}",
            p.date
                .as_deref()
                .map_or("date not recorded".to_string(), escape),
            escape(&p.gclab_version),
            escape(&p.git_commit),
            if p.git_dirty {
                " (with uncommitted changes)"
            } else {
                ""
            },
            escape(&p.rustc),
            escape(&p.cpu_model),
            p.logical_cpus,
            escape(&p.target)
        );
        *seen.entry(line).or_default() += 1;
    }
    let mut s = String::from(
        "<h3>Provenance</h3>\n<p>As recorded in <code>runs.jsonl</code> by the sweep: the UTC \
         date of the run (rows written before gclab recorded it have none; the commit dates \
         the code), the binary and the machine.</p>\n<ul>\n",
    );
    for (line, n) in seen {
        let _ = writeln!(s, "<li>{n} row(s): {line}</li>");
    }
    s.push_str("</ul>\n");
    s
}

/// The page of a loaded result whose figures `gclab plot` wrote under `dir`.
pub fn result_page(rs: &ResultSet, dir: &Path) -> Result<String, HtmlError> {
    let exp = rs.exp();
    let f = &exp.file;
    let mut s = head(&format!("gclab: {}", exp.name));
    let _ = writeln!(
        s,
        "<p><a href=\"../{INDEX}\">All results</a></p>\n<h1>{}</h1>\n{}<div class=\"question\">{}</div>",
        escape(&exp.name),
        markdown::to_html(&f.description),
        markdown::to_html(&f.question)
    );
    let figs = figures(exp, dir, "figures")?;
    let (first, rest) = match figs.find("</figure>\n") {
        Some(i) if f.plot.headline.is_some() => figs.split_at(i + "</figure>\n".len()),
        _ => ("", figs.as_str()),
    };
    s.push_str(first);
    s.push_str(&markdown::to_html(&markdown_part(rs, Part::Deterministic)));
    if !rest.is_empty() {
        let _ = write!(
            s,
            "<h3>Figures (work units; identical on every machine)</h3>\n{rest}"
        );
    }
    let _ = writeln!(s, "{WALL_BEGIN}\n<section class=\"wall\">");
    s.push_str(&markdown::to_html(&markdown_part(rs, Part::Wall)));
    let wall = figures(exp, dir, "figures/wall")?;
    if !wall.is_empty() {
        let _ = write!(s, "<h3>Wall-clock figures (this machine)</h3>\n{wall}");
    }
    s.push_str(&provenance(rs));
    let _ = writeln!(s, "</section>\n{WALL_END}");
    s.push_str(
        "<p><small>Generated by <code>gclab report</code> from <code>runs.jsonl</code>, \
         its sidecars and <code>figures/</code>.</small></p>\n</body>\n</html>\n",
    );
    Ok(s)
}

/// Writes `dir/index.html` for the loaded result of `dir`; returns its path.
pub fn write_result_page(rs: &ResultSet, dir: &Path) -> Result<PathBuf, HtmlError> {
    let page = result_page(rs, dir)?;
    let path = dir.join(INDEX);
    std::fs::write(&path, page).map_err(|source| HtmlError::Write {
        path: path.clone(),
        source,
    })?;
    Ok(path)
}

/// A result's page without its wall-clock part (the text between [`WALL_BEGIN`] and
/// [`WALL_END`], markers kept): what `gclab reproduce --check` compares.
pub fn deterministic_part(page: &str) -> String {
    match (page.find(WALL_BEGIN), page.find(WALL_END)) {
        (Some(a), Some(b)) if b > a => {
            format!("{}{}", &page[..a + WALL_BEGIN.len()], &page[b..])
        }
        _ => page.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wall_clock_part_is_cut_out() {
        let page = format!("a{WALL_BEGIN}x 1.23 ms{WALL_END}b");
        let other = format!("a{WALL_BEGIN}x 4.56 ms{WALL_END}b");
        assert_eq!(deterministic_part(&page), deterministic_part(&other));
        assert_eq!(
            deterministic_part(&page),
            format!("a{WALL_BEGIN}{WALL_END}b")
        );
        assert_ne!(deterministic_part("a1b"), deterministic_part("a2b"));
    }

    #[test]
    fn escape_escapes_markup() {
        assert_eq!(escape("a<b & \"c\">"), "a&lt;b &amp; &quot;c&quot;&gt;");
    }
}
