//! The shell: runs SQL and dot commands, interactively or from a script.
//!
//! Scripts (piped standard input, `.read FILE`) run as sqlite3 runs them: text is cut into
//! chunks at lines that complete a statement; a failing chunk is reported with its line
//! number and the rest of the script still runs, unless `--bail` / `.bail on` is set. Any
//! failure makes the exit status non-zero.

use crate::output::{self, Format, Mode};
use crate::statement_end::StatementEnd;
use heliosdb_lite::types::Value;
use heliosdb_lite::{Connection, Error};
use std::io::{BufRead, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// Longest error message or echoed source line printed whole; longer ones are cut around
/// the interesting part, so a 1 MB statement does not come back as 1 MB of error.
const MAX_ECHO: usize = 160;

/// Writes one line to standard error, ignoring failures: with stderr closed there is nowhere
/// left to complain, and `eprintln!` would panic.
pub fn report(msg: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{msg}");
}

/// Writes to standard output, ignoring failures (for the one-line outputs outside scripts).
pub fn write_out(bytes: &[u8]) {
    let _ = std::io::stdout().lock().write_all(bytes);
}

/// Cuts `s` to at most `max` characters, saying how much was left out.
pub fn clip(s: &str, max: usize) -> String {
    let n = s.chars().count();
    if n <= max {
        return s.to_string();
    }
    let head: String = s.chars().take(max).collect();
    format!("{head}... ({} more characters)", n - max)
}

/// Why a run stopped before the end of its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// `.quit` / `.exit`.
    Quit,
    /// A statement failed and bail is on.
    Bail,
    /// Standard output is gone (a closed pipe) or cannot be written (a full disk).
    OutputClosed,
}

/// Shared with the SIGINT handler.
#[derive(Debug, Default)]
pub struct InterruptState {
    /// A statement (or an import) is running: Ctrl-C cancels it.
    pub running: AtomicBool,
    /// Ctrl-C arrived while something ran; checked between import records.
    pub seen: AtomicBool,
}

/// Where the text being run came from, for "near line N" in error messages.
#[derive(Debug, Clone, Copy)]
pub struct Origin<'a> {
    /// The file of a `.read`, or `None` for standard input.
    pub file: Option<&'a str>,
    /// Line of the script on which the chunk starts (1-based).
    pub line: usize,
}

/// Shell state.
pub struct Shell {
    /// The open database.
    pub conn: Connection,
    /// Output settings.
    pub format: Format,
    /// Print statement timings.
    pub timer: bool,
    /// Interactive session (prints row-change counts and friendlier errors).
    pub interactive: bool,
    /// Stop at the first failing statement.
    pub bail: bool,
    /// Some statement or command failed: the exit status is non-zero.
    pub failed: bool,
    /// Ctrl-C bookkeeping, shared with the signal handler.
    pub interrupts: Arc<InterruptState>,
}

const HELP: &str = "\
.bail on|off            Stop a script at the first error (default off)
.tables                 List tables and views
.databases              The database and its directory (PRAGMA database_list)
.schema [TABLE]         Show CREATE statements (tables, indexes, views, triggers)
.indexes [TABLE]        List indexes
.snapshots [N]          Recent snapshots: SCN, transaction id, commit time (default 10)
.mode MODE              Output mode: table, csv, json, line or list
.headers on|off         Show column names
.timer on|off           Show how long each statement takes
.read FILE              Run the SQL in FILE
.import FILE TABLE      Load a CSV file into TABLE (a new table takes the header row
                        as column names); options --skip N, -v, --csv as sqlite3
.gc                     Run history garbage collection now and report what it removed
.backup ?DB? FILE       Copy the database, history included, to the new directory FILE
.save FILE              The same as .backup
.help                   This help
.quit / .exit           Leave

Ctrl-C cancels the running statement; an open transaction stays open.
Time travel: SELECT ... FROM t AS OF TIMESTAMP '2024-12-31 23:59:59'
             SELECT ... FROM t AS OF TRANSACTION 42 | AS OF SCN 1000 | BEFORE TRANSACTION 42";

/// Byte offset in `text` where the statement after `from` starts: past whitespace,
/// semicolons and comments.
fn next_statement_start(text: &str, mut from: usize) -> usize {
    loop {
        let rest = &text[from..];
        let trimmed = rest.trim_start_matches(|c: char| c.is_whitespace() || c == ';');
        from += rest.len() - trimmed.len();
        if trimmed.starts_with("--") {
            from += trimmed.find('\n').map_or(trimmed.len(), |i| i + 1);
        } else if trimmed.starts_with("/*") {
            from += trimmed.find("*/").map_or(trimmed.len(), |i| i + 2);
        } else {
            return from;
        }
    }
}

/// A dot command argument without the quotes around it (`'my db'` written as one word).
fn unquote(arg: &str) -> &str {
    for q in ['\'', '"'] {
        if let Some(inner) = arg.strip_prefix(q).and_then(|a| a.strip_suffix(q)) {
            return inner;
        }
    }
    arg
}

/// Finds `name` in `text` as a whole word (case-insensitive), from byte `from` on.
fn find_word(text: &str, name: &str, from: usize) -> Option<usize> {
    if name.is_empty() {
        return None;
    }
    let hay = text.to_ascii_lowercase();
    let needle = name.to_ascii_lowercase();
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    let mut at = from;
    while let Some(i) = hay.get(at..)?.find(&needle) {
        let start = at + i;
        let end = start + needle.len();
        let before = hay[..start].chars().next_back();
        let after = hay[end..].chars().next();
        if !before.is_some_and(is_word) && !after.is_some_and(is_word) {
            return Some(start);
        }
        at = end;
    }
    None
}

/// 1-based line and character column of byte offset `at` in `text`.
fn line_col(text: &str, at: usize) -> (usize, usize) {
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let col = before[before.rfind('\n').map_or(0, |i| i + 1)..]
        .chars()
        .count()
        + 1;
    (line, col)
}

/// The source line with a caret under character column `col`, cut to a window around it.
fn caret_lines(line: &str, col: usize) -> String {
    let chars: Vec<char> = line.trim_end().chars().collect();
    let col = col.max(1).min(chars.len() + 1);
    let half = MAX_ECHO / 2;
    let start = if chars.len() > MAX_ECHO {
        col.saturating_sub(half)
            .min(chars.len().saturating_sub(MAX_ECHO))
    } else {
        0
    };
    let end = (start + MAX_ECHO).min(chars.len());
    let mut shown: String = chars[start..end].iter().collect();
    let mut pad = col - 1 - start;
    if start > 0 {
        shown.insert_str(0, "...");
        pad += 3;
    }
    if end < chars.len() {
        shown.push_str("...");
    }
    format!("  {shown}\n  {}^--- here", " ".repeat(pad))
}

/// Where in `text` (the chunk that was run) an error points: (line, column) of the
/// offending token, 1-based, when it can be found.
fn error_position(e: &Error, text: &str, stmt_start: usize) -> Option<(usize, usize)> {
    match e {
        Error::Syntax { line, column, .. } if *line > 0 => Some((*line as usize, *column as usize)),
        Error::NoSuchColumn(name) | Error::NoSuchTable(name) => {
            let at = find_word(text, name, stmt_start).or_else(|| {
                let last = name.rsplit('.').next()?;
                find_word(text, last, stmt_start)
            })?;
            Some(line_col(text, at))
        }
        _ => None,
    }
}

/// The message of an error, without a position relative to the chunk (the caller says
/// where), cut to a readable length.
fn message(e: &Error, with_position: bool) -> String {
    let m = match e {
        Error::Syntax { message, token, .. } if !with_position => {
            let near = token
                .as_ref()
                .map(|t| format!(" near \"{}\"", clip(t, 40)))
                .unwrap_or_default();
            format!("syntax error{near}: {message}")
        }
        other => other.to_string(),
    };
    clip(&m, MAX_ECHO * 2)
}

impl Shell {
    /// A shell on an open connection.
    pub fn new(conn: Connection, format: Format, interactive: bool) -> Shell {
        Shell {
            conn,
            format,
            timer: false,
            interactive,
            bail: false,
            failed: false,
            interrupts: Arc::default(),
        }
    }

    /// Ctrl-C cancels the running statement, and only it: the shell and an open transaction
    /// stay. With nothing running, a script is stopped (exit status 130, as a shell reports
    /// SIGINT); at the interactive prompt the line editor handles Ctrl-C itself, clearing the
    /// line as sqlite3 does.
    pub fn install_interrupt_handler(&self) {
        let state = self.interrupts.clone();
        let handle = self.conn.get_interrupt_handle();
        let interactive = self.interactive;
        let r = ctrlc::set_handler(move || {
            if state.running.load(Ordering::SeqCst) {
                state.seen.store(true, Ordering::SeqCst);
                handle.interrupt();
            } else if !interactive {
                std::process::exit(130);
            }
        });
        if let Err(e) = r {
            report(&format!(
                "warning: Ctrl-C handler not installed ({e}); Ctrl-C will end the shell"
            ));
        }
    }

    /// Reports a failure (with its place in the script, if any); bails when asked to.
    fn fail(&mut self, msg: &str, origin: Option<Origin<'_>>) -> Result<(), Stop> {
        self.failed = true;
        let prefix = match origin {
            Some(Origin {
                file: Some(f),
                line,
            }) => format!("Error in {f} near line {line}: "),
            Some(Origin { file: None, line }) => format!("Error near line {line}: "),
            None => "Error: ".to_string(),
        };
        report(&format!(
            "{prefix}{}",
            msg.strip_prefix("Error: ").unwrap_or(msg)
        ));
        if self.bail {
            Err(Stop::Bail)
        } else {
            Ok(())
        }
    }

    /// Runs SQL text (one or more statements), printing results. On an error the rest of
    /// the text is skipped (as sqlite3 does) and the error reported; `origin` places the text
    /// in a script for the message.
    pub fn run_chunk(&mut self, sql: &str, origin: Option<Origin<'_>>) -> Result<(), Stop> {
        let started = Instant::now();
        let stdout = std::io::stdout();
        let format = self.format;
        let interactive = self.interactive;
        let timer = self.timer;
        let mut io_err: Option<std::io::Error> = None;
        // End (byte offset) of the last statement that ran, to find the one that failed.
        let mut done = 0usize;
        self.interrupts.seen.store(false, Ordering::SeqCst);
        self.interrupts.running.store(true, Ordering::SeqCst);
        let r = self.conn.execute_script(sql, |text, outcome| {
            if let Some(i) = sql.get(done..).and_then(|s| s.find(text)) {
                done += i + text.len();
            }
            if io_err.is_some() {
                return;
            }
            let mut out = stdout.lock();
            let r = if outcome.returns_rows {
                output::print(&mut out, format, &outcome.columns, &outcome.rows)
            } else if interactive && outcome.changes > 0 {
                writeln!(
                    out,
                    "{} row{} changed",
                    outcome.changes,
                    if outcome.changes == 1 { "" } else { "s" }
                )
            } else {
                Ok(())
            };
            let r = r.and_then(|()| {
                if timer {
                    writeln!(
                        out,
                        "Run Time: {:.3} ms",
                        started.elapsed().as_secs_f64() * 1000.0
                    )?;
                }
                out.flush()
            });
            if let Err(e) = r {
                io_err = Some(e);
            }
        });
        self.interrupts.running.store(false, Ordering::SeqCst);
        if let Some(e) = io_err {
            if e.kind() != std::io::ErrorKind::BrokenPipe {
                self.failed = true;
                report(&format!("Error: cannot write output: {e}"));
            }
            return Err(Stop::OutputClosed);
        }
        let Err(e) = r else { return Ok(()) };
        let stmt_start = next_statement_start(sql, done);
        let pos = error_position(&e, sql, stmt_start);
        let mut msg = message(&e, origin.is_none());
        if let Some((line, col)) = pos {
            if let Some(text) = sql.lines().nth(line - 1) {
                msg.push('\n');
                msg.push_str(&caret_lines(text, col));
            }
        }
        let origin = origin.map(|o| {
            let rel = match pos {
                Some((line, _)) => line,
                None => line_col(sql, stmt_start.min(sql.len())).0,
            };
            Origin {
                file: o.file,
                line: o.line + rel - 1,
            }
        });
        self.fail(&msg, origin)
    }

    /// Runs a script: dot commands on their own lines, SQL elsewhere. Each failing chunk is
    /// reported with its line and the script goes on, unless bail is on. A line that is not
    /// valid UTF-8 fails the statement it belongs to, and only that one.
    pub fn run_script(&mut self, input: &mut dyn BufRead, file: Option<&str>) -> Result<(), Stop> {
        let mut buf = String::new();
        // Where the statements collected in `buf` end, scanned one line at a time.
        let mut end = StatementEnd::default();
        let mut start_line = 0usize;
        // First line of the current chunk that is not valid UTF-8, and where in it.
        let mut bad_utf8: Option<(usize, usize)> = None;
        let mut line_no = 0usize;
        let mut bytes = Vec::new();
        loop {
            bytes.clear();
            match input.read_until(b'\n', &mut bytes) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => {
                    let what = file.unwrap_or("standard input");
                    self.fail(&format!("cannot read {what}: {e}"), None)?;
                    break;
                }
            }
            line_no += 1;
            while bytes.last().is_some_and(|&b| b == b'\n' || b == b'\r') {
                bytes.pop();
            }
            let line = match std::str::from_utf8(&bytes) {
                Ok(s) => s.to_string(),
                Err(e) => {
                    let col = String::from_utf8_lossy(&bytes[..e.valid_up_to()])
                        .chars()
                        .count()
                        + 1;
                    if bad_utf8.is_none() {
                        bad_utf8 = Some((line_no, col));
                    }
                    String::from_utf8_lossy(&bytes).into_owned()
                }
            };
            let origin = Origin {
                file,
                line: line_no,
            };
            if buf.trim().is_empty() && line.trim_start().starts_with('.') {
                buf.clear();
                end = StatementEnd::default();
                if let Some((l, c)) = bad_utf8.take() {
                    self.fail(&format!("invalid UTF-8 at line {l}, column {c}; the command was not run (save the script as UTF-8)"), Some(origin))?;
                    continue;
                }
                match self.dot(line.trim()) {
                    Ok(()) => {}
                    Err(DotError::Stop(s)) => return Err(s),
                    Err(DotError::Failed(m)) => self.fail(&m, Some(origin))?,
                }
                continue;
            }
            if buf.trim().is_empty() {
                buf.clear();
                end = StatementEnd::default();
                start_line = line_no;
            }
            buf.push_str(&line);
            buf.push('\n');
            end.feed(&line);
            end.feed("\n");
            if end.complete() {
                self.finish_chunk(&buf, file, start_line, bad_utf8.take())?;
                buf.clear();
                end = StatementEnd::default();
            }
        }
        if !buf.trim().is_empty() {
            self.finish_chunk(&buf, file, start_line, bad_utf8.take())?;
        }
        Ok(())
    }

    fn finish_chunk(
        &mut self,
        chunk: &str,
        file: Option<&str>,
        start_line: usize,
        bad_utf8: Option<(usize, usize)>,
    ) -> Result<(), Stop> {
        let origin = Origin {
            file,
            line: start_line,
        };
        match bad_utf8 {
            Some((l, c)) => self.fail(
                &format!(
                    "invalid UTF-8 at line {l}, column {c}; the statement was not run (save the script as UTF-8)"
                ),
                Some(origin),
            ),
            None => self.run_chunk(chunk, Some(origin)),
        }
    }

    fn query(
        &self,
        sql: &str,
        params: &[Value],
    ) -> Result<(Vec<String>, Vec<Vec<Value>>), DotError> {
        let mut stmt = self
            .conn
            .prepare(sql)
            .map_err(|e| DotError::Failed(e.to_string()))?;
        let rows = stmt
            .query(heliosdb_lite::params_from_iter(params.iter()))
            .map_err(|e| DotError::Failed(e.to_string()))?;
        let cols = rows.column_names().to_vec();
        let values = rows
            .into_values()
            .map_err(|e| DotError::Failed(e.to_string()))?;
        Ok((cols, values))
    }

    fn print(&self, columns: &[String], rows: &[Vec<Value>]) -> Result<(), DotError> {
        let mut out = std::io::stdout().lock();
        output::print(&mut out, self.format, columns, rows)
            .and_then(|()| out.flush())
            .map_err(write_error)
    }

    /// Runs one dot command.
    pub fn dot(&mut self, line: &str) -> Result<(), DotError> {
        let mut parts = line.split_whitespace();
        let cmd = parts.next().unwrap_or("");
        let args: Vec<&str> = parts.collect();
        let on_off = |a: Option<&&str>| -> Result<bool, DotError> {
            match a.copied() {
                Some("on") | Some("1") | Some("yes") => Ok(true),
                Some("off") | Some("0") | Some("no") => Ok(false),
                _ => Err(DotError::Failed(format!("{cmd} needs on or off"))),
            }
        };
        let failed = |e: Error| DotError::Failed(e.to_string());
        let mut text = String::new();
        match cmd {
            ".quit" | ".exit" | ".q" => return Err(DotError::Stop(Stop::Quit)),
            ".help" => text = format!("{HELP}\n"),
            ".bail" => self.bail = on_off(args.first())?,
            ".databases" => {
                // As sqlite3 prints it: `main: FILE r/w`, '' for an in-memory database.
                let (_, rows) = self.query("PRAGMA database_list", &[])?;
                let access = if self.conn.is_read_only() {
                    "r/o"
                } else {
                    "r/w"
                };
                for row in rows {
                    let (Some(Value::Text(name)), Some(Value::Text(file))) =
                        (row.get(1), row.get(2))
                    else {
                        continue;
                    };
                    let file = if file.is_empty() { "\"\"" } else { file };
                    text.push_str(&format!("{name}: {file} {access}\n"));
                }
            }
            ".tables" => {
                let names: Vec<String> = self
                    .conn
                    .schema_objects()
                    .map_err(failed)?
                    .into_iter()
                    .filter(|o| o.kind == "table" || o.kind == "view")
                    .map(|o| o.name)
                    .collect();
                text = format!("{}\n", names.join("  "));
            }
            ".schema" => {
                for o in self.conn.schema_objects().map_err(failed)? {
                    if let Some(t) = args.first() {
                        if !o.table.eq_ignore_ascii_case(t) {
                            continue;
                        }
                    }
                    if let Some(sql) = o.sql {
                        text.push_str(&format!("{};\n", sql.trim_end().trim_end_matches(';')));
                    }
                }
            }
            ".indexes" | ".indices" => {
                for o in self.conn.schema_objects().map_err(failed)? {
                    if o.kind == "index"
                        && args.first().is_none_or(|t| o.table.eq_ignore_ascii_case(t))
                    {
                        text.push_str(&format!("{}\n", o.name));
                    }
                }
            }
            ".snapshots" => {
                let n: i64 = match args.first() {
                    Some(a) => a.parse().map_err(|_| {
                        DotError::Failed(format!(".snapshots needs a number, got {}", clip(a, 40)))
                    })?,
                    None => 10,
                };
                let (cols, rows) = self.query(
                    "SELECT scn, txn_id, committed_at FROM helios_snapshots ORDER BY scn DESC LIMIT ?",
                    &[Value::Integer(n)],
                )?;
                self.print(&cols, &rows)?;
            }
            ".mode" => {
                self.format.mode = args.first().and_then(|m| Mode::parse(m)).ok_or_else(|| {
                    DotError::Failed(".mode needs one of table, csv, json, line, list".into())
                })?;
            }
            ".headers" | ".header" => self.format.headers = on_off(args.first())?,
            ".timer" => self.timer = on_off(args.first())?,
            ".read" => {
                let f = *args
                    .first()
                    .ok_or_else(|| DotError::Failed(".read needs a file name".into()))?;
                let file = std::fs::File::open(f)
                    .map_err(|e| DotError::Failed(format!("cannot read {f}: {e}")))?;
                return self
                    .run_script(&mut std::io::BufReader::new(file), Some(f))
                    .map_err(DotError::Stop);
            }
            ".import" => {
                let import = crate::import::parse_args(&args).map_err(DotError::Failed)?;
                self.interrupts.seen.store(false, Ordering::SeqCst);
                self.interrupts.running.store(true, Ordering::SeqCst);
                let r = crate::import::import_csv(
                    &self.conn,
                    &import,
                    self.interactive,
                    &self.interrupts.seen,
                );
                self.interrupts.running.store(false, Ordering::SeqCst);
                let done = r.map_err(DotError::Failed)?;
                if import.verbose {
                    // sqlite3's `-v` report.
                    if let Some(sql) = &done.created {
                        text.push_str(sql);
                        text.push('\n');
                    }
                    text.push_str(&format!(
                        "Added {} rows with 0 errors using {} lines of input\n",
                        done.rows, done.records
                    ));
                } else if self.interactive {
                    text = format!("imported {} rows into {}\n", done.rows, import.table);
                }
            }
            ".backup" | ".save" => {
                let file = match args.as_slice() {
                    [file] => *file,
                    [db, file] if db.eq_ignore_ascii_case("main") => *file,
                    [db, _] => {
                        return Err(DotError::Failed(format!(
                            "unknown database {}",
                            clip(db, 40)
                        )))
                    }
                    _ => return Err(DotError::Failed(format!("usage: {cmd} ?DB? FILE"))),
                };
                let file = unquote(file);
                let r = self.conn.backup_to(file).map_err(failed)?;
                if self.interactive {
                    text = format!(
                        "copied {} entries ({} bytes) up to SCN {} to {file}\n",
                        r.entries, r.bytes, r.scn
                    );
                }
            }
            ".gc" => {
                let r = self.conn.gc().map_err(failed)?;
                text = format!(
                    "removed {} snapshots, {} versions, {} bytes in {:.1} ms; oldest readable SCN is now {}\n",
                    r.snapshots_removed,
                    r.versions_removed,
                    r.bytes_removed,
                    r.elapsed_us as f64 / 1000.0,
                    r.new_horizon
                );
            }
            other => {
                return Err(DotError::Failed(format!(
                    "unknown command {}; try .help",
                    clip(other, 40)
                )))
            }
        }
        let mut out = std::io::stdout().lock();
        out.write_all(text.as_bytes())
            .and_then(|()| out.flush())
            .map_err(write_error)
    }

    /// The interactive loop with line editing and persistent history.
    pub fn interactive(&mut self) {
        let mut rl = match rustyline::DefaultEditor::new() {
            Ok(r) => r,
            Err(e) => {
                report(&format!("Error: cannot start line editor: {e}"));
                return;
            }
        };
        let history = std::env::var_os("HOME").map(|h| Path::new(&h).join(".heliosdb_history"));
        if let Some(h) = &history {
            let _ = rl.load_history(h);
        }
        write_out(
            format!(
                "HeliosDB-Lite {} - time-travel SQL. Enter .help for help; statements end with ';'.\n",
                env!("CARGO_PKG_VERSION")
            )
            .as_bytes(),
        );
        let mut buf = String::new();
        // Where the statements collected in `buf` end, scanned one line at a time.
        let mut end = StatementEnd::default();
        loop {
            let prompt = if buf.is_empty() {
                "heliosdb> "
            } else {
                "     ...> "
            };
            match rl.readline(prompt) {
                Ok(line) => {
                    if buf.is_empty() && line.trim_start().starts_with('.') {
                        let _ = rl.add_history_entry(line.as_str());
                        match self.dot(line.trim()) {
                            Ok(()) => {}
                            Err(DotError::Stop(Stop::Quit | Stop::OutputClosed)) => break,
                            Err(DotError::Stop(Stop::Bail)) => {}
                            Err(DotError::Failed(m)) => {
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
                // Ctrl-C at the prompt discards the statement being typed, as in sqlite3.
                Err(rustyline::error::ReadlineError::Interrupted) => {
                    buf.clear();
                    end = StatementEnd::default();
                }
                Err(_) => break,
            }
        }
        if let Some(h) = &history {
            let _ = rl.save_history(h);
        }
    }
}

/// How a dot command went wrong.
#[derive(Debug)]
pub enum DotError {
    /// It failed; the message says why.
    Failed(String),
    /// It stops the run (`.quit`, a bailing `.read`, closed output).
    Stop(Stop),
}

fn write_error(e: std::io::Error) -> DotError {
    if e.kind() != std::io::ErrorKind::BrokenPipe {
        report(&format!("Error: cannot write output: {e}"));
    }
    DotError::Stop(Stop::OutputClosed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn carets_point_into_cut_lines() {
        assert_eq!(caret_lines("SELEC 1", 1), "  SELEC 1\n  ^--- here");
        let long = format!("SELECT {} FROM nosuch", "x".repeat(1000));
        let c = caret_lines(&long, 1014);
        assert!(c.len() < 400, "{c}");
        let mut lines = c.lines();
        let text = lines.next().unwrap();
        let caret = lines.next().unwrap();
        let at = caret.find('^').unwrap();
        assert_eq!(&text[at..at + 6], "nosuch", "{c}");
    }

    #[test]
    fn finds_names_as_words() {
        assert_eq!(find_word("SELECT ab, a FROM t", "a", 0), Some(11));
        assert_eq!(find_word("SELECT x", "y", 0), None);
        assert_eq!(
            next_statement_start("SELECT 1; -- c\n /* d */ SELECT 2", 8),
            24
        );
        assert_eq!(line_col("a\nbc", 3), (2, 2));
    }
}
