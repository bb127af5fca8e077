//! `bench-watch`: the change-feed side of `bench/run.sh` (issue 15). Each
//! subcommand runs one measurement (or prepares one) and prints one JSON
//! object on stdout, which the script turns into rows of `bench/RESULTS.md`.
//!
//! - `frame-create`: a gRPC-framed CreateTokenRequest for h2load (the write
//!   throughput case, run against this build and the pre-feed one).
//! - `latency`: commit→delivery latency at N idle watchers while one writer
//!   creates tokens at a steady rate, against the unary round trip of the
//!   same writes with nobody watching.
//! - `fill` and `catchup`: fill an organization's feed with N CREATED events
//!   through the library, then time a watch from version 0 to its BOOKMARK.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Parser, Subcommand};
use oauth_registry::domain::Timestamp;
use oauth_registry::domain::ids::TokenId;
use oauth_registry::domain::model::{Token, TokenKind};
use oauth_registry::domain::oauth::Scope;
use oauth_registry::grpc::pb;
use oauth_registry::grpc::pb::token_service_client::TokenServiceClient;
use oauth_registry::store::{NewTokenRow, StoreOptions};
use prost::Message;
use serde_json::json;
use tonic::transport::Channel;

#[derive(Parser)]
struct Args {
    /// Server address.
    #[arg(long, default_value = "http://127.0.0.1:50051")]
    addr: String,
    /// API key (`Bearer` credential).
    #[arg(long, env = "KEY", default_value = "")]
    key: String,
    #[command(subcommand)]
    case: Case,
}

#[derive(Subcommand)]
enum Case {
    /// Writes a gRPC-framed CreateTokenRequest (a personal token: no
    /// client, so each write is one row and one change event) to `out`.
    FrameCreate { out: std::path::PathBuf },
    /// Commit→delivery latency: `watchers` WatchTokens streams (one
    /// connection each, all with a filter matching the writer's tokens)
    /// and one writer creating `writes` tokens at `rate` per second; first
    /// the same writes with no watcher, as the round-trip baseline.
    Latency {
        #[arg(long, default_value_t = 100)]
        watchers: usize,
        #[arg(long, default_value_t = 50)]
        rate: u32,
        #[arg(long, default_value_t = 500)]
        writes: usize,
    },
    /// Inserts `events` tokens into organization `org` (name) in batches
    /// through the library (`Store::insert_tokens`): one CREATED event each.
    Fill {
        #[arg(long)]
        database_url: String,
        #[arg(long)]
        org: String,
        #[arg(long)]
        events: u64,
        #[arg(long, default_value_t = 1000)]
        batch: usize,
    },
    /// A WatchTokens from `start_version` until its first BOOKMARK (caught
    /// up): events and events/s.
    Catchup {
        #[arg(long, default_value_t = 0)]
        start_version: i64,
    },
}

fn authed<T>(key: &str, msg: T) -> anyhow::Result<tonic::Request<T>> {
    let mut req = tonic::Request::new(msg);
    req.metadata_mut()
        .insert("authorization", format!("Bearer {key}").parse()?);
    Ok(req)
}

async fn connect(addr: &str) -> anyhow::Result<Channel> {
    Ok(Channel::from_shared(addr.to_owned())?.connect().await?)
}

/// The `q` quantile of sorted `v` (milliseconds), NaN when empty.
fn quantile(v: &[f64], q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v[((q * v.len() as f64) as usize).min(v.len() - 1)]
}

fn summary(mut v: Vec<f64>) -> serde_json::Value {
    v.sort_by(f64::total_cmp);
    json!({"n": v.len(), "p50_ms": quantile(&v, 0.5), "p99_ms": quantile(&v, 0.99),
           "max_ms": v.last().copied().unwrap_or(f64::NAN)})
}

fn create_request(user: &str, name: String) -> pb::CreateTokenRequest {
    pb::CreateTokenRequest {
        token: Some(pb::Token {
            user_id: user.to_owned(),
            name,
            scopes: vec!["read".into()],
            ..Default::default()
        }),
    }
}

/// One write as the writer saw it.
struct Write {
    id: String,
    acked: Instant,
    rtt_ms: f64,
}

/// Creates `n` tokens at `rate` per second, one call at a time.
async fn write_steadily(
    client: &mut TokenServiceClient<Channel>,
    key: &str,
    user: &str,
    n: usize,
    rate: u32,
) -> anyhow::Result<Vec<Write>> {
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(rate.max(1))));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        tick.tick().await;
        let req = authed(key, create_request(user, format!("feed-latency-{i}")))?;
        let sent = Instant::now();
        let resp = client.create_token(req).await?.into_inner();
        let acked = Instant::now();
        let id = resp.token.map(|t| t.id).unwrap_or_default();
        out.push(Write {
            id,
            acked,
            rtt_ms: (acked - sent).as_secs_f64() * 1e3,
        });
    }
    Ok(out)
}

/// Opens one watch (own connection) from now and waits for its first
/// bookmark, so it is caught up and idle before the writes start.
async fn open_watch(
    addr: &str,
    key: &str,
    filter: &str,
) -> anyhow::Result<tonic::Streaming<pb::WatchTokensResponse>> {
    let mut client = TokenServiceClient::new(connect(addr).await?);
    let req = pb::WatchTokensRequest {
        filter: filter.to_owned(),
        ..Default::default()
    };
    let mut stream = client.watch_tokens(authed(key, req)?).await?.into_inner();
    loop {
        let ev = stream
            .message()
            .await?
            .context("watch ended before its bookmark")?;
        if ev.kind == pb::ChangeKind::Bookmark as i32 {
            return Ok(stream);
        }
    }
}

async fn latency(
    args: &Args,
    watchers: usize,
    rate: u32,
    writes: usize,
) -> anyhow::Result<serde_json::Value> {
    let user = format!("feed-writer-{}", std::process::id());
    let mut writer = TokenServiceClient::new(connect(&args.addr).await?);
    // Warm-up (connection, key cache), then the baseline: nobody watching.
    write_steadily(&mut writer, &args.key, &user, 10.min(writes), rate).await?;
    let alone = write_steadily(&mut writer, &args.key, &user, writes, rate).await?;

    let filter = format!("user_id = \"{user}\"");
    let mut streams = Vec::with_capacity(watchers);
    for _ in 0..watchers {
        streams.push(open_watch(&args.addr, &args.key, &filter).await?);
    }
    // Each watcher notes when each CREATED token arrived, until it has
    // seen them all or the deadline passes.
    let done = Arc::new(tokio::sync::Notify::new());
    let mut tasks = Vec::with_capacity(watchers);
    for mut stream in streams {
        let done = done.clone();
        tasks.push(tokio::spawn(async move {
            let mut seen: HashMap<String, Instant> = HashMap::with_capacity(writes);
            while seen.len() < writes {
                tokio::select! {
                    msg = stream.message() => match msg {
                        Ok(Some(ev)) if ev.kind == pb::ChangeKind::Created as i32 => {
                            if let Some(t) = ev.token {
                                seen.insert(t.id, Instant::now());
                            }
                        }
                        Ok(Some(_)) => {}
                        Ok(None) | Err(_) => break,
                    },
                    () = done.notified() => break,
                }
            }
            seen
        }));
    }
    let watched = write_steadily(&mut writer, &args.key, &user, writes, rate).await?;
    // Stragglers get 10 s after the last write.
    let deadline = tokio::time::sleep(Duration::from_secs(10));
    tokio::pin!(deadline);
    let mut arrivals = Vec::with_capacity(watchers);
    let mut joined = futures::future::join_all(tasks);
    tokio::select! {
        res = &mut joined => arrivals = res,
        () = &mut deadline => {
            done.notify_waiters();
            arrivals.extend((&mut joined).await);
        }
    }
    let mut each = Vec::with_capacity(writes * watchers);
    let mut last = Vec::with_capacity(writes);
    let mut missing = 0usize;
    let arrivals: Vec<HashMap<String, Instant>> = arrivals.into_iter().collect::<Result<_, _>>()?;
    for w in &watched {
        let mut worst = f64::NEG_INFINITY;
        for seen in &arrivals {
            match seen.get(&w.id) {
                // Signed: an event can arrive before the writer has read
                // its own response.
                Some(at) => {
                    let ms = if *at >= w.acked {
                        (*at - w.acked).as_secs_f64() * 1e3
                    } else {
                        -(w.acked - *at).as_secs_f64() * 1e3
                    };
                    each.push(ms);
                    worst = worst.max(ms);
                }
                None => missing += 1,
            }
        }
        if worst.is_finite() {
            last.push(worst);
        }
    }
    Ok(json!({
        "watchers": watchers, "rate": rate, "writes": writes, "missing": missing,
        "delivery": summary(each),
        "delivery_last_watcher": summary(last),
        "rtt_alone": summary(alone.iter().map(|w| w.rtt_ms).collect()),
        "rtt_watched": summary(watched.iter().map(|w| w.rtt_ms).collect()),
    }))
}

async fn fill(
    database_url: &str,
    org: &str,
    events: u64,
    batch: usize,
) -> anyhow::Result<serde_json::Value> {
    let store = oauth_registry::store::connect(database_url, &StoreOptions::default()).await?;
    let org = store
        .find_org_by_name(org)
        .await?
        .with_context(|| format!("no organization {org:?}"))?;
    let scopes = vec![Scope::parse("scopes", "read")?];
    let start = Instant::now();
    let mut done = 0u64;
    while done < events {
        let n = (events - done).min(batch.max(1) as u64);
        let now = Timestamp::now();
        let mut rows = Vec::with_capacity(n as usize);
        for i in done..done + n {
            let user = format!("feed-{:04}", i % 1000);
            rows.push(NewTokenRow {
                token: Token {
                    id: TokenId::parse("id", &uuid::Uuid::now_v7().to_string())?,
                    org_id: org.id.clone(),
                    client_id: None,
                    user_id: user.clone(),
                    audience: "https://api.example.com".into(),
                    subject: user,
                    scopes: scopes.clone(),
                    name: format!("feed-{i}"),
                    description: String::new(),
                    default_role: "view".into(),
                    pkce: None,
                    redirect_uri: None,
                    kind: TokenKind::Access,
                    secret_prefix: format!("oat_{i:08x}"),
                    expires_at: Timestamp::from_micros(now.micros() + 365 * 86_400_000_000),
                    created_at: now,
                    updated_at: now,
                    revoked_at: None,
                },
                // Never verified: the secret's hash only has to be there.
                secret_hash: vec![0; 32],
            });
        }
        store.insert_tokens(&rows).await?;
        done += n;
    }
    let secs = start.elapsed().as_secs_f64();
    Ok(json!({"events": done, "seconds": secs, "events_per_sec": done as f64 / secs}))
}

async fn catchup(args: &Args, start_version: i64) -> anyhow::Result<serde_json::Value> {
    let mut client =
        TokenServiceClient::new(connect(&args.addr).await?).max_decoding_message_size(64 << 20);
    let req = pb::WatchTokensRequest {
        start_version: Some(start_version),
        ..Default::default()
    };
    let start = Instant::now();
    let mut stream = client
        .watch_tokens(authed(&args.key, req)?)
        .await?
        .into_inner();
    let mut events = 0u64;
    let version = loop {
        let ev = stream
            .message()
            .await?
            .context("watch ended before its bookmark")?;
        if ev.kind == pb::ChangeKind::Bookmark as i32 {
            break ev.version;
        }
        events += 1;
    };
    let secs = start.elapsed().as_secs_f64();
    Ok(
        json!({"events": events, "version": version, "seconds": secs,
              "events_per_sec": events as f64 / secs}),
    )
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let out = match &args.case {
        Case::FrameCreate { out } => {
            let msg = create_request("bench-writer", "bench-write".into()).encode_to_vec();
            let mut framed = vec![0u8];
            framed.extend_from_slice(&u32::try_from(msg.len())?.to_be_bytes());
            framed.extend_from_slice(&msg);
            std::fs::write(out, &framed)?;
            json!({"bytes": framed.len()})
        }
        Case::Latency {
            watchers,
            rate,
            writes,
        } => latency(&args, *watchers, *rate, *writes).await?,
        Case::Fill {
            database_url,
            org,
            events,
            batch,
        } => fill(database_url, org, *events, *batch).await?,
        Case::Catchup { start_version } => catchup(&args, *start_version).await?,
    };
    println!("{out}");
    Ok(())
}
