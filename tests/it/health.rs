//! `grpc.health.v1`: readiness (`""` and the service names) SERVING while
//! the database answers, NOT_SERVING while it does not, and back by itself;
//! RPCs fail fast with UNAVAILABLE meanwhile. Liveness (`liveness`,
//! `GET /livez`) stays SERVING throughout, so an outage restarts nothing.

use std::time::{Duration, Instant};

use crate::common::{Backend, TestApp, authed, pg_url, spawn_with};
use oauth_registry::grpc::pb;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

async fn status(app: &TestApp, service: &str) -> ServingStatus {
    let r = HealthClient::new(app.channel.clone())
        .check(HealthCheckRequest {
            service: service.into(),
        })
        .await
        .expect("health check")
        .into_inner();
    ServingStatus::try_from(r.status).expect("known status")
}

async fn wait_for(app: &TestApp, want: ServingStatus, within: Duration) -> Duration {
    let start = Instant::now();
    while start.elapsed() < within {
        if status(app, "").await == want {
            return start.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("health did not become {want:?} within {within:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serving_for_every_service() {
    let app = spawn_with(Backend::Sqlite, |c| {
        c.health_interval = Duration::from_millis(100)
    })
    .await;
    wait_for(&app, ServingStatus::Serving, Duration::from_secs(5)).await;
    for s in [
        "oauth_registry.v1.TokenService",
        "oauth_registry.v1.ClientService",
        "liveness",
    ] {
        assert_eq!(status(&app, s).await, ServingStatus::Serving, "{s}");
    }
    assert_eq!(probe(&app, "/livez").await, (200, "ok\n".to_owned()));
    assert_eq!(probe(&app, "/readyz").await, (200, "ready\n".to_owned()));
    let unknown = HealthClient::new(app.channel.clone())
        .check(HealthCheckRequest {
            service: "no.such.Service".into(),
        })
        .await
        .expect_err("an unknown name");
    assert_eq!(unknown.code(), tonic::Code::NotFound, "{unknown:?}");
}

/// A REST probe's status and plain-text body (no key needed).
async fn probe(app: &TestApp, path: &str) -> (u16, String) {
    let resp = reqwest::get(format!("{}{path}", app.rest))
        .await
        .expect("probe");
    let status = resp.status().as_u16();
    let ct = resp.headers()[reqwest::header::CONTENT_TYPE]
        .to_str()
        .unwrap_or("")
        .to_owned();
    assert!(ct.starts_with("text/plain"), "{path}: {ct}");
    (status, resp.text().await.expect("body"))
}

/// A TCP proxy in front of PostgreSQL that the test can take down (refusing
/// and cutting every connection) and bring back, simulating an outage of the
/// database without touching the shared server.
struct Proxy {
    port: u16,
    up: tokio::sync::watch::Sender<bool>,
}

impl Proxy {
    async fn start(target: std::net::SocketAddr) -> Proxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind proxy");
        let port = listener.local_addr().expect("addr").port();
        let (up, rx) = tokio::sync::watch::channel(true);
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if !*rx.borrow() {
                    continue; // down: drop the connection at once
                }
                let mut rx = rx.clone();
                tokio::spawn(async move {
                    let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = rx.wait_for(|up| !*up) => {}
                    }
                });
            }
        });
        Proxy { port, up }
    }

    fn set_up(&self, up: bool) {
        let _ = self.up.send(up);
    }
}

/// Cuts the service off from its database (through the proxy), checks
/// NOT_SERVING and fast UNAVAILABLE, then restores it and checks recovery.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(postgres_tests),
    ignore = "PostgreSQL: set TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres to run"
)]
async fn postgres_outage_is_not_serving_and_recovers() {
    let admin = pg_url().expect("TEST_DATABASE_URL");
    let pg: std::net::SocketAddr = {
        let host_port = admin
            .split('@')
            .next_back()
            .and_then(|r| r.split('/').next())
            .unwrap_or("127.0.0.1:5432");
        let host_port = if host_port.contains(':') {
            host_port.to_owned()
        } else {
            format!("{host_port}:5432")
        };
        tokio::net::lookup_host(host_port)
            .await
            .expect("resolve")
            .next()
            .expect("pg address")
    };
    let proxy = Proxy::start(pg).await;
    let port = proxy.port;
    let app = spawn_with(Backend::Postgres, move |c| {
        c.health_interval = Duration::from_millis(200);
        c.store.acquire_timeout = Duration::from_secs(1);
        // Same database, reached through the proxy.
        let (scheme_auth, rest) = c.database_url.split_once('@').expect("url with user");
        let db = rest.split_once('/').map(|(_, d)| d).expect("db");
        c.database_url = format!("{scheme_auth}@127.0.0.1:{port}/{db}");
    })
    .await;
    wait_for(&app, ServingStatus::Serving, Duration::from_secs(5)).await;

    let (down, up) = outage(&app, || proxy.set_up(false), || proxy.set_up(true)).await;
    eprintln!("NOT_SERVING after {down:?}; SERVING again after {up:?}");
}

/// Takes the database away with `stop`: NOT_SERVING within 5 s and a call
/// failing fast with UNAVAILABLE; brings it back with `start`: SERVING within
/// 5 s and calls working, with no service restart. Returns how long each
/// transition took.
async fn outage(app: &TestApp, stop: impl FnOnce(), start: impl FnOnce()) -> (Duration, Duration) {
    stop();
    let down = wait_for(app, ServingStatus::NotServing, Duration::from_secs(5)).await;
    // Not ready, but alive: a liveness probe must not restart the replica.
    for s in [
        "oauth_registry.v1.TokenService",
        "oauth_registry.v1.ClientService",
    ] {
        assert_eq!(status(app, s).await, ServingStatus::NotServing, "{s}");
    }
    assert_eq!(status(app, "liveness").await, ServingStatus::Serving);
    assert_eq!(probe(app, "/livez").await.0, 200);
    assert_eq!(
        probe(app, "/readyz").await,
        (503, "database unreachable\n".to_owned())
    );
    let t = Instant::now();
    let err = app
        .tokens()
        .list_tokens(authed(&app.key_a, pb::ListTokensRequest::default()))
        .await
        .expect_err("no database, no listing");
    assert_eq!(err.code(), tonic::Code::Unavailable, "{err:?}");
    assert!(t.elapsed() < Duration::from_secs(3), "fails fast");

    start();
    let up = wait_for(app, ServingStatus::Serving, Duration::from_secs(5)).await;
    app.tokens()
        .list_tokens(authed(&app.key_a, pb::ListTokensRequest::default()))
        .await
        .expect("recovered without a restart");
    (down, up)
}

/// A PostgreSQL server of the test's own (initdb + pg_ctl in a temp dir on a
/// free port), so the test can stop and start it; the machine's shared server
/// is never touched. As root, the tools run as the `postgres` user.
struct ThrowawayPg {
    dir: tempfile::TempDir,
    bin: std::path::PathBuf,
    port: u16,
    as_postgres: bool,
}

impl ThrowawayPg {
    fn bin_dir() -> Option<std::path::PathBuf> {
        let out = std::process::Command::new("pg_config")
            .arg("--bindir")
            .output()
            .ok()?;
        let dir = std::path::PathBuf::from(String::from_utf8(out.stdout).ok()?.trim());
        if dir.join("initdb").exists() {
            return Some(dir);
        }
        // Debian puts the server tools under /usr/lib/postgresql/<version>/bin.
        let mut found: Vec<_> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .filter(|b| b.join("initdb").exists())
            .collect();
        found.sort();
        found.pop()
    }

    fn run(&self, tool: &str, args: &[&str]) -> bool {
        let tool = self.bin.join(tool);
        let mut cmd = if self.as_postgres {
            let mut c = std::process::Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&tool);
            c
        } else {
            std::process::Command::new(&tool)
        };
        cmd.args(args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    fn new() -> Option<Self> {
        let bin = Self::bin_dir()?;
        let root = std::process::Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
        let dir = tempfile::tempdir().ok()?;
        if root {
            let owned = std::process::Command::new("chown")
                .arg("postgres")
                .arg(dir.path())
                .status()
                .is_ok_and(|s| s.success());
            if !owned {
                return None;
            }
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .ok()?
            .port();
        let pg = ThrowawayPg {
            dir,
            bin,
            port,
            as_postgres: root,
        };
        let data = pg.dir.path().join("data");
        let data = data.to_str()?;
        pg.run("initdb", &["-D", data, "-A", "trust", "-U", "postgres"])
            .then_some(pg)
    }

    fn start(&self) {
        let data = self.dir.path().join("data");
        let log = self.dir.path().join("log");
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1",
            self.port,
            self.dir.path().display()
        );
        let started = self.run(
            "pg_ctl",
            &[
                "-D",
                data.to_str().expect("utf-8"),
                "-o",
                &opts,
                "-l",
                log.to_str().expect("utf-8"),
                "-w",
                "start",
            ],
        );
        assert!(started, "throwaway PostgreSQL started");
    }

    fn stop(&self) {
        let data = self.dir.path().join("data");
        self.run(
            "pg_ctl",
            &[
                "-D",
                data.to_str().expect("utf-8"),
                "-m",
                "fast",
                "-w",
                "stop",
            ],
        );
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for ThrowawayPg {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Stops and restarts a real PostgreSQL under the service: NOT_SERVING within
/// 5 s, calls fail fast with UNAVAILABLE, and recovery within 5 s of the
/// restart with no service restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(initdb_installed),
    ignore = "needs PostgreSQL's initdb and pg_ctl (Debian: apt-get install postgresql)"
)]
async fn throwaway_postgres_stopped_and_restarted() {
    let pg = ThrowawayPg::new().expect("initdb of a throwaway PostgreSQL cluster");
    pg.start();
    let url = pg.url();
    // The test's own database replaces the harness's default one.
    let app = spawn_with(Backend::Sqlite, move |c| {
        c.database_url = url;
        c.health_interval = Duration::from_millis(200);
        c.store.acquire_timeout = Duration::from_secs(1);
    })
    .await;
    wait_for(&app, ServingStatus::Serving, Duration::from_secs(5)).await;

    let (down, up) = outage(&app, || pg.stop(), || pg.start()).await;
    eprintln!("stopped: NOT_SERVING after {down:?}; restarted: SERVING after {up:?}");
}
