//! Optional TLS for running without a mesh: one certificate and key (PEM)
//! serve both gRPC (HTTP/2, and HTTP/1.1 for gRPC-Web, terminated in the
//! accept loop so PING policing sees the plaintext frames) and the REST
//! gateway (HTTP/1.1, via tokio-rustls behind an axum `Listener`). Plaintext h2c
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
    /// For the gRPC port (ALPN h2, then http/1.1 for gRPC-Web).
    grpc: Arc<rustls::ServerConfig>,
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
        let config = |alpn: &[&[u8]]| -> anyhow::Result<Arc<rustls::ServerConfig>> {
            let mut c = rustls::ServerConfig::builder_with_provider(Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(certs.clone(), key.clone_key())
            .context("--tls-cert and --tls-key do not form a usable identity")?;
            c.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
            Ok(Arc::new(c))
        };
        Ok(TlsIdentity {
            grpc: config(&[b"h2", b"http/1.1"])?,
            rest: config(&[b"http/1.1"])?,
        })
    }
}

impl TlsIdentity {
    /// The gRPC port's handshake acceptor.
    pub fn grpc_acceptor(&self) -> tokio_rustls::TlsAcceptor {
        tokio_rustls::TlsAcceptor::from(self.grpc.clone())
    }

    /// The REST gateway's handshake acceptor.
    pub fn rest_acceptor(&self) -> tokio_rustls::TlsAcceptor {
        tokio_rustls::TlsAcceptor::from(self.rest.clone())
    }
}
