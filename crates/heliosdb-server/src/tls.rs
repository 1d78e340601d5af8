//! TLS for both protocols (`[server] tls_cert`, `tls_key`), with rustls and the ring
//! provider `pgwire` already uses. PostgreSQL clients ask for it with an SSLRequest (or
//! PostgreSQL 17's direct TLS, ALPN `postgresql`); the HTTP port then speaks only HTTPS.

use crate::ServeError;
use pgwire::tokio::tokio_rustls::TlsAcceptor;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// How long a client may take over its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The acceptors of both protocols, built from one certificate and key.
#[derive(Clone)]
pub struct Tls {
    /// For the PostgreSQL protocol (ALPN `postgresql`).
    pub pg: TlsAcceptor,
    /// For HTTPS (ALPN `http/1.1`).
    pub http: TlsAcceptor,
}

fn server_config(
    certs: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    alpn: &[u8],
) -> Result<Arc<rustls::ServerConfig>, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("the certificate and key do not make a TLS identity: {e}"))?;
    config.alpn_protocols = vec![alpn.to_vec()];
    Ok(Arc::new(config))
}

impl Tls {
    /// Reads a PEM certificate chain and its PEM private key.
    pub fn load(cert: &Path, key: &Path) -> Result<Tls, ServeError> {
        let fail = |what: &str, path: &Path, e: String| {
            ServeError(format!("server.{what} ({}): {e}", path.display()))
        };
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
            .map_err(|e| fail("tls_cert", cert, e.to_string()))?
            .collect::<Result<_, _>>()
            .map_err(|e| fail("tls_cert", cert, e.to_string()))?;
        if certs.is_empty() {
            return Err(fail("tls_cert", cert, "no PEM certificate in it".into()));
        }
        let private =
            PrivateKeyDer::from_pem_file(key).map_err(|e| fail("tls_key", key, e.to_string()))?;
        let pg = server_config(certs.clone(), private.clone_key(), b"postgresql")
            .map_err(|e| fail("tls_cert", cert, e))?;
        let http =
            server_config(certs, private, b"http/1.1").map_err(|e| fail("tls_cert", cert, e))?;
        Ok(Tls {
            pg: TlsAcceptor::from(pg),
            http: TlsAcceptor::from(http),
        })
    }
}

/// An HTTPS listener for axum: TCP connections are accepted and their handshakes run in
/// the background, so one slow client does not hold up the others.
pub struct TlsListener {
    local: SocketAddr,
    ready: mpsc::Receiver<(
        pgwire::tokio::tokio_rustls::server::TlsStream<TcpStream>,
        SocketAddr,
    )>,
}

impl TlsListener {
    /// Starts accepting on `listener`; handshakes that fail or time out are dropped.
    pub fn new(listener: TcpListener, acceptor: TlsAcceptor) -> std::io::Result<Self> {
        let local = listener.local_addr()?;
        let (tx, ready) = mpsc::channel(64);
        tokio::spawn(async move {
            loop {
                let accepted = tokio::select! {
                    // axum dropped the listener: stop accepting.
                    _ = tx.closed() => break,
                    accepted = listener.accept() => accepted,
                };
                let (tcp, peer) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        tracing::debug!(error = %e, "HTTPS accept failed");
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                };
                let acceptor = acceptor.clone();
                let tx = tx.clone();
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                        Ok(Ok(stream)) => {
                            let _ = tx.send((stream, peer)).await;
                        }
                        Ok(Err(e)) => tracing::debug!(error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!("TLS handshake timed out"),
                    }
                });
            }
        });
        Ok(TlsListener { local, ready })
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = pgwire::tokio::tokio_rustls::server::TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(accepted) => accepted,
            // The accepting task has ended (it only does when the listener is dropped).
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        Ok(self.local)
    }
}
