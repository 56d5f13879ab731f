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
        // The sandbox run, named explicitly: compose has no default for either.
        let output = Command::new(program)
            .args(args)
            .env("SECRETS_DIR", "./deploy/sandbox-secrets")
            .env("BOOKINGS_SANDBOX", "1")
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

/// Issue 17: nothing in the compose files falls back to the sandbox's public secrets. Every
/// secret file comes from `SECRETS_DIR`, which compose refuses to run without; sandbox mode is
/// off unless asked for; the shim reads its secrets through `*_FILE` like the workers (no shell
/// entrypoint pasting them into its environment).
#[test]
fn compose_secrets_fail_closed() {
    let compose = repo_file("docker-compose.yml");
    let config: Vec<&str> = compose
        .lines()
        .filter(|line| !line.trim_start().starts_with('#'))
        .collect();
    let secret_files: Vec<&&str> = config
        .iter()
        .filter(|line| line.trim_start().starts_with("file:"))
        .collect();
    assert!(secret_files.len() >= 10, "{secret_files:?}");
    for line in &secret_files {
        assert!(
            line.contains("${SECRETS_DIR:?"),
            "a secret file without the required SECRETS_DIR: {line}"
        );
    }
    for line in &config {
        assert!(
            !line.contains("sandbox-secrets") && !line.contains("SECRETS_DIR:-"),
            "docker-compose.yml defaults to the sandbox's secrets: {line}"
        );
        // (PostgreSQL's auto-setup image reads its password from the environment only.)
        assert!(
            !line.contains("cat /run/secrets") || line.contains("/run/secrets/postgres_password"),
            "a secret pasted into the environment: {line}"
        );
        if line.contains("BOOKINGS_SANDBOX:") {
            assert!(
                line.trim_end().ends_with("${BOOKINGS_SANDBOX:-0}"),
                "sandbox mode must be off unless asked for: {line}"
            );
        }
    }
    for var in [
        "SHIM_FORM_TOKEN_FILE",
        "SHIM_OPERATOR_TOKEN_FILE",
        "SHIM_LINK_SECRET_FILE",
        "SHIM_CALENDLY_SIGNING_KEY_FILE",
        "BOOKINGS_CALENDLY_TOKEN_FILE",
        "BOOKINGS_SENDGRID_API_KEY_FILE",
        "BOOKINGS_GOOGLE_CLIENT_SECRET_FILE",
        "BOOKINGS_GOOGLE_REFRESH_TOKEN_FILE",
        "BOOKINGS_MICROSOFT_CLIENT_SECRET_FILE",
        "BOOKINGS_HUBSPOT_TOKEN_FILE",
        "BOOKINGS_TWILIO_AUTH_TOKEN_FILE",
        "SHIM_TWILIO_AUTH_TOKEN_FILE",
    ] {
        assert!(
            compose.contains(&format!("{var}: /run/secrets/")),
            "{var} is not read from a mounted file"
        );
    }
    // The shim's public URL (Twilio signs it) has no default to fall back to: without it a
    // production shim refuses to start; in a sandbox run it is empty (the Host header).
    assert!(
        compose.contains("SHIM_PUBLIC_URL: ${SHIM_PUBLIC_URL:-}\n"),
        "the shim's SHIM_PUBLIC_URL must come from .env, with no default"
    );
    let env = repo_file(".env.example");
    let line = |var: &str| {
        env.lines()
            .find(|l| l.starts_with(&format!("{var}=")))
            .unwrap_or_else(|| panic!(".env.example lacks {var}"))
            .to_owned()
    };
    assert_eq!(line("SECRETS_DIR"), "SECRETS_DIR=", "no default secrets");
    assert_eq!(line("BOOKINGS_SANDBOX"), "BOOKINGS_SANDBOX=0");
    assert_eq!(
        line("SHIM_PUBLIC_URL"),
        "SHIM_PUBLIC_URL=",
        "no default public URL"
    );
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
