//! The PayPal REST calls the shop makes, with the OAuth token cached until shortly before it
//! expires and renewed once when PayPal answers 401 anyway.

use std::collections::HashMap;
use std::sync::{Arc, Mutex as StdMutex, OnceLock};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use tokio::sync::Mutex;

use crate::config::PaypalConfig;
use crate::error::{Error, Result};
use crate::payments::outbound;

const NAME: &str = "PayPal";
/// Renew this long before PayPal says the token expires.
const EARLY: Duration = Duration::from_secs(120);

pub struct Api {
    url: String,
    client_id: String,
    secret: SecretString,
    pub webhook_id: String,
    http: reqwest::Client,
    token: Mutex<Option<(String, Instant)>>,
}

/// Keyed by (API URL, client id).
type Registry = StdMutex<HashMap<(String, String), Arc<Api>>>;

/// One API (and token cache) per PayPal account, shared by the provider (checkout, refunds)
/// and the routes (return, webhook), which only see the configuration.
pub fn for_config(c: &PaypalConfig, http: &reqwest::Client) -> Arc<Api> {
    static APIS: OnceLock<Registry> = OnceLock::new();
    let mut m = APIS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    m.entry((c.api_url.clone(), c.client_id.clone()))
        .or_insert_with(|| {
            Arc::new(Api {
                url: c.api_url.clone(),
                client_id: c.client_id.clone(),
                secret: c.client_secret.clone(),
                webhook_id: c.webhook_id.clone(),
                http: http.clone(),
                token: Mutex::new(None),
            })
        })
        .clone()
}

impl Api {
    async fn token(&self, stale: Option<&str>) -> Result<String> {
        let mut slot = self.token.lock().await;
        if let Some((t, until)) = slot.as_ref() {
            if Instant::now() < *until && stale != Some(t.as_str()) {
                return Ok(t.clone());
            }
        }
        let url = format!("{}/v1/oauth2/token", self.url);
        let (status, v) = outbound::send(NAME, || {
            self.http
                .post(&url)
                .basic_auth(&self.client_id, Some(self.secret.expose_secret()))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body("grant_type=client_credentials")
        })
        .await
        .map_err(|e| outbound::unavailable(NAME, &e))?;
        let token = match (status.is_success(), v["access_token"].as_str()) {
            (true, Some(t)) => t.to_string(),
            _ => return Err(outbound::rejected(NAME, status, &v)),
        };
        let life = Duration::from_secs(v["expires_in"].as_u64().unwrap_or(300));
        *slot = Some((token.clone(), Instant::now() + life.saturating_sub(EARLY)));
        Ok(token)
    }

    /// A JSON call with the bearer token; a 401 renews the token once and tries again.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<String>,
        request_id: Option<&str>,
    ) -> Result<(StatusCode, Value)> {
        let url = format!("{}{}", self.url, path);
        let mut token = self.token(None).await?;
        for renewed in [false, true] {
            let (status, v) = outbound::send(NAME, || {
                let mut rb = self
                    .http
                    .request(method.clone(), &url)
                    .bearer_auth(&token)
                    .header("Content-Type", "application/json")
                    .header("Prefer", "return=representation");
                if let Some(id) = request_id {
                    rb = rb.header("PayPal-Request-Id", id);
                }
                if let Some(b) = &body {
                    rb = rb.body(b.clone());
                }
                rb
            })
            .await
            .map_err(|e| outbound::unavailable(NAME, &e))?;
            if status == StatusCode::UNAUTHORIZED && !renewed {
                token = self.token(Some(&token)).await?;
                continue;
            }
            return Ok((status, v));
        }
        unreachable!("the loop returns")
    }

    /// Asks PayPal whether a webhook delivery is genuine. The event goes back byte for byte as
    /// it came (re-serialising could change it and fail the check), so the request body is
    /// assembled around the raw text.
    pub async fn verify_webhook(&self, headers: &[(&str, &str); 5], raw: &str) -> Result<bool> {
        let s = |v: &str| Value::String(v.to_string()).to_string();
        let [algo, cert, id, sig, time] = headers;
        let body = format!(
            "{{\"auth_algo\":{},\"cert_url\":{},\"transmission_id\":{},\"transmission_sig\":{},\
             \"transmission_time\":{},\"webhook_id\":{},\"webhook_event\":{}}}",
            s(algo.1),
            s(cert.1),
            s(id.1),
            s(sig.1),
            s(time.1),
            s(&self.webhook_id),
            raw
        );
        let (status, v) = self
            .call(
                reqwest::Method::POST,
                "/v1/notifications/verify-webhook-signature",
                Some(body),
                None,
            )
            .await?;
        if !status.is_success() {
            return Err(outbound::rejected(NAME, status, &v));
        }
        Ok(v["verification_status"] == "SUCCESS")
    }
}

/// The first `issue` of a PayPal error answer (`ORDER_ALREADY_CAPTURED`, …).
pub fn issue(v: &Value) -> &str {
    v["details"][0]["issue"].as_str().unwrap_or("")
}

pub fn unexpected(status: StatusCode, v: &Value) -> Error {
    outbound::rejected(NAME, status, v)
}
