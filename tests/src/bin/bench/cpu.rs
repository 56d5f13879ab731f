//! Where the CPU goes during a scenario: each process's CPU seconds (process trees, so
//! PostgreSQL's per-connection backends count) and the whole machine's busy and iowait shares.

use std::time::Instant;

use booking_tests::procs::{cpu_seconds, tree_cpu_seconds};
use serde_json::{Value, json};

use crate::stats::round;

/// Whole-machine CPU counters from the first line of `/proc/stat` (USER_HZ ticks): busy, idle,
/// and waiting on disk (iowait: the dev server's SQLite fsyncs show up here, not as CPU).
#[derive(Clone, Copy, Default)]
struct MachineTicks {
    pub(crate) busy: u64,
    pub(crate) idle: u64,
    iowait: u64,
}

impl MachineTicks {
    pub(crate) fn read() -> Self {
        let Ok(stat) = std::fs::read_to_string("/proc/stat") else {
            return Self::default();
        };
        let fields: Vec<u64> = stat
            .lines()
            .next()
            .unwrap_or_default()
            .split_whitespace()
            .skip(1)
            .filter_map(|f| f.parse().ok())
            .collect();
        // user nice system idle iowait irq softirq steal (guest time is inside user).
        let at = |i: usize| fields.get(i).copied().unwrap_or(0);
        Self {
            busy: at(0) + at(1) + at(2) + at(5) + at(6) + at(7),
            idle: at(3),
            iowait: at(4),
        }
    }
}

/// CPU seconds of one process of the system: with its children (PostgreSQL serves each
/// connection from a process of its own), except for the bench itself, whose children are the
/// processes listed beside it.
fn process_cpu_seconds(pid: u32) -> Option<f64> {
    if pid == std::process::id() {
        cpu_seconds(pid)
    } else {
        tree_cpu_seconds(pid)
    }
}

/// CPU seconds each process of the system used during one scenario, and how busy the machine
/// was: the profile that says which process bounds a scenario.
pub(crate) struct CpuMeter {
    pub(crate) procs: Vec<(String, u32)>,
    began: Instant,
    pub(crate) before: Vec<Option<f64>>,
    machine: MachineTicks,
}

impl CpuMeter {
    pub(crate) fn start(procs: &[(String, Option<u32>)]) -> Self {
        let procs: Vec<(String, u32)> = procs
            .iter()
            .filter_map(|(name, pid)| Some((name.clone(), (*pid)?)))
            .collect();
        Self {
            before: procs
                .iter()
                .map(|(_, pid)| process_cpu_seconds(*pid))
                .collect(),
            procs,
            began: Instant::now(),
            machine: MachineTicks::read(),
        }
    }

    pub(crate) fn finish(self) -> Value {
        let wall = self.began.elapsed().as_secs_f64();
        let machine = MachineTicks::read();
        let share = |after: u64, before: u64, total: u64| {
            round(100.0 * after.saturating_sub(before) as f64 / total.max(1) as f64)
        };
        let total = (machine.busy + machine.idle + machine.iowait)
            .saturating_sub(self.machine.busy + self.machine.idle + self.machine.iowait);
        let mut processes = serde_json::Map::new();
        for ((name, pid), before) in self.procs.iter().zip(self.before) {
            if let (Some(before), Some(after)) = (before, process_cpu_seconds(*pid)) {
                let used = after - before;
                processes.insert(
                    name.clone(),
                    json!({
                        "cpu_seconds": (used * 100.0).round() / 100.0,
                        "cores": (100.0 * used / wall).round() / 100.0,
                    }),
                );
            }
        }
        json!({
            "wall_seconds": round(wall),
            "machine_busy_pct": share(machine.busy, self.machine.busy, total),
            "machine_iowait_pct": share(machine.iowait, self.machine.iowait, total),
            "processes": processes,
        })
    }
}

/// Runs `scenario` inside a [`CpuMeter`] and adds the meter's figures to its result as `cpu`.
pub(crate) async fn metered(
    processes: &[(String, Option<u32>)],
    scenario: impl std::future::Future<Output = anyhow::Result<Value>>,
) -> anyhow::Result<Value> {
    let meter = CpuMeter::start(processes);
    let mut result = scenario.await?;
    result["cpu"] = meter.finish();
    Ok(result)
}
