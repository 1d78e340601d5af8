//! `passwd FILE USER` and `--connect URL`: a user added from standard input logs in to a
//! `serve` process, and the shell runs statements and dot commands on it.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

fn heliosdb() -> Command {
    Command::new(env!("CARGO_BIN_EXE_heliosdb-lite"))
}

#[test]
fn passwd_then_connect() {
    let dir = tempfile::tempdir().unwrap();
    let users = dir.path().join("users");
    let mut passwd = heliosdb()
        .arg("passwd")
        .arg(&users)
        .arg("alice")
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    passwd
        .stdin
        .take()
        .unwrap()
        .write_all(b"alice pw\n")
        .unwrap();
    assert!(passwd.wait_with_output().unwrap().status.success());
    let text = std::fs::read_to_string(&users).unwrap();
    assert!(text.contains("alice:SCRAM-SHA-256$4096:") && !text.contains("alice pw"));

    let config = dir.path().join("c.toml");
    std::fs::write(
        &config,
        format!(
            "[database]\npath = {:?}\n[server]\nhost = \"127.0.0.1\"\nport = 0\npg_port = 0\nusers_file = {:?}\n",
            dir.path().join("db"),
            users
        ),
    )
    .unwrap();
    let mut server = heliosdb()
        .args(["serve", "--config"])
        .arg(&config)
        .env_remove("HELIOSDB_PASSWORD")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    // Kept open to the end: the server reports its clean stop there.
    let mut server_err = BufReader::new(server.stderr.take().unwrap());
    server_err.read_line(&mut first).unwrap();
    let port = first
        .split("127.0.0.1:")
        .nth(1)
        .and_then(|s| s.split('/').next())
        .unwrap()
        .to_string();
    let url = format!("postgresql://alice@127.0.0.1:{port}/heliosdb");
    let run = |password: &str, args: &[&str], stdin: &str| {
        let mut c = heliosdb()
            .arg("--connect")
            .arg(&url)
            .args(args)
            .env("PGPASSWORD", password)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        c.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
        let out = c.wait_with_output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let (code, out, err) = run(
        "alice pw",
        &["CREATE TABLE t (a INTEGER, b TEXT); INSERT INTO t VALUES (1, 'x'); SELECT * FROM t"],
        "",
    );
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(out, "1|x\n");
    let (code, out, err) = run("alice pw", &["--csv"], ".tables\n.gc\nSELECT b FROM t;\n");
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(out.starts_with("t\n") && out.ends_with("b\nx\n"), "{out}");
    assert!(err.contains(".gc needs the database itself"), "{err}");
    let (code, _, err) = run("wrong", &["SELECT 1"], "");
    assert_eq!(code, Some(2));
    assert!(err.contains("28P01"), "{err}");
    let _ = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status();
    assert!(server.wait().unwrap().success());
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut server_err, &mut rest).unwrap();
    assert!(rest.contains("stopped cleanly"), "{rest}");
}

/// A certificate for `localhost` and `127.0.0.1` made by rcgen: (cert.pem, key.pem) in `dir`.
fn certificate(dir: &std::path::Path, name: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let made =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string(), "127.0.0.1".to_string()])
            .unwrap();
    let cert = dir.join(format!("{name}-cert.pem"));
    let key = dir.join(format!("{name}-key.pem"));
    std::fs::write(&cert, made.cert.pem()).unwrap();
    std::fs::write(&key, made.signing_key.serialize_pem()).unwrap();
    (cert, key)
}

#[test]
fn connect_over_tls_follows_sslmode() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = certificate(dir.path(), "server");
    let (other_ca, _) = certificate(dir.path(), "other");
    let config = dir.path().join("c.toml");
    std::fs::write(
        &config,
        format!(
            "[database]\npath = {:?}\n[server]\nhost = \"127.0.0.1\"\nport = 0\npg_port = 0\n\
             tls_cert = {:?}\ntls_key = {:?}\n",
            dir.path().join("db"),
            cert,
            key
        ),
    )
    .unwrap();
    let mut server = heliosdb()
        .args(["serve", "--config"])
        .arg(&config)
        .env("HELIOSDB_PASSWORD", "pw")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut server_err = BufReader::new(server.stderr.take().unwrap());
    let mut first = String::new();
    server_err.read_line(&mut first).unwrap();
    let port = first
        .split("127.0.0.1:")
        .nth(1)
        .and_then(|s| s.split('/').next())
        .unwrap()
        .to_string();
    let run = |query: &str| {
        let out = heliosdb()
            .arg("--connect")
            .arg(format!(
                // The address the server listens on, not `localhost`: that name may resolve
                // to ::1 first, where another process may hold the same port number.
                "postgresql://heliosdb:pw@127.0.0.1:{port}/heliosdb?{query}"
            ))
            .arg("SELECT 40 + 2")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let root = |p: &std::path::Path| p.to_str().unwrap().replace('/', "%2F");
    // The certificate checked against its own root and the host name.
    let (code, out, err) = run(&format!("sslmode=verify-full&sslrootcert={}", root(&cert)));
    assert_eq!((code, out.as_str()), (Some(0), "42\n"), "{err}");
    // Encrypted without checking, as libpq's require.
    let (code, out, err) = run("sslmode=require");
    assert_eq!((code, out.as_str()), (Some(0), "42\n"), "{err}");
    // A root that did not sign the server's certificate: refused before any password.
    let (code, _, err) = run(&format!(
        "sslmode=verify-ca&sslrootcert={}",
        root(&other_ca)
    ));
    assert_eq!(code, Some(2), "{err}");
    assert!(err.to_lowercase().contains("certificate"), "{err}");
    let (code, _, err) = run("sslmode=verify-full&sslrootcert=%2Fnonexistent.pem");
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("cannot read root certificates"), "{err}");
    let (code, _, err) = run("sslmode=sometimes");
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("invalid sslmode"), "{err}");
    let _ = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status();
    assert!(server.wait().unwrap().success());
}
