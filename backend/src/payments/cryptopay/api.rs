//! The Crypto Pay API calls the shop makes: `POST <CRYPTOPAY_API_URL>/<method>` with a JSON
//! body and the `Crypto-Pay-API-Token` header, answered `{"ok":true,"result":…}` or
//! `{"ok":false,"error":{"code","name"}}`.
//!
//! Written by hand: the Rust SDKs for Crypto Pay bring their own HTTP client and models for
//! every method, where the shop needs four calls over the client it already has.

use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};

use crate::config::CryptopayConfig;
use crate::error::{Error, Result};
use crate::payments::outbound;

pub const NAME: &str = "Crypto Pay";

pub struct Api {
    url: String,
    token: SecretString,
    http: reqwest::Client,
}

/// Crypto Pay's refusal of a call: `error.name` (`UNAUTHORIZED`, `METHOD_DISABLED`, …) and
/// `error.code` (an HTTP-like number).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub code: i64,
    pub name: String,
}

impl Api {
    pub fn new(c: &CryptopayConfig, http: &reqwest::Client) -> Self {
        Api {
            url: c.api_url.trim_end_matches('/').to_string(),
            token: c.token.clone(),
            http: http.clone(),
        }
    }

    /// Calls `method` with `params`; the outer error is an outage (502), the inner one Crypto
    /// Pay's own refusal, for the caller to read.
    pub async fn call(
        &self,
        method: &str,
        params: &Value,
    ) -> Result<std::result::Result<Value, Refused>> {
        let url = format!("{}/{method}", self.url);
        let body = params.to_string();
        let (status, v) = outbound::send(NAME, || {
            self.http
                .post(&url)
                .header("Crypto-Pay-API-Token", self.token.expose_secret())
                .header("Content-Type", "application/json")
                .body(body.clone())
        })
        .await
        .map_err(|e| outbound::unavailable(NAME, &e))?;
        match v["ok"].as_bool() {
            Some(true) => Ok(Ok(v["result"].clone())),
            Some(false) => {
                let e = &v["error"];
                // The API answers an object; an older shape (and some proxies) a bare string.
                let name = e["name"]
                    .as_str()
                    .or_else(|| e.as_str())
                    .unwrap_or("UNKNOWN")
                    .to_string();
                let code = e["code"].as_i64().unwrap_or(status.as_u16() as i64);
                tracing::warn!(method, code, name, "crypto pay refused a call");
                Ok(Err(Refused { code, name }))
            }
            None => Err(outbound::rejected(NAME, status, &v)),
        }
    }

    /// Like [`Api::call`], with any refusal turned into the customer's 502.
    pub async fn must(&self, method: &str, params: &Value) -> Result<Value> {
        match self.call(method, params).await? {
            Ok(v) => Ok(v),
            Err(r) => Err(refused(method, &r)),
        }
    }
}

/// A refusal the caller cannot act on: our bug or the account's setup, so details go to the
/// log and the customer is told to try another way.
pub fn refused(method: &str, r: &Refused) -> Error {
    outbound::rejected(
        NAME,
        axum::http::StatusCode::BAD_GATEWAY,
        &json!({"method": method, "error": {"code": r.code, "name": r.name}}),
    )
}
