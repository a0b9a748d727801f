//! The order lifecycle (`shop::orders::lifecycle`), one test per operation, on SQLite and
//! PostgreSQL: each change happens once however often it is asked for, and its after-commit
//! effects (catalog bump, customer notice) run exactly when it happened.
//!
//! The lifecycle takes the shop through its `Shop` trait, so most tests hand it a recorder
//! over the test app's database and read what it was told; the expiry test goes all the way
//! to the fake Bot API instead.

mod common;
#[path = "support/fake_bot_api.rs"]
mod fake_bot_api;
#[path = "support/tg.rs"]
mod tg;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use common::*;
use futures_util::future::BoxFuture;
use serde_json::Value;
use shared::PaymentMethod;
use shop::db::Db;
use shop::notify::Notice;
use shop::orders::lifecycle::{
    self, AuditTrail, By, Ending, Outcome, PaymentOf, PaymentSuccess, Recorded, Refund,
    RefundsMade, Restock, Shop,
};
use tg::{Mode, Tg};

/// A `Shop` that remembers what the lifecycle asked of it after each commit.
struct Recorder {
    db: Db,
    notices: Mutex<Vec<(i64, Notice)>>,
    bumps: AtomicUsize,
}

impl Recorder {
    fn new(app: &TestApp) -> Recorder {
        Recorder {
            db: app.state.db.clone(),
            notices: Mutex::new(vec![]),
            bumps: AtomicUsize::new(0),
        }
    }
    fn notices(&self) -> Vec<(i64, Notice)> {
        self.notices.lock().unwrap().clone()
    }
    fn bumps(&self) -> usize {
        self.bumps.load(Ordering::SeqCst)
    }
}

impl Shop for Recorder {
    fn db(&self) -> &Db {
        &self.db
    }
    fn catalog_changed(&self) {
        self.bumps.fetch_add(1, Ordering::SeqCst);
    }
    fn notify(&self, order_id: i64, notice: Notice) {
        self.notices.lock().unwrap().push((order_id, notice));
    }
}

/// An admin whose audit entries are counted.
struct Auditor(AtomicUsize);

impl AuditTrail for Auditor {
    fn email(&self) -> &str {
        "owner@shop.test"
    }
    fn record<'c>(
        &'c self,
        _conn: &'c mut sqlx::AnyConnection,
        _action: &'static str,
        _order_id: i64,
        _before: Value,
        _after: Value,
    ) -> BoxFuture<'c, shop::error::Result<()>> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Box::pin(async { Ok(()) })
    }
}

struct Placed {
    id: i64,
    variant: i64,
    qty: i64,
    total: i64,
    currency: String,
}

async fn place(app: &TestApp, user: i64, qty: i64) -> Placed {
    let variant = app.variant_id("Teapot").await;
    let o = app.cash_order(user, variant, qty).await;
    Placed {
        id: o["id"].as_i64().unwrap(),
        variant,
        qty,
        total: o["total"]["amount_minor"].as_i64().unwrap(),
        currency: o["total"]["currency"].as_str().unwrap().to_string(),
    }
}

fn payment(o: &Placed, id: &str) -> PaymentSuccess {
    PaymentSuccess {
        order_id: o.id,
        rail: PaymentMethod::Stripe,
        provider_payment_id: id.to_string(),
        amount_minor: o.total,
        currency: o.currency.clone(),
        raw: None,
    }
}

async fn status(app: &TestApp, order_id: i64) -> String {
    sqlx::query_scalar("SELECT status FROM orders WHERE id = $1")
        .bind(order_id)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap()
}

async fn events(app: &TestApp, order_id: i64, kind: &str) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM order_events WHERE order_id = $1 AND kind = $2")
        .bind(order_id)
        .bind(kind)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap()
}

/// A paid order and our handle on its payment.
async fn paid_order(app: &TestApp, shop: &Recorder, user: i64) -> (Placed, PaymentOf) {
    let o = place(app, user, 1).await;
    let pi = format!("pi_{user}");
    assert_eq!(
        lifecycle::paid(shop, &payment(&o, &pi)).await.unwrap(),
        Outcome::Fulfilled
    );
    let pay = shop::payments::payment_by_provider_id(&app.state.db, PaymentMethod::Stripe, &pi)
        .await
        .unwrap()
        .expect("the payment is on record");
    (o, pay.of())
}

fn refund(id: &str, o: &Placed, amount: i64) -> Refund {
    Refund {
        provider_refund_id: id.to_string(),
        amount_minor: amount,
        currency: o.currency.clone(),
    }
}

both!(paid_once_under_a_repeat, |app: TestApp| async move {
    let shop = Recorder::new(&app);
    let o = place(&app, 1, 2).await;
    let reserved = app.reserved(o.variant).await;
    assert_eq!(
        lifecycle::paid(&shop, &payment(&o, "pi_1")).await.unwrap(),
        Outcome::Fulfilled
    );
    for _ in 0..3 {
        assert_eq!(
            lifecycle::paid(&shop, &payment(&o, "pi_1")).await.unwrap(),
            Outcome::AlreadyRecorded
        );
    }
    assert_eq!(status(&app, o.id).await, "paid");
    assert_eq!(events(&app, o.id, "paid").await, 1);
    assert_eq!(
        app.reserved(o.variant).await,
        reserved - o.qty,
        "reservation committed once"
    );
    assert_eq!(shop.notices(), vec![(o.id, Notice::Paid)]);
    assert_eq!(shop.bumps(), 1);
    // Another payment for the paid order is money to give back, not a second "paid".
    assert_eq!(
        lifecycle::paid(&shop, &payment(&o, "pi_2")).await.unwrap(),
        Outcome::FlaggedForRefund
    );
    assert_eq!(shop.notices().len(), 1);
});

both!(
    end_unpaid_releases_stock_and_tells_the_customer,
    |app: TestApp| async move {
        let shop = Recorder::new(&app);
        let o = place(&app, 2, 3).await;
        let stock = app.stock(o.variant).await.unwrap();
        let by = By::Rail(PaymentMethod::Stripe);
        assert!(
            lifecycle::end_unpaid(&shop, o.id, Ending::PaymentFailed, Some("declined"), by)
                .await
                .unwrap()
        );
        assert!(
            !lifecycle::end_unpaid(&shop, o.id, Ending::Expired, None, by)
                .await
                .unwrap()
        );
        assert_eq!(status(&app, o.id).await, "cancelled");
        assert_eq!(app.stock(o.variant).await, Some(stock + o.qty));
        assert_eq!(app.reserved(o.variant).await, 0);
        assert_eq!(shop.notices(), vec![(o.id, Notice::Cancelled)]);
        assert_eq!(shop.bumps(), 1);

        // The shop's own reservation expiry ends an order like any other ending: told too.
        let o2 = place(&app, 3, 1).await;
        sqlx::query("UPDATE orders SET expires_at = $1 WHERE id = $2")
            .bind(now() - 1)
            .bind(o2.id)
            .execute(&app.state.db.pool)
            .await
            .unwrap();
        assert_eq!(lifecycle::expire_due(&shop).await.unwrap(), 1);
        assert_eq!(lifecycle::expire_due(&shop).await.unwrap(), 0);
        assert_eq!(status(&app, o2.id).await, "expired");
        assert_eq!(shop.notices()[1], (o2.id, Notice::Expired));
        assert_eq!(shop.notices().len(), 2);

        // A paid order is not ended.
        let (paid, _) = paid_order(&app, &shop, 4).await;
        assert!(
            !lifecycle::end_unpaid(&shop, paid.id, Ending::Cancelled, None, by)
                .await
                .unwrap()
        );
        assert_eq!(status(&app, paid.id).await, "paid");
    }
);

both!(
    refund_succeeded_is_counted_once,
    |app: TestApp| async move {
        let shop = Recorder::new(&app);
        let (o, pay) = paid_order(&app, &shop, 5).await;
        let by = By::Rail(PaymentMethod::Stripe);
        let half = o.total / 2;
        let r1 = refund("re_1", &o, half);
        assert_eq!(
            lifecycle::refunded(&shop, pay, &r1, Restock::No, by)
                .await
                .unwrap(),
            Recorded::Partial
        );
        assert_eq!(
            lifecycle::refunded(&shop, pay, &r1, Restock::No, by)
                .await
                .unwrap(),
            Recorded::Nothing,
            "the same refund again"
        );
        assert_eq!(status(&app, o.id).await, "paid");
        let r2 = refund("re_2", &o, o.total - half);
        assert_eq!(
            lifecycle::refunded(&shop, pay, &r2, Restock::No, by)
                .await
                .unwrap(),
            Recorded::Full
        );
        assert_eq!(
            lifecycle::refunded(&shop, pay, &r2, Restock::No, by)
                .await
                .unwrap(),
            Recorded::Nothing
        );
        assert_eq!(status(&app, o.id).await, "refunded");
        let refunded: i64 = sqlx::query_scalar("SELECT refunded_minor FROM payments WHERE id = $1")
            .bind(pay.payment_id)
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap();
        assert_eq!(refunded, o.total);
        let refunds = shop
            .notices()
            .into_iter()
            .filter(|n| n.1 == Notice::Refunded)
            .count();
        assert_eq!(refunds, 1, "{:?}", shop.notices());
    }
);

both!(
    refund_reversed_and_failed_are_counted_once,
    |app: TestApp| async move {
        let shop = Recorder::new(&app);
        let (o, pay) = paid_order(&app, &shop, 6).await;
        let rail = PaymentMethod::Stripe;
        let by = By::Rail(rail);
        let r = refund("re_x", &o, o.total);
        assert_eq!(
            lifecycle::refunded(&shop, pay, &r, Restock::No, by)
                .await
                .unwrap(),
            Recorded::Full
        );
        // The provider reports the refund failed after it succeeded: the money is back.
        assert!(lifecycle::refund_failed(&shop, rail, &r, Some(pay), by)
            .await
            .unwrap());
        assert!(!lifecycle::refund_failed(&shop, rail, &r, Some(pay), by)
            .await
            .unwrap());
        assert_eq!(status(&app, o.id).await, "paid", "refundable again");
        // A refund that failed before it ever succeeded: on record once, nothing counted.
        let never = refund("re_never", &o, o.total);
        assert!(lifecycle::refund_failed(&shop, rail, &never, Some(pay), by)
            .await
            .unwrap());
        assert!(
            !lifecycle::refund_failed(&shop, rail, &never, Some(pay), by)
                .await
                .unwrap()
        );
        assert_eq!(status(&app, o.id).await, "paid");
        assert_eq!(events(&app, o.id, "refund_failed").await, 2);
        let failed = shop
            .notices()
            .into_iter()
            .filter(|n| n.1 == Notice::RefundFailed)
            .count();
        assert_eq!(failed, 2, "{:?}", shop.notices());
        // A payment that is not ours changes nothing.
        let other = refund("re_other", &o, 1);
        assert!(!lifecycle::refund_failed(&shop, rail, &other, None, by)
            .await
            .unwrap());
    }
);

both!(
    refund_requested_is_pending_then_made_once,
    |app: TestApp| async move {
        let shop = Recorder::new(&app);
        let (o, pay) = paid_order(&app, &shop, 7).await;
        let admin = Auditor(AtomicUsize::new(0));
        // The provider accepted the refund but has not made it yet.
        let pending = RefundsMade {
            pay,
            made: &[],
            restock: Restock::Yes,
            pending_note: "stripe accepted the refund".into(),
        };
        assert_eq!(
            lifecycle::refunds_made(&shop, pending, By::Admin(&admin))
                .await
                .unwrap(),
            Recorded::Nothing
        );
        assert_eq!(status(&app, o.id).await, "paid");
        assert_eq!(events(&app, o.id, "refund_pending").await, 1);
        assert_eq!(admin.0.load(Ordering::SeqCst), 1, "audited");
        // Its notification records it; the admin's later answer naming the same refund
        // changes nothing more, but the restock the merchant asked for happens once.
        let r = refund("re_p", &o, o.total);
        let stock = app.stock(o.variant).await.unwrap();
        lifecycle::refunded(&shop, pay, &r, Restock::No, By::Rail(PaymentMethod::Stripe))
            .await
            .unwrap();
        let made = [r.clone()];
        for _ in 0..2 {
            lifecycle::refunds_made(
                &shop,
                RefundsMade {
                    pay,
                    made: &made,
                    restock: Restock::Yes,
                    pending_note: String::new(),
                },
                By::Admin(&admin),
            )
            .await
            .unwrap();
        }
        assert_eq!(status(&app, o.id).await, "refunded");
        assert_eq!(
            app.stock(o.variant).await,
            Some(stock + o.qty),
            "restocked once"
        );
        assert_eq!(events(&app, o.id, "restocked").await, 1);
        let refunds = shop
            .notices()
            .into_iter()
            .filter(|n| n.1 == Notice::Refunded)
            .count();
        assert_eq!(refunds, 1);
    }
);

both!(ship_and_deliver_are_guarded, |app: TestApp| async move {
    let shop = Recorder::new(&app);
    let admin = Auditor(AtomicUsize::new(0));
    let by = By::Admin(&admin);
    // A cash order ships unpaid: the courier collects the money.
    let o = place(&app, 8, 1).await;
    assert!(lifecycle::ship(&shop, o.id, by).await.unwrap());
    assert!(
        !lifecycle::ship(&shop, o.id, by).await.unwrap(),
        "shipped once"
    );
    assert_eq!(status(&app, o.id).await, "shipped");
    // Delivering it is when its money arrives: recorded with it, in one change.
    assert!(lifecycle::deliver(&shop, o.id, by).await.unwrap());
    assert!(
        !lifecycle::deliver(&shop, o.id, by).await.unwrap(),
        "delivered once"
    );
    assert_eq!(status(&app, o.id).await, "delivered");
    let cash: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM payments WHERE order_id = $1 AND provider = 'cash'",
    )
    .bind(o.id)
    .fetch_one(&app.state.db.pool)
    .await
    .unwrap();
    assert_eq!(cash, 1);
    assert_eq!(
        shop.notices(),
        vec![(o.id, Notice::Shipped), (o.id, Notice::Delivered)]
    );
    assert_eq!(admin.0.load(Ordering::SeqCst), 2, "each change audited");
    // An unpaid order of another rail neither ships nor delivers.
    let card = place(&app, 9, 1).await;
    sqlx::query("UPDATE orders SET payment_method = 'stripe' WHERE id = $1")
        .bind(card.id)
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    assert!(!lifecycle::ship(&shop, card.id, by).await.unwrap());
    assert!(!lifecycle::deliver(&shop, card.id, by).await.unwrap());
    assert_eq!(status(&app, card.id).await, "pending_payment");
    assert_eq!(shop.notices().len(), 2);
});

/// The reservation expiry tells the customer, through the real notifier, like a Stripe
/// session expiry does.
async fn expiry_tells_the_customer(t: Tg) {
    let user = 9101;
    let variant = t.app.variant_id("Teapot").await;
    let id = t.app.cash_order(user, variant, 1).await["id"]
        .as_i64()
        .unwrap();
    sqlx::query("UPDATE orders SET expires_at = $1 WHERE id = $2")
        .bind(now() - 1)
        .bind(id)
        .execute(&t.app.state.db.pool)
        .await
        .unwrap();
    let tag = format!("#{id}");
    assert!(
        !t.messages_to(user).iter().any(|m| m.contains(&tag)),
        "{:?}",
        t.messages_to(user)
    );
    assert_eq!(lifecycle::expire_due(&t.app.state).await.unwrap(), 1);
    let msg = t
        .fake
        .wait_for("sendMessage", |b| {
            b["chat_id"] == user && b["text"].as_str().is_some_and(|s| s.contains(&tag))
        })
        .await;
    assert!(msg["text"].as_str().unwrap().contains(&tag));
}

mod reservation_expiry_tells_the_customer {
    use super::*;
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn sqlite() {
        if let Some(t) = Tg::start(Kind::Sqlite, Mode::Webhook, &[]).await {
            expiry_tells_the_customer(t).await;
        }
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn postgres() {
        if let Some(t) = Tg::start(Kind::Postgres, Mode::Webhook, &[]).await {
            expiry_tells_the_customer(t).await;
        }
    }
}
