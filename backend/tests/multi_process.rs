//! Several shop processes on one PostgreSQL database, as behind a load balancer: two app
//! instances with their own pools, caches and schedulers share one database, and every money
//! rule must hold across them. PostgreSQL only: SQLite is one process's database.

mod common;
#[path = "support/fake_bot_api.rs"]
mod fake_bot_api;
#[path = "support/uz.rs"]
mod uz;

use std::time::{Duration, Instant};

use common::*;
use fake_bot_api::FakeBotApi;
use serde_json::json;

/// Two shops on one fresh PostgreSQL database (`None`: no server, outside CI).
async fn pair(env: &[(&str, &str)]) -> Option<(TestApp, TestApp)> {
    let a = spawn(Kind::Postgres, env).await?;
    let url = a.state.config.database_url.clone();
    let mut env_b = env.to_vec();
    env_b.push(("DATABASE_URL", url.as_str()));
    let b = spawn(Kind::Postgres, &env_b).await?;
    Some((a, b))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_last_units_are_sold_once_across_processes() {
    let Some((a, b)) = pair(&[]).await else {
        return;
    };
    let vid = a.variant_id("Teapot").await;
    a.set_stock(vid, Some(5)).await;
    let mut set = tokio::task::JoinSet::new();
    for i in 0..24i64 {
        let app = if i % 2 == 0 { &a } else { &b };
        set.spawn(app.cash_order_task(300 + i, vid));
    }
    let mut created = 0;
    while let Some(s) = set.join_next().await {
        match s.unwrap() {
            201 => created += 1,
            409 => {}
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(created, 5);
    assert_eq!(a.stock(vid).await, Some(0));
    assert_eq!(b.reserved(vid).await, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_idempotency_key_on_both_processes_is_one_order() {
    let Some((a, b)) = pair(&[]).await else {
        return;
    };
    let vid = a.variant_id("Teapot").await;
    let body = json!({"items": [{"variant_id": vid, "quantity": 1}],
                      "payment_method": "cash", "contact": contact()});
    let send = |app: &TestApp| {
        let (base, client, body) = (app.base.clone(), app.client.clone(), body.clone());
        async move {
            let r = client
                .post(format!("{base}/api/orders"))
                .header("Authorization", format!("tma {}", init_data(77)))
                .header("Idempotency-Key", "same-key-both-processes")
                .json(&body)
                .send()
                .await
                .unwrap();
            let s = r.status().as_u16();
            (s, r.json::<serde_json::Value>().await.unwrap())
        }
    };
    let ((sa, oa), (sb, ob)) = tokio::join!(send(&a), send(&b));
    let mut statuses = [sa, sb];
    statuses.sort();
    assert_eq!(statuses, [200, 201], "{oa} {ob}");
    assert_eq!(oa["id"], ob["id"]);
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM orders WHERE customer_id = 77")
        .fetch_one(&a.state.db.pool)
        .await
        .unwrap();
    assert_eq!(n, 1);
    assert_eq!(a.reserved(vid).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_notification_delivered_to_both_fulfils_and_tells_once() {
    let fake = FakeBotApi::start(BOT_TOKEN).await;
    let mut env = uz::ENV.to_vec();
    env.push(("TELEGRAM_API_URL", fake.url.as_str()));
    let Some((a, b)) = pair(&env).await else {
        return;
    };
    let (order_id, reference) = uz::placed(&a, 88, "click", 1).await;
    let amount = "150000.00";
    let p = uz::click(
        &a,
        "prepare",
        &uz::ClickReq::prepare(9001, &reference, amount),
    )
    .await;
    assert_eq!(uz::err(&p), 0, "{p}");
    let prep = p["merchant_prepare_id"].as_i64().unwrap();
    let complete = uz::ClickReq::complete(9001, &reference, prep, amount);
    // The load balancer hands Click's (retried) Complete to both processes at once.
    let (ra, rb) = tokio::join!(
        uz::click(&a, "complete", &complete),
        uz::click(&b, "complete", &complete)
    );
    // One completes it; the other says success too or Click's "already paid" (-4), as a
    // repeated Complete gets from a single process.
    let mut errs = [uz::err(&ra), uz::err(&rb)];
    errs.sort();
    assert!(errs == [0, 0] || errs == [-4, 0], "{ra} {rb}");
    assert_eq!(uz::paid_counts(&a, order_id).await, (1, 1));
    // The customer hears about it once: wait for the message, then a while for a second.
    let paid_messages = || {
        fake.calls("sendMessage")
            .into_iter()
            .filter(|m| m["chat_id"] == 88)
            .count()
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while paid_messages() == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(paid_messages(), 1, "{:?}", fake.calls("sendMessage"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn both_schedulers_expire_each_order_once() {
    let Some((a, b)) = pair(uz::ENV).await else {
        return;
    };
    let vid = a.variant_id("Teapot").await;
    a.set_stock(vid, Some(100)).await;
    let mut ids = Vec::new();
    for user in 400..408 {
        ids.push(uz::placed(&a, user, "click", 2).await.0);
    }
    assert_eq!(a.reserved(vid).await, 16);
    sqlx::query("UPDATE orders SET expires_at = 1 WHERE status = 'pending_payment'")
        .execute(&a.state.db.pool)
        .await
        .unwrap();
    // Both processes' expiry jobs run at the same moment (their own timers may run too).
    let (na, nb) = tokio::join!(
        shop::orders::lifecycle::expire_due(&a.state),
        shop::orders::lifecycle::expire_due(&b.state)
    );
    assert!(na.unwrap() + nb.unwrap() <= ids.len());
    for id in &ids {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM order_events WHERE order_id = $1 AND kind = 'expired'",
        )
        .bind(id)
        .fetch_one(&a.state.db.pool)
        .await
        .unwrap();
        assert_eq!(n, 1, "order {id} expired {n} times");
    }
    assert_eq!(a.reserved(vid).await, 0, "stock released once per order");
    assert_eq!(a.stock(vid).await, Some(100));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_change_through_one_process_is_served_by_the_other_within_two_seconds() {
    let Some((a, b)) = pair(&[]).await else {
        return;
    };
    let teapot = b.variant("Teapot").await;
    let (vid, pid) = (
        teapot["id"].as_i64().unwrap(),
        a.product("Teapot").await["id"].as_i64().unwrap(),
    );
    // b has the product page cached.
    let (s, before) = b.json(b.get(&format!("/api/products/{pid}"))).await;
    assert_eq!(s, 200);
    let csrf = a.admin_login().await;
    let (s, v) = a
        .json(
            a.admin(
                reqwest::Method::PATCH,
                &format!("/api/admin/variants/{vid}"),
                &csrf,
            )
            .json(&json!({"price": {"amount_minor": 1_234_500, "currency": "UZS"}})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let changed = Instant::now();
    loop {
        let (_, now) = b.json(b.get(&format!("/api/products/{pid}"))).await;
        if now["variants"][0]["price"]["amount_minor"] == 1_234_500 {
            break;
        }
        assert_ne!(now, json!(null));
        assert!(
            changed.elapsed() < Duration::from_secs(2),
            "b still serves {} two seconds after the change (was {})",
            now["variants"][0]["price"],
            before["variants"][0]["price"]
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn processes_starting_at_once_on_a_new_database_all_come_up() {
    let Some(url) = fresh_postgres().await else {
        return;
    };
    // The demo seed writes its pictures: into a folder of the test's, not the working tree.
    let media = tempfile::tempdir().unwrap();
    let mut starts = tokio::task::JoinSet::new();
    for _ in 0..3 {
        let url = url.clone();
        let media_dir = media.path().to_string_lossy().into_owned();
        starts.spawn(async move {
            let vars: std::collections::HashMap<&str, String> = [
                ("DATABASE_URL", url),
                ("MEDIA_DIR", media_dir),
                ("TELEGRAM_BOT_TOKEN", BOT_TOKEN.to_string()),
                ("SEED_DEMO", "1".to_string()),
                ("ADMIN_EMAIL", "owner@shop.test".to_string()),
                ("ADMIN_PASSWORD", "correct horse battery".to_string()),
            ]
            .into_iter()
            .collect();
            let config = shop::config::Config::from_lookup(|k| vars.get(k).cloned()).unwrap();
            shop::startup::build_state(config).await.map(|_| ())
        });
    }
    while let Some(r) = starts.join_next().await {
        r.unwrap().expect("every process starts");
    }
    let db = shop::db::Db::connect(&url).await.unwrap();
    let admins: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM admins")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(admins, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_round_of_scheduled_work_is_claimed_by_one_process() {
    let Some((a, b)) = pair(&[]).await else {
        return;
    };
    let held = a.state.db.try_exclusive(4242).await.unwrap();
    assert!(held.is_some());
    // The other process (its own pool and connections) cannot claim the same round...
    assert!(b.state.db.try_exclusive(4242).await.unwrap().is_none());
    // ...until the holder is done.
    drop(held);
    let mut claimed = None;
    for _ in 0..50 {
        claimed = b.state.db.try_exclusive(4242).await.unwrap();
        if claimed.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(claimed.is_some(), "released on drop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn both_processes_remind_each_left_cart_once() {
    use shop::telegram::reminders::{record_user, remind_due};
    let fake = FakeBotApi::start(BOT_TOKEN).await;
    let Some((a, b)) = pair(&[
        ("TELEGRAM_API_URL", fake.url.as_str()),
        ("CART_REMINDER_HOURS", "1"),
    ])
    .await
    else {
        return;
    };
    let vid = a.variant_id("Teapot").await;
    let users: Vec<i64> = (500..510).collect();
    for (i, user) in users.iter().enumerate() {
        record_user(&a.state.db, *user, Some("en"), true)
            .await
            .unwrap();
        let app = if i % 2 == 0 { &a } else { &b };
        let (s, v) = app
            .json(
                app.as_user(reqwest::Method::PUT, "/api/cart", *user)
                    .json(&json!({"items": [{"variant_id": vid, "quantity": 1}]})),
            )
            .await;
        assert_eq!(s, 200, "{v}");
    }
    let bot = |app: &TestApp| {
        shop::telegram::Bot::from_config(&app.state.config, &app.state.http).unwrap()
    };
    let (sa, sb) = (
        shop::startup::bot_state(&a.state),
        shop::startup::bot_state(&b.state),
    );
    let (bot_a, bot_b) = (bot(&a), bot(&b));
    let later = now() + 2 * 3600;
    // Both processes' jobs at the same moment.
    let (na, nb) = tokio::join!(
        remind_due(&sa, &bot_a, later),
        remind_due(&sb, &bot_b, later)
    );
    assert_eq!(na.unwrap() + nb.unwrap(), users.len());
    for user in &users {
        fake.wait_for("sendMessage", |m| m["chat_id"] == *user)
            .await;
    }
    for _ in 0..200 {
        if users
            .iter()
            .all(|u| bot_a.waiting(*u) == 0 && bot_b.waiting(*u) == 0)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for user in &users {
        let n = fake
            .calls("sendMessage")
            .iter()
            .filter(|m| m["chat_id"] == *user)
            .count();
        assert_eq!(n, 1, "user {user} got {n} reminders");
    }
}
