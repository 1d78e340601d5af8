//! The `heliosdb-lite` command-line shell.
//!
//! ```text
//! heliosdb-lite DB_PATH                 interactive shell
//! heliosdb-lite DB_PATH "SQL; SQL"      run statements and exit
//! echo "SQL;" | heliosdb-lite DB_PATH   run piped statements and exit
//! heliosdb-lite demo [DB_PATH]          the time-travel story
//! ```

mod demo;
mod import;
mod output;
mod shell;

use clap::Parser;
use heliosdb_lite::{Config, Connection};
use output::{Format, Mode};
use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::process::ExitCode;

/// Embedded SQL database with time travel (AS OF TIMESTAMP / TRANSACTION / SCN).
#[derive(Parser, Debug)]
#[command(
    name = "heliosdb-lite",
    version,
    about,
    after_help = "Subcommands: `demo [DB_PATH]` tells the time-travel story on a fresh database; `check DB_PATH` verifies indexes against tables."
)]
struct Args {
    /// Database directory (`:memory:` for an in-memory database), or `demo` / `check`.
    db: Option<String>,
    /// SQL to run (statements separated by `;`); read from stdin when piped.
    sql: Option<String>,
    /// Print results as aligned tables (default on a terminal).
    #[arg(long, group = "mode")]
    table: bool,
    /// Print results as CSV with a header row.
    #[arg(long, group = "mode")]
    csv: bool,
    /// Print each result as a JSON array of objects.
    #[arg(long, group = "mode")]
    json: bool,
    /// Print one `column = value` line per value.
    #[arg(long, group = "mode")]
    line: bool,
    /// Read settings from a heliosdb.toml file.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

/// Logging through `tracing`: `RUST_LOG` overrides `[logging] level`. `output = "stdout"`
/// writes to standard output; `stderr` and `syslog` write to standard error, where service
/// managers (systemd-journald, container runtimes) collect it into the system log.
fn init_logging(config: &Config) {
    let filter = std::env::var("RUST_LOG").unwrap_or_else(|_| config.logging.level.clone());
    let builder =
        tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::new(filter));
    let _ = if config.logging.output == "stdout" {
        builder.with_writer(std::io::stdout).try_init()
    } else {
        builder.with_writer(std::io::stderr).try_init()
    };
}

fn main() -> ExitCode {
    let args = Args::parse();
    match args.db.as_deref() {
        Some("demo") => {
            return match demo::run(args.sql.map(PathBuf::from)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("Error: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Some("check") => return check(args.sql.as_deref()),
        _ => {}
    }
    let mut config = match &args.config {
        Some(f) => match Config::from_file(f) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("Error: {e}");
                return ExitCode::from(2);
            }
        },
        None => Config::default(),
    };
    if let Some(db) = &args.db {
        config.database.path = Some(PathBuf::from(db));
    } else if config.database.path.is_none() {
        config.database.path = Some(PathBuf::from(":memory:"));
    }
    init_logging(&config);
    let conn = match Connection::open(config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("Error: cannot open database: {e}");
            return ExitCode::from(2);
        }
    };
    let stdin_tty = std::io::stdin().is_terminal();
    let stdout_tty = std::io::stdout().is_terminal();
    let mode = if args.csv {
        Mode::Csv
    } else if args.json {
        Mode::Json
    } else if args.line {
        Mode::Line
    } else if args.table || stdout_tty {
        Mode::Table
    } else {
        Mode::List
    };
    let headers = !matches!(mode, Mode::List);
    let mut shell = shell::Shell {
        conn,
        format: Format { mode, headers },
        timer: false,
        interactive: false,
    };
    let text = match args.sql {
        Some(sql) => Some(sql),
        None if !stdin_tty => {
            let mut s = String::new();
            if let Err(e) = std::io::stdin().read_to_string(&mut s) {
                eprintln!("Error: cannot read standard input: {e}");
                return ExitCode::FAILURE;
            }
            Some(s)
        }
        None => None,
    };
    match text {
        Some(t) => match shell.run_text(&t) {
            Ok(_) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("{e}");
                ExitCode::FAILURE
            }
        },
        None => {
            shell.interactive = true;
            shell.interactive();
            ExitCode::SUCCESS
        }
    }
}

fn check(db: Option<&str>) -> ExitCode {
    let Some(db) = db else {
        eprintln!("Error: usage: heliosdb-lite check DB_PATH");
        return ExitCode::from(2);
    };
    let conn = match Connection::open(db) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("Error: cannot open database: {e}");
            return ExitCode::from(2);
        }
    };
    match conn
        .prepare("PRAGMA integrity_check")
        .and_then(|mut s| s.query([])?.into_values())
    {
        Ok(v) => {
            let ok = v.len() == 1 && v[0][0] == heliosdb_lite::types::Value::from("ok");
            for r in &v {
                println!("{}", r[0]);
            }
            if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("Error: {e}");
            ExitCode::FAILURE
        }
    }
}
