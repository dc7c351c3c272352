//! `gclab workloads`: the characterisation table. One row per workload (and per guide variant) at
//! default parameters: ops, allocations by kind, bytes allocated, the minimum possible peak live
//! bytes and objects (an oracle collector's, from exact death times), the share of garbage that
//! is cyclic and the mean object lifetime in ops. Strategy-independent and identical on every
//! machine. Printed as a markdown table and written to `results/workloads/` as markdown and JSON.

use crate::classify::{ClassifyExt, CmdContext, CmdResult, UserError};
use gclab_workloads::{characterise, Characterisation};
use rayon::prelude::*;
use std::fmt::Write;
use std::path::PathBuf;

/// Arguments of `gclab workloads`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Only this workload (default: every workload and the guide's variants).
    #[arg(long, short)]
    pub workload: Option<String>,
    /// Workload parameter `key=value` (repeatable; needs --workload).
    #[arg(long = "param", short = 'p', value_name = "KEY=VALUE")]
    pub params: Vec<String>,
    /// Seed of the workloads' RNG.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Output directory.
    #[arg(long, default_value = "results/workloads")]
    pub out: PathBuf,
}

/// The rows of the default table: every catalogue workload at its defaults, then the guide's
/// variants.
pub fn default_rows() -> Vec<(String, Vec<String>)> {
    let mut rows: Vec<(String, Vec<String>)> = gclab_workloads::catalogue()
        .iter()
        .map(|e| (e.info.name.to_string(), Vec::new()))
        .collect();
    for (name, p) in [
        ("concat", "variant=join"),
        ("concat", "variant=format"),
        ("gen-vs-list", "variant=gen"),
        ("map-vs-loop", "variant=map"),
        ("combinations", "variant=itertools"),
    ] {
        rows.push((name.to_string(), vec![p.to_string()]));
    }
    rows
}

/// Characterises `rows` (in parallel; the output keeps their order).
pub fn characterise_rows(
    rows: &[(String, Vec<String>)],
    seed: u64,
) -> CmdResult<Vec<Characterisation>> {
    rows.par_iter()
        .map(|(name, params)| {
            characterise(name, params, seed)
                .with_context(|| format!("characterising {name} {}", params.join(" ")))
        })
        .collect()
}

/// The markdown table.
pub fn markdown(rows: &[Characterisation]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "| workload | params | ops | allocations by kind | bytes allocated | min peak bytes | min peak objects | cyclic garbage | mean lifetime (ops) |"
    );
    let _ = writeln!(s, "|---|---|---:|---|---:|---:|---:|---:|---:|");
    for c in rows {
        let kinds: Vec<String> = c
            .allocations_by_kind
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        let variant: Vec<&String> = c
            .params
            .iter()
            .filter(|p| p.starts_with("variant=") || p.starts_with("freeze="))
            .collect();
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {:.4} ({} of {} objects) | {:.1} |",
            c.workload,
            variant
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(" "),
            c.ops,
            kinds.join(", "),
            c.bytes_allocated,
            c.min_peak_bytes,
            c.min_peak_objects,
            c.cyclic_fraction,
            c.cyclic_garbage_objects,
            c.garbage_objects,
            c.mean_lifetime_ops
        );
    }
    s
}

/// Runs `gclab workloads`: characterise, print, write `out/characterisation.{md,json}` and
/// draw `out/figures/characterisation.{svg,png}`.
pub fn run(a: Args) -> CmdResult {
    if a.workload.is_none() && !a.params.is_empty() {
        return Err(UserError("--param needs --workload".into()).into());
    }
    let (workload, seed, out) = (a.workload.as_deref(), a.seed, &a.out);
    let rows = match workload {
        Some(w) => vec![(w.to_string(), a.params.clone())],
        None => default_rows(),
    };
    let table = characterise_rows(&rows, seed)?;
    let md = markdown(&table);
    print!("{md}");
    std::fs::create_dir_all(out)
        .internal()
        .with_context(|| format!("creating {}", out.display()))?;
    let stem = match workload {
        Some(w) => format!("characterisation-{w}"),
        None => "characterisation".to_string(),
    };
    let header = format!(
        "# Workload characterisation (seed {seed})\n\nWritten by `gclab workloads`. Strategy-independent: min peak = what an oracle collector that frees every object the moment it becomes unreachable needs; cyclic garbage = garbage pure reference counting never frees; lifetimes of objects alive at the end are counted to the end.\n\n"
    );
    let md_path = out.join(format!("{stem}.md"));
    std::fs::write(&md_path, format!("{header}{md}"))
        .internal()
        .with_context(|| format!("writing {}", md_path.display()))?;
    let json_path = out.join(format!("{stem}.json"));
    let json = serde_json::to_string_pretty(&table)
        .internal()
        .context("serialising the table")?;
    std::fs::write(&json_path, format!("{json}\n"))
        .internal()
        .with_context(|| format!("writing {}", json_path.display()))?;
    eprintln!("wrote {} and {}", md_path.display(), json_path.display());
    if workload.is_none() {
        // The figure drawn from characterisation.json (and the others of `out`).
        let figures = crate::plot::write_measured(out, true)?;
        eprintln!("{}: wrote {} figure files", out.display(), figures.len());
    }
    Ok(())
}
