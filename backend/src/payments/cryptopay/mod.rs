//! Crypto Pay (@CryptoBot): an invoice per order, paid in crypto inside Telegram.
//!
//! Orders priced in TON or USDT get a crypto invoice in that asset; orders priced in one of
//! Crypto Pay's fiat currencies get a fiat invoice that Crypto Pay converts (the buyer pays in
//! USDT or TON). The invoice is kept in `provider_checkouts`: its `invoice_paid` webhook is
//! acted on only for invoices the shop created, checked against the order's own amount and
//! currency. Crypto Pay sends nothing when an invoice expires: the order's reservation timer
//! ends the order, and the rail then deletes the invoice so it cannot be paid any more.
//! There is no refund method: money goes back by `transfer` to the buyer's Telegram account,
//! or by hand when the app may not make transfers.

pub mod api;
pub mod reconcile;
pub mod signature;
pub(crate) mod webhook;

use futures_util::future::BoxFuture;
use serde_json::{json, Value};
use shared::{Currency, Money, PaymentMethod, ProductKind};

use super::refund::Refund;
use super::{Checkout, CheckoutOrder, Provider, RefundRequest};
use crate::config::CryptopayConfig;
use crate::db;
use crate::error::{Error, Result};

pub use webhook::router;

/// The shop's crypto currencies, which Crypto Pay takes as invoice assets.
const ASSETS: &[&str] = &["TON", "USDT"];

/// Crypto Pay's fiat currencies (help.send.tg, Crypto Pay API: `fiat`). XTR is not one.
const FIATS: &[&str] = &[
    "USD", "EUR", "RUB", "BYN", "UAH", "GBP", "CNY", "KZT", "UZS", "GEL", "TRY", "AMD", "THB",
    "INR", "BRL", "IDR", "AZN", "AED", "PLN", "ILS",
];

/// What a fiat invoice may be paid in: the assets the shop itself knows.
const ACCEPTED_ASSETS: &str = "USDT,TON";

/// `expires_in` bounds (seconds).
const MAX_EXPIRES_IN: i64 = 2_678_400;

pub struct Cryptopay {
    api: api::Api,
}

impl Cryptopay {
    pub fn new(c: &CryptopayConfig, http: &reqwest::Client) -> Self {
        Cryptopay {
            api: api::Api::new(c, http),
        }
    }
}

/// An amount as Crypto Pay takes it: major units, exact, without trailing zeros
/// (`1500000000` TON → `"1.5"`, `12500000` UZS → `"125000"`).
pub fn major(minor: i64, c: &Currency) -> String {
    let s = Money::new(minor, c.clone()).major_string();
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// The currency and amount an invoice is priced in: `asset` for a crypto invoice, `fiat` for a
/// fiat one, with `amount`, in our minor units. `Err` says what does not fit the shop.
pub fn priced(invoice: &Value) -> std::result::Result<(i64, Currency), String> {
    let code = if invoice["currency_type"] == "fiat" {
        invoice["fiat"].as_str()
    } else {
        invoice["asset"].as_str()
    }
    .ok_or("the invoice names no asset or fiat")?;
    let cur = Currency::new(code).map_err(|_| format!("{code} is not a currency of the shop"))?;
    let amount = invoice["amount"]
        .as_str()
        .ok_or("the invoice has no amount")?;
    let minor = shared::money::parse_major(amount, &cur)?;
    Ok((minor, cur))
}

/// A decimal string as (digits without the point, digits after the point): `"9.870"` →
/// `(9870, 3)`. Exact; `None` for anything else than a plain non-negative decimal.
fn decimal(s: &str) -> Option<(u128, u32)> {
    let (int, frac) = s.trim().split_once('.').unwrap_or((s.trim(), ""));
    if int.is_empty() || !int.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) || frac.len() > 30 {
        return None;
    }
    let digits: u128 = format!("{int}{frac}").parse().ok()?;
    Some((digits, frac.len() as u32))
}

fn show_decimal(digits: u128, scale: u32) -> String {
    if scale == 0 {
        return digits.to_string();
    }
    let div = 10u128.pow(scale);
    let s = format!(
        "{}.{:0width$}",
        digits / div,
        digits % div,
        width = scale as usize
    );
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// What a refund of `amount` (after `refunded` of an order of `total`, all minor units of the
/// order's currency) gives back in the asset the buyer paid, of which they paid `paid` (a
/// decimal string). Proportional and exact to `decimals` digits (the asset's own, at least
/// those of `paid`), rounded down; each share is computed from the running totals, so refunds
/// that add up to the whole order give back exactly what was paid.
pub fn share_of_paid(
    paid: &str,
    decimals: u32,
    total: i64,
    refunded: i64,
    amount: i64,
) -> Option<String> {
    let (digits, scale) = decimal(paid)?;
    let (digits, scale) = if decimals > scale {
        (digits.checked_mul(10u128.pow(decimals - scale))?, decimals)
    } else {
        (digits, scale)
    };
    if total <= 0 || refunded < 0 || amount <= 0 || refunded + amount > total {
        return None;
    }
    let upto = |part: i64| digits.checked_mul(part as u128).map(|v| v / total as u128);
    let give = upto(refunded + amount)? - upto(refunded)?;
    (give > 0).then(|| show_decimal(give, scale))
}

/// The spend id of a refund's transfer: the refund's idempotency key, so a retry of the same
/// refund cannot pay twice (Crypto Pay accepts a spend id once), hashed when it would exceed
/// Crypto Pay's 64 characters.
pub fn spend_id(req: &RefundRequest) -> String {
    use sha2::Digest;
    let key = req.idempotency_key();
    if key.len() <= 64 {
        key
    } else {
        format!(
            "shop-refund-{}",
            &hex::encode(sha2::Sha256::digest(key.as_bytes()))[..48]
        )
    }
}

/// Whether Crypto Pay refused a transfer because the app may not make transfers (turned off
/// in the app's security settings). The API documents no list of error names; it answers the
/// disabled method as `METHOD_DISABLED` (403), and the other spellings are kept out of
/// caution: each means a person has to act.
fn transfers_disabled(r: &api::Refused) -> bool {
    r.code == 403
        || ["DISABLED", "FORBIDDEN", "NOT_ALLOWED", "PERMISSION"]
            .iter()
            .any(|w| r.name.contains(w))
}

/// Whether Crypto Pay says this spend id was used: the transfer was made by an earlier try.
fn spend_id_used(r: &api::Refused) -> bool {
    r.name.contains("SPEND_ID")
        && ["USED", "ALREADY", "EXISTS", "DUPLICATE"]
            .iter()
            .any(|w| r.name.contains(w))
}

impl Provider for Cryptopay {
    fn method(&self) -> PaymentMethod {
        PaymentMethod::Cryptopay
    }

    fn refuses(&self, currency: &Currency, kinds: &[ProductKind]) -> Option<String> {
        if let Some(why) = super::refuses_subscriptions("Crypto Pay", kinds) {
            return Some(why);
        }
        let c = currency.as_str();
        if ASSETS.contains(&c) || FIATS.contains(&c) {
            None
        } else if c == "XTR" {
            Some("Telegram Stars cannot be paid through Crypto Pay.".into())
        } else {
            Some(format!(
                "Crypto Pay does not take prices in {currency}; choose another method."
            ))
        }
    }

    /// The invoice carries the order's reference in its `payload`.
    fn names_order_by_reference(&self) -> bool {
        true
    }

    fn create_checkout<'a>(&'a self, order: &'a CheckoutOrder) -> BoxFuture<'a, Result<Checkout>> {
        Box::pin(async move {
            let c = order.currency.as_str();
            let amount = major(order.total_minor, &order.currency);
            let mut p = if ASSETS.contains(&c) {
                json!({"currency_type": "crypto", "asset": c, "amount": amount})
            } else {
                json!({"currency_type": "fiat", "fiat": c, "amount": amount,
                       "accepted_assets": ACCEPTED_ASSETS})
            };
            p["description"] = json!(order.title.chars().take(1024).collect::<String>());
            p["payload"] = json!(order
                .pay_ref
                .clone()
                .unwrap_or_else(|| order.order_id.to_string()));
            p["allow_comments"] = json!(false);
            if let Some(at) = order.expires_at {
                // The invoice lapses with the order's reservation.
                p["expires_in"] = json!((at - db::now()).clamp(1, MAX_EXPIRES_IN));
            }
            let inv = self.api.must("createInvoice", &p).await?;
            let Some(id) = inv["invoice_id"].as_i64() else {
                return Err(Error::internal("Crypto Pay invoice without invoice_id"));
            };
            // Inside Telegram the Mini App invoice opens in place; the bot's link and the web
            // page are for older answers that lack it.
            let url = [
                "mini_app_invoice_url",
                "bot_invoice_url",
                "web_app_invoice_url",
            ]
            .iter()
            .find_map(|k| inv[*k].as_str().filter(|u| !u.is_empty()))
            .ok_or_else(|| Error::internal("Crypto Pay invoice without a link"))?;
            tracing::info!(
                order_id = order.order_id,
                invoice_id = id,
                "crypto pay invoice created"
            );
            Ok(Checkout {
                invoice_link: None,
                checkout_url: Some(url.to_string()),
                checkout_id: Some(id.to_string()),
            })
        })
    }

    fn on_unpaid_end<'a>(
        &'a self,
        order_id: i64,
        checkout_ids: &'a [String],
    ) -> BoxFuture<'a, Vec<String>> {
        Box::pin(async move {
            let mut notes = Vec::new();
            for id in checkout_ids {
                let Ok(invoice_id) = id.parse::<i64>() else {
                    continue;
                };
                let p = json!({"invoice_id": invoice_id});
                notes.push(match self.api.call("deleteInvoice", &p).await {
                    Ok(Ok(_)) => {
                        tracing::info!(order_id, invoice_id, "crypto pay invoice deleted");
                        format!("Crypto Pay invoice {invoice_id} deleted")
                    }
                    // Paid meanwhile, or gone already: a late payment still reaches the
                    // webhook, and the lifecycle sells it if the stock is there.
                    Ok(Err(r)) => {
                        tracing::warn!(order_id, invoice_id, name = r.name, "crypto pay kept the invoice");
                        format!("Crypto Pay kept invoice {invoice_id} ({})", r.name)
                    }
                    Err(e) => {
                        tracing::warn!(order_id, invoice_id, error = %e, "crypto pay invoice not deleted");
                        format!(
                            "Crypto Pay invoice {invoice_id} not deleted (Crypto Pay did not \
                             answer); it lapses at its own expiry"
                        )
                    }
                });
            }
            notes
        })
    }

    fn refund<'a>(&'a self, req: &'a RefundRequest) -> BoxFuture<'a, Result<Vec<Refund>>> {
        Box::pin(async move {
            let invoice_id: i64 = req
                .provider_payment_id
                .parse()
                .map_err(|_| Error::internal("crypto pay payment id is not an invoice id"))?;
            // What the buyer paid, as Crypto Pay reports it: a fiat invoice is paid in an
            // asset, and that asset goes back.
            let v = self
                .api
                .must(
                    "getInvoices",
                    &json!({"invoice_ids": invoice_id.to_string()}),
                )
                .await?;
            let inv = v["items"]
                .as_array()
                .and_then(|items| items.iter().find(|i| i["invoice_id"] == invoice_id))
                .cloned()
                .ok_or_else(|| {
                    Error::internal(format!("Crypto Pay has no invoice {invoice_id}"))
                })?;
            if inv["status"] != "paid" {
                return Err(Error::conflict(
                    "invalid_state",
                    format!("Crypto Pay says invoice {invoice_id} is not paid."),
                ));
            }
            let (total, _) = priced(&inv).map_err(Error::internal)?;
            let asset = inv["paid_asset"]
                .as_str()
                .or(inv["asset"].as_str())
                .ok_or_else(|| Error::internal("paid Crypto Pay invoice without paid_asset"))?;
            let paid = inv["paid_amount"]
                .as_str()
                .or(inv["amount"].as_str())
                .ok_or_else(|| Error::internal("paid Crypto Pay invoice without paid_amount"))?;
            // Crypto Pay's assets the shop knows carry their decimals; others are refunded
            // to the digits Crypto Pay reported.
            let decimals = Currency::new(asset).map_or(0, |c| c.exponent()).min(18);
            let amount = share_of_paid(paid, decimals, total, req.refunded_minor, req.amount_minor)
                .ok_or_else(|| {
                    Error::field(
                        "invalid_amount",
                        "amount_minor",
                        format!("This refund is less than the smallest amount of {asset}."),
                    )
                })?;
            let spend_id = spend_id(req);
            let made = Refund {
                provider_refund_id: spend_id.clone(),
                amount_minor: req.amount_minor,
                currency: req.currency.as_str().to_string(),
            };
            let p = json!({
                "user_id": req.customer_id,
                "asset": asset,
                "amount": amount,
                "spend_id": spend_id,
                "comment": format!("Refund for order #{}", req.order_id),
            });
            match self.api.call("transfer", &p).await? {
                Ok(t) => {
                    tracing::info!(order_id = req.order_id, transfer = %t["transfer_id"], asset, amount, "crypto pay refund sent");
                    Ok(vec![made])
                }
                Err(r) if spend_id_used(&r) => Ok(vec![made]),
                Err(r) if transfers_disabled(&r) => Err(Error::conflict(
                    "refund_by_hand",
                    format!(
                        "Crypto Pay refused the transfer ({}): this app may not send transfers. \
                         Turn on transfers in @CryptoBot → Crypto Pay → My Apps → your app → \
                         Security, then refund again; or pay the customer back {amount} {asset} \
                         yourself and record it as a manual refund.",
                        r.name
                    ),
                )),
                Err(r) => Err(Error::conflict(
                    "refund_refused",
                    format!(
                        "Crypto Pay refused the transfer of {amount} {asset} ({}). Check the \
                         app's balance and that the customer has used @CryptoBot, then refund \
                         again; or pay them back yourself and record it as a manual refund.",
                        r.name
                    ),
                )),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cur(c: &str) -> Currency {
        Currency::new(c).unwrap()
    }

    #[test]
    fn amounts_are_exact_major_units() {
        assert_eq!(major(1_500_000_000, &cur("TON")), "1.5");
        assert_eq!(major(1, &cur("TON")), "0.000000001");
        assert_eq!(major(2_500_000, &cur("USDT")), "2.5");
        assert_eq!(major(12_500_000, &cur("UZS")), "125000");
        assert_eq!(major(12_550, &cur("USD")), "125.5");
        assert_eq!(
            priced(&json!({"currency_type": "crypto", "asset": "TON", "amount": "1.5"})),
            Ok((1_500_000_000, cur("TON")))
        );
        assert_eq!(
            priced(
                &json!({"currency_type": "fiat", "fiat": "UZS", "amount": "125000.00",
                           "asset": "USDT"})
            ),
            Ok((12_500_000, cur("UZS")))
        );
        assert!(
            priced(&json!({"currency_type": "crypto", "asset": "BTC", "amount": "1"})).is_err()
        );
        assert!(priced(
            &json!({"currency_type": "crypto", "asset": "TON", "amount": "1.0000000001"})
        )
        .is_err());
    }

    #[test]
    fn refunds_give_back_a_share_of_what_was_paid() {
        assert_eq!(
            share_of_paid("9.87", 6, 12_500_000, 0, 12_500_000).as_deref(),
            Some("9.87")
        );
        // Halves that add up to the whole, to the asset's 6 decimals or the reported 2.
        let half = |d, before| share_of_paid("9.87", d, 100, before, 50).unwrap();
        assert_eq!((half(6, 0), half(6, 50)), ("4.935".into(), "4.935".into()));
        assert_eq!((half(0, 0), half(0, 50)), ("4.93".into(), "4.94".into()));
        // Thirds of 1 unit: 0.333333, 0.333333, 0.333334.
        let third = |before| share_of_paid("1", 6, 3, before, 1).unwrap();
        assert_eq!(
            (third(0), third(1), third(2)),
            ("0.333333".into(), "0.333333".into(), "0.333334".into())
        );
        // A quarter of 1.5 TON is exact in nanotons.
        assert_eq!(
            share_of_paid("1.5", 9, 1_500_000_000, 0, 375_000_000).as_deref(),
            Some("0.375")
        );
        assert_eq!(share_of_paid("0.000001", 6, 100, 0, 1), None);
        assert_eq!(share_of_paid("1e5", 6, 100, 0, 1), None);
        assert_eq!(share_of_paid("1", 6, 100, 50, 51), None);
    }
}
