//! The container topology's files, checked without a container engine (none runs on the
//! project's machines): `docker-compose.yml` parses and registers every search attribute the
//! workflows upsert, the `Dockerfile` has one target per binary, and `.env.example` names every
//! worker tuning variable. `scripts/topology test` proves the same topology with processes.

use std::path::PathBuf;
use std::process::Command;

use booking_workflows::search_attributes::ALL;

fn repo_file(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn compose_registers_every_search_attribute() {
    let compose = repo_file("docker-compose.yml");
    for (name, kind) in ALL {
        assert!(
            compose.contains(&format!("{name}={kind}")),
            "docker-compose.yml does not register {name}={kind}"
        );
    }
}

#[test]
fn compose_file_parses() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    // The compose v2 plugin or docker-compose (v1, Debian's package) validate the whole file
    // without an engine; without either, a YAML parse is the check.
    let validators: [(&str, &[&str], &[&str]); 3] = [
        (
            "docker",
            &["compose", "version"],
            &[
                "compose",
                "--env-file",
                ".env.example",
                "--profile",
                "sandbox",
                "config",
                "-q",
            ],
        ),
        (
            "docker-compose",
            &["--version"],
            &[
                "--env-file",
                ".env.example",
                "--profile",
                "sandbox",
                "config",
                "-q",
            ],
        ),
        (
            "python3",
            &["-c", "import yaml"],
            &[
                "-c",
                "import yaml; yaml.safe_load(open('docker-compose.yml'))",
            ],
        ),
    ];
    for (program, probe, args) in validators {
        let present = Command::new(program)
            .args(probe)
            .output()
            .is_ok_and(|o| o.status.success());
        if !present {
            continue;
        }
        let output = Command::new(program)
            .args(args)
            .current_dir(&root)
            .output()
            .expect("the validator ran a moment ago");
        assert!(
            output.status.success(),
            "{program} {args:?} refused docker-compose.yml:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        eprintln!("docker-compose.yml validated by {program}");
        return;
    }
    eprintln!("no compose or YAML validator on this machine: only the text checks ran");
}

#[test]
fn dockerfile_has_one_small_target_per_binary() {
    let dockerfile = repo_file("Dockerfile");
    assert!(
        dockerfile.contains("protobuf-compiler"),
        "the builder installs protoc"
    );
    for (target, binary) in [
        ("worker", "booking-worker"),
        ("shim", "booking-shim"),
        ("starter", "bookings"),
        ("sandbox", "booking-sandbox"),
    ] {
        assert!(
            dockerfile.contains(&format!("FROM runtime AS {target}\n")),
            "no {target} target"
        );
        assert!(
            dockerfile.contains(&format!("/out/{binary} /usr/local/bin/{binary}")),
            "the {target} target does not copy {binary}"
        );
    }
}

#[test]
fn env_example_names_every_worker_tuning_variable() {
    let env = repo_file(".env.example");
    let compose = repo_file("docker-compose.yml");
    for var in [
        "BOOKINGS_WORKER_MAX_CACHED_WORKFLOWS",
        "BOOKINGS_WORKER_WORKFLOW_SLOTS",
        "BOOKINGS_WORKER_ACTIVITY_SLOTS",
        "BOOKINGS_WORKER_LOCAL_ACTIVITY_SLOTS",
        "BOOKINGS_WORKER_WORKFLOW_POLLERS",
        "BOOKINGS_WORKER_ACTIVITY_POLLERS",
    ] {
        assert!(env.contains(&format!("{var}=")), ".env.example lacks {var}");
        assert!(
            compose.contains(var),
            "docker-compose.yml does not pass {var}"
        );
    }
}
