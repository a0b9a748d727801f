//! Outbound calls to payment providers: bounded retries with backoff on network errors,
//! 429 and 5xx, and one way of turning an outage into the customer's 502.
//!
//! Written by hand because the shared `reqwest::Client` is what the app carries; retry
//! middleware crates would need a different client type throughout.

use std::time::Duration;

use axum::http::StatusCode;
use serde_json::Value;

use crate::error::Error;

const ATTEMPTS: u32 = 3;

/// The provider could not be reached, or kept failing on its side.
#[derive(Debug)]
pub struct Unavailable(pub String);

/// Sends the request `build` makes, up to three times. The builder must set the same
/// idempotency key each time, so a request that reached the provider before the connection
/// dropped is not carried out twice. Answers the final status and JSON body (`Null` if the
/// body is not JSON) of any answer that is not a 5xx or 429.
pub async fn send(
    provider: &str,
    build: impl Fn() -> reqwest::RequestBuilder,
) -> Result<(StatusCode, Value), Unavailable> {
    let mut last = String::new();
    for attempt in 0..ATTEMPTS {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(200 * 3u64.pow(attempt - 1))).await;
        }
        match build().send().await {
            Ok(res) => {
                let status =
                    StatusCode::from_u16(res.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
                let body = res.bytes().await.unwrap_or_default();
                if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
                    last = format!("HTTP {status}");
                    tracing::warn!(provider, %status, attempt, "provider error, retrying");
                    continue;
                }
                let v = serde_json::from_slice(&body).unwrap_or(Value::Null);
                return Ok((status, v));
            }
            Err(e) => {
                // reqwest errors name the URL but never the headers, so no secret leaks here.
                last = e.without_url().to_string();
                tracing::warn!(provider, error = %last, attempt, "provider unreachable, retrying");
            }
        }
    }
    Err(Unavailable(last))
}

/// What the customer sees when a provider is down: their order is kept and can be retried.
pub fn unavailable(provider: &str, e: &Unavailable) -> Error {
    tracing::error!(provider, error = %e.0, "provider unavailable");
    Error::Status {
        status: StatusCode::BAD_GATEWAY,
        code: "provider_unavailable",
        message: format!(
            "{provider} is not answering right now. Your order is saved: try again in a moment."
        ),
    }
}

/// A provider refused what we sent: our bug or its rule, not the customer's; the details go
/// to the log.
pub fn rejected(provider: &str, status: StatusCode, body: &Value) -> Error {
    tracing::error!(provider, %status, %body, "provider refused the request");
    Error::Status {
        status: StatusCode::BAD_GATEWAY,
        code: "provider_error",
        message: format!("{provider} could not take this payment. Please try another method."),
    }
}
