//! The PostgreSQL wire protocol (the `pgwire` crate): startup and SCRAM-SHA-256
//! authentication, the simple and extended query protocols, cancel requests. Each client
//! connection gets its own handler set around its own [`Session`].

use crate::errors::ClientError;
use crate::session::{Plain, Session, StatementResult};
use crate::sqltext;
use crate::types::{convert, Cell, ColumnType};
use crate::Shared;
use async_trait::async_trait;
use futures::{stream, Sink};
use heliosdb_lite::types::Value;
use pgwire::api::auth::sasl::scram::{ScramAuth, ScramSecret};
use pgwire::api::auth::sasl::SASLAuthStartupHandler;
use pgwire::api::auth::{
    finish_authentication, protocol_negotiation, save_startup_parameters_to_metadata, AuthSource,
    DefaultServerParameterProvider, LoginInfo, Password, StartupHandler,
};
use pgwire::api::cancel::{CancelHandler, DefaultCancelHandler};
use pgwire::api::portal::{Format, Portal};
use pgwire::api::query::{ExtendedQueryHandler, SimpleQueryHandler};
use pgwire::api::results::{
    DataRowEncoder, DescribePortalResponse, DescribeStatementResponse, FieldInfo, QueryResponse,
    Response, Tag,
};
use pgwire::api::stmt::{QueryParser, StoredStatement};
use pgwire::api::{
    ClientInfo, ConnectionHandle, ConnectionManager, PgWireServerHandlers, PidSecretKeyGenerator,
    RandomPidSecretKeyGenerator, Type,
};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::cancel::CancelRequest;
use pgwire::messages::{PgWireBackendMessage, PgWireFrontendMessage};
use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::Arc;

fn user_error(e: ClientError) -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new(
        "ERROR".to_owned(),
        e.sqlstate.to_owned(),
        e.message,
    )))
}

fn fatal(sqlstate: &str, message: String) -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new(
        "FATAL".to_owned(),
        sqlstate.to_owned(),
        message,
    )))
}

/// The parameters reported at connect (`server_version` first of all).
fn parameters() -> DefaultServerParameterProvider {
    let mut p = DefaultServerParameterProvider::default();
    p.server_version = crate::intercept::server_version();
    p.time_zone = "UTC".into();
    p
}

/// Checks the user and database names of a startup message.
fn check_names(client: &impl ClientInfo, auth: &crate::Auth) -> PgWireResult<()> {
    let user = client.metadata().get("user").cloned().unwrap_or_default();
    let known = if auth.required() {
        auth.knows(&user)
    } else {
        user == crate::auth::USER
    };
    if !known {
        // With a users file the names are not told: they are half of a login.
        let hint = if auth.required() {
            String::new()
        } else {
            format!(" (the only user is \"{}\")", crate::auth::USER)
        };
        return Err(fatal(
            "28000",
            format!("role \"{user}\" does not exist{hint}"),
        ));
    }
    let db = client
        .metadata()
        .get("database")
        .cloned()
        .unwrap_or_else(|| user.clone());
    if db != crate::DATABASE_NAME {
        return Err(fatal(
            "3D000",
            format!(
                "database \"{db}\" does not exist (the served database is \"{}\")",
                crate::DATABASE_NAME
            ),
        ));
    }
    Ok(())
}

/// The users' SCRAM verifiers, for pgwire's SCRAM exchange.
struct Verifiers(Arc<Shared>);

impl Debug for Verifiers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the verifiers themselves.
        f.debug_tuple("Verifiers").field(&self.0.auth).finish()
    }
}

#[async_trait]
impl AuthSource for Verifiers {
    async fn get_password(&self, _login: &LoginInfo) -> PgWireResult<Password> {
        // Only verifiers are kept: there is no password to hand out.
        Err(fatal("28P01", "password authentication failed".to_owned()))
    }

    async fn get_scram_secret(&self, login: &LoginInfo) -> PgWireResult<(ScramSecret, Option<()>)> {
        let user = login.user().unwrap_or_default();
        match self.0.auth.verifier(user) {
            Some(v) => Ok((v.scram_secret(), None)),
            None => Err(fatal(
                "28P01",
                format!("password authentication failed for user \"{user}\""),
            )),
        }
    }
}

/// Startup: refuses a connection over the limit, checks the user and database names,
/// then authenticates with SCRAM-SHA-256 (or lets the client in when no password is
/// configured, which only a loopback server allows).
pub struct Startup {
    refused: bool,
    max_connections: usize,
    scram: Option<SASLAuthStartupHandler<DefaultServerParameterProvider>>,
    manager: Arc<ConnectionManager>,
    shared: Arc<Shared>,
}

#[async_trait]
impl StartupHandler for Startup {
    async fn on_startup<C>(
        &self,
        client: &mut C,
        message: PgWireFrontendMessage,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        if let PgWireFrontendMessage::Startup(ref startup) = message {
            if self.refused {
                return Err(fatal(
                    "53300",
                    format!(
                        "sorry, too many clients already (server.max_connections = {})",
                        self.max_connections
                    ),
                ));
            }
            save_startup_parameters_to_metadata(client, startup);
            check_names(client, &self.shared.auth)?;
            if self.scram.is_none() {
                protocol_negotiation(client, startup).await?;
                let (pid, key) = RandomPidSecretKeyGenerator::default().generate(client);
                client.set_pid_and_secret_key(pid, key.clone());
                let (handle, guard) = self.manager.register(pid, key);
                client
                    .session_extensions()
                    .insert::<Arc<ConnectionHandle>>(handle);
                client.session_extensions().insert(guard);
                return finish_authentication(client, &parameters()).await;
            }
        }
        match &self.scram {
            Some(s) => s.on_startup(client, message).await,
            None => Ok(()),
        }
    }
}

/// A statement prepared on one connection: the SQL the engine runs, the types its
/// parameters are read as, and its result's description, all worked out once at Parse so
/// that Bind and Execute only bind and run.
#[derive(Debug)]
pub struct Prepared {
    /// The SQL with `$n` rewritten to `?n`.
    sql: String,
    /// Each parameter's type: the client's, or the one inferred from the statement
    /// (`text` when none is).
    param_types: Vec<Type>,
    /// The parameters the client left untyped (their text is read leniently).
    untyped: Vec<bool>,
    /// Result column names and the types they are sent as; `None` without a result set.
    result: Option<(Vec<String>, Vec<ColumnType>)>,
    /// The result's fields as sent in binary and in text, the two formats clients ask for
    /// all columns at once (built here rather than at each Execute).
    fields: Option<[Arc<Vec<FieldInfo>>; 2]>,
    /// Set when the engine runs the statement as written (see
    /// [`crate::session::Planned::plain`]).
    plain: Option<Plain>,
}

impl Prepared {
    /// The result's fields in `format`, shared when it is one of the prepared ones.
    fn fields(&self, format: &Format) -> Option<Arc<Vec<FieldInfo>>> {
        let [binary, text] = self.fields.as_ref()?;
        match format {
            Format::UnifiedBinary => Some(binary.clone()),
            Format::UnifiedText => Some(text.clone()),
            Format::Individual(_) => None,
        }
    }
}

/// Most prepared statements a connection remembers by text.
const PREPARED_LIMIT: usize = 256;

/// Prepares statements for the extended protocol, remembering them per connection by
/// text and parameter types: clients that send Parse before every Bind (pgbench's
/// `extended` mode, unnamed statements) plan each text once.
pub struct Parser {
    session: Arc<Session>,
    cache: std::sync::Mutex<PreparedByText>,
}

/// Prepared statements by SQL text and the parameter types the client gave.
type PreparedByText = HashMap<(String, Vec<Option<Type>>), Arc<Prepared>>;

impl Parser {
    fn cache(&self) -> std::sync::MutexGuard<'_, PreparedByText> {
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Forgets every prepared text (after DDL, or when a result changed shape).
    fn forget(&self) {
        self.cache().clear();
    }
}

#[async_trait]
impl QueryParser for Parser {
    type Statement = Arc<Prepared>;

    async fn parse_sql<C>(
        &self,
        _client: &C,
        sql: &str,
        types: &[Option<Type>],
    ) -> PgWireResult<Option<Arc<Prepared>>>
    where
        C: ClientInfo + Unpin + Send + Sync,
    {
        let key = (sql.to_string(), types.to_vec());
        if let Some(p) = self.cache().get(&key) {
            return Ok(Some(p.clone()));
        }
        let engine_sql = sqltext::numbered_params(sql);
        let planned = self.session.prepare_here(&engine_sql).map_err(user_error)?;
        let count = planned.inferred.len().max(types.len());
        let mut param_types = Vec::with_capacity(count);
        let mut untyped = Vec::with_capacity(count);
        for i in 0..count {
            // `unknown` (705) says "infer it", as an absent type (0) does.
            match types
                .get(i)
                .cloned()
                .flatten()
                .filter(|t| *t != Type::UNKNOWN)
            {
                Some(t) => {
                    param_types.push(t);
                    untyped.push(false);
                }
                None => {
                    let inferred = planned.inferred.get(i).copied().flatten();
                    param_types.push(inferred.map_or(Type::TEXT, ColumnType::pg_type));
                    untyped.push(true);
                }
            }
        }
        let cacheable = planned.cacheable;
        let result = planned
            .description
            .map(|(names, declared)| (names, declared_types(&declared)));
        let fields = result.as_ref().map(|(names, types)| {
            [Format::UnifiedBinary, Format::UnifiedText]
                .map(|format| Arc::new(fields_of(names, types, &format)))
        });
        let prepared = Arc::new(Prepared {
            plain: planned.plain,
            sql: engine_sql,
            param_types,
            untyped,
            result,
            fields,
        });
        if cacheable {
            let mut cache = self.cache();
            if cache.len() >= PREPARED_LIMIT {
                cache.clear();
            }
            cache.insert(key, prepared.clone());
        }
        Ok(Some(prepared))
    }

    fn get_parameter_types(&self, stmt: &Arc<Prepared>) -> PgWireResult<Vec<Type>> {
        Ok(stmt.param_types.clone())
    }

    fn get_result_schema(
        &self,
        stmt: &Arc<Prepared>,
        column_format: Option<&Format>,
    ) -> PgWireResult<Vec<FieldInfo>> {
        Ok(match &stmt.result {
            Some((names, types)) => fields_of(
                names,
                types,
                column_format.unwrap_or(&Format::UnifiedBinary),
            ),
            None => Vec::new(),
        })
    }
}

/// One client connection's query handlers.
pub struct Handler {
    session: Arc<Session>,
    parser: Arc<Parser>,
}

/// Encodes rows with the given column types.
fn encode(
    fields: Arc<Vec<FieldInfo>>,
    types: &[ColumnType],
    columns: &[String],
    rows: Vec<Vec<Value>>,
) -> PgWireResult<Vec<PgWireResult<pgwire::messages::data::DataRow>>> {
    let mut encoder = DataRowEncoder::new(fields);
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        for (i, v) in row.iter().enumerate() {
            let ty = types.get(i).copied().unwrap_or(ColumnType::Text);
            let cell = convert(v, ty).map_err(|why| {
                user_error(ClientError::new(
                    "22P02",
                    "invalid_value",
                    format!(
                        "column {}: {why}",
                        columns.get(i).map(String::as_str).unwrap_or("?")
                    ),
                ))
            })?;
            match cell {
                Cell::Null => encoder.encode_field(&None::<i64>)?,
                Cell::Int(x) => encoder.encode_field(&x)?,
                Cell::Float(x) => encoder.encode_field(&x)?,
                Cell::Numeric(x) => encoder.encode_field(&x)?,
                Cell::Text(x) => encoder.encode_field(&x)?,
                Cell::Bytes(x) => encoder.encode_field(&x)?,
                Cell::Timestamp(x) => encoder.encode_field(&x)?,
            }
        }
        out.push(Ok(encoder.take_row()));
    }
    Ok(out)
}

fn fields_of(names: &[String], types: &[ColumnType], format: &Format) -> Vec<FieldInfo> {
    names
        .iter()
        .zip(types)
        .enumerate()
        .map(|(i, (n, t))| FieldInfo::new(n.clone(), None, None, t.pg_type(), format.format_for(i)))
        .collect()
}

/// How a result's rows are sent: the column types a prepared statement announced, and
/// its fields when they were built at Parse for the format asked.
type Announced<'a> = Option<(&'a [ColumnType], Option<Arc<Vec<FieldInfo>>>)>;

/// The response of a statement that ran: rows, or a command tag marking where a
/// transaction block started or ended. Rows are sent as `announced` says, or typed from
/// their values.
fn response(
    r: StatementResult,
    was_in_transaction: bool,
    announced: Announced<'_>,
    format: &Format,
) -> PgWireResult<Response> {
    if r.returns_rows {
        let inferred: Vec<ColumnType>;
        let (types, fields) = match announced {
            Some((types, fields)) => (types, fields),
            None => {
                inferred = (0..r.columns.len())
                    .map(|i| {
                        ColumnType::infer(
                            r.rows.iter().filter_map(|row| row.get(i)),
                            r.declared.get(i).copied().flatten(),
                        )
                    })
                    .collect();
                (inferred.as_slice(), None)
            }
        };
        let fields = fields.unwrap_or_else(|| Arc::new(fields_of(&r.columns, types, format)));
        let rows = encode(fields.clone(), types, &r.columns, r.rows)?;
        let mut query = QueryResponse::new(fields, stream::iter(rows));
        // pgwire appends the row count: `INSERT 0` + 3 for INSERT ... RETURNING.
        let verb = r.tag.rsplit_once(' ').map_or(r.tag.as_str(), |(v, _)| v);
        query.set_command_tag(verb);
        return Ok(Response::Query(query));
    }
    let tag = tag_of(&r.tag);
    Ok(match (was_in_transaction, r.in_transaction) {
        (false, true) => Response::TransactionStart(tag),
        (true, false) => Response::TransactionEnd(tag),
        _ => Response::Execution(tag),
    })
}

/// `INSERT 0 3` as a [`Tag`].
fn tag_of(text: &str) -> Tag {
    let words: Vec<&str> = text.split(' ').collect();
    match words.as_slice() {
        [cmd, oid, rows] if rows.parse::<usize>().is_ok() => Tag::new(cmd)
            .with_oid(oid.parse().unwrap_or(0))
            .with_rows(rows.parse().unwrap_or(0)),
        [cmd, rows] if rows.parse::<usize>().is_ok() => {
            Tag::new(cmd).with_rows(rows.parse().unwrap_or(0))
        }
        _ => Tag::new(text),
    }
}

/// True for a command tag after which cached descriptions may be stale.
fn changes_schema(tag: &str) -> bool {
    ["CREATE", "DROP", "ALTER"]
        .iter()
        .any(|verb| tag.starts_with(verb))
}

#[async_trait]
impl SimpleQueryHandler for Handler {
    async fn do_query<C>(&self, client: &mut C, query: &str) -> PgWireResult<Vec<Response>>
    where
        C: ClientInfo + Unpin + Send + Sync,
    {
        note_backend_key(&self.session, client);
        let mut out = Vec::new();
        for sql in sqltext::split_statements(query) {
            let was = self.session.in_transaction();
            match self.session.execute_here(sql, &[]) {
                Ok(r) => {
                    if changes_schema(&r.tag) {
                        self.parser.forget();
                    }
                    out.push(response(r, was, None, &Format::UnifiedText)?)
                }
                Err(e) => {
                    // As PostgreSQL: the first error ends the query string.
                    out.push(Response::Error(Box::new(ErrorInfo::new(
                        "ERROR".to_owned(),
                        e.sqlstate.to_owned(),
                        e.message,
                    ))));
                    break;
                }
            }
        }
        Ok(out)
    }
}

/// Lets the session's cancel requests find it: the key is known once startup is done,
/// and a statement runs only after that.
fn note_backend_key(session: &Session, client: &impl ClientInfo) {
    if !session.has_backend_key() {
        let (pid, key) = client.pid_and_secret_key();
        session.set_backend_key(pid, key.to_bytes().to_vec());
    }
}

/// Cancel requests: pgwire's own signal, which only stops a statement the connection
/// awaits, and an interrupt of the engine, which stops one running on the connection's
/// thread (see [`crate::pgconn`]).
pub struct Cancel {
    inner: DefaultCancelHandler,
    shared: Arc<Shared>,
}

#[async_trait]
impl CancelHandler for Cancel {
    async fn on_cancel_request(&self, request: CancelRequest) {
        self.shared
            .cancel(request.pid, &request.secret_key.to_bytes());
        self.inner.on_cancel_request(request).await;
    }
}

/// An untyped parameter's text as the engine's value: read as the inferred type when it
/// is written as one, else passed on as text for the engine's affinity rules (as SQLite
/// does with text bound to an INTEGER column).
fn lenient(text: String, ty: &Type) -> Value {
    let trimmed = text.trim();
    match *ty {
        Type::INT8 => trimmed.parse().map(Value::Integer).ok(),
        Type::FLOAT8 => trimmed.parse().map(Value::Real).ok(),
        Type::NUMERIC => trimmed.parse().map(Value::Decimal).ok(),
        Type::BYTEA => trimmed.strip_prefix("\\x").and_then(|hex| {
            (0..hex.len())
                .step_by(2)
                .map(|i| {
                    hex.get(i..i + 2)
                        .and_then(|b| u8::from_str_radix(b, 16).ok())
                })
                .collect::<Option<Vec<u8>>>()
                .map(Value::Blob)
        }),
        _ => None,
    }
    .unwrap_or(Value::Text(text))
}

/// Decodes parameter `i` of a portal by its type.
fn parameter(portal: &Portal<Arc<Prepared>>, i: usize) -> PgWireResult<Value> {
    let prepared = &portal.statement.statement;
    let ty = prepared.param_types.get(i).unwrap_or(&Type::TEXT);
    let untyped = prepared.untyped.get(i).copied().unwrap_or(true);
    if untyped && !portal.parameter_format.is_binary(i) {
        let text = portal.parameter::<String>(i, &Type::TEXT)?;
        return Ok(text.map_or(Value::Null, |t| lenient(t, ty)));
    }
    let v = match *ty {
        Type::BOOL => portal
            .parameter::<bool>(i, ty)?
            .map(|b| Value::Integer(i64::from(b))),
        Type::INT2 => portal
            .parameter::<i16>(i, ty)?
            .map(|x| Value::Integer(x.into())),
        Type::INT4 => portal
            .parameter::<i32>(i, ty)?
            .map(|x| Value::Integer(x.into())),
        Type::INT8 | Type::OID => portal.parameter::<i64>(i, ty)?.map(Value::Integer),
        Type::FLOAT4 => portal
            .parameter::<f32>(i, ty)?
            .map(|x| Value::Real(x.into())),
        Type::FLOAT8 => portal.parameter::<f64>(i, ty)?.map(Value::Real),
        Type::NUMERIC => portal
            .parameter::<rust_decimal::Decimal>(i, ty)?
            .map(Value::Decimal),
        Type::BYTEA => portal.parameter::<Vec<u8>>(i, ty)?.map(Value::Blob),
        Type::TIMESTAMP => portal
            .parameter::<chrono::NaiveDateTime>(i, ty)?
            .map(|t| Value::Text(heliosdb_lite::time::format_datetime(&t))),
        Type::TIMESTAMPTZ => portal
            .parameter::<chrono::DateTime<chrono::FixedOffset>>(i, ty)?
            .map(|t| Value::Text(heliosdb_lite::time::format_datetime(&t.naive_utc()))),
        Type::DATE => portal
            .parameter::<chrono::NaiveDate>(i, ty)?
            .map(|d| Value::Text(d.format("%Y-%m-%d").to_string())),
        _ => portal.parameter::<String>(i, &Type::TEXT)?.map(Value::Text),
    };
    Ok(v.unwrap_or(Value::Null))
}

#[async_trait]
impl ExtendedQueryHandler for Handler {
    type Statement = Arc<Prepared>;
    type QueryParser = Parser;

    fn query_parser(&self) -> Arc<Parser> {
        self.parser.clone()
    }

    async fn do_query<C>(
        &self,
        client: &mut C,
        portal: &Portal<Arc<Prepared>>,
        _max_rows: usize,
    ) -> PgWireResult<Response>
    where
        C: ClientInfo + Unpin + Send + Sync,
    {
        note_backend_key(&self.session, client);
        let prepared = &portal.statement.statement;
        let mut params = Vec::with_capacity(portal.parameter_len());
        for i in 0..portal.parameter_len() {
            params.push(parameter(portal, i)?);
        }
        let was = self.session.in_transaction();
        let r = match &prepared.plain {
            Some(plain) => self.session.execute_plain(&prepared.sql, plain, &params),
            None => self.session.execute_here(&prepared.sql, &params),
        }
        .map_err(user_error)?;
        if changes_schema(&r.tag) {
            self.parser.forget();
        }
        // The rows are sent with the types Describe announced; a result that no longer
        // has the announced columns (the table changed since Parse) cannot be.
        let announced = match &prepared.result {
            Some((names, types)) if r.returns_rows => {
                if *names != r.columns {
                    self.parser.forget();
                    return Err(user_error(ClientError::new(
                        "0A000",
                        "feature_not_supported",
                        "cached plan must not change result type: the table changed since \
                         the statement was prepared; prepare it again"
                            .to_owned(),
                    )));
                }
                Some((
                    types.as_slice(),
                    prepared.fields(&portal.result_column_format),
                ))
            }
            _ => None,
        };
        response(r, was, announced, &portal.result_column_format)
    }

    async fn do_describe_statement<C>(
        &self,
        _client: &mut C,
        stmt: &StoredStatement<Arc<Prepared>>,
    ) -> PgWireResult<DescribeStatementResponse>
    where
        C: ClientInfo + Unpin + Send + Sync,
    {
        let p = &stmt.statement;
        let fields = self
            .parser
            .get_result_schema(p, Some(&Format::UnifiedBinary))?;
        Ok(DescribeStatementResponse::new(
            p.param_types.clone(),
            fields,
        ))
    }

    async fn do_describe_portal<C>(
        &self,
        _client: &mut C,
        portal: &Portal<Arc<Prepared>>,
    ) -> PgWireResult<DescribePortalResponse>
    where
        C: ClientInfo + Unpin + Send + Sync,
    {
        let fields = self.parser.get_result_schema(
            &portal.statement.statement,
            Some(&portal.result_column_format),
        )?;
        Ok(DescribePortalResponse::new(fields))
    }
}

/// The types a prepared statement's columns are described with: the declared type, or
/// `text` for a computed column.
fn declared_types(declared: &[Option<&'static str>]) -> Vec<ColumnType> {
    declared
        .iter()
        .map(|d| ColumnType::from_declared(*d).unwrap_or(ColumnType::Text))
        .collect()
}

/// The handlers of one client connection.
pub struct Handlers {
    handler: Arc<Handler>,
    startup: Arc<Startup>,
    cancel: Arc<Cancel>,
}

impl Handlers {
    /// Handlers for a new connection; `refused` when the server is full (the client is
    /// told so at startup).
    pub fn new(shared: &Arc<Shared>, manager: &Arc<ConnectionManager>, refused: bool) -> Self {
        let scram = shared.auth.required().then(|| {
            let scram = ScramAuth::new(Arc::new(Verifiers(shared.clone())));
            SASLAuthStartupHandler::new(Arc::new(parameters()))
                .with_scram(scram)
                .with_connection_manager(manager.clone())
        });
        let session = Session::new(shared.clone());
        Handlers {
            handler: Arc::new(Handler {
                session: session.clone(),
                parser: Arc::new(Parser {
                    session,
                    cache: Default::default(),
                }),
            }),
            startup: Arc::new(Startup {
                refused,
                max_connections: shared.max_connections,
                scram,
                manager: manager.clone(),
                shared: shared.clone(),
            }),
            cancel: Arc::new(Cancel {
                inner: DefaultCancelHandler::new(manager.clone()),
                shared: shared.clone(),
            }),
        }
    }
}

impl PgWireServerHandlers for Handlers {
    fn simple_query_handler(&self) -> Arc<impl SimpleQueryHandler> {
        self.handler.clone()
    }

    fn extended_query_handler(&self) -> Arc<impl ExtendedQueryHandler> {
        self.handler.clone()
    }

    fn startup_handler(&self) -> Arc<impl StartupHandler> {
        self.startup.clone()
    }

    fn cancel_handler(&self) -> Arc<impl CancelHandler> {
        self.cancel.clone()
    }
}
