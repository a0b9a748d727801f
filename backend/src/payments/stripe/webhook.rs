//! `POST /webhooks/stripe`: verified on the raw body, each event handled once, in any order.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use axum::{Json, Router};
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde_json::{json, Value};
use shared::{Currency, PaymentMethod};

use super::signature;
use crate::db;
use crate::error::{Error, Result};
use crate::orders::lifecycle::{self, By, Ending, PaymentSuccess, Refund};
use crate::payments::order_of_checkout;
use crate::payments::processed::{mark_seen, seen};
use crate::payments::refund::{provider_refund_failed, provider_refunded};
use crate::state::AppState;

const SOURCE: &str = "stripe";
const RAIL: PaymentMethod = PaymentMethod::Stripe;

pub fn router() -> Router<AppState> {
    Router::new().route("/webhooks/stripe", post(webhook))
}

/// A Stripe event: its id, its type, and the object it is about (read per type below).
#[derive(Debug, Deserialize)]
pub(crate) struct Event {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub data: EventData,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct EventData {
    #[serde(default)]
    pub object: Value,
}

/// An expandable field: the id, or the expanded object with its id.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum Expandable {
    Id(String),
    Object { id: String },
}

impl Expandable {
    fn id(&self) -> &str {
        match self {
            Expandable::Id(id) | Expandable::Object { id } => id,
        }
    }
}

/// A Checkout Session, as much of it as the shop reads.
#[derive(Debug, Default, Deserialize)]
struct Session {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    payment_status: Option<String>,
    /// Logged only: what the session says its order is proves nothing (see [`order_of`]).
    #[serde(default)]
    client_reference_id: Option<Value>,
    #[serde(default)]
    currency: Option<String>,
    #[serde(default)]
    amount_total: Option<i64>,
    #[serde(default)]
    payment_intent: Option<Expandable>,
}

/// A charge or a refund: both name their PaymentIntent.
#[derive(Debug, Default, Deserialize)]
struct OfPaymentIntent {
    #[serde(default)]
    payment_intent: Option<Expandable>,
    #[serde(default)]
    status: Option<String>,
}

/// `data.object` as `T`; an object of another shape reads as empty (nothing in it is used).
fn object<T: serde::de::DeserializeOwned + Default>(v: &Value) -> T {
    serde_json::from_value(v.clone()).unwrap_or_default()
}

/// Everything the webhook checks before it looks anything up: the signature over the raw body,
/// then that the body is a JSON event with an `id` and a `type`. Pure, so the fuzz targets
/// (fuzz/) call it as the route does.
pub(crate) fn parse_event(
    header: Option<&str>,
    body: &[u8],
    secret: &str,
    now: i64,
) -> Result<Event> {
    let header = header
        .ok_or_else(|| Error::invalid("invalid_signature", "Stripe-Signature is missing."))?;
    signature::verify(header, body, secret, now).map_err(|r| {
        tracing::warn!(reason = r.message(), "stripe webhook refused");
        Error::invalid("invalid_signature", r.message())
    })?;
    let event: Value = serde_json::from_slice(body)
        .map_err(|_| Error::invalid("invalid_json", "The event is not JSON."))?;
    serde_json::from_value(event)
        .map_err(|_| Error::invalid("invalid_event", "The event has no id or type."))
}

async fn webhook(
    State(st): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>> {
    let Some(cfg) = &st.config.stripe else {
        return Err(Error::NotFound("Stripe is not configured.".into()));
    };
    let header = headers
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok());
    let event = parse_event(header, &body, cfg.webhook_secret.expose_secret(), db::now())?;
    let id = event.id.as_str();
    if seen(&st.db, SOURCE, id).await? {
        return Ok(Json(json!({"received": true, "duplicate": true})));
    }
    let raw = String::from_utf8_lossy(&body);
    let obj = &event.data.object;
    match event.kind.as_str() {
        "checkout.session.completed" => {
            let session: Session = object(obj);
            if session.payment_status.as_deref() == Some("paid") {
                session_paid(&st, &session, &raw).await?;
            } else {
                // Bank debits and the like: the money comes later, in async_payment_succeeded.
                tracing::info!(event = id, order = ?session.client_reference_id, "stripe session complete, payment pending");
            }
        }
        "checkout.session.async_payment_succeeded" => session_paid(&st, &object(obj), &raw).await?,
        "checkout.session.async_payment_failed" => {
            if let Some(order_id) = order_of(&st, &object(obj)).await? {
                lifecycle::end_unpaid(
                    &st,
                    order_id,
                    Ending::PaymentFailed,
                    Some("Stripe payment failed"),
                    By::Rail(RAIL),
                )
                .await?;
            }
        }
        "checkout.session.expired" => {
            if let Some(order_id) = order_of(&st, &object(obj)).await? {
                lifecycle::end_unpaid(
                    &st,
                    order_id,
                    Ending::Expired,
                    Some("Stripe Checkout session expired"),
                    By::Rail(RAIL),
                )
                .await?;
            }
        }
        "charge.refunded" => {
            // The charge says how much is refunded in total, not by which refunds: ask Stripe
            // for them, so each counts once by its id (the admin's own call may have
            // recorded some already, or be about to).
            let charge: OfPaymentIntent = object(obj);
            if let Some(pi) = charge.payment_intent.as_ref().map(Expandable::id) {
                let stripe = super::Stripe::new(cfg, &st.config.public_url, &st.http);
                for r in stripe.refunds_of(pi).await? {
                    refunded(&st, id, pi, &r).await?;
                }
            }
        }
        "refund.created" | "refund.updated" | "charge.refund.updated" | "refund.failed" => {
            let refund: OfPaymentIntent = object(obj);
            let pi = refund.payment_intent.as_ref().map(Expandable::id);
            if refund.status.as_deref() == Some("failed") {
                // A refund can fail, even after it succeeded (the card was closed): Stripe puts
                // the money back in the shop's balance, so it stops counting as refunded.
                if let (Some(pi), Some(r)) = (pi, super::any_refund(obj)) {
                    if !provider_refund_failed(&st, RAIL, pi, &r).await? {
                        tracing::info!(event = id, refund = %r.provider_refund_id, "stripe refund failure changes nothing");
                    }
                }
            } else if let (Some(pi), Some(r)) = (pi, super::refund_of(obj)) {
                refunded(&st, id, pi, &r).await?;
            }
        }
        other => tracing::debug!(event = id, kind = other, "stripe event ignored"),
    }
    mark_seen(&st.db, SOURCE, id).await?;
    Ok(Json(json!({"received": true})))
}

async fn refunded(st: &AppState, event: &str, pi: &str, r: &Refund) -> Result<()> {
    if provider_refunded(st, RAIL, pi, r, By::Rail(RAIL))
        .await?
        .is_none()
    {
        tracing::info!(event, refund = %r.provider_refund_id, "stripe refund for a payment we do not know");
    }
    Ok(())
}

/// The shop order of a Checkout Session the shop opened; `None` for any other session. What
/// the session's metadata or client_reference_id say is not enough: a Payment Link or another
/// integration on the same Stripe account can put one of our order ids there, and its
/// expiry must not end our order (nor its payment pay for it).
async fn order_of(st: &AppState, session: &Session) -> Result<Option<i64>> {
    let found = match session.id.as_deref() {
        Some(id) => order_of_checkout(&st.db, PaymentMethod::Stripe, id).await?,
        None => None,
    };
    if found.is_none() {
        tracing::warn!(
            session = ?session.id,
            named = ?session.client_reference_id,
            "stripe session the shop did not open; ignored"
        );
    }
    Ok(found)
}

async fn session_paid(st: &AppState, session: &Session, raw: &str) -> Result<()> {
    let Some(order_id) = order_of(st, session).await? else {
        return Ok(());
    };
    let cur = session
        .currency
        .as_deref()
        .and_then(|c| Currency::new(c).ok());
    let (Some(cur), Some(amount)) = (cur, session.amount_total) else {
        return Err(Error::invalid(
            "invalid_event",
            "The session has no amount or currency.",
        ));
    };
    // The PaymentIntent is what refunds name; a session without one cannot be refunded,
    // so fall back to the session id only to keep the payment on record.
    let payment_id = session
        .payment_intent
        .as_ref()
        .map(Expandable::id)
        .or(session.id.as_deref())
        .unwrap_or_default()
        .to_string();
    lifecycle::paid(
        st,
        &PaymentSuccess {
            order_id,
            rail: RAIL,
            provider_payment_id: payment_id,
            amount_minor: super::from_stripe(amount, &cur),
            currency: cur.as_str().to_string(),
            raw: Some(raw.to_string()),
        },
    )
    .await?;
    Ok(())
}
