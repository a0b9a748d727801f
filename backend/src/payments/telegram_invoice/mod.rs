//! Telegram provider invoices (`TELEGRAM_PROVIDER_TOKEN`, e.g. Click or Payme inside
//! Telegram): physical goods paid in the order's own currency, one price line per item,
//! name, phone and address asked by Telegram. Pre-checkout and fulfilment are shared with
//! Stars (`payments::stars::updates`); refunds happen at the provider.

use futures_util::future::BoxFuture;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};
use shared::{Currency, PaymentMethod, ProductKind};

use super::stars::{bot_failure, clip, invoice_texts};
use super::{Checkout, CheckoutOrder, Provider};
use crate::config::Config;
use crate::error::Result;
use crate::state::AppState;
use crate::telegram::texts::{lang_of, t};
use crate::telegram::Bot;

pub struct TelegramInvoice {
    bot: Bot,
    provider_token: SecretString,
    public_url: String,
}

impl TelegramInvoice {
    pub fn new(bot: Bot, provider_token: SecretString, config: &Config) -> Self {
        TelegramInvoice {
            bot,
            provider_token,
            public_url: config.public_url.clone(),
        }
    }
}

impl Provider for TelegramInvoice {
    fn method(&self) -> PaymentMethod {
        PaymentMethod::Telegram
    }

    fn refuses(&self, currency: &Currency, kinds: &[ProductKind]) -> Option<String> {
        if currency.as_str() == "XTR" {
            return Some("Orders priced in Stars are paid with payment_method \"stars\".".into());
        }
        if kinds.iter().any(|k| *k != ProductKind::Physical) {
            return Some(
                "Telegram sells digital goods for Stars only; pay this order another way.".into(),
            );
        }
        None
    }

    fn create_checkout<'a>(&'a self, order: &'a CheckoutOrder) -> BoxFuture<'a, Result<Checkout>> {
        Box::pin(async move {
            let (title, description, photo) = invoice_texts(order, &self.public_url);
            // Amounts are already integer minor units with the currency's own exponent
            // (UZS tiyin, USD cents, JPY yen), which is what Telegram expects.
            let mut prices: Vec<Value> = order
                .lines
                .iter()
                .map(|l| {
                    let label = if l.quantity == 1 {
                        l.title.clone()
                    } else {
                        format!("{} × {}", l.title, l.quantity)
                    };
                    json!({"label": clip(&label, 64), "amount": l.unit_minor * l.quantity})
                })
                .collect();
            // A promo code's discount is a negative price of its own (Telegram lists a
            // discount among an invoice's price components), so the prices add up to the
            // total the order charges.
            if order.discount_minor > 0 {
                let label = match order.lang {
                    shared::Lang::Uz => "Chegirma",
                    shared::Lang::Ru => "Скидка",
                    shared::Lang::En => "Discount",
                };
                prices.push(json!({"label": label, "amount": -order.discount_minor}));
            }
            // The delivery fee chosen at checkout is a price of its own.
            if order.delivery_fee_minor > 0 {
                prices.push(json!({
                    "label": crate::delivery::label(order.lang),
                    "amount": order.delivery_fee_minor,
                }));
            }
            let physical = order.lines.iter().any(|l| l.kind == ProductKind::Physical);
            // A delivery chosen at checkout already says where the goods go and what it costs:
            // Telegram's own shipping form would ask again and offer free options.
            let ship = physical && !order.delivery_chosen;
            let mut body = json!({
                "title": title,
                "description": description,
                "payload": self.bot.payload(order.order_id),
                "provider_token": self.provider_token.expose_secret(),
                "currency": order.currency.as_str(),
                "prices": prices,
                "need_name": physical,
                "need_phone_number": physical,
                "need_shipping_address": ship,
                "is_flexible": ship,
            });
            if let Some(p) = photo {
                body["photo_url"] = json!(p);
            }
            let link: String = self
                .bot
                .call("createInvoiceLink", &body)
                .await
                .map_err(|e| bot_failure("invoice", e))?;
            Ok(Checkout {
                invoice_link: Some(link),
                checkout_url: None,
                checkout_id: None,
            })
        })
    }
}

/// Answers a `shipping_query` with the shop's delivery options. They are free: the order
/// total was fixed when it was placed, and the payment must match it exactly.
pub async fn shipping_query(st: &AppState, bot: &Bot, q: &Value) -> Result<()> {
    let lang = lang_of(q["from"]["language_code"].as_str());
    let order_id = q["invoice_payload"]
        .as_str()
        .and_then(|p| bot.verify_payload(p));
    let pending = match order_id {
        Some(id) => {
            let mut conn = st.db.pool.acquire().await?;
            crate::orders::repo::head(&mut conn, id)
                .await?
                .is_some_and(|o| o.status == shared::OrderStatus::PendingPayment)
        }
        None => false,
    };
    let body = if pending {
        let zero = |label: &str| json!([{"label": label, "amount": 0}]);
        json!({
            "shipping_query_id": q["id"],
            "ok": true,
            "shipping_options": [
                {"id": "courier", "title": t(lang, "ship_free"), "prices": zero(t(lang, "ship_free"))},
                {"id": "pickup", "title": t(lang, "ship_pickup"), "prices": zero(t(lang, "ship_pickup"))},
            ],
        })
    } else {
        json!({"shipping_query_id": q["id"], "ok": false, "error_message": t(lang, "pc_gone")})
    };
    if let Err(e) = bot.call::<Value>("answerShippingQuery", &body).await {
        tracing::warn!(error = %e, "answerShippingQuery failed");
    }
    Ok(())
}
