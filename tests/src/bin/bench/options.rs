//! The bench's command line.

use std::path::PathBuf;

use anyhow::{Context, bail};

pub(crate) struct Options {
    pub(crate) bookings: usize,
    pub(crate) idle: usize,
    pub(crate) rates: Vec<u64>,
    pub(crate) rate_secs: u64,
    pub(crate) reservations: usize,
    pub(crate) results_dir: PathBuf,
    pub(crate) keep: bool,
    pub(crate) smoke: bool,
    /// Scenarios to run (all by default); the others are reported as null.
    pub(crate) only: Vec<Scenario>,
    /// A running Temporal server to measure instead of a dev server of the bench's own.
    pub(crate) temporal_address: Option<String>,
    /// What the results call the server (`dev server (SQLite)` unless given).
    pub(crate) backend: Option<String>,
    /// The server's processes, `name=pid`, whose CPU (process trees) each scenario records.
    pub(crate) server_procs: Vec<(String, u32)>,
    /// The server's Prometheus endpoint, to split the shim's acknowledgement into its parts.
    pub(crate) server_metrics: Option<String>,
    /// Booking workers on the task queue.
    pub(crate) workers: usize,
    /// A profiled pass after the scenarios (`perf`): allocations and hot spots.
    pub(crate) perf: bool,
    /// File name of the results in the results directory.
    pub(crate) results_file: String,
    /// Result files to print side by side, instead of running anything.
    pub(crate) compare: Vec<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scenario {
    EndToEnd,
    Ceiling,
    Ledger,
    Idle,
    ShimLoad,
}

impl Scenario {
    const ALL: [Scenario; 5] = [
        Scenario::EndToEnd,
        Scenario::Ceiling,
        Scenario::Ledger,
        Scenario::Idle,
        Scenario::ShimLoad,
    ];

    pub(crate) fn parse(name: &str) -> anyhow::Result<Self> {
        Ok(match name {
            "end-to-end" => Self::EndToEnd,
            "ceiling" => Self::Ceiling,
            "ledger" => Self::Ledger,
            "idle" => Self::Idle,
            "shim-load" => Self::ShimLoad,
            other => bail!(
                "unknown scenario {other:?}: expected end-to-end, ceiling, ledger, idle or shim-load"
            ),
        })
    }
}

pub(crate) fn options() -> anyhow::Result<Options> {
    let default_dir = std::env::var_os("BOOKINGS_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let home = std::env::var_os("HOME")
                .map(PathBuf::from)
                .unwrap_or_else(std::env::temp_dir);
            home.join(".cache/bookings/bench")
        });
    let mut o = Options {
        bookings: 500,
        idle: 10_000,
        rates: vec![100, 250, 500],
        rate_secs: 4,
        reservations: 400,
        results_dir: default_dir,
        keep: false,
        smoke: false,
        only: Scenario::ALL.to_vec(),
        temporal_address: None,
        backend: None,
        server_procs: Vec::new(),
        server_metrics: None,
        workers: 1,
        perf: false,
        results_file: "bench-results.json".into(),
        compare: Vec::new(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().with_context(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--bookings" => o.bookings = value()?.parse()?,
            "--idle" => o.idle = value()?.parse()?,
            "--rates" => {
                o.rates = value()?
                    .split(',')
                    .map(|r| r.trim().parse())
                    .collect::<Result<_, _>>()?
            }
            "--rate-secs" => o.rate_secs = value()?.parse()?,
            "--reservations" => o.reservations = value()?.parse()?,
            "--results-dir" => o.results_dir = PathBuf::from(value()?),
            "--keep" => o.keep = true,
            "--only" => {
                o.only = value()?
                    .split(',')
                    .map(|name| Scenario::parse(name.trim()))
                    .collect::<Result<_, _>>()?
            }
            "--temporal-address" => o.temporal_address = Some(value()?),
            "--backend" => o.backend = Some(value()?),
            "--server-proc" => {
                let v = value()?;
                let (name, pid) = v
                    .split_once('=')
                    .with_context(|| format!("--server-proc {v:?}: expected NAME=PID"))?;
                let pid = pid
                    .parse()
                    .with_context(|| format!("--server-proc {v:?}: {pid:?} is not a pid"))?;
                o.server_procs.push((name.to_owned(), pid));
            }
            "--server-metrics" => o.server_metrics = Some(value()?),
            "--workers" => o.workers = value()?.parse()?,
            "--perf" => o.perf = true,
            "--results-file" => o.results_file = value()?,
            "--compare" => o.compare.push(PathBuf::from(value()?)),
            "--smoke" => {
                o.smoke = true;
                o.bookings = 10;
                o.idle = 30;
                o.rates = vec![50];
                o.rate_secs = 1;
                o.reservations = 40;
            }
            "--help" | "-h" => {
                println!(
                    "bench [--bookings N (500)] [--idle M (10000)] [--rates 100,250,500] \
                     [--rate-secs S (4)] [--reservations R (400)] [--results-dir DIR] [--keep] [--smoke] \
                     [--only end-to-end,ceiling,ledger,idle,shim-load] [--workers W (1)] [--perf] \
                     [--temporal-address HOST:PORT --backend LABEL [--server-proc NAME=PID]... \
                     [--server-metrics URL]] [--results-file NAME] | --compare FILE [--compare FILE]..."
                );
                std::process::exit(0);
            }
            other => bail!("unknown argument {other:?} (see --help)"),
        }
    }
    if o.bookings == 0 {
        bail!("--bookings must be at least 1");
    }
    if o.workers == 0 {
        bail!("--workers must be at least 1");
    }
    if o.temporal_address.is_none() && !o.server_procs.is_empty() {
        bail!("--server-proc describes a server given by --temporal-address");
    }
    Ok(o)
}
