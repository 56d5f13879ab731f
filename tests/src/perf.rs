//! Profiling a running process from outside with Linux `perf`, so the engine's binaries carry
//! no profiling code: a sampled CPU profile (`perf record`, named by symbol and by crate) and a
//! count of heap allocations (`perf stat` on uprobes at libc's allocation functions, which
//! Rust's system allocator calls for every allocation).
//!
//! The two are never taken together: an uprobe traps into the kernel on every hit, which would
//! fill the CPU profile with the probes' own cost. Both slow the process they watch (the
//! probes much more), so a measured pass is separate from the benchmark's timed ones.

use std::{
    path::{Path, PathBuf},
    process::Stdio,
};

use anyhow::{Context, bail};
use serde_json::{Value, json};
use tokio::process::{Child, Command};

/// libc's allocation entry points the Rust system allocator reaches: `malloc` (most),
/// `calloc` (zeroed), `realloc` (growth), `posix_memalign` (alignments above 16).
const ALLOCATORS: [&str; 4] = ["malloc", "calloc", "realloc", "posix_memalign"];

/// Whether `perf` can run here at all.
pub async fn available() -> bool {
    Command::new("perf")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .await
        .is_ok_and(|s| s.success())
}

/// The libc the binary at `exe` links, from `ldd`.
async fn libc_of(exe: &Path) -> anyhow::Result<PathBuf> {
    let out = Command::new("ldd").arg(exe).output().await?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find(|l| l.trim_start().starts_with("libc.so"))
        .and_then(|l| l.split("=>").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .map(PathBuf::from)
        .with_context(|| format!("{} links no libc.so", exe.display()))
}

/// Adds the uprobes once (they outlive this process; adding an existing one is refused, so the
/// listing is checked first). Needs root or a permissive `perf_event_paranoid`.
async fn ensure_probes(libc: &Path) -> anyhow::Result<Vec<String>> {
    let listed = Command::new("perf").args(["probe", "-l"]).output().await?;
    let listed = String::from_utf8_lossy(&listed.stdout).to_string();
    let mut events = Vec::new();
    for f in ALLOCATORS {
        let event = format!("probe_libc:{f}");
        if !listed.contains(&format!("{event} ")) && !listed.contains(&format!("{event}\n")) {
            let added = Command::new("perf")
                .arg("probe")
                .arg("-x")
                .arg(libc)
                .arg("--add")
                .arg(f)
                .output()
                .await?;
            if !added.status.success() {
                bail!(
                    "perf probe -x {} --add {f}: {}",
                    libc.display(),
                    String::from_utf8_lossy(&added.stderr).trim()
                );
            }
        }
        events.push(event);
    }
    Ok(events)
}

/// What a [`Recording`] takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    /// Sampled CPU profile (`perf record`, 499 Hz: about 1% overhead).
    Profile,
    /// Heap allocations counted by uprobes (`perf stat`).
    Allocations,
}

/// `perf record` or `perf stat` attached to one process until [`Recording::finish`].
pub struct Recording {
    name: String,
    measure: Measure,
    perf: Child,
    output: PathBuf,
}

impl Recording {
    /// Starts measuring `pid` (`exe` is its binary, whose libc gets the probes) into `dir`.
    pub async fn start(
        dir: &Path,
        name: &str,
        pid: u32,
        exe: &Path,
        measure: Measure,
    ) -> anyhow::Result<Self> {
        let log = std::fs::File::create(dir.join(format!("{name}.perf.log")))?;
        let (args, output) = match measure {
            Measure::Profile => {
                let data = dir.join(format!("{name}.perf.data"));
                let args = vec![
                    "record".into(),
                    "-F".into(),
                    "499".into(),
                    "-o".into(),
                    data.to_string_lossy().into_owned(),
                ];
                (args, data)
            }
            Measure::Allocations => {
                let events = ensure_probes(&libc_of(exe).await?).await?;
                let counts = dir.join(format!("{name}.allocations.csv"));
                let args = vec![
                    "stat".into(),
                    "-x".into(),
                    ",".into(),
                    "-e".into(),
                    events.join(","),
                    "-o".into(),
                    counts.to_string_lossy().into_owned(),
                ];
                (args, counts)
            }
        };
        let perf = Command::new("perf")
            .args(&args)
            .arg("-p")
            .arg(pid.to_string())
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .context("perf starts")?;
        Ok(Self {
            name: name.to_owned(),
            measure,
            perf,
            output,
        })
    }

    /// Stops perf (SIGINT, on which it writes what it has) and reads what it took.
    pub async fn finish(mut self) -> anyhow::Result<Value> {
        if let Some(pid) = self.perf.id() {
            let _ = Command::new("kill")
                .args(["-INT", &pid.to_string()])
                .status()
                .await;
        }
        let _ = self.perf.wait().await;
        if self.measure == Measure::Allocations {
            let csv = std::fs::read_to_string(&self.output)
                .with_context(|| format!("perf stat wrote no {}", self.output.display()))?;
            return Ok(json!({"process": self.name, "allocations": allocation_count(&csv)}));
        }
        let report = Command::new("perf")
            .args([
                "report",
                "--stdio",
                "--no-children",
                "--sort",
                "symbol",
                "-q",
                "-i",
            ])
            .arg(&self.output)
            .output()
            .await
            .context("perf report runs")?;
        let symbols = symbols(&String::from_utf8_lossy(&report.stdout));
        Ok(json!({
            "process": self.name,
            "samples_file": self.output,
            "top_symbols": symbols.iter().take(20).map(|(p, s)| json!({"pct": p, "symbol": s})).collect::<Vec<_>>(),
            "by_crate": by_crate(&symbols).into_iter().take(12).map(|(p, c)| json!({"pct": p, "crate": c})).collect::<Vec<_>>(),
        }))
    }
}

/// The sum of the counts in `perf stat -x ,` output (count,unit,event,...).
fn allocation_count(csv: &str) -> u64 {
    csv.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split(',').next()?.trim().parse::<u64>().ok())
        .sum()
}

/// (percent, symbol) from `perf report --stdio -q --sort symbol` lines such as
/// `    12.34%  [.] tokio::runtime::task::raw::poll`.
fn symbols(report: &str) -> Vec<(f64, String)> {
    report
        .lines()
        .filter_map(|line| {
            let line = line.trim();
            let (pct, rest) = line.split_once('%')?;
            let pct: f64 = pct.trim().parse().ok()?;
            let rest = rest.trim();
            let symbol = match rest.split_once("] ") {
                Some((kind, name)) if kind.ends_with("[k") => format!("[kernel] {}", name.trim()),
                Some((_, name)) => name.trim().to_owned(),
                None => rest.to_owned(),
            };
            Some((pct, symbol))
        })
        .collect()
}

/// The crate a demangled symbol belongs to: the first path segment, after any `<` of a trait
/// impl; kernel and unnamed (libc, addresses) symbols are grouped as such.
fn crate_of(symbol: &str) -> String {
    if symbol.starts_with("[kernel]") {
        return "kernel".into();
    }
    let s = symbol.trim_start_matches('<').trim_start_matches('&');
    match s.split_once("::") {
        Some((first, _)) if !first.contains(' ') => first.to_owned(),
        _ if s.starts_with("0x") => "unresolved".into(),
        _ => "libc and other C".into(),
    }
}

fn by_crate(symbols: &[(f64, String)]) -> Vec<(f64, String)> {
    let mut sums: std::collections::BTreeMap<String, f64> = Default::default();
    for (pct, symbol) in symbols {
        *sums.entry(crate_of(symbol)).or_default() += pct;
    }
    let mut v: Vec<(f64, String)> = sums
        .into_iter()
        .map(|(c, p)| ((p * 10.0).round() / 10.0, c))
        .collect();
    v.sort_by(|a, b| b.0.total_cmp(&a.0));
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_is_read_as_symbols_and_crates() {
        let report = "\
    20.50%  [.] tokio::runtime::task::raw::poll
    10.00%  [.] <prost::encoding::Foo as prost::Message>::encode
     5.00%  [k] do_syscall_64
     4.00%  [.] __memmove_avx_unaligned_erms
     1.00%  [.] tokio::io::poll_evented
";
        let s = symbols(report);
        assert_eq!(s.len(), 5);
        assert_eq!(s[2].1, "[kernel] do_syscall_64");
        let crates = by_crate(&s);
        assert_eq!(crates[0], (21.5, "tokio".to_owned()));
        assert!(crates.contains(&(10.0, "prost".to_owned())));
        assert!(crates.contains(&(5.0, "kernel".to_owned())));
        assert!(crates.contains(&(4.0, "libc and other C".to_owned())));
    }

    #[test]
    fn perf_stat_csv_counts_are_summed() {
        let csv = "# started on Sat\n\n1200,,probe_libc:malloc,1000,100.00,,\n30,,probe_libc:realloc,1000,100.00,,\n<not counted>,,probe_libc:calloc,0,0,,\n";
        assert_eq!(allocation_count(csv), 1230);
    }
}
