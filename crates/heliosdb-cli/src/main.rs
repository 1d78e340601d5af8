//! The `heliosdb-lite` command-line shell.
//!
//! ```text
//! heliosdb-lite DB_PATH                 interactive shell
//! heliosdb-lite DB_PATH "SQL; SQL"      run statements and exit
//! echo "SQL;" | heliosdb-lite DB_PATH   run piped statements and exit
//! heliosdb-lite demo [DB_PATH]          the time-travel story
//! heliosdb-lite check DB_PATH           integrity check (never creates anything)
//! heliosdb-lite serve --config FILE [--data-dir DIR]   run as a server (see docs/server.md)
//! heliosdb-lite passwd FILE USER        add a server user, or change its password
//! heliosdb-lite --connect postgresql://USER@HOST:PORT/heliosdb ["SQL"]   the shell, on a server
//! ```

mod demo;
mod import;
mod output;
mod remote;
mod remote_tls;
mod shell;
mod statement_end;

use clap::Parser;
use heliosdb_lite::{Config, Connection};
use output::{Format, Mode};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Embedded SQL database with time travel (AS OF TIMESTAMP / TRANSACTION / SCN).
#[derive(Parser, Debug)]
#[command(
    name = "heliosdb-lite",
    version,
    about,
    after_help = "Subcommands: `demo [DB_PATH]` tells the time-travel story on a fresh database; `check DB_PATH` verifies indexes against tables (read-only); `serve --config FILE [--data-dir DIR]` runs the PostgreSQL-protocol and HTTP server (docs/server.md); `passwd FILE USER` adds a user to the server's users file."
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
    /// Stop a script at the first failing statement (default: report it and go on).
    #[arg(long)]
    bail: bool,
    /// Open the database read-only: nothing is ever written, and write statements fail.
    #[arg(long)]
    readonly: bool,
    /// With `serve`: the directory that holds the database (as `HELIOSDB_DATA_DIR`).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Run the shell against a server instead of a local database
    /// (`postgresql://USER[:PASSWORD]@HOST:PORT/heliosdb`; `PGPASSWORD` works too).
    #[arg(long, value_name = "URL")]
    connect: Option<String>,
    /// The user name of `passwd FILE USER` (no other command takes a third argument).
    #[arg(hide = true)]
    extra: Option<String>,
}

/// sqlite3 spells its options with one dash (`-bail`, `-csv`); accept those spellings too.
fn normalize_args(args: impl Iterator<Item = String>) -> Vec<String> {
    const LONG: &[&str] = &[
        "-bail",
        "-readonly",
        "-csv",
        "-json",
        "-line",
        "-table",
        "-config",
        "-help",
        "-version",
    ];
    args.map(|a| {
        if LONG.contains(&a.as_str()) {
            format!("-{a}")
        } else {
            a
        }
    })
    .collect()
}

/// True for text that is certainly a statement and not a database path: it has a `;`, or
/// starts with an SQL keyword followed by more words. A directory by that name that already
/// exists is still opened.
fn looks_like_sql(s: &str) -> bool {
    const KEYWORDS: &[&str] = &[
        "select",
        "insert",
        "update",
        "delete",
        "create",
        "drop",
        "alter",
        "with",
        "begin",
        "commit",
        "rollback",
        "end",
        "pragma",
        "explain",
        "values",
        "vacuum",
        "replace",
        "analyze",
        "reindex",
        "savepoint",
        "release",
        "attach",
        "detach",
    ];
    if Path::new(s).exists() {
        return false;
    }
    let t = s.trim_start();
    let first: String = t
        .chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect::<String>()
        .to_ascii_lowercase();
    let rest = &t[first.len()..];
    t.contains(';')
        || (KEYWORDS.contains(&first.as_str())
            && rest
                .chars()
                .next()
                .is_some_and(|c| c.is_whitespace() || c == '(' || c == '*'))
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
    let mut args = Args::parse_from(normalize_args(std::env::args()));
    match args.db.as_deref() {
        Some("demo") => {
            return match demo::run(args.sql.map(PathBuf::from)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    shell::report(&format!("Error: {e}"));
                    ExitCode::FAILURE
                }
            }
        }
        Some("check") => return check(args.sql.as_deref()),
        Some("serve") => return serve(&args),
        Some("passwd") => return passwd(args.sql.as_deref(), args.extra.as_deref()),
        _ => {}
    }
    if let Some(url) = args.connect.clone() {
        return connect(url, args);
    }
    if let Some(extra) = &args.extra {
        shell::report(&format!(
            "Error: unexpected argument {}; give the SQL as one argument (quote it)",
            shell::clip(&format!("\"{extra}\""), 40)
        ));
        return ExitCode::from(2);
    }
    if let Some(db) = args.db.clone().filter(|d| looks_like_sql(d)) {
        if args.config.is_some() && args.sql.is_none() {
            // `--config f.toml "SELECT ..."`: the file names the database; this is the SQL.
            args.sql = Some(db);
            args.db = None;
        } else {
            shell::report(&format!(
                "Error: {} looks like SQL, not a database path; give the database first: \
                 heliosdb-lite DB_PATH \"SQL\" (DB_PATH may be :memory:)",
                shell::clip(&format!("\"{db}\""), 60)
            ));
            return ExitCode::from(2);
        }
    }
    let mut config = match &args.config {
        Some(f) => match Config::from_file(f) {
            Ok(c) => c,
            Err(e) => {
                shell::report(&format!("Error: {e}"));
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
    let opened = if args.readonly {
        Connection::open_read_only(config)
    } else {
        Connection::open(config)
    };
    let conn = match opened {
        Ok(c) => c,
        Err(e) => {
            shell::report(&format!("Error: cannot open database: {e}"));
            return ExitCode::from(2);
        }
    };
    let stdin_tty = std::io::stdin().is_terminal();
    let interactive = args.sql.is_none() && stdin_tty;
    let mut shell = shell::Shell::new(conn, output_format(&args), interactive);
    shell.bail = args.bail;
    shell.install_interrupt_handler();
    let outcome = match args.sql {
        // Like sqlite3, SQL given on the command line stops at its first error.
        Some(sql) => {
            shell.bail = true;
            shell.run_chunk(&sql, None)
        }
        None if !stdin_tty => shell.run_script(&mut std::io::stdin().lock(), None),
        None => {
            shell.interactive();
            Ok(())
        }
    };
    // A reader that went away (`| head`) is not a failure of ours; a full disk is, and was
    // counted when reported.
    let _ = outcome;
    if shell.failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// `serve --config FILE [--data-dir DIR]`: the server (`heliosdb-server`) until SIGTERM.
fn serve(args: &Args) -> ExitCode {
    if let Some(extra) = &args.sql {
        shell::report(&format!(
            "Error: serve takes no SQL ({}); usage: heliosdb-lite serve --config FILE [--data-dir DIR]",
            shell::clip(extra, 40)
        ));
        return ExitCode::from(2);
    }
    let mut config = match &args.config {
        Some(f) => match Config::from_file(f) {
            Ok(c) => c,
            Err(e) => {
                shell::report(&format!("Error: {e}"));
                return ExitCode::from(2);
            }
        },
        None => {
            let mut c = Config::default();
            c.apply_env();
            c
        }
    };
    if let Some(dir) = &args.data_dir {
        // As HELIOSDB_DATA_DIR: the file's database name, in this directory.
        let name = config
            .database
            .path
            .as_ref()
            .filter(|p| p.as_os_str() != ":memory:")
            .and_then(|p| p.file_name().map(|n| n.to_owned()))
            .unwrap_or_else(|| "heliosdb.db".into());
        config.database.path = Some(dir.join(name));
    }
    init_logging(&config);
    match heliosdb_server::serve(config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            shell::report(&format!("Error: {e}"));
            ExitCode::from(2)
        }
    }
}

/// The output mode the options and the terminal ask for.
fn output_format(args: &Args) -> Format {
    let mode = if args.csv {
        Mode::Csv
    } else if args.json {
        Mode::Json
    } else if args.line {
        Mode::Line
    } else if args.table || std::io::stdout().is_terminal() {
        Mode::Table
    } else {
        Mode::List
    };
    Format {
        mode,
        headers: !matches!(mode, Mode::List),
    }
}

/// `--connect URL ["SQL"]`: the shell as a client of a server. The SQL comes as the one
/// argument (no database path is given with `--connect`), from a pipe, or interactively.
fn connect(url: String, args: Args) -> ExitCode {
    if args.config.is_some() || args.readonly || args.data_dir.is_some() || args.extra.is_some() {
        shell::report(
            "Error: --connect takes only the URL, output options, --bail and SQL;              --config, --readonly and --data-dir are for a local database",
        );
        return ExitCode::from(2);
    }
    let format = output_format(&args);
    // `--connect URL "SELECT ..."`: the first positional argument is the SQL.
    let sql = match (args.db, args.sql) {
        (Some(sql), None) => Some(sql),
        (None, None) => None,
        (Some(_), Some(_)) | (None, Some(_)) => {
            shell::report("Error: with --connect give no database path, only the SQL");
            return ExitCode::from(2);
        }
    };
    let mut remote = match remote::connect(&url, format) {
        Ok(r) => r,
        Err(e) => {
            shell::report(&format!("Error: cannot connect: {e}"));
            return ExitCode::from(2);
        }
    };
    remote.bail = args.bail;
    let _ = match sql {
        Some(sql) => {
            remote.bail = true;
            remote.run_chunk(&sql, None)
        }
        None if !std::io::stdin().is_terminal() => remote.run_script(&mut std::io::stdin().lock()),
        None => {
            remote.interactive(&url);
            Ok(())
        }
    };
    if remote.failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// `passwd FILE USER`: adds USER to the server's users file with a password read from the
/// terminal (asked twice, not echoed) or from standard input (one line), or changes the
/// password of a user already there. Only the SCRAM-SHA-256 verifier is written.
fn passwd(file: Option<&str>, user: Option<&str>) -> ExitCode {
    let (Some(file), Some(user)) = (file, user) else {
        shell::report("Error: usage: heliosdb-lite passwd FILE USER (the password is read from the terminal or stdin)");
        return ExitCode::from(2);
    };
    let password = if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password(format!("Password for {user}: "));
        let second = rpassword::prompt_password("Again: ");
        match (first, second) {
            (Ok(a), Ok(b)) if a == b => a,
            (Ok(_), Ok(_)) => {
                shell::report("Error: the passwords differ; nothing changed");
                return ExitCode::FAILURE;
            }
            (Err(e), _) | (_, Err(e)) => {
                shell::report(&format!("Error: cannot read the password: {e}"));
                return ExitCode::FAILURE;
            }
        }
    } else {
        let mut line = String::new();
        if let Err(e) = std::io::stdin().read_line(&mut line) {
            shell::report(&format!("Error: cannot read the password from stdin: {e}"));
            return ExitCode::FAILURE;
        }
        line.trim_end_matches(['\n', '\r']).to_string()
    };
    match heliosdb_server::users::set_password(Path::new(file), user, &password) {
        Ok(()) => {
            shell::report(&format!("user {user} set in {file}"));
            ExitCode::SUCCESS
        }
        Err(e) => {
            shell::report(&format!("Error: {e}"));
            ExitCode::FAILURE
        }
    }
}

/// `check DB_PATH`: opens read-only, so checking a path that holds no database never
/// creates one.
fn check(db: Option<&str>) -> ExitCode {
    let Some(db) = db else {
        shell::report("Error: usage: heliosdb-lite check DB_PATH");
        return ExitCode::from(2);
    };
    let conn = match Connection::open_read_only(db) {
        Ok(c) => c,
        Err(e) => {
            shell::report(&format!("Error: cannot open database: {e}"));
            return ExitCode::from(2);
        }
    };
    match conn
        .prepare("PRAGMA integrity_check")
        .and_then(|mut s| s.query([])?.into_values())
    {
        Ok(v) => {
            let ok = v.len() == 1 && v[0][0] == heliosdb_lite::types::Value::from("ok");
            let text: String = v.iter().map(|r| format!("{}\n", r[0])).collect();
            shell::write_out(text.as_bytes());
            if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            shell::report(&format!("Error: {e}"));
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sql_is_told_from_paths() {
        assert!(looks_like_sql("SELECT 1"));
        assert!(looks_like_sql("select * from t"));
        assert!(looks_like_sql("CREATE TABLE t(a)"));
        assert!(looks_like_sql("x; y"));
        assert!(!looks_like_sql("mydb"));
        assert!(!looks_like_sql("select"));
        assert!(!looks_like_sql("/tmp/selection data"));
        assert!(!looks_like_sql(":memory:"));
    }

    #[test]
    fn single_dash_long_options() {
        let v = normalize_args(
            ["x", "-bail", "-csv", "-b", "db"]
                .into_iter()
                .map(String::from),
        );
        assert_eq!(v, ["x", "--bail", "--csv", "-b", "db"]);
    }
}
