//! Start-up as an operator meets it: each failure is one line naming the
//! thing (address, server, file) and the cause, with a hint where one
//! exists; addresses take host names; an empty DATABASE_URL means the
//! default; `healthcheck` says where it looked and why it failed.

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::common::process::{BIN, free_port};

/// Runs the binary with `args` (and `env`) in `dir`; waits at most 30 s.
fn run_in(dir: &std::path::Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir)
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "warn")
        .args(args)
        .stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let start = Instant::now();
    let out = child.wait_with_output().expect("wait");
    assert!(start.elapsed() < Duration::from_secs(30), "{args:?} hung");
    out
}

/// The last line of stderr (the error), after checking it is the only
/// `error:` line and that the command failed.
fn failure(out: &Output) -> String {
    assert!(!out.status.success(), "succeeded: {out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error")).collect();
    assert_eq!(errors.len(), 1, "one error line: {stderr}");
    errors[0].to_owned()
}

fn sqlite_url(dir: &std::path::Path) -> String {
    format!("sqlite://{}/registry.db", dir.display())
}

#[test]
fn a_port_in_use_names_the_address_and_the_flag() {
    let dir = tempfile::tempdir().expect("temp dir");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    let url = sqlite_url(dir.path());
    let grpc = failure(&run_in(
        dir.path(),
        &[],
        &[
            "--database-url",
            &url,
            "serve",
            "--grpc-addr",
            &addr,
            "--no-rest",
        ],
    ));
    assert!(grpc.contains(&addr) && grpc.contains("gRPC"), "{grpc}");
    assert!(grpc.contains("--grpc-addr"), "{grpc}");
    let rest = failure(&run_in(
        dir.path(),
        &[],
        &[
            "--database-url",
            &url,
            "serve",
            "--grpc-addr",
            "127.0.0.1:0",
            "--rest-addr",
            &addr,
        ],
    ));
    assert!(rest.contains(&addr) && rest.contains("REST"), "{rest}");
    assert!(rest.contains("--rest-addr"), "{rest}");
}

#[test]
fn an_unreachable_postgres_names_the_server_and_fails_fast() {
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let url = format!("postgres://postgres@127.0.0.1:{port}/registry");
    let start = Instant::now();
    let err = failure(&run_in(
        dir.path(),
        &[],
        &["--database-url", &url, "migrate"],
    ));
    assert!(err.contains(&format!("127.0.0.1:{port}")), "{err}");
    assert!(err.to_lowercase().contains("refused"), "{err}");
    assert!(
        start.elapsed() < Duration::from_secs(4),
        "took {:?}",
        start.elapsed()
    );
}

#[test]
#[cfg_attr(
    not(postgres_tests),
    ignore = "PostgreSQL: set TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres to run"
)]
fn a_missing_postgres_database_says_how_to_create_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let admin = crate::common::pg_url().expect("TEST_DATABASE_URL");
    let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
    let url = format!("{base}/oar_no_such_database");
    let err = failure(&run_in(dir.path(), &[], &["--database-url", &url, "serve"]));
    assert!(err.contains("oar_no_such_database"), "{err}");
    assert!(err.contains("createdb"), "{err}");
    assert!(!err.contains("line"), "no server source position: {err}");
}

#[test]
fn an_unusable_sqlite_path_is_named() {
    let dir = tempfile::tempdir().expect("temp dir");
    // A directory cannot be made under a regular file.
    let file = dir.path().join("plain-file");
    std::fs::write(&file, "x").expect("write");
    let url = format!("sqlite://{}/sub/registry.db", file.display());
    let err = failure(&run_in(
        dir.path(),
        &[],
        &["--database-url", &url, "migrate"],
    ));
    assert!(err.contains(&file.display().to_string()), "{err}");
    // A database "file" that is a directory cannot be opened.
    let url = format!("sqlite://{}", dir.path().display());
    let err = failure(&run_in(
        dir.path(),
        &[],
        &["--database-url", &url, "migrate"],
    ));
    assert!(err.contains(&dir.path().display().to_string()), "{err}");
    assert!(err.contains("SQLite"), "{err}");
}

#[test]
fn no_migrate_on_an_empty_database_says_to_migrate() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = sqlite_url(dir.path());
    let err = failure(&run_in(
        dir.path(),
        &[],
        &[
            "--database-url",
            &url,
            "serve",
            "--no-migrate",
            "--grpc-addr",
            "127.0.0.1:0",
        ],
    ));
    assert!(err.contains("oauth-registry migrate"), "{err}");
}

#[test]
fn an_empty_database_url_means_the_default() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = run_in(dir.path(), &[("DATABASE_URL", "")], &["migrate"]);
    assert!(out.status.success(), "{out:?}");
    assert!(dir.path().join("data/oauth-registry.db").exists());
}

#[test]
fn a_malformed_address_is_refused_by_the_flag() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = run_in(dir.path(), &[], &["serve", "--grpc-addr", "nonsense"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("--grpc-addr") && stderr.contains("host:port"),
        "{stderr}"
    );
}

#[test]
fn healthcheck_without_a_server_names_the_address_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let err = failure(&run_in(
        dir.path(),
        &[],
        &["healthcheck", "--addr", &format!("localhost:{port}")],
    ));
    assert!(err.contains(&format!("http://localhost:{port}")), "{err}");
    assert_eq!(err.matches("connect error").count(), 0, "{err}");
    assert!(err.to_lowercase().contains("refused"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_names_work_for_listening_and_for_healthcheck() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = sqlite_url(dir.path());
    let (grpc, rest) = (free_port(), free_port());
    let _server = tokio::process::Command::new(BIN)
        .args(["--database-url", &url, "serve"])
        .args(["--grpc-addr", &format!("localhost:{grpc}")])
        .args(["--rest-addr", &format!("localhost:{rest}")])
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn the server");
    // --wait retries until SERVING, so a script never races start-up.
    let out = run_in(
        dir.path(),
        &[],
        &[
            "healthcheck",
            "--addr",
            &format!("localhost:{grpc}"),
            "--wait",
            "30",
        ],
    );
    assert!(out.status.success(), "never SERVING: {out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "SERVING");
}

#[test]
fn healthcheck_wait_gives_up_in_time() {
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let start = Instant::now();
    let err = failure(&run_in(
        dir.path(),
        &[],
        &[
            "healthcheck",
            "--addr",
            &format!("127.0.0.1:{port}"),
            "--wait",
            "1",
        ],
    ));
    assert!(err.contains(&format!("127.0.0.1:{port}")), "{err}");
    let took = start.elapsed();
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_secs(5),
        "{took:?}"
    );
}
