//! Finds paid invoices the shop never heard about (a webhook not set up, or lost for longer
//! than Crypto Pay retries) with `getInvoices`, and pays their orders through the same path
//! as the webhook. Only invoices the shop created for orders still waiting are asked about.

use std::time::Duration;

use serde_json::json;

use super::api::Api;
use super::webhook::pay_invoice;
use crate::error::Result;
use crate::orders::lifecycle::Outcome;
use crate::state::AppState;

/// How often the open invoices are read.
const RECONCILE_EVERY: Duration = Duration::from_secs(120);
/// The database-wide lock a round holds (`Db::try_exclusive`).
const RECONCILE_LOCK: i64 = 0x4352_5950_5459; // "CRYPTY"
/// getInvoices answers at most this many.
const BATCH: i64 = 1000;

/// One round: answers how many orders it paid.
pub async fn run_once(st: &AppState) -> Result<usize> {
    let Some(cfg) = &st.config.cryptopay else {
        return Ok(0);
    };
    let open: Vec<(String, i64)> = sqlx::query_as(
        "SELECT c.checkout_id, c.order_id FROM provider_checkouts c \
         JOIN orders o ON o.id = c.order_id \
         WHERE c.provider = 'cryptopay' AND o.status = 'pending_payment' \
         ORDER BY c.order_id DESC LIMIT $1",
    )
    .bind(BATCH)
    .fetch_all(&st.db.pool)
    .await?;
    if open.is_empty() {
        return Ok(0);
    }
    let ids: Vec<&str> = open.iter().map(|(id, _)| id.as_str()).collect();
    let api = Api::new(cfg, &st.http);
    let got = api
        .must(
            "getInvoices",
            &json!({"invoice_ids": ids.join(","), "status": "paid", "count": BATCH}),
        )
        .await?;
    let mut paid = 0;
    for inv in got["items"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        if inv["status"] != "paid" {
            continue;
        }
        let id = inv["invoice_id"].as_i64().map(|i| i.to_string());
        // Only what the shop asked about: the answer names its own orders nowhere else.
        let Some((_, order_id)) = open.iter().find(|(c, _)| Some(c) == id.as_ref()) else {
            continue;
        };
        let raw = json!({"source": "getInvoices", "invoice": inv}).to_string();
        if pay_invoice(st, *order_id, inv, &raw).await? == Some(Outcome::Fulfilled) {
            paid += 1;
        }
    }
    if paid > 0 {
        tracing::warn!(paid, "crypto pay reconciliation paid orders that had no webhook: check the app's webhook URL");
    }
    Ok(paid)
}

/// Runs a round every two minutes until the process stops (none without Crypto Pay). One
/// process per round; a stop is seen between rounds only.
pub fn spawn(
    st: &AppState,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> Option<tokio::task::JoinHandle<()>> {
    st.config.cryptopay.as_ref()?;
    let s = st.clone();
    Some(tokio::spawn(async move {
        let mut tick = tokio::time::interval(RECONCILE_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.wait_for(|s| *s) => return,
            }
            let claim = match s.db.try_exclusive(RECONCILE_LOCK).await {
                Ok(Some(c)) => c,
                Ok(None) => continue,
                Err(e) => {
                    tracing::warn!(error = %e, "Crypto Pay reconciliation: cannot claim the round");
                    continue;
                }
            };
            let res = run_once(&s).await;
            drop(claim);
            let outcome = if res.is_ok() { "ok" } else { "error" };
            metrics::counter!("shop_jobs_runs_total", "job" => "cryptopay_reconcile", "outcome" => outcome)
                .increment(1);
            if let Err(e) = res {
                tracing::warn!(error = %e, "Crypto Pay reconciliation failed");
            }
        }
    }))
}
