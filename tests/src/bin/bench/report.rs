//! The results table and the JSON written beside it.

use chrono::Utc;
use serde_json::{Value, json};

use crate::options::Options;
use crate::{PROFILED_RATE, git_revision, temporal_compression};

pub(crate) struct Report {
    pub(crate) table: String,
    pub(crate) json: Value,
}

/// One table cell from a scenario's `CpuMeter` figures: cores each process kept busy, busiest
/// first, then the machine's busy and iowait shares.
fn cpu_cell(cpu: &Value) -> String {
    let mut procs: Vec<(String, f64)> = cpu["processes"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v["cores"].as_f64().unwrap_or(0.0)))
                .collect()
        })
        .unwrap_or_default();
    procs.sort_by(|a, b| b.1.total_cmp(&a.1));
    let procs: Vec<String> = procs
        .iter()
        .filter(|(_, cores)| *cores >= 0.01)
        .map(|(name, cores)| format!("{name} {cores:.2}"))
        .collect();
    format!(
        "{}; machine {}% busy, {}% iowait",
        procs.join(", "),
        cpu["machine_busy_pct"],
        cpu["machine_iowait_pct"]
    )
}

/// One cell splitting an acknowledgement (means, ms): the shim's call to Temporal, and within
/// it the server's frontend, history and persistence times for the start.
fn split_cell(w: &Value) -> String {
    let mean = |k: &str| match w[k]["mean_ms"].as_f64() {
        Some(v) => format!("{v:.1}"),
        None => "n/a".into(),
    };
    format!(
        "shim → Temporal {} ⊃ server frontend {} ⊃ history {} ⊃ persistence (create) {}",
        mean("shim_handoff"),
        mean("server_frontend_start"),
        mean("server_history_start"),
        mean("server_persistence_create"),
    )
}

/// The crates taking the most CPU in a profile, e.g. `tokio 21.5%, prost 10.0%`.
fn crates_cell(profile: &Value) -> String {
    profile["by_crate"]
        .as_array()
        .map(|crates| {
            crates
                .iter()
                .take(6)
                .map(|c| format!("{} {}%", c["crate"].as_str().unwrap_or("?"), c["pct"]))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

pub(crate) fn report(o: &Options, s: &Value, profile: &str, backend: &str) -> Report {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    // What the booking worker and the ceiling worker ran with (defaults plus BOOKINGS_WORKER_*).
    let tuning = booking_worker::tuning::WorkerTuning::from_env()
        .map(|t| format!("{t:?}"))
        .unwrap_or_else(|e| format!("invalid: {e}"));
    let pct = |v: &Value| format!("{} / {} / {}", v["p50_ms"], v["p95_ms"], v["p99_ms"]);
    let p50_99 = |v: &Value| format!("{} / {}", v["p50_ms"], v["p99_ms"]);
    let mut rows: Vec<[String; 3]> = Vec::new();
    let mut row = |scenario: String, measure: &str, value: String| {
        rows.push([scenario, measure.to_owned(), value]);
    };

    let e2e = &s["end_to_end"];
    if !e2e.is_null() {
        row(
            format!("end to end (N={})", o.bookings),
            "bookings/s",
            format!(
                "{} ({} of {} complete)",
                e2e["bookings_per_s"], e2e["completed"], e2e["bookings"]
            ),
        );
        row(
            String::new(),
            "webhook ack p50/p95/p99 ms",
            pct(&e2e["ack"]),
        );
        for (key, what) in [
            ("to_calendar_event", "webhook → calendar event"),
            ("to_crm_contact", "webhook → CRM contact"),
            ("to_first_email", "webhook → first email"),
        ] {
            row(
                String::new(),
                &format!("{what} p50/p95/p99 ms"),
                pct(&e2e[key]),
            );
        }
        row(String::new(), "CPU cores used", cpu_cell(&e2e["cpu"]));
        row(
            String::new(),
            "worker CPU ms per booking (first steps)",
            e2e["engine_cost"]["worker_cpu_ms_per_booking"].to_string(),
        );
    }
    let ceil = &s["ceiling"];
    let ratio = e2e["bookings_per_s"]
        .as_f64()
        .zip(ceil["workflows_per_s"].as_f64())
        .map(|(e, c)| e / c);
    if !ceil.is_null() {
        row(
            format!("ceiling (no-op activities, N={})", o.bookings),
            "workflows/s",
            ceil["workflows_per_s"].to_string(),
        );
        row(
            String::new(),
            "start → result p50/p95/p99 ms",
            pct(&ceil["start_to_result"]),
        );
        row(String::new(), "CPU cores used", cpu_cell(&ceil["cpu"]));
    }
    if let Some(ratio) = ratio {
        row(String::new(), "end to end / ceiling", format!("{ratio:.2}"));
    }
    let loads = s["shim_load"].as_array().cloned().unwrap_or_default();
    let best_rate = loads
        .iter()
        .filter(|l| l["ack"]["p99_ms"].as_f64().is_some_and(|p| p < 50.0))
        .filter_map(|l| l["rate_per_s"].as_u64())
        .max();
    for l in &loads {
        row(
            format!(
                "shim load {}/s ({}s, achieved {}/s, {} × 202)",
                l["rate_per_s"], o.rate_secs, l["achieved_per_s"], l["accepted_202"]
            ),
            "ack p50/p99 ms",
            p50_99(&l["ack"]),
        );
        row(
            String::new(),
            "where an ack's time goes (means, ms)",
            split_cell(&l["where_the_time_goes"]),
        );
        row(String::new(), "CPU cores used", cpu_cell(&l["cpu"]));
        row(
            String::new(),
            "shim CPU µs per ack",
            l["engine_cost"]["shim_cpu_us_per_ack"].to_string(),
        );
    }
    if !loads.is_empty() {
        row(
            String::new(),
            "highest rate with p99 < 50 ms",
            best_rate.map_or_else(|| "none".into(), |r| format!("{r}/s")),
        );
    }
    let idle = &s["idle"];
    if !idle.is_null() {
        row(
            format!(
                "idle (M={}, ≤{} on first steps, settled {} in {} s)",
                o.idle, idle["start_window"], idle["settled"], idle["settle_seconds"]
            ),
            "worker / server RSS MiB",
            format!("{} / {}", idle["worker_rss_mib"], idle["server_rss_mib"]),
        );
        row(
            String::new(),
            "signal + query p50/p99 ms",
            p50_99(&idle["signal_query_round_trip"]),
        );
        row(
            String::new(),
            "2 s timer fired late (server events) p50/p99 ms",
            p50_99(&idle["timer_fired_late"]),
        );
        row(
            String::new(),
            "2 s timer observed late (start → result) p50/p99 ms",
            p50_99(&idle["timer_observed_late"]),
        );
        row(
            String::new(),
            "CPU cores used (start + settle + probes)",
            cpu_cell(&idle["cpu"]),
        );
    }
    let l = &s["ledger"];
    if !l.is_null() {
        row(
            format!(
                "ledger ({} reservations, {} in flight)",
                l["reservations"], l["in_flight"]
            ),
            "reservations/s",
            l["reservations_per_s"].to_string(),
        );
        row(String::new(), "CPU cores used", cpu_cell(&l["cpu"]));
    }

    let p = &s["profile"];
    if !p.is_null() {
        row(
            format!("profiled pass (perf, {} bookings)", p["bookings"]),
            "allocations per booking (workers)",
            p["allocations_per_booking"].to_string(),
        );
        if let Some(first) = p["workers"].get(0) {
            row(String::new(), "worker CPU by crate", crates_cell(first));
        }
        row(
            format!("profiled shim load {PROFILED_RATE}/s ({} acks)", p["acks"]),
            "allocations per ack (shim)",
            p["allocations_per_ack"].to_string(),
        );
        row(String::new(), "shim CPU by crate", crates_cell(&p["shim"]));
    }

    let mut table = format!(
        "\n### {backend}, {} booking worker(s)\n\n| scenario | measure | value |\n|---|---|---|\n",
        o.workers
    );
    for [scenario, measure, value] in rows {
        table.push_str(&format!("| {scenario} | {measure} | {value} |\n"));
    }
    table.push_str(&format!(
        "\n{profile} binaries, {cores} cores, gRPC compression to Temporal {}, worker tuning {tuning}\n",
        temporal_compression()
    ));
    let json = json!({
        "backend": backend,
        "workers": o.workers,
        "temporal_compression": temporal_compression(),
        "git_revision": git_revision(),
        "cores": cores,
        "profile": profile,
        "smoke": o.smoke,
        "at": Utc::now().to_rfc3339(),
        "worker_tuning": tuning,
        "end_to_end_over_ceiling": ratio.map(|r| (r * 100.0).round() / 100.0),
        "shim_highest_rate_p99_under_50ms": best_rate,
        "scenarios": s,
    });
    Report { table, json }
}
