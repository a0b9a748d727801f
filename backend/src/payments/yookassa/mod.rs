//! YooKassa (API v3): one payment per checkout attempt, captured at once (`capture: true`),
//! paid by the buyer on YooKassa's page (`confirmation.type = redirect`) and fulfilled only
//! on what `GET /payments/{id}` answers, because YooKassa's notifications are not signed
//! (see [`webhook`]). Refunds through `POST /refunds`. RUB only: a YooKassa account takes
//! its own currency, and a Russian shop's is the rouble.

pub mod api;
pub mod receipt;
pub(crate) mod webhook;

use futures_util::future::BoxFuture;
use serde::Deserialize;
use serde_json::{json, Value};
use shared::{Contact, Currency, Lang, Money, PaymentMethod, ProductKind};

use super::refund::Refund;
use super::{Checkout, CheckoutOrder, Provider, RefundRequest};
use crate::config::YookassaConfig;
use crate::db::Db;
use crate::error::{Error, Result};

pub use webhook::router;

/// The only currency offered (see the module doc).
const CURRENCY: &str = "RUB";

pub struct Yookassa {
    api: api::Api,
    public_url: String,
    receipts: bool,
    /// For the receipt: the order's lines with their products' VAT, and the buyer's contact.
    db: Db,
    lang_fallback: Vec<Lang>,
}

impl Yookassa {
    pub fn new(
        c: &YookassaConfig,
        config: &crate::config::Config,
        http: &reqwest::Client,
        db: &Db,
    ) -> Self {
        Yookassa {
            api: api::Api::new(c, http),
            public_url: config.public_url.clone(),
            receipts: c.receipts,
            db: db.clone(),
            lang_fallback: config.lang_fallback.clone(),
        }
    }
}

/// `{"value": "1500.00", "currency": "RUB"}`: the amount in the currency's unit with its
/// decimals, from our minor units (exact integer arithmetic, no floats).
pub fn amount(minor: i64, c: &Currency) -> Value {
    json!({"value": Money::new(minor, c.clone()).major_string(), "currency": c.as_str()})
}

/// A YooKassa `{"value", "currency"}` in our minor units; `None` when it is not an exact
/// amount in a currency we know.
pub fn parse_amount(v: &Amount) -> Option<(i64, Currency)> {
    let c = Currency::new(&v.currency).ok()?;
    let minor = shared::money::parse_major(&v.value, &c).ok()?;
    Some((minor, c))
}

/// A monetary amount as YooKassa writes it.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Amount {
    #[serde(default)]
    pub value: String,
    #[serde(default)]
    pub currency: String,
}

/// A Refund object, as much of it as the shop reads.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct YkRefund {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub payment_id: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub amount: Amount,
    #[serde(default)]
    pub cancellation_details: Option<Cancellation>,
}

/// Why YooKassa canceled a payment or a refund.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Cancellation {
    #[serde(default)]
    pub party: String,
    #[serde(default)]
    pub reason: String,
}

impl YkRefund {
    /// As a refund to record, in our units (whatever its status).
    pub fn as_refund(&self) -> Option<Refund> {
        let (amount_minor, c) = parse_amount(&self.amount)?;
        (!self.id.is_empty()).then(|| Refund {
            provider_refund_id: self.id.clone(),
            amount_minor,
            currency: c.as_str().to_string(),
        })
    }
}

impl Provider for Yookassa {
    fn method(&self) -> PaymentMethod {
        PaymentMethod::Yookassa
    }

    fn refuses(&self, currency: &Currency, kinds: &[ProductKind]) -> Option<String> {
        if let Some(why) = super::refuses_subscriptions("YooKassa", kinds) {
            return Some(why);
        }
        (currency.as_str() != CURRENCY).then(|| {
            format!(
                "YooKassa takes payments in roubles (RUB) only, and this order is in {currency}; \
                 choose another method."
            )
        })
    }

    fn refuses_contact(&self, contact: Option<&Contact>) -> Option<(&'static str, String)> {
        (self.receipts && receipt::customer(contact).is_none())
            .then(|| ("contact.email", receipt::NEEDS_CONTACT.to_string()))
    }

    fn create_checkout<'a>(&'a self, order: &'a CheckoutOrder) -> BoxFuture<'a, Result<Checkout>> {
        Box::pin(async move {
            if let Some(why) = self.refuses(&order.currency, &[]) {
                return Err(Error::field("payment_method_unfit", "payment_method", why));
            }
            let id = order.order_id;
            let title = order.title.trim();
            // Shown to the buyer on YooKassa's page and in their bank's history.
            let word = match order.lang {
                Lang::Ru => "Заказ",
                Lang::Uz => "Buyurtma",
                Lang::En => "Order",
            };
            let description = if title.is_empty() {
                format!("{word} {id}")
            } else {
                format!("{word} {id}: {title}")
            };
            let mut confirmation = json!({
                "type": "redirect",
                // Where the buyer lands, paid or not; the order page shows what the shop knows.
                "return_url": format!("{}/orders/{id}?paid=yookassa", self.public_url),
            });
            // YooKassa's page speaks Russian and English; an Uzbek buyer gets its default.
            match order.lang {
                Lang::Ru => confirmation["locale"] = json!("ru_RU"),
                Lang::En => confirmation["locale"] = json!("en_US"),
                Lang::Uz => {}
            }
            let mut body = json!({
                "amount": amount(order.total_minor, &order.currency),
                "capture": true,
                "confirmation": confirmation,
                "description": description.chars().take(128).collect::<String>(),
                "metadata": {"order_id": id.to_string()},
            });
            if self.receipts {
                let fiscal = receipt::order_fiscal(&self.db, id, &self.lang_fallback).await?;
                body["receipt"] = fiscal.payment_receipt(id)?;
            }
            let key = format!("shop-checkout-{}", order.attempt_key);
            let (status, v) = self.api.post("/payments", &body, &key).await?;
            if !status.is_success() {
                return Err(api::unexpected(status, &v));
            }
            let (Some(payment), Some(url)) = (
                v["id"].as_str(),
                v["confirmation"]["confirmation_url"].as_str(),
            ) else {
                return Err(Error::internal(format!(
                    "YooKassa payment {} has no id or confirmation_url",
                    v["id"]
                )));
            };
            tracing::info!(order_id = id, payment, "yookassa payment created");
            Ok(Checkout {
                invoice_link: None,
                checkout_url: Some(url.to_string()),
                checkout_id: Some(payment.to_string()),
            })
        })
    }

    fn refund<'a>(&'a self, req: &'a RefundRequest) -> BoxFuture<'a, Result<Vec<Refund>>> {
        Box::pin(async move {
            let mut body = json!({
                "payment_id": req.provider_payment_id,
                "amount": amount(req.amount_minor, &req.currency),
                "description": format!("Order {}", req.order_id),
                "metadata": {"order_id": req.order_id.to_string()},
            });
            if self.receipts {
                let fiscal =
                    receipt::order_fiscal(&self.db, req.order_id, &self.lang_fallback).await?;
                body["receipt"] = fiscal.refund_receipt(req.order_id, req.amount_minor)?;
            }
            // A refund YooKassa canceled stays the answer to its key for 24 h: after one, the
            // next try must be a new refund, so the key counts them (stable across retries
            // of one try, whose refund is pending or succeeded, not canceled).
            let key = match self.canceled_refunds(&req.provider_payment_id).await? {
                0 => req.idempotency_key(),
                n => format!("{}-c{n}", req.idempotency_key()),
            };
            let (status, v) = self.api.post("/refunds", &body, &key).await?;
            if !status.is_success() {
                let (code, description) = api::error_of(&v);
                tracing::error!(order_id = req.order_id, %status, code, description, "yookassa refused the refund");
                return Err(Error::conflict(
                    "refund_refused",
                    format!(
                        "YooKassa refused the refund ({code}: {description}); check the payment \
                         in the YooKassa dashboard."
                    ),
                ));
            }
            let r: YkRefund = serde_json::from_value(v).unwrap_or_default();
            match r.status.as_str() {
                // Recorded now; its refund.succeeded notification then finds it counted.
                "succeeded" => Ok(r.as_refund().into_iter().collect()),
                "canceled" => {
                    let why = r.cancellation_details.unwrap_or_default();
                    Err(Error::conflict(
                        "refund_refused",
                        format!(
                            "YooKassa canceled the refund ({}: {}); nothing was given back.",
                            why.party, why.reason
                        ),
                    ))
                }
                // Pending: its refund.succeeded notification records it.
                _ => Ok(Vec::new()),
            }
        })
    }
}

impl Yookassa {
    /// How many refunds of `payment_id` YooKassa canceled (`GET /refunds?payment_id=…`, every
    /// page).
    async fn canceled_refunds(&self, payment_id: &str) -> Result<usize> {
        let mut n = 0;
        let mut cursor: Option<String> = None;
        // 100 a page; a payment with more than a few refunds is not real.
        for _ in 0..10 {
            let query = {
                let mut q = form_urlencoded::Serializer::new(String::new());
                q.append_pair("payment_id", payment_id)
                    .append_pair("limit", "100");
                if let Some(c) = &cursor {
                    q.append_pair("cursor", c);
                }
                q.finish()
            };
            let Some(v) = self.api.get(&format!("/refunds?{query}")).await? else {
                return Ok(n);
            };
            let items: Vec<YkRefund> =
                serde_json::from_value(v["items"].clone()).unwrap_or_default();
            n += items.iter().filter(|r| r.status == "canceled").count();
            cursor = v["next_cursor"].as_str().map(str::to_string);
            if cursor.is_none() {
                break;
            }
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_exact_decimal_strings() {
        let rub = Currency::new("RUB").unwrap();
        assert_eq!(
            amount(150_000, &rub),
            json!({"value": "1500.00", "currency": "RUB"})
        );
        assert_eq!(amount(1_234_567, &rub)["value"], "12345.67");
        assert_eq!(amount(5, &rub)["value"], "0.05");
        let a = |v: &str| Amount {
            value: v.into(),
            currency: "RUB".into(),
        };
        assert_eq!(parse_amount(&a("1500.00")), Some((150_000, rub.clone())));
        assert_eq!(parse_amount(&a("0.1")), Some((10, rub.clone())));
        assert_eq!(parse_amount(&a("1500.001")), None);
        assert_eq!(parse_amount(&a("1e3")), None);
    }
}
