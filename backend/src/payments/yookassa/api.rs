//! The YooKassa API v3 calls the shop makes: HTTP Basic auth (shop id : secret key), JSON,
//! and an `Idempotence-Key` on every POST, reused on every retry of one operation.

use std::time::Duration;

use axum::http::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::config::YookassaConfig;
use crate::error::{Error, Result};
use crate::payments::outbound;

pub const NAME: &str = "YooKassa";

/// How often a 202 ("accepted, still processing") is asked again with the same key before
/// the shop gives up for now; the same key later finishes the same operation.
const PROCESSING_TRIES: u32 = 3;
/// The longest wait for a 202's `retry_after` (YooKassa sends milliseconds, up to minutes):
/// a customer or a merchant is waiting for this answer.
const MAX_WAIT: Duration = Duration::from_secs(2);

pub struct Api {
    url: String,
    shop_id: String,
    secret: SecretString,
    http: reqwest::Client,
}

impl Api {
    pub fn new(c: &YookassaConfig, http: &reqwest::Client) -> Self {
        Api {
            url: c.api_url.clone(),
            shop_id: c.shop_id.clone(),
            secret: c.secret_key.clone(),
            http: http.clone(),
        }
    }

    /// POSTs `body` under the idempotence key `key`; answers the final status and JSON.
    /// Network errors, 5xx and 429 are retried with the same key by [`outbound::send`]; a 202
    /// is asked again after YooKassa's `retry_after`, as its SDKs do.
    pub async fn post(&self, path: &str, body: &Value, key: &str) -> Result<(StatusCode, Value)> {
        let url = format!("{}{}", self.url, path);
        let key = idempotence_key(key);
        let body = body.to_string();
        for _ in 0..PROCESSING_TRIES {
            let (status, v) = outbound::send(NAME, || {
                self.http
                    .post(&url)
                    .basic_auth(&self.shop_id, Some(self.secret.expose_secret()))
                    .header("Idempotence-Key", &key)
                    .header("Content-Type", "application/json")
                    .body(body.clone())
            })
            .await
            .map_err(|e| outbound::unavailable(NAME, &e))?;
            if status != StatusCode::ACCEPTED {
                return Ok((status, v));
            }
            let wait = v["retry_after"]
                .as_u64()
                .map(Duration::from_millis)
                .unwrap_or(Duration::from_millis(500))
                .min(MAX_WAIT);
            tokio::time::sleep(wait).await;
        }
        Err(outbound::unavailable(
            NAME,
            &outbound::Unavailable("still processing (HTTP 202)".into()),
        ))
    }

    /// GETs an object (`/payments/{id}`, `/refunds/{id}`). `None` for a 404: no such object.
    pub async fn get(&self, path: &str) -> Result<Option<Value>> {
        let url = format!("{}{}", self.url, path);
        let (status, v) = outbound::send(NAME, || {
            self.http
                .get(&url)
                .basic_auth(&self.shop_id, Some(self.secret.expose_secret()))
        })
        .await
        .map_err(|e| outbound::unavailable(NAME, &e))?;
        match status {
            s if s.is_success() => Ok(Some(v)),
            StatusCode::NOT_FOUND => Ok(None),
            s => Err(outbound::rejected(NAME, s, &v)),
        }
    }
}

/// A key within YooKassa's limit (`[0-9a-zA-Z+-_.]{1,64}`): ours as it is when it fits, else
/// a digest of it, so a long refund key stays stable across retries.
pub fn idempotence_key(key: &str) -> String {
    let fits = key.len() <= 64
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'_' | b'.'));
    if fits {
        key.to_string()
    } else {
        format!(
            "shop-{}",
            &hex::encode(Sha256::digest(key.as_bytes()))[..59]
        )
    }
}

/// One object id as one path segment.
pub fn path_id(id: &str) -> String {
    form_urlencoded::byte_serialize(id.as_bytes()).collect()
}

/// YooKassa's error `code` and `description` (`{"type":"error", …}`), for messages.
pub fn error_of(v: &Value) -> (&str, &str) {
    (
        v["code"].as_str().unwrap_or(""),
        v["description"].as_str().unwrap_or(""),
    )
}

pub fn unexpected(status: StatusCode, v: &Value) -> Error {
    outbound::rejected(NAME, status, v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_fit_yookassas_pattern() {
        assert_eq!(
            idempotence_key("shop-checkout-12-1796000000-0"),
            "shop-checkout-12-1796000000-0"
        );
        let long = format!("shop-refund-{}-{}-{}-retry2", i64::MAX, i64::MAX, i64::MAX);
        let k = idempotence_key(&long);
        assert_eq!(k.len(), 64);
        assert_eq!(k, idempotence_key(&long));
        assert!(k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
        assert_ne!(idempotence_key("a b"), "a b");
    }
}
