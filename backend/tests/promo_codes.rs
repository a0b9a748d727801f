//! Promo codes on both databases: the admin creates, lists, pauses and resumes them; an order
//! placed with one is discounted on the server, holds one use (given back when it ends
//! unpaid), and every rail charges the discounted total.

mod common;
#[path = "support/fake_bot_api.rs"]
mod fake_bot_api;
#[path = "support/fake_paypal.rs"]
mod fake_paypal;
#[path = "support/fake_stripe.rs"]
mod fake_stripe;
#[path = "support/tg.rs"]
mod tg;
#[path = "support/uz.rs"]
mod uz;

use common::*;
use reqwest::Method;
use serde_json::{json, Value};
use shop::orders::lifecycle::expire_due;

const TEAPOT: i64 = 15_000_000;

/// Creates a code as the signed-in admin; asserts 201 and answers it.
async fn create(app: &TestApp, csrf: &str, body: Value) -> Value {
    let (s, v) = app
        .json(
            app.admin(Method::POST, "/api/admin/promo-codes", csrf)
                .json(&body),
        )
        .await;
    assert_eq!(s, 201, "{body} -> {v}");
    v
}

/// A one-line order of `qty` teapots on `method` with `promo`.
async fn teapot_order(
    app: &TestApp,
    user: i64,
    qty: i64,
    method: &str,
    promo: &str,
) -> (u16, Value) {
    let vid = app.variant_id("Teapot").await;
    app.order(
        user,
        json!({"items": [{"variant_id": vid, "quantity": qty}], "payment_method": method,
               "contact": contact(), "promo_code": promo}),
    )
    .await
}

async fn scalar(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(sql)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap()
}

async fn uses(app: &TestApp, code: &str) -> i64 {
    sqlx::query_scalar::<_, i64>("SELECT uses FROM promo_codes WHERE code = $1")
        .bind(code)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap()
}

async fn orders(app: &TestApp) -> i64 {
    scalar(app, "SELECT COUNT(*) FROM orders").await
}

fn assert_invalid(s: u16, v: &Value) {
    assert_eq!((s, error_code(v)), (422, "promo_code_invalid"), "{v}");
    assert_eq!(v["error"]["field"], "promo_code", "{v}");
}

fn rfc3339(at: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(at)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

both!(
    admin_creates_lists_pauses_and_resumes,
    |app: TestApp| async move {
        let csrf = app.admin_login().await;
        let made = create(
        &app,
        &csrf,
        json!({"code": "spring-10", "percent_off": 10, "min_total": {"amount_minor": 1_000_000, "currency": "UZS"},
               "max_uses": 100, "max_uses_per_customer": 2, "starts_at": "2026-01-01T00:00:00Z",
               "ends_at": "2099-01-01T00:00:00+05:00"}),
    )
    .await;
        assert_eq!(made["code"], "SPRING-10", "stored upper-case");
        assert_eq!(made["percent_off"], 10);
        assert_eq!(made["min_total"]["amount_minor"], 1_000_000);
        assert_eq!(
            (made["uses"].as_i64(), made["max_uses"].as_i64()),
            (Some(0), Some(100))
        );
        assert_eq!(made["status"], "active");
        assert_eq!(made["starts_at"], "2026-01-01T00:00:00Z");
        assert_eq!(made["ends_at"], "2098-12-31T19:00:00Z");
        let fixed = create(
        &app,
        &csrf,
        json!({"code": "MINUS5000", "amount_off": {"amount_minor": 500_000, "currency": "UZS"}}),
    )
    .await;
        assert_eq!(fixed["amount_off"]["currency"], "UZS");

        // Each mistake is a 400 naming its field.
        for (body, field) in [
            (
                json!({"code": "BOTH1", "percent_off": 5, "amount_off": {"amount_minor": 1, "currency": "UZS"}}),
                "percent_off",
            ),
            (json!({"code": "NONE1"}), "percent_off"),
            (json!({"code": "ZERO1", "percent_off": 0}), "percent_off"),
            (json!({"code": "MANY1", "percent_off": 101}), "percent_off"),
            (
                json!({"code": "NEG01", "amount_off": {"amount_minor": -5, "currency": "UZS"}}),
                "amount_off",
            ),
            (json!({"code": "has space", "percent_off": 5}), "code"),
            (json!({"code": "ab", "percent_off": 5}), "code"),
            (json!({"code": "A".repeat(33), "percent_off": 5}), "code"),
            (
                json!({"code": "WIN01", "percent_off": 5, "starts_at": "2027-01-02T00:00:00Z", "ends_at": "2027-01-01T00:00:00Z"}),
                "ends_at",
            ),
            (
                json!({"code": "WIN02", "percent_off": 5, "starts_at": "tomorrow"}),
                "starts_at",
            ),
            (
                json!({"code": "LIM01", "percent_off": 5, "max_uses": 0}),
                "max_uses",
            ),
            (
                json!({"code": "LIM02", "percent_off": 5, "max_uses_per_customer": -1}),
                "max_uses_per_customer",
            ),
            (
                json!({"code": "CUR01", "amount_off": {"amount_minor": 100, "currency": "UZS"}, "min_total": {"amount_minor": 100, "currency": "USD"}}),
                "min_total",
            ),
        ] {
            let (s, v) = app
                .json(
                    app.admin(Method::POST, "/api/admin/promo-codes", &csrf)
                        .json(&body),
                )
                .await;
            assert_eq!(s, 400, "{body} -> {v}");
            assert_eq!(v["error"]["field"], field, "{body} -> {v}");
            assert!(!v["error"]["message"].as_str().unwrap_or("").is_empty());
        }
        // The same letters in another case are the same code.
        let (s, v) = app
            .json(
                app.admin(Method::POST, "/api/admin/promo-codes", &csrf)
                    .json(&json!({"code": "Spring-10", "percent_off": 20})),
            )
            .await;
        assert_eq!((s, error_code(&v)), (409, "code_taken"), "{v}");
        // Without the CSRF token: refused.
        let (s, v) = app
            .json(
                app.client
                    .post(app.url("/api/admin/promo-codes"))
                    .json(&json!({"code": "NOCSRF", "percent_off": 5})),
            )
            .await;
        assert_eq!((s, error_code(&v)), (403, "csrf_failed"), "{v}");
        // Without a session: 401.
        let (s, _) = app
            .json(reqwest::Client::new().get(app.url("/api/admin/promo-codes")))
            .await;
        assert_eq!(s, 401);

        let (s, list) = app.json(app.get("/api/admin/promo-codes")).await;
        assert_eq!(s, 200, "{list}");
        let codes: Vec<&str> = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["code"].as_str().unwrap())
            .collect();
        assert_eq!(codes, ["MINUS5000", "SPRING-10"], "newest first");
        assert!(list["next_cursor"].is_null());
        let (s, page) = app.json(app.get("/api/admin/promo-codes?limit=1")).await;
        assert_eq!(s, 200);
        let cursor = page["next_cursor"].as_str().expect("a second page");
        let (_, rest) = app
            .json(app.get(&format!("/api/admin/promo-codes?limit=1&cursor={cursor}")))
            .await;
        assert_eq!(rest["items"][0]["code"], "SPRING-10");

        // Pause: orders cannot use it; resume: they can again.
        let id = made["id"].as_i64().unwrap();
        let (s, v) = app
            .json(app.admin(
                Method::POST,
                &format!("/api/admin/promo-codes/{id}/pause"),
                &csrf,
            ))
            .await;
        assert_eq!(
            (s, v["status"].as_str(), v["paused"].as_bool()),
            (200, Some("paused"), Some(true)),
            "{v}"
        );
        let (s, v) = teapot_order(&app, 70, 1, "cash", "spring-10").await;
        assert_invalid(s, &v);
        let (s, v) = app
            .json(app.admin(
                Method::POST,
                &format!("/api/admin/promo-codes/{id}/resume"),
                &csrf,
            ))
            .await;
        assert_eq!((s, v["status"].as_str()), (200, Some("active")), "{v}");
        let (s, v) = teapot_order(&app, 70, 1, "cash", "spring-10").await;
        assert_eq!(s, 201, "{v}");
        let (s, _) = app
            .json(app.admin(Method::POST, "/api/admin/promo-codes/99999/pause", &csrf))
            .await;
        assert_eq!(s, 404);
        let actions = scalar(
            &app,
            "SELECT COUNT(*) FROM audit_log WHERE entity = 'promo_code'",
        )
        .await;
        assert_eq!(
            actions, 4,
            "two creations, a pause and a resume are audited"
        );
    }
);

both!(
    percent_and_fixed_codes_discount_the_order,
    |app: TestApp| async move {
        let csrf = app.admin_login().await;
        create(&app, &csrf, json!({"code": "TENOFF", "percent_off": 10})).await;
        create(
            &app,
            &csrf,
            json!({"code": "FIXED", "amount_off": {"amount_minor": 2_500_000, "currency": "UZS"}}),
        )
        .await;
        // Codes are typed in any case and with spaces around.
        let (s, o) = teapot_order(&app, 71, 3, "cash", "  tenoff ").await;
        assert_eq!(s, 201, "{o}");
        assert_eq!(
            o["discount"],
            json!({"amount_minor": 4_500_000, "currency": "UZS"})
        );
        assert_eq!(o["total"]["amount_minor"], 3 * TEAPOT - 4_500_000);
        assert_eq!(o["promo_code"], "TENOFF");
        let id = o["id"].as_i64().unwrap();
        let (s, again) = app
            .json(app.as_user(Method::GET, &format!("/api/orders/{id}"), 71))
            .await;
        assert_eq!(s, 200);
        assert_eq!(again["discount"], o["discount"]);
        assert_eq!(again["total"], o["total"]);
        let (_, list) = app.json(app.as_user(Method::GET, "/api/orders", 71)).await;
        assert_eq!(list["items"][0]["discount"], o["discount"]);
        // The admin's order shows it too.
        let (_, admin_view) = app.json(app.get(&format!("/api/admin/orders/{id}"))).await;
        assert_eq!(admin_view["discount"], o["discount"], "{admin_view}");

        let (s, o) = teapot_order(&app, 72, 1, "cash", "FIXED").await;
        assert_eq!(s, 201, "{o}");
        assert_eq!(o["discount"]["amount_minor"], 2_500_000);
        assert_eq!(o["total"]["amount_minor"], TEAPOT - 2_500_000);
        // An order without a code has no discount field at all.
        let (s, o) = app
            .order(
                73,
                json!({"items": [{"variant_id": app.variant_id("Teapot").await, "quantity": 1}],
                   "payment_method": "cash", "contact": contact()}),
            )
            .await;
        assert_eq!(s, 201);
        assert!(o.get("discount").is_none(), "{o}");
        assert_eq!(o["total"]["amount_minor"], TEAPOT);
        assert_eq!(uses(&app, "TENOFF").await, 1);
        assert_eq!(uses(&app, "FIXED").await, 1);

        // From the cart (the general write path), too.
        let vid = app.variant_id("Teapot").await;
        let (s, v) = app
            .json(
                app.as_user(Method::PUT, "/api/cart", 74)
                    .json(&json!({"items": [{"variant_id": vid, "quantity": 2}]})),
            )
            .await;
        assert_eq!(s, 200, "{v}");
        let (s, o) = app
            .order(
                74,
                json!({"payment_method": "cash", "contact": contact(), "promo_code": "TenOff"}),
            )
            .await;
        assert_eq!(s, 201, "{o}");
        assert_eq!(o["total"]["amount_minor"], 2 * TEAPOT - 3_000_000);
        assert_eq!(uses(&app, "TENOFF").await, 2);

        // Revenue counts paid orders only: deliver the first (cash is paid on delivery).
        for action in ["ship", "deliver"] {
            let (s, v) = app
                .json(app.admin(
                    Method::POST,
                    &format!("/api/admin/orders/{id}/{action}"),
                    &csrf,
                ))
                .await;
            assert_eq!(s, 200, "{action}: {v}");
        }
        let (_, list) = app.json(app.get("/api/admin/promo-codes")).await;
        let ten = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["code"] == "TENOFF")
            .unwrap()
            .clone();
        assert_eq!(ten["uses"], 2);
        assert_eq!(ten["paid_orders"], 1);
        assert_eq!(
            ten["revenue"],
            json!([{"amount_minor": 3 * TEAPOT - 4_500_000, "currency": "UZS"}])
        );
    }
);

both!(
    invalid_codes_place_no_order_and_count_no_use,
    |app: TestApp| async move {
        let csrf = app.admin_login().await;
        let now = now();
        create(
            &app,
            &csrf,
            json!({"code": "OLD", "percent_off": 10, "ends_at": rfc3339(now - 10)}),
        )
        .await;
        create(
            &app,
            &csrf,
            json!({"code": "LATER", "percent_off": 10, "starts_at": rfc3339(now + 3600)}),
        )
        .await;
        let paused = create(&app, &csrf, json!({"code": "PAUSED", "percent_off": 10})).await;
        let (s, _) = app
            .json(app.admin(
                Method::POST,
                &format!("/api/admin/promo-codes/{}/pause", paused["id"]),
                &csrf,
            ))
            .await;
        assert_eq!(s, 200);
        create(
            &app,
            &csrf,
            json!({"code": "ONCE", "percent_off": 10, "max_uses": 1}),
        )
        .await;
        create(
        &app,
        &csrf,
        json!({"code": "BIGBUY", "percent_off": 10, "min_total": {"amount_minor": 2 * TEAPOT, "currency": "UZS"}}),
    )
    .await;
        create(
            &app,
            &csrf,
            json!({"code": "DOLLARS", "amount_off": {"amount_minor": 500, "currency": "USD"}}),
        )
        .await;
        create(
        &app,
        &csrf,
        json!({"code": "USDMIN", "percent_off": 5, "min_total": {"amount_minor": 1, "currency": "USD"}}),
    )
    .await;
        create(&app, &csrf, json!({"code": "STARS", "percent_off": 50})).await;
        // The one use of ONCE goes to another customer.
        let (s, v) = teapot_order(&app, 80, 1, "cash", "ONCE").await;
        assert_eq!(s, 201, "{v}");

        let vid = app.variant_id("Teapot").await;
        let stock = app.stock(vid).await;
        let before = orders(&app).await;
        for code in [
            "NOPE", "OLD", "LATER", "PAUSED", "ONCE", "BIGBUY", "DOLLARS", "USDMIN", "a b", "x",
        ] {
            let (s, v) = teapot_order(&app, 81, 1, "cash", code).await;
            assert_invalid(s, &v);
            eprintln!("{code}: {}", v["error"]["message"]);
        }
        // A subscription (Stars, renewed at its price) takes no code.
        let club = app.variant_id("club").await;
        let (s, v) = app
        .order(81, json!({"items": [{"variant_id": club, "quantity": 1}], "payment_method": "stars", "promo_code": "STARS"}))
        .await;
        assert_invalid(s, &v);
        assert_eq!(orders(&app).await, before, "no order was placed");
        assert_eq!(app.stock(vid).await, stock, "no stock was taken");
        let held = scalar(&app, "SELECT CAST(SUM(uses) AS BIGINT) FROM promo_codes").await;
        assert_eq!(held, 1, "only ONCE's first use is held");
        assert_eq!(scalar(&app, "SELECT COUNT(*) FROM promo_uses").await, 1);
        // A code that is fine for the order still works after all that.
        let (s, v) = teapot_order(&app, 81, 2, "cash", "BIGBUY").await;
        assert_eq!(s, 201, "{v}");
    }
);

both!(
    an_idempotent_retry_is_the_same_use,
    |app: TestApp| async move {
        let csrf = app.admin_login().await;
        create(
            &app,
            &csrf,
            json!({"code": "MINE", "percent_off": 5, "max_uses_per_customer": 1}),
        )
        .await;
        let vid = app.variant_id("Teapot").await;
        let body = json!({"items": [{"variant_id": vid, "quantity": 1}], "payment_method": "cash",
                      "contact": contact(), "promo_code": "MINE"});
        let send = || {
            app.json(
                app.as_user(Method::POST, "/api/orders", 90)
                    .header("Idempotency-Key", "promo-key-1")
                    .json(&body),
            )
        };
        let (s1, first) = send().await;
        let (s2, second) = send().await;
        assert_eq!((s1, s2), (201, 200), "{first} {second}");
        assert_eq!(first["id"], second["id"]);
        assert_eq!(second["discount"], first["discount"]);
        assert_eq!(uses(&app, "MINE").await, 1);
        // The same key with another code is another request.
        let mut other = body.clone();
        other["promo_code"] = json!("OTHER");
        let (s, v) = app
            .json(
                app.as_user(Method::POST, "/api/orders", 90)
                    .header("Idempotency-Key", "promo-key-1")
                    .json(&other),
            )
            .await;
        assert_eq!((s, error_code(&v)), (409, "idempotency_key_reused"));
        // A new order of the same customer: over the per-customer limit.
        let (s, v) = teapot_order(&app, 90, 1, "cash", "mine").await;
        assert_invalid(s, &v);
        // Another customer is not.
        let (s, v) = teapot_order(&app, 91, 1, "cash", "mine").await;
        assert_eq!(s, 201, "{v}");
        assert_eq!(uses(&app, "MINE").await, 2);
    }
);

/// Places `n` one-teapot cash orders with `code` at once, each as `user(i)`; answers the
/// statuses.
async fn race(app: &TestApp, n: i64, code: &str, user: impl Fn(i64) -> i64) -> Vec<u16> {
    let vid = app.variant_id("Teapot").await;
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let (base, client) = (app.base.clone(), app.client.clone());
            let body = json!({"items": [{"variant_id": vid, "quantity": 1}], "payment_method": "cash",
                              "contact": contact(), "promo_code": code});
            let u = user(i);
            tokio::spawn(async move {
                client
                    .post(format!("{base}/api/orders"))
                    .header("Authorization", format!("tma {}", init_data(u)))
                    .json(&body)
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
                    .unwrap_or(0)
            })
        })
        .collect();
    let mut out = vec![];
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out.sort();
    out
}

both!(
    the_last_use_goes_to_exactly_one_order,
    |app: TestApp| async move {
        let csrf = app.admin_login().await;
        create(
            &app,
            &csrf,
            json!({"code": "LAST", "percent_off": 10, "max_uses": 2}),
        )
        .await;
        let (s, _) = teapot_order(&app, 100, 1, "cash", "LAST").await;
        assert_eq!(s, 201);
        // One use left, eight customers at once.
        let statuses = race(&app, 8, "LAST", |i| 200 + i).await;
        assert_eq!(statuses, [201, 422, 422, 422, 422, 422, 422, 422]);
        assert_eq!(uses(&app, "LAST").await, 2);
        assert_eq!(
            scalar(
                &app,
                "SELECT COUNT(*) FROM orders WHERE promo_code_id IS NOT NULL"
            )
            .await,
            2
        );
        assert_eq!(orders(&app).await, 2, "the refused placed nothing");

        // One customer, several orders at once, one use each.
        create(
            &app,
            &csrf,
            json!({"code": "ONEEACH", "percent_off": 10, "max_uses_per_customer": 1}),
        )
        .await;
        let statuses = race(&app, 6, "ONEEACH", |_| 300).await;
        assert_eq!(statuses, [201, 422, 422, 422, 422, 422]);
        assert_eq!(uses(&app, "ONEEACH").await, 1);
    }
);

both!(
    an_order_ended_unpaid_gives_its_use_back,
    |app: TestApp| async move {
        let csrf = app.admin_login().await;
        create(
            &app,
            &csrf,
            json!({"code": "SOLO", "percent_off": 10, "max_uses": 1, "max_uses_per_customer": 1}),
        )
        .await;
        let (s, first) = teapot_order(&app, 110, 1, "cash", "SOLO").await;
        assert_eq!(s, 201, "{first}");
        let (s, v) = teapot_order(&app, 111, 1, "cash", "SOLO").await;
        assert_invalid(s, &v);

        // The merchant cancels the first: its use comes back, once.
        let id = first["id"].as_i64().unwrap();
        let (s, v) = app
            .json(app.admin(
                Method::POST,
                &format!("/api/admin/orders/{id}/cancel"),
                &csrf,
            ))
            .await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(uses(&app, "SOLO").await, 0);
        let (s, _) = app
            .json(app.admin(
                Method::POST,
                &format!("/api/admin/orders/{id}/cancel"),
                &csrf,
            ))
            .await;
        assert_ne!(s, 200, "a second cancel changes nothing");
        assert_eq!(uses(&app, "SOLO").await, 0);
        // The same customer may use it again, and the cancelled order keeps its discount.
        let (s, second) = teapot_order(&app, 110, 1, "cash", "SOLO").await;
        assert_eq!(s, 201, "{second}");
        let (_, old) = app
            .json(app.as_user(Method::GET, &format!("/api/orders/{id}"), 110))
            .await;
        assert_eq!(old["status"], "cancelled");
        assert_eq!(old["discount"]["amount_minor"], TEAPOT / 10);

        // Expiry gives it back too.
        let second_id = second["id"].as_i64().unwrap();
        sqlx::query("UPDATE orders SET expires_at = $1 WHERE id = $2")
            .bind(now() - 60)
            .bind(second_id)
            .execute(&app.state.db.pool)
            .await
            .unwrap();
        assert_eq!(expire_due(&app.state).await.unwrap(), 1);
        assert_eq!(uses(&app, "SOLO").await, 0);
        assert_eq!(expire_due(&app.state).await.unwrap(), 0);
        assert_eq!(uses(&app, "SOLO").await, 0);
        let (s, v) = teapot_order(&app, 111, 1, "cash", "SOLO").await;
        assert_eq!(s, 201, "{v}");
        assert_eq!(uses(&app, "SOLO").await, 1);
    }
);

// ------------------------------------------------------------------------ every rail charges total

both_kinds!(
    stars_invoice_charges_the_discounted_total,
    |kind| async move {
        let Some(t) = tg::Tg::start(kind, tg::Mode::Webhook, &[]).await else {
            return;
        };
        let app = &t.app;
        let csrf = app.admin_login().await;
        create(app, &csrf, json!({"code": "HALF", "percent_off": 50})).await;
        let plov = app.variant_id("Plov recipe").await;
        let (s, o) = app
        .order(120, json!({"items": [{"variant_id": plov, "quantity": 1}], "payment_method": "stars", "promo_code": "half"}))
        .await;
        assert_eq!(s, 201, "{o}");
        assert_eq!(o["total"]["amount_minor"], 25);
        let inv = t.invoice_of(&o).await;
        assert_eq!(
            inv["prices"],
            json!([{"label": inv["prices"][0]["label"], "amount": 25}])
        );
        // Paying the discounted total pays the order.
        let id = o["id"].as_i64().unwrap();
        t.deliver(t.pre_checkout("q-half", 120, &inv, 25)).await;
        assert_eq!(t.answer("q-half").await["ok"], true);
        t.deliver(t.payment(120, &inv, 25, "charge-half", json!({})))
            .await;
        t.wait_status(id, "paid").await;
    }
);

both_kinds!(
    telegram_invoice_lists_the_discount_as_a_price,
    |kind| async move {
        let Some(t) = tg::Tg::start(
            kind,
            tg::Mode::Webhook,
            &[("TELEGRAM_PROVIDER_TOKEN", "398062629:TEST:prov")],
        )
        .await
        else {
            return;
        };
        let app = &t.app;
        let csrf = app.admin_login().await;
        create(
            app,
            &csrf,
            json!({"code": "SUM5000", "amount_off": {"amount_minor": 500_000, "currency": "UZS"}}),
        )
        .await;
        let (s, o) = teapot_order(app, 121, 2, "telegram", "sum5000").await;
        assert_eq!(s, 201, "{o}");
        let inv = t.invoice_of(&o).await;
        let prices = inv["prices"].as_array().unwrap();
        assert_eq!(prices.len(), 2, "{inv}");
        assert_eq!(prices[0]["amount"], 2 * TEAPOT);
        assert_eq!(prices[1]["amount"], -500_000);
        assert_eq!(prices[1]["label"], "Discount");
        let sum: i64 = prices.iter().map(|p| p["amount"].as_i64().unwrap()).sum();
        assert_eq!(sum, o["total"]["amount_minor"].as_i64().unwrap());
        assert_eq!(sum, 2 * TEAPOT - 500_000);
    }
);

/// A USD product through the admin; answers its variant id.
async fn usd_product(app: &TestApp, csrf: &str, price_minor: i64) -> i64 {
    let (s, v) = app
        .json(app.admin(Method::POST, "/api/admin/products", csrf).json(&json!({
            "kind": "physical",
            "title": {"en": "Travel mug"},
            "variants": [{"sku": format!("MUG-{}", rand::random::<u32>()), "options": {},
                          "price": {"amount_minor": price_minor, "currency": "USD"}, "stock": 5}]
        })))
        .await;
    assert_eq!(s, 201, "{v}");
    v["variants"][0]["id"].as_i64().unwrap()
}

both_kinds!(
    stripe_charges_the_total_and_refunds_what_was_paid,
    |kind| async move {
        let fake = fake_stripe::FakeStripe::start().await;
        let Some(app) = spawn_with_fake(kind, &fake.env(), &[]).await else {
            return;
        };
        let csrf = app.admin_login().await;
        create(&app, &csrf, json!({"code": "CARD15", "percent_off": 15})).await;
        let mug = usd_product(&app, &csrf, 1999).await;
        let (s, o) = app
            .order(
                122,
                json!({"items": [{"variant_id": mug, "quantity": 2}], "payment_method": "stripe",
                           "contact": contact(), "promo_code": "CARD15"}),
            )
            .await;
        assert_eq!(s, 201, "{o}");
        // 15 % of 39.98 is 5.997: 5.99 off (rounded down), 33.99 to pay.
        assert_eq!(o["discount"]["amount_minor"], 599);
        assert_eq!(o["total"]["amount_minor"], 3399);
        let id = o["id"].as_i64().unwrap();
        let session = fake.session_for(id);
        assert_eq!(session.amount_total, 3399);
        assert_eq!(
            session.form["line_items[0][price_data][unit_amount]"],
            "3399"
        );
        assert_eq!(session.form["line_items[0][quantity]"], "1");
        assert!(!session.form.contains_key("line_items[1][quantity]"));

        // Paid, then refunded in full: what was paid comes back, not the undiscounted sum.
        let ev = fake.complete(id, true);
        let body = serde_json::to_string_pretty(&ev).unwrap();
        let r = app
            .raw(
                app.client
                    .post(app.url("/webhooks/stripe"))
                    .header(
                        "Stripe-Signature",
                        fake_stripe::sign(fake_stripe::WEBHOOK_SECRET, now(), &body),
                    )
                    .header("Content-Type", "application/json")
                    .body(body),
            )
            .await;
        assert_eq!(r.status, 200);
        let (pi, paid): (String, i64) = sqlx::query_as(
            "SELECT provider_payment_id, amount_minor FROM payments WHERE order_id = $1",
        )
        .bind(id)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
        assert_eq!(paid, 3399);
        let (s, v) = app.admin_refund(&csrf, id, json!({})).await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["status"], "refunded");
        assert_eq!(fake.refunded(&pi), 3399);
        // A paid order keeps its use: a refund does not give it back.
        assert_eq!(uses(&app, "CARD15").await, 1);
    }
);

both_kinds!(paypal_breaks_the_amount_down, |kind| async move {
    let fake = fake_paypal::FakePaypal::start().await;
    let Some(app) = spawn_with_fake(kind, &fake.env(), &[]).await else {
        return;
    };
    let csrf = app.admin_login().await;
    create(
        &app,
        &csrf,
        json!({"code": "PP3", "amount_off": {"amount_minor": 300, "currency": "USD"}}),
    )
    .await;
    let mug = usd_product(&app, &csrf, 1250).await;
    let (s, o) = app
        .order(
            123,
            json!({"items": [{"variant_id": mug, "quantity": 2}], "payment_method": "paypal",
                           "contact": contact(), "promo_code": "pp3"}),
        )
        .await;
    assert_eq!(s, 201, "{o}");
    let amount = &fake.order_for(o["id"].as_i64().unwrap()).body["purchase_units"][0]["amount"];
    assert_eq!(
        *amount,
        json!({"currency_code": "USD", "value": "22.00", "breakdown": {
            "item_total": {"currency_code": "USD", "value": "25.00"},
            "discount": {"currency_code": "USD", "value": "3.00"}}})
    );
});

both_with!(
    payme_receipt_lines_carry_the_discount,
    uz::ENV,
    |app: TestApp| async move {
        let csrf = app.admin_login().await;
        let teapot = app.product("Teapot").await["id"].as_i64().unwrap();
        let bowl = app.product("Rishtan bowl").await;
        for pid in [teapot, bowl["id"].as_i64().unwrap()] {
            let (s, v) = app
            .json(
                app.admin(Method::PATCH, &format!("/api/admin/products/{pid}"), &csrf)
                    .json(&json!({"ikpu_code": "07323001001000000", "package_code": "1501111", "vat_percent": 12})),
            )
            .await;
            assert_eq!(s, 200, "{v}");
        }
        create(&app, &csrf, json!({"code": "PAYME7", "percent_off": 7})).await;
        let (s, o) = app
            .order(
                124,
                json!({"items": [{"variant_id": app.variant_id("Teapot").await, "quantity": 1},
                             {"variant_id": bowl["variants"][0]["id"], "quantity": 3}],
                   "payment_method": "payme", "contact": contact(), "promo_code": "PAYME7"}),
            )
            .await;
        assert_eq!(s, 201, "{o}");
        let subtotal = TEAPOT + 3 * 8_500_000;
        let total = o["total"]["amount_minor"].as_i64().unwrap();
        assert_eq!(total, subtotal - subtotal * 7 / 100);
        // Payme is asked for the discounted amount, in the checkout link and its own check.
        let v = uz::payme(
            &app,
            "CheckPerformTransaction",
            json!({"amount": subtotal, "account": uz::account(&uz::pay_ref(&o))}),
        )
        .await;
        assert!(
            v["error"].is_object(),
            "the undiscounted amount is refused: {v}"
        );
        let v = uz::payme(
            &app,
            "CheckPerformTransaction",
            json!({"amount": total, "account": uz::account(&uz::pay_ref(&o))}),
        )
        .await;
        let items = v["result"]["detail"]["items"]
            .as_array()
            .expect("receipt items")
            .clone();
        let net: i64 = items
            .iter()
            .map(|i| {
                i["price"].as_i64().unwrap() * i["count"].as_i64().unwrap()
                    - i["discount"].as_i64().unwrap_or(0)
            })
            .sum();
        assert_eq!(
            net, total,
            "receipt lines less their discounts add up to the amount: {items:?}"
        );
        let discounts: i64 = items
            .iter()
            .map(|i| i["discount"].as_i64().unwrap_or(0))
            .sum();
        assert_eq!(discounts, o["discount"]["amount_minor"].as_i64().unwrap());
        assert!(
            items.iter().all(|i| i["discount"].as_i64().unwrap() > 0),
            "shared over both lines"
        );
    }
);

both_with!(
    click_is_asked_for_the_discounted_amount,
    uz::ENV,
    |app: TestApp| async move {
        let csrf = app.admin_login().await;
        create(
            &app,
            &csrf,
            json!({"code": "CLICK1", "amount_off": {"amount_minor": 1_000_000, "currency": "UZS"}}),
        )
        .await;
        let (s, o) = teapot_order(&app, 125, 2, "click", "click1").await;
        assert_eq!(s, 201, "{o}");
        assert_eq!(o["total"]["amount_minor"], 2 * TEAPOT - 1_000_000);
        let url = reqwest::Url::parse(o["checkout_url"].as_str().unwrap()).unwrap();
        let amount = url
            .query_pairs()
            .find(|(k, _)| k == "amount")
            .map(|(_, v)| v.into_owned())
            .expect("amount in the Click link");
        assert_eq!(amount, "290000.00");
        let reference = uz::pay_ref(&o);
        let full = uz::click(
            &app,
            "prepare",
            &uz::ClickReq::prepare(7_000_001, &reference, "300000"),
        )
        .await;
        assert_ne!(
            uz::err(&full),
            0,
            "the undiscounted amount is refused: {full}"
        );
        let ok = uz::click(
            &app,
            "prepare",
            &uz::ClickReq::prepare(7_000_002, &reference, "290000"),
        )
        .await;
        assert_eq!(uz::err(&ok), 0, "{ok}");
    }
);

both_kinds!(
    a_lapsed_order_paid_after_all_holds_its_use_again,
    |kind| async move {
        let fake = fake_stripe::FakeStripe::start().await;
        let Some(app) = spawn_with_fake(kind, &fake.env(), &[]).await else {
            return;
        };
        let csrf = app.admin_login().await;
        create(
            &app,
            &csrf,
            json!({"code": "LATE", "percent_off": 10, "max_uses": 1}),
        )
        .await;
        let mug = usd_product(&app, &csrf, 1000).await;
        let (s, o) = app
            .order(
                126,
                json!({"items": [{"variant_id": mug, "quantity": 1}], "payment_method": "stripe",
                           "contact": contact(), "promo_code": "LATE"}),
            )
            .await;
        assert_eq!(s, 201, "{o}");
        let id = o["id"].as_i64().unwrap();
        sqlx::query("UPDATE orders SET expires_at = $1 WHERE id = $2")
            .bind(now() - 60)
            .bind(id)
            .execute(&app.state.db.pool)
            .await
            .unwrap();
        assert_eq!(expire_due(&app.state).await.unwrap(), 1);
        assert_eq!(uses(&app, "LATE").await, 0, "given back on expiry");
        // Stripe's success arrives late; the stock is still there, so the order is sold after
        // all, at its discounted price: it holds its use again.
        let ev = fake.complete(id, true);
        let body = serde_json::to_string_pretty(&ev).unwrap();
        let r = app
            .raw(
                app.client
                    .post(app.url("/webhooks/stripe"))
                    .header(
                        "Stripe-Signature",
                        fake_stripe::sign(fake_stripe::WEBHOOK_SECRET, now(), &body),
                    )
                    .header("Content-Type", "application/json")
                    .body(body),
            )
            .await;
        assert_eq!(r.status, 200);
        let (_, v) = app
            .json(app.as_user(Method::GET, &format!("/api/orders/{id}"), 126))
            .await;
        assert_eq!(v["status"], "paid", "{v}");
        assert_eq!(uses(&app, "LATE").await, 1);
        let (s, v) = teapot_order(&app, 127, 1, "cash", "LATE").await;
        assert_invalid(s, &v);
    }
);
