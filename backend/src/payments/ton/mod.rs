//! TON: Toncoin and USDT (the USDT jetton) paid on-chain straight to the merchant's wallet.
//!
//! There is no provider in between and no webhook: an order gets a random reference, the buyer
//! sends the total to `TON_WALLET` with that reference as the transfer's text comment, and the
//! shop reads the wallet's incoming transfers from toncenter every `TON_POLL_SECS`
//! ([`poll`]), counting each transfer once ([`credit`]). The shop holds no key, so it can
//! never send money: refunds are made from the merchant's wallet app and recorded here.

pub mod admin;
pub mod comment;
pub mod credit;
pub mod poll;
pub mod toncenter;

use futures_util::future::BoxFuture;
use shared::{Currency, Money, Order, PaymentMethod, ProductKind, TonPayment};

use super::refund::Refund;
use super::{Checkout, CheckoutOrder, Provider, RefundRequest};
use crate::config::TonConfig;
use crate::db::Db;
use crate::error::{Error, Result};

pub use poll::{poll_now, spawn};

pub struct Ton {
    config: TonConfig,
}

impl Ton {
    pub fn new(config: &TonConfig) -> Self {
        Ton {
            config: config.clone(),
        }
    }

    /// The transfer as query parameters every wallet link shares.
    fn query(&self, amount_minor: i64, currency: &Currency, comment: &str) -> String {
        let text: String = form_urlencoded::byte_serialize(comment.as_bytes()).collect();
        let mut q = format!("amount={amount_minor}&text={text}");
        if currency.as_str() == "USDT" {
            let master: String =
                form_urlencoded::byte_serialize(self.config.usdt_master.as_bytes()).collect();
            q.push_str(&format!("&jetton={master}"));
        }
        q
    }

    /// `ton://transfer/<TON_WALLET>?amount=…&text=…[&jetton=…]`: the cross-wallet link.
    pub fn ton_link(&self, amount_minor: i64, currency: &Currency, comment: &str) -> String {
        format!(
            "ton://transfer/{}?{}",
            self.config.wallet,
            self.query(amount_minor, currency, comment)
        )
    }

    /// The same transfer as Tonkeeper's https link, which opens from inside Telegram.
    pub fn tonkeeper_link(&self, amount_minor: i64, currency: &Currency, comment: &str) -> String {
        format!(
            "https://app.tonkeeper.com/transfer/{}?{}",
            self.config.wallet_addr.friendly(false),
            self.query(amount_minor, currency, comment)
        )
    }
}

/// Whether orders in `currency` can be paid on TON.
pub fn is_ton_currency(c: &Currency) -> bool {
    matches!(c.as_str(), "TON" | "USDT")
}

/// The QR code of `text` as an SVG document that scales to any size (a `viewBox` in modules).
/// Drawn here with one path of horizontal runs: `qrcode`'s own SVG renderer writes a square
/// per module, about four times the bytes, and this travels in every unpaid order answer.
fn qr_svg(text: &str) -> Option<String> {
    use std::fmt::Write;
    let code = qrcode::QrCode::new(text.as_bytes()).ok()?;
    let n = code.width();
    let colors = code.to_colors();
    // Four modules of quiet zone around the code, as scanners expect.
    let size = n + 8;
    let mut path = String::new();
    for (y, row) in colors.chunks(n).enumerate() {
        let mut x = 0;
        while x < n {
            if row[x] == qrcode::Color::Dark {
                let start = x;
                while x < n && row[x] == qrcode::Color::Dark {
                    x += 1;
                }
                let _ = write!(
                    path,
                    "M{} {}h{}v1h-{}z",
                    start + 4,
                    y + 4,
                    x - start,
                    x - start
                );
            } else {
                x += 1;
            }
        }
    }
    Some(format!(
        concat!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {s} {s}" width="220" height="220" shape-rendering="crispEdges">"#,
            r##"<rect width="{s}" height="{s}" fill="#fff"/><path fill="#000" d="{p}"/></svg>"##
        ),
        s = size,
        p = path
    ))
}

/// What of an order's total arrived so far in transfers still waiting for the rest.
pub async fn received_so_far(db: &Db, order_id: i64, asset: &str) -> Result<i64> {
    let sum: Option<i64> = sqlx::query_scalar(
        "SELECT CAST(SUM(amount_minor) AS BIGINT) FROM ton_transfers \
         WHERE order_id = $1 AND state = 'partial' AND asset = $2",
    )
    .bind(order_id)
    .bind(asset)
    .fetch_one(&db.pool)
    .await?;
    Ok(sum.unwrap_or(0))
}

impl Provider for Ton {
    fn method(&self) -> PaymentMethod {
        PaymentMethod::Ton
    }

    fn refuses(&self, currency: &Currency, kinds: &[ProductKind]) -> Option<String> {
        if !is_ton_currency(currency) {
            return Some(format!(
                "TON payments take orders priced in TON or USDT, not {currency}; choose another method."
            ));
        }
        if kinds.contains(&ProductKind::Subscription) {
            return Some(
                "A TON transfer cannot renew a subscription; choose another method.".into(),
            );
        }
        None
    }

    fn names_order_by_reference(&self) -> bool {
        // The comment travels through the buyer's wallet and is all the shop gets back.
        true
    }

    fn create_checkout<'a>(&'a self, order: &'a CheckoutOrder) -> BoxFuture<'a, Result<Checkout>> {
        Box::pin(async move {
            let comment = order
                .pay_ref
                .as_deref()
                .ok_or_else(|| Error::internal("a TON order has no reference"))?;
            Ok(Checkout {
                invoice_link: None,
                checkout_url: Some(self.ton_link(order.total_minor, &order.currency, comment)),
                checkout_id: None,
            })
        })
    }

    fn describe<'a>(&'a self, db: &'a Db, order: &'a mut Order) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let comment: Option<String> =
                sqlx::query_scalar("SELECT pay_ref FROM orders WHERE id = $1")
                    .bind(order.id)
                    .fetch_optional(&db.pool)
                    .await?
                    .flatten();
            let Some(comment) = comment else {
                return Ok(());
            };
            let currency = order.total.currency.clone();
            let total = order.total.amount_minor;
            let ton_link = self.ton_link(total, &currency, &comment);
            order.ton = Some(TonPayment {
                address: self.config.wallet_addr.friendly(false),
                amount: Money::new(total, currency.clone()).major_string(),
                received_minor: received_so_far(db, order.id, currency.as_str()).await?,
                tonkeeper_link: self.tonkeeper_link(total, &currency, &comment),
                qr_svg: qr_svg(&ton_link),
                comment,
            });
            Ok(())
        })
    }

    /// The shop cannot send money on TON: the merchant returns it from their wallet app, and
    /// this records that refund (once per request key, like cash).
    fn refund<'a>(&'a self, req: &'a RefundRequest) -> BoxFuture<'a, Result<Vec<Refund>>> {
        Box::pin(async move {
            Ok(vec![Refund {
                provider_refund_id: format!("ton-manual-{}", req.idempotency_key()),
                amount_minor: req.amount_minor,
                currency: req.currency.as_str().to_string(),
            }])
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_qr_code_is_a_small_svg_of_the_link() {
        let link = "ton://transfer/UQDKbjIcfM6ezt8KjKJJLshZJJSqX7XOA4ff-W72r5gqPuwA?amount=2500000&text=0123456789abcdef01234567&jetton=EQCxE6mUtQJKFnGfaROTKOt1lZbDiiX1kCixRv7Nw2Id_sDs";
        let svg = qr_svg(link).unwrap();
        assert!(svg.contains("<svg") && svg.contains("</svg>"));
        // One path, not a rectangle per module: it travels in every order answer.
        assert!(svg.len() < 12_000, "{}", svg.len());
        eprintln!("qr svg: {} bytes", svg.len());
        if let Ok(p) = std::env::var("QR_DUMP") {
            std::fs::write(p, &svg).unwrap();
        }
    }
}
