//! Compiles `proto/` with protox (pure Rust, so no system `protoc` is needed)
//! and generates the tonic services plus the encoded descriptor set that the
//! reflection service serves.
//!
//! It also tells the tests what this machine can run, as cfgs: a test that
//! needs PostgreSQL, grpcurl or initdb is compiled as `#[ignore = "why"]`
//! without it, so `cargo test` lists it as ignored with the reason instead
//! of passing it vacuously.

use std::env;
use std::path::{Path, PathBuf};

const PROTOS: &[&str] = &[
    "oauth_registry/v1/change.proto",
    "oauth_registry/v1/token.proto",
    "oauth_registry/v1/client.proto",
    "oauth_registry/v1/token_service.proto",
    "oauth_registry/v1/client_service.proto",
    "oauth_registry/v1/audit_service.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    test_capabilities();
    git_sha();
    println!("cargo:rerun-if-changed=proto");
    println!("cargo:rerun-if-changed=proto-deps");
    let fds = protox::compile(PROTOS, ["proto"])?;
    let out = PathBuf::from(env::var("OUT_DIR")?);
    let descriptor = out.join("oauth_registry_descriptor.bin");
    std::fs::write(&descriptor, prost::Message::encode_to_vec(&fds))?;
    // Error-detail messages, for reflection only (no code generated).
    let details = protox::compile(["google/rpc/error_details.proto"], ["proto-deps"])?;
    std::fs::write(
        out.join("error_details_descriptor.bin"),
        prost::Message::encode_to_vec(&details),
    )?;
    // Well-known types come from pbjson-types, which (unlike prost-types)
    // implement the protobuf JSON mapping; pbjson-build adds serde impls for
    // our messages, so the REST gateway speaks the same JSON grpcurl prints.
    let encoded = prost::Message::encode_to_vec(&fds);
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_well_known_types(true)
        .extern_path(".google.protobuf", "::pbjson_types")
        // Written by hand, so a stream's pages can carry rows already in
        // wire form (src/grpc/token_page.rs).
        .extern_path(
            ".oauth_registry.v1.StreamTokensResponse",
            "crate::grpc::token_page::StreamTokensResponse",
        )
        .compile_fds(fds)?;
    pbjson_build::Builder::new()
        .register_descriptors(&encoded)?
        .exclude([".oauth_registry.v1.StreamTokensResponse"])
        .build(&[".oauth_registry"])?;
    Ok(())
}

/// Emits `postgres_tests` (TEST_DATABASE_URL is set), `grpcurl_installed`
/// (grpcurl is on PATH) and `initdb_installed` (PostgreSQL's server tools
/// are installed), each re-checked when what it depends on changes.
fn test_capabilities() {
    for cfg in ["postgres_tests", "grpcurl_installed", "initdb_installed"] {
        println!("cargo::rustc-check-cfg=cfg({cfg})");
    }
    println!("cargo:rerun-if-env-changed=TEST_DATABASE_URL");
    if env::var("TEST_DATABASE_URL").is_ok_and(|v| !v.trim().is_empty()) {
        println!("cargo:rustc-cfg=postgres_tests");
    }

    println!("cargo:rerun-if-env-changed=PATH");
    let path_dirs: Vec<PathBuf> = env::var_os("PATH")
        .map(|p| env::split_paths(&p).collect())
        .unwrap_or_default();
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    match path_dirs
        .iter()
        .map(|d| d.join("grpcurl"))
        .find(|p| p.is_file())
    {
        Some(grpcurl) => {
            println!("cargo:rustc-cfg=grpcurl_installed");
            watch(&grpcurl);
        }
        // Watch PATH's directories, so installing grpcurl later is noticed.
        None => path_dirs
            .iter()
            .filter(|d| d.is_absolute() && d.is_dir() && !d.starts_with(&manifest))
            .for_each(|d| watch(d)),
    }

    if let Some(initdb) = initdb() {
        println!("cargo:rustc-cfg=initdb_installed");
        watch(&initdb);
    }
}

/// `initdb` from `pg_config --bindir`, or Debian's /usr/lib/postgresql/*/bin.
fn initdb() -> Option<PathBuf> {
    let from_pg_config = std::process::Command::new("pg_config")
        .arg("--bindir")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|dir| Path::new(dir.trim()).join("initdb"));
    let debian = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path().join("bin/initdb")));
    from_pg_config
        .into_iter()
        .chain(debian)
        .find(|p| p.is_file())
}

fn watch(path: &Path) {
    println!("cargo:rerun-if-changed={}", path.display());
}

/// `OAUTH_REGISTRY_GIT_SHA` for `oauth_registry_build_info`: the commit
/// being built, or "unknown" outside a git checkout (a source tarball, the
/// Docker build context without `.git`). Rerun when HEAD moves (only files
/// that exist are watched: a missing one would rerun every build).
fn git_sha() {
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    let sha = git(&["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=OAUTH_REGISTRY_GIT_SHA={sha}");
    if let Some(dir) = git(&["rev-parse", "--git-dir"]) {
        let mut watched = vec![format!("{dir}/HEAD"), format!("{dir}/packed-refs")];
        if let Some(head) = git(&["symbolic-ref", "-q", "HEAD"]) {
            watched.push(format!("{dir}/{head}"));
        }
        for file in watched.iter().filter(|f| Path::new(f).exists()) {
            println!("cargo:rerun-if-changed={file}");
        }
    }
}
