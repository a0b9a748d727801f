//! Which provider notifications were handled (`processed_events`), for the rails whose
//! notifications carry an event id (Stripe, PayPal).

use crate::db::{self, Db};
use crate::error::Result;

/// Whether `(source, event_id)` was handled before.
pub async fn seen(db: &Db, source: &str, event_id: &str) -> Result<bool> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM processed_events WHERE source = $1 AND event_id = $2",
    )
    .bind(source)
    .bind(event_id)
    .fetch_one(&db.pool)
    .await?;
    Ok(n > 0)
}

/// Remembers a handled event. Marked after handling (not before), so a crash midway lets the
/// provider's redelivery finish the job; every handler is idempotent on its own, so two
/// deliveries racing past [`seen`] still change things once.
pub async fn mark_seen(db: &Db, source: &str, event_id: &str) -> Result<()> {
    sqlx::query(
        "INSERT INTO processed_events (source, event_id, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (source, event_id) DO NOTHING",
    )
    .bind(source)
    .bind(event_id)
    .bind(db::now())
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// Whether the shop has order `order_id`.
pub async fn order_exists(db: &Db, order_id: i64) -> Result<bool> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM orders WHERE id = $1")
        .bind(order_id)
        .fetch_one(&db.pool)
        .await?;
    Ok(n > 0)
}
