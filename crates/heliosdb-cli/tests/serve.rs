//! `heliosdb-lite serve` as a process: it starts from a config file, answers HTTP, exits 0
//! on SIGTERM after a clean shutdown, and a restart serves the same data and history.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Starts the server; returns the child and its HTTP port (read from its start line).
fn start(
    config: &std::path::Path,
    data: &std::path::Path,
) -> (Child, u16, std::thread::JoinHandle<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_heliosdb-lite"))
        .args(["serve", "--config"])
        .arg(config)
        .arg("--data-dir")
        .arg(data)
        .env("HELIOSDB_PASSWORD", "pw")
        .env_remove("HELIOSDB_DATA_DIR")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap());
    let mut first = String::new();
    lines.read_line(&mut first).unwrap();
    let port = first
        .split("http://")
        .nth(1)
        .and_then(|s| s.split([' ', '\n']).next())
        .and_then(|a| a.rsplit(':').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP address in {first:?}"));
    let rest = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = lines.read_to_string(&mut s);
        s
    });
    (child, port, rest)
}

fn post(port: u16, sql: &str) -> (u16, String) {
    let body = serde_json::json!({ "sql": sql }).to_string();
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "POST /v1/query HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer pw\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    (out[9..12].parse().unwrap(), out)
}

fn sigterm(child: &Child) {
    let ok = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok);
}

#[test]
fn serve_stops_cleanly_on_sigterm_and_restarts_with_history() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("heliosdb.toml");
    std::fs::write(
        &config,
        "[server]\nhost = \"127.0.0.1\"\nport = 0\npg_port = 0\n\n[database]\npath = \"app.db\"\n\n\
         [container]\nenable_shutdown_on_signal = true\ngraceful_shutdown_timeout_secs = 5\n",
    )
    .unwrap();
    let data = dir.path().join("data");
    let (mut child, port, rest) = start(&config, &data);
    let (status, out) = post(
        port,
        "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t (v) VALUES ('old')",
    );
    assert_eq!(status, 200, "{out}");
    let (_, out) = post(port, "UPDATE t SET v = 'new' WHERE id = 1");
    assert!(out.contains("\"scn\":3"), "{out}");
    sigterm(&child);
    let code = child.wait().unwrap();
    assert!(code.success(), "{code:?}: {}", rest.join().unwrap());
    assert!(rest.join().unwrap().contains("stopped cleanly"));
    assert!(data.join("app.db").is_dir());

    let (mut child, port, _rest) = start(&config, &data);
    let (status, out) = post(port, "SELECT v FROM t AS OF SCN 2");
    assert_eq!(status, 200, "{out}");
    assert!(out.contains("[[\"old\"]]"), "{out}");
    let (_, out) = post(port, "SELECT v FROM t");
    assert!(out.contains("[[\"new\"]]"), "{out}");
    sigterm(&child);
    assert!(child.wait().unwrap().success());
}
