//! The operator's commands on the real binary: `admin list-orgs` and
//! `admin list-keys` find lost keys without ever printing a secret;
//! `create-key` refuses a key that could never work; `seed` run twice does
//! not double the demo data.

use std::process::{Command, Output};

use crate::common::process::BIN;

fn run(url: &str, args: &[&str]) -> Output {
    Command::new(BIN)
        .env("RUST_LOG", "warn")
        .args(["--database-url", url])
        .args(args)
        .output()
        .expect("run oauth-registry")
}

fn stdout(out: &Output) -> String {
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn keys_can_be_listed_without_their_secrets() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}/registry.db", dir.path().display());
    let org_id = stdout(&run(&url, &["admin", "create-org", "acme"]));
    let org_id = org_id.trim();
    let created = run(
        &url,
        &[
            "admin",
            "create-key",
            "--org",
            "acme",
            "--user",
            "alice",
            "--scopes",
            "tokens:read,clients:read",
        ],
    );
    let secret = stdout(&created).trim().to_owned();
    let key_id = stderr(&created)
        .split_whitespace()
        .nth(2)
        .expect("API key <id> for ...")
        .to_owned();

    let orgs = stdout(&run(&url, &["admin", "list-orgs"]));
    let line = orgs
        .lines()
        .find(|l| l.contains("acme"))
        .expect("acme listed");
    assert!(line.contains(org_id), "{orgs}");
    assert!(orgs.lines().next().expect("header").starts_with("ID"));

    let keys = stdout(&run(&url, &["admin", "list-keys", "--org", "acme"]));
    let line = keys
        .lines()
        .find(|l| l.contains(&key_id))
        .expect("the key listed");
    assert!(
        line.contains("tokens:read,clients:read") && line.contains("alice"),
        "{keys}"
    );
    assert!(
        line.contains(&secret[..secret.len().min(12)]),
        "prefix shown: {keys}"
    );
    assert!(!keys.contains(&secret), "a secret was printed");
    assert!(
        !keys.contains(&secret[secret.len() - 16..]),
        "a secret's tail was printed"
    );

    // Revoked keys say so.
    stderr(&run(
        &url,
        &["admin", "revoke-key", "--org", "acme", &key_id],
    ));
    let keys = stdout(&run(&url, &["admin", "list-keys", "--org", org_id]));
    let line = keys.lines().find(|l| l.contains(&key_id)).expect("listed");
    assert!(
        !line.trim_end().ends_with('-'),
        "revocation time shown: {line}"
    );
}

#[test]
fn create_key_refuses_keys_that_could_never_work() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}/registry.db", dir.path().display());
    stdout(&run(&url, &["admin", "create-org", "acme"]));
    let empty = run(
        &url,
        &["admin", "create-key", "--org", "acme", "--scopes", ""],
    );
    assert!(!empty.status.success());
    assert!(stderr(&empty).contains("--scopes"), "{empty:?}");
    let expired = run(
        &url,
        &[
            "admin",
            "create-key",
            "--org",
            "acme",
            "--expires-at",
            "2020-01-01T00:00:00Z",
        ],
    );
    assert!(!expired.status.success());
    assert!(stderr(&expired).contains("--expires-at"), "{expired:?}");
    assert!(
        stdout(&run(&url, &["admin", "list-keys", "--org", "acme"]))
            .lines()
            .nth(1)
            .is_none(),
        "only the header: no key was created"
    );
}

#[test]
fn seeding_twice_does_not_double_the_data() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}/registry.db", dir.path().display());
    let seed = ["seed", "--tokens", "30", "--clients", "2", "--owners", "3"];
    let first = stdout(&run(&url, &seed));
    let second_run = run(&url, &seed);
    let second = stdout(&second_run);
    assert_ne!(first.trim(), second.trim(), "each run prints a new key");
    assert!(stderr(&second_run).contains("added none"), "{second_run:?}");
    let orgs = stdout(&run(&url, &["admin", "list-orgs"]));
    let demo: Vec<&str> = orgs
        .lines()
        .find(|l| l.contains("demo"))
        .expect("demo listed")
        .split_whitespace()
        .collect();
    // ... KEYS CLIENTS TOKENS
    assert_eq!(&demo[demo.len() - 3..], ["2", "2", "30"], "{orgs}");
    let added = run(&url, &[&seed[..], &["--add"]].concat());
    stdout(&added);
    let orgs = stdout(&run(&url, &["admin", "list-orgs"]));
    assert!(orgs.lines().any(|l| l.ends_with("60")), "{orgs}");
}
