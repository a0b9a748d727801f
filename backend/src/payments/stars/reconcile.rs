//! Finds Stars payments the shop never heard about (a lost update) in
//! `getStarTransactions` and fulfils them through the same path as the update would have.

use serde::Deserialize;
use serde_json::{json, Value};

use shared::PaymentMethod;

use crate::error::{Error, Result};
use crate::orders::lifecycle::{self, Outcome, PaymentSuccess};
use crate::payments::payment_by_provider_id;
use crate::state::AppState;
use crate::subscriptions::{self, Renewal};
use crate::telegram::Bot;

/// How many pages of 100 transactions one run reads at most.
const MAX_PAGES: i64 = 50;

/// `getStarTransactions`' answer: a page of the bot's Star transactions, oldest first.
#[derive(Debug, Deserialize)]
pub struct StarTransactions {
    pub transactions: Vec<Listed>,
}

/// One listed transaction: as sent (kept for the payment's audit trail) and, when it has the
/// Bot API's shape, read. One that does not is skipped rather than failing the page, so a
/// single odd entry cannot stop every later payment from being found.
#[derive(Debug)]
pub struct Listed {
    pub raw: Value,
    pub read: Option<StarTransaction>,
}

impl<'de> Deserialize<'de> for Listed {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let raw = Value::deserialize(d)?;
        let read = match StarTransaction::deserialize(&raw) {
            Ok(t) => Some(t),
            Err(e) => {
                tracing::warn!(error = %e, "a Star transaction of an unknown shape is skipped");
                None
            }
        };
        Ok(Listed { raw, read })
    }
}

/// A `StarTransaction` (Bot API), the fields the shop reads; Telegram adds fields freely, so
/// others are let through.
#[derive(Debug, Deserialize)]
pub struct StarTransaction {
    /// The charge id (`telegram_payment_charge_id` for a payment).
    pub id: String,
    /// In whole Stars.
    pub amount: i64,
    /// Unix time.
    pub date: i64,
    /// Who sent it, for incoming transactions; refunds and withdrawals have `receiver` instead.
    #[serde(default)]
    pub source: Option<Partner>,
}

/// A `TransactionPartner`: only a user's are payments for the shop's invoices.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Partner {
    User(UserPartner),
    #[serde(other)]
    Other,
}

/// `TransactionPartnerUser`.
#[derive(Debug, Deserialize)]
pub struct UserPartner {
    /// `invoice_payment`, `paid_media_payment`, `gift_purchase`, …; absent from older answers.
    #[serde(default)]
    pub transaction_type: Option<String>,
    pub user: PartnerUser,
    #[serde(default)]
    pub invoice_payload: Option<String>,
    /// Set when the payment is for a subscription.
    #[serde(default)]
    pub subscription_period: Option<i64>,
}

#[derive(Debug, Deserialize)]
pub struct PartnerUser {
    pub id: i64,
}

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
        let got: StarTransactions = bot
            .call(
                "getStarTransactions",
                &json!({"offset": offset, "limit": 100}),
            )
            .await
            .map_err(|e| Error::internal(e.to_string()))?;
        let txs = got.transactions;
        for tx in &txs {
            let Some(read) = &tx.read else { continue };
            if apply(st, bot, read, &tx.raw).await? {
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

async fn apply(st: &AppState, bot: &Bot, tx: &StarTransaction, raw: &Value) -> Result<bool> {
    // Incoming invoice payments only: refunds and withdrawals have a `receiver` instead.
    let Some(Partner::User(src)) = &tx.source else {
        return Ok(false);
    };
    if src
        .transaction_type
        .as_deref()
        .is_some_and(|t| t != "invoice_payment")
    {
        return Ok(false);
    }
    let (charge, amount) = (tx.id.as_str(), tx.amount);
    let Some(order_id) = src
        .invoice_payload
        .as_deref()
        .and_then(|p| bot.verify_payload(p))
    else {
        return Ok(false);
    };
    if payment_by_provider_id(&st.db, PaymentMethod::Stars, charge)
        .await?
        .is_some()
    {
        return Ok(false);
    }
    let raw = Some(raw.to_string());
    let has_sub: Option<i64> =
        sqlx::query_scalar("SELECT id FROM subscriptions WHERE order_id = $1")
            .bind(order_id)
            .fetch_optional(&st.db.pool)
            .await?;
    if has_sub.is_some() {
        // A renewal whose update was lost: the subscription runs on from its last expiry.
        let renewal = Renewal {
            rail: PaymentMethod::Stars,
            order_id,
            payment_id: charge,
            amount_minor: amount,
            currency: "XTR",
            expires_at: None,
            raw: &json!(raw),
        };
        if subscriptions::renewed(st, &renewal).await? {
            return Ok(true);
        }
    }
    let outcome = lifecycle::paid(
        st,
        &PaymentSuccess {
            order_id,
            rail: PaymentMethod::Stars,
            provider_payment_id: charge.to_string(),
            amount_minor: amount,
            currency: "XTR".into(),
            raw,
        },
    )
    .await?;
    if outcome == Outcome::Fulfilled && src.subscription_period.is_some() {
        let date = tx.date;
        subscriptions::started(
            st,
            PaymentMethod::Stars,
            order_id,
            Some(src.user.id),
            charge,
            date + super::SUBSCRIPTION_PERIOD,
        )
        .await?;
    }
    Ok(outcome != Outcome::AlreadyRecorded)
}

/// How often the Star transactions are read.
const RECONCILE_EVERY: std::time::Duration = std::time::Duration::from_secs(300);
/// The database-wide lock a reconciliation round holds (`Db::try_exclusive`).
const RECONCILE_LOCK: i64 = 0x0053_5441_5253; // "STARS"

/// Runs a reconciliation round every five minutes until the process stops (none without a
/// bot). A stop is seen between rounds only: a round in progress finishes first.
pub fn spawn(
    st: &AppState,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> Option<tokio::task::JoinHandle<()>> {
    let bot = Bot::from_config(&st.config, &st.http)?;
    let s = st.clone();
    Some(tokio::spawn(async move {
        let mut tick = tokio::time::interval(RECONCILE_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut from = 0;
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.wait_for(|s| *s) => return,
            }
            // One process per round reads the Star transactions; the others skip it.
            let claim = match s.db.try_exclusive(RECONCILE_LOCK).await {
                Ok(Some(c)) => c,
                Ok(None) => continue,
                Err(e) => {
                    tracing::warn!(error = %e, "Stars reconciliation: cannot claim the round");
                    continue;
                }
            };
            metrics::counter!("shop_jobs_runs_total", "job" => "stars_reconcile", "outcome" => "run")
                .increment(1);
            let res = scan(&s, &bot, from).await;
            drop(claim);
            match res {
                Ok((_, next)) => from = next,
                Err(e) => tracing::warn!(error = %e, "Stars reconciliation failed"),
            }
            crate::telegram::run::forget_old_updates(&s.db).await;
        }
    }))
}
