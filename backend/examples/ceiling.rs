//! The commit ceiling for `POST /api/orders` benchmarks: the least an order can cost the
//! database. One conditional stock UPDATE and one order INSERT per request, committed, through
//! the shop's own [`Db`] (same driver, same pool settings, same write transactions, same
//! database file), with no auth, validation, items, events or answer to build.
//!
//! `bench/load.py` runs it against the database the shop just used, with the same load tool and
//! connection count, and reports the shop's order rate as a share of this one. It is an example
//! binary, not a route: nothing of it is in the shop's build.
//!
//! Usage: `DATABASE_URL=... BIND_ADDR=127.0.0.1:18091 target/release/examples/ceiling`, then
//! `POST /ceiling` with `{"variant_id": N}`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use shop::db::{self, Db};

/// The customer every ceiling order belongs to (created at start; Telegram ids are positive).
const CUSTOMER: i64 = 1;

#[derive(Deserialize)]
struct Req {
    variant_id: i64,
}

async fn order(State(db): State<Db>, Json(req): Json<Req>) -> (StatusCode, Json<Value>) {
    match place(&db, req.variant_id).await {
        Ok(Some(id)) => (StatusCode::CREATED, Json(json!({ "id": id }))),
        Ok(None) => (
            StatusCode::CONFLICT,
            Json(json!({ "error": "out_of_stock" })),
        ),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({ "error": e.to_string() })),
        ),
    }
}

async fn place(db: &Db, variant_id: i64) -> Result<Option<i64>, sqlx::Error> {
    let now = db::now();
    let mut tx = db.begin_write().await?;
    let took = sqlx::query(
        "UPDATE variants SET stock = stock - $1, reserved = reserved + $1 \
         WHERE id = $2 AND archived = 0 AND (stock IS NULL OR stock >= $1)",
    )
    .bind(1_i64)
    .bind(variant_id)
    .execute(tx.conn())
    .await?
    .rows_affected();
    if took == 0 {
        return Ok(None);
    }
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO orders (customer_id, status, currency, total_minor, payment_method, lang, \
         holds_stock, created_at, updated_at) \
         VALUES ($1, 'pending_payment', 'UZS', $2, 'cash', 'en', 1, $3, $3) RETURNING id",
    )
    .bind(CUSTOMER)
    .bind(100_i64)
    .bind(now)
    .fetch_one(tx.conn())
    .await?;
    tx.commit().await?;
    Ok(Some(id))
}

#[tokio::main]
async fn main() {
    let url = std::env::var("DATABASE_URL").expect("DATABASE_URL");
    let addr = std::env::var("BIND_ADDR").unwrap_or_else(|_| "127.0.0.1:18091".into());
    let db = Db::connect(&url).await.expect("database");
    sqlx::query(
        "INSERT INTO customers (id, first_name, created_at, updated_at) VALUES ($1, 'Ceiling', 0, 0) \
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(CUSTOMER)
    .execute(&db.pool)
    .await
    .expect("ceiling customer");
    let app = Router::new()
        .route("/ceiling", post(order))
        .route("/readyz", get(|| async { "ok" }))
        .with_state(db);
    let listener = tokio::net::TcpListener::bind(&addr).await.expect("bind");
    axum::serve(listener, app).await.expect("serve");
}
