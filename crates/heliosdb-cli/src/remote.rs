//! The shell as a client of a server (`heliosdb-lite --connect postgresql://...`): the same
//! statement reading, output modes and dot commands as the local shell where they make
//! sense over the PostgreSQL protocol; the commands that need the database files
//! (`.import`, `.gc`, `.indexes`) say so. Statements go over the simple query protocol,
//! so several statements in one chunk run in order, and values arrive as text. TLS follows
//! the URL's `sslmode` / `sslrootcert` as libpq does ([`crate::remote_tls`]).

use crate::output::{self, Format, Mode};
use crate::remote_tls;
use crate::shell::{clip, report, write_out, Stop};
use crate::statement_end::StatementEnd;
use heliosdb_lite::types::Value;
use postgres::{Client, NoTls, SimpleQueryMessage};
use std::io::{BufRead, Write};
use std::time::Instant;

const HELP: &str = "\
Connected to a server: statements run there, in this session's own transaction.
.bail on|off            Stop a script at the first error (default off)
.tables                 List tables and views
.schema [TABLE]         Show the columns of each table
.snapshots [N]          Recent snapshots: SCN, transaction id, commit time (default 10)
.mode MODE              Output mode: table, csv, json, line or list
.headers on|off         Show column names
.timer on|off           Show how long each statement takes
.read FILE              Run the SQL in FILE
.help                   This help
.quit / .exit           Leave
(.import, .indexes and .gc need the database itself: run them where it is opened.)
Time travel: SELECT ... FROM t AS OF SCN 1000, or SET heliosdb.as_of = 'SCN 1000'";

/// A shell connected to a server.
pub struct Remote {
    client: Client,
    /// Output settings.
    pub format: Format,
    /// Print statement timings.
    pub timer: bool,
    /// Stop at the first failing statement.
    pub bail: bool,
    /// Some statement or command failed: the exit status is non-zero.
    pub failed: bool,
}

/// Connects to `url` (`postgresql://user:password@host:port/heliosdb`; the password may
/// also come from `PGPASSWORD`, or is asked for on a terminal when the server wants one).
pub fn connect(url: &str, format: Format) -> Result<Remote, String> {
    let (rest, tls) = remote_tls::split(url)?;
    let mut config: postgres::Config = rest
        .parse()
        .map_err(|e| format!("{} is not a usable connection URL: {e}", clip(url, 80)))?;
    config.ssl_mode(tls.driver_mode());
    if config.get_password().is_none() {
        if let Ok(p) = std::env::var("PGPASSWORD") {
            config.password(p);
        }
    }
    let tls_config = tls.client_config()?;
    let open = |config: &postgres::Config| match &tls_config {
        None => config.connect(NoTls),
        Some(c) => config.connect(tokio_postgres_rustls::MakeRustlsConnect::new(c.clone())),
    };
    let client = match open(&config) {
        Ok(c) => c,
        Err(e) if needs_password(&e) && std::io::IsTerminal::is_terminal(&std::io::stdin()) => {
            let p = rpassword::prompt_password("Password: ")
                .map_err(|e| format!("cannot read the password: {e}"))?;
            config.password(p);
            open(&config).map_err(|e| describe(&e))?
        }
        Err(e) => return Err(describe(&e)),
    };
    Ok(Remote {
        client,
        format,
        timer: false,
        bail: false,
        failed: false,
    })
}

fn needs_password(e: &postgres::Error) -> bool {
    e.to_string().contains("password missing")
}

/// An error as the server put it, with its SQLSTATE.
fn describe(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} (SQLSTATE {})", db.message(), db.code().code()),
        None => {
            // The driver's own text is generic ("error performing TLS handshake"): the
            // causes below it say what went wrong (a certificate not trusted, a name that
            // does not match, a refused connection).
            let mut text = e.to_string();
            let mut cause = std::error::Error::source(e);
            while let Some(c) = cause {
                text.push_str(": ");
                text.push_str(&c.to_string());
                cause = c.source();
            }
            text
        }
    }
}

impl Remote {
    fn fail(&mut self, msg: &str, line: Option<usize>) -> Result<(), Stop> {
        self.failed = true;
        match line {
            Some(l) => report(&format!("Error: near line {l}: {msg}")),
            None => report(&format!("Error: {msg}")),
        }
        if self.bail {
            Err(Stop::Bail)
        } else {
            Ok(())
        }
    }

    /// Runs the statements of `sql`, printing each result; the first error ends the chunk.
    pub fn run_chunk(&mut self, sql: &str, line: Option<usize>) -> Result<(), Stop> {
        let started = Instant::now();
        let messages = match self.client.simple_query(sql) {
            Ok(m) => m,
            Err(e) => return self.fail(&describe(&e), line),
        };
        let mut columns: Vec<String> = Vec::new();
        let mut rows: Vec<Vec<Value>> = Vec::new();
        for m in messages {
            match m {
                SimpleQueryMessage::RowDescription(cols) => {
                    columns = cols.iter().map(|c| c.name().to_string()).collect();
                }
                SimpleQueryMessage::Row(r) => {
                    if columns.is_empty() {
                        columns = r.columns().iter().map(|c| c.name().to_string()).collect();
                    }
                    rows.push(
                        (0..r.len())
                            .map(|i| r.get(i).map_or(Value::Null, |t| Value::Text(t.into())))
                            .collect(),
                    );
                }
                SimpleQueryMessage::CommandComplete(_) => {
                    if !columns.is_empty() {
                        self.print(&columns, &rows)?;
                    }
                    columns.clear();
                    rows.clear();
                }
                _ => {}
            }
        }
        if self.timer {
            let ms = started.elapsed().as_secs_f64() * 1000.0;
            self.write(format!("Run Time: {ms:.3} ms\n").as_bytes())?;
        }
        Ok(())
    }

    fn write(&self, bytes: &[u8]) -> Result<(), Stop> {
        let mut out = std::io::stdout().lock();
        out.write_all(bytes)
            .and_then(|()| out.flush())
            .map_err(|_| Stop::OutputClosed)
    }

    fn print(&self, columns: &[String], rows: &[Vec<Value>]) -> Result<(), Stop> {
        let mut out = std::io::stdout().lock();
        output::print(&mut out, self.format, columns, rows)
            .and_then(|()| out.flush())
            .map_err(|_| Stop::OutputClosed)
    }

    /// Runs a script: dot commands on their own lines, SQL elsewhere, cut into chunks at
    /// lines that complete a statement.
    pub fn run_script(&mut self, input: &mut dyn BufRead) -> Result<(), Stop> {
        let mut buf = String::new();
        // Where the statements collected in `buf` end, scanned one line at a time.
        let mut end = StatementEnd::default();
        let mut start = 0;
        for (i, line) in input.lines().enumerate() {
            let line = match line {
                Ok(l) => l,
                Err(e) => return self.fail(&format!("cannot read the script: {e}"), Some(i + 1)),
            };
            if buf.trim().is_empty() && line.trim_start().starts_with('.') {
                buf.clear();
                end = StatementEnd::default();
                match self.dot(line.trim()) {
                    Ok(()) => {}
                    Err(DotOutcome::Stop(s)) => return Err(s),
                    Err(DotOutcome::Failed(m)) => self.fail(&m, Some(i + 1))?,
                }
                continue;
            }
            if buf.trim().is_empty() {
                buf.clear();
                end = StatementEnd::default();
                start = i + 1;
            }
            buf.push_str(&line);
            buf.push('\n');
            end.feed(&line);
            end.feed("\n");
            if end.complete() {
                self.run_chunk(&buf, Some(start))?;
                buf.clear();
                end = StatementEnd::default();
            }
        }
        if !buf.trim().is_empty() {
            self.run_chunk(&buf, Some(start))?;
        }
        Ok(())
    }

    fn rows(&mut self, sql: &str) -> Result<(Vec<String>, Vec<Vec<Value>>), DotOutcome> {
        let messages = self
            .client
            .simple_query(sql)
            .map_err(|e| DotOutcome::Failed(describe(&e)))?;
        let mut columns = Vec::new();
        let mut rows = Vec::new();
        for m in messages {
            match m {
                SimpleQueryMessage::RowDescription(cols) => {
                    columns = cols.iter().map(|c| c.name().to_string()).collect();
                }
                SimpleQueryMessage::Row(r) => rows.push(
                    (0..r.len())
                        .map(|i| r.get(i).map_or(Value::Null, |t| Value::Text(t.into())))
                        .collect(),
                ),
                _ => {}
            }
        }
        Ok((columns, rows))
    }

    /// Runs one dot command.
    pub fn dot(&mut self, line: &str) -> Result<(), DotOutcome> {
        let mut parts = line.split_whitespace();
        let cmd = parts.next().unwrap_or("");
        let args: Vec<&str> = parts.collect();
        let on_off = |a: Option<&&str>| match a.copied() {
            Some("on" | "1" | "yes") => Ok(true),
            Some("off" | "0" | "no") => Ok(false),
            _ => Err(DotOutcome::Failed(format!("{cmd} needs on or off"))),
        };
        let quote = |s: &str| format!("'{}'", s.replace('\'', "''"));
        match cmd {
            ".quit" | ".exit" | ".q" => return Err(DotOutcome::Stop(Stop::Quit)),
            ".help" => write_out(format!("{HELP}\n").as_bytes()),
            ".bail" => self.bail = on_off(args.first())?,
            ".timer" => self.timer = on_off(args.first())?,
            ".headers" | ".header" => self.format.headers = on_off(args.first())?,
            ".mode" => {
                self.format.mode = args.first().and_then(|m| Mode::parse(m)).ok_or_else(|| {
                    DotOutcome::Failed(".mode needs one of table, csv, json, line, list".into())
                })?;
            }
            ".tables" => {
                let (cols, rows) = self.rows("SELECT * FROM information_schema.tables")?;
                let (_, rows) = project(&cols, rows, &["table_name"]);
                let names: Vec<String> = rows.iter().map(|r| text(&r[0])).collect();
                write_out(format!("{}\n", names.join("  ")).as_bytes());
            }
            ".schema" => {
                let filter = args
                    .first()
                    .map(|t| format!(" WHERE table_name = {}", quote(t)))
                    .unwrap_or_default();
                let (cols, rows) =
                    self.rows(&format!("SELECT * FROM information_schema.columns{filter}"))?;
                let (cols, rows) = project(
                    &cols,
                    rows,
                    &["table_name", "column_name", "data_type", "is_nullable"],
                );
                self.print(&cols, &rows).map_err(DotOutcome::Stop)?;
            }
            ".snapshots" => {
                let n: u64 = match args.first() {
                    Some(a) => a.parse().map_err(|_| {
                        DotOutcome::Failed(format!(
                            ".snapshots needs a number, got {}",
                            clip(a, 40)
                        ))
                    })?,
                    None => 10,
                };
                let (cols, rows) = self.rows(&format!(
                    "SELECT scn, txn_id, committed_at FROM helios_snapshots \
                     ORDER BY scn DESC LIMIT {n}"
                ))?;
                self.print(&cols, &rows).map_err(DotOutcome::Stop)?;
            }
            ".read" => {
                let f = *args
                    .first()
                    .ok_or_else(|| DotOutcome::Failed(".read needs a file name".into()))?;
                let file = std::fs::File::open(f)
                    .map_err(|e| DotOutcome::Failed(format!("cannot read {f}: {e}")))?;
                return self
                    .run_script(&mut std::io::BufReader::new(file))
                    .map_err(DotOutcome::Stop);
            }
            ".import" | ".indexes" | ".indices" | ".gc" | ".backup" | ".save" => {
                return Err(DotOutcome::Failed(format!(
                    "{cmd} needs the database itself, not a connection to a server: run \
                     heliosdb-lite DB_PATH where the database is (with the server stopped, or \
                     use SQL over the connection)"
                )))
            }
            other => {
                return Err(DotOutcome::Failed(format!(
                    "unknown command {}; try .help",
                    clip(other, 40)
                )))
            }
        }
        Ok(())
    }

    /// The interactive loop (line editing; history is the local shell's).
    pub fn interactive(&mut self, url: &str) {
        let mut rl = match rustyline::DefaultEditor::new() {
            Ok(r) => r,
            Err(e) => {
                report(&format!("Error: cannot start line editor: {e}"));
                return;
            }
        };
        write_out(
            format!(
                "HeliosDB-Lite {} connected to {}. Enter .help for help; statements end with ';'.\n",
                env!("CARGO_PKG_VERSION"),
                redact(url)
            )
            .as_bytes(),
        );
        let mut buf = String::new();
        // Where the statements collected in `buf` end, scanned one line at a time.
        let mut end = StatementEnd::default();
        loop {
            let prompt = if buf.is_empty() {
                "heliosdb=> "
            } else {
                "      ..> "
            };
            match rl.readline(prompt) {
                Ok(line) => {
                    if buf.is_empty() && line.trim_start().starts_with('.') {
                        let _ = rl.add_history_entry(line.as_str());
                        match self.dot(line.trim()) {
                            Ok(()) => {}
                            Err(DotOutcome::Stop(Stop::Quit | Stop::OutputClosed)) => break,
                            Err(DotOutcome::Stop(Stop::Bail)) => {}
                            Err(DotOutcome::Failed(m)) => {
                                let _ = self.fail(&m, None);
                            }
                        }
                        continue;
                    }
                    buf.push_str(&line);
                    buf.push('\n');
                    end.feed(&line);
                    end.feed("\n");
                    if end.complete() {
                        let _ = rl.add_history_entry(buf.trim());
                        let r = self.run_chunk(&buf, None);
                        buf.clear();
                        end = StatementEnd::default();
                        if r == Err(Stop::OutputClosed) {
                            break;
                        }
                    }
                }
                Err(rustyline::error::ReadlineError::Interrupted) => {
                    buf.clear();
                    end = StatementEnd::default();
                }
                Err(_) => break,
            }
        }
    }
}

/// The named columns of a result, in the order named (the server's catalog answers
/// return every column whatever the query selects).
fn project(
    columns: &[String],
    rows: Vec<Vec<Value>>,
    names: &[&str],
) -> (Vec<String>, Vec<Vec<Value>>) {
    let picks: Vec<usize> = names
        .iter()
        .filter_map(|n| columns.iter().position(|c| c == n))
        .collect();
    let rows = rows
        .into_iter()
        .map(|r| {
            picks
                .iter()
                .map(|&i| r.get(i).cloned().unwrap_or(Value::Null))
                .collect()
        })
        .collect();
    (picks.iter().map(|&i| columns[i].clone()).collect(), rows)
}

fn text(v: &Value) -> String {
    match v {
        Value::Text(t) => t.clone(),
        other => other.to_string(),
    }
}

/// The URL without its password, for the banner.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}{user}{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_string(),
    }
}

/// How a dot command went wrong.
#[derive(Debug)]
pub enum DotOutcome {
    /// It failed; the message says why.
    Failed(String),
    /// It stops the run.
    Stop(Stop),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn banner_hides_the_password() {
        assert_eq!(
            redact("postgresql://alice:s3cret@db:5432/heliosdb"),
            "postgresql://alice@db:5432/heliosdb"
        );
        assert_eq!(
            redact("postgresql://db/heliosdb"),
            "postgresql://db/heliosdb"
        );
    }
}
