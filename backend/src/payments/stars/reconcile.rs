//! Finds Stars payments the shop never heard about (a lost update) in
//! `getStarTransactions` and fulfils them through the same path as the update would have.

use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::notify::Notice;
use crate::payments::fulfil::{fulfil, Outcome, PaymentSuccess};
use crate::state::AppState;
use crate::telegram::{subscriptions, Bot};

/// How many pages of 100 transactions one run reads at most.
const MAX_PAGES: i64 = 50;

/// One pass over all of the bot's Star transactions; answers how many payments it applied.
pub async fn run_once(st: &AppState, bot: &Bot) -> Result<usize> {
    Ok(scan(st, bot, 0).await?.0)
}

/// Reads transactions from `from` on (they are listed oldest first) and applies those the
/// shop missed. Answers how many it applied and where the next run may start: a little
/// before the end, so a scan stays short however long the history grows.
pub async fn scan(st: &AppState, bot: &Bot, from: i64) -> Result<(usize, i64)> {
    let mut fixed = 0;
    let mut offset = from.max(0);
    for _ in 0..MAX_PAGES {
        let got: Value = bot
            .call(
                "getStarTransactions",
                &json!({"offset": offset, "limit": 100}),
            )
            .await
            .map_err(|e| Error::internal(e.to_string()))?;
        let txs = got["transactions"].as_array().cloned().unwrap_or_default();
        for tx in &txs {
            if apply(st, bot, tx).await? {
                fixed += 1;
            }
        }
        offset += txs.len() as i64;
        if txs.len() < 100 {
            break;
        }
    }
    if fixed > 0 {
        tracing::warn!(
            fixed,
            "reconciliation applied Stars payments that had no update"
        );
    }
    Ok((fixed, (offset - 100).max(0)))
}

async fn apply(st: &AppState, bot: &Bot, tx: &Value) -> Result<bool> {
    let src = &tx["source"];
    // Incoming invoice payments only: refunds and withdrawals have a `receiver` instead.
    if src["type"] != "user"
        || src["transaction_type"]
            .as_str()
            .is_some_and(|t| t != "invoice_payment")
    {
        return Ok(false);
    }
    let (Some(charge), Some(amount)) = (tx["id"].as_str(), tx["amount"].as_i64()) else {
        return Ok(false);
    };
    let Some(order_id) = src["invoice_payload"]
        .as_str()
        .and_then(|p| bot.verify_payload(p))
    else {
        return Ok(false);
    };
    let known: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM payments WHERE provider = 'stars' AND provider_payment_id = $1",
    )
    .bind(charge)
    .fetch_optional(&st.db.pool)
    .await?;
    if known.is_some() {
        return Ok(false);
    }
    let raw = Some(tx.to_string());
    let has_sub: Option<i64> =
        sqlx::query_scalar("SELECT id FROM subscriptions WHERE order_id = $1")
            .bind(order_id)
            .fetch_optional(&st.db.pool)
            .await?;
    if has_sub.is_some() {
        // A renewal whose update was lost: the subscription runs on from its last expiry.
        if subscriptions::renewed(st, order_id, charge, amount, "XTR", None, &json!(raw)).await? {
            return Ok(true);
        }
    }
    let outcome = fulfil(
        &st.db,
        &PaymentSuccess {
            order_id,
            provider: "stars",
            provider_payment_id: charge.to_string(),
            amount_minor: amount,
            currency: "XTR".into(),
            raw,
        },
    )
    .await?;
    if outcome == Outcome::Fulfilled {
        if src["subscription_period"].as_i64().is_some() {
            let date = tx["date"].as_i64().unwrap_or_else(crate::db::now);
            let user = src["user"]["id"].as_i64();
            subscriptions::started(
                st,
                order_id,
                user,
                charge,
                date + super::SUBSCRIPTION_PERIOD,
            )
            .await?;
        }
        st.catalog_changed();
        st.notify(order_id, Notice::Paid);
    }
    Ok(outcome != Outcome::AlreadyRecorded)
}
