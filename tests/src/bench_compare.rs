//! `bench --compare`: the results of several benchmark runs (one per backend or worker count)
//! side by side in one table, with each run's ratio to the first, and one combined results
//! file that keeps every run whole.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde_json::{Value, json};

/// A row: its label and how to read its cell from one run's results.
type Cell = Box<dyn Fn(&Value) -> Option<String>>;

fn num(v: &Value) -> Option<f64> {
    v.as_f64().filter(|x| x.is_finite())
}

fn fmt(v: f64) -> String {
    if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

fn pair(a: &Value, b: &Value) -> Option<String> {
    Some(format!("{} / {}", fmt(num(a)?), fmt(num(b)?)))
}

/// The figure under `path` (keys and array indices), if present and numeric.
fn at<'a>(run: &'a Value, path: &[&str]) -> &'a Value {
    path.iter().fold(run, |v, k| match k.parse::<usize>() {
        Ok(i) => &v[i],
        Err(_) => &v[*k],
    })
}

/// The shim-load result at `rate` in one run.
fn load_at(run: &Value, rate: u64) -> Option<&Value> {
    run["scenarios"]["shim_load"]
        .as_array()?
        .iter()
        .find(|l| l["rate_per_s"].as_u64() == Some(rate))
}

/// The cores the server's processes kept busy in a scenario (everything that is not ours).
fn server_cores(cpu: &Value) -> Option<f64> {
    const OURS: [&str; 5] = ["booking worker", "shim", "load shim", "sandbox", "bench"];
    let procs = cpu["processes"].as_object()?;
    Some(
        procs
            .iter()
            .filter(|(name, _)| !OURS.iter().any(|o| name.starts_with(o)))
            .filter_map(|(_, v)| num(&v["cores"]))
            .sum(),
    )
}

fn rows(rates: &[u64]) -> Vec<(String, Cell, bool)> {
    // (label, cell, whether a ratio to the first run means something: throughputs only)
    let mut rows: Vec<(String, Cell, bool)> = vec![
        (
            "end to end: bookings/s".into(),
            Box::new(|r| num(at(r, &["scenarios", "end_to_end", "bookings_per_s"])).map(fmt)),
            true,
        ),
        (
            "end to end: webhook ack p50 / p99 ms".into(),
            Box::new(|r| {
                let a = at(r, &["scenarios", "end_to_end", "ack"]);
                pair(&a["p50_ms"], &a["p99_ms"])
            }),
            false,
        ),
        (
            "end to end: webhook → event, contact and email p50 / p99 ms".into(),
            Box::new(|r| {
                let a = at(r, &["scenarios", "end_to_end", "to_all_three"]);
                pair(&a["p50_ms"], &a["p99_ms"])
            }),
            false,
        ),
        (
            "end to end: server cores / worker cores".into(),
            Box::new(|r| {
                let cpu = at(r, &["scenarios", "end_to_end", "cpu"]);
                let workers: f64 = cpu["processes"]
                    .as_object()?
                    .iter()
                    .filter(|(n, _)| n.starts_with("booking worker"))
                    .filter_map(|(_, v)| num(&v["cores"]))
                    .sum();
                Some(format!("{:.2} / {workers:.2}", server_cores(cpu)?))
            }),
            false,
        ),
        (
            "worker CPU ms per booking (first steps)".into(),
            Box::new(|r| {
                num(at(
                    r,
                    &[
                        "scenarios",
                        "end_to_end",
                        "engine_cost",
                        "worker_cpu_ms_per_booking",
                    ],
                ))
                .map(fmt)
            }),
            false,
        ),
        (
            "ceiling: workflows/s".into(),
            Box::new(|r| num(at(r, &["scenarios", "ceiling", "workflows_per_s"])).map(fmt)),
            true,
        ),
        (
            "end to end / ceiling".into(),
            Box::new(|r| num(&r["end_to_end_over_ceiling"]).map(|v| format!("{v:.2}"))),
            false,
        ),
        (
            "ledger: reservations/s".into(),
            Box::new(|r| num(at(r, &["scenarios", "ledger", "reservations_per_s"])).map(fmt)),
            true,
        ),
    ];
    for &rate in rates {
        rows.push((
            format!("shim {rate}/s: ack p50 / p99 ms"),
            Box::new(move |r| {
                let l = load_at(r, rate)?;
                pair(&l["ack"]["p50_ms"], &l["ack"]["p99_ms"])
            }),
            false,
        ));
        rows.push((
            format!("shim {rate}/s: mean ms shim → Temporal / server frontend / persistence"),
            Box::new(move |r| {
                let w = &load_at(r, rate)?["where_the_time_goes"];
                let m = |k: &str| num(&w[k]["mean_ms"]).map_or("n/a".into(), fmt);
                Some(format!(
                    "{} / {} / {}",
                    m("shim_handoff"),
                    m("server_frontend_start"),
                    m("server_persistence_create")
                ))
            }),
            false,
        ));
        rows.push((
            format!("shim {rate}/s: shim CPU µs per ack / server cores"),
            Box::new(move |r| {
                let l = load_at(r, rate)?;
                let us = num(&l["engine_cost"]["shim_cpu_us_per_ack"])?;
                Some(format!("{} / {:.2}", fmt(us), server_cores(&l["cpu"])?))
            }),
            false,
        ));
    }
    rows.push((
        "allocations per booking / per ack (perf)".into(),
        Box::new(|r| {
            let p = &r["scenarios"]["profile"];
            pair(&p["allocations_per_booking"], &p["allocations_per_ack"])
        }),
        false,
    ));
    rows
}

/// Prints the runs in `files` side by side and writes them, whole, to
/// `<results_dir>/bench-results.json` (`{"runs": [...]}`).
pub fn print_and_write(files: &[PathBuf], results_dir: &Path) -> anyhow::Result<()> {
    let runs: Vec<Value> = files
        .iter()
        .map(|f| {
            let text = std::fs::read_to_string(f)
                .with_context(|| format!("cannot read results {}", f.display()))?;
            serde_json::from_str(&text)
                .with_context(|| format!("{} is not a results file", f.display()))
        })
        .collect::<anyhow::Result<_>>()?;
    print!("{}", table(&runs));
    std::fs::create_dir_all(results_dir)?;
    let path = results_dir.join("bench-results.json");
    std::fs::write(
        &path,
        serde_json::to_vec_pretty(&json!({"runs": runs, "files": files}))?,
    )?;
    println!("bench: all runs written to {}", path.display());
    Ok(())
}

pub fn table(runs: &[Value]) -> String {
    let mut rates: Vec<u64> = runs
        .iter()
        .filter_map(|r| r["scenarios"]["shim_load"].as_array())
        .flatten()
        .filter_map(|l| l["rate_per_s"].as_u64())
        .collect();
    rates.sort_unstable();
    rates.dedup();
    let header: Vec<String> = runs
        .iter()
        .map(|r| {
            format!(
                "{}, {} worker(s)",
                r["backend"].as_str().unwrap_or("?"),
                r["workers"].as_u64().unwrap_or(1)
            )
        })
        .collect();
    let mut out = format!(
        "\n| measure | {} |\n|---|{}\n",
        header.join(" | "),
        "---|".repeat(runs.len())
    );
    for (label, cell, ratio) in rows(&rates) {
        let first = runs.first().and_then(&cell);
        let cells: Vec<String> = runs
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let Some(v) = cell(r) else {
                    return "–".into();
                };
                match (
                    ratio,
                    i,
                    first.as_deref().and_then(|f| f.parse::<f64>().ok()),
                ) {
                    (true, 1.., Some(base)) if base > 0.0 => {
                        let mine: f64 = v.parse().unwrap_or(f64::NAN);
                        format!("{v} ({:.2}×)", mine / base)
                    }
                    _ => v,
                }
            })
            .collect();
        if cells.iter().all(|c| c == "–") {
            continue;
        }
        out.push_str(&format!("| {label} | {} |\n", cells.join(" | ")));
    }
    let revisions: Vec<&str> = runs
        .iter()
        .filter_map(|r| r["git_revision"].as_str())
        .collect();
    out.push_str(&format!(
        "\n{} runs; revision {}; {} cores; {} binaries\n",
        runs.len(),
        revisions.first().copied().unwrap_or("unknown"),
        runs.first().map_or(Value::Null, |r| r["cores"].clone()),
        runs.first()
            .and_then(|r| r["profile"].as_str())
            .unwrap_or("?")
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(backend: &str, workers: u64, per_s: f64, rate_p99: f64) -> Value {
        json!({
            "backend": backend, "workers": workers, "git_revision": "abc", "cores": 2, "profile": "release",
            "end_to_end_over_ceiling": 0.7,
            "scenarios": {
                "end_to_end": {"bookings_per_s": per_s, "ack": {"p50_ms": 3.0, "p99_ms": 9.0},
                    "engine_cost": {"worker_cpu_ms_per_booking": 12.5},
                    "cpu": {"processes": {"temporal server": {"cores": 1.2}, "postgresql": {"cores": 0.3}, "booking worker 1": {"cores": 0.2}}}},
                "ceiling": null,
                "shim_load": [{"rate_per_s": 250, "ack": {"p50_ms": 4.0, "p99_ms": rate_p99},
                    "where_the_time_goes": {"shim_handoff": {"mean_ms": 3.5}, "server_frontend_start": {"mean_ms": 3.0}, "server_persistence_create": {"mean_ms": null}},
                    "engine_cost": {"shim_cpu_us_per_ack": 210.0},
                    "cpu": {"processes": {"temporal dev server": {"cores": 0.9}, "load shim": {"cores": 0.1}}}}],
            }
        })
    }

    #[test]
    fn runs_sit_side_by_side_with_throughput_ratios_to_the_first() {
        let t = table(&[
            run("dev server (SQLite)", 1, 20.0, 50.0),
            run("cluster (PostgreSQL)", 2, 30.0, 20.0),
        ]);
        assert!(
            t.contains(
                "| measure | dev server (SQLite), 1 worker(s) | cluster (PostgreSQL), 2 worker(s) |"
            ),
            "{t}"
        );
        assert!(
            t.contains("| end to end: bookings/s | 20.0 | 30.0 (1.50×) |"),
            "{t}"
        );
        assert!(
            t.contains("| shim 250/s: ack p50 / p99 ms | 4.0 / 50.0 | 4.0 / 20.0 |"),
            "{t}"
        );
        assert!(
            t.contains("| end to end: server cores / worker cores | 1.50 / 0.20 |"),
            "{t}"
        );
        assert!(t.contains("3.5 / 3.0 / n/a"), "{t}");
        assert!(
            t.contains("| shim 250/s: shim CPU µs per ack / server cores | 210 / 0.90 |"),
            "{t}"
        );
        // A scenario no run has is left out rather than shown empty.
        assert!(!t.contains("ceiling: workflows/s"), "{t}");
    }
}
