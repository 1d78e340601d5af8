//! End to end: the server on free loopback ports, driven by tokio-postgres (the
//! PostgreSQL protocol, simple and extended), a minimal HTTP client, and the real `psql`
//! when it is installed.

use heliosdb_lite::Config;
use heliosdb_server::{Auth, Server};
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::Type;
use tokio_postgres::{Client, NoTls, SimpleQueryMessage};

const PASSWORD: &str = "s3cret pass";

struct Running {
    pg: SocketAddr,
    http: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<Result<(), heliosdb_server::ServeError>>>,
}

impl Running {
    async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        self.task.take().unwrap().await.unwrap().unwrap();
    }
}

fn config(dir: &Path) -> Config {
    let mut c = Config::with_path(dir.join("db"));
    c.server.host = "127.0.0.1".into();
    c.server.port = 0;
    c.server.pg_port = 0;
    c.container.graceful_shutdown_timeout_secs = 5;
    c
}

async fn start(config: Config, password: Option<&str>) -> Running {
    let server = Server::bind(&config, Auth::new(password)).await.unwrap();
    let (pg, http) = (server.pg_addr(), server.http_addr());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(server.run(async move {
        let _ = rx.await;
    }));
    Running {
        pg,
        http,
        stop: Some(tx),
        task: Some(task),
    }
}

async fn connect(
    addr: SocketAddr,
    password: &str,
    db: &str,
) -> Result<Client, tokio_postgres::Error> {
    let (client, conn) = tokio_postgres::connect(
        &format!(
            "host=127.0.0.1 port={} user=heliosdb password='{}' dbname={db}",
            addr.port(),
            password.replace('\'', "\\'")
        ),
        NoTls,
    )
    .await?;
    tokio::spawn(conn);
    Ok(client)
}

/// The first value of the first row, as text (simple query protocol).
async fn scalar(c: &Client, sql: &str) -> Option<String> {
    for m in c.simple_query(sql).await.unwrap() {
        if let SimpleQueryMessage::Row(r) = m {
            return r.get(0).map(str::to_string);
        }
    }
    None
}

/// A blocking HTTP/1.1 exchange; returns the status and body.
fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    auth: Option<&str>,
    body: &str,
) -> (u16, String) {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let auth = auth
        .map(|a| format!("Authorization: {a}\r\n"))
        .unwrap_or_default();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{auth}\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status = out[9..12].parse().unwrap();
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    // Bodies may arrive chunked: keep the JSON (or text) between the chunk sizes.
    (status, dechunk(&body))
}

fn dechunk(body: &str) -> String {
    let lines: Vec<&str> = body.split("\r\n").collect();
    if lines.len() >= 2
        && usize::from_str_radix(lines[0].trim(), 16).is_ok()
        && !lines[0].is_empty()
    {
        let mut out = String::new();
        let mut i = 0;
        while i + 1 < lines.len() {
            let n = usize::from_str_radix(lines[i].trim(), 16).unwrap_or(0);
            if n == 0 {
                break;
            }
            out.push_str(lines[i + 1]);
            i += 2;
        }
        return out;
    }
    body.to_string()
}

fn basic() -> String {
    use base64::Engine as _;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("heliosdb:{PASSWORD}"))
    )
}

async fn http_async(
    addr: SocketAddr,
    method: &'static str,
    path: &'static str,
    auth: Option<String>,
    body: String,
) -> (u16, String) {
    tokio::task::spawn_blocking(move || http(addr, method, path, auth.as_deref(), &body))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_protocol_http_and_restart() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(config(dir.path()), Some(PASSWORD)).await;
    let c = connect(server.pg, PASSWORD, "heliosdb").await.unwrap();

    // DDL and DML over the simple protocol.
    c.batch_execute(
        "CREATE TABLE accounts (id INTEGER PRIMARY KEY, owner TEXT NOT NULL, balance DECIMAL(15,2));
         INSERT INTO accounts (owner, balance) VALUES ('ada', 100.00), ('bob', 50.00);",
    )
    .await
    .unwrap();
    let before: i64 = scalar(&c, "SELECT current_scn()")
        .await
        .unwrap()
        .parse()
        .unwrap();

    // The extended protocol with typed parameters.
    let upd = c
        .prepare_typed(
            "UPDATE accounts SET balance = balance - $1 WHERE owner = $2",
            &[Type::INT8, Type::TEXT],
        )
        .await
        .unwrap();
    assert_eq!(c.execute(&upd, &[&30i64, &"ada"]).await.unwrap(), 1);
    let sel = c
        .prepare_typed(
            "SELECT id, owner FROM accounts WHERE id = $1",
            &[Type::INT8],
        )
        .await
        .unwrap();
    let row = c.query_one(&sel, &[&1i64]).await.unwrap();
    assert_eq!(
        (row.get::<_, i64>(0), row.get::<_, String>(1)),
        (1, "ada".to_string())
    );

    // Time travel: the clause, with a parameter, and the session setting.
    let old = c
        .query_one(
            &c.prepare_typed(
                "SELECT balance FROM accounts AS OF SCN $1 WHERE id = 1",
                &[Type::INT8],
            )
            .await
            .unwrap(),
            &[&before],
        )
        .await
        .unwrap();
    assert_eq!(old.get::<_, rust_decimal::Decimal>(0).to_string(), "100.00");
    assert_eq!(
        scalar(&c, "SELECT balance FROM accounts WHERE id = 1")
            .await
            .unwrap(),
        "70.00"
    );
    c.batch_execute(&format!("SET heliosdb.as_of = 'SCN {before}'"))
        .await
        .unwrap();
    assert_eq!(
        scalar(&c, "SHOW heliosdb.as_of").await.unwrap(),
        format!("SCN {before}")
    );
    assert_eq!(
        scalar(&c, "SELECT balance FROM accounts WHERE id = 1")
            .await
            .unwrap(),
        "100.00"
    );
    // A write while the session reads in the past is PostgreSQL's read-only refusal, on
    // both protocols.
    let e = c.batch_execute("DELETE FROM accounts").await.unwrap_err();
    assert_eq!(e.code(), Some(&SqlState::READ_ONLY_SQL_TRANSACTION), "{e}");
    let e = c
        .execute("UPDATE accounts SET owner = 'x' WHERE id = $1", &[&1i64])
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(&SqlState::READ_ONLY_SQL_TRANSACTION), "{e}");
    c.batch_execute("RESET heliosdb.as_of").await.unwrap();
    assert_eq!(
        scalar(&c, "SELECT balance FROM accounts WHERE id = 1")
            .await
            .unwrap(),
        "70.00"
    );

    // A point that does not exist yet: its own SQLSTATE, the message names the range.
    let e = c
        .simple_query("SELECT * FROM accounts AS OF SCN 999999")
        .await
        .unwrap_err();
    let db = e.as_db_error().unwrap();
    assert_eq!(db.code().code(), "22023");
    assert!(
        db.message().contains("available history"),
        "{}",
        db.message()
    );

    // Transactions per connection, isolated from another connection.
    let other = connect(server.pg, PASSWORD, "heliosdb").await.unwrap();
    c.batch_execute("BEGIN; INSERT INTO accounts (owner, balance) VALUES ('cy', 1)")
        .await
        .unwrap();
    assert_eq!(
        scalar(&other, "SELECT count(*) FROM accounts")
            .await
            .unwrap(),
        "2"
    );
    assert_eq!(
        scalar(&c, "SELECT count(*) FROM accounts").await.unwrap(),
        "3"
    );
    c.batch_execute("ROLLBACK").await.unwrap();
    assert_eq!(
        scalar(&c, "SELECT count(*) FROM accounts").await.unwrap(),
        "2"
    );
    // PostgreSQL's rule: after an error, the block accepts only its end.
    c.batch_execute("BEGIN").await.unwrap();
    assert!(c
        .batch_execute("INSERT INTO nowhere VALUES (1)")
        .await
        .is_err());
    let e = c.batch_execute("SELECT 1").await.unwrap_err();
    assert_eq!(e.as_db_error().unwrap().code().code(), "25P02");
    c.batch_execute("COMMIT").await.unwrap();
    c.batch_execute("BEGIN; INSERT INTO accounts (owner, balance) VALUES ('dee', 5); COMMIT")
        .await
        .unwrap();
    assert_eq!(
        scalar(&other, "SELECT count(*) FROM accounts")
            .await
            .unwrap(),
        "3"
    );

    // What clients send at connect.
    assert!(scalar(&c, "SELECT version()")
        .await
        .unwrap()
        .starts_with("PostgreSQL 15"));
    assert_eq!(
        scalar(&c, "select current_schema()").await.unwrap(),
        "public"
    );
    assert_eq!(
        scalar(&c, "SHOW server_version").await.unwrap(),
        heliosdb_server_version()
    );
    let tables = c
        .simple_query("SELECT table_name FROM information_schema.tables")
        .await
        .unwrap();
    assert!(tables
        .iter()
        .any(|m| matches!(m, SimpleQueryMessage::Row(r) if r.get(2) == Some("accounts"))));

    // Wrong password, unknown database, unknown user.
    assert!(connect(server.pg, "wrong", "heliosdb").await.is_err());
    assert!(connect(server.pg, PASSWORD, "postgres").await.is_err());

    // HTTP.
    let (status, body) = http_async(server.http, "GET", "/health", None, String::new()).await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = http_async(server.http, "GET", "/ready", None, String::new()).await;
    assert_eq!(status, 200);
    let q = format!(
        r#"{{"sql": "SELECT owner, balance FROM accounts AS OF SCN ? ORDER BY id", "params": [{before}]}}"#
    );
    let (status, _) = http_async(server.http, "POST", "/v1/query", None, q.clone()).await;
    assert_eq!(status, 401);
    let (status, body) = http_async(server.http, "POST", "/v1/query", Some(basic()), q).await;
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["columns"], serde_json::json!(["owner", "balance"]));
    assert_eq!(
        v["rows"],
        serde_json::json!([["ada", "100.00"], ["bob", "50.00"]])
    );
    assert!(v["scn"].as_u64().unwrap() > before as u64);
    let (status, body) = http_async(
        server.http,
        "POST",
        "/v1/query",
        Some(format!("Bearer {PASSWORD}")),
        r#"{"sql": "SELECT * FROM accounts AS OF SCN 999999"}"#.into(),
    )
    .await;
    assert_eq!(status, 400);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["error"]["code"], "snapshot_not_available");

    // Metrics parse as Prometheus text.
    let (status, body) = http_async(server.http, "GET", "/metrics", None, String::new()).await;
    assert_eq!(status, 200);
    check_prometheus(&body);
    assert!(body.contains(
        "heliosdb_query_duration_seconds_bucket{query_type=\"time_travel\",le=\"+Inf\"}"
    ));
    assert!(body.contains("heliosdb_open_connections 2"), "{body}");

    drop(c);
    drop(other);
    server.stop().await;

    // A restart keeps the data and its history.
    let server = start(config(dir.path()), Some(PASSWORD)).await;
    let c = connect(server.pg, PASSWORD, "heliosdb").await.unwrap();
    assert_eq!(
        scalar(&c, "SELECT count(*) FROM accounts").await.unwrap(),
        "3"
    );
    assert_eq!(
        scalar(
            &c,
            &format!("SELECT balance FROM accounts AS OF SCN {before} WHERE id = 1")
        )
        .await
        .unwrap(),
        "100.00"
    );
    drop(c);
    server.stop().await;
}

fn heliosdb_server_version() -> String {
    format!("15.0 (HeliosDB-Lite {})", env!("CARGO_PKG_VERSION"))
}

/// Every sample line is `name{labels} value` with a number, and every family has a TYPE.
fn check_prometheus(text: &str) {
    let mut typed = std::collections::HashSet::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut w = rest.split(' ');
            typed.insert(w.next().unwrap().to_string());
            assert!(
                matches!(w.next(), Some("counter" | "gauge" | "histogram")),
                "{line}"
            );
            continue;
        }
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let (name, value) = line.rsplit_once(' ').unwrap();
        value
            .parse::<f64>()
            .unwrap_or_else(|_| panic!("not a number: {line}"));
        let family = name.split('{').next().unwrap();
        let base = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| family.strip_suffix(s))
            .unwrap_or(family);
        assert!(
            typed.contains(family) || typed.contains(base),
            "no TYPE for {line}"
        );
        assert!(
            family
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "{line}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_timeouts_and_refusals() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.server.max_connections = 2;
    cfg.server.statement_timeout_secs = 1;
    let server = start(cfg, Some(PASSWORD)).await;
    let a = connect(server.pg, PASSWORD, "heliosdb").await.unwrap();
    let _b = connect(server.pg, PASSWORD, "heliosdb").await.unwrap();
    let e = connect(server.pg, PASSWORD, "heliosdb")
        .await
        .expect_err("refused");
    assert_eq!(
        e.as_db_error().map(|d| d.code().code()),
        Some("53300"),
        "{e}"
    );
    // A query that would run forever is cancelled by the statement timeout.
    let started = std::time::Instant::now();
    let e = a
        .simple_query("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c")
        .await
        .unwrap_err();
    assert_eq!(e.as_db_error().unwrap().code().code(), "57014", "{e}");
    assert!(started.elapsed() < Duration::from_secs(10));
    // The session is still usable.
    assert_eq!(scalar(&a, "SELECT 1").await.unwrap(), "1");
    drop(a);
    server.stop().await;

    // No password: refused on a non-loopback address, allowed on loopback.
    let mut open = config(dir.path());
    open.server.host = "0.0.0.0".into();
    let err = Server::bind(&open, Auth::new(None))
        .await
        .err()
        .expect("refused");
    assert!(err.to_string().contains("HELIOSDB_PASSWORD"), "{err}");
    let server = start(config(dir.path()), None).await;
    let c = connect(server.pg, "", "heliosdb").await.unwrap();
    assert_eq!(scalar(&c, "SELECT 40 + 2").await.unwrap(), "42");
    drop(c);
    server.stop().await;
}

/// The real psql, when installed: connect-time queries, `\dt`, `\d TABLE`, time travel.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn psql_client() {
    let Some(psql) = std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join("psql"))
            .find(|f| f.is_file())
    }) else {
        eprintln!(
            "psql is not on PATH: skipping the psql test (apt-get install postgresql-client)"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let server = start(config(dir.path()), Some(PASSWORD)).await;
    let url = format!(
        "postgresql://heliosdb@127.0.0.1:{}/heliosdb",
        server.pg.port()
    );
    let run = move |args: Vec<String>| {
        let psql = psql.clone();
        let url = url.clone();
        async move {
            tokio::task::spawn_blocking(move || {
                let out = std::process::Command::new(psql)
                    .arg(url)
                    .arg("-X")
                    .arg("-v")
                    .arg("ON_ERROR_STOP=1")
                    .args(args)
                    .env("PGPASSWORD", PASSWORD)
                    .env("PGCONNECT_TIMEOUT", "5")
                    .output()
                    .unwrap();
                let text = String::from_utf8_lossy(&out.stdout).to_string();
                let err = String::from_utf8_lossy(&out.stderr).to_string();
                (out.status.success(), text, err)
            })
            .await
            .unwrap()
        }
    };
    let (ok, out, err) = run(vec![
        "-c".into(),
        "CREATE TABLE prices (id INTEGER PRIMARY KEY, name TEXT NOT NULL, price DECIMAL(10,2))"
            .into(),
        "-c".into(),
        "INSERT INTO prices (name, price) VALUES ('lamp', 19.99)".into(),
        "-c".into(),
        "SELECT version()".into(),
    ])
    .await;
    assert!(ok, "{out}\n{err}");
    assert!(
        out.contains("INSERT 0 1") && out.contains("PostgreSQL 15"),
        "{out}"
    );
    let (ok, out, err) = run(vec!["-c".into(), "\\dt".into()]).await;
    assert!(
        ok && out.contains("prices") && out.contains("table"),
        "{out}\n{err}"
    );
    let (ok, out, err) = run(vec!["-c".into(), "\\d prices".into()]).await;
    assert!(
        ok && out.contains("name") && out.contains("numeric(10,2)") && out.contains("not null"),
        "{out}\n{err}"
    );
    let (ok, out, err) = run(vec![
        "-At".into(),
        "-c".into(),
        "UPDATE prices SET price = 24.99 WHERE id = 1".into(),
        "-c".into(),
        "SET heliosdb.as_of = 'SCN 2'".into(),
        "-c".into(),
        "SELECT price FROM prices WHERE id = 1".into(),
        "-c".into(),
        "RESET heliosdb.as_of".into(),
        "-c".into(),
        "SELECT price FROM prices WHERE id = 1".into(),
    ])
    .await;
    assert!(ok, "{out}\n{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines.contains(&"19.99") && lines.last() == Some(&"24.99"),
        "{out}"
    );
    let (ok, _, err) = run(vec!["-c".into(), "SELECT * FROM nowhere".into()]).await;
    assert!(!ok && err.contains("no such table"), "{err}");
    server.stop().await;
}

/// A cancel request (psql's Ctrl-C) stops the running statement; the session goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_request_stops_the_statement() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(config(dir.path()), Some(PASSWORD)).await;
    let c = connect(server.pg, PASSWORD, "heliosdb").await.unwrap();
    let token = c.cancel_token();
    let canceller = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        token.cancel_query(NoTls).await.unwrap();
    });
    let started = std::time::Instant::now();
    let e = c
        .simple_query(
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c",
        )
        .await
        .unwrap_err();
    canceller.await.unwrap();
    assert_eq!(e.as_db_error().unwrap().code().code(), "57014", "{e}");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(scalar(&c, "SELECT 2").await.unwrap(), "2");
    drop(c);
    server.stop().await;
}

/// A cancel request that finds no statement running does nothing, as in PostgreSQL: the
/// next statement is not cancelled by it. A prepared statement is cancelled too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_request_when_idle_and_for_prepared_statements() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(config(dir.path()), Some(PASSWORD)).await;
    let c = connect(server.pg, PASSWORD, "heliosdb").await.unwrap();
    assert_eq!(scalar(&c, "SELECT 1").await.unwrap(), "1");
    c.cancel_token().cancel_query(NoTls).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(scalar(&c, "SELECT 2").await.unwrap(), "2");
    let forever = c
        .prepare("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c")
        .await
        .unwrap();
    let token = c.cancel_token();
    let canceller = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        token.cancel_query(NoTls).await.unwrap();
    });
    let e = c.query(&forever, &[]).await.unwrap_err();
    canceller.await.unwrap();
    assert_eq!(e.as_db_error().unwrap().code().code(), "57014", "{e}");
    assert_eq!(scalar(&c, "SELECT 3").await.unwrap(), "3");
    drop(c);
    server.stop().await;
}
