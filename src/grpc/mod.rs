//! The gRPC face: `TokenService` and `ClientService` (package
//! `oauth_registry.v1`). `AuthLayer` authenticates every call before it
//! reaches them; each RPC only translates (`convert`), and `status` maps the
//! one domain error to a `tonic::Status`. Rules live in `service` and
//! `domain`.

mod audit;
mod auth;
pub mod convert;
mod deadline;
mod incident;
mod services;
mod status;
mod token_page;
mod watch;

pub use audit::AuditApi;
pub use auth::AuthLayer;
pub use services::{ClientApi, TokenApi};

/// Generated protobuf types and service stubs.
#[allow(clippy::all, missing_docs)]
pub mod pb {
    tonic::include_proto!("oauth_registry.v1");
    include!(concat!(env!("OUT_DIR"), "/oauth_registry.v1.serde.rs"));
    pub use super::token_page::StreamTokensResponse;

    /// Encoded descriptors of our protos and their imports, for reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/oauth_registry_descriptor.bin"));

    /// `google.rpc.BadRequest`, so reflection clients can decode error details.
    pub const ERROR_DETAILS_DESCRIPTOR_SET: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/error_details_descriptor.bin"));
}

/// Every RPC path this server answers (`/package.Service/Method`) and how
/// it streams: ours, health and both reflection versions, read from their
/// descriptors.
pub fn known_methods() -> Vec<(String, crate::metrics::grpc::GrpcType)> {
    use prost::Message;
    let sets = [
        pb::FILE_DESCRIPTOR_SET,
        tonic_health::pb::FILE_DESCRIPTOR_SET,
        tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET,
        tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
    ];
    let mut out = Vec::new();
    for bytes in sets {
        let Ok(set) = prost_types::FileDescriptorSet::decode(bytes) else {
            continue;
        };
        for file in set.file {
            for service in &file.service {
                for method in &service.method {
                    let path = format!("/{}.{}/{}", file.package(), service.name(), method.name());
                    let kind = crate::metrics::grpc::GrpcType::of(
                        method.client_streaming(),
                        method.server_streaming(),
                    );
                    out.push((path, kind));
                }
            }
        }
    }
    out
}
