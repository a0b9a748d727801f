//! PayPal Orders v2: an order per checkout, captured when the buyer comes back (or when
//! PayPal's webhook says they approved), fulfilled only on a completed capture of the
//! right amount, refunded through the capture.

pub mod api;
pub(crate) mod routes;

use std::sync::Arc;

use futures_util::future::BoxFuture;
use serde_json::{json, Value};
use shared::{Currency, Lang, Money, PaymentMethod, ProductKind};

use super::refund::Refund;
use super::{Checkout, CheckoutOrder, Provider, RefundRequest};
use crate::config::PaypalConfig;
use crate::error::{Error, Result};

pub use routes::router;

/// PayPal's currencies (developer.paypal.com/api/rest/reference/currency-codes). UZS is not
/// one of them.
const CURRENCIES: &[&str] = &[
    "AUD", "BRL", "CAD", "CNY", "CZK", "DKK", "EUR", "HKD", "HUF", "ILS", "JPY", "MYR", "MXN",
    "TWD", "NZD", "NOK", "PHP", "PLN", "GBP", "SGD", "SEK", "CHF", "THB", "USD",
];

/// PayPal takes these without decimals, although ISO gives HUF and TWD two.
const WHOLE: &[&str] = &["HUF", "JPY", "TWD"];

pub struct Paypal {
    api: Arc<api::Api>,
    public_url: String,
}

impl Paypal {
    pub fn new(c: &PaypalConfig, public_url: &str, http: &reqwest::Client) -> Self {
        Paypal {
            api: api::for_config(c, http),
            public_url: public_url.to_string(),
        }
    }
}

/// `{"currency_code", "value"}` in PayPal's decimals for the currency.
pub fn amount(minor: i64, c: &Currency) -> std::result::Result<Value, String> {
    let value = if WHOLE.contains(&c.as_str()) {
        let div = 10i64.pow(c.exponent());
        if minor % div != 0 {
            return Err(format!("PayPal takes {c} amounts only in whole units"));
        }
        (minor / div).to_string()
    } else {
        Money::new(minor, c.clone()).major_string()
    };
    Ok(json!({"currency_code": c.as_str(), "value": value}))
}

/// PayPal's `{"currency_code", "value"}` in our minor units.
pub fn parse_amount(v: &Value) -> Option<(i64, Currency)> {
    let c = Currency::new(v["currency_code"].as_str()?).ok()?;
    let minor = shared::money::parse_major(v["value"].as_str()?, &c).ok()?;
    Some((minor, c))
}

impl Provider for Paypal {
    fn method(&self) -> PaymentMethod {
        PaymentMethod::Paypal
    }

    fn refuses(&self, currency: &Currency, kinds: &[ProductKind]) -> Option<String> {
        // A PayPal order is paid once; subscriptions renew through Stripe or Stars.
        if let Some(why) = super::refuses_subscriptions("PayPal", kinds) {
            Some(why)
        } else if CURRENCIES.contains(&currency.as_str()) {
            None
        } else if currency.as_str() == "XTR" {
            Some("Telegram Stars cannot be paid through PayPal.".into())
        } else {
            Some(format!(
                "PayPal does not take payments in {currency}; choose another method."
            ))
        }
    }

    fn create_checkout<'a>(&'a self, order: &'a CheckoutOrder) -> BoxFuture<'a, Result<Checkout>> {
        Box::pin(async move {
            let unfit = |e| Error::field("payment_method_unfit", "payment_method", e);
            let mut amount = amount(order.total_minor, &order.currency).map_err(unfit)?;
            // A promo code's discount and the delivery fee as PayPal breaks an amount down:
            // the value is the item total minus the discount plus shipping, and the buyer
            // sees each.
            if order.discount_minor > 0 || order.delivery_fee_minor > 0 {
                let items = order.total_minor + order.discount_minor - order.delivery_fee_minor;
                let mut breakdown = json!({
                    "item_total": self::amount(items, &order.currency).map_err(unfit)?,
                });
                if order.discount_minor > 0 {
                    breakdown["discount"] =
                        self::amount(order.discount_minor, &order.currency).map_err(unfit)?;
                }
                if order.delivery_fee_minor > 0 {
                    breakdown["shipping"] =
                        self::amount(order.delivery_fee_minor, &order.currency).map_err(unfit)?;
                }
                amount["breakdown"] = breakdown;
            }
            let id = order.order_id;
            let mut context = json!({
                "return_url": format!("{}/payments/paypal/return?order={id}", self.public_url),
                "cancel_url": format!("{}/payments/paypal/cancel?order={id}", self.public_url),
                "user_action": "PAY_NOW",
                "shipping_preference": "NO_SHIPPING",
            });
            // PayPal has no Uzbek locale; it picks the buyer's own then.
            match order.lang {
                Lang::En => context["locale"] = json!("en-US"),
                Lang::Ru => context["locale"] = json!("ru-RU"),
                Lang::Uz => {}
            }
            let body = json!({
                "intent": "CAPTURE",
                "purchase_units": [{
                    "reference_id": "default",
                    "custom_id": id.to_string(),
                    // Unique per attempt: PayPal refuses a reused invoice id.
                    "invoice_id": format!("shop-{}", order.attempt_key),
                    "description": order.title.chars().take(127).collect::<String>(),
                    "amount": amount,
                }],
                "payment_source": {"paypal": {"experience_context": context}},
            });
            let request_id = format!("shop-checkout-{}", order.attempt_key);
            let (status, v) = self
                .api
                .call(
                    reqwest::Method::POST,
                    "/v2/checkout/orders",
                    Some(body.to_string()),
                    Some(&request_id),
                )
                .await?;
            if !status.is_success() {
                return Err(api::unexpected(status, &v));
            }
            let link = v["links"].as_array().and_then(|ls| {
                ["payer-action", "approve"].iter().find_map(|rel| {
                    ls.iter()
                        .find(|l| l["rel"] == *rel)
                        .and_then(|l| l["href"].as_str())
                })
            });
            let (Some(url), Some(paypal_order)) = (link, v["id"].as_str()) else {
                return Err(Error::internal(format!(
                    "PayPal order {} has no id or approval link",
                    v["id"]
                )));
            };
            tracing::info!(order_id = id, paypal_order, "paypal order created");
            Ok(Checkout {
                invoice_link: None,
                checkout_url: Some(url.to_string()),
                checkout_id: Some(paypal_order.to_string()),
            })
        })
    }

    fn refund<'a>(&'a self, req: &'a RefundRequest) -> BoxFuture<'a, Result<Vec<Refund>>> {
        Box::pin(async move {
            let body = if req.full {
                json!({})
            } else {
                json!({"amount": amount(req.amount_minor, &req.currency)
                    .map_err(|e| Error::field("invalid_amount", "amount_minor", e))?})
            };
            let request_id = req.idempotency_key();
            let path = format!(
                "/v2/payments/captures/{}/refund",
                urlencode(&req.provider_payment_id)
            );
            let (status, v) = self
                .api
                .call(
                    reqwest::Method::POST,
                    &path,
                    Some(body.to_string()),
                    Some(&request_id),
                )
                .await?;
            if status.is_success() {
                // A pending refund is recorded when PayPal's notification says it completed.
                Ok(refund_of(&v).into_iter().collect())
            } else if api::issue(&v) == "CAPTURE_FULLY_REFUNDED" {
                // Refunded elsewhere (the PayPal dashboard): its PAYMENT.CAPTURE.REFUNDED
                // notification carries the refund id and records it.
                Ok(Vec::new())
            } else {
                Err(api::unexpected(status, &v))
            }
        })
    }
}

/// A PayPal refund resource (the refund call's answer, or a `PAYMENT.CAPTURE.REFUNDED` /
/// `REVERSED` resource) as a refund to record: only when it completed.
pub fn refund_of(v: &Value) -> Option<Refund> {
    if v["status"] != "COMPLETED" {
        return None;
    }
    let (amount_minor, cur) = parse_amount(&v["amount"])?;
    Some(Refund {
        provider_refund_id: v["id"].as_str()?.to_string(),
        amount_minor,
        currency: cur.as_str().to_string(),
    })
}

/// Ids from PayPal go into our URL paths; keep them to one path segment.
pub fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cur(c: &str) -> Currency {
        Currency::new(c).unwrap()
    }

    #[test]
    fn amounts_use_paypal_decimals() {
        assert_eq!(amount(1234, &cur("USD")).unwrap()["value"], "12.34");
        assert_eq!(amount(500, &cur("JPY")).unwrap()["value"], "500");
        assert_eq!(amount(150_000, &cur("HUF")).unwrap()["value"], "1500");
        assert!(amount(150_050, &cur("HUF")).is_err());
        assert_eq!(
            parse_amount(&json!({"currency_code": "USD", "value": "12.34"})),
            Some((1234, cur("USD")))
        );
    }
}
