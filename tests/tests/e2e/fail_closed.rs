//! Issue 17, "secrets fail closed", against the built binaries: outside sandbox mode
//! `booking-worker` and `booking-shim` refuse to start without their secrets, exiting non-zero
//! with every missing variable named; with `BOOKINGS_SANDBOX=1` the shim starts on the sandbox's
//! public credentials (and says so). Each process gets a cleared environment, so nothing of the
//! caller's leaks in.

use std::{
    io::{Read, Write},
    net::{TcpListener, TcpStream},
    path::PathBuf,
    process::{Child, Command, Output, Stdio},
    time::{Duration, Instant},
};

use booking_tests::workspace_binary;

/// How long a process that must refuse to start may take to exit.
const EXIT_LIMIT: Duration = Duration::from_secs(30);

fn worker() -> PathBuf {
    workspace_binary("booking-worker", "booking-worker")
}

fn shim() -> PathBuf {
    workspace_binary("booking-shim", "booking-shim")
}

/// `binary` with only PATH, HOME and `env`; Temporal pointed at a closed port, so a process that
/// got past its configuration can never reach someone else's server.
fn command(binary: PathBuf, env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(binary);
    command.env_clear();
    for var in ["PATH", "HOME"] {
        if let Some(value) = std::env::var_os(var) {
            command.env(var, value);
        }
    }
    command
        .env("TEMPORAL_ADDRESS", "127.0.0.1:1")
        .env("NO_COLOR", "1")
        .env("RUST_LOG", "info")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// Polls `child` until it exits or `limit` passes; a process still running then is killed and
/// reported (it started when it should have refused to).
fn exited_within(mut child: Child, limit: Duration, what: &str) -> Output {
    let deadline = Instant::now() + limit;
    loop {
        if child.try_wait().expect("the child can be polled").is_some() {
            return child.wait_with_output().expect("the child's output");
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let output = child.wait_with_output().expect("the child's output");
            panic!(
                "{what} still runs after {}s: it started instead of refusing\nstdout:\n{}\nstderr:\n{}",
                limit.as_secs(),
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Runs `binary` with `env` and asserts it refused to start: non-zero exit, `named` all in its
/// stderr.
fn refuses(binary: PathBuf, env: &[(&str, &str)], named: &[&str]) -> String {
    let what = format!("{} with {env:?}", binary.display());
    let child = command(binary, env).spawn().expect("the binary starts");
    let output = exited_within(child, EXIT_LIMIT, &what);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        !output.status.success(),
        "{what} exited successfully:\n{stderr}"
    );
    for var in named {
        assert!(
            stderr.contains(var),
            "{what}: stderr does not name {var}:\n{stderr}"
        );
    }
    stderr
}

/// What a production worker must be given (the Twilio account and sender are not secrets, but
/// the sandbox's are as useless to it), each with a value it accepts.
const WORKER_SECRETS: [(&str, &str); 9] = [
    ("BOOKINGS_SENDGRID_API_KEY", "real-value"),
    ("BOOKINGS_GOOGLE_CLIENT_ID", "real-value"),
    ("BOOKINGS_GOOGLE_CLIENT_SECRET", "real-value"),
    ("BOOKINGS_GOOGLE_REFRESH_TOKEN", "real-value"),
    ("BOOKINGS_HUBSPOT_TOKEN", "real-value"),
    ("BOOKINGS_CALENDLY_TOKEN", "real-value"),
    (
        "BOOKINGS_TWILIO_ACCOUNT_SID",
        "AC00112233445566778899aabbccddeeff",
    ),
    ("BOOKINGS_TWILIO_AUTH_TOKEN", "real-twilio-token"),
    ("BOOKINGS_TWILIO_FROM", "+14155550132"),
];

const SHIM_SECRETS: [(&str, &str); 7] = [
    ("SHIM_CALENDLY_SIGNING_KEY", "real-signing-key"),
    ("SHIM_LINK_SECRET", "real-link-secret"),
    ("SHIM_OPERATOR_TOKEN", "real-operator-token"),
    ("SHIM_FORM_TOKEN", "real-form-token"),
    ("BOOKINGS_CALENDLY_TOKEN", "real-calendly-token"),
    ("SHIM_TWILIO_AUTH_TOKEN", "real-twilio-token"),
    // Not a secret, but required alike: Twilio's signatures cover the URL it called.
    ("SHIM_PUBLIC_URL", "https://hooks.example.com"),
];

#[test]
fn the_worker_without_sandbox_mode_or_secrets_exits_naming_every_missing_one() {
    let names: Vec<&str> = WORKER_SECRETS.iter().map(|(var, _)| *var).collect();
    refuses(worker(), &[], &names);
    // A sandbox URL is not sandbox mode.
    refuses(
        worker(),
        &[("BOOKINGS_SANDBOX_URL", "http://127.0.0.1:8089")],
        &names,
    );
    // One secret missing: that one is named.
    for left_out in ["BOOKINGS_HUBSPOT_TOKEN", "BOOKINGS_TWILIO_AUTH_TOKEN"] {
        let all_but_one: Vec<(&str, &str)> = WORKER_SECRETS
            .into_iter()
            .filter(|(var, _)| *var != left_out)
            .collect();
        refuses(worker(), &all_but_one, &[left_out]);
    }
}

#[test]
fn the_shim_without_sandbox_mode_or_secrets_exits_naming_every_missing_one() {
    let names: Vec<&str> = SHIM_SECRETS.iter().map(|(var, _)| *var).collect();
    refuses(shim(), &[], &names);
    // Only the Calendly signing key missing: anyone could forge `invitee.created` with the
    // sandbox's public key, so it must stop the shim.
    let all_but_signing_key: Vec<(&str, &str)> = SHIM_SECRETS
        .into_iter()
        .filter(|(var, _)| *var != "SHIM_CALENDLY_SIGNING_KEY")
        .collect();
    refuses(shim(), &all_but_signing_key, &["SHIM_CALENDLY_SIGNING_KEY"]);
    // Nor without the Twilio auth token: anyone could forge a STOP or a delivery report.
    let all_but_twilio: Vec<(&str, &str)> = SHIM_SECRETS
        .into_iter()
        .filter(|(var, _)| *var != "SHIM_TWILIO_AUTH_TOKEN")
        .collect();
    refuses(shim(), &all_but_twilio, &["SHIM_TWILIO_AUTH_TOKEN"]);
}

#[test]
fn bad_secret_and_mode_values_stop_the_shim_naming_the_variable() {
    // A form signing secret that is not whsec_<base64> is refused, not used as raw bytes.
    let mut env = SHIM_SECRETS.to_vec();
    env.push(("SHIM_FORM_WEBHOOK_SECRET", "not-a-whsec-secret"));
    refuses(shim(), &env, &["SHIM_FORM_WEBHOOK_SECRET"]);
    // An unrecognised sandbox flag is neither mode.
    refuses(
        shim(),
        &[("BOOKINGS_SANDBOX", "yes please")],
        &["BOOKINGS_SANDBOX"],
    );
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

/// One `GET path` on a fresh connection; the status line, if anything answered.
fn get(port: u16, path: &str) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    answer.lines().next().map(str::to_owned)
}

#[test]
fn in_sandbox_mode_the_shim_starts_without_secrets_and_says_so() {
    let port = free_port();
    let port_text = port.to_string();
    let mut child = command(
        shim(),
        &[("BOOKINGS_SANDBOX", "1"), ("SHIM_PORT", &port_text)],
    )
    .spawn()
    .expect("the shim starts");
    let deadline = Instant::now() + Duration::from_secs(30);
    let healthy = loop {
        if get(port, "/healthz").is_some_and(|status| status.contains(" 200 ")) {
            break true;
        }
        if Instant::now() > deadline || child.try_wait().expect("the shim can be polled").is_some()
        {
            break false;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let _ = child.kill();
    let output = child.wait_with_output().expect("the shim's output");
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        healthy,
        "the sandbox-mode shim never answered /healthz:\n{log}"
    );
    assert!(
        log.contains("sandbox mode (BOOKINGS_SANDBOX=1)"),
        "no sandbox-mode warning:\n{log}"
    );
}

#[test]
fn in_sandbox_mode_the_worker_gets_past_its_configuration() {
    // No Temporal on port 1: the worker fails on connecting, which it reaches only once its
    // configuration (sandbox credentials included) was accepted.
    let child = command(worker(), &[("BOOKINGS_SANDBOX", "true")])
        .spawn()
        .expect("the worker starts");
    let output = exited_within(child, EXIT_LIMIT, "the sandbox-mode worker");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("cannot reach Temporal"), "{stderr}");
    assert!(!stderr.contains("not set"), "{stderr}");
}
