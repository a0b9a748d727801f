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
use crate::orders::lifecycle::{self, By, Ending, Outcome, PaymentSuccess, Refund};
use crate::payments::processed::{mark_seen, seen};
use crate::payments::refund::{provider_refund_failed, provider_refunded};
use crate::payments::{order_of_checkout, payment_by_provider_id};
use crate::state::AppState;
use crate::subscriptions::{self, Renewal};

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
    /// `payment` or `subscription`.
    #[serde(default)]
    mode: Option<String>,
    /// Subscription mode: the Subscription it started, and its first invoice (which holds the
    /// money: such a session has no PaymentIntent).
    #[serde(default)]
    subscription: Option<Expandable>,
    #[serde(default)]
    invoice: Option<Expandable>,
}

/// An invoice of a subscription, as much of it as the shop reads, in the shapes of API
/// versions before and since 2025-03-31 (which moved the subscription under `parent`).
#[derive(Debug, Default, Deserialize)]
struct Invoice {
    #[serde(default)]
    id: Option<String>,
    /// `subscription_create` (the first period), `subscription_cycle` (a renewal), …
    #[serde(default)]
    billing_reason: Option<String>,
    #[serde(default)]
    amount_paid: Option<i64>,
    #[serde(default)]
    currency: Option<String>,
    #[serde(default)]
    subscription: Option<Expandable>,
    #[serde(default)]
    parent: Value,
    #[serde(default)]
    lines: Value,
}

impl Invoice {
    fn subscription_id(&self) -> Option<String> {
        let parent = &self.parent["subscription_details"]["subscription"];
        parent
            .as_str()
            .or(parent["id"].as_str())
            .map(str::to_string)
            .or_else(|| self.subscription.as_ref().map(|s| s.id().to_string()))
    }

    /// The end of the service period it pays for: its lines' `period.end` (the invoice's own
    /// `period_end` looks back one period).
    fn period_end(&self) -> Option<i64> {
        self.lines["data"]
            .as_array()?
            .iter()
            .filter_map(|l| l["period"]["end"].as_i64())
            .max()
    }
}

/// A Subscription object, as much of it as the shop reads.
#[derive(Debug, Default, Deserialize)]
struct StripeSubscription {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    cancel_at_period_end: Option<bool>,
    #[serde(default)]
    ended_at: Option<i64>,
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
        // Stripe sends both for an invoice it charged automatically: the payment counts once
        // by the invoice id whichever comes first.
        "invoice.paid" | "invoice.payment_succeeded" => {
            invoice_paid(&st, cfg, &object(obj), &raw).await?
        }
        "invoice.payment_failed" => {
            let inv: Invoice = object(obj);
            let first = inv.billing_reason.as_deref() == Some("subscription_create");
            if let (Some(sub), Some(inv_id), false) =
                (inv.subscription_id(), inv.id.as_deref(), first)
            {
                if !subscriptions::renewal_failed(&st, RAIL, &sub, inv_id).await? {
                    tracing::info!(
                        event = id,
                        invoice = inv_id,
                        "stripe renewal failure already told, or not ours"
                    );
                }
            }
        }
        "customer.subscription.updated" => {
            let sub: StripeSubscription = object(obj);
            let live = matches!(
                sub.status.as_deref(),
                Some("active" | "trialing" | "past_due")
            );
            if let (Some(handle), Some(stop), true) =
                (sub.id.as_deref(), sub.cancel_at_period_end, live)
            {
                subscriptions::renewal_reported(&st, RAIL, handle, !stop).await?;
            }
        }
        "customer.subscription.deleted" => {
            let sub: StripeSubscription = object(obj);
            if let Some(handle) = sub.id.as_deref() {
                subscriptions::ended(&st, RAIL, handle, sub.ended_at).await?;
            }
        }
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
                let paid = recorded_as(&st, cfg, pi).await?;
                for r in stripe.refunds_of(pi).await? {
                    refunded(&st, id, &paid, &r).await?;
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
                    let paid = recorded_as(&st, cfg, pi).await?;
                    if !provider_refund_failed(&st, RAIL, &paid, &r).await? {
                        tracing::info!(event = id, refund = %r.provider_refund_id, "stripe refund failure changes nothing");
                    }
                }
            } else if let (Some(pi), Some(r)) = (pi, super::refund_of(obj)) {
                let paid = recorded_as(&st, cfg, pi).await?;
                refunded(&st, id, &paid, &r).await?;
            }
        }
        other => tracing::debug!(event = id, kind = other, "stripe event ignored"),
    }
    mark_seen(&st.db, SOURCE, id).await?;
    Ok(Json(json!({"received": true})))
}

/// The id a PaymentIntent's payment is on record by: the intent itself (Checkout in payment
/// mode), or for a subscription's payment the invoice it paid (recorded by invoice, since the
/// session that started it has no intent), asked of Stripe only when the intent is not ours.
async fn recorded_as(st: &AppState, cfg: &crate::config::StripeConfig, pi: &str) -> Result<String> {
    if payment_by_provider_id(&st.db, RAIL, pi).await?.is_some() {
        return Ok(pi.to_string());
    }
    let stripe = super::Stripe::new(cfg, &st.config.public_url, &st.http);
    Ok(stripe
        .invoice_of_intent(pi)
        .await?
        .unwrap_or_else(|| pi.to_string()))
}

async fn refunded(st: &AppState, event: &str, pi: &str, r: &Refund) -> Result<()> {
    match provider_refunded(st, RAIL, pi, r, By::Rail(RAIL)).await? {
        None => {
            tracing::info!(event, refund = %r.provider_refund_id, "stripe refund for a payment we do not know");
        }
        // Refunded in full in Stripe's dashboard: a subscription the order sold stops
        // renewing there too (nothing to do for any other order).
        Some(lifecycle::Recorded::Full) => {
            if let Some(p) = payment_by_provider_id(&st.db, RAIL, pi).await? {
                subscriptions::stop_after_refund(st, p.order_id).await;
            }
        }
        Some(_) => {}
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
    let amount_minor = super::from_stripe(amount, &cur);
    if session.mode.as_deref() == Some("subscription") {
        // The money is on the first invoice, which `invoice.paid` reports too: both count it
        // by the invoice id, so it pays the order once whichever comes first.
        let (Some(invoice), Some(sub)) = (&session.invoice, &session.subscription) else {
            tracing::warn!(order_id, session = ?session.id, "paid subscription session without invoice or subscription; waiting for invoice.paid");
            return Ok(());
        };
        let first = FirstPayment {
            order_id,
            invoice: invoice.id(),
            amount_minor,
            currency: cur.as_str(),
            subscription: sub.id(),
            period_end: None,
        };
        return first_payment(st, &first, raw).await;
    }
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
            amount_minor,
            currency: cur.as_str().to_string(),
            raw: Some(raw.to_string()),
        },
    )
    .await?;
    Ok(())
}

/// The first payment of a subscription, as the session or its first invoice reports it.
struct FirstPayment<'a> {
    order_id: i64,
    invoice: &'a str,
    amount_minor: i64,
    currency: &'a str,
    subscription: &'a str,
    /// The first period's end, when the invoice says it.
    period_end: Option<i64>,
}

/// Pays the order with the first invoice (once, by its id; amount and currency checked by the
/// lifecycle) and starts the subscription record, unless the payment was flagged for refund.
async fn first_payment(st: &AppState, f: &FirstPayment<'_>, raw: &str) -> Result<()> {
    let outcome = lifecycle::paid(
        st,
        &PaymentSuccess {
            order_id: f.order_id,
            rail: RAIL,
            provider_payment_id: f.invoice.to_string(),
            amount_minor: f.amount_minor,
            currency: f.currency.to_string(),
            raw: Some(raw.to_string()),
        },
    )
    .await?;
    // A repeat goes on too (its first delivery may have stopped between the payment and the
    // record), as long as this invoice paid the order rather than being flagged.
    let pays = match outcome {
        Outcome::Fulfilled => true,
        Outcome::FlaggedForRefund => false,
        Outcome::AlreadyRecorded => payment_by_provider_id(&st.db, RAIL, f.invoice)
            .await?
            .is_some_and(|p| p.needs_refund == 0 && p.order_id == f.order_id),
    };
    if !pays {
        return Ok(());
    }
    let estimate = db::now() + subscriptions::PERIOD;
    subscriptions::started(
        st,
        RAIL,
        f.order_id,
        None,
        f.subscription,
        f.period_end.unwrap_or(estimate),
    )
    .await?;
    if let Some(end) = f.period_end {
        subscriptions::first_period_ends(st, RAIL, f.subscription, end).await?;
    }
    Ok(())
}

/// Whether a Stripe invoice payment of the order is on record (its first payment was handled,
/// even if it was flagged for refund and started no subscription).
async fn first_invoice_recorded(st: &AppState, order_id: i64) -> Result<bool> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM payments WHERE order_id = $1 AND provider = $2 \
         AND substr(provider_payment_id, 1, 3) = 'in_'",
    )
    .bind(order_id)
    .bind(RAIL.as_str())
    .fetch_one(&st.db.pool)
    .await?;
    Ok(n > 0)
}

/// `invoice.paid`: a subscription's first invoice pays its order (the same payment as the
/// session's), a later one (`subscription_cycle`) renews it. Only subscriptions of sessions
/// the shop opened count: one it does not know yet (the invoice overtook the session's event)
/// is traced back to its session at Stripe.
async fn invoice_paid(
    st: &AppState,
    cfg: &crate::config::StripeConfig,
    inv: &Invoice,
    raw: &str,
) -> Result<()> {
    let (Some(sub), Some(inv_id)) = (inv.subscription_id(), inv.id.as_deref()) else {
        tracing::debug!(invoice = ?inv.id, "stripe invoice of no subscription; ignored");
        return Ok(());
    };
    let cur = inv.currency.as_deref().and_then(|c| Currency::new(c).ok());
    let (Some(cur), Some(paid)) = (cur, inv.amount_paid) else {
        return Err(Error::invalid(
            "invalid_event",
            "The invoice has no amount or currency.",
        ));
    };
    let amount_minor = super::from_stripe(paid, &cur);
    let known = subscriptions::by_handle(&st.db, RAIL, &sub).await?;
    // The order of a subscription the shop has no record of yet, through its session.
    let traced = || async {
        let stripe = super::Stripe::new(cfg, &st.config.public_url, &st.http);
        Ok::<_, Error>(match stripe.session_of_subscription(&sub).await? {
            Some(session) => order_of_checkout(&st.db, RAIL, &session).await?,
            None => None,
        })
    };
    match inv.billing_reason.as_deref() {
        Some("subscription_create") => {
            let order_id = match &known {
                Some(r) => Some(r.order_id),
                None => traced().await?,
            };
            let Some(order_id) = order_id else {
                tracing::warn!(subscription = %sub, invoice = inv_id, "stripe subscription the shop did not start; ignored");
                return Ok(());
            };
            let first = FirstPayment {
                order_id,
                invoice: inv_id,
                amount_minor,
                currency: cur.as_str(),
                subscription: &sub,
                period_end: inv.period_end(),
            };
            first_payment(st, &first, raw).await
        }
        Some("subscription_cycle") => {
            let Some(row) = known else {
                let order_id = traced().await?;
                let first_handled = match order_id {
                    Some(o) => first_invoice_recorded(st, o).await?,
                    None => false,
                };
                if let (Some(order_id), false) = (order_id, first_handled) {
                    // Ours, but its first payment has not been handled yet (its events are
                    // late or failing): refuse, so Stripe delivers this renewal again later
                    // rather than the money going unrecorded. (A first payment that was
                    // flagged for refund started nothing: its renewals are ignored below.)
                    tracing::warn!(order_id, subscription = %sub, invoice = inv_id, "renewal before the subscription's first payment; Stripe will retry");
                    return Err(Error::conflict(
                        "subscription_not_started",
                        "The subscription's first payment is not recorded yet; retry later.",
                    ));
                }
                tracing::warn!(subscription = %sub, invoice = inv_id, "renewal of a stripe subscription the shop did not start; ignored");
                return Ok(());
            };
            let raw: Value = serde_json::from_str(raw).unwrap_or(Value::Null);
            let renewal = Renewal {
                rail: RAIL,
                order_id: row.order_id,
                payment_id: inv_id,
                amount_minor,
                currency: cur.as_str(),
                expires_at: inv.period_end(),
                raw: &raw,
            };
            subscriptions::renewed(st, &renewal).await?;
            Ok(())
        }
        other => {
            // A proration or a manual invoice: not a period of the order's subscription.
            tracing::warn!(subscription = %sub, invoice = inv_id, reason = ?other, "stripe subscription invoice neither first nor renewal; left to the merchant");
            Ok(())
        }
    }
}
