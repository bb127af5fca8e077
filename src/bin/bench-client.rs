//! `bench-client`: the gRPC side of `bench/run.sh`. Each subcommand runs one
//! measurement against a running server and prints one JSON object on
//! stdout, which the script turns into `bench/RESULTS.md`. Timings are
//! medians over repeated requests, since single timings on shared machines
//! are noise.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use oauth_registry::grpc::pb::token_service_client::TokenServiceClient;
use oauth_registry::grpc::pb::{
    CountTokensRequest, GetTokenRequest, ListTokensRequest, RevokeTokensRequest,
    StreamTokensRequest,
};
use prost::Message;
use serde_json::json;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

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
    /// StreamTokens over the whole organization; count rows.
    Stream {
        #[arg(long, default_value = "")]
        order_by: String,
        /// 0 = the server's default.
        #[arg(long, default_value_t = 0)]
        page_size: i32,
    },
    /// Median ListTokens latency: first page, keyset cursor at `depth`, and
    /// offset at `depth`.
    Paging {
        #[arg(long)]
        depth: u64,
        #[arg(long, default_value = "create_time desc")]
        order_by: String,
        #[arg(long, default_value_t = 100)]
        page_size: i32,
        #[arg(long, default_value_t = 50)]
        repeat: usize,
    },
    /// Median CountTokens latency for `filter`.
    Count {
        #[arg(long, default_value = "")]
        filter: String,
        #[arg(long, default_value_t = 20)]
        repeat: usize,
    },
    /// Median latency of a grpc.health.v1 Check: the round-trip floor
    /// under every unary figure (no auth, no database).
    Health {
        #[arg(long, default_value_t = 200)]
        repeat: usize,
    },
    /// Milliseconds from spawning `command` until health says SERVING.
    Startup {
        /// The server command line (run through `sh -c`).
        command: String,
    },
    /// Creates tokens from `concurrency` tasks until the server stops
    /// answering, appending each acknowledged token id to `out` as soon as
    /// its response arrives (for scripts/crash-safety.sh).
    WriteLoad {
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
        out: std::path::PathBuf,
    },
    /// Writes a gRPC-framed ListTokensRequest (for h2load -d) to `out`.
    Frame {
        #[arg(long, default_value = "")]
        filter: String,
        #[arg(long, default_value_t = 100)]
        page_size: i32,
        /// A CountTokensRequest with `filter` instead (no page size).
        #[arg(long)]
        count: bool,
        /// A GetTokenRequest of this token id instead.
        #[arg(long)]
        get: Option<String>,
        out: std::path::PathBuf,
    },
    /// A bulk revoke under a steady read load (issue 16): the dry run of
    /// RevokeTokens with `filter`, then ListTokens (`list_filter`,
    /// `page_size`) at `rate` calls per second over `connections`
    /// connections, open loop (each call starts on its schedule whatever
    /// the others do; latency counts from the scheduled start), for 1 s of
    /// warm-up and `before` seconds, then the confirmed run while the load
    /// goes on. Reports the run's rows/s and the latencies of the calls
    /// started during it against those started in the equal period just
    /// before it (all of `before` when the run took longer).
    RevokeUnderLoad {
        #[arg(long)]
        filter: String,
        #[arg(long, default_value = "")]
        list_filter: String,
        #[arg(long, default_value_t = 10)]
        page_size: i32,
        #[arg(long, default_value_t = 200)]
        rate: u32,
        #[arg(long, default_value_t = 4)]
        connections: usize,
        #[arg(long, default_value_t = 20.0)]
        before: f64,
    },
}

fn authed<T>(key: &str, msg: T) -> anyhow::Result<tonic::Request<T>> {
    let mut req = tonic::Request::new(msg);
    req.metadata_mut()
        .insert("authorization", format!("Bearer {key}").parse()?);
    Ok(req)
}

fn median(mut v: Vec<Duration>) -> f64 {
    v.sort();
    v.get(v.len() / 2)
        .map(|d| d.as_secs_f64() * 1e3)
        .unwrap_or(f64::NAN)
}

async fn connect(addr: &str) -> anyhow::Result<Channel> {
    Ok(Channel::from_shared(addr.to_owned())?.connect().await?)
}

/// One call of a steady load: when it was due, how long it took from
/// then, and whether it succeeded.
struct Sample {
    due: Instant,
    ms: f64,
    ok: bool,
}

/// Count, errors and latency quantiles (ms) of the calls due in `[from, to)`.
fn window(samples: &[Sample], from: Instant, to: Instant) -> serde_json::Value {
    let mut ms: Vec<f64> = Vec::new();
    let mut errors = 0u64;
    for s in samples.iter().filter(|s| s.due >= from && s.due < to) {
        if s.ok {
            ms.push(s.ms);
        } else {
            errors += 1;
        }
    }
    ms.sort_by(f64::total_cmp);
    let q = |q: f64| {
        ms.get(((q * ms.len() as f64) as usize).min(ms.len().saturating_sub(1)))
            .copied()
            .unwrap_or(f64::NAN)
    };
    json!({"calls": ms.len(), "errors": errors, "p50_ms": q(0.5), "p99_ms": q(0.99),
           "max_ms": ms.last().copied().unwrap_or(f64::NAN),
           "seconds": (to - from).as_secs_f64()})
}

#[expect(
    clippy::too_many_arguments,
    reason = "the subcommand's options, each needed"
)]
async fn revoke_under_load(
    addr: &str,
    key: &str,
    filter: &str,
    list_filter: &str,
    page_size: i32,
    rate: u32,
    connections: usize,
    before: f64,
) -> anyhow::Result<serde_json::Value> {
    let mut admin = TokenServiceClient::new(connect(addr).await?);
    let revoke = |dry_run: bool, confirmation_token: String| RevokeTokensRequest {
        filter: filter.to_owned(),
        dry_run,
        confirmation_token,
        ..Default::default()
    };
    let dry = admin
        .revoke_tokens(authed(key, revoke(true, String::new()))?)
        .await?
        .into_inner();

    let mut channels = Vec::with_capacity(connections.max(1));
    for _ in 0..connections.max(1) {
        channels.push(connect(addr).await?);
    }
    let samples = Arc::new(Mutex::new(Vec::<Sample>::new()));
    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    let list = ListTokensRequest {
        page_size,
        filter: list_filter.to_owned(),
        ..Default::default()
    };
    let loader = {
        let (samples, key) = (samples.clone(), key.to_owned());
        tokio::spawn(async move {
            let mut tick =
                tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(rate.max(1))));
            // Burst: calls a late tick skipped are made up at once, so the
            // schedule (and the latency counted from it) stays fixed.
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            let mut calls = tokio::task::JoinSet::new();
            for i in 0usize.. {
                let due = tokio::select! {
                    t = tick.tick() => t.into_std(),
                    _ = stop_rx.changed() => break,
                };
                let mut client = TokenServiceClient::new(channels[i % channels.len()].clone());
                let req = authed(&key, list.clone())?;
                let samples = samples.clone();
                calls.spawn(async move {
                    let ok = client.list_tokens(req).await.is_ok();
                    let ms = due.elapsed().as_secs_f64() * 1e3;
                    samples
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .push(Sample { due, ms, ok });
                });
                while calls.try_join_next().is_some() {}
            }
            while calls.join_next().await.is_some() {}
            anyhow::Ok(())
        })
    };
    tokio::time::sleep(Duration::from_secs_f64(1.0 + before)).await;

    let start = Instant::now();
    let run = admin
        .revoke_tokens(authed(key, revoke(false, dry.confirmation_token))?)
        .await;
    let end = Instant::now();
    stop_tx.send(true)?;
    loader.await??;
    let run = run?.into_inner();

    let secs = (end - start).as_secs_f64();
    let samples = std::mem::take(
        &mut *samples
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    );
    let baseline_from = start - (end - start).min(Duration::from_secs_f64(before));
    Ok(json!({
        "matched": dry.matched, "done": run.done, "finished": run.finished,
        "seconds": secs, "rows_per_sec": run.done as f64 / secs, "rate": rate,
        "during": window(&samples, start, end),
        "before": window(&samples, baseline_from, start),
    }))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let out = match &args.case {
        Case::Stream {
            order_by,
            page_size,
        } => {
            let mut client = TokenServiceClient::new(connect(&args.addr).await?)
                .max_decoding_message_size(64 << 20);
            let start = Instant::now();
            let req = StreamTokensRequest {
                order_by: order_by.clone(),
                page_size: *page_size,
                ..Default::default()
            };
            let mut stream = client
                .stream_tokens(authed(&args.key, req)?)
                .await?
                .into_inner();
            let mut rows = 0u64;
            let mut pages = 0u64;
            while let Some(page) = stream.message().await? {
                rows += page.tokens.len() as u64;
                pages += 1;
            }
            let secs = start.elapsed().as_secs_f64();
            json!({"rows": rows, "pages": pages, "seconds": secs, "rows_per_sec": rows as f64 / secs})
        }
        Case::Paging {
            depth,
            order_by,
            page_size,
            repeat,
        } => {
            let mut client = TokenServiceClient::new(connect(&args.addr).await?);
            let list = |page_token: String, skip: i32, size: i32| ListTokensRequest {
                page_size: size,
                page_token,
                order_by: order_by.clone(),
                skip,
                ..Default::default()
            };
            // Walk to `depth` with big pages, then finish with small ones.
            let mut token = String::new();
            let mut walked = 0u64;
            let walk_start = Instant::now();
            while walked < *depth {
                let step = (*depth - walked).min(1000) as i32;
                let page = client
                    .list_tokens(authed(&args.key, list(token.clone(), 0, step))?)
                    .await?
                    .into_inner();
                walked += page.tokens.len() as u64;
                token = page.next_page_token;
                anyhow::ensure!(!token.is_empty(), "only {walked} rows: less than --depth");
            }
            let walk_secs = walk_start.elapsed().as_secs_f64();
            // The first offset call walks the skipped rows; repeats of it
            // start from the anchor it leaves (src/service/anchors.rs).
            let skip = i32::try_from(*depth)?;
            let t = Instant::now();
            client
                .list_tokens(authed(&args.key, list(String::new(), skip, *page_size))?)
                .await?;
            let offset_cold = t.elapsed().as_secs_f64() * 1000.0;
            let mut timed = async |req: ListTokensRequest| -> anyhow::Result<f64> {
                let mut times = Vec::with_capacity(*repeat);
                for _ in 0..*repeat {
                    let t = Instant::now();
                    let page = client
                        .list_tokens(authed(&args.key, req.clone())?)
                        .await?
                        .into_inner();
                    times.push(t.elapsed());
                    anyhow::ensure!(page.tokens.len() == *page_size as usize, "short page");
                }
                Ok(median(times))
            };
            let first = timed(list(String::new(), 0, *page_size)).await?;
            let deep = timed(list(token, 0, *page_size)).await?;
            let offset = timed(list(String::new(), skip, *page_size)).await?;
            json!({"depth": depth, "order_by": order_by, "first_ms": first, "cursor_ms": deep,
                   "offset_ms": offset, "cursor_ratio": deep / first, "offset_ratio": offset / first,
                   "offset_cold_ms": offset_cold, "walk_seconds": walk_secs})
        }
        Case::Count { filter, repeat } => {
            let mut client = TokenServiceClient::new(connect(&args.addr).await?);
            let mut times = Vec::with_capacity(*repeat);
            let mut count = 0;
            for _ in 0..*repeat {
                let req = CountTokensRequest {
                    filter: filter.clone(),
                };
                let t = Instant::now();
                count = client
                    .count_tokens(authed(&args.key, req)?)
                    .await?
                    .into_inner()
                    .total_size;
                times.push(t.elapsed());
            }
            // The first call counts; while nothing is written the rest
            // come from the totals cache (src/service/totals.rs).
            let first_ms = times.first().map_or(f64::NAN, |d| d.as_secs_f64() * 1e3);
            json!({"filter": filter, "count": count, "median_ms": median(times), "first_ms": first_ms})
        }
        Case::Health { repeat } => {
            let mut client = HealthClient::new(connect(&args.addr).await?);
            let mut times = Vec::with_capacity(*repeat);
            for _ in 0..*repeat {
                let t = Instant::now();
                client.check(HealthCheckRequest::default()).await?;
                times.push(t.elapsed());
            }
            json!({"median_ms": median(times)})
        }
        Case::Startup { command } => {
            let start = Instant::now();
            let mut child = tokio::process::Command::new("sh")
                .arg("-c")
                .arg(command)
                .kill_on_drop(true)
                .spawn()?;
            let serving = loop {
                anyhow::ensure!(
                    start.elapsed() < Duration::from_secs(30),
                    "not SERVING after 30 s"
                );
                if let Ok(ch) = connect(&args.addr).await {
                    let status = HealthClient::new(ch)
                        .check(HealthCheckRequest::default())
                        .await
                        .map(|r| r.into_inner().status);
                    if status.is_ok_and(|s| s == ServingStatus::Serving as i32) {
                        break start.elapsed();
                    }
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            };
            child.start_kill()?;
            child.wait().await?;
            json!({"startup_ms": serving.as_secs_f64() * 1e3})
        }
        Case::WriteLoad { concurrency, out } => {
            use std::io::Write;
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(out)?;
            let file = std::sync::Arc::new(std::sync::Mutex::new(file));
            let channel = connect(&args.addr).await?;
            let mut tasks = Vec::new();
            for w in 0..*concurrency {
                let (file, key) = (file.clone(), args.key.clone());
                let mut client = TokenServiceClient::new(channel.clone());
                tasks.push(tokio::spawn(async move {
                    let mut acked = 0u64;
                    let mut failures = 0;
                    for i in 0u64.. {
                        let token = oauth_registry::grpc::pb::Token {
                            user_id: format!("load-{w}"),
                            name: format!("load-{w}-{i}"),
                            scopes: vec!["read".into()],
                            ..Default::default()
                        };
                        let req = authed(
                            &key,
                            oauth_registry::grpc::pb::CreateTokenRequest { token: Some(token) },
                        )?;
                        match client.create_token(req).await {
                            Ok(r) => {
                                let id = r.into_inner().token.map(|t| t.id).unwrap_or_default();
                                let mut f = file.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
                                writeln!(f, "{id}")?;
                                acked += 1;
                                failures = 0;
                            }
                            // The server is gone (killed): stop after a few tries.
                            Err(_) if failures < 3 => failures += 1,
                            Err(_) => break,
                        }
                    }
                    anyhow::Ok(acked)
                }));
            }
            let mut acked = 0;
            for t in tasks {
                acked += t.await??;
            }
            json!({"acknowledged": acked})
        }
        Case::Frame {
            filter,
            page_size,
            count,
            get,
            out,
        } => {
            let msg = if let Some(id) = get {
                GetTokenRequest { id: id.clone() }.encode_to_vec()
            } else if *count {
                CountTokensRequest {
                    filter: filter.clone(),
                }
                .encode_to_vec()
            } else {
                ListTokensRequest {
                    page_size: *page_size,
                    filter: filter.clone(),
                    ..Default::default()
                }
                .encode_to_vec()
            };
            let mut framed = vec![0u8];
            framed.extend_from_slice(&u32::try_from(msg.len())?.to_be_bytes());
            framed.extend_from_slice(&msg);
            std::fs::write(out, &framed)?;
            json!({"bytes": framed.len()})
        }
        Case::RevokeUnderLoad {
            filter,
            list_filter,
            page_size,
            rate,
            connections,
            before,
        } => {
            revoke_under_load(
                &args.addr,
                &args.key,
                filter,
                list_filter,
                *page_size,
                *rate,
                *connections,
                *before,
            )
            .await?
        }
    };
    println!("{out}");
    Ok(())
}
