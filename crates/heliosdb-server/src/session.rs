//! A client's session: its own engine connection on the shared database, its `SET`
//! variables and default time-travel point, and PostgreSQL's rule that a failed statement
//! inside a transaction block aborts the block. The engine is synchronous: a PostgreSQL
//! connection runs its statements on its own thread (see [`crate::pgconn`]), an HTTP
//! request on tokio's blocking pool. The statement timeout is the engine's own (the server
//! sets it on every connection it opens); cancel requests and shutdown interrupt a running
//! statement through the session's [`Handle`].

use crate::catalog;
use crate::errors::ClientError;
use crate::intercept::{self, Effect, Intercepted, SessionView, Table};
use crate::paramtypes;
use crate::sqltext;
use crate::types::ColumnType;
use crate::Shared;
use heliosdb_lite::types::Value;
use heliosdb_lite::{params_from_iter, Connection, InterruptHandle};
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Instant;

/// A result's column names and declared type groups, known before it runs.
pub type Description = (Vec<String>, Vec<Option<&'static str>>);

/// A statement planned for the extended protocol ([`Session::prepare_here`]).
#[derive(Debug)]
pub struct Planned {
    /// The type inferred for each parameter, `None` where the text does not tell.
    pub inferred: Vec<Option<ColumnType>>,
    /// The result's columns, `None` without a result set.
    pub description: Option<Description>,
    /// The plan may be reused for the same text.
    pub cacheable: bool,
    /// Set when the statement goes to the engine as written (nothing the server answers
    /// itself, no catalog query): [`Session::execute_plain`] may run it.
    pub plain: Option<Plain>,
}

/// What running a statement the engine takes as written needs to know of its text, worked
/// out once when it is prepared rather than at each execution.
#[derive(Debug)]
pub struct Plain {
    /// Its kind for the metrics, without a session `AS OF` point.
    kind: sqltext::QueryType,
    /// Its command tag's shape.
    tag: sqltext::TagForm,
}

impl Plain {
    /// The facts of the normalised text `normalized`.
    fn of(normalized: &str) -> Plain {
        Plain {
            kind: sqltext::query_type(normalized, false),
            tag: sqltext::tag_form(normalized),
        }
    }

    /// Its kind for the metrics when the session has (or has not) an `AS OF` point: every
    /// read of such a session reads the past.
    fn kind(&self, session_as_of: bool) -> sqltext::QueryType {
        match self.kind {
            sqltext::QueryType::Current if session_as_of => sqltext::QueryType::TimeTravel,
            k => k,
        }
    }
}

/// What one statement returned.
#[derive(Debug, Clone, Default)]
pub struct StatementResult {
    /// Result column names (empty without a result set).
    pub columns: Vec<String>,
    /// Declared type group of each result column (see `Rows::column_types`).
    pub declared: Vec<Option<&'static str>>,
    /// Result rows.
    pub rows: Vec<Vec<Value>>,
    /// The statement has a result set.
    pub returns_rows: bool,
    /// PostgreSQL command tag (`SELECT 3`, `INSERT 0 1`, `BEGIN`...).
    pub tag: String,
    /// An explicit transaction is open after the statement.
    pub in_transaction: bool,
}

impl StatementResult {
    fn from_table(t: Table, in_transaction: bool) -> Self {
        StatementResult {
            tag: format!("SELECT {}", t.rows.len()),
            declared: vec![None; t.columns.len()],
            columns: t.columns,
            rows: t.rows,
            returns_rows: true,
            in_transaction,
        }
    }
}

#[derive(Default)]
struct State {
    vars: HashMap<String, String>,
    as_of_text: Option<String>,
    /// A statement failed inside the open transaction block.
    failed: bool,
}

/// One client's session.
pub struct Session {
    conn: Connection,
    state: Mutex<State>,
    shared: Arc<Shared>,
    handle: Arc<Handle>,
}

/// What other threads may do to a session: interrupt the statement it runs (a cancel
/// request, shutdown).
pub(crate) struct Handle {
    interrupt: InterruptHandle,
    /// A statement is running. Held while a cancel interrupts, so that a cancel meant for a
    /// statement that has just ended cannot land in the next one.
    busy: Mutex<bool>,
    /// The process id and secret key the PostgreSQL client was given at startup, which a
    /// cancel request names.
    backend_key: OnceLock<(i32, Vec<u8>)>,
}

impl Handle {
    /// Interrupts the running statement whatever it is (shutdown).
    pub(crate) fn interrupt(&self) {
        self.interrupt.interrupt();
    }

    /// Interrupts the running statement if this is the session `pid` and `key` name;
    /// without a running statement nothing happens (as in PostgreSQL).
    pub(crate) fn cancel(&self, pid: i32, key: &[u8]) {
        if self
            .backend_key
            .get()
            .is_some_and(|(p, k)| *p == pid && k == key)
        {
            let busy = lock(&self.busy);
            if *busy {
                self.interrupt.interrupt();
            }
        }
    }

    fn set_busy(&self, busy: bool) {
        *lock(&self.busy) = busy;
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // The state is plain data updated in single steps: still consistent after a panic.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Interrupts the engine when dropped while armed: a statement whose HTTP client went away
/// stops instead of running on.
struct InterruptOnDrop(Option<InterruptHandle>);

impl Drop for InterruptOnDrop {
    fn drop(&mut self) {
        if let Some(h) = self.0.take() {
            h.interrupt();
        }
    }
}

/// Counts a running statement for graceful shutdown, which waits for the count to drop.
struct Running(Arc<Shared>);

impl Running {
    fn new(shared: &Arc<Shared>) -> Self {
        shared.running.fetch_add(1, Ordering::SeqCst);
        Running(shared.clone())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.0.running.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Session {
    /// A new session with its own connection to the server's database.
    pub fn new(shared: Arc<Shared>) -> Arc<Session> {
        let conn = shared.db.another_connection();
        let handle = Arc::new(Handle {
            interrupt: conn.get_interrupt_handle(),
            busy: Mutex::new(false),
            backend_key: OnceLock::new(),
        });
        let session = Arc::new(Session {
            conn,
            state: Mutex::new(State::default()),
            shared,
            handle,
        });
        session.shared.register(&session.conn, &session.handle);
        session
    }

    /// Remembers the backend key a PostgreSQL client was given, so that its cancel
    /// requests find this session (the first call counts).
    pub fn set_backend_key(&self, pid: i32, key: Vec<u8>) {
        let _ = self.handle.backend_key.set((pid, key));
    }

    /// True once [`Session::set_backend_key`] was called.
    pub fn has_backend_key(&self) -> bool {
        self.handle.backend_key.get().is_some()
    }

    /// Runs one statement with parameters on the calling thread (a PostgreSQL
    /// connection's own thread).
    pub fn execute_here(
        &self,
        sql: &str,
        params: &[Value],
    ) -> Result<StatementResult, ClientError> {
        self.run(|s| s.execute_blocking(sql, params))
    }

    /// Runs one statement with parameters on tokio's blocking pool (an HTTP request);
    /// dropping the future (the client went away) interrupts it.
    pub async fn execute(
        self: &Arc<Self>,
        sql: String,
        params: Vec<Value>,
    ) -> Result<StatementResult, ClientError> {
        let this = self.clone();
        let mut guard = InterruptOnDrop(Some(self.conn.get_interrupt_handle()));
        let joined = tokio::task::spawn_blocking(move || this.execute_here(&sql, &params)).await;
        guard.0 = None;
        joined.unwrap_or_else(|e| {
            Err(ClientError::new(
                "XX000",
                "internal_error",
                format!("statement failed unexpectedly: {e}"),
            ))
        })
    }

    /// Plans a statement for the extended protocol without running it: its result's
    /// columns and the types of its parameters, as far as the text tells.
    pub fn prepare_here(&self, sql: &str) -> Result<Planned, ClientError> {
        self.run(|s| {
            let description = s.describe_blocking(sql)?;
            let count = s
                .conn
                .prepare_cached(sql)
                .map(|st| st.parameter_count())
                .unwrap_or(0);
            let normalized = sqltext::normalize(sql);
            // Whether the server answers a statement itself depends on its text alone (the
            // session's settings only fill in the answer).
            let no_vars = HashMap::new();
            let view = SessionView {
                vars: &no_vars,
                as_of: None,
            };
            let plain = matches!(intercept::intercept(&normalized, &view), Ok(None))
                && !catalog::is_catalog_query(&normalized);
            Ok(Planned {
                inferred: paramtypes::infer(&s.conn, sql, count),
                description,
                // In a failed transaction block nothing is described: do not remember that.
                cacheable: !lock(&s.state).failed,
                plain: plain.then(|| Plain::of(&normalized)),
            })
        })
    }

    /// Runs a prepared statement that [`Planned::plain`] says goes to the engine as
    /// written, on the calling thread: what [`Session::execute_here`] does without looking
    /// at the text again.
    pub fn execute_plain(
        &self,
        sql: &str,
        plain: &Plain,
        params: &[Value],
    ) -> Result<StatementResult, ClientError> {
        self.run(|s| {
            let (failed, session_as_of) = {
                let st = lock(&s.state);
                (st.failed, st.as_of_text.is_some())
            };
            if failed {
                // Only the end of the block is accepted: the general path says so.
                return s.execute_blocking(sql, params);
            }
            s.run_engine(
                sql,
                plain.kind(session_as_of),
                &plain.tag,
                params,
                session_as_of,
            )
        })
    }

    /// Runs `f` as one statement: counted for graceful shutdown, open to cancel requests,
    /// under the engine's statement timeout (reported with the server's setting).
    fn run<T>(&self, f: impl FnOnce(&Session) -> Result<T, ClientError>) -> Result<T, ClientError> {
        if self.shared.shutting_down.load(Ordering::SeqCst) {
            return Err(ClientError::shutting_down());
        }
        let _running = Running::new(&self.shared);
        self.handle.set_busy(true);
        let r = f(self);
        self.handle.set_busy(false);
        r.map_err(|e| {
            if e.code == "statement_timeout" && self.shared.timeout_is_servers {
                ClientError::timeout(self.shared.statement_timeout.as_secs())
            } else {
                e
            }
        })
    }

    fn view(&self) -> (HashMap<String, String>, Option<String>, bool) {
        let st = lock(&self.state);
        (st.vars.clone(), st.as_of_text.clone(), st.failed)
    }

    fn execute_blocking(
        &self,
        sql: &str,
        params: &[Value],
    ) -> Result<StatementResult, ClientError> {
        let n = sqltext::normalize(sql);
        let (vars, as_of_text, failed) = self.view();
        let first = n.split(' ').next().unwrap_or("");
        if failed {
            // PostgreSQL: in a failed transaction block only its end is accepted, and
            // COMMIT rolls back.
            return match first {
                "rollback" | "abort" | "commit" | "end" => {
                    let is_savepoint = n.starts_with("rollback to");
                    let r = self.run_engine(
                        if is_savepoint { sql } else { "ROLLBACK" },
                        sqltext::QueryType::Write,
                        &sqltext::TagForm::Fixed("ROLLBACK".into()),
                        &[],
                        false,
                    );
                    lock(&self.state).failed = false;
                    r.map(|mut r| {
                        r.tag = "ROLLBACK".into();
                        r
                    })
                }
                _ => Err(ClientError::transaction_aborted()),
            };
        }
        let view = SessionView {
            vars: &vars,
            as_of: as_of_text.clone(),
        };
        let in_txn = self.conn.is_in_transaction();
        let mut sql = sql.to_string();
        let mut n = n;
        match intercept::intercept(&n, &view)? {
            Some(Intercepted::Rows(t)) => return Ok(StatementResult::from_table(t, in_txn)),
            Some(Intercepted::Command(tag, effect)) => {
                self.apply(effect, &n);
                return Ok(StatementResult {
                    tag,
                    in_transaction: in_txn,
                    ..Default::default()
                });
            }
            Some(Intercepted::Rewrite(s)) => {
                n = sqltext::normalize(&s);
                sql = s;
            }
            None => {}
        }
        if catalog::is_catalog_query(&n) {
            let t = catalog::answer(&self.conn, &n)?;
            return Ok(StatementResult::from_table(t, in_txn));
        }
        let session_as_of = as_of_text.is_some();
        let kind = sqltext::query_type(&n, session_as_of);
        self.run_engine(&sql, kind, &sqltext::tag_form(&n), params, session_as_of)
    }

    fn apply(&self, effect: Effect, n: &str) {
        let mut st = lock(&self.state);
        match effect {
            Effect::None => {}
            Effect::AsOf(point) => {
                st.as_of_text = point.as_ref().map(|p| p.to_string());
                self.conn.set_default_as_of(point);
            }
            Effect::Set(name, value) => {
                st.vars.insert(name, value);
            }
            Effect::Reset(Some(name)) => {
                st.vars.remove(&name);
            }
            Effect::Reset(None) => {
                st.vars.clear();
                st.as_of_text = None;
                self.conn.set_default_as_of(None);
                // DISCARD ALL also ends nothing else: the engine's transaction, if any,
                // stays (PostgreSQL refuses DISCARD ALL inside a transaction block).
                let _ = n;
            }
        }
    }

    /// Runs `sql` in the engine, as a statement of the metrics' `kind` whose command tag
    /// has the shape `tag`.
    fn run_engine(
        &self,
        sql: &str,
        kind: sqltext::QueryType,
        tag: &sqltext::TagForm,
        params: &[Value],
        session_as_of: bool,
    ) -> Result<StatementResult, ClientError> {
        let started = Instant::now();
        let mut r = self.query(sql, tag, params);
        self.shared.metrics.observe(kind, started.elapsed());
        if let Err(e) = &mut r {
            if session_as_of && kind == sqltext::QueryType::Write && e.sqlstate == "42000" {
                // The engine refuses every write while a default AS OF point is set (it
                // checks that before anything else): to a client that is a read-only
                // session, PostgreSQL's 25006 as after SET default_transaction_read_only.
                *e = ClientError::new("25006", "read_only", std::mem::take(&mut e.message));
            }
        }
        if r.is_err() {
            self.shared.metrics.error();
            if self.conn.is_in_transaction() {
                lock(&self.state).failed = true;
            }
        }
        r
    }

    fn query(
        &self,
        sql: &str,
        tag: &sqltext::TagForm,
        params: &[Value],
    ) -> Result<StatementResult, ClientError> {
        let mut stmt = self.conn.prepare_cached(sql)?;
        let mut rows = stmt.query(params_from_iter(params.iter()))?;
        let columns = rows.column_names().to_vec();
        let declared = rows.column_types();
        let returns_rows = rows.returns_rows();
        let width = columns.len();
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            let mut values = Vec::with_capacity(width);
            for i in 0..width {
                // `get::<Value>` reads DATE / TIMESTAMP columns as date-times.
                values.push(row.get::<_, Value>(i)?);
            }
            out.push(values);
        }
        let changes = rows.changes();
        Ok(StatementResult {
            tag: tag.text(out.len(), changes),
            columns,
            declared,
            rows: out,
            returns_rows,
            in_transaction: self.conn.is_in_transaction(),
        })
    }

    fn describe_blocking(&self, sql: &str) -> Result<Option<Description>, ClientError> {
        let n = sqltext::normalize(sql);
        let (vars, as_of_text, failed) = self.view();
        if failed {
            return Ok(None);
        }
        let view = SessionView {
            vars: &vars,
            as_of: as_of_text,
        };
        // Intercepted queries and catalog queries have no side effects: describe them by
        // computing them.
        match intercept::intercept(&n, &view) {
            Ok(Some(Intercepted::Rows(t))) => {
                let k = t.columns.len();
                return Ok(Some((t.columns, vec![None; k])));
            }
            Ok(Some(_)) | Err(_) => return Ok(None),
            Ok(None) => {}
        }
        if catalog::is_catalog_query(&n) {
            let t = catalog::answer(&self.conn, &n)?;
            let k = t.columns.len();
            return Ok(Some((t.columns, vec![None; k])));
        }
        let mut stmt = self.conn.prepare_cached(sql)?;
        if let Some(select) = sqltext::returning_query(sql) {
            // The engine describes no result for a write: describe its RETURNING list as
            // a query on the table (the statement itself was checked just above).
            let Ok(returning) = self.conn.prepare(&sqltext::describable(&select)) else {
                return Ok(None);
            };
            let names = returning.column_names();
            let mut types = returning.column_decl_types();
            types.resize(names.len(), None);
            return Ok((!names.is_empty()).then_some((names, types)));
        }
        let mut names = stmt.column_names();
        if names.is_empty()
            && stmt.parameter_count() > 0
            && sqltext::query_type(&n, false) != sqltext::QueryType::Write
        {
            // The engine plans with NULL parameters, and `AS OF SCN ?` cannot be planned
            // at NULL: plan a copy whose time-travel parameters name the newest point.
            if let Ok(s) = self.conn.prepare(&sqltext::describable(sql)) {
                stmt = s;
                names = stmt.column_names();
            }
        }
        if names.is_empty() {
            return Ok(None);
        }
        let mut types = stmt.column_decl_types();
        types.resize(names.len(), None);
        Ok(Some((names, types)))
    }

    /// True while an explicit transaction is open.
    pub fn in_transaction(&self) -> bool {
        self.conn.is_in_transaction()
    }

    /// Rolls back a transaction the client left open (HTTP requests end with this).
    pub fn end(&self) {
        if self.conn.is_in_transaction() {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.shared.unregister(&self.conn);
        if self.conn.is_in_transaction() {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
}
