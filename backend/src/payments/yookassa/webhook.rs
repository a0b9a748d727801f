//! `POST /webhooks/yookassa`: YooKassa's HTTP notifications.
//!
//! They are not signed, so the body is only a hint of which object to look at. The shop acts
//! on a payment it created (kept at checkout in `provider_checkouts`) or a refund of a payment
//! it recorded, and only on what YooKassa's API answers for it (`GET /payments/{id}`,
//! `GET /refunds/{id}`) with the shop's own credentials: a forged body about a payment that is
//! really pending, or about someone else's, changes nothing. Everything it does is idempotent
//! (a payment is recorded once by its id, a refund once by its id, an ended order stays
//! ended), which is what YooKassa's repeats (for 24 h, with no event id) need.
//!
//! With `YOOKASSA_CHECK_SOURCE=1` a notification must also come from one of YooKassa's
//! published networks (or `YOOKASSA_ALLOWED_SOURCES`): the client address is the one
//! [`crate::client_ip`] works out, so `X-Forwarded-For` counts only from `TRUSTED_PROXIES`.
//! One from elsewhere is a 403 before its body is read or YooKassa is called (counted in
//! `shop_webhook_rejections_total` with reason `source_not_allowed`).
//!
//! Every notification that was handled or ignored is answered 200, as YooKassa expects; a
//! 5xx (YooKassa or the database unreachable) makes YooKassa deliver it again later.

use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use shared::PaymentMethod;

use super::api::{self, Api};
use super::{parse_amount, Amount, Cancellation, YkRefund};
use crate::client_ip::Origin;
use crate::error::{Error, Result};
use crate::orders::lifecycle::{self, By, Ending, PaymentSuccess};
use crate::payments::refund::{provider_refund_failed, provider_refunded};
use crate::payments::{order_of_checkout, payment_by_provider_id};
use crate::state::AppState;

const RAIL: PaymentMethod = PaymentMethod::Yookassa;

pub fn router() -> Router<AppState> {
    Router::new().route("/webhooks/yookassa", post(webhook))
}

/// A notification: `{"type": "notification", "event": "payment.succeeded", "object": {…}}`.
#[derive(Debug, Deserialize)]
pub(crate) struct Notification {
    #[serde(rename = "type")]
    pub kind: String,
    pub event: String,
    pub object: Object,
}

/// What the shop reads of the object in a notification: which one it is about.
#[derive(Debug, Deserialize)]
pub(crate) struct Object {
    pub id: String,
    /// A refund's payment.
    #[serde(default)]
    pub payment_id: Option<String>,
}

/// A Payment as `GET /payments/{id}` answers it, as much as the shop reads.
#[derive(Debug, Default, Deserialize)]
struct Payment {
    #[serde(default)]
    id: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    amount: Amount,
    #[serde(default)]
    metadata: Option<Value>,
    #[serde(default)]
    cancellation_details: Option<Cancellation>,
}

/// Reads a body as a notification; a body that is not one is a 400. Pure: nothing is looked
/// up before the body has the shape of a notification.
pub(crate) fn parse(body: &[u8]) -> Result<Notification> {
    let n: Notification = serde_json::from_slice(body).map_err(|_| {
        Error::invalid(
            "invalid_notification",
            "Not a YooKassa notification: expected JSON with type, event and object.id.",
        )
    })?;
    if n.kind != "notification" || n.object.id.is_empty() {
        return Err(Error::invalid(
            "invalid_notification",
            "Not a YooKassa notification: type must be \"notification\" and object.id set.",
        ));
    }
    Ok(n)
}

async fn webhook(State(st): State<AppState>, origin: Origin, body: Bytes) -> Result<Json<Value>> {
    let Some(cfg) = &st.config.yookassa else {
        return Err(Error::NotFound("YooKassa is not configured.".into()));
    };
    if let Some(allowed) = &cfg.allowed_sources {
        if !allowed.contains(origin.client) {
            tracing::warn!(
                client = %origin.client,
                peer = %origin.peer,
                "yookassa notification from an address that is not YooKassa's; refused"
            );
            return Err(Error::Forbidden {
                code: "source_not_allowed",
                message: format!(
                    "Notifications are taken only from YooKassa's addresses, and {} is not one \
                     of them (YOOKASSA_ALLOWED_SOURCES; behind a proxy, TRUSTED_PROXIES).",
                    origin.client
                ),
            });
        }
    }
    let n = parse(&body)?;
    let api = Api::new(cfg, &st.http);
    match n.event.as_str() {
        // The events to tick in YooKassa's dashboard (docs/DEPLOY.md); waiting_for_capture
        // does not arise with capture: true.
        "payment.succeeded" | "payment.canceled" => payment(&st, &api, &n.object.id).await?,
        "refund.succeeded" => refund(&st, &api, &n.object).await?,
        other => {
            tracing::debug!(event = other, object = %n.object.id, "yookassa notification ignored")
        }
    }
    Ok(Json(json!({"received": true})))
}

/// A payment notification: acts on the payment as YooKassa's API has it now.
async fn payment(st: &AppState, api: &Api, id: &str) -> Result<()> {
    // Only payments the shop created; any other id costs no call to YooKassa.
    let Some(order_id) = order_of_checkout(&st.db, RAIL, id).await? else {
        tracing::warn!(
            payment = id,
            "yookassa notification about a payment the shop did not create; ignored"
        );
        return Ok(());
    };
    let Some(v) = api.get(&format!("/payments/{}", api::path_id(id))).await? else {
        tracing::warn!(
            payment = id,
            order_id,
            "yookassa does not know this payment; ignored"
        );
        return Ok(());
    };
    let p: Payment = serde_json::from_value(v.clone()).unwrap_or_default();
    let named = p
        .metadata
        .as_ref()
        .and_then(|m| m["order_id"].as_str())
        .unwrap_or_default();
    if p.id != id || named != order_id.to_string() {
        tracing::warn!(
            payment = id,
            order_id,
            named,
            "yookassa payment is not this order's; ignored"
        );
        return Ok(());
    }
    match p.status.as_str() {
        "succeeded" => {
            let Some((amount_minor, currency)) = parse_amount(&p.amount) else {
                return Err(Error::internal(format!(
                    "YooKassa payment {id} has no readable amount"
                )));
            };
            // The lifecycle compares amount and currency with the order's and flags a
            // payment that does not match for refund instead of paying with it.
            lifecycle::paid(
                st,
                &PaymentSuccess {
                    order_id,
                    rail: RAIL,
                    provider_payment_id: p.id.clone(),
                    amount_minor,
                    currency: currency.as_str().to_string(),
                    raw: Some(v.to_string()),
                },
            )
            .await?;
        }
        "canceled" => {
            let why = p.cancellation_details.unwrap_or_default();
            // The buyer never paid in time: the order expired; anything else is a decline.
            let how = if why.reason == "expired_on_confirmation" {
                Ending::Expired
            } else {
                Ending::PaymentFailed
            };
            let note = format!("YooKassa payment canceled ({}: {})", why.party, why.reason);
            lifecycle::end_unpaid(st, order_id, how, Some(&note), By::Rail(RAIL)).await?;
        }
        // Nothing is held with capture: true, so waiting_for_capture does not arise; pending
        // is the state of a forged or early "succeeded". Its final notification comes later.
        other => tracing::info!(
            payment = id,
            order_id,
            status = other,
            "yookassa payment not final; nothing to do"
        ),
    }
    Ok(())
}

/// A refund notification: counted by the refund's id as YooKassa's API has it now.
async fn refund(st: &AppState, api: &Api, object: &Object) -> Result<()> {
    let payment_id = object.payment_id.as_deref().unwrap_or_default();
    // Only refunds of payments the shop recorded; anything else costs no call to YooKassa.
    if payment_by_provider_id(&st.db, RAIL, payment_id)
        .await?
        .is_none()
    {
        tracing::warn!(refund = %object.id, payment = payment_id, "yookassa refund of a payment the shop does not have; ignored");
        return Ok(());
    }
    let Some(v) = api
        .get(&format!("/refunds/{}", api::path_id(&object.id)))
        .await?
    else {
        tracing::warn!(refund = %object.id, "yookassa does not know this refund; ignored");
        return Ok(());
    };
    let r: YkRefund = serde_json::from_value(v).unwrap_or_default();
    if r.id != object.id || r.payment_id != payment_id {
        tracing::warn!(refund = %object.id, payment = payment_id, "yookassa refund is not of this payment; ignored");
        return Ok(());
    }
    let Some(made) = r.as_refund() else {
        return Err(Error::internal(format!(
            "YooKassa refund {} has no readable amount",
            r.id
        )));
    };
    match r.status.as_str() {
        "succeeded" => {
            provider_refunded(st, RAIL, payment_id, &made, By::Rail(RAIL)).await?;
        }
        "canceled" => {
            provider_refund_failed(st, RAIL, payment_id, &made).await?;
        }
        other => {
            tracing::info!(refund = %r.id, status = other, "yookassa refund not final; nothing to do")
        }
    }
    Ok(())
}
