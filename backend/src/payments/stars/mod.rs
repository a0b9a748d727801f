//! Telegram Stars (XTR): invoice links for one-time purchases and 30-day Star
//! subscriptions, refunds with `refundStarPayment`.
//!
//! The payment itself arrives as bot updates (`pre_checkout_query`, then
//! `message.successful_payment`), handled in [`updates`] for both Telegram rails.

pub mod reconcile;
pub mod updates;

use axum::http::StatusCode;
use futures_util::future::BoxFuture;
use serde_json::{json, Value};
use shared::{Currency, PaymentMethod, ProductKind};

use super::refund::Refund;
use super::{
    Checkout, CheckoutOrder, Provider, RefundRequest, SubscriptionChange, SubscriptionRef,
};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::telegram::{Bot, BotError};

/// The only subscription period Telegram accepts: 30 days.
pub const SUBSCRIPTION_PERIOD: i64 = crate::subscriptions::PERIOD;
/// Telegram's ceiling for a Star subscription price.
pub const MAX_SUBSCRIPTION_STARS: i64 = 10_000;

pub struct Stars {
    bot: Bot,
    public_url: String,
}

impl Stars {
    pub fn new(bot: Bot, config: &Config) -> Self {
        Stars {
            bot,
            public_url: config.public_url.clone(),
        }
    }
}

/// Cuts `s` to at most `max` characters (Telegram counts characters, not bytes).
pub fn clip(s: &str, max: usize) -> String {
    let s = s.trim();
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max - 1).collect();
    out.push('…');
    out
}

/// Title, description and photo of an invoice for `order`.
pub fn invoice_texts(order: &CheckoutOrder, public_url: &str) -> (String, String, Option<String>) {
    let title = match order.lines.as_slice() {
        [one] if one.quantity == 1 => clip(&one.title, 32),
        _ => clip(&format!("#{} {}", order.order_id, order.title), 32),
    };
    let description = match order.lines.as_slice() {
        [one] if !one.description.trim().is_empty() => clip(&one.description, 255),
        lines => clip(
            &lines
                .iter()
                .map(|l| format!("{} × {}", l.title, l.quantity))
                .collect::<Vec<_>>()
                .join(", "),
            255,
        ),
    };
    let description = if description.is_empty() {
        title.clone()
    } else {
        description
    };
    // Telegram fetches the photo itself: it must be a public raster image.
    let photo = order
        .lines
        .first()
        .and_then(|l| l.image.as_deref())
        .filter(|i| !i.ends_with(".svg"))
        .map(|i| {
            if i.starts_with("http") {
                i.to_string()
            } else {
                format!("{public_url}{i}")
            }
        })
        .filter(|u| u.starts_with("https://"));
    (title, description, photo)
}

/// A Bot API failure as the shop's error: the customer sees "try again", the log the cause.
pub fn bot_failure(what: &str, e: BotError) -> Error {
    tracing::warn!(error = %e, "{what} failed");
    Error::Status {
        status: StatusCode::BAD_GATEWAY,
        code: "telegram_unavailable",
        message: format!("Telegram did not accept the {what}; please try again in a moment."),
    }
}

impl Provider for Stars {
    fn method(&self) -> PaymentMethod {
        PaymentMethod::Stars
    }

    fn refuses(&self, currency: &Currency, kinds: &[ProductKind]) -> Option<String> {
        if currency.as_str() != "XTR" {
            return Some(format!(
                "Telegram Stars pay only for items priced in Stars (XTR); this order is in {currency}."
            ));
        }
        if kinds.contains(&ProductKind::Subscription) && kinds.len() > 1 {
            return Some("A subscription is ordered on its own, without other items.".into());
        }
        None
    }

    fn create_checkout<'a>(&'a self, order: &'a CheckoutOrder) -> BoxFuture<'a, Result<Checkout>> {
        Box::pin(async move {
            let (title, description, photo) = invoice_texts(order, &self.public_url);
            let mut body = json!({
                "title": title,
                "description": description,
                "payload": self.bot.payload(order.order_id),
                "provider_token": "",
                "currency": "XTR",
                "prices": [{"label": title, "amount": order.total_minor}],
            });
            if let Some(p) = photo {
                body["photo_url"] = json!(p);
            }
            let subscription = order
                .lines
                .iter()
                .any(|l| l.kind == ProductKind::Subscription);
            if subscription {
                if order.lines.len() != 1 || order.lines[0].quantity != 1 {
                    return Err(Error::invalid(
                        "subscription_quantity",
                        "A subscription is bought one at a time.",
                    ));
                }
                if order.total_minor > MAX_SUBSCRIPTION_STARS {
                    return Err(Error::invalid(
                        "subscription_price",
                        format!(
                            "Telegram allows Star subscriptions up to {MAX_SUBSCRIPTION_STARS} Stars."
                        ),
                    ));
                }
                body["subscription_period"] = json!(SUBSCRIPTION_PERIOD);
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

    /// `editUserStarSubscription`: Telegram only turns renewal off and on; ending a refunded
    /// subscription now is turning its renewal off (the record ends access).
    fn change_subscription<'a>(
        &'a self,
        sub: &'a SubscriptionRef,
        change: SubscriptionChange,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let body = json!({
                "user_id": sub.customer_id,
                "telegram_payment_charge_id": sub.handle,
                "is_canceled": change != SubscriptionChange::Resume,
            });
            self.bot
                .call::<Value>("editUserStarSubscription", &body)
                .await
                .map_err(|e| bot_failure("subscription change", e))?;
            Ok(())
        })
    }

    fn refund<'a>(&'a self, req: &'a RefundRequest) -> BoxFuture<'a, Result<Vec<Refund>>> {
        Box::pin(async move {
            if !req.full {
                return Err(Error::field(
                    "partial_refund_unsupported",
                    "amount_minor",
                    "Telegram Stars are refunded in full only; leave amount_minor out.",
                ));
            }
            let r = self
                .bot
                .call::<Value>(
                    "refundStarPayment",
                    &json!({
                        "user_id": req.customer_id,
                        "telegram_payment_charge_id": req.provider_payment_id,
                    }),
                )
                .await;
            // A Stars refund is whole and reuses the charge id, so the charge id is the
            // refund's id: Telegram's `refunded_payment` for it then counts only once.
            let made = vec![Refund {
                provider_refund_id: req.provider_payment_id.clone(),
                amount_minor: req.amount_minor,
                currency: req.currency.as_str().to_string(),
            }];
            match r {
                Ok(_) => Ok(made),
                // Refunded before (by us a moment ago, or from Telegram): the money is back.
                Err(e) if e.description().contains("CHARGE_ALREADY_REFUNDED") => Ok(made),
                Err(e) => Err(bot_failure("refund", e)),
            }
        })
    }
}
