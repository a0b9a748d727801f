//! The buyer's way back from PayPal (return and cancel) and `POST /webhooks/paypal`.
//!
//! The return route and the webhook may both try to capture and fulfil the same order; the
//! capture shares one `PayPal-Request-Id` per PayPal order and fulfilment is idempotent per
//! capture id, so the order is paid once whichever comes first.
//!
//! Both act only on PayPal orders the shop created (kept at checkout): a return naming any
//! other PayPal order, or a notification about one, makes no call to PayPal and changes
//! nothing. A webhook whose transmission headers could not have come from PayPal is refused
//! before PayPal is asked to verify it.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Redirect;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use shared::PaymentMethod;

use super::api::{self, Api};
use super::{parse_amount, urlencode};
use crate::db;
use crate::error::{AppQuery, Error, Result};
use crate::orders::lifecycle::{self, By, Ending, Outcome, PaymentSuccess};
use crate::orders::repo;
use crate::payments::order_of_checkout;
use crate::payments::processed::{mark_seen, order_exists, seen};
use crate::payments::refund::provider_refunded;
use crate::state::AppState;

const SOURCE: &str = "paypal";
const RAIL: PaymentMethod = PaymentMethod::Paypal;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/payments/paypal/return", get(back))
        .route("/payments/paypal/cancel", get(cancel))
        .route("/webhooks/paypal", post(webhook))
}

fn api_of(st: &AppState) -> Result<Arc<Api>> {
    let cfg = st
        .config
        .paypal
        .as_ref()
        .ok_or_else(|| Error::NotFound("PayPal is not configured.".into()))?;
    Ok(api::for_config(cfg, &st.http))
}

#[derive(Deserialize)]
struct Back {
    order: Option<i64>,
    token: Option<String>,
}

/// What a capture came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Captured {
    Paid,
    Pending,
    Failed,
}

async fn back(State(st): State<AppState>, AppQuery(q): AppQuery<Back>) -> Result<Redirect> {
    let api = api_of(&st)?;
    let (Some(order), Some(token)) = (q.order, q.token.filter(|t| !t.is_empty())) else {
        return Err(Error::invalid(
            "invalid_query",
            "The PayPal return needs order and token.",
        ));
    };
    // Only the PayPal order the shop created for this order is captured: anything else in
    // `token` would have the shop call PayPal on a stranger's behalf.
    if order_of_checkout(&st.db, PaymentMethod::Paypal, &token).await? != Some(order) {
        tracing::warn!(
            order_id = order,
            "paypal return with a token the shop did not issue"
        );
        return Err(Error::invalid(
            "unknown_paypal_order",
            "This PayPal payment was not started by the shop for this order.",
        ));
    }
    let outcome = match capture(&st, &api, order, &token).await {
        Ok(c) => c,
        Err(e) => {
            // The buyer lands on their order either way; the webhook finishes the job.
            tracing::warn!(order_id = order, error = %e, "paypal capture on return failed");
            Captured::Pending
        }
    };
    let flag = match outcome {
        Captured::Paid => "paid=paypal",
        Captured::Pending => "pending=paypal",
        Captured::Failed => "failed=paypal",
    };
    Ok(Redirect::to(&format!(
        "{}/orders/{order}?{flag}",
        st.config.public_url
    )))
}

/// The buyer gave up at PayPal: back to the cart; the order keeps its reservation until it
/// lapses, so paying again right away still finds the goods.
async fn cancel(State(st): State<AppState>) -> Result<Redirect> {
    api_of(&st)?;
    Ok(Redirect::to(&format!(
        "{}/cart?cancelled=paypal",
        st.config.public_url
    )))
}

/// Captures an approved PayPal order (once, whoever asks) and fulfils a completed capture.
/// `paypal_order` is one the shop created for `order_id`.
async fn capture(st: &AppState, api: &Api, order_id: i64, paypal_order: &str) -> Result<Captured> {
    let path = format!("/v2/checkout/orders/{}/capture", urlencode(paypal_order));
    // The same request id for every capture of this order: a retry, a reload of the return
    // page and the webhook all get PayPal's first answer instead of a second capture.
    let request_id = format!("shop-capture-{paypal_order}");
    let (status, v) = api
        .call(
            reqwest::Method::POST,
            &path,
            Some("{}".into()),
            Some(&request_id),
        )
        .await?;
    let order = if status.is_success() {
        v
    } else if api::issue(&v) == "ORDER_ALREADY_CAPTURED" {
        // Captured by another request id (a different instance, an operator): look at the
        // capture itself before believing it.
        let (s, o) = api
            .call(
                reqwest::Method::GET,
                &format!("/v2/checkout/orders/{}", urlencode(paypal_order)),
                None,
                None,
            )
            .await?;
        if !s.is_success() {
            return Err(api::unexpected(s, &o));
        }
        o
    } else if status.is_client_error() {
        // Not approved, declined instrument, unknown order: nothing to fulfil.
        tracing::info!(
            paypal_order,
            issue = api::issue(&v),
            "paypal capture refused"
        );
        return Ok(Captured::Failed);
    } else {
        return Err(api::unexpected(status, &v));
    };
    let cap = &order["purchase_units"][0]["payments"]["captures"][0];
    match cap["status"].as_str() {
        Some("COMPLETED") => {
            pay_capture(st, order_id, cap, &order.to_string()).await?;
            Ok(Captured::Paid)
        }
        Some("PENDING") => {
            note(st, order_id, "payment_pending", "PayPal capture pending").await?;
            Ok(Captured::Pending)
        }
        _ => Ok(Captured::Failed),
    }
}

/// Pays with a completed capture; [`crate::orders::lifecycle::paid`] checks amount and currency
/// against the order and flags a mismatch for refund instead of paying it.
async fn pay_capture(st: &AppState, order_id: i64, cap: &Value, raw: &str) -> Result<Outcome> {
    let (Some(id), Some((amount, cur))) = (cap["id"].as_str(), parse_amount(&cap["amount"])) else {
        return Err(Error::internal("PayPal capture without id or amount"));
    };
    if !order_exists(&st.db, order_id).await? {
        tracing::warn!(order_id, "paypal capture for an order we do not have");
        return Ok(Outcome::AlreadyRecorded);
    }
    lifecycle::paid(
        st,
        &PaymentSuccess {
            order_id,
            rail: RAIL,
            provider_payment_id: id.to_string(),
            amount_minor: amount,
            currency: cur.as_str().to_string(),
            raw: Some(raw.to_string()),
        },
    )
    .await
}

async fn note(st: &AppState, order_id: i64, kind: &str, text: &str) -> Result<()> {
    if !order_exists(&st.db, order_id).await? {
        return Ok(());
    }
    let mut conn = st.db.pool.acquire().await?;
    repo::event(
        &mut conn,
        order_id,
        kind,
        None,
        Some(text),
        Some(SOURCE),
        db::now(),
    )
    .await
}

pub(crate) const SIG_HEADERS: [&str; 5] = [
    "paypal-auth-algo",
    "paypal-cert-url",
    "paypal-transmission-id",
    "paypal-transmission-sig",
    "paypal-transmission-time",
];

/// The signature headers (name, value), the raw body and the event it holds.
pub(crate) type Webhook<'a> = ([(&'static str, &'a str); 5], &'a str, Value);

/// What the webhook reads before it asks PayPal to verify: the five signature headers and the
/// body as a UTF-8 JSON event. Pure, so the fuzz targets (fuzz/) call it as the route does.
pub(crate) fn read_webhook<'a>(headers: &'a HeaderMap, body: &'a [u8]) -> Result<Webhook<'a>> {
    let mut got: [(&'static str, &'a str); 5] = [("", ""); 5];
    for (i, name) in SIG_HEADERS.iter().enumerate() {
        let v = headers
            .get(*name)
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty())
            .ok_or_else(|| {
                Error::invalid(
                    "invalid_signature",
                    format!("The {name} header is missing."),
                )
            })?;
        got[i] = (name, v);
    }
    let raw = std::str::from_utf8(body)
        .map_err(|_| Error::invalid("invalid_json", "The event is not UTF-8 JSON."))?;
    let event: Value = serde_json::from_str(raw)
        .map_err(|_| Error::invalid("invalid_json", "The event is not JSON."))?;
    Ok((got, raw, event))
}

async fn webhook(
    State(st): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>> {
    let api = api_of(&st)?;
    let api_url = st
        .config
        .paypal
        .as_ref()
        .map(|c| c.api_url.as_str())
        .unwrap_or_default();
    let (got, raw, event) = read_webhook(&headers, &body)?;
    // Nothing that could not be PayPal's costs us a verify call.
    if let Err(why) = transmission_shape(&got, api_url, db::now()) {
        tracing::warn!(why, "paypal webhook refused before verification");
        return Err(Error::invalid("invalid_signature", why));
    }
    if !api.verify_webhook(&got, raw).await? {
        tracing::warn!("paypal webhook failed verification");
        return Err(Error::invalid(
            "invalid_signature",
            "PayPal did not confirm this notification.",
        ));
    }
    let event: Event = serde_json::from_value(event)
        .map_err(|_| Error::invalid("invalid_event", "The event has no id or event_type."))?;
    let id = event.id.as_str();
    if seen(&st.db, SOURCE, id).await? {
        return Ok(Json(json!({"received": true, "duplicate": true})));
    }
    let res = &event.resource;
    let about: Resource = serde_json::from_value(res.clone()).unwrap_or_default();
    match event.event_type.as_str() {
        "CHECKOUT.ORDER.APPROVED" => {
            if let Some(paypal_order) = about.id.as_deref() {
                match order_of_checkout(&st.db, PaymentMethod::Paypal, paypal_order).await? {
                    Some(order_id) => {
                        capture(&st, &api, order_id, paypal_order).await?;
                    }
                    None => {
                        tracing::warn!(
                            paypal_order,
                            "approval of a PayPal order the shop did not create; ignored"
                        )
                    }
                }
            }
        }
        "PAYMENT.CAPTURE.COMPLETED" => {
            if let Some(order_id) = order_of_capture(&st, &about).await? {
                if about.status.as_deref() == Some("COMPLETED") {
                    pay_capture(&st, order_id, res, raw).await?;
                }
            }
        }
        "PAYMENT.CAPTURE.PENDING" => {
            if let Some(order_id) = order_of_capture(&st, &about).await? {
                note(&st, order_id, "payment_pending", "PayPal capture pending").await?;
            }
        }
        "PAYMENT.CAPTURE.DENIED" => {
            if let Some(order_id) = order_of_capture(&st, &about).await? {
                lifecycle::end_unpaid(
                    &st,
                    order_id,
                    Ending::PaymentFailed,
                    Some("PayPal payment denied"),
                    By::Rail(RAIL),
                )
                .await?;
            }
        }
        "PAYMENT.CAPTURE.REFUNDED" | "PAYMENT.CAPTURE.REVERSED" => {
            refunded(&st, &about, res).await?
        }
        other => tracing::debug!(event = id, kind = other, "paypal event ignored"),
    }
    mark_seen(&st.db, SOURCE, id).await?;
    Ok(Json(json!({"received": true})))
}

/// A webhook event: its id, its type, and the resource it is about.
#[derive(Debug, Deserialize)]
struct Event {
    id: String,
    event_type: String,
    #[serde(default)]
    resource: Value,
}

/// What the webhook reads of a resource (a capture, or a refund) to find what it is about; the
/// amount is read with [`super::parse_amount`].
#[derive(Debug, Default, Deserialize)]
struct Resource {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    supplementary_data: Option<Supplementary>,
    #[serde(default)]
    links: Vec<Link>,
}

#[derive(Debug, Default, Deserialize)]
struct Supplementary {
    #[serde(default)]
    related_ids: RelatedIds,
}

#[derive(Debug, Default, Deserialize)]
struct RelatedIds {
    #[serde(default)]
    order_id: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Link {
    #[serde(default)]
    rel: String,
    #[serde(default)]
    href: String,
}

/// Our order of a capture resource: through the PayPal order it belongs to
/// (`supplementary_data.related_ids.order_id`), when the shop created that PayPal order. A
/// capture's `custom_id` alone is not enough: any PayPal order on the account can carry ours.
async fn order_of_capture(st: &AppState, capture: &Resource) -> Result<Option<i64>> {
    let paypal_order = capture
        .supplementary_data
        .as_ref()
        .and_then(|s| s.related_ids.order_id.as_deref());
    let found = match paypal_order {
        Some(p) => order_of_checkout(&st.db, PaymentMethod::Paypal, p).await?,
        None => None,
    };
    if found.is_none() {
        tracing::warn!(capture = ?capture.id, paypal_order, "paypal capture of an order the shop did not create; ignored");
    }
    Ok(found)
}

/// PayPal's own API hosts, where the certificate of a genuine transmission lives.
const PAYPAL_HOSTS: &[&str] = &[
    "api.paypal.com",
    "api-m.paypal.com",
    "api.sandbox.paypal.com",
    "api-m.sandbox.paypal.com",
];

/// How far a transmission's time may be from ours. PayPal sends each delivery (and each retry)
/// as a new transmission stamped when sent; ten minutes leave room for clock skew and a slow
/// delivery. The window is ours: PayPal documents none.
const TRANSMISSION_WINDOW_SECS: i64 = 600;

/// Checks the transmission headers (in [`SIG_HEADERS`] order) for what PayPal's could be
/// before asking PayPal to verify them, so that made-up headers cost no call to PayPal.
/// The certificate must be served over https by PayPal's own API, or by the API the shop is
/// configured with (`PAYPAL_API_URL`): the shop already trusts that with its credentials,
/// and it is where a test's local PayPal, or a proxy in front of PayPal, serves it.
fn transmission_shape(
    headers: &[(&str, &str); 5],
    api_url: &str,
    now: i64,
) -> std::result::Result<(), &'static str> {
    let [algo, cert, id, sig, time] = headers.map(|(_, v)| v);
    if !matches!(algo, "SHA256withRSA" | "SHA384withRSA" | "SHA512withRSA") {
        return Err("paypal-auth-algo is not one PayPal uses.");
    }
    let cert = reqwest::Url::parse(cert).map_err(|_| "paypal-cert-url is not a URL.")?;
    let on_paypal = cert.scheme() == "https"
        && cert.port().is_none()
        && cert.host_str().is_some_and(|h| PAYPAL_HOSTS.contains(&h));
    let on_api = reqwest::Url::parse(api_url).is_ok_and(|api| {
        api.scheme() == cert.scheme()
            && api.host_str() == cert.host_str()
            && api.port_or_known_default() == cert.port_or_known_default()
    });
    if !(on_paypal || on_api) || !cert.username().is_empty() || cert.password().is_some() {
        return Err("paypal-cert-url is not on PayPal's API.");
    }
    if id.len() > 100
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err("paypal-transmission-id is not a transmission id.");
    }
    if sig.len() > 2048
        || !sig
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
    {
        return Err("paypal-transmission-sig is not a base64 signature.");
    }
    let sent = time::OffsetDateTime::parse(time, &time::format_description::well_known::Rfc3339)
        .map_err(|_| "paypal-transmission-time is not an RFC 3339 time.")?
        .unix_timestamp();
    if (now - sent).abs() > TRANSMISSION_WINDOW_SECS {
        return Err("paypal-transmission-time is too far from now.");
    }
    Ok(())
}

/// A refund (or a reversal) resource: the capture it belongs to is its `up` link; it is
/// recorded by its own id, so the admin's call that made it and this notification count once.
async fn refunded(st: &AppState, about: &Resource, res: &Value) -> Result<()> {
    let capture = about
        .links
        .iter()
        .find(|l| l.rel == "up")
        .and_then(|l| l.href.trim_end_matches('/').rsplit('/').next())
        .filter(|c| !c.is_empty());
    let Some(r) = super::refund_of(res) else {
        tracing::info!(refund = ?about.id, status = ?about.status, "paypal refund not completed; not recorded");
        return Ok(());
    };
    if let Some(capture) = capture {
        if provider_refunded(st, RAIL, capture, &r, By::Rail(RAIL))
            .await?
            .is_none()
        {
            tracing::info!(capture, "paypal refund for a payment we do not know");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_795_608_001; // 2026-11-25T12:00:01Z
    const API: &str = "https://api-m.sandbox.paypal.com";

    fn headers<'a>(
        algo: &'a str,
        cert: &'a str,
        id: &'a str,
        time: &'a str,
    ) -> [(&'a str, &'a str); 5] {
        [
            ("paypal-auth-algo", algo),
            ("paypal-cert-url", cert),
            ("paypal-transmission-id", id),
            ("paypal-transmission-sig", "c2lnLXR4LTE="),
            ("paypal-transmission-time", time),
        ]
    }

    const CERT: &str =
        "https://api.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-a5cafa77";
    const ID: &str = "69cd13f0-d67a-11e5-baa3-778b53f4ae55";
    const TIME: &str = "2026-11-25T12:00:01Z";

    #[test]
    fn paypal_shaped_transmissions_pass() {
        assert_eq!(
            transmission_shape(&headers("SHA256withRSA", CERT, ID, TIME), API, NOW),
            Ok(())
        );
        for host in PAYPAL_HOSTS {
            let cert = format!("https://{host}/v1/notifications/certs/CERT-1");
            assert_eq!(
                transmission_shape(&headers("SHA256withRSA", &cert, ID, TIME), API, NOW),
                Ok(())
            );
        }
        // Milliseconds, and nine minutes either way.
        assert!(transmission_shape(
            &headers("SHA256withRSA", CERT, ID, "2026-11-25T12:09:00.000Z"),
            API,
            NOW
        )
        .is_ok());
        assert!(
            transmission_shape(&headers("SHA256withRSA", CERT, ID, TIME), API, NOW + 540).is_ok()
        );
        // A certificate on the configured API (a local PayPal in tests), whatever its scheme.
        let local = "http://127.0.0.1:4010/v1/notifications/certs/CERT-1";
        assert!(transmission_shape(
            &headers("SHA256withRSA", local, ID, TIME),
            "http://127.0.0.1:4010",
            NOW
        )
        .is_ok());
    }

    #[test]
    fn other_transmissions_are_refused() {
        let bad = |algo: &str, cert: &str, id: &str, time: &str| {
            transmission_shape(&headers(algo, cert, id, time), API, NOW).is_err()
        };
        assert!(bad("none", CERT, ID, TIME));
        assert!(bad("sha256withrsa ", CERT, ID, TIME));
        for cert in [
            "http://api.paypal.com/v1/notifications/certs/C",
            "https://api.paypal.com.evil.example/v1/notifications/certs/C",
            "https://evil.example/api.paypal.com/cert",
            "https://api.paypal.com:8443/cert",
            "https://user@api.paypal.com/cert",
            "https://www.paypal.com/cert",
            "not a url",
        ] {
            assert!(bad("SHA256withRSA", cert, ID, TIME), "{cert}");
        }
        // The configured API's host on another port is not the configured API.
        let local = "http://127.0.0.1:4011/cert";
        assert!(transmission_shape(
            &headers("SHA256withRSA", local, ID, TIME),
            "http://127.0.0.1:4010",
            NOW
        )
        .is_err());
        assert!(bad("SHA256withRSA", CERT, &"x".repeat(101), TIME));
        assert!(bad("SHA256withRSA", CERT, "id with spaces", TIME));
        assert!(bad("SHA256withRSA", CERT, ID, "yesterday"));
        assert!(bad("SHA256withRSA", CERT, ID, "2026-11-25T11:49:00Z"));
        assert!(bad("SHA256withRSA", CERT, ID, "2026-11-25T12:11:00Z"));
    }
}
