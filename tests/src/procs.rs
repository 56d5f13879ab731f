//! Running the engine's binaries as separate processes, for harnesses (`chaos`, `bench`) that
//! need real process boundaries: find a sibling binary, start it with its output appended to a
//! log file, wait for an HTTP endpoint, read a process's resident memory.

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use tokio::process::{Child, Command};

/// The log filter `spawn` gives a process unless the caller chooses one.
pub const DEBUG_LOG: &str =
    "info,booking_activities=debug,booking_shim=debug,booking_sandbox=debug,booking_worker=debug";

/// A binary built next to the running one (`target/<profile>/<name>`).
pub fn sibling(name: &str) -> anyhow::Result<PathBuf> {
    let me = std::env::current_exe()?;
    let path = me.parent().context("no parent directory")?.join(name);
    if !path.is_file() {
        bail!(
            "{} is missing: build it first (cargo build --bins)",
            path.display()
        );
    }
    Ok(path)
}

fn append_log(dir: &Path, name: &str) -> anyhow::Result<(Stdio, Stdio)> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(format!("{name}.log")))?;
    Ok((file.try_clone()?.into(), file.into()))
}

/// Starts the sibling binary `name` with `args` and `env` (debug logging), its stdout and
/// stderr appended to `<dir>/<name>.log`. Killed when dropped.
///
/// Sandbox mode (`BOOKINGS_SANDBOX=1`) unless `env` says otherwise: every harness runs its
/// workers and shims against the provider sandbox.
pub fn spawn(
    dir: &Path,
    name: &str,
    args: &[String],
    env: &[(&str, String)],
) -> anyhow::Result<Child> {
    spawn_logged(dir, name, args, env, DEBUG_LOG)
}

/// Like [`spawn`], with the `RUST_LOG` filter `log`.
pub fn spawn_logged(
    dir: &Path,
    name: &str,
    args: &[String],
    env: &[(&str, String)],
    log: &str,
) -> anyhow::Result<Child> {
    let (out, err) = append_log(dir, name)?;
    let child = Command::new(sibling(name)?)
        .args(args)
        .env_remove("TEMPORAL_API_KEY")
        .env_remove("TEMPORAL_CONFIG_FILE")
        .env_remove("TEMPORAL_PROFILE")
        .env("RUST_LOG", log)
        .env("BOOKINGS_SANDBOX", "1")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("cannot start {name}"))?;
    Ok(child)
}

/// Polls `url` until it answers 2xx, or fails after `limit`.
pub async fn wait_http(url: &str, limit: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + limit;
    loop {
        if let Ok(r) = reqwest::get(url).await
            && r.status().is_success()
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("{url} did not answer 2xx within {}s", limit.as_secs());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Resident memory of process `pid` in KiB (`VmRSS` of `/proc/<pid>/status`), if readable.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

/// CPU time (user + system) process `pid` has used so far, if readable: fields 14 and 15 of
/// `/proc/<pid>/stat`, in USER_HZ ticks, which Linux fixes at 100 per second for userspace.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    const USER_HZ: f64 = 100.0;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: count from its last ')'.
    let after_name = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some((user + system) as f64 / USER_HZ)
}

/// The fields of `/proc/<pid>/stat` after the command name (which may hold spaces and
/// parentheses, so they are counted from its last ')'): field N of proc(5) is index N - 3.
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = &stat[stat.rfind(')')? + 1..];
    Some(after_name.split_whitespace().map(str::to_owned).collect())
}

/// CPU time of process `pid` and every process below it, if `pid` is readable: its own user +
/// system time, the time of its children it has already reaped (cutime + cstime), and the
/// user + system time of every live descendant. PostgreSQL serves each connection from a
/// process of its own, so its cost is only visible as a tree.
pub fn tree_cpu_seconds(pid: u32) -> Option<f64> {
    const USER_HZ: f64 = 100.0;
    let ticks = |fields: &[String], from: usize, to: usize| -> u64 {
        fields[from..to]
            .iter()
            .filter_map(|f| f.parse::<u64>().ok())
            .sum()
    };
    let root = stat_fields(pid)?;
    // utime, stime, cutime, cstime are fields 14-17.
    let mut total = ticks(&root, 11, 15);
    let mut children: std::collections::HashMap<u32, Vec<u32>> = Default::default();
    let mut own: std::collections::HashMap<u32, u64> = Default::default();
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(child) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        // A process that ended between the listing and the read is simply not counted.
        if let Some(fields) = stat_fields(child).filter(|f| f.len() > 13)
            && let Ok(parent) = fields[1].parse::<u32>()
        {
            children.entry(parent).or_default().push(child);
            own.insert(child, ticks(&fields, 11, 13));
        }
    }
    let mut stack = children.remove(&pid).unwrap_or_default();
    while let Some(p) = stack.pop() {
        total += own.get(&p).copied().unwrap_or(0);
        stack.extend(children.remove(&p).unwrap_or_default());
    }
    Some(total as f64 / USER_HZ)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_has_used_some_cpu_and_has_resident_memory() {
        let me = std::process::id();
        // Burn a little CPU so the tick counter moves past zero on a fast machine.
        let mut x = 0u64;
        let began = Instant::now();
        while began.elapsed() < Duration::from_millis(30) {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
        }
        std::hint::black_box(x);
        let cpu = cpu_seconds(me).expect("/proc/self/stat is readable");
        assert!(cpu > 0.0, "cpu {cpu}");
        assert!(rss_kib(me).expect("VmRSS is readable") > 0);
        assert_eq!(cpu_seconds(u32::MAX), None);
    }

    #[test]
    fn a_tree_counts_a_busy_child() {
        let mut child = std::process::Command::new("sh")
            .args([
                "-c",
                "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; sleep 5",
            ])
            .spawn()
            .expect("sh starts");
        let me = std::process::id();
        let deadline = Instant::now() + Duration::from_secs(10);
        let own = loop {
            let own = cpu_seconds(child.id()).expect("the child is readable");
            if own >= 0.05 || Instant::now() > deadline {
                break own;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        // Self first: the tree, read after, holds at least as much of this process's time.
        let alone = cpu_seconds(me).expect("this process is readable");
        let tree = tree_cpu_seconds(me).expect("this process is readable");
        let _ = child.kill();
        let _ = child.wait();
        assert!(own >= 0.05, "the child used {own} s");
        assert!(
            tree >= alone + own,
            "tree {tree} < self {alone} + child {own}"
        );
        assert_eq!(tree_cpu_seconds(u32::MAX), None);
    }
}
