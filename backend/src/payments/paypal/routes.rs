//! The buyer's way back from PayPal (return and cancel) and `POST /webhooks/paypal`.
//!
//! The return route and the webhook may both try to capture and fulfil the same order; the
//! capture shares one `PayPal-Request-Id` per PayPal order and fulfilment is idempotent per
//! capture id, so the order is paid once whichever comes first.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Redirect;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use shared::OrderStatus;

use super::api::{self, Api};
use super::{parse_amount, urlencode};
use crate::db;
use crate::error::{AppQuery, Error, Result};
use crate::orders::repo;
use crate::payments::fulfil::{Outcome, PaymentSuccess};
use crate::payments::stripe::ops;
use crate::state::AppState;

const SOURCE: &str = "paypal";

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
    let outcome = match capture(&st, &api, &token).await {
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
async fn capture(st: &AppState, api: &Api, paypal_order: &str) -> Result<Captured> {
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
    let unit = &order["purchase_units"][0];
    let cap = &unit["payments"]["captures"][0];
    let custom = cap["custom_id"].as_str().or(unit["custom_id"].as_str());
    let Some(order_id) = custom.and_then(|c| c.parse::<i64>().ok()) else {
        tracing::warn!(paypal_order, "paypal order names no order of ours");
        return Ok(Captured::Failed);
    };
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

/// Fulfils a completed capture; [`crate::payments::fulfil`] checks amount and currency
/// against the order and flags a mismatch for refund instead of paying it.
async fn pay_capture(st: &AppState, order_id: i64, cap: &Value, raw: &str) -> Result<Outcome> {
    let (Some(id), Some((amount, cur))) = (cap["id"].as_str(), parse_amount(&cap["amount"])) else {
        return Err(Error::internal("PayPal capture without id or amount"));
    };
    if !ops::order_exists(st, order_id).await? {
        tracing::warn!(order_id, "paypal capture for an order we do not have");
        return Ok(Outcome::AlreadyRecorded);
    }
    ops::pay(
        st,
        &PaymentSuccess {
            order_id,
            provider: SOURCE,
            provider_payment_id: id.to_string(),
            amount_minor: amount,
            currency: cur.as_str().to_string(),
            raw: Some(raw.to_string()),
        },
    )
    .await
}

async fn note(st: &AppState, order_id: i64, kind: &str, text: &str) -> Result<()> {
    if !ops::order_exists(st, order_id).await? {
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
    let (got, raw, event) = read_webhook(&headers, &body)?;
    if !api.verify_webhook(&got, raw).await? {
        tracing::warn!("paypal webhook failed verification");
        return Err(Error::invalid(
            "invalid_signature",
            "PayPal did not confirm this notification.",
        ));
    }
    let (Some(id), Some(kind)) = (event["id"].as_str(), event["event_type"].as_str()) else {
        return Err(Error::invalid(
            "invalid_event",
            "The event has no id or event_type.",
        ));
    };
    if ops::seen(&st, SOURCE, id).await? {
        return Ok(Json(json!({"received": true, "duplicate": true})));
    }
    let res = &event["resource"];
    let order_of = |v: &Value| v.as_str().and_then(|s| s.parse::<i64>().ok());
    match kind {
        "CHECKOUT.ORDER.APPROVED" => {
            if let Some(paypal_order) = res["id"].as_str() {
                capture(&st, &api, paypal_order).await?;
            }
        }
        "PAYMENT.CAPTURE.COMPLETED" => {
            if let Some(order_id) = order_of(&res["custom_id"]) {
                if res["status"] == "COMPLETED" {
                    pay_capture(&st, order_id, res, raw).await?;
                }
            }
        }
        "PAYMENT.CAPTURE.PENDING" => {
            if let Some(order_id) = order_of(&res["custom_id"]) {
                note(&st, order_id, "payment_pending", "PayPal capture pending").await?;
            }
        }
        "PAYMENT.CAPTURE.DENIED" => {
            if let Some(order_id) = order_of(&res["custom_id"]) {
                if ops::order_exists(&st, order_id).await? {
                    ops::end_unpaid(
                        &st,
                        order_id,
                        OrderStatus::Cancelled,
                        "PayPal payment denied",
                        SOURCE,
                    )
                    .await?;
                }
            }
        }
        "PAYMENT.CAPTURE.REFUNDED" | "PAYMENT.CAPTURE.REVERSED" => refunded(&st, res).await?,
        other => tracing::debug!(event = id, kind = other, "paypal event ignored"),
    }
    ops::mark_seen(&st, SOURCE, id).await?;
    Ok(Json(json!({"received": true})))
}

/// A refund (or a reversal) resource: the capture it belongs to is its `up` link; it is
/// recorded by its own id, so the admin's call that made it and this notification count once.
async fn refunded(st: &AppState, res: &Value) -> Result<()> {
    let capture = res["links"].as_array().and_then(|ls| {
        ls.iter()
            .find(|l| l["rel"] == "up")
            .and_then(|l| l["href"].as_str())
            .and_then(|h| h.trim_end_matches('/').rsplit('/').next())
    });
    let Some(r) = super::refund_of(res) else {
        tracing::info!(refund = %res["id"], status = %res["status"], "paypal refund not completed; not recorded");
        return Ok(());
    };
    if let Some(capture) = capture {
        if ops::provider_refund(st, SOURCE, capture, &r)
            .await?
            .is_none()
        {
            tracing::info!(capture, "paypal refund for a payment we do not know");
        }
    }
    Ok(())
}
