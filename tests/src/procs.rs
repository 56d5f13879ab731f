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
