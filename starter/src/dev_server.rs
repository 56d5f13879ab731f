//! Launches `temporal server start-dev`: a real Temporal server (one history shard on SQLite)
//! with the Web UI, our namespace and every search attribute the project uses registered up
//! front, persisted in a SQLite file so bookings survive a restart.

use std::{
    net::{SocketAddr, TcpListener, TcpStream},
    path::PathBuf,
    process::Stdio,
    time::{Duration, Instant},
};

use booking_workflows::search_attributes;
use tokio::process::{Child, Command};

/// Eager activity execution, as the compose and topology servers' dynamic config also set it.
const EAGER_ACTIVITIES: &str = "system.enableActivityEagerExecution=true";

/// Why the dev server could not be started. All fatal; each says what to change.
#[derive(Debug, thiserror::Error)]
pub enum DevServerError {
    #[error("the Temporal CLI is not at {0} (run scripts/bootstrap, or set BOOKINGS_TEMPORAL_BIN)")]
    MissingBinary(PathBuf),
    #[error(
        "port {port} on {ip} is already in use ({what}); stop whatever holds it or choose another port"
    )]
    PortTaken {
        ip: String,
        port: u16,
        what: &'static str,
    },
    #[error("cannot create the data directory {path}: {source}")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot start {binary}: {source}")]
    Spawn {
        binary: PathBuf,
        source: std::io::Error,
    },
    #[error("the dev server exited during start-up ({status}); its log is {log}")]
    ExitedEarly { status: String, log: PathBuf },
    #[error("the dev server did not accept connections on {addr} within {secs}s; its log is {log}")]
    NotReady {
        addr: SocketAddr,
        secs: u64,
        log: PathBuf,
    },
}

/// Where and how to run the dev server.
#[derive(Debug, Clone)]
pub struct DevServerConfig {
    pub temporal_bin: PathBuf,
    /// Holds `temporal.db` (the SQLite database) and `temporal.log`.
    pub data_dir: PathBuf,
    pub ip: String,
    pub port: u16,
    /// The Web UI's port; `None` runs headless (tests).
    pub ui_port: Option<u16>,
    pub namespace: String,
    /// Where the server serves its own Prometheus metrics (`/metrics`), if anywhere: the
    /// benchmark reads its service and persistence latencies there.
    pub metrics_port: Option<u16>,
}

impl DevServerConfig {
    /// The cached binary `scripts/bootstrap` installs, unless `BOOKINGS_TEMPORAL_BIN` names one.
    pub fn default_binary() -> PathBuf {
        if let Ok(path) = std::env::var("BOOKINGS_TEMPORAL_BIN") {
            return PathBuf::from(path);
        }
        let cache = std::env::var("BOOKINGS_CACHE")
            .map(PathBuf::from)
            .or_else(|_| std::env::var("XDG_CACHE_HOME").map(|d| PathBuf::from(d).join("bookings")))
            .unwrap_or_else(|_| {
                PathBuf::from(std::env::var("HOME").unwrap_or_else(|_| ".".into()))
                    .join(".cache/bookings")
            });
        cache.join("temporal-v1.5.1/temporal")
    }

    pub fn database(&self) -> PathBuf {
        self.data_dir.join("temporal.db")
    }

    pub fn log_file(&self) -> PathBuf {
        self.data_dir.join("temporal.log")
    }

    pub fn grpc_address(&self) -> String {
        format!("{}:{}", self.ip, self.port)
    }

    pub fn ui_url(&self) -> Option<String> {
        self.ui_port
            .map(|port| format!("http://{}:{port}", self.ip))
    }

    /// Arguments after `temporal`.
    pub fn args(&self) -> Vec<String> {
        let mut args: Vec<String> = [
            "server",
            "start-dev",
            "--ip",
            &self.ip,
            "--port",
            &self.port.to_string(),
            "--namespace",
            &self.namespace,
            "--db-filename",
            &self.database().to_string_lossy(),
            // WAL keeps readers (the UI, queries) from blocking the single writer.
            "--sqlite-pragma",
            "journal_mode=WAL",
            // Sync at checkpoints, not at every commit: the one connection is not held through
            // an fsync per transaction. Survives a crash of the server; only an OS crash or
            // power loss can lose the last commits, acceptable for a development server.
            "--sqlite-pragma",
            "synchronous=NORMAL",
            // The worker that completes a workflow task also runs its activities, so the server
            // may hand an activity back in the completion's response instead of routing it
            // through a task queue. Off by default in the server; the SDK asks for it.
            "--dynamic-config-value",
            EAGER_ACTIVITIES,
            "--log-level",
            "warn",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        match self.ui_port {
            Some(port) => args.extend(["--ui-port".to_owned(), port.to_string()]),
            None => args.push("--headless".to_owned()),
        }
        if let Some(port) = self.metrics_port {
            args.extend(["--metrics-port".to_owned(), port.to_string()]);
        }
        args.extend(search_attributes::dev_server_args());
        args
    }
}

/// A running dev server; killed when dropped, so a panicking caller leaves no orphan.
#[derive(Debug)]
pub struct DevServer {
    child: Child,
    config: DevServerConfig,
}

impl DevServer {
    /// Starts the server and waits until its frontend accepts connections.
    pub async fn start(config: DevServerConfig) -> Result<Self, DevServerError> {
        if !config.temporal_bin.is_file() {
            return Err(DevServerError::MissingBinary(config.temporal_bin.clone()));
        }
        ensure_port_free(&config.ip, config.port, "Temporal frontend")?;
        if let Some(ui_port) = config.ui_port {
            ensure_port_free(&config.ip, ui_port, "Temporal Web UI")?;
        }
        std::fs::create_dir_all(&config.data_dir).map_err(|source| DevServerError::DataDir {
            path: config.data_dir.clone(),
            source,
        })?;
        let log =
            std::fs::File::create(config.log_file()).map_err(|source| DevServerError::DataDir {
                path: config.log_file(),
                source,
            })?;
        let log_err = log.try_clone().map_err(|source| DevServerError::DataDir {
            path: config.log_file(),
            source,
        })?;
        let child = Command::new(&config.temporal_bin)
            .args(config.args())
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .kill_on_drop(true)
            .spawn()
            .map_err(|source| DevServerError::Spawn {
                binary: config.temporal_bin.clone(),
                source,
            })?;
        let mut server = Self { child, config };
        server.wait_ready(Duration::from_secs(60)).await?;
        Ok(server)
    }

    async fn wait_ready(&mut self, limit: Duration) -> Result<(), DevServerError> {
        let addr: SocketAddr = self
            .config
            .grpc_address()
            .parse()
            .expect("ip and port form a socket address");
        let deadline = Instant::now() + limit;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(DevServerError::ExitedEarly {
                    status: status.to_string(),
                    log: self.config.log_file(),
                });
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(DevServerError::NotReady {
                    addr,
                    secs: limit.as_secs(),
                    log: self.config.log_file(),
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn config(&self) -> &DevServerConfig {
        &self.config
    }

    /// The server's process id while it runs (to read its resident memory, for instance).
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Waits for the server process to exit on its own.
    pub async fn wait(&mut self) -> std::io::Result<std::process::ExitStatus> {
        self.child.wait().await
    }

    /// Stops the server (SIGTERM, then SIGKILL after a grace period) and waits for it.
    pub async fn stop(mut self) {
        crate::supervisor::terminate(&mut self.child, Duration::from_secs(10)).await;
    }
}

/// Refuses clearly when a port is taken, rather than letting the server fail with a bind error
/// buried in its log.
pub fn ensure_port_free(ip: &str, port: u16, what: &'static str) -> Result<(), DevServerError> {
    match TcpListener::bind((ip, port)) {
        Ok(_) => Ok(()),
        Err(_) => Err(DevServerError::PortTaken {
            ip: ip.to_owned(),
            port,
            what,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> DevServerConfig {
        DevServerConfig {
            temporal_bin: PathBuf::from("/opt/temporal"),
            data_dir: PathBuf::from("/var/lib/bookings"),
            ip: "127.0.0.1".into(),
            port: 7233,
            ui_port: Some(8233),
            namespace: "default".into(),
            metrics_port: None,
        }
    }

    #[test]
    fn registers_every_search_attribute_and_persists_to_sqlite() {
        let args = config().args();
        let joined = args.join(" ");
        assert!(joined.contains("--db-filename /var/lib/bookings/temporal.db"));
        assert!(joined.contains("--dynamic-config-value system.enableActivityEagerExecution=true"));
        for (name, kind) in search_attributes::ALL {
            assert!(
                joined.contains(&format!("--search-attribute {name}={kind}")),
                "{name} is not registered"
            );
        }
    }

    #[test]
    fn a_taken_port_is_refused_with_its_number() {
        let holder = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = holder.local_addr().unwrap().port();
        let err = ensure_port_free("127.0.0.1", port, "Temporal frontend").unwrap_err();
        assert!(err.to_string().contains(&format!("port {port}")));
    }
}
