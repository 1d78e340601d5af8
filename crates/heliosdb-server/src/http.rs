//! The HTTP API (axum): `GET /health`, `GET /ready`, `GET /metrics`, `POST /v1/query`.
//! Probes and metrics need no credentials (orchestrators and scrapers call them);
//! `/v1/query` takes HTTP Basic (`heliosdb:PASSWORD`) or `Bearer PASSWORD`.

use crate::errors::ClientError;
use crate::session::Session;
use crate::sqltext;
use crate::Shared;
use axum::body::{to_bytes, Body};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use heliosdb_lite::types::Value;
use serde::Deserialize;
use serde_json::{json, Value as Json_};
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// The routes.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/metrics", get(metrics))
        .route("/v1/query", post(query))
        .with_state(shared)
}

fn error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    (
        status,
        Json(json!({"error": {"code": code, "message": message.into()}})),
    )
        .into_response()
}

fn client_error(e: ClientError) -> Response {
    let status = match e.code {
        "statement_timeout" | "canceled" => StatusCode::REQUEST_TIMEOUT,
        "shutting_down" | "busy" => StatusCode::SERVICE_UNAVAILABLE,
        "io_error" | "data_corrupted" | "internal_error" => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    };
    (
        status,
        Json(json!({"error": {"code": e.code, "sqlstate": e.sqlstate, "message": e.message}})),
    )
        .into_response()
}

async fn health() -> Response {
    Json(json!({"status": "ok"})).into_response()
}

async fn ready(State(shared): State<Arc<Shared>>) -> Response {
    if shared.shutting_down.load(Ordering::SeqCst) {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "shutting_down",
            "the server is shutting down",
        );
    }
    if shared.db.is_read_only() {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "read_only",
            "the database is open read-only",
        );
    }
    let db = shared.clone();
    let probe = tokio::task::spawn_blocking(move || {
        db.db
            .query_row("SELECT current_scn()", [], |r| r.get::<_, i64>(0))
    })
    .await;
    match probe {
        Ok(Ok(scn)) => Json(json!({"status": "ready", "scn": scn})).into_response(),
        Ok(Err(e)) => error(StatusCode::SERVICE_UNAVAILABLE, "not_ready", e.to_string()),
        Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, "not_ready", e.to_string()),
    }
}

async fn metrics(State(shared): State<Arc<Shared>>) -> Response {
    if !shared.metrics_enabled {
        return error(
            StatusCode::NOT_FOUND,
            "metrics_disabled",
            "metrics are off ([monitoring] metrics_enabled = false)",
        );
    }
    let s = shared.clone();
    match tokio::task::spawn_blocking(move || s.render_metrics()).await {
        Ok(text) => (
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            e.to_string(),
        ),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct QueryRequest {
    sql: String,
    #[serde(default)]
    params: Vec<Json_>,
}

fn param(v: &Json_, i: usize) -> Result<Value, String> {
    Ok(match v {
        Json_::Null => Value::Null,
        Json_::Bool(b) => Value::Integer(i64::from(*b)),
        Json_::Number(n) => match n.as_i64() {
            Some(i) => Value::Integer(i),
            None => Value::Real(n.as_f64().unwrap_or(f64::NAN)),
        },
        Json_::String(s) => Value::Text(s.clone()),
        _ => {
            return Err(format!(
                "params[{i}]: arrays and objects cannot be bound; give a number, string, \
                 boolean or null"
            ))
        }
    })
}

/// JSON of a value: numbers as numbers, DECIMAL as a string (exact), blobs as hex text,
/// date-times as `YYYY-MM-DD HH:MM:SS`.
fn json_of(v: &Value) -> Json_ {
    match v {
        Value::Null => Json_::Null,
        Value::Integer(i) => json!(i),
        Value::Real(f) if f.is_finite() => json!(f),
        Value::Real(f) => json!(f.to_string()),
        Value::Decimal(d) => json!(d.to_string()),
        Value::Text(t) => json!(t),
        Value::Blob(b) => json!(b.iter().map(|x| format!("{x:02x}")).collect::<String>()),
        Value::Timestamp(t) => json!(heliosdb_lite::time::format_datetime(t)),
    }
}

async fn query(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Body) -> Response {
    shared.metrics.http_request();
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok());
    if !shared.auth.check_http(auth) {
        let mut r = error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "give HTTP Basic credentials (user heliosdb) or Authorization: Bearer <password>",
        );
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Basic realm=\"heliosdb\""),
        );
        return r;
    }
    let Ok(_permit) = shared.permits.clone().try_acquire_owned() else {
        shared.metrics.refused();
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "too_many_connections",
            format!(
                "too many clients already (server.max_connections = {})",
                shared.max_connections
            ),
        );
    };
    let bytes = match to_bytes(body, shared.max_request_bytes).await {
        Ok(b) => b,
        Err(_) => {
            return error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "request_too_large",
                format!(
                    "the request body exceeds server.max_request_bytes ({})",
                    shared.max_request_bytes
                ),
            )
        }
    };
    let req: QueryRequest = match serde_json::from_slice(&bytes) {
        Ok(r) => r,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                format!("expected JSON {{\"sql\": \"...\", \"params\": [...]}}: {e}"),
            )
        }
    };
    let mut params = Vec::with_capacity(req.params.len());
    for (i, p) in req.params.iter().enumerate() {
        match param(p, i) {
            Ok(v) => params.push(v),
            Err(why) => return error(StatusCode::BAD_REQUEST, "invalid_params", why),
        }
    }
    let statements = sqltext::split_statements(&req.sql);
    if statements.is_empty() {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "no SQL statement given",
        );
    }
    if statements.len() > 1 && !params.is_empty() {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "params can only be given with a single statement",
        );
    }
    let session = Session::new(shared.clone());
    let mut last = None;
    for sql in statements {
        match session
            .execute(sqltext::numbered_params(sql), params.clone())
            .await
        {
            Ok(r) => last = Some(r),
            Err(e) => {
                session.end();
                return client_error(e);
            }
        }
    }
    // A request is its own unit of work: a transaction it leaves open is rolled back.
    session.end();
    let r = last.unwrap_or_default();
    let scn = shared.db.mvcc().latest_scn();
    Json(json!({
        "columns": r.columns,
        "rows": r.rows.iter().map(|row| row.iter().map(json_of).collect::<Vec<_>>()).collect::<Vec<_>>(),
        "command": r.tag,
        "scn": scn,
    }))
    .into_response()
}
