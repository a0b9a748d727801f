//! Payment updates from Telegram, for Stars and provider invoices alike:
//! `pre_checkout_query` (answer within 10 s), `successful_payment` (the only proof of
//! payment: paid exactly once) and `refunded_payment`. The bot hands them here through
//! [`Handler`], registered when it starts; each becomes one call of the order lifecycle.

use futures_util::future::BoxFuture;
use serde_json::{json, Value};
use shared::{Lang, OrderStatus, PaymentMethod};

use crate::db;
use crate::error::Result;
use crate::orders::lifecycle::{self, By, Outcome, PaymentSuccess, Recorded, Refund, Restock};
use crate::orders::repo as orders;
use crate::payments::payment_by_provider_id;
use crate::state::AppState;
use crate::subscriptions::{self, Renewal};
use crate::telegram::payments::{
    PaymentMessage, PaymentUpdates, PreCheckoutQuery, RefundedPayment, SuccessfulPayment,
};
use crate::telegram::texts::{lang_of, t};
use crate::telegram::Bot;

/// The shop's [`PaymentUpdates`]: what the bot does with a payment update.
pub struct Handler(pub AppState);

impl PaymentUpdates for Handler {
    fn pre_checkout<'a>(
        &'a self,
        bot: &'a Bot,
        q: &'a PreCheckoutQuery,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(pre_checkout(&self.0, bot, q))
    }
    fn shipping_query<'a>(&'a self, bot: &'a Bot, q: &'a Value) -> BoxFuture<'a, Result<()>> {
        Box::pin(crate::payments::telegram_invoice::shipping_query(
            &self.0, bot, q,
        ))
    }
    fn successful_payment<'a>(
        &'a self,
        bot: &'a Bot,
        m: &'a PaymentMessage<SuccessfulPayment>,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(successful_payment(&self.0, bot, m))
    }
    fn refunded_payment<'a>(
        &'a self,
        m: &'a PaymentMessage<RefundedPayment>,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(refunded_payment(&self.0, m))
    }
}

/// The rail of a Telegram payment in `currency`: Stars for XTR, else a provider invoice.
pub fn rail_of(currency: &str) -> PaymentMethod {
    if currency == "XTR" {
        PaymentMethod::Stars
    } else {
        PaymentMethod::Telegram
    }
}

/// Answers a pre-checkout query: yes only for a pending order of this bot whose amount and
/// currency match and whose reservation still holds. Only reads; nothing is written.
pub async fn pre_checkout(st: &AppState, bot: &Bot, q: &PreCheckoutQuery) -> Result<()> {
    let lang = lang_of(q.from.as_ref().and_then(|f| f.language_code.as_deref()));
    // Unanswered, the query fails after 10 s anyway: when the order cannot be checked
    // (database down) the payer is told at once and can retry.
    let verdict = check(st, bot, q).await.unwrap_or_else(|e| {
        tracing::warn!(error = %e, "pre-checkout could not be checked");
        Some("pc_gone")
    });
    let mut body = json!({"pre_checkout_query_id": q.id, "ok": verdict.is_none()});
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
async fn check(st: &AppState, bot: &Bot, q: &PreCheckoutQuery) -> Result<Option<&'static str>> {
    let Some(order_id) = q
        .invoice_payload
        .as_deref()
        .and_then(|p| bot.verify_payload(p))
    else {
        return Ok(Some("pc_gone"));
    };
    let mut conn = st.db.pool.acquire().await?;
    let Some(o) = orders::head(&mut conn, order_id).await? else {
        return Ok(Some("pc_gone"));
    };
    let currency = q.currency.as_str();
    if o.payment_method != rail_of(currency) {
        return Ok(Some("pc_gone"));
    }
    if o.status == OrderStatus::Expired || o.expires_at.is_some_and(|e| e <= db::now()) {
        return Ok(Some("pc_expired"));
    }
    if o.status != OrderStatus::PendingPayment || o.holds_stock != 1 {
        return Ok(Some("pc_gone"));
    }
    if q.total_amount != Some(o.total_minor) || currency != o.currency {
        return Ok(Some("pc_amount"));
    }
    Ok(None)
}

/// A `message.successful_payment`: pays its order once, keyed by the charge id.
pub async fn successful_payment(
    st: &AppState,
    bot: &Bot,
    m: &PaymentMessage<SuccessfulPayment>,
) -> Result<()> {
    let sp = &m.payment;
    let charge = sp.telegram_payment_charge_id.as_str();
    let Some(order_id) = bot.verify_payload(&sp.invoice_payload) else {
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
    let expires = sp.subscription_expiration_date;
    // A renewal of a subscription we have no record of (its first update was lost) is
    // taken as the first payment, so the customer gets what they paid for.
    if sp.is_renewal()
        && subscriptions::renewed(
            st,
            &Renewal {
                rail: PaymentMethod::Stars,
                order_id,
                payment_id: charge,
                amount_minor: sp.total_amount,
                currency: &sp.currency,
                expires_at: expires,
                raw: &m.raw,
            },
        )
        .await?
    {
        return Ok(());
    }
    let outcome = lifecycle::paid(
        st,
        &PaymentSuccess {
            order_id,
            rail: rail_of(&sp.currency),
            provider_payment_id: charge.to_string(),
            amount_minor: sp.total_amount,
            currency: sp.currency.clone(),
            raw: Some(m.raw.to_string()),
        },
    )
    .await?;
    if outcome == Outcome::Fulfilled {
        let exp = expires.unwrap_or_else(|| db::now() + super::SUBSCRIPTION_PERIOD);
        let user = m.from.as_ref().map(|f| f.id);
        subscriptions::started(st, PaymentMethod::Stars, order_id, user, charge, exp).await?;
    }
    Ok(())
}

/// A `message.refunded_payment` (a refund made outside the admin, or the echo of ours).
pub async fn refunded_payment(st: &AppState, m: &PaymentMessage<RefundedPayment>) -> Result<()> {
    let rp = &m.payment;
    let charge = rp.telegram_payment_charge_id.as_str();
    let Some(pay) = payment_by_provider_id(&st.db, PaymentMethod::Stars, charge).await? else {
        tracing::warn!(charge, "refund of a payment this shop has no record of");
        return Ok(());
    };
    // Stars refunds are whole and reuse the charge id: that is the refund's id, the same one
    // the admin's refundStarPayment records, so the two count once.
    let r = Refund {
        provider_refund_id: charge.to_string(),
        amount_minor: rp.total_amount.unwrap_or(pay.amount_minor),
        currency: rp.currency.clone().unwrap_or_else(|| "XTR".into()),
    };
    if lifecycle::refunded(st, pay.of(), &r, Restock::No, By::Bot).await? == Recorded::Full {
        subscriptions::stop_after_refund(st, pay.order_id).await;
    }
    Ok(())
}

/// The language for messages about an order: the one it was placed in.
pub fn order_lang(code: &str) -> Lang {
    Lang::parse(code).unwrap_or(Lang::En)
}
