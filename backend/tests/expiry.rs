//! Unpaid orders whose reservation lapsed expire and give their stock back, once.
mod common;
use common::*;

use reqwest::Method;
use serde_json::Value;
use shop::orders::lifecycle::expire_due;

async fn set_expires_at(app: &TestApp, order_id: i64, at: Option<i64>) {
    sqlx::query("UPDATE orders SET expires_at = $1 WHERE id = $2")
        .bind(at)
        .bind(order_id)
        .execute(&app.state.db.pool)
        .await
        .unwrap();
}

async fn order(app: &TestApp, user: i64, id: i64) -> Value {
    let (s, v) = app
        .json(app.as_user(Method::GET, &format!("/api/orders/{id}"), user))
        .await;
    assert_eq!(s, 200, "{v}");
    v
}

both!(
    lapsed_order_expires_and_gives_stock_back_once,
    |app: TestApp| async move {
        let vid = app.variant_id("Teapot").await;
        let start = app.stock(vid).await.unwrap();
        let lapsed = app.cash_order(1, vid, 3).await["id"].as_i64().unwrap();
        let kept = app.cash_order(2, vid, 1).await["id"].as_i64().unwrap();
        let future = app.cash_order(3, vid, 2).await["id"].as_i64().unwrap();
        assert_eq!(app.stock(vid).await, Some(start - 6));
        assert_eq!(app.reserved(vid).await, 6);

        // Cash orders carry no expiry of their own.
        assert!(order(&app, 2, kept).await.get("expires_at").is_none());
        let n = expire_due(&app.state).await.unwrap();
        assert_eq!(n, 0, "nothing is due yet");

        set_expires_at(&app, lapsed, Some(now() - 60)).await;
        set_expires_at(&app, future, Some(now() + 3600)).await;
        let n = expire_due(&app.state).await.unwrap();
        assert_eq!(n, 1);

        let o = order(&app, 1, lapsed).await;
        assert_eq!(o["status"], "expired");
        assert!(
            o.get("expires_at").is_none(),
            "only unpaid orders show an expiry: {o}"
        );
        let events: Vec<&str> = o["events"]
            .as_array()
            .expect("the order detail has its timeline")
            .iter()
            .filter_map(|e| e["status"].as_str())
            .collect();
        assert!(events.contains(&"expired"), "{events:?}");
        assert_eq!(
            app.stock(vid).await,
            Some(start - 3),
            "the 3 units are free again"
        );
        assert_eq!(app.reserved(vid).await, 3);

        // Again: nothing changes, the stock is not given back twice.
        let n = expire_due(&app.state).await.unwrap();
        assert_eq!(n, 0);
        assert_eq!(app.stock(vid).await, Some(start - 3));
        assert_eq!(app.reserved(vid).await, 3);

        // The others are untouched.
        assert_eq!(order(&app, 2, kept).await["status"], "pending_payment");
        let f = order(&app, 3, future).await;
        assert_eq!(f["status"], "pending_payment");
        assert!(f["expires_at"].as_i64().unwrap() > now());

        // An order that is no longer pending never expires, even with a past expiry.
        sqlx::query("UPDATE orders SET status = 'paid', holds_stock = 0 WHERE id = $1")
            .bind(kept)
            .execute(&app.state.db.pool)
            .await
            .unwrap();
        set_expires_at(&app, kept, Some(now() - 60)).await;
        assert_eq!(expire_due(&app.state).await.unwrap(), 0);
        assert_eq!(order(&app, 2, kept).await["status"], "paid");
        assert_eq!(app.stock(vid).await, Some(start - 3));
    }
);

both!(
    concurrent_expiry_runs_release_once,
    |app: TestApp| async move {
        // Two app instances (or a slow tick) may run expiry at the same time.
        let vid = app.variant_id("Pistachios").await;
        let start = app.stock(vid).await.unwrap();
        let mut ids = vec![];
        for u in 0..5 {
            ids.push(
                app.cash_order(100 + u, vid, 2).await["id"]
                    .as_i64()
                    .unwrap(),
            );
        }
        for id in &ids {
            set_expires_at(&app, *id, Some(now() - 1)).await;
        }
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..4 {
            let st = app.state.clone();
            set.spawn(async move { expire_due(&st).await.expect("expire_due") });
        }
        let mut total = 0;
        while let Some(n) = set.join_next().await {
            total += n.unwrap();
        }
        assert_eq!(total, 5, "each order expires in exactly one run");
        assert_eq!(app.stock(vid).await, Some(start));
        assert_eq!(app.reserved(vid).await, 0);
    }
);
