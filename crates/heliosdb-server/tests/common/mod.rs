//! What the server's end-to-end tests share: a server on free loopback ports, stopped on
//! request.

#![allow(dead_code)]

use heliosdb_lite::Config;
use heliosdb_server::{Auth, Server};
use std::net::SocketAddr;
use std::path::Path;

/// A running server.
pub struct Running {
    pub pg: SocketAddr,
    pub http: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<Result<(), heliosdb_server::ServeError>>>,
}

impl Running {
    /// Shuts the server down and waits until it has.
    pub async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        self.task.take().unwrap().await.unwrap().unwrap();
    }
}

/// A configuration for a database in `dir`, on free loopback ports.
pub fn config(dir: &Path) -> Config {
    let mut c = Config::with_path(dir.join("db"));
    c.server.host = "127.0.0.1".into();
    c.server.port = 0;
    c.server.pg_port = 0;
    c.container.graceful_shutdown_timeout_secs = 5;
    c
}

/// Starts a server with `auth`.
pub async fn start(config: Config, auth: Auth) -> Running {
    let server = Server::bind(&config, auth).await.unwrap();
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

/// A tokio-postgres client without TLS.
pub async fn connect(
    addr: SocketAddr,
    user: &str,
    password: &str,
) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
    let (client, conn) = tokio_postgres::connect(
        &format!(
            "host=127.0.0.1 port={} user={user} password='{}' dbname=heliosdb",
            addr.port(),
            password.replace('\'', "\\'")
        ),
        tokio_postgres::NoTls,
    )
    .await?;
    tokio::spawn(conn);
    Ok(client)
}
