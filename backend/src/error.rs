//! The one error type, the JSON envelope it renders to, and extractors whose rejections
//! become that envelope.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{header, request::Parts, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use shared::{ErrorBody, ErrorEnvelope};

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// 400: the request is wrong in a way the caller can fix; `field` names what to fix.
    #[error("{message}")]
    Invalid {
        code: &'static str,
        message: String,
        field: Option<String>,
    },
    #[error("{0}")]
    Unauthorized(String),
    #[error("{message}")]
    Forbidden { code: &'static str, message: String },
    #[error("{0}")]
    NotFound(String),
    /// 409: the request is fine but the state of things does not allow it (sold out, paid).
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// Any other status with its own code (405, 408, 413, 429, 502, 503).
    #[error("{message}")]
    Status {
        status: StatusCode,
        code: &'static str,
        message: String,
    },
    /// 429 with `Retry-After` (whole seconds, at least 1): a budget ran out and refills by then.
    #[error("{message}")]
    TooMany {
        code: &'static str,
        message: String,
        retry_after: u64,
    },
    /// 422: the request is well-formed but names something that cannot be used (an image that
    /// is not the product's, a picture that cannot be decoded); `field` names it.
    #[error("{message}")]
    Unprocessable {
        code: &'static str,
        message: String,
        field: Option<String>,
    },
    /// 422: an uploaded file (CSV) has bad rows; every one is listed so all can be fixed at once.
    #[error("{message}")]
    Rows {
        code: &'static str,
        message: String,
        rows: Vec<shared::admin::CsvRowError>,
    },
    /// 500: details go to the log, never to the client.
    #[error("internal: {0}")]
    Internal(String),
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
}

impl Error {
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        Error::Invalid {
            code,
            message: message.into(),
            field: None,
        }
    }
    pub fn field(code: &'static str, field: &str, message: impl Into<String>) -> Self {
        Error::Invalid {
            code,
            message: message.into(),
            field: Some(field.to_string()),
        }
    }
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Error::Conflict {
            code,
            message: message.into(),
        }
    }
    pub fn not_found(what: &str) -> Self {
        Error::NotFound(format!("{what} not found"))
    }
    /// 429 with a `Retry-After` of `secs` (at least 1).
    pub fn too_many(code: &'static str, message: impl Into<String>, secs: u64) -> Self {
        Error::TooMany {
            code,
            message: message.into(),
            retry_after: secs.max(1),
        }
    }
    pub fn internal(e: impl std::fmt::Display) -> Self {
        Error::Internal(e.to_string())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Error::Invalid { .. } => StatusCode::BAD_REQUEST,
            Error::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Error::Forbidden { .. } => StatusCode::FORBIDDEN,
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::Conflict { .. } => StatusCode::CONFLICT,
            Error::Status { status, .. } => *status,
            Error::TooMany { .. } => StatusCode::TOO_MANY_REQUESTS,
            Error::Rows { .. } | Error::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Error::Db(sqlx::Error::PoolTimedOut) => StatusCode::SERVICE_UNAVAILABLE,
            Error::Internal(_) | Error::Db(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn body(&self) -> ErrorBody {
        let (code, message, field) = match self {
            Error::Invalid {
                code,
                message,
                field,
            } => (*code, message.clone(), field.clone()),
            Error::Unprocessable {
                code,
                message,
                field,
            } => (*code, message.clone(), field.clone()),
            Error::Unauthorized(m) => ("unauthorized", m.clone(), None),
            Error::Forbidden { code, message } => (*code, message.clone(), None),
            Error::NotFound(m) => ("not_found", m.clone(), None),
            Error::Conflict { code, message } => (*code, message.clone(), None),
            Error::Status { code, message, .. } => (*code, message.clone(), None),
            Error::TooMany { code, message, .. } => (*code, message.clone(), None),
            Error::Rows { code, message, .. } => (*code, message.clone(), None),
            Error::Db(sqlx::Error::PoolTimedOut) => (
                "unavailable",
                "The shop is busy right now; please try again in a moment.".into(),
                None,
            ),
            Error::Internal(_) | Error::Db(_) => (
                "internal_error",
                "Something went wrong on our side; nothing was charged. Please try again.".into(),
                None,
            ),
        };
        let rows = match self {
            Error::Rows { rows, .. } => rows.clone(),
            _ => vec![],
        };
        ErrorBody {
            code: code.to_string(),
            message,
            field,
            rows,
        }
    }
}

/// Whether a database error is a unique-constraint violation, any constraint (both
/// databases). Prefer [`Error::on_unique`], which names the constraint it expects.
pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    crate::db::unique_violation(e).is_some()
}

impl Error {
    /// `f()` when this is the unique constraint on `key` (`"table.column"`, e.g.
    /// `"variants.sku"`) refusing a write, else this error unchanged: the one place a
    /// duplicate becomes an answer that names the field to change. Another constraint
    /// stays a 500, as it is a bug rather than something the caller can fix.
    pub fn on_unique(self, key: &str, f: impl FnOnce() -> Error) -> Error {
        match &self {
            Error::Db(e) if crate::db::unique_violation(e).is_some_and(|u| u.is(key)) => f(),
            _ => self,
        }
    }
}

/// The error code of an envelope answer, kept on the response for the metrics layer (reading
/// the body back would cost a copy).
#[derive(Clone, Debug)]
pub struct ErrorCode(pub String);

pub fn envelope(status: StatusCode, body: ErrorBody) -> Response {
    let code = ErrorCode(body.code.to_string());
    let mut res = (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        serde_json::to_string(&ErrorEnvelope { error: body })
            .unwrap_or_else(|_| r#"{"error":{"code":"internal_error","message":""}}"#.into()),
    )
        .into_response();
    res.extensions_mut().insert(code);
    res
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        let mut res = envelope(status, self.body());
        if let Error::TooMany { retry_after, .. } = self {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after.max(1)));
        }
        res
    }
}

/// `Json` whose rejections (bad JSON, wrong content type, too large) use the envelope.
pub struct AppJson<T>(pub T);

impl<T, S> FromRequest<S> for AppJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(AppJson(v)),
            Err(rej) => Err(json_rejection(rej)),
        }
    }
}

impl<T: serde::Serialize> IntoResponse for AppJson<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

fn json_rejection(rej: JsonRejection) -> Error {
    if let Some(e) = refused_currency(&rej) {
        return e;
    }
    if let Some(e) = unknown_field(&rej) {
        return e;
    }
    let status = rej.status();
    let (code, message) = match &rej {
        JsonRejection::MissingJsonContentType(_) => (
            "unsupported_media_type",
            "Send the body as JSON with Content-Type: application/json.".to_string(),
        ),
        JsonRejection::JsonSyntaxError(_) => (
            "invalid_json",
            format!("The body is not valid JSON: {}", rej.body_text()),
        ),
        JsonRejection::JsonDataError(_) => ("invalid_body", rej.body_text()),
        _ if status == StatusCode::PAYLOAD_TOO_LARGE => (
            "payload_too_large",
            "The body is larger than 1 MiB.".to_string(),
        ),
        _ => ("invalid_body", rej.body_text()),
    };
    if status == StatusCode::BAD_REQUEST || status == StatusCode::UNPROCESSABLE_ENTITY {
        Error::Invalid {
            code,
            message,
            field: None,
        }
    } else {
        Error::Status {
            status,
            code,
            message,
        }
    }
}

/// A currency code outside the accepted list (`shared::Currency`) is well-formed JSON naming
/// something unusable: 422 `invalid_currency` with the JSON path of the code as `field`, where
/// other data errors stay 400 `invalid_body`. axum keeps serde_path_to_error's error (which
/// knows the path) as the source of its data-error rejection.
fn refused_currency(rej: &JsonRejection) -> Option<Error> {
    let p = data_error(rej)?;
    let inner = p.inner().to_string();
    if !inner.contains(shared::money::CURRENCY_REFUSED) {
        return None;
    }
    // serde_json appends " at line L column C"; the code and the accepted list come first.
    let message = match inner.rfind(" at line ") {
        Some(i) => inner[..i].to_string(),
        None => inner,
    };
    let path = p.path().to_string();
    Some(Error::Unprocessable {
        code: "invalid_currency",
        message,
        field: (path != ".").then_some(path),
    })
}

/// serde_path_to_error's error behind a data-error rejection: it knows the JSON path of what
/// was refused (axum keeps it as the rejection's source).
fn data_error(rej: &JsonRejection) -> Option<&serde_path_to_error::Error<serde_json::Error>> {
    if !matches!(rej, JsonRejection::JsonDataError(_)) {
        return None;
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(rej);
    while let Some(e) = source {
        if let Some(p) = e.downcast_ref::<serde_path_to_error::Error<serde_json::Error>>() {
            return Some(p);
        }
        source = e.source();
    }
    None
}

/// A field the request type does not have (`#[serde(deny_unknown_fields)]`, e.g.
/// `shared::CreateOrder`): 400 `unknown_field` naming it by its JSON path, with the fields
/// that are accepted, so a misspelling is found at once instead of being silently ignored.
fn unknown_field(rej: &JsonRejection) -> Option<Error> {
    let p = data_error(rej)?;
    let inner = p.inner().to_string();
    // serde's wording: "unknown field `promo`, expected one of `items`, `contact` at line 1 ..."
    let rest = inner.strip_prefix("unknown field `")?;
    let (name, rest) = rest.split_once('`')?;
    let rest = rest.rsplit_once(" at line ").map_or(rest, |(r, _)| r);
    let accepted = rest
        .trim_start_matches(", ")
        .replace("expected one of ", "")
        .replace("expected ", "")
        .replace('`', "");
    let path = p.path().to_string();
    let field = if path == "." || path.is_empty() {
        name.to_string()
    } else {
        path
    };
    let message = if accepted.is_empty() || accepted.starts_with("there are no fields") {
        format!("`{field}` is not a field this request takes; remove it.")
    } else {
        format!(
            "`{field}` is not a field this request takes (it takes {accepted}); check the spelling or remove it."
        )
    };
    Some(Error::Invalid {
        code: "unknown_field",
        message,
        field: Some(field),
    })
}

/// `Path` with the envelope on rejection.
pub struct AppPath<T>(pub T);

impl<T, S> FromRequestParts<S> for AppPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(AppPath(v)),
            Err(rej) => Err(match rej {
                PathRejection::FailedToDeserializePathParams(e) => Error::invalid(
                    "invalid_path",
                    format!("Bad value in the URL: {}", e.body_text()),
                ),
                other => Error::invalid("invalid_path", other.body_text()),
            }),
        }
    }
}

/// `Query` with the envelope on rejection.
pub struct AppQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for AppQuery<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(AppQuery(v)),
            Err(QueryRejection::FailedToDeserializeQueryString(e)) => Err(Error::invalid(
                "invalid_query",
                format!("Bad query parameter: {}", e.body_text()),
            )),
            Err(other) => Err(Error::invalid("invalid_query", other.body_text())),
        }
    }
}

/// Gives every non-JSON error response (axum's own 405, the timeout's 408, the body limit's
/// 413, a panic's 500) the envelope, so clients parse one shape whatever produced the error.
pub async fn envelope_errors(req: Request, next: Next) -> Response {
    let is_api = !req.uri().path().starts_with("/media/");
    let res = next.run(req).await;
    let status = res.status();
    if !is_api || !(status.is_client_error() || status.is_server_error()) {
        return res;
    }
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        return res;
    }
    let (code, message) = match status {
        StatusCode::NOT_FOUND => ("not_found", "Nothing here."),
        StatusCode::METHOD_NOT_ALLOWED => (
            "method_not_allowed",
            "This route does not accept that method.",
        ),
        StatusCode::REQUEST_TIMEOUT => ("timeout", "The request took too long; please try again."),
        StatusCode::PAYLOAD_TOO_LARGE => ("payload_too_large", "The body is larger than 1 MiB."),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ("unsupported_media_type", "Unsupported body type."),
        StatusCode::TOO_MANY_REQUESTS => (
            "rate_limited",
            "Too many requests; please slow down and try again shortly.",
        ),
        s if s.is_server_error() => (
            "internal_error",
            "Something went wrong on our side; please try again.",
        ),
        _ => ("bad_request", "The request could not be handled."),
    };
    let mut out = envelope(
        status,
        ErrorBody {
            code: code.into(),
            message: message.into(),
            field: None,
            rows: vec![],
        },
    );
    // Keep headers such as `Allow` and `Retry-After` that tell the client what to do.
    for name in [header::ALLOW, header::RETRY_AFTER] {
        if let Some(v) = res.headers().get(&name) {
            out.headers_mut().insert(name, v.clone());
        }
    }
    out
}
