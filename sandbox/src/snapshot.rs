//! Persisting provider state to a JSON file so a demo survives a restart. Writes go to a
//! temporary file renamed over the target, so a crash mid-write never leaves half a file.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::state::{Providers, Shared};

const FORMAT_VERSION: u32 = 1;

#[derive(Deserialize)]
struct Snapshot {
    version: u32,
    providers: Providers,
}

#[derive(Serialize)]
struct SnapshotRef<'a> {
    version: u32,
    saved_at: chrono::DateTime<chrono::Utc>,
    providers: &'a Providers,
}

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("cannot read snapshot {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("snapshot {path} is not a sandbox snapshot: {source}")]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("snapshot {path} has format version {found}, expected {FORMAT_VERSION}")]
    Version { path: PathBuf, found: u32 },
    #[error("cannot write snapshot {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The saved providers, or `None` when there is no file yet.
pub fn load(path: &Path) -> Result<Option<Providers>, SnapshotError> {
    let raw = match std::fs::read(path) {
        Ok(raw) => raw,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(SnapshotError::Read {
                path: path.to_owned(),
                source,
            });
        }
    };
    let snapshot: Snapshot =
        serde_json::from_slice(&raw).map_err(|source| SnapshotError::Parse {
            path: path.to_owned(),
            source,
        })?;
    if snapshot.version != FORMAT_VERSION {
        return Err(SnapshotError::Version {
            path: path.to_owned(),
            found: snapshot.version,
        });
    }
    Ok(Some(snapshot.providers))
}

pub fn save(app: &Shared, path: &Path) -> Result<(), SnapshotError> {
    let bytes = app.read(|providers| {
        serde_json::to_vec_pretty(&SnapshotRef {
            version: FORMAT_VERSION,
            saved_at: crate::time::now(),
            providers,
        })
    });
    let write_err = |source| SnapshotError::Write {
        path: path.to_owned(),
        source,
    };
    let bytes = bytes.map_err(|e| write_err(std::io::Error::other(e)))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(write_err)?;
    }
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, bytes).map_err(write_err)?;
    std::fs::rename(&tmp, path).map_err(write_err)
}

/// Saves shortly after changes (batching bursts) until shutdown.
pub async fn run_saver(app: Shared, path: PathBuf, debounce: Duration) {
    loop {
        tokio::select! {
            () = app.changed() => {}
            () = app.shutting_down() => return,
        }
        tokio::select! {
            () = tokio::time::sleep(debounce) => {}
            () = app.shutting_down() => return,
        }
        if let Err(e) = save(&app, &path) {
            tracing::error!(error = %e, "snapshot save failed");
        }
    }
}
