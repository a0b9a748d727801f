//! The 54-FZ receipt YooKassa fiscalises with a payment or a refund (`YOOKASSA_RECEIPTS=1`).
//!
//! Built from what the admin already keeps per product for fiscal receipts (the VAT percent
//! Payme's receipts use too) and the order's own lines, so the items add up to the amount
//! exactly. Each item's `amount` is the price of one unit, as YooKassa requires.

use serde_json::{json, Value};
use shared::{Contact, Currency, Lang, Money, ProductKind};

use crate::catalog::repo::texts;
use crate::db::Db;
use crate::error::{Error, Result};

/// A 54-FZ receipt line.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub description: String,
    pub quantity: i64,
    pub unit_minor: i64,
    pub vat_code: u8,
    pub kind: ProductKind,
    /// The delivery fee's line: a service, paid before it is rendered.
    pub delivery: bool,
}

/// YooKassa's `vat_code` for a product's VAT percent (yookassa.ru/developers/payment-acceptance/
/// receipts/54fz/parameters-values): no rate set means the merchant charges no VAT (1). 22 %
/// (Russia's rate from 2026) is code 11, the newest rate the specification allows.
pub fn vat_code(percent: Option<i64>) -> std::result::Result<u8, String> {
    Ok(match percent {
        None => 1,
        Some(0) => 2,
        Some(10) => 3,
        Some(20) => 4,
        Some(5) => 7,
        Some(7) => 8,
        Some(22) => 11,
        Some(p) => {
            return Err(format!(
                "VAT {p}% is not a Russian rate a YooKassa receipt can carry (0, 5, 7, 10, 20 or \
                 22, or none)"
            ))
        }
    })
}

/// Goods are paid before they are delivered; digital goods and subscriptions are delivered
/// with the payment.
fn subject_and_mode(kind: ProductKind) -> (&'static str, &'static str) {
    match kind {
        ProductKind::Physical => ("commodity", "full_prepayment"),
        ProductKind::Digital | ProductKind::Subscription => ("service", "full_payment"),
    }
}

/// Where the receipt goes: the buyer's email, else their phone as digits (E.164 without `+`).
/// `None` when the contact has neither.
pub fn customer(contact: Option<&Contact>) -> Option<Value> {
    let c = contact?;
    if !c.email.trim().is_empty() {
        return Some(json!({"email": c.email.trim()}));
    }
    let digits: String = c.phone.chars().filter(char::is_ascii_digit).collect();
    (!digits.is_empty()).then(|| json!({"phone": digits}))
}

/// What the customer is told when a receipt needs a contact they did not give.
pub const NEEDS_CONTACT: &str =
    "This shop sends a fiscal receipt with every YooKassa payment: enter your email (or phone) \
     so the receipt can be delivered.";

/// The receipt object for `lines` in `currency`, to `customer`.
pub fn receipt(customer: Value, lines: &[Line], currency: &Currency) -> Value {
    let items: Vec<Value> = lines
        .iter()
        .map(|l| {
            let (subject, mode) = if l.delivery {
                ("service", "full_prepayment")
            } else {
                subject_and_mode(l.kind)
            };
            json!({
                "description": l.description,
                "quantity": l.quantity,
                "amount": super::amount(l.unit_minor, currency),
                "vat_code": l.vat_code,
                "payment_subject": subject,
                "payment_mode": mode,
            })
        })
        .collect();
    json!({"customer": customer, "items": items})
}

/// An order as its receipt needs it.
pub struct OrderFiscal {
    pub customer: Option<Value>,
    pub lines: Vec<Line>,
    pub currency: Currency,
    pub total_minor: i64,
}

/// Reads the order's lines with their products' VAT, in the order's language.
pub async fn order_fiscal(db: &Db, order_id: i64, fallback: &[Lang]) -> Result<OrderFiscal> {
    #[derive(shop_macros::FromRow)]
    struct Head {
        contact_json: Option<String>,
        lang: String,
        currency: String,
        total_minor: i64,
        delivery_fee_minor: i64,
    }
    #[derive(shop_macros::FromRow)]
    struct Row {
        title_json: String,
        sku: String,
        kind: String,
        unit_price_minor: i64,
        quantity: i64,
        vat_percent: Option<i64>,
    }
    let head = sqlx::query_as::<_, Head>(
        "SELECT contact_json, lang, currency, total_minor, delivery_fee_minor FROM orders WHERE id = $1",
    )
    .bind(order_id)
    .fetch_optional(&db.pool)
    .await?
    .ok_or_else(|| Error::not_found("order"))?;
    let rows = sqlx::query_as::<_, Row>(
        "SELECT oi.title_json, oi.sku, oi.kind, oi.unit_price_minor, oi.quantity, p.vat_percent \
         FROM order_items oi JOIN products p ON p.id = oi.product_id \
         WHERE oi.order_id = $1 ORDER BY oi.id",
    )
    .bind(order_id)
    .fetch_all(&db.pool)
    .await?;
    let lang = Lang::parse(&head.lang).unwrap_or(Lang::Ru);
    let mut lines = Vec::with_capacity(rows.len());
    for r in rows {
        let title = texts(&r.title_json)
            .pick(lang, fallback)
            .unwrap_or(&r.sku)
            .trim()
            .to_string();
        let description = if title.is_empty() { r.sku } else { title };
        lines.push(Line {
            description: description.chars().take(128).collect(),
            quantity: r.quantity,
            unit_minor: r.unit_price_minor,
            vat_code: vat_code(r.vat_percent).map_err(|why| {
                Error::conflict(
                    "receipt_unavailable",
                    format!("{description}: {why}. Fix the product's VAT in the admin."),
                )
            })?,
            kind: ProductKind::parse(&r.kind).unwrap_or(ProductKind::Physical),
            delivery: false,
        });
    }
    // The delivery fee, at the goods' VAT when they share one (else without VAT).
    if head.delivery_fee_minor > 0 {
        let vat = match lines.first() {
            Some(f) if lines.iter().all(|l| l.vat_code == f.vat_code) => f.vat_code,
            _ => 1,
        };
        lines.push(Line {
            description: crate::delivery::label(lang).to_string(),
            quantity: 1,
            unit_minor: head.delivery_fee_minor,
            vat_code: vat,
            kind: ProductKind::Physical,
            delivery: true,
        });
    }
    let contact: Option<Contact> = head
        .contact_json
        .as_deref()
        .and_then(|c| serde_json::from_str(c).ok());
    Ok(OrderFiscal {
        customer: customer(contact.as_ref()),
        lines,
        currency: Currency::new(&head.currency).map_err(Error::internal)?,
        total_minor: head.total_minor,
    })
}

impl OrderFiscal {
    /// The receipt of the whole order; its items add up to the order's total.
    pub fn payment_receipt(&self, order_id: i64) -> Result<Value> {
        let customer = self
            .customer
            .clone()
            .ok_or_else(|| Error::field("contact_required", "contact.email", NEEDS_CONTACT))?;
        let sum: i64 = self.lines.iter().map(|l| l.unit_minor * l.quantity).sum();
        if sum != self.total_minor || self.lines.is_empty() || self.lines.len() > 100 {
            return Err(Error::internal(format!(
                "order {order_id}: receipt lines add up to {sum}, the order to {}",
                self.total_minor
            )));
        }
        Ok(receipt(customer, &self.lines, &self.currency))
    }

    /// The receipt of a refund of `amount_minor`: the whole order's lines when everything goes
    /// back, else one line for the amount at the order's VAT and kind, which needs every line
    /// to share them (a receipt cannot split a part of the money between rates by itself).
    pub fn refund_receipt(&self, order_id: i64, amount_minor: i64) -> Result<Value> {
        if amount_minor == self.total_minor {
            return self.payment_receipt(order_id);
        }
        let customer = self.customer.clone().ok_or_else(|| {
            Error::conflict(
                "receipt_unavailable",
                format!(
                    "Order {order_id} has no email or phone for the refund receipt; refund it in \
                     the YooKassa dashboard."
                ),
            )
        })?;
        let Some(first) = self.lines.first() else {
            return Err(Error::internal(format!("order {order_id} has no lines")));
        };
        let same = self
            .lines
            .iter()
            .all(|l| l.vat_code == first.vat_code && l.kind == first.kind);
        if !same {
            return Err(Error::conflict(
                "receipt_unavailable",
                format!(
                    "Order {order_id} mixes VAT rates or kinds of goods, so a partial refund \
                     needs its receipt lines chosen by hand: refund it in the YooKassa dashboard."
                ),
            ));
        }
        let total = Money::new(amount_minor, self.currency.clone()).major_string();
        let line = Line {
            description: format!("Возврат по заказу {order_id} ({total} {})", self.currency)
                .chars()
                .take(128)
                .collect(),
            quantity: 1,
            unit_minor: amount_minor,
            vat_code: first.vat_code,
            kind: first.kind,
            delivery: false,
        };
        Ok(receipt(customer, &[line], &self.currency))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vat_codes() {
        assert_eq!(vat_code(None), Ok(1));
        assert_eq!(vat_code(Some(0)), Ok(2));
        assert_eq!(vat_code(Some(10)), Ok(3));
        assert_eq!(vat_code(Some(20)), Ok(4));
        assert_eq!(vat_code(Some(22)), Ok(11));
        assert!(vat_code(Some(12)).is_err());
    }

    #[test]
    fn customer_prefers_email_then_phone_digits() {
        let mut c = Contact {
            phone: "+7 (900) 123-45-67".into(),
            ..Default::default()
        };
        assert_eq!(customer(Some(&c)), Some(json!({"phone": "79001234567"})));
        c.email = "a@b.ru".into();
        assert_eq!(customer(Some(&c)), Some(json!({"email": "a@b.ru"})));
        assert_eq!(customer(Some(&Contact::default())), None);
        assert_eq!(customer(None), None);
    }

    #[test]
    fn items_are_unit_prices() {
        let rub = Currency::new("RUB").unwrap();
        let f = OrderFiscal {
            customer: Some(json!({"email": "a@b.ru"})),
            lines: vec![Line {
                description: "Samovar".into(),
                quantity: 2,
                unit_minor: 150_000,
                vat_code: 4,
                kind: ProductKind::Physical,
                delivery: false,
            }],
            currency: rub,
            total_minor: 300_000,
        };
        let r = f.payment_receipt(7).unwrap();
        assert_eq!(
            r["items"][0]["amount"],
            json!({"value": "1500.00", "currency": "RUB"})
        );
        assert_eq!(r["items"][0]["quantity"], 2);
        assert_eq!(r["items"][0]["payment_mode"], "full_prepayment");
        let part = f.refund_receipt(7, 50_000).unwrap();
        assert_eq!(part["items"][0]["amount"]["value"], "500.00");
        assert_eq!(part["items"][0]["vat_code"], 4);
    }
}
