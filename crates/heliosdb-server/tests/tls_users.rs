//! A users file (`[server] users_file`) used by both protocols, and TLS (`tls_cert`,
//! `tls_key`) with a self-signed certificate made for the test: PostgreSQL's SSLRequest,
//! verified against that certificate, and HTTPS.

mod common;

use common::{config, connect, start};
use heliosdb_server::{users, Auth};
use pgwire::tokio::tokio_rustls::{rustls, TlsConnector};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn basic(user: &str, password: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
}

/// An HTTP/1.1 exchange over any stream; returns the status line and the whole answer.
async fn http_over<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
    mut s: S,
    request: &str,
) -> String {
    s.write_all(request.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out).await;
    String::from_utf8_lossy(&out).to_string()
}

fn query_request(auth: &str) -> String {
    let body = r#"{"sql": "SELECT 40 + 2"}"#;
    format!(
        "POST /v1/query HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\
         Authorization: Basic {auth}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_file_serves_both_protocols() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("users");
    users::set_password(&file, "alice", "alice pw").unwrap();
    users::set_password(&file, "bob", "bob pw").unwrap();
    assert!(!std::fs::read_to_string(&file).unwrap().contains("alice pw"));
    let mut cfg = config(dir.path());
    cfg.server.users_file = Some(file.clone());
    let auth = Auth::for_server(&cfg.server).unwrap();
    let server = start(cfg, auth).await;

    let alice = connect(server.pg, "alice", "alice pw").await.unwrap();
    alice
        .batch_execute("CREATE TABLE t (a INTEGER)")
        .await
        .unwrap();
    let bob = connect(server.pg, "bob", "bob pw").await.unwrap();
    bob.batch_execute("INSERT INTO t VALUES (1)").await.unwrap();

    let e = connect(server.pg, "alice", "bob pw").await.unwrap_err();
    assert_eq!(e.code().unwrap().code(), "28P01", "{e}");
    let e = connect(server.pg, "heliosdb", "alice pw")
        .await
        .unwrap_err();
    assert_eq!(e.code().unwrap().code(), "28000", "{e}");
    // The error does not list the users.
    assert!(!e.to_string().contains("alice"), "{e}");

    let stream = tokio::net::TcpStream::connect(server.http).await.unwrap();
    let ok = http_over(stream, &query_request(&basic("bob", "bob pw"))).await;
    assert!(ok.starts_with("HTTP/1.1 200") && ok.contains("42"), "{ok}");
    let stream = tokio::net::TcpStream::connect(server.http).await.unwrap();
    let refused = http_over(stream, &query_request(&basic("bob", "alice pw"))).await;
    assert!(refused.starts_with("HTTP/1.1 401"), "{refused}");
    server.stop().await;

    // A clear-text password in the file is refused at start, naming the line.
    std::fs::write(&file, "# users\ncarol:hunter2\n").unwrap();
    let mut cfg = config(dir.path());
    cfg.server.users_file = Some(file.clone());
    let e = Auth::for_server(&cfg.server).unwrap_err();
    assert!(e.contains(":2:") && e.contains("clear-text"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_file_is_read_again_when_it_changes() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("users");
    users::set_password(&file, "alice", "old pw").unwrap();
    let mut cfg = config(dir.path());
    cfg.server.users_file = Some(file.clone());
    let auth = Auth::for_server(&cfg.server).unwrap();
    let server = start(cfg, auth).await;
    let alice = connect(server.pg, "alice", "old pw").await.unwrap();

    users::set_password(&file, "alice", "new pw").unwrap();
    users::set_password(&file, "carol", "carol pw").unwrap();
    // The server looks at the file every 2 seconds.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let carol = loop {
        match connect(server.pg, "carol", "carol pw").await {
            Ok(c) => break c,
            Err(e) if std::time::Instant::now() < deadline => {
                assert_eq!(e.code().unwrap().code(), "28000", "{e}");
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
            Err(e) => panic!("the new user never got in: {e}"),
        }
    };
    carol.batch_execute("SELECT 1").await.unwrap();
    let e = connect(server.pg, "alice", "old pw").await.unwrap_err();
    assert_eq!(e.code().unwrap().code(), "28P01", "{e}");
    connect(server.pg, "alice", "new pw").await.unwrap();
    // A session opened before the change goes on.
    alice.batch_execute("SELECT 1").await.unwrap();

    // A file broken by hand keeps the users in force.
    std::fs::write(&file, "carol:plain text\n").unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    connect(server.pg, "carol", "carol pw").await.unwrap();
    server.stop().await;
}

/// A self-signed certificate for `localhost` and 127.0.0.1, written as PEM files.
fn certificate(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf, Vec<u8>) {
    let made =
        rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    std::fs::write(&cert, made.cert.pem()).unwrap();
    std::fs::write(&key, made.signing_key.serialize_pem()).unwrap();
    (cert, key, made.cert.der().to_vec())
}

fn client_config(der: &[u8], alpn: &[u8]) -> rustls::ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls::pki_types::CertificateDer::from(der.to_vec()))
        .unwrap();
    let mut c = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    c.alpn_protocols = vec![alpn.to_vec()];
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_for_postgres_and_https() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key, der) = certificate(dir.path());
    let mut cfg = config(dir.path());
    cfg.server.tls_cert = Some(cert.clone());
    cfg.server.tls_key = Some(key.clone());
    let server = start(cfg, Auth::new(Some("pw"))).await;

    // PostgreSQL: SSLRequest, the certificate verified against the one made here.
    let tls = tokio_postgres_rustls::MakeRustlsConnect::new(client_config(&der, b"postgresql"));
    let (client, conn) = tokio_postgres::connect(
        &format!(
            "host=localhost hostaddr=127.0.0.1 port={} user=heliosdb password=pw \
             dbname=heliosdb sslmode=require",
            server.pg.port()
        ),
        tls,
    )
    .await
    .unwrap();
    tokio::spawn(conn);
    client
        .batch_execute("CREATE TABLE t (n INTEGER); INSERT INTO t VALUES (42)")
        .await
        .unwrap();
    let row = client.query_one("SELECT n FROM t", &[]).await.unwrap();
    assert_eq!(row.get::<_, i64>(0), 42);
    // Without TLS the server still answers, as PostgreSQL does unless told otherwise.
    let plain = connect(server.pg, "heliosdb", "pw").await.unwrap();
    plain.batch_execute("SELECT 1").await.unwrap();

    // HTTPS.
    let connector = TlsConnector::from(Arc::new(client_config(&der, b"http/1.1")));
    let tcp = tokio::net::TcpStream::connect(server.http).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let stream = connector.connect(name, tcp).await.unwrap();
    let answer = http_over(stream, &query_request(&basic("heliosdb", "pw"))).await;
    assert!(
        answer.starts_with("HTTP/1.1 200") && answer.contains("42"),
        "{answer}"
    );
    // Plain HTTP to the HTTPS port gets no HTTP answer.
    let tcp = tokio::net::TcpStream::connect(server.http).await.unwrap();
    let answer = http_over(tcp, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert!(!answer.starts_with("HTTP/1.1 200"), "{answer}");
    server.stop().await;

    // A key that is not PEM is refused at start, naming the key.
    std::fs::write(&key, "not a key").unwrap();
    let mut cfg = config(dir.path());
    cfg.server.tls_cert = Some(cert);
    cfg.server.tls_key = Some(key);
    let e = heliosdb_server::Server::bind(&cfg, Auth::new(Some("pw")))
        .await
        .err()
        .unwrap();
    assert!(e.to_string().contains("tls_key"), "{e}");
}
