//! Fulfilment exactly once (library level): the one path every payment rail ends in.
mod common;
use common::*;

use reqwest::Method;
use serde_json::Value;
use shared::PaymentMethod;
use shop::orders::lifecycle::{paid as fulfil, Outcome, PaymentSuccess};

struct Placed {
    id: i64,
    user: i64,
    variant: i64,
    qty: i64,
    total: i64,
    currency: String,
}

async fn place(app: &TestApp, user: i64, name: &str, qty: i64) -> Placed {
    let variant = app.variant_id(name).await;
    let o = app.cash_order(user, variant, qty).await;
    Placed {
        id: o["id"].as_i64().unwrap(),
        user,
        variant,
        qty,
        total: o["total"]["amount_minor"].as_i64().unwrap(),
        currency: o["total"]["currency"].as_str().unwrap().to_string(),
    }
}

fn success(o: &Placed, provider: &'static str, payment_id: &str) -> PaymentSuccess {
    PaymentSuccess {
        order_id: o.id,
        rail: PaymentMethod::parse(provider).expect("a rail"),
        provider_payment_id: payment_id.to_string(),
        amount_minor: o.total,
        currency: o.currency.clone(),
        raw: Some(format!("{{\"test\":\"{payment_id}\"}}")),
    }
}

async fn status(app: &TestApp, o: &Placed) -> String {
    let (s, v): (u16, Value) = app
        .json(app.as_user(Method::GET, &format!("/api/orders/{}", o.id), o.user))
        .await;
    assert_eq!(s, 200, "{v}");
    v["status"].as_str().unwrap().to_string()
}

async fn count(app: &TestApp, sql: &str, order_id: i64) -> i64 {
    sqlx::query_scalar::<_, i64>(sql)
        .bind(order_id)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap()
}

async fn paid_events(app: &TestApp, order_id: i64) -> i64 {
    count(
        app,
        "SELECT COUNT(*) FROM order_events WHERE order_id = $1 AND kind = 'paid'",
        order_id,
    )
    .await
}

both!(
    a_payment_fulfils_once_and_repeats_change_nothing,
    |app: TestApp| async move {
        let o = place(&app, 1, "Teapot", 2).await;
        let stock = app.stock(o.variant).await;
        assert_eq!(app.reserved(o.variant).await, 2);
        assert_eq!(status(&app, &o).await, "pending_payment");

        let first = fulfil(&app.state, &success(&o, "stars", "charge-1"))
            .await
            .unwrap();
        assert_eq!(first, Outcome::Fulfilled);
        assert_eq!(status(&app, &o).await, "paid");
        assert_eq!(
            app.reserved(o.variant).await,
            0,
            "reserved units became sold units"
        );
        assert_eq!(
            app.stock(o.variant).await,
            stock,
            "free stock does not move on payment"
        );

        // The provider repeats its notification.
        for _ in 0..3 {
            let again = fulfil(&app.state, &success(&o, "stars", "charge-1"))
                .await
                .unwrap();
            assert_eq!(again, Outcome::AlreadyRecorded);
        }
        assert_eq!(status(&app, &o).await, "paid");
        assert_eq!(app.reserved(o.variant).await, 0);
        assert_eq!(app.stock(o.variant).await, stock);

        // Another rail also reports success for the same order: money to give back.
        let other = fulfil(&app.state, &success(&o, "stripe", "pi_1"))
            .await
            .unwrap();
        assert_eq!(other, Outcome::FlaggedForRefund);
        // The same id from another provider is a different payment, also flagged.
        let same_id = fulfil(&app.state, &success(&o, "payme", "charge-1"))
            .await
            .unwrap();
        assert_eq!(same_id, Outcome::FlaggedForRefund);
        assert_eq!(status(&app, &o).await, "paid");
        assert_eq!(app.reserved(o.variant).await, 0);
        assert_eq!(app.stock(o.variant).await, stock);

        assert_eq!(paid_events(&app, o.id).await, 1);
        assert_eq!(
            count(
                &app,
                "SELECT COUNT(*) FROM payments WHERE order_id = $1",
                o.id
            )
            .await,
            3
        );
        assert_eq!(
            count(
                &app,
                "SELECT COUNT(*) FROM payments WHERE order_id = $1 AND needs_refund = 1",
                o.id
            )
            .await,
            2
        );
        let winner: i64 = sqlx::query_scalar("SELECT needs_refund FROM payments WHERE provider = 'stars' AND provider_payment_id = 'charge-1'")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
        assert_eq!(winner, 0);
    }
);

both!(
    a_wrong_amount_is_flagged_and_does_not_pay,
    |app: TestApp| async move {
        let o = place(&app, 2, "Teapot", 1).await;
        let stock = app.stock(o.variant).await;

        let mut short = success(&o, "click", "c-short");
        short.amount_minor -= 1;
        assert_eq!(
            fulfil(&app.state, &short).await.unwrap(),
            Outcome::FlaggedForRefund
        );
        let mut more = success(&o, "click", "c-more");
        more.amount_minor += 100;
        assert_eq!(
            fulfil(&app.state, &more).await.unwrap(),
            Outcome::FlaggedForRefund
        );
        let mut currency = success(&o, "stripe", "pi_usd");
        currency.currency = "USD".into();
        assert_eq!(
            fulfil(&app.state, &currency).await.unwrap(),
            Outcome::FlaggedForRefund
        );

        assert_eq!(
            status(&app, &o).await,
            "pending_payment",
            "a mismatched payment pays nothing"
        );
        assert_eq!(
            app.reserved(o.variant).await,
            1,
            "the reservation is still held"
        );
        assert_eq!(app.stock(o.variant).await, stock);
        assert_eq!(paid_events(&app, o.id).await, 0);
        assert_eq!(
            count(
                &app,
                "SELECT COUNT(*) FROM payments WHERE order_id = $1 AND needs_refund = 1",
                o.id
            )
            .await,
            3
        );

        // The right amount still pays it.
        assert_eq!(
            fulfil(&app.state, &success(&o, "click", "c-ok"))
                .await
                .unwrap(),
            Outcome::Fulfilled
        );
        assert_eq!(status(&app, &o).await, "paid");
        assert_eq!(app.reserved(o.variant).await, 0);
    }
);

both!(
    a_payment_for_an_unknown_order_is_an_error,
    |app: TestApp| async move {
        let o = place(&app, 3, "Teapot", 1).await;
        let mut p = success(&o, "stars", "ghost");
        p.order_id = 999_999;
        assert!(fulfil(&app.state, &p).await.is_err());
        assert_eq!(status(&app, &o).await, "pending_payment");
    }
);

both!(
    late_payment_of_an_expired_order,
    |app: TestApp| async move {
        // Paid after the reservation lapsed: sold if the stock is still there, else refunded.
        let o = place(&app, 4, "Teapot", 2).await;
        sqlx::query("UPDATE orders SET expires_at = $1 WHERE id = $2")
            .bind(now() - 1)
            .bind(o.id)
            .execute(&app.state.db.pool)
            .await
            .unwrap();
        assert_eq!(
            shop::orders::lifecycle::expire_due(&app.state)
                .await
                .unwrap(),
            1
        );
        assert_eq!(status(&app, &o).await, "expired");
        let free = app.stock(o.variant).await.unwrap();
        assert_eq!(app.reserved(o.variant).await, 0);

        assert_eq!(
            fulfil(&app.state, &success(&o, "stars", "late-1"))
                .await
                .unwrap(),
            Outcome::Fulfilled
        );
        assert_eq!(status(&app, &o).await, "paid");
        assert_eq!(
            app.stock(o.variant).await,
            Some(free - o.qty),
            "the units are taken again, as sold"
        );
        assert_eq!(app.reserved(o.variant).await, 0);

        // A second late order whose stock is gone meanwhile.
        let o2 = place(&app, 5, "Suzani", 1).await;
        sqlx::query("UPDATE orders SET expires_at = $1 WHERE id = $2")
            .bind(now() - 1)
            .bind(o2.id)
            .execute(&app.state.db.pool)
            .await
            .unwrap();
        assert_eq!(
            shop::orders::lifecycle::expire_due(&app.state)
                .await
                .unwrap(),
            1
        );
        let rival = app.cash_order(6, o2.variant, 1).await; // someone buys the only piece
        assert!(rival["id"].as_i64().is_some());
        assert_eq!(app.stock(o2.variant).await, Some(0));
        assert_eq!(
            fulfil(&app.state, &success(&o2, "stars", "late-2"))
                .await
                .unwrap(),
            Outcome::FlaggedForRefund
        );
        assert_eq!(status(&app, &o2).await, "expired");
        assert_eq!(app.stock(o2.variant).await, Some(0), "never oversold");
        let paid_at: Option<i64> = sqlx::query_scalar("SELECT paid_at FROM orders WHERE id = $1")
            .bind(o2.id)
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap();
        assert_eq!(paid_at, None);
        assert_eq!(
            count(
                &app,
                "SELECT COUNT(*) FROM payments WHERE order_id = $1 AND needs_refund = 1",
                o2.id
            )
            .await,
            1
        );
    }
);

/// 20 distinct successful payments for one order at once: exactly one pays it.
async fn concurrent_payments(app: TestApp) {
    let o = place(&app, 7, "Teapot", 3).await;
    let stock = app.stock(o.variant).await;
    let mut set = tokio::task::JoinSet::new();
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(20));
    for i in 0..20 {
        let db = app.state.clone();
        let p = success(&o, "stars", &format!("race-{i}"));
        let barrier = barrier.clone();
        set.spawn(async move {
            barrier.wait().await;
            fulfil(&db, &p).await.expect("fulfil")
        });
    }
    let mut outcomes = vec![];
    while let Some(r) = set.join_next().await {
        outcomes.push(r.unwrap());
    }
    let fulfilled = outcomes
        .iter()
        .filter(|o| **o == Outcome::Fulfilled)
        .count();
    let flagged = outcomes
        .iter()
        .filter(|o| **o == Outcome::FlaggedForRefund)
        .count();
    assert_eq!((fulfilled, flagged), (1, 19), "{outcomes:?}");
    assert_eq!(status(&app, &o).await, "paid");
    assert_eq!(
        app.reserved(o.variant).await,
        0,
        "the reservation is committed once"
    );
    assert_eq!(app.stock(o.variant).await, stock);
    assert_eq!(paid_events(&app, o.id).await, 1);
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM payments WHERE order_id = $1",
            o.id
        )
        .await,
        20
    );
}

/// Two payments for one order, forced to interleave: both read the order while it is still
/// unpaid, because a third connection holds a lock they both need before they can pay it.
/// On PostgreSQL the lock is the variant row (`FOR UPDATE`), which `fulfil` updates between
/// reading the order and marking it paid; on SQLite it is the database write lock.
async fn interleaved_payments(app: TestApp) {
    use sqlx::Executor;
    let o = place(&app, 8, "Teapot", 2).await;
    let mut locker = app.state.db.pool.acquire().await.unwrap();
    match app.kind {
        Kind::Postgres => {
            locker.execute("BEGIN").await.unwrap();
            sqlx::query("SELECT id FROM variants WHERE id = $1 FOR UPDATE")
                .bind(o.variant)
                .fetch_all(&mut *locker)
                .await
                .unwrap();
        }
        Kind::Sqlite => {
            locker.execute("BEGIN IMMEDIATE").await.unwrap();
        }
    }
    let mut set = tokio::task::JoinSet::new();
    for i in 0..2 {
        let db = app.state.clone();
        let p = success(&o, "stars", &format!("interleaved-{i}"));
        set.spawn(async move { fulfil(&db, &p).await.expect("fulfil") });
    }
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    locker.execute("COMMIT").await.unwrap();
    drop(locker);
    let mut outcomes = vec![];
    while let Some(r) = set.join_next().await {
        outcomes.push(r.unwrap());
    }
    outcomes.sort_by_key(|o| *o != Outcome::Fulfilled);
    assert_eq!(
        outcomes,
        [Outcome::Fulfilled, Outcome::FlaggedForRefund],
        "one payment pays, the other is refunded; reserved is now {}",
        app.reserved(o.variant).await
    );
    assert_eq!(app.reserved(o.variant).await, 0);
    assert_eq!(paid_events(&app, o.id).await, 1);
}

both!(
    twenty_concurrent_payments_fulfil_exactly_once,
    |app: TestApp| async move { concurrent_payments(app).await }
);

both!(
    interleaved_payments_fulfil_exactly_once,
    |app: TestApp| async move { interleaved_payments(app).await }
);

/// A payment for an expired order whose stock is gone is refunded and the order stays
/// expired; its timeline must not show a "paid" event for a payment that did not pay it.
async fn refused_late_payment_leaves_no_paid_event(app: TestApp) {
    let o = place(&app, 9, "Suzani", 1).await;
    sqlx::query("UPDATE orders SET expires_at = $1 WHERE id = $2")
        .bind(now() - 1)
        .bind(o.id)
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(
        shop::orders::lifecycle::expire_due(&app.state)
            .await
            .unwrap(),
        1
    );
    app.cash_order(10, o.variant, 1).await;
    assert_eq!(
        fulfil(&app.state, &success(&o, "stars", "late-gone"))
            .await
            .unwrap(),
        Outcome::FlaggedForRefund
    );
    let (_, v): (u16, Value) = app
        .json(app.as_user(Method::GET, &format!("/api/orders/{}", o.id), o.user))
        .await;
    assert_eq!(v["status"], "expired");
    let statuses: Vec<&str> = v["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["status"].as_str())
        .collect();
    assert!(
        !statuses.contains(&"paid"),
        "the timeline of an unpaid, expired order shows it paid: {statuses:?}"
    );
    assert_eq!(paid_events(&app, o.id).await, 0);
}

mod refused_late_payment_leaves_no_paid_event {
    use super::*;
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn sqlite() {
        if let Some(app) = spawn(Kind::Sqlite, &[]).await {
            refused_late_payment_leaves_no_paid_event(app).await;
        }
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn postgres() {
        if let Some(app) = spawn(Kind::Postgres, &[]).await {
            refused_late_payment_leaves_no_paid_event(app).await;
        }
    }
}
