//! Payment updates from Telegram, for Stars and provider invoices alike:
//! `pre_checkout_query` (answer within 10 s), `successful_payment` (the only proof of
//! payment: fulfil exactly once) and `refunded_payment`.

use serde_json::{json, Value};
use shared::Lang;

use crate::db;
use crate::error::Result;
use crate::notify::Notice;
use crate::orders::repo as orders;
use crate::payments::fulfil::{fulfil, Outcome, PaymentSuccess};
use crate::payments::refund::{self, Recorded, Refund};
use crate::state::AppState;
use crate::telegram::texts::{lang_of, t};
use crate::telegram::{subscriptions, Bot};

/// The `payments.provider` of a Telegram payment in `currency`.
pub fn provider_of(currency: &str) -> &'static str {
    if currency == "XTR" {
        "stars"
    } else {
        "telegram"
    }
}

/// Answers a pre-checkout query: yes only for a pending order of this bot whose amount and
/// currency match and whose reservation still holds. Only reads; nothing is written.
pub async fn pre_checkout(st: &AppState, bot: &Bot, q: &Value) -> Result<()> {
    let lang = lang_of(q["from"]["language_code"].as_str());
    // Unanswered, the query fails after 10 s anyway: when the order cannot be checked
    // (database down) the payer is told at once and can retry.
    let verdict = check(st, bot, q).await.unwrap_or_else(|e| {
        tracing::warn!(error = %e, "pre-checkout could not be checked");
        Some("pc_gone")
    });
    let mut body = json!({"pre_checkout_query_id": q["id"], "ok": verdict.is_none()});
    if let Some(key) = verdict {
        body["error_message"] = json!(t(lang, key));
    }
    if let Err(e) = bot.call::<Value>("answerPreCheckoutQuery", &body).await {
        // The query lives 10 s; Telegram declines the payment if we never answer.
        tracing::warn!(error = %e, "answerPreCheckoutQuery failed");
    }
    Ok(())
}

/// `None` when the payment may go ahead, else the key of the reason shown to the payer.
async fn check(st: &AppState, bot: &Bot, q: &Value) -> Result<Option<&'static str>> {
    let Some(order_id) = q["invoice_payload"]
        .as_str()
        .and_then(|p| bot.verify_payload(p))
    else {
        return Ok(Some("pc_gone"));
    };
    let mut conn = st.db.pool.acquire().await?;
    let Some(o) = orders::head(&mut conn, order_id).await? else {
        return Ok(Some("pc_gone"));
    };
    let currency = q["currency"].as_str().unwrap_or("");
    let rail = if currency == "XTR" {
        "stars"
    } else {
        "telegram"
    };
    if o.payment_method != rail {
        return Ok(Some("pc_gone"));
    }
    if o.status == "expired" || o.expires_at.is_some_and(|e| e <= db::now()) {
        return Ok(Some("pc_expired"));
    }
    if o.status != "pending_payment" || o.holds_stock != 1 {
        return Ok(Some("pc_gone"));
    }
    if q["total_amount"].as_i64() != Some(o.total_minor) || currency != o.currency {
        return Ok(Some("pc_amount"));
    }
    Ok(None)
}

/// A `message.successful_payment`: fulfils its order once, keyed by the charge id.
pub async fn successful_payment(st: &AppState, bot: &Bot, msg: &Value) -> Result<()> {
    let sp = &msg["successful_payment"];
    let charge = sp["telegram_payment_charge_id"].as_str().unwrap_or("");
    let payload = sp["invoice_payload"].as_str().unwrap_or("");
    let Some(order_id) = bot.verify_payload(payload) else {
        tracing::error!(
            charge,
            "payment with a payload this shop did not sign; refund it by hand"
        );
        return Ok(());
    };
    if charge.is_empty() {
        tracing::error!(order_id, "successful_payment without a charge id");
        return Ok(());
    }
    let currency = sp["currency"].as_str().unwrap_or("").to_string();
    let amount = sp["total_amount"].as_i64().unwrap_or(0);
    let expires = sp["subscription_expiration_date"].as_i64();
    let renewal = sp["is_recurring"].as_bool() == Some(true)
        && sp["is_first_recurring"].as_bool() != Some(true);
    // A renewal of a subscription we have no record of (its first update was lost) is
    // taken as the first payment, so the customer gets what they paid for.
    if renewal
        && subscriptions::renewed(st, order_id, charge, amount, &currency, expires, sp).await?
    {
        return Ok(());
    }
    let outcome = fulfil(
        &st.db,
        &PaymentSuccess {
            order_id,
            provider: provider_of(&currency),
            provider_payment_id: charge.to_string(),
            amount_minor: amount,
            currency,
            raw: Some(sp.to_string()),
        },
    )
    .await?;
    if outcome == Outcome::Fulfilled {
        let exp = expires.unwrap_or_else(|| db::now() + super::SUBSCRIPTION_PERIOD);
        let user = msg["from"]["id"].as_i64();
        subscriptions::started(st, order_id, user, charge, exp).await?;
        st.catalog_changed();
        st.notify(order_id, Notice::Paid);
    }
    Ok(())
}

/// A `message.refunded_payment` (a refund made outside the admin, or the echo of ours).
pub async fn refunded_payment(st: &AppState, msg: &Value) -> Result<()> {
    let rp = &msg["refunded_payment"];
    let charge = rp["telegram_payment_charge_id"].as_str().unwrap_or("");
    let row: Option<(i64, i64, i64)> = sqlx::query_as(
        "SELECT id, order_id, amount_minor FROM payments WHERE provider = 'stars' AND provider_payment_id = $1",
    )
    .bind(charge)
    .fetch_optional(&st.db.pool)
    .await?;
    let Some((payment_id, order_id, paid)) = row else {
        tracing::warn!(charge, "refund of a payment this shop has no record of");
        return Ok(());
    };
    // Stars refunds are whole and reuse the charge id: that is the refund's id, the same one
    // the admin's refundStarPayment records, so the two count once.
    let r = Refund {
        provider_refund_id: charge.to_string(),
        amount_minor: rp["total_amount"].as_i64().unwrap_or(paid),
        currency: rp["currency"].as_str().unwrap_or("XTR").to_string(),
    };
    if refund::record_now(&st.db, order_id, payment_id, "stars", &r, false, "telegram").await?
        == Recorded::Full
    {
        subscriptions::stop_after_refund(st, order_id).await;
        st.notify(order_id, Notice::Refunded);
    }
    Ok(())
}

/// The language for messages about an order: the one it was placed in.
pub fn order_lang(code: &str) -> Lang {
    Lang::parse(code).unwrap_or(Lang::En)
}
