//! Optional TLS for running without a mesh: one certificate and key (PEM)
//! serve both gRPC (HTTP/2, via tonic's rustls support) and the REST gateway
//! (HTTP/1.1, via tokio-rustls behind an axum `Listener`). Plaintext h2c
//! stays the default: in a service mesh the sidecar terminates TLS.
//!
//! The files are read and checked once at start-up, so a bad certificate
//! stops `serve` with a clear error instead of failing every handshake.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// Where the certificate chain and private key are.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// PEM certificate chain, leaf first.
    pub cert: PathBuf,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// A certificate and key that rustls accepted together.
#[derive(Clone)]
pub struct TlsIdentity {
    cert_pem: Vec<u8>,
    key_pem: Vec<u8>,
    /// For the REST gateway (ALPN http/1.1).
    rest: Arc<rustls::ServerConfig>,
}

impl std::fmt::Debug for TlsIdentity {
    // Never print the key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsIdentity").finish_non_exhaustive()
    }
}

impl TlsFiles {
    /// Reads both files and checks that the key matches the certificate.
    pub fn load(&self) -> anyhow::Result<TlsIdentity> {
        let cert_pem = std::fs::read(&self.cert)
            .with_context(|| format!("reading --tls-cert {}", self.cert.display()))?;
        let key_pem = std::fs::read(&self.key)
            .with_context(|| format!("reading --tls-key {}", self.key.display()))?;
        let certs = CertificateDer::pem_slice_iter(&cert_pem)
            .collect::<Result<Vec<_>, _>>()
            .with_context(|| {
                format!("--tls-cert {}: not a PEM certificate", self.cert.display())
            })?;
        anyhow::ensure!(
            !certs.is_empty(),
            "--tls-cert {}: no certificate in the file",
            self.cert.display()
        );
        let key = PrivateKeyDer::from_pem_slice(&key_pem)
            .with_context(|| format!("--tls-key {}: no PEM private key", self.key.display()))?;
        let mut rest = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .context("--tls-cert and --tls-key do not form a usable identity")?;
        rest.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(TlsIdentity {
            cert_pem,
            key_pem,
            rest: Arc::new(rest),
        })
    }
}

impl TlsIdentity {
    /// tonic's server TLS settings (ALPN h2).
    pub fn grpc(&self) -> tonic::transport::ServerTlsConfig {
        tonic::transport::ServerTlsConfig::new().identity(tonic::transport::Identity::from_pem(
            &self.cert_pem,
            &self.key_pem,
        ))
    }

    /// The REST gateway's handshake acceptor.
    pub fn rest_acceptor(&self) -> tokio_rustls::TlsAcceptor {
        tokio_rustls::TlsAcceptor::from(self.rest.clone())
    }
}
