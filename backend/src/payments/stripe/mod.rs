//! Stripe Checkout: a hosted payment page per order, webhooks that fulfil it, refunds.
//!
//! Amounts go to Stripe in its own minor units, which differ from ISO's for a few
//! currencies (see [`to_stripe`]). Every POST carries an `Idempotency-Key` derived from the
//! order, so retries never create a second session or a second refund.

pub mod signature;
pub(crate) mod webhook;

use futures_util::future::BoxFuture;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use shared::{Currency, Lang, PaymentMethod, ProductKind};

use super::outbound;
use super::refund::Refund;
use super::{
    Checkout, CheckoutOrder, Provider, RefundRequest, SubscriptionChange, SubscriptionRef,
};
use crate::config::StripeConfig;
use crate::db;
use crate::error::{Error, Result};

pub use webhook::router;

/// Stripe keeps a session open for at least 30 minutes and at most 24 hours.
const MIN_SESSION_SECS: i64 = 30 * 60;
const MAX_SESSION_SECS: i64 = 24 * 3600;

pub struct Stripe {
    api_url: String,
    secret_key: SecretString,
    public_url: String,
    http: reqwest::Client,
}

impl Stripe {
    pub fn new(c: &StripeConfig, public_url: &str, http: &reqwest::Client) -> Self {
        Stripe {
            api_url: c.api_url.clone(),
            secret_key: c.secret_key.clone(),
            public_url: public_url.to_string(),
            http: http.clone(),
        }
    }

    /// POSTs a form with an idempotency key; answers the JSON of a 2xx, or the error.
    async fn post(&self, path: &str, form: &[(String, String)], key: &str) -> Result<Value> {
        let (status, v) = self.post_raw(path, form, key).await?;
        if status.is_success() {
            Ok(v)
        } else {
            Err(outbound::rejected("Stripe", status, &v))
        }
    }

    async fn post_raw(
        &self,
        path: &str,
        form: &[(String, String)],
        key: &str,
    ) -> Result<(axum::http::StatusCode, Value)> {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let url = format!("{}{}", self.api_url, path);
        let (status, v) = outbound::send("Stripe", || {
            self.http
                .post(&url)
                .bearer_auth(self.secret_key.expose_secret())
                .header("Idempotency-Key", key)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(body.clone())
        })
        .await
        .map_err(|e| outbound::unavailable("Stripe", &e))?;
        Ok((status, v))
    }
}

/// Stripe's exponent for a currency. Mostly ISO's, except ISK and UGX, which Stripe still
/// takes in hundredths (amount divisible by 100) for backwards compatibility.
fn stripe_exponent(c: &Currency) -> u32 {
    match c.as_str() {
        "BIF" | "CLP" | "DJF" | "GNF" | "JPY" | "KMF" | "KRW" | "MGA" | "PYG" | "RWF" | "VND"
        | "VUV" | "XAF" | "XOF" | "XPF" => 0,
        "BHD" | "JOD" | "KWD" | "OMR" | "TND" => 3,
        _ => 2,
    }
}

/// Our minor units to Stripe's. Three-decimal currencies must end in 0 at Stripe.
pub fn to_stripe(minor: i64, c: &Currency) -> std::result::Result<i64, String> {
    let (ours, theirs) = (c.exponent(), stripe_exponent(c));
    let v = if theirs >= ours {
        minor
            .checked_mul(10i64.pow(theirs - ours))
            .ok_or("amount too large")?
    } else {
        let div = 10i64.pow(ours - theirs);
        if minor % div != 0 {
            return Err(format!("{c} amounts must be whole at Stripe"));
        }
        minor / div
    };
    if theirs == 3 && v % 10 != 0 {
        return Err(format!(
            "Stripe takes {c} amounts only in multiples of 0.010"
        ));
    }
    Ok(v)
}

/// Stripe's minor units to ours.
pub fn from_stripe(v: i64, c: &Currency) -> i64 {
    let (ours, theirs) = (c.exponent(), stripe_exponent(c));
    if theirs >= ours {
        v / 10i64.pow(theirs - ours)
    } else {
        v * 10i64.pow(ours - theirs)
    }
}

/// The session's `expires_at`: the order's reservation, raised to Stripe's minimum. Rounded
/// up to five minutes so a retry of the same attempt sends the same parameters (Stripe
/// rejects a reused idempotency key with different ones).
pub fn session_expiry(reservation: Option<i64>, now: i64) -> i64 {
    // A minute's margin for the call itself and clock skew.
    let min = now + MIN_SESSION_SECS + 60;
    let max = now + MAX_SESSION_SECS - 60;
    match reservation {
        Some(e) if e >= min => e.min(max),
        _ => (min + 299) / 300 * 300,
    }
}

impl Provider for Stripe {
    fn method(&self) -> PaymentMethod {
        PaymentMethod::Stripe
    }

    fn refuses(&self, currency: &Currency, kinds: &[ProductKind]) -> Option<String> {
        if kinds.contains(&ProductKind::Subscription) && kinds.len() > 1 {
            return Some("A subscription is ordered on its own, without other items.".into());
        }
        match currency.as_str() {
            "XTR" => Some("Telegram Stars cannot be paid by card through Stripe.".into()),
            // Not verified with Stripe (see docs/reference): refused rather than risk a
            // session the buyer cannot pay.
            "UZS" => Some("Stripe does not take payments in UZS; choose another method.".into()),
            _ => None,
        }
    }

    fn create_checkout<'a>(&'a self, order: &'a CheckoutOrder) -> BoxFuture<'a, Result<Checkout>> {
        Box::pin(async move {
            let c = &order.currency;
            let unfit = |why: String| Error::field("payment_method_unfit", "payment_method", why);
            let id = order.order_id.to_string();
            let subscription = order
                .lines
                .iter()
                .any(|l| l.kind == ProductKind::Subscription);
            if subscription && (order.lines.len() != 1 || order.lines[0].quantity != 1) {
                return Err(Error::invalid(
                    "subscription_quantity",
                    "A subscription is bought one at a time.",
                ));
            }
            let mode = if subscription {
                "subscription"
            } else {
                "payment"
            };
            let mut form: Vec<(String, String)> = vec![("mode".into(), mode.into())];
            let sum: i64 = order.lines.iter().map(|l| l.unit_minor * l.quantity).sum();
            // One line per item; a single line for the total if they do not add up (a
            // subscription's one line is one period's price: the order's total). That is also
            // how a promo code's discount reaches Stripe: a Checkout line cannot be negative,
            // and a Stripe coupon would be one more call (and object) per order.
            // The delivery fee is a line of its own after the items.
            let fee = order.delivery_fee_minor;
            let lines: Vec<(String, i64, i64)> = if subscription {
                let l = &order.lines[0];
                vec![(l.title.clone(), order.total_minor, 1)]
            } else if !order.lines.is_empty() && sum + fee == order.total_minor {
                let mut lines: Vec<_> = order
                    .lines
                    .iter()
                    .map(|l| (l.title.clone(), l.unit_minor, l.quantity))
                    .collect();
                if fee > 0 {
                    lines.push((crate::delivery::label(order.lang).to_string(), fee, 1));
                }
                lines
            } else {
                vec![(format!("Order {id}"), order.total_minor, 1)]
            };
            for (i, (title, unit, qty)) in lines.iter().enumerate() {
                let p = format!("line_items[{i}]");
                let name = if title.trim().is_empty() {
                    format!("Order {id}")
                } else {
                    title.chars().take(250).collect()
                };
                form.push((
                    format!("{p}[price_data][currency]"),
                    c.as_str().to_ascii_lowercase(),
                ));
                form.push((
                    format!("{p}[price_data][unit_amount]"),
                    to_stripe(*unit, c).map_err(unfit)?.to_string(),
                ));
                form.push((format!("{p}[price_data][product_data][name]"), name));
                if subscription {
                    // Every 30 days, the shop's one period (Stars have no other).
                    form.push((
                        format!("{p}[price_data][recurring][interval]"),
                        "day".into(),
                    ));
                    form.push((
                        format!("{p}[price_data][recurring][interval_count]"),
                        (crate::subscriptions::PERIOD / 86_400).to_string(),
                    ));
                }
                form.push((format!("{p}[quantity]"), qty.to_string()));
            }
            let back = format!("{}/orders/{id}", self.public_url);
            form.extend([
                (
                    "success_url".to_string(),
                    format!("{back}?paid=stripe&session_id={{CHECKOUT_SESSION_ID}}"),
                ),
                ("cancel_url".into(), format!("{back}?cancelled=stripe")),
                ("client_reference_id".into(), id.clone()),
                ("metadata[order_id]".into(), id.clone()),
                (
                    "expires_at".into(),
                    session_expiry(order.expires_at, db::now()).to_string(),
                ),
            ]);
            // payment_intent_data is payment mode only; a subscription's order id travels on
            // the Subscription (and so every invoice it makes) instead.
            if subscription {
                form.push(("subscription_data[metadata][order_id]".into(), id.clone()));
            } else {
                form.push(("payment_intent_data[metadata][order_id]".into(), id.clone()));
            }
            // Checkout has no Uzbek: let it follow the browser then.
            match order.lang {
                Lang::En => form.push(("locale".into(), "en".into())),
                Lang::Ru => form.push(("locale".into(), "ru".into())),
                Lang::Uz => form.push(("locale".into(), "auto".into())),
            }
            let key = format!("shop-checkout-{}", order.attempt_key);
            let v = self.post("/v1/checkout/sessions", &form, &key).await?;
            let (Some(url), Some(session)) = (v["url"].as_str(), v["id"].as_str()) else {
                return Err(Error::internal(format!(
                    "Stripe session without url or id: {}",
                    v["id"]
                )));
            };
            tracing::info!(
                order_id = order.order_id,
                session,
                "stripe checkout session"
            );
            Ok(Checkout {
                invoice_link: None,
                checkout_url: Some(url.to_string()),
                checkout_id: Some(session.to_string()),
            })
        })
    }

    /// Renewal off and on is `cancel_at_period_end` (the paid period runs out, the subscription
    /// stays `active` until then); a refunded one is deleted at once.
    fn change_subscription<'a>(
        &'a self,
        sub: &'a SubscriptionRef,
        change: SubscriptionChange,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let path = format!("/v1/subscriptions/{}", segment(&sub.handle));
            let (stop, word) = match change {
                SubscriptionChange::StopRenewal => (true, "stop"),
                SubscriptionChange::Resume => (false, "resume"),
                SubscriptionChange::EndNow => {
                    let url = format!("{}{path}", self.api_url);
                    let (status, v) = outbound::send("Stripe", || {
                        self.http
                            .delete(&url)
                            .bearer_auth(self.secret_key.expose_secret())
                    })
                    .await
                    .map_err(|e| outbound::unavailable("Stripe", &e))?;
                    return if status.is_success() {
                        Ok(())
                    } else {
                        Err(outbound::rejected("Stripe", status, &v))
                    };
                }
            };
            let form = [("cancel_at_period_end".to_string(), stop.to_string())];
            let key = format!("shop-subscription-{}-{word}-{}", sub.id, sub.version);
            self.post(&path, &form, &key).await?;
            tracing::info!(order_id = sub.order_id, subscription = %sub.handle, stop, "stripe subscription renewal changed");
            Ok(())
        })
    }

    fn refund<'a>(&'a self, req: &'a RefundRequest) -> BoxFuture<'a, Result<Vec<Refund>>> {
        Box::pin(async move {
            let amount = to_stripe(req.amount_minor, &req.currency)
                .map_err(|e| Error::field("invalid_amount", "amount_minor", e))?;
            // A subscription's payments are recorded by invoice (its first one has no
            // PaymentIntent when the session completes); refunds name the invoice's intent.
            let intent = if req.provider_payment_id.starts_with("in_") {
                self.intent_of_invoice(&req.provider_payment_id).await?
            } else {
                req.provider_payment_id.clone()
            };
            let mut form = vec![
                ("payment_intent".to_string(), intent.clone()),
                ("reason".into(), "requested_by_customer".into()),
                ("metadata[order_id]".into(), req.order_id.to_string()),
            ];
            if !req.full {
                form.push(("amount".into(), amount.to_string()));
            }
            let key = req.idempotency_key();
            let (status, v) = self.post_raw("/v1/refunds", &form, &key).await?;
            if status.is_success() {
                // Only a succeeded refund counts; a pending one is recorded when Stripe's
                // `refund.updated` says it succeeded.
                return Ok(refund_of(&v).into_iter().collect());
            }
            if v["error"]["code"] == "charge_already_refunded" {
                // Refunded elsewhere meanwhile (dashboard, an earlier attempt): take what
                // Stripe has on record, each refund by its id.
                return self.refunds_of(&intent).await;
            }
            Err(outbound::rejected("Stripe", status, &v))
        })
    }
}

/// A path segment as Stripe ids never need, but as an id from outside must be.
fn segment(id: &str) -> String {
    form_urlencoded::byte_serialize(id.as_bytes()).collect()
}

impl Stripe {
    /// GETs `path_and_query`; answers the status and JSON (an error only when Stripe did not
    /// answer).
    async fn get_raw(&self, path_and_query: &str) -> Result<(axum::http::StatusCode, Value)> {
        let url = format!("{}{path_and_query}", self.api_url);
        outbound::send("Stripe", || {
            self.http
                .get(&url)
                .bearer_auth(self.secret_key.expose_secret())
        })
        .await
        .map_err(|e| outbound::unavailable("Stripe", &e))
    }

    /// GETs `path_and_query`; answers the JSON of a 2xx, or the error.
    async fn get(&self, path_and_query: &str) -> Result<Value> {
        let (status, v) = self.get_raw(path_and_query).await?;
        if status.is_success() {
            Ok(v)
        } else {
            Err(outbound::rejected("Stripe", status, &v))
        }
    }

    /// The PaymentIntent that paid an invoice. Read in both shapes: since API version
    /// 2025-03-31 it is under `payments.data[].payment.payment_intent` (expanded on request),
    /// before that at `payment_intent`.
    pub async fn intent_of_invoice(&self, invoice: &str) -> Result<String> {
        let v = self
            .get(&format!(
                "/v1/invoices/{}?expand%5B%5D=payments",
                segment(invoice)
            ))
            .await?;
        let from_payments = v["payments"]["data"].as_array().and_then(|ps| {
            ps.iter().find_map(|p| {
                let pi = &p["payment"]["payment_intent"];
                pi.as_str().or(pi["id"].as_str()).map(str::to_string)
            })
        });
        let legacy = v["payment_intent"]
            .as_str()
            .or(v["payment_intent"]["id"].as_str())
            .map(str::to_string);
        from_payments.or(legacy).ok_or_else(|| {
            Error::conflict(
                "refund_unavailable",
                format!("Stripe invoice {invoice} has no payment to refund."),
            )
        })
    }

    /// The invoice a PaymentIntent paid, if any: `GET /v1/invoice_payments?payment[type]=
    /// payment_intent&payment[payment_intent]=…` (API versions since 2025-03-31), else the
    /// intent's own `invoice` field (before them).
    /// An intent Stripe does not know (404) has none.
    pub async fn invoice_of_intent(&self, pi: &str) -> Result<Option<String>> {
        let id = |v: &Value| v.as_str().or(v["id"].as_str()).map(str::to_string);
        let listed = self
            .get_raw(&format!(
                "/v1/invoice_payments?payment%5Btype%5D=payment_intent&payment%5Bpayment_intent%5D={}&limit=1",
                segment(pi)
            ))
            .await?;
        if listed.0.is_success() {
            if let Some(inv) = id(&listed.1["data"][0]["invoice"]) {
                return Ok(Some(inv));
            }
        }
        let (status, v) = self
            .get_raw(&format!("/v1/payment_intents/{}", segment(pi)))
            .await?;
        match status {
            s if s.is_success() => Ok(id(&v["invoice"])),
            axum::http::StatusCode::NOT_FOUND => Ok(None),
            s => Err(outbound::rejected("Stripe", s, &v)),
        }
    }

    /// The Checkout Session that started subscription `sub` (`GET /v1/checkout/sessions?
    /// subscription=…`), to tell whether it is one the shop opened.
    pub async fn session_of_subscription(&self, sub: &str) -> Result<Option<String>> {
        let v = self
            .get(&format!(
                "/v1/checkout/sessions?subscription={}&limit=1",
                segment(sub)
            ))
            .await?;
        Ok(v["data"][0]["id"].as_str().map(str::to_string))
    }

    /// The succeeded refunds of a PaymentIntent (`GET /v1/refunds?payment_intent=…`, every
    /// page), in our minor units.
    pub async fn refunds_of(&self, payment_intent: &str) -> Result<Vec<Refund>> {
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        // Stripe pages at most 100; a payment with more refunds than 100 pages is not real.
        for _ in 0..100 {
            let query = {
                let mut q = form_urlencoded::Serializer::new(String::new());
                q.append_pair("payment_intent", payment_intent)
                    .append_pair("limit", "100");
                if let Some(a) = &after {
                    q.append_pair("starting_after", a);
                }
                q.finish()
            };
            let url = format!("{}/v1/refunds?{query}", self.api_url);
            let (status, v) = outbound::send("Stripe", || {
                self.http
                    .get(&url)
                    .bearer_auth(self.secret_key.expose_secret())
            })
            .await
            .map_err(|e| outbound::unavailable("Stripe", &e))?;
            if !status.is_success() {
                return Err(outbound::rejected("Stripe", status, &v));
            }
            let page = v["data"].as_array().cloned().unwrap_or_default();
            out.extend(page.iter().filter_map(refund_of));
            after = page
                .last()
                .and_then(|r| r["id"].as_str())
                .map(str::to_string);
            if v["has_more"] != true || after.is_none() {
                break;
            }
        }
        Ok(out)
    }
}

/// A Stripe refund object, as much of it as the shop reads.
#[derive(Debug, serde::Deserialize)]
struct StripeRefund {
    id: String,
    #[serde(default)]
    status: Option<String>,
    currency: String,
    amount: i64,
}

/// A Stripe refund object as a refund to record: only when it succeeded, in our units.
pub fn refund_of(v: &Value) -> Option<Refund> {
    let r: StripeRefund = serde_json::from_value(v.clone()).ok()?;
    if r.status.as_deref() != Some("succeeded") {
        return None;
    }
    ours(r)
}

/// A Stripe refund object in our units, whatever its status.
pub fn any_refund(v: &Value) -> Option<Refund> {
    ours(serde_json::from_value(v.clone()).ok()?)
}

fn ours(r: StripeRefund) -> Option<Refund> {
    let cur = Currency::new(&r.currency).ok()?;
    Some(Refund {
        provider_refund_id: r.id,
        amount_minor: from_stripe(r.amount, &cur),
        currency: cur.as_str().to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cur(c: &str) -> Currency {
        Currency::new(c).unwrap()
    }

    #[test]
    fn amounts_use_stripe_units() {
        assert_eq!(to_stripe(1999, &cur("USD")), Ok(1999));
        assert_eq!(to_stripe(500, &cur("JPY")), Ok(500));
        // ISK and UGX are whole in ISO but hundredths at Stripe.
        assert_eq!(to_stripe(500, &cur("ISK")), Ok(50_000));
        assert_eq!(from_stripe(50_000, &cur("ISK")), 500);
        assert_eq!(to_stripe(12_340, &cur("KWD")), Ok(12_340));
        assert!(to_stripe(12_345, &cur("KWD")).is_err());
        assert_eq!(from_stripe(1999, &cur("EUR")), 1999);
    }

    #[test]
    fn session_expiry_is_raised_to_stripes_minimum_and_stable() {
        let now = 1_700_000_000;
        // A 15-minute reservation is raised past 30 minutes.
        let e = session_expiry(Some(now + 900), now);
        assert!(e >= now + MIN_SESSION_SECS + 60 && e <= now + MIN_SESSION_SECS + 360);
        // Seconds later, the same answer (same idempotent parameters).
        assert_eq!(session_expiry(Some(now + 900), now + 3), e);
        // A long reservation is kept, capped at 24 h.
        assert_eq!(session_expiry(Some(now + 7200), now), now + 7200);
        assert_eq!(
            session_expiry(Some(now + 3 * 86_400), now),
            now + MAX_SESSION_SECS - 60
        );
    }
}
