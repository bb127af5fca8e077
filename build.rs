//! Compiles `proto/` with protox (pure Rust, so no system `protoc` is needed)
//! and generates the tonic services plus the encoded descriptor set that the
//! reflection service serves.

use std::{env, path::PathBuf};

const PROTOS: &[&str] = &[
    "oauth_registry/v1/token.proto",
    "oauth_registry/v1/client.proto",
    "oauth_registry/v1/token_service.proto",
    "oauth_registry/v1/client_service.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
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
        .compile_fds(fds)?;
    pbjson_build::Builder::new()
        .register_descriptors(&encoded)?
        .build(&[".oauth_registry"])?;
    Ok(())
}
