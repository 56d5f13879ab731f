//! The shim's connection limits, end to end over loopback: slow-header clients are cut off
//! after `SHIM_HEADER_READ_TIMEOUT_MS`, cannot starve other clients, connections past
//! `SHIM_MAX_CONNECTIONS` wait for a free slot, and requests past
//! `SHIM_MAX_IN_FLIGHT_REQUESTS` are answered 503 with `Retry-After`.
//!
//! None of this needs Temporal: the shim is served without a client (`/healthz` and the body
//! reader answer without one).

use std::time::{Duration, Instant};

use booking_tests::{TestShim, eventually, serve_shim, shim_config};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

/// How long any one expected outcome may take.
const DEADLINE: Duration = Duration::from_secs(10);

async fn shim_with(vars: &[(&str, &str)]) -> TestShim {
    serve_shim(shim_config("limits-test", "http://127.0.0.1:9", vars), None).await
}

fn addr(shim: &TestShim) -> String {
    shim.url.trim_start_matches("http://").to_owned()
}

/// A connection that sent part of a request head and then stopped.
async fn stalled_client(shim: &TestShim) -> TcpStream {
    let mut stream = TcpStream::connect(addr(shim)).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: loopback\r\nX-Slow: ")
        .await
        .unwrap();
    stream
}

/// A connection that sent a whole head announcing a body it never sends: a request in flight.
async fn request_without_its_body(shim: &TestShim) -> TcpStream {
    let mut stream = TcpStream::connect(addr(shim)).await.unwrap();
    stream
        .write_all(
            b"POST /webhooks/form HTTP/1.1\r\nHost: loopback\r\n\
              Content-Type: application/json\r\nContent-Length: 100\r\n\r\n",
        )
        .await
        .unwrap();
    stream
}

/// Reads until the server closes the connection; panics if it is still open at `deadline`.
async fn closed_within(stream: &mut TcpStream, deadline: Duration) {
    tokio::time::timeout(deadline, async {
        let mut buf = [0u8; 1024];
        while let Ok(n) = stream.read(&mut buf).await {
            if n == 0 {
                return;
            }
        }
    })
    .await
    .expect("the server closes the connection in time");
}

/// Whether the server still holds the connection open (nothing to read, no end of stream).
fn still_open(stream: &TcpStream) -> bool {
    let mut buf = [0u8; 1];
    matches!(stream.try_read(&mut buf), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
}

/// One `GET path` on a fresh connection, answered within [`DEADLINE`]: the status line.
async fn raw_get(shim: &TestShim, path: &str) -> String {
    let mut stream = TcpStream::connect(addr(shim)).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: loopback\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    status_line(&mut stream, DEADLINE)
        .await
        .expect("the request is answered in time")
}

/// The status line the server sends on `stream`, if it sends one within `limit`.
async fn status_line(stream: &mut TcpStream, limit: Duration) -> Option<String> {
    let mut seen = Vec::new();
    tokio::time::timeout(limit, async {
        let mut buf = [0u8; 256];
        while !seen.windows(2).any(|w| w == b"\r\n") {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => seen.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .ok()?;
    let text = String::from_utf8_lossy(&seen);
    text.split("\r\n")
        .next()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_header_clients_are_cut_off_after_the_header_timeout() {
    let shim = shim_with(&[("SHIM_HEADER_READ_TIMEOUT_MS", "500")]).await;
    let http = reqwest::Client::new();
    let began = Instant::now();

    let mut stalled = Vec::new();
    for _ in 0..4 {
        stalled.push(stalled_client(&shim).await);
    }
    // Dribblers send a byte of header every 50 ms: progress must not extend the deadline.
    let dribblers: Vec<_> = (0..4)
        .map(|_| {
            let addr = addr(&shim);
            tokio::spawn(async move {
                let mut stream = TcpStream::connect(addr).await.unwrap();
                let connected = Instant::now();
                stream
                    .write_all(b"GET /healthz HTTP/1.1\r\nX-Drip: ")
                    .await
                    .unwrap();
                let mut pace = tokio::time::interval(Duration::from_millis(50));
                let mut buf = [0u8; 256];
                // Bounded: 10 s of dribbling at most, far past the 0.5 s deadline.
                for _ in 0..200 {
                    tokio::select! {
                        read = stream.read(&mut buf) => match read {
                            Ok(0) | Err(_) => return Some(connected.elapsed()),
                            Ok(_) => {}
                        },
                        _ = pace.tick() => {
                            if stream.write_all(b"a").await.is_err() {
                                return Some(connected.elapsed());
                            }
                        }
                    }
                }
                None
            })
        })
        .collect();

    // Others are served while the slow clients hold their connections.
    let health = http
        .get(format!("{}/healthz", shim.url))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);

    for stream in &mut stalled {
        closed_within(stream, DEADLINE).await;
    }
    assert!(
        began.elapsed() >= Duration::from_millis(500),
        "closed by the header deadline, not before it"
    );
    for dribbler in dribblers {
        let held = dribbler
            .await
            .unwrap()
            .expect("a dribbling client is cut off too");
        assert!(held >= Duration::from_millis(450), "cut off after {held:?}");
        assert!(held < DEADLINE, "cut off after {held:?}");
    }
    // And the shim still serves after cutting them off.
    assert_eq!(raw_get(&shim, "/healthz").await, "HTTP/1.1 200 OK");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shim_keeps_answering_while_slow_clients_hold_connections() {
    // A long header deadline, so the slow clients surely still hold their connections.
    let shim = shim_with(&[
        ("SHIM_HEADER_READ_TIMEOUT_MS", "60000"),
        ("SHIM_MAX_CONNECTIONS", "32"),
    ])
    .await;
    let mut stalled = Vec::new();
    for _ in 0..16 {
        stalled.push(stalled_client(&shim).await);
    }
    let http = reqwest::Client::new();
    for _ in 0..20 {
        let health =
            tokio::time::timeout(DEADLINE, http.get(format!("{}/healthz", shim.url)).send())
                .await
                .expect("/healthz answers while slow clients hold connections")
                .unwrap();
        assert_eq!(health.status(), 200);
    }
    assert!(
        stalled.iter().all(still_open),
        "the slow clients were holding their connections all along"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_past_the_cap_wait_for_a_free_slot() {
    let shim = shim_with(&[
        ("SHIM_HEADER_READ_TIMEOUT_MS", "60000"),
        ("SHIM_MAX_CONNECTIONS", "4"),
    ])
    .await;
    let mut stalled = Vec::new();
    for _ in 0..4 {
        stalled.push(stalled_client(&shim).await);
    }
    // The kernel completes the handshake (listen backlog) but the shim does not take it.
    let mut fifth = TcpStream::connect(addr(&shim)).await.unwrap();
    fifth
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: loopback\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    assert_eq!(
        status_line(&mut fifth, Duration::from_millis(300)).await,
        None,
        "a fifth connection is not served while four hold every slot"
    );
    // One slow client goes away: its slot serves the waiting connection.
    drop(stalled.pop());
    assert_eq!(
        status_line(&mut fifth, DEADLINE).await.as_deref(),
        Some("HTTP/1.1 200 OK")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_past_the_in_flight_cap_get_503_with_retry_after() {
    let shim = shim_with(&[("SHIM_MAX_IN_FLIGHT_REQUESTS", "2")]).await;
    let http = reqwest::Client::new();
    let mut holding = vec![
        request_without_its_body(&shim).await,
        request_without_its_body(&shim).await,
    ];
    let refused = eventually("a request past the cap is refused", DEADLINE, || async {
        let answer = http
            .get(format!("{}/openapi.json", shim.url))
            .send()
            .await
            .ok()?;
        (answer.status() == 503).then_some(answer)
    })
    .await;
    let retry_after = refused.headers()["retry-after"].to_str().unwrap();
    assert!(retry_after.parse::<u64>().unwrap() >= 1);
    let health = http
        .get(format!("{}/healthz", shim.url))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200, "the liveness probe is exempt");

    // The requests in flight end (their clients go away): the slots come back.
    holding.clear();
    eventually("requests are served again", DEADLINE, || async {
        let answer = http
            .get(format!("{}/openapi.json", shim.url))
            .send()
            .await
            .ok()?;
        (answer.status() == 200).then_some(())
    })
    .await;
}
