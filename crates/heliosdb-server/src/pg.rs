//! The PostgreSQL wire protocol (the `pgwire` crate): startup and SCRAM-SHA-256
//! authentication, the simple and extended query protocols, cancel requests. Each client
//! connection gets its own handler set around its own [`Session`].

use crate::errors::ClientError;
use crate::session::{Description, Session, StatementResult};
use crate::sqltext;
use crate::types::{convert, Cell, ColumnType};
use crate::Shared;
use async_trait::async_trait;
use futures::{stream, Sink};
use heliosdb_lite::types::Value;
use pgwire::api::auth::sasl::scram::ScramAuth;
use pgwire::api::auth::sasl::SASLAuthStartupHandler;
use pgwire::api::auth::{
    finish_authentication, protocol_negotiation, save_startup_parameters_to_metadata, AuthSource,
    DefaultServerParameterProvider, LoginInfo, Password, StartupHandler,
};
use pgwire::api::cancel::DefaultCancelHandler;
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
use pgwire::messages::{PgWireBackendMessage, PgWireFrontendMessage};
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
fn check_names(client: &impl ClientInfo) -> PgWireResult<()> {
    let user = client.metadata().get("user").cloned().unwrap_or_default();
    if user != crate::auth::USER {
        return Err(fatal(
            "28000",
            format!(
                "role \"{user}\" does not exist (the only user is \"{}\")",
                crate::auth::USER
            ),
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

/// The password verifier SCRAM asks for: the salted password derived at startup.
#[derive(Debug)]
struct Verifier {
    salt: Vec<u8>,
    salted: Vec<u8>,
}

#[async_trait]
impl AuthSource for Verifier {
    async fn get_password(&self, login: &LoginInfo) -> PgWireResult<Password> {
        if login.user() != Some(crate::auth::USER) {
            return Err(fatal("28P01", "password authentication failed".to_owned()));
        }
        Ok(Password::new(Some(self.salt.clone()), self.salted.clone()))
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
            check_names(client)?;
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

/// Remembers the SQL of a prepared statement (with `$n` rewritten to `?n`).
#[derive(Debug)]
pub struct Parser;

#[async_trait]
impl QueryParser for Parser {
    type Statement = String;

    async fn parse_sql<C>(
        &self,
        _client: &C,
        sql: &str,
        _types: &[Option<Type>],
    ) -> PgWireResult<Option<String>>
    where
        C: ClientInfo + Unpin + Send + Sync,
    {
        Ok(Some(sqltext::numbered_params(sql)))
    }

    fn get_parameter_types(&self, _stmt: &String) -> PgWireResult<Vec<Type>> {
        Ok(Vec::new())
    }

    fn get_result_schema(
        &self,
        _stmt: &String,
        _column_format: Option<&Format>,
    ) -> PgWireResult<Vec<FieldInfo>> {
        Ok(Vec::new())
    }
}

/// Most prepared statements' descriptions a connection remembers.
const DESCRIBED_LIMIT: usize = 256;

/// One client connection's query handlers.
pub struct Handler {
    session: Arc<Session>,
    parser: Arc<Parser>,
    /// Descriptions already sent, by SQL text: an Execute sends its rows with the types
    /// its Describe announced, without planning the statement a second time.
    described: std::sync::Mutex<std::collections::HashMap<String, Option<Description>>>,
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

/// The response of a statement that ran: rows, or a command tag marking where a
/// transaction block started or ended.
fn response(
    r: StatementResult,
    was_in_transaction: bool,
    types: Option<Vec<ColumnType>>,
    format: &Format,
) -> PgWireResult<Response> {
    if r.returns_rows {
        let types = types.unwrap_or_else(|| {
            (0..r.columns.len())
                .map(|i| {
                    ColumnType::infer(
                        r.rows.iter().filter_map(|row| row.get(i)),
                        r.declared.get(i).copied().flatten(),
                    )
                })
                .collect()
        });
        let fields = Arc::new(fields_of(&r.columns, &types, format));
        let rows = encode(fields.clone(), &types, &r.columns, r.rows)?;
        return Ok(Response::Query(QueryResponse::new(
            fields,
            stream::iter(rows),
        )));
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

#[async_trait]
impl SimpleQueryHandler for Handler {
    async fn do_query<C>(&self, client: &mut C, query: &str) -> PgWireResult<Vec<Response>>
    where
        C: ClientInfo + Unpin + Send + Sync,
    {
        let _ = client;
        let mut out = Vec::new();
        for sql in sqltext::split_statements(query) {
            let was = self.session.in_transaction();
            match self.session.execute(sql.to_string(), Vec::new()).await {
                Ok(r) => out.push(response(r, was, None, &Format::UnifiedText)?),
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

/// Decodes parameter `i` of a portal by its type.
fn parameter(portal: &Portal<String>, i: usize, ty: &Type) -> PgWireResult<Value> {
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
    type Statement = String;
    type QueryParser = Parser;

    fn query_parser(&self) -> Arc<Parser> {
        self.parser.clone()
    }

    async fn do_query<C>(
        &self,
        _client: &mut C,
        portal: &Portal<String>,
        _max_rows: usize,
    ) -> PgWireResult<Response>
    where
        C: ClientInfo + Unpin + Send + Sync,
    {
        let sql = portal.statement.statement.clone();
        let mut params = Vec::with_capacity(portal.parameter_len());
        for i in 0..portal.parameter_len() {
            let ty = portal
                .statement
                .parameter_types
                .get(i)
                .cloned()
                .flatten()
                .unwrap_or(Type::TEXT);
            params.push(parameter(portal, i, &ty)?);
        }
        // The result is sent with the types Describe announced.
        let described = self.description(&sql).await?;
        let was = self.session.in_transaction();
        let r = self
            .session
            .execute(sql, params)
            .await
            .map_err(user_error)?;
        let types = described.map(|(_, declared)| declared_types(&declared));
        response(r, was, types, &portal.result_column_format)
    }

    async fn do_describe_statement<C>(
        &self,
        _client: &mut C,
        stmt: &StoredStatement<String>,
    ) -> PgWireResult<DescribeStatementResponse>
    where
        C: ClientInfo + Unpin + Send + Sync,
    {
        let count = self.session.parameter_count(&stmt.statement).await;
        let params = (0..count.max(stmt.parameter_types.len()))
            .map(|i| {
                stmt.parameter_types
                    .get(i)
                    .cloned()
                    .flatten()
                    .unwrap_or(Type::TEXT)
            })
            .collect();
        let fields = self
            .describe_fields(&stmt.statement, &Format::UnifiedBinary)
            .await?;
        Ok(DescribeStatementResponse::new(params, fields))
    }

    async fn do_describe_portal<C>(
        &self,
        _client: &mut C,
        portal: &Portal<String>,
    ) -> PgWireResult<DescribePortalResponse>
    where
        C: ClientInfo + Unpin + Send + Sync,
    {
        let fields = self
            .describe_fields(&portal.statement.statement, &portal.result_column_format)
            .await?;
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

impl Handler {
    /// The statement's description, remembered per SQL text.
    async fn description(&self, sql: &str) -> PgWireResult<Option<Description>> {
        let known = self
            .described
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(sql)
            .cloned();
        if let Some(d) = known {
            return Ok(d);
        }
        let d = self
            .session
            .describe(sql.to_string())
            .await
            .map_err(user_error)?;
        let mut cache = self.described.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= DESCRIBED_LIMIT {
            cache.clear();
        }
        cache.insert(sql.to_string(), d.clone());
        Ok(d)
    }

    async fn describe_fields(&self, sql: &str, format: &Format) -> PgWireResult<Vec<FieldInfo>> {
        let described = self.description(sql).await?;
        Ok(match described {
            Some((names, declared)) => fields_of(&names, &declared_types(&declared), format),
            None => Vec::new(),
        })
    }
}

/// The handlers of one client connection.
pub struct Handlers {
    handler: Arc<Handler>,
    startup: Arc<Startup>,
    cancel: Arc<DefaultCancelHandler>,
}

impl Handlers {
    /// Handlers for a new connection; `refused` when the server is full (the client is
    /// told so at startup).
    pub fn new(shared: &Arc<Shared>, manager: &Arc<ConnectionManager>, refused: bool) -> Self {
        let scram = shared.auth.scram().map(|(salt, salted)| {
            let mut scram = ScramAuth::new(Arc::new(Verifier { salt, salted }));
            scram.set_iterations(crate::auth::SCRAM_ITERATIONS);
            SASLAuthStartupHandler::new(Arc::new(parameters()))
                .with_scram(scram)
                .with_connection_manager(manager.clone())
        });
        Handlers {
            handler: Arc::new(Handler {
                session: Session::new(shared.clone()),
                parser: Arc::new(Parser),
                described: Default::default(),
            }),
            startup: Arc::new(Startup {
                refused,
                max_connections: shared.max_connections,
                scram,
                manager: manager.clone(),
            }),
            cancel: Arc::new(DefaultCancelHandler::new(manager.clone())),
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

    fn cancel_handler(&self) -> Arc<impl pgwire::api::cancel::CancelHandler> {
        self.cancel.clone()
    }
}
