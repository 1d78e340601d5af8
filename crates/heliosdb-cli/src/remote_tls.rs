//! TLS for `--connect`, with libpq's `sslmode` and `sslrootcert` read from the URL.
//!
//! The driver underneath (`postgres`) knows only `disable`, `prefer` and `require` and no
//! root certificate, so those two parameters are taken out of the URL here and the
//! certificate check is done by the rustls configuration this module builds:
//!
//! | sslmode | encryption | certificate |
//! |---|---|---|
//! | `disable` | never | - |
//! | `allow`, `prefer` (the default) | if the server offers it | not checked |
//! | `require` | always | not checked, unless `sslrootcert` is given (then as `verify-ca`), as libpq does |
//! | `verify-ca` | always | signed by a root in `sslrootcert` |
//! | `verify-full` | always | signed by such a root and issued for the host name |
//!
//! `sslrootcert` is a PEM file, `system` for the system's roots, and defaults (for the
//! verify modes) to `~/.postgresql/root.crt`, as in libpq.

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};
use std::path::PathBuf;
use std::sync::Arc;

/// How the connection is to be protected, from `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    /// Never TLS.
    Disable,
    /// TLS when the server offers it, certificate not checked (`allow` and `prefer`).
    Prefer,
    /// TLS always, certificate not checked.
    Require,
    /// TLS always, certificate chain checked against the roots.
    VerifyCa,
    /// TLS always, chain and host name checked.
    VerifyFull,
}

/// What the URL asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsRequest {
    /// The mode after libpq's rule (require with a root file acts as verify-ca).
    pub mode: SslMode,
    /// `sslrootcert`, if given.
    pub root_cert: Option<String>,
}

/// Takes `sslmode` and `sslrootcert` out of a connection string (URL or `key=value`
/// words) and returns what is left for the driver and the TLS request.
pub fn split(conn: &str) -> Result<(String, TlsRequest), String> {
    let mut mode = None;
    let mut root_cert = None;
    let mut take = |key: &str, value: &str| -> Result<bool, String> {
        match key {
            "sslmode" => {
                mode = Some(match value {
                    "disable" => SslMode::Disable,
                    "allow" | "prefer" => SslMode::Prefer,
                    "require" => SslMode::Require,
                    "verify-ca" => SslMode::VerifyCa,
                    "verify-full" => SslMode::VerifyFull,
                    other => {
                        return Err(format!(
                            "invalid sslmode {other:?}: use disable, allow, prefer, require, \
                             verify-ca or verify-full"
                        ))
                    }
                });
                Ok(true)
            }
            "sslrootcert" => {
                root_cert = Some(value.to_string());
                Ok(true)
            }
            _ => Ok(false),
        }
    };
    let rest = if conn.starts_with("postgres://") || conn.starts_with("postgresql://") {
        match conn.split_once('?') {
            None => conn.to_string(),
            Some((base, query)) => {
                let mut kept = Vec::new();
                for pair in query.split('&').filter(|p| !p.is_empty()) {
                    let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                    if !take(k, &percent_decode(v))? {
                        kept.push(pair);
                    }
                }
                if kept.is_empty() {
                    base.to_string()
                } else {
                    format!("{base}?{}", kept.join("&"))
                }
            }
        }
    } else {
        let mut kept = Vec::new();
        for word in conn.split_whitespace() {
            let (k, v) = word.split_once('=').unwrap_or((word, ""));
            if !take(k, v.trim_matches('\''))? {
                kept.push(word);
            }
        }
        kept.join(" ")
    };
    let mut mode = mode.unwrap_or(SslMode::Prefer);
    if mode == SslMode::Require && root_cert.is_some() {
        mode = SslMode::VerifyCa;
    }
    Ok((rest, TlsRequest { mode, root_cert }))
}

/// `%XX` escapes of a URL parameter (a path may contain them).
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl TlsRequest {
    /// The driver's own sslmode for this request.
    pub fn driver_mode(&self) -> postgres::config::SslMode {
        match self.mode {
            SslMode::Disable => postgres::config::SslMode::Disable,
            SslMode::Prefer => postgres::config::SslMode::Prefer,
            _ => postgres::config::SslMode::Require,
        }
    }

    /// The rustls configuration that checks what the mode asks; `None` for `disable`.
    pub fn client_config(&self) -> Result<Option<rustls::ClientConfig>, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS setup failed: {e}"))?;
        let verifier: Arc<dyn ServerCertVerifier> = match self.mode {
            SslMode::Disable => return Ok(None),
            SslMode::Prefer | SslMode::Require => Arc::new(AcceptAny(provider)),
            SslMode::VerifyCa | SslMode::VerifyFull => {
                let roots = Arc::new(self.roots()?);
                let webpki = WebPkiServerVerifier::builder_with_provider(roots, provider)
                    .build()
                    .map_err(|e| format!("TLS setup failed: {e}"))?;
                if self.mode == SslMode::VerifyCa {
                    Arc::new(AnyName(webpki))
                } else {
                    webpki
                }
            }
        };
        let mut config = builder
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        // PostgreSQL 17's direct TLS and the server's ALPN check name this protocol.
        config.alpn_protocols = vec![b"postgresql".to_vec()];
        Ok(Some(config))
    }

    fn roots(&self) -> Result<rustls::RootCertStore, String> {
        let path = match self.root_cert.as_deref() {
            Some("system") => PathBuf::from(
                std::env::var_os("SSL_CERT_FILE")
                    .unwrap_or_else(|| "/etc/ssl/certs/ca-certificates.crt".into()),
            ),
            Some(p) => PathBuf::from(p),
            None => {
                let home = std::env::var_os("HOME").ok_or(
                    "sslmode verify-ca / verify-full needs sslrootcert (no HOME for \
                     ~/.postgresql/root.crt)",
                )?;
                PathBuf::from(home).join(".postgresql/root.crt")
            }
        };
        let mut roots = rustls::RootCertStore::empty();
        let certs = CertificateDer::pem_file_iter(&path)
            .map_err(|e| format!("cannot read root certificates {}: {e}", path.display()))?;
        for cert in certs {
            let cert = cert.map_err(|e| format!("bad certificate in {}: {e}", path.display()))?;
            roots
                .add(cert)
                .map_err(|e| format!("bad certificate in {}: {e}", path.display()))?;
        }
        if roots.is_empty() {
            return Err(format!("no certificate in {}", path.display()));
        }
        Ok(roots)
    }
}

/// `prefer` / `require`: encryption without authentication of the server, as libpq does
/// in those modes. Handshake signatures are still verified (the session key belongs to
/// whoever holds the certificate's key).
#[derive(Debug)]
struct AcceptAny(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAny {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// `verify-ca`: the chain must lead to a trusted root; the name it was issued for is not
/// compared with the host.
#[derive(Debug)]
struct AnyName(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for AnyName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sslmode_and_root_are_taken_out_of_urls_and_words() {
        let (rest, req) = split(
            "postgresql://a@h:5/heliosdb?sslmode=verify-full&sslrootcert=%2Ftmp%2Fca.pem&application_name=x",
        )
        .unwrap();
        assert_eq!(rest, "postgresql://a@h:5/heliosdb?application_name=x");
        assert_eq!(req.mode, SslMode::VerifyFull);
        assert_eq!(req.root_cert.as_deref(), Some("/tmp/ca.pem"));

        let (rest, req) = split("postgresql://a@h/heliosdb").unwrap();
        assert_eq!(
            (rest.as_str(), req.mode),
            ("postgresql://a@h/heliosdb", SslMode::Prefer)
        );

        let (rest, req) = split("host=h user=a sslmode=require sslrootcert=ca.pem").unwrap();
        assert_eq!(rest, "host=h user=a");
        // libpq: require with a root file checks the chain.
        assert_eq!(req.mode, SslMode::VerifyCa);

        let e = split("postgresql://h/heliosdb?sslmode=always").unwrap_err();
        assert!(e.contains("invalid sslmode \"always\""), "{e}");
    }

    #[test]
    fn verify_modes_need_a_readable_root_file() {
        let req = TlsRequest {
            mode: SslMode::VerifyFull,
            root_cert: Some("/nonexistent/ca.pem".into()),
        };
        let e = req.client_config().unwrap_err();
        assert!(
            e.contains("cannot read root certificates /nonexistent/ca.pem"),
            "{e}"
        );
        let disabled = TlsRequest {
            mode: SslMode::Disable,
            root_cert: None,
        };
        assert!(disabled.client_config().unwrap().is_none());
    }
}
