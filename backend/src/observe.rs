//! What an operator sees: log lines (plain or JSON, colour only on a terminal), a request id
//! on every request (in its log span and in the `X-Request-Id` answer header), and Prometheus
//! metrics at `GET /metrics` when `METRICS_TOKEN` is set.
//!
//! Metrics go through the `metrics` facade (`counter!`, `histogram!`, `gauge!` anywhere in the
//! code) into one process-wide Prometheus recorder; `/metrics` renders it. The metric names:
//!
//! | name | labels | what |
//! |---|---|---|
//! | `shop_http_requests_total` | `route` (template), `method`, `status` | requests served |
//! | `shop_http_request_duration_seconds` | `route`, `method` | latency histogram |
//! | `shop_orders_created_total` | `rail` | orders placed |
//! | `shop_orders_paid_total` | `rail` | orders fulfilled (once each) |
//! | `shop_payments_total` | `rail`, `outcome` (`fulfilled`, `already_recorded`, `flagged_for_refund`) | successful payments recorded |
//! | `shop_refunds_total` | `rail`, `outcome` (`counted`, `already_counted`, `failed`, `reversed`) | refunds |
//! | `shop_webhook_rejections_total` | `rail`, `reason` (the error code) | notifications refused |
//! | `shop_bot_api_calls_total` | `method`, `outcome` (`ok`, `api_error`, `transport_error`) | Bot API calls |
//! | `shop_jobs_runs_total` | `job`, `outcome` | scheduled work runs |
//! | `shop_db_pool_connections` | `state` (`in_use`, `idle`) | the database pool, at scrape time |

use std::io::IsTerminal;
use std::sync::Arc;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue};
use axum::response::IntoResponse;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use secrecy::ExposeSecret;
use subtle::ConstantTimeEq;

use crate::config::Config;
use crate::db::Db;
use crate::error::Error;
use crate::state::AppState;
use axum::middleware::Next;
use axum::response::Response;
use tracing_subscriber::EnvFilter;

pub static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// How log lines are written (`LOG_FORMAT`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines; ANSI colours only when standard output is a terminal.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

impl LogFormat {
    pub fn parse(v: Option<&str>) -> Result<LogFormat, String> {
        match v.map(str::trim).filter(|v| !v.is_empty()) {
            None | Some("text") => Ok(LogFormat::Text),
            Some("json") => Ok(LogFormat::Json),
            Some(other) => Err(format!(
                "LOG_FORMAT: '{other}' is not text or json (one JSON object per line)"
            )),
        }
    }
}

/// Installs the global log subscriber (`RUST_LOG` filters it).
pub fn init_logs(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let _ = match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
        // Colour codes in a file or a journal are noise: only for a terminal.
        LogFormat::Text => builder
            .with_ansi(std::io::stdout().is_terminal())
            .try_init(),
    };
}

/// A request id: the one a proxy in front already gave the request (when it looks like an id),
/// otherwise a new random one. It goes into the request (so the trace span shows it) and the
/// answer.
pub async fn request_id(mut req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            (1..=64).contains(&v.len())
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        })
        .map(str::to_string)
        .unwrap_or_else(|| format!("{:016x}", rand::random::<u64>()));
    let value = HeaderValue::from_str(&id).unwrap_or(HeaderValue::from_static("invalid"));
    req.headers_mut().insert(REQUEST_ID.clone(), value.clone());
    let mut res = next.run(req).await;
    res.headers_mut().insert(REQUEST_ID.clone(), value);
    res
}

/// The span of one request: method, path and request id, so every line logged while serving
/// it (and the closing "finished processing request" line) carries the id.
pub fn request_span(req: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    let id = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    tracing::info_span!(
        "request",
        method = %req.method(),
        path = %req.uri().path(),
        request_id = %id,
    )
}

/// The process's Prometheus recorder, installed on first use (tests start many apps in one
/// process; they share it, as the processes of a real deployment each have their own).
pub fn metrics_handle() -> &'static PrometheusHandle {
    static HANDLE: std::sync::OnceLock<PrometheusHandle> = std::sync::OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Full("shop_http_request_duration_seconds".into()),
                &[
                    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
                ],
            )
            .expect("static buckets are valid");
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        // Another recorder may already be set (a test binary that installed its own): then
        // this handle renders what it has seen, which is nothing; never fail start-up for it.
        let _ = metrics::set_global_recorder(recorder);
        handle
    })
}

/// Counts and times every request by its route template (never the raw path: ids would make
/// a new series per order). Layered on the router, so the matched route is known.
pub async fn track_requests(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    let method = req.method().as_str().to_string();
    let start = std::time::Instant::now();
    let res = next.run(req).await;
    let status = res.status().as_u16().to_string();
    metrics::histogram!("shop_http_request_duration_seconds", "route" => route.clone(), "method" => method.clone())
        .record(start.elapsed().as_secs_f64());
    if route.starts_with("/webhooks/") && res.status().is_client_error() {
        let rail = route
            .trim_start_matches("/webhooks/")
            .split('/')
            .next()
            .unwrap_or("")
            .to_string();
        let reason = res
            .extensions()
            .get::<crate::error::ErrorCode>()
            .map(|c| c.0.clone())
            .unwrap_or_else(|| res.status().as_str().to_string());
        metrics::counter!("shop_webhook_rejections_total", "rail" => rail, "reason" => reason)
            .increment(1);
    }
    metrics::counter!("shop_http_requests_total", "route" => route, "method" => method, "status" => status)
        .increment(1);
    res
}

/// `GET /metrics`: Prometheus text for `Authorization: Bearer <METRICS_TOKEN>`. Without a
/// configured token the route answers 404 like any unknown API route.
pub async fn metrics_endpoint(
    State(config): State<Arc<Config>>,
    State(db): State<Db>,
    headers: HeaderMap,
) -> Response {
    let Some(token) = config.metrics_token.as_ref() else {
        return Error::NotFound("No such route.".into()).into_response();
    };
    let sent = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    let expected = token.expose_secret().as_bytes();
    if sent.is_empty() || !bool::from(sent.as_bytes().ct_eq(expected)) {
        let mut res = Error::Unauthorized("Send Authorization: Bearer <METRICS_TOKEN>.".into())
            .into_response();
        res.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"metrics\""),
        );
        return res;
    }
    let size = db.pool.size() as f64;
    let idle = db.pool.num_idle() as f64;
    metrics::gauge!("shop_db_pool_connections", "state" => "in_use").set(size - idle);
    metrics::gauge!("shop_db_pool_connections", "state" => "idle").set(idle);
    let body = metrics_handle().render();
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        body,
    )
        .into_response()
}

pub fn router() -> axum::Router<AppState> {
    axum::Router::new().route("/metrics", axum::routing::get(metrics_endpoint))
}

#[cfg(test)]
mod tests {
    use super::LogFormat;

    #[test]
    fn log_formats() {
        assert_eq!(LogFormat::parse(None), Ok(LogFormat::Text));
        assert_eq!(LogFormat::parse(Some("json")), Ok(LogFormat::Json));
        assert!(LogFormat::parse(Some("xml"))
            .unwrap_err()
            .contains("LOG_FORMAT"));
    }
}
