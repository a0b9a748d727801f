//! One HTTP round trip with the browser's `fetch`, returning the status and the body text.
//!
//! Each app decodes the body itself (the storefront through the browser's JSON, the admin with
//! serde_json) and maps a failure onto its own error type; what is shared is the request
//! building, which is the part that must be the same: `Accept: application/json`, a JSON
//! `Content-Type` only when there is a body, and same-origin credentials (the admin's session
//! cookie; the storefront's `Authorization: tma …` header is one of `headers`).

use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Headers, Request, RequestCredentials, RequestInit, Response};

/// Why a round trip produced no answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FetchError {
    /// No answer: offline, DNS, connection refused, or the request could not be built.
    Network,
    /// The value of this header is not a valid HTTP header value (e.g. a control character).
    BadHeader(&'static str),
}

/// Sends `method path` with `headers` (name, value) and an optional JSON `body`; answers
/// `(status, body text)` for every HTTP answer, error statuses included.
pub async fn fetch_text(
    method: &str,
    path: &str,
    headers: &[(&'static str, &str)],
    body: Option<&str>,
) -> Result<(u16, String), FetchError> {
    let window = web_sys::window().ok_or(FetchError::Network)?;
    let h = Headers::new().map_err(|_| FetchError::Network)?;
    let _ = h.set("Accept", "application/json");
    for (name, value) in headers {
        h.set(name, value)
            .map_err(|_| FetchError::BadHeader(name))?;
    }
    let init = RequestInit::new();
    if let Some(body) = body {
        let _ = h.set("Content-Type", "application/json");
        init.set_body(&body.into());
    }
    init.set_method(method);
    init.set_headers(&h);
    init.set_credentials(RequestCredentials::SameOrigin);
    let request = Request::new_with_str_and_init(path, &init).map_err(|_| FetchError::Network)?;
    let response: Response = JsFuture::from(window.fetch_with_request(&request))
        .await
        .map_err(|_| FetchError::Network)?
        .unchecked_into();
    let text = response.text().map_err(|_| FetchError::Network)?;
    let body = JsFuture::from(text)
        .await
        .map_err(|_| FetchError::Network)?
        .as_string()
        .unwrap_or_default();
    Ok((response.status(), body))
}
