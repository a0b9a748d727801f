//! Reading the merchant wallet every `TON_POLL_SECS`.
//!
//! Two streams, each with a cursor in `ton_cursors`:
//! - `ton`: the wallet's own transactions, walked forward by lt (`start_lt` = cursor + 1).
//!   An account's transactions are committed in lt order, so nothing can appear behind it.
//! - `usdt`: incoming USDT jetton transfers. Their transaction is the *sender's* jetton
//!   wallet's, on any shard, so lt order across senders is not the order the indexer learns
//!   them in: this stream re-reads from a little before the latest transfer's time
//!   ([`USDT_OVERLAP_SECS`]) and relies on the once-per-hash rule for what it reads twice.
//!
//! One process reads per round (`Db::try_exclusive`); every transfer is counted once anyway
//! ([`super::credit`]).

use std::time::Duration;

use serde_json::Value;

use super::credit::{self, Credited};
use super::toncenter::{self, ReadError, Seen, Toncenter};
use crate::config::TonConfig;
use crate::db;
use crate::error::{Error, Result};
use crate::state::AppState;

/// The database-wide lock a round holds ("TONPOLL").
const POLL_LOCK: i64 = 0x544f_4e50_4f4c;
/// How far behind its latest transfer the USDT stream reads again.
pub const USDT_OVERLAP_SECS: i64 = 120;
/// The first read of a stream starts this long before the first TON order (clocks differ).
const FIRST_READ_MARGIN_SECS: i64 = 600;
/// Pages one round reads at most per stream; the rest waits for the next round.
const MAX_PAGES: usize = 20;
/// The longest wait after repeated rate limiting.
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// What one round did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Round {
    /// Transfers counted for the first time (paid, partial, flagged or unmatched).
    pub new: usize,
    pub paid: usize,
    /// Listed items that were not money in (bounces, other jettons, outgoing...).
    pub skipped: usize,
    pub rate_limited: bool,
}

/// Starts the wallet watch when TON is configured: a round every `TON_POLL_SECS` (longer
/// after toncenter said 429), until the shop stops.
pub fn spawn(
    st: &AppState,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> Option<tokio::task::JoinHandle<()>> {
    let cfg = st.config.ton.clone()?;
    let st = st.clone();
    Some(tokio::spawn(async move {
        // The first round after one interval too: a restart loses nothing (the cursor is in
        // the database), and start-up is not slowed by toncenter.
        let mut wait = cfg.poll;
        loop {
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = stop.wait_for(|s| *s) => return,
            }
            wait = cfg.poll;
            let claim = match st.db.try_exclusive(POLL_LOCK).await {
                Ok(Some(c)) => c,
                Ok(None) => continue,
                Err(e) => {
                    tracing::warn!(error = %e, "TON: cannot claim the round");
                    continue;
                }
            };
            let res = round(&st, &cfg).await;
            drop(claim);
            let outcome = match &res {
                Ok(r) if r.rate_limited => "rate_limited",
                Ok(_) => "ok",
                Err(_) => "error",
            };
            metrics::counter!("shop_jobs_runs_total", "job" => "ton_poll", "outcome" => outcome)
                .increment(1);
            match res {
                Ok(r) if r.rate_limited => {
                    // Back off: toncenter allows 1 request a second without a key.
                    wait = (cfg.poll * 4).min(MAX_BACKOFF);
                    tracing::warn!(?wait, "TON: toncenter rate limit; waiting longer");
                }
                Ok(r) if r.new > 0 => {
                    tracing::info!(new = r.new, paid = r.paid, "TON transfers counted")
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "TON: reading the wallet failed"),
            }
        }
    }))
}

/// One round now, waiting for another process's round to finish first (tests, `shop` tools).
pub async fn poll_now(st: &AppState) -> Result<Round> {
    let cfg = st
        .config
        .ton
        .clone()
        .ok_or_else(|| Error::internal("TON is not configured"))?;
    let claim = st.db.exclusive(POLL_LOCK).await?;
    let res = round(st, &cfg).await;
    drop(claim);
    res
}

/// Reads both streams once and flags part-payments of orders that lapsed meanwhile.
async fn round(st: &AppState, cfg: &TonConfig) -> Result<Round> {
    let api = Toncenter::new(&st.http, &cfg.api_url, cfg.api_key.clone());
    let mut r = Round::default();
    toncoin(st, cfg, &api, &mut r).await?;
    if !r.rate_limited {
        usdt(st, cfg, &api, &mut r).await?;
    }
    credit::sweep_stranded(st).await?;
    Ok(r)
}

#[derive(shop_macros::FromRow)]
struct Cursor {
    last_lt: i64,
    since_utime: i64,
}

/// A stream's cursor, made on first use: nothing read yet, from shortly before the first TON
/// order (or now, when there is none yet).
async fn cursor(st: &AppState, stream: &str) -> Result<Cursor> {
    let read = || {
        sqlx::query_as::<_, Cursor>(
            "SELECT last_lt, since_utime FROM ton_cursors WHERE stream = $1",
        )
        .bind(stream)
    };
    if let Some(c) = read().fetch_optional(&st.db.writer).await? {
        return Ok(c);
    }
    let first: Option<i64> =
        sqlx::query_scalar("SELECT MIN(created_at) FROM orders WHERE payment_method = 'ton'")
            .fetch_one(&st.db.pool)
            .await?;
    let now = db::now();
    let since = first.unwrap_or(now).min(now) - FIRST_READ_MARGIN_SECS;
    sqlx::query(
        "INSERT INTO ton_cursors (stream, last_lt, since_utime, updated_at) VALUES ($1, 0, $2, $3) \
         ON CONFLICT (stream) DO NOTHING",
    )
    .bind(stream)
    .bind(since)
    .bind(now)
    .execute(&st.db.writer)
    .await?;
    Ok(read().fetch_one(&st.db.writer).await?)
}

async fn save_cursor(st: &AppState, stream: &str, last_lt: i64, since_utime: i64) -> Result<()> {
    sqlx::query(
        "UPDATE ton_cursors SET last_lt = $1, since_utime = $2, updated_at = $3 WHERE stream = $4",
    )
    .bind(last_lt)
    .bind(since_utime)
    .bind(db::now())
    .bind(stream)
    .execute(&st.db.writer)
    .await?;
    Ok(())
}

fn read_failed(e: ReadError, r: &mut Round) -> Result<bool> {
    match e {
        ReadError::RateLimited => {
            r.rate_limited = true;
            Ok(false)
        }
        ReadError::Failed(why) => Err(Error::internal(format!("toncenter: {why}"))),
    }
}

fn count(done: Credited, r: &mut Round) {
    if done != Credited::Seen {
        r.new += 1;
    }
    if matches!(done, Credited::Paid { .. }) {
        r.paid += 1;
    }
}

async fn toncoin(st: &AppState, cfg: &TonConfig, api: &Toncenter, r: &mut Round) -> Result<()> {
    let c = cursor(st, "ton").await?;
    let mut last = c.last_lt;
    for _ in 0..MAX_PAGES {
        let page = match api
            .transactions(&cfg.wallet_addr, last, c.since_utime)
            .await
        {
            Ok(p) => p,
            Err(e) => {
                read_failed(e, r)?;
                return Ok(());
            }
        };
        for tx in &page {
            let Some(lt) = toncenter::lt_of(tx) else {
                continue;
            };
            if lt <= last {
                continue; // an indexer that ignored start_lt: never walk backwards
            }
            match toncenter::toncoin(tx, &cfg.wallet_addr) {
                Seen::Credit(inc) => count(credit::credit(st, &inc).await?, r),
                Seen::Skip(why) => {
                    tracing::debug!(lt, why, "TON: transaction skipped");
                    r.skipped += 1;
                }
            }
            // Only past an item that was fully handled: an error above leaves it to re-read.
            last = lt;
            save_cursor(st, "ton", last, c.since_utime).await?;
        }
        if page.len() < toncenter::PAGE {
            break;
        }
    }
    Ok(())
}

async fn usdt(st: &AppState, cfg: &TonConfig, api: &Toncenter, r: &mut Round) -> Result<()> {
    let c = cursor(st, "usdt").await?;
    // `since_utime` is the time of the latest transfer read (or the first read's start).
    let from = if c.last_lt > 0 {
        c.since_utime - USDT_OVERLAP_SECS
    } else {
        c.since_utime
    };
    let (mut latest_time, mut latest_lt) = (c.since_utime, c.last_lt);
    let mut offset = 0;
    for _ in 0..MAX_PAGES {
        let page: Vec<Value> = match api
            .jetton_transfers(&cfg.wallet_addr, &cfg.usdt_master_addr, from, offset)
            .await
        {
            Ok(p) => p,
            Err(e) => {
                read_failed(e, r)?;
                break;
            }
        };
        for t in &page {
            match toncenter::usdt(t, &cfg.wallet_addr, &cfg.usdt_master_addr) {
                Seen::Credit(inc) => count(credit::credit(st, &inc).await?, r),
                Seen::Skip(why) => {
                    tracing::debug!(why, "TON: jetton transfer skipped");
                    r.skipped += 1;
                }
            }
            // Past every item handled (skipped ones too, so other jettons' traffic does not
            // widen the window); `last_lt` > 0 only says the stream has read something.
            if let Some(time) = t["transaction_now"].as_i64() {
                latest_time = latest_time.max(time);
            }
            latest_lt = latest_lt.max(1);
        }
        offset += page.len();
        if page.len() < toncenter::PAGE {
            break;
        }
    }
    if (latest_time, latest_lt) != (c.since_utime, c.last_lt) {
        save_cursor(st, "usdt", latest_lt, latest_time).await?;
    }
    Ok(())
}
