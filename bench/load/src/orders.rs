//! The orders benchmark: the ledger under orders, SQLite against Postgres, on two instances.
//!
//! ```text
//! tickerplex-load orders --server target/release/tickerplex            # both backends
//! tickerplex-load orders --smoke --server target/debug/tickerplex      # scripts/test's check
//! ```
//!
//! For each backend, two instances (a and b) on one Redis and one ledger — a SQLite file both
//! open, or a Postgres — then:
//! 1. **across instances**: one session's portfolio stream open on b, and orders placed one
//!    after the other through a. Per order: its latency (request sent → answer read), and how
//!    long until b's stream shows the fill (request sent → the event with its id arrives) —
//!    the issue's target is p99 ≤ 100 ms. b learns of a's fills by the ledger's watch: SQLite's
//!    poll (every 50 ms) or Postgres's LISTEN/NOTIFY.
//! 2. **throughput**: `sessions` sessions, each placing orders back to back for the window,
//!    half through each instance: orders/s and the latency percentiles. One session's orders
//!    run one after another (its account is locked per order, on either backend), so the
//!    throughput is that of many accounts at once.
//!
//! Every order is checked: a 200 is a fill, a 422 for a company the market has just delisted
//! sends the session to another symbol, anything else is counted as a failure.
//!
//! Past 300 lines as one concept: one scenario, end to end — its servers, its sessions, its
//! report — so a reader checks a figure in BENCHMARKS.md against one file.

use crate::client::{self, Protocol, Target};
use crate::servers::{self, Ports, Server};
use bytes::{Bytes, BytesMut};
use eventsource_stream::Eventsource;
use futures_util::StreamExt;
use hdrhistogram::Histogram;
use std::path::Path;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Ports: two instances, their Redis and the Postgres (clear of the suite's).
const A: u16 = 3901;
const B: u16 = 3902;
const REDIS: u16 = 3903;
const POSTGRES: u16 = 3904;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "Postgres",
        })
    }
}

/// What one backend measured.
pub struct Measured {
    pub backend: Backend,
    pub across: Histogram<u64>,
    pub orders_per_sec: f64,
    pub latency: Histogram<u64>,
    pub failures: Vec<String>,
}

pub struct Options<'a> {
    pub server: &'a Path,
    pub root: &'a Path,
    pub scratch: &'a Path,
    /// Orders placed one by one across instances.
    pub sequential: usize,
    /// Sessions ordering at once for the throughput part, and for how long.
    pub sessions: usize,
    pub window: Duration,
}

/// Runs both parts against `backend`.
pub async fn measure(backend: Backend, options: &Options<'_>) -> Result<Measured, String> {
    let scratch = options.scratch.join(match backend {
        Backend::Sqlite => "orders-sqlite",
        Backend::Postgres => "orders-postgres",
    });
    let _ = std::fs::remove_dir_all(&scratch);
    let mut parts: Vec<Server> = Vec::new();
    let mut redis = servers::redis(&scratch, None, REDIS)?;
    redis.ready(REDIS).await?;
    parts.push(redis);
    let ledger: (&str, String) = match backend {
        Backend::Sqlite => (
            "TICKERPLEX_LEDGER",
            scratch.join("ledger.db").display().to_string(),
        ),
        Backend::Postgres => {
            let mut postgres = servers::postgres(&scratch, None, POSTGRES)?;
            postgres.ready(POSTGRES).await?;
            parts.push(postgres);
            (
                "TICKERPLEX_DATABASE_URL",
                format!("postgres://tickerplex@127.0.0.1:{POSTGRES}/postgres"),
            )
        }
    };
    let redis_url = format!("redis://127.0.0.1:{REDIS}/0");
    for (name, port) in [("orders-a", A), ("orders-b", B)] {
        let ports = Ports {
            h2: port,
            h1: 0,
            publish: 0,
        };
        let env = [(ledger.0, ledger.1.as_str())];
        let mut instance = servers::tickerplex_with(
            options.server,
            options.root,
            &scratch,
            None,
            ports,
            None,
            Some(&redis_url),
            name,
            &env,
        )?;
        instance.ready(port).await?;
        parts.push(instance);
    }
    let tls = client::tls(&options.root.join("certs/dev-ca.pem"), Protocol::H2)?;
    let target = |port| Target {
        addr: Ports::addr(port),
        paths: vec![],
        protocol: Protocol::H2,
        tls: tls.clone(),
    };
    let (a, b) = (target(A), target(B));
    let result = run(backend, &a, &b, options).await;
    for part in parts.into_iter().rev() {
        part.stop().await;
    }
    result
}

async fn run(
    backend: Backend,
    a: &Target,
    b: &Target,
    options: &Options<'_>,
) -> Result<Measured, String> {
    let mut failures = Vec::new();

    // 1. Across instances: orders through a, the stream on b.
    let on_a = Session::start(a).await?;
    let on_b = on_a.on(b).await?;
    let mut fills = on_b.portfolio_stream().await?;
    let mut across = histogram();
    let mut symbol = on_a.listed().await?;
    for n in 0..options.sequential {
        let side = if n % 2 == 0 { "Buy" } else { "Sell" };
        let sent = Instant::now();
        let (status, body) = on_a.order(&format!("seq-{n}"), &symbol, side).await?;
        let seq = match status {
            200 => fill_seq(&body)?,
            422 if side == "Buy" => {
                symbol = on_a.listed().await?; // delisted: buy another
                continue;
            }
            _ => {
                failures.push(format!(
                    "order {n}: {status} {}",
                    String::from_utf8_lossy(&body)
                ));
                continue;
            }
        };
        loop {
            match tokio::time::timeout(Duration::from_secs(5), fills.recv()).await {
                Ok(Some(shown)) if shown >= seq => break,
                Ok(Some(_)) => {}
                _ => return Err(format!("{backend}: fill {seq} never reached b's stream")),
            }
        }
        across.saturating_record(micros(sent.elapsed()));
    }

    // 2. Throughput: many sessions at once, half through each instance.
    let mut sessions = Vec::new();
    for n in 0..options.sessions {
        let session = Session::start(a).await?;
        sessions.push(if n % 2 == 0 {
            session
        } else {
            session.on(b).await?
        });
    }
    let started = Instant::now();
    let deadline = started + options.window;
    let symbol = &symbol;
    let results = futures_util::future::join_all(sessions.iter().enumerate().map(
        |(s, session)| async move {
            let (mut latency, mut filled, mut failed) = (histogram(), 0u64, Vec::new());
            let mut symbol = symbol.clone();
            let mut n = 0;
            while Instant::now() < deadline {
                let side = if n % 2 == 0 { "Buy" } else { "Sell" };
                let sent = Instant::now();
                match session.order(&format!("load-{s}-{n}"), &symbol, side).await {
                    Ok((200, _)) => {
                        latency.saturating_record(micros(sent.elapsed()));
                        filled += 1;
                        n += 1;
                    }
                    Ok((422, _)) if side == "Buy" => match session.listed().await {
                        Ok(other) => symbol = other,
                        Err(error) => failed.push(error),
                    },
                    Ok((status, body)) => {
                        failed.push(format!("{status} {}", String::from_utf8_lossy(&body)));
                        n += 1;
                    }
                    Err(error) => failed.push(error),
                }
            }
            (latency, filled, failed)
        },
    ))
    .await;
    let elapsed = started.elapsed().as_secs_f64();
    let mut latency = histogram();
    let mut filled = 0;
    for (histogram, count, failed) in results {
        latency.add(&histogram).map_err(|e| e.to_string())?;
        filled += count;
        failures.extend(failed);
    }
    Ok(Measured {
        backend,
        across,
        orders_per_sec: filled as f64 / elapsed,
        latency,
        failures,
    })
}

/// One browser: a session cookie, on one HTTP/2 connection to one instance.
struct Session {
    cookie: String,
    send: h2::client::SendRequest<Bytes>,
}

impl Session {
    /// A new session from `target`'s one-widget dashboard (the same session middleware as `/`).
    async fn start(target: &Target) -> Result<Session, String> {
        let mut session = Session {
            cookie: String::new(),
            send: connect(target).await?,
        };
        let (parts, _) = session
            .request("GET", "/?widgets=watchlist", None, "text/html")
            .await?;
        let cookie = parts
            .headers
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .ok_or("the dashboard set no session cookie")?;
        session.cookie = cookie.to_owned();
        Ok(session)
    }

    /// The same session on another connection (to another instance).
    async fn on(&self, target: &Target) -> Result<Session, String> {
        Ok(Session {
            cookie: self.cookie.clone(),
            send: connect(target).await?,
        })
    }

    async fn request(
        &self,
        method: &str,
        path: &str,
        form: Option<(&str, String)>,
        accept: &str,
    ) -> Result<(http::response::Parts, Bytes), String> {
        let mut request = http::Request::builder()
            .method(method)
            .uri(format!("https://localhost{path}"))
            .header("accept", accept)
            .header("cookie", &self.cookie);
        if let Some((key, _)) = &form {
            request = request
                .header("content-type", "application/x-www-form-urlencoded")
                .header("idempotency-key", *key);
        }
        let request = request.body(()).map_err(|e| e.to_string())?;
        let mut send = self.send.clone().ready().await.map_err(|e| e.to_string())?;
        let (response, mut body) = send
            .send_request(request, form.is_none())
            .map_err(|e| e.to_string())?;
        if let Some((_, form)) = form {
            body.send_data(Bytes::from(form), true)
                .map_err(|e| e.to_string())?;
        }
        let (parts, mut body) = response.await.map_err(|e| e.to_string())?.into_parts();
        let mut bytes = BytesMut::new();
        while let Some(chunk) = body.data().await {
            let chunk = chunk.map_err(|e| e.to_string())?;
            let _ = body.flow_control().release_capacity(chunk.len());
            bytes.extend_from_slice(&chunk);
        }
        Ok((parts, bytes.freeze()))
    }

    async fn order(&self, key: &str, symbol: &str, side: &str) -> Result<(u16, Bytes), String> {
        let form = format!("symbol={symbol}&side={side}&quantity=1");
        let (parts, body) = self
            .request(
                "POST",
                "/api/place_order",
                Some((key, form)),
                "application/json",
            )
            .await?;
        Ok((parts.status.as_u16(), body))
    }

    /// A listed company now (the energy sector's first member).
    async fn listed(&self) -> Result<String, String> {
        let (_, body) = self
            .request(
                "GET",
                "/api/topics/sector/energy/events",
                None,
                "application/json",
            )
            .await?;
        let energy: serde_json::Value = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
        energy["members"][0]["symbol"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| "no listed company in energy".to_owned())
    }

    /// Opens this session's portfolio stream; the receiver gets each fill's number as it
    /// arrives (events with an `<account>-<fill>` id of their own; price moves have none).
    async fn portfolio_stream(&self) -> Result<mpsc::UnboundedReceiver<u64>, String> {
        let request = http::Request::builder()
            .uri("https://localhost/api/portfolio/events")
            .header("accept", "text/event-stream")
            .header("cookie", &self.cookie)
            .body(())
            .map_err(|e| e.to_string())?;
        let mut send = self.send.clone().ready().await.map_err(|e| e.to_string())?;
        let (response, _) = send
            .send_request(request, true)
            .map_err(|e| e.to_string())?;
        let mut body = response.await.map_err(|e| e.to_string())?.into_body();
        let (tell, fills) = mpsc::unbounded_channel();
        tokio::task::spawn_local(async move {
            let chunks = futures_util::stream::poll_fn(move |cx| {
                body.poll_data(cx).map(|chunk| {
                    chunk.map(|chunk| {
                        let _ = chunk
                            .as_ref()
                            .map(|c| body.flow_control().release_capacity(c.len()));
                        chunk
                    })
                })
            });
            let mut events = chunks.eventsource();
            let mut last = String::new();
            while let Some(Ok(event)) = events.next().await {
                // The parser repeats the last id on events without one (the spec's
                // lastEventId): a new id is a fill.
                if event.id != last {
                    last = event.id.clone();
                    if let Some(seq) = event.id.rsplit('-').next().and_then(|s| s.parse().ok()) {
                        if tell.send(seq).is_err() {
                            return;
                        }
                    }
                }
            }
        });
        Ok(fills)
    }
}

async fn connect(target: &Target) -> Result<h2::client::SendRequest<Bytes>, String> {
    let tls = client::handshake(target).await?;
    let (send, connection) = h2::client::handshake(tls)
        .await
        .map_err(|e| e.to_string())?;
    tokio::task::spawn_local(async move {
        let _ = connection.await;
    });
    Ok(send)
}

fn fill_seq(body: &[u8]) -> Result<u64, String> {
    let fill: serde_json::Value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    fill["seq"]
        .as_u64()
        .ok_or_else(|| format!("no seq in {fill}"))
}

fn micros(elapsed: Duration) -> u64 {
    elapsed.as_micros() as u64
}

fn histogram() -> Histogram<u64> {
    // 1 µs to 60 s at 3 significant figures: valid bounds, so this cannot fail.
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid histogram bounds")
}

/// The report: one row per backend.
pub fn markdown(measured: &[Measured], command: &str) -> String {
    let ms = |h: &Histogram<u64>, q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    let mut out = format!(
        "## Orders: the ledger, SQLite against Postgres\n\n`{command}` — {}, two debug-or-release \
         instances as named by `--server`, one Redis, the ledger shared by both.\n\n\
         | backend | orders/s (many sessions) | order p50 / p99 ms | a → b: order to fill on b's stream, p50 / p99 ms (n) | failures |\n\
         |---|---:|---:|---:|---:|\n",
        chrono::Utc::now().format("%Y-%m-%d")
    );
    for m in measured {
        out.push_str(&format!(
            "| {} | {:.0} | {:.1} / {:.1} | {:.1} / {:.1} ({}) | {} |\n",
            m.backend,
            m.orders_per_sec,
            ms(&m.latency, 0.5),
            ms(&m.latency, 0.99),
            ms(&m.across, 0.5),
            ms(&m.across, 0.99),
            m.across.len(),
            m.failures.len()
        ));
    }
    out
}
