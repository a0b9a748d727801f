//! The admin's one typed client for `/api/admin/…` (the README's "API at a glance").
//!
//! Same-origin `fetch` with the HttpOnly session cookie (credentials `same-origin`); every
//! state-changing call sends the session's `X-CSRF-Token`, which the login answer (and
//! `GET /api/admin/me`) hands over. The token lives in memory and in `sessionStorage`, so a
//! reload of the tab stays signed in while closing it forgets the token. Errors arrive as the
//! envelope `{"error":{"code","message","field"?}}` and become an [`ApiError`].

use std::cell::RefCell;
use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use shared::admin::{AdminRole, CsvRowError};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

const CSRF_KEY: &str = "admin.csrf";

thread_local! {
    static CSRF: RefCell<Option<String>> = const { RefCell::new(None) };
}

fn session_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.session_storage().ok().flatten()
}

/// Keeps (or, with `None`, forgets) the session's CSRF token.
pub fn set_csrf(token: Option<&str>) {
    CSRF.with(|c| *c.borrow_mut() = token.map(str::to_string));
    if let Some(s) = session_storage() {
        let _ = match token {
            Some(t) => s.set_item(CSRF_KEY, t),
            None => s.remove_item(CSRF_KEY),
        };
    }
}

fn csrf() -> Option<String> {
    CSRF.with(|c| c.borrow().clone()).or_else(|| {
        let t = session_storage()?.get_item(CSRF_KEY).ok().flatten()?;
        CSRF.with(|c| *c.borrow_mut() = Some(t.clone()));
        Some(t)
    })
}

/// Why a call failed, in a form the UI can show.
#[derive(Clone, Debug, PartialEq)]
pub enum ApiError {
    /// No answer: offline, connection refused.
    Network,
    /// An error status with (normally) the envelope.
    Status {
        status: u16,
        code: String,
        message: String,
        field: Option<String>,
        /// CSV import: every bad row (422 `invalid_csv`).
        rows: Vec<CsvRowError>,
    },
    /// A 2xx answer without the expected shape.
    Decode(String),
}

impl ApiError {
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The request field the error is about (`title.en`, `variants[0].price`…).
    pub fn field(&self) -> Option<&str> {
        match self {
            ApiError::Status { field, .. } => field.as_deref(),
            _ => None,
        }
    }

    pub fn code(&self) -> &str {
        match self {
            ApiError::Status { code, .. } => code,
            _ => "",
        }
    }

    pub fn rows(&self) -> &[CsvRowError] {
        match self {
            ApiError::Status { rows, .. } => rows,
            _ => &[],
        }
    }

    /// The session is gone (expired, signed out elsewhere): back to the sign-in page.
    pub fn is_signed_out(&self) -> bool {
        self.status() == Some(401)
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiError::Network => f.write_str("Can't reach the shop. Check your connection."),
            ApiError::Status { message, .. } if !message.is_empty() => f.write_str(message),
            ApiError::Status { status, .. } => write!(f, "The shop answered with error {status}."),
            ApiError::Decode(e) => write!(
                f,
                "The shop sent an answer the admin doesn't understand ({e})."
            ),
        }
    }
}

#[derive(Deserialize)]
struct Envelope {
    error: EnvelopeBody,
    #[serde(default)]
    rows: Vec<CsvRowError>,
}

#[derive(Deserialize)]
struct EnvelopeBody {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    field: Option<String>,
    #[serde(default)]
    rows: Vec<CsvRowError>,
}

/// Turns an error answer into an [`ApiError`]; `rows` may sit beside or inside `error`.
pub fn error_from(status: u16, body: &str) -> ApiError {
    match serde_json::from_str::<Envelope>(body) {
        Ok(env) => ApiError::Status {
            status,
            code: env.error.code,
            message: env.error.message,
            field: env.error.field,
            rows: if env.rows.is_empty() {
                env.error.rows
            } else {
                env.rows
            },
        },
        Err(_) => ApiError::Status {
            status,
            code: String::new(),
            message: String::new(),
            field: None,
            rows: vec![],
        },
    }
}

/// `GET /api/admin/me`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Me {
    pub id: i64,
    pub email: String,
    /// `None` from a server without roles: treated as staff, so nothing is shown that the
    /// server might refuse.
    #[serde(default)]
    pub role: Option<AdminRole>,
    #[serde(default)]
    pub csrf_token: Option<String>,
}

impl Me {
    /// Owners see the admins, the audit log and the refund button; staff do not.
    pub fn is_owner(&self) -> bool {
        self.role == Some(AdminRole::Owner)
    }
}

pub async fn get<T: DeserializeOwned>(path: &str) -> Result<T, ApiError> {
    call::<T, ()>("GET", path, None).await
}

pub async fn post<T: DeserializeOwned, B: Serialize>(path: &str, body: &B) -> Result<T, ApiError> {
    call("POST", path, Some(body)).await
}

pub async fn patch<T: DeserializeOwned, B: Serialize>(path: &str, body: &B) -> Result<T, ApiError> {
    call("PATCH", path, Some(body)).await
}

pub async fn put<T: DeserializeOwned, B: Serialize>(path: &str, body: &B) -> Result<T, ApiError> {
    call("PUT", path, Some(body)).await
}

pub async fn delete<T: DeserializeOwned>(path: &str) -> Result<T, ApiError> {
    call::<T, ()>("DELETE", path, None).await
}

/// A call whose answer may be empty (204), e.g. sign-out.
pub async fn post_empty(path: &str) -> Result<(), ApiError> {
    no_answer("POST", path, Some("{}".into())).await
}

/// A POST with a body whose answer is empty (204), e.g. a password change.
pub async fn post_json_empty<B: Serialize>(path: &str, body: &B) -> Result<(), ApiError> {
    let body = serde_json::to_string(body).map_err(|e| ApiError::Decode(e.to_string()))?;
    no_answer("POST", path, Some(body)).await
}

/// A DELETE answered 204 without a body.
pub async fn delete_empty(path: &str) -> Result<(), ApiError> {
    no_answer("DELETE", path, None).await
}

async fn no_answer(method: &str, path: &str, body: Option<String>) -> Result<(), ApiError> {
    let (status, body) = send(method, path, body).await?;
    if (200..300).contains(&status) {
        Ok(())
    } else {
        Err(error_from(status, &body))
    }
}

async fn call<T: DeserializeOwned, B: Serialize>(
    method: &str,
    path: &str,
    body: Option<&B>,
) -> Result<T, ApiError> {
    let body = body
        .map(serde_json::to_string)
        .transpose()
        .map_err(|e| ApiError::Decode(e.to_string()))?;
    let (status, body) = send(method, path, body).await?;
    decode(status, &body)
}

fn decode<T: DeserializeOwned>(status: u16, body: &str) -> Result<T, ApiError> {
    if (200..300).contains(&status) {
        serde_json::from_str(body).map_err(|e| ApiError::Decode(e.to_string()))
    } else {
        Err(error_from(status, body))
    }
}

async fn send(method: &str, path: &str, body: Option<String>) -> Result<(u16, String), ApiError> {
    let token = if method != "GET" { csrf() } else { None };
    let headers: Vec<(&'static str, &str)> =
        token.iter().map(|t| ("X-CSRF-Token", t.as_str())).collect();
    web_common::http::fetch_text(method, path, &headers, body.as_deref())
        .await
        .map_err(|_| ApiError::Network)
}

/// Uploads `file` as the multipart field `file` with `XMLHttpRequest`, which (unlike fetch)
/// reports upload progress: `progress` gets the sent percentage as it moves.
pub async fn upload<T: DeserializeOwned>(
    path: &str,
    file: &web_sys::File,
    progress: impl Fn(u32) + 'static,
) -> Result<T, ApiError> {
    let xhr = web_sys::XmlHttpRequest::new().map_err(|_| ApiError::Network)?;
    xhr.open("POST", path).map_err(|_| ApiError::Network)?;
    let _ = xhr.set_request_header("Accept", "application/json");
    if let Some(t) = csrf() {
        let _ = xhr.set_request_header("X-CSRF-Token", &t);
    }
    let form = web_sys::FormData::new().map_err(|_| ApiError::Network)?;
    form.append_with_blob_and_filename("file", file, &file.name())
        .map_err(|_| ApiError::Network)?;

    let on_progress =
        Closure::<dyn Fn(web_sys::ProgressEvent)>::new(move |e: web_sys::ProgressEvent| {
            if e.length_computable() && e.total() > 0.0 {
                progress(((e.loaded() / e.total()) * 100.0).round() as u32);
            }
        });
    if let Ok(up) = xhr.upload() {
        up.set_onprogress(Some(on_progress.as_ref().unchecked_ref()));
    }
    // Settles when the request ends either way; the status tells which.
    let done = js_sys::Promise::new(&mut |resolve, _reject| {
        let r = resolve.clone();
        let on_end = Closure::once_into_js(move || {
            let _ = r.call0(&wasm_bindgen::JsValue::NULL);
        });
        xhr.set_onloadend(Some(on_end.unchecked_ref()));
    });
    xhr.send_with_opt_form_data(Some(&form))
        .map_err(|_| ApiError::Network)?;
    let _ = JsFuture::from(done).await;
    drop(on_progress);
    let status = xhr.status().unwrap_or(0);
    if status == 0 {
        return Err(ApiError::Network);
    }
    let body = xhr.response_text().ok().flatten().unwrap_or_default();
    decode(status, &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_error_envelope_with_its_field_and_rows() {
        let e = error_from(
            400,
            r#"{"error":{"code":"invalid_price","message":"Too cheap.","field":"variants[0].price"}}"#,
        );
        assert_eq!(e.field(), Some("variants[0].price"));
        assert_eq!(e.to_string(), "Too cheap.");
        let e = error_from(
            422,
            r#"{"error":{"code":"invalid_csv","message":"2 bad rows"},"rows":[{"line":3,"column":"price","message":"not a number"},{"line":5,"message":"short row"}]}"#,
        );
        assert_eq!(e.rows().len(), 2);
        assert_eq!(e.rows()[0].column.as_deref(), Some("price"));
        let inside = error_from(
            422,
            r#"{"error":{"code":"invalid_csv","message":"x","rows":[{"line":2,"message":"m"}]}}"#,
        );
        assert_eq!(inside.rows().len(), 1);
        assert!(error_from(401, "{}").is_signed_out());
        assert_eq!(
            error_from(502, "<html>").to_string(),
            "The shop answered with error 502."
        );
    }
}
