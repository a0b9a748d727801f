//! The baseline for benchmarks: a bare axum JSON handler on the same runtime, with no
//! database, auth or middleware. The shop's numbers are reported as ratios to this.

use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

async fn bare() -> Json<Value> {
    Json(json!({"items": [{"id": 1, "title": "bare"}], "next_cursor": null}))
}

#[tokio::main]
async fn main() {
    let addr = std::env::var("BIND_ADDR").unwrap_or_else(|_| "127.0.0.1:8090".into());
    let app = Router::new().route("/bare", get(bare).post(bare));
    let listener = tokio::net::TcpListener::bind(&addr).await.expect("bind");
    axum::serve(listener, app).await.expect("serve");
}
