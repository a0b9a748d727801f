//! Delivery methods on both databases: the admin creates, edits, pauses and deletes them; an
//! order with physical goods chooses one when any is offered in its currency; the fee (flat,
//! by zone, free above a total, after a promo code) is the server's and part of the total;
//! every rail charges that total and lists the fee where it lists lines; the order keeps what
//! it chose.

mod common;
#[path = "support/fake_bot_api.rs"]
mod fake_bot_api;
#[path = "support/fake_cryptopay.rs"]
mod fake_cryptopay;
#[path = "support/fake_paypal.rs"]
mod fake_paypal;
#[path = "support/fake_stripe.rs"]
mod fake_stripe;
#[path = "support/fake_toncenter.rs"]
mod fake_toncenter;
#[path = "support/fake_yookassa.rs"]
mod fake_yookassa;
#[path = "support/tg.rs"]
mod tg;
#[path = "support/uz.rs"]
mod uz;

use common::*;
use reqwest::Method;
use serde_json::{json, Value};

/// The demo teapot: 150 000 sum.
const TEAPOT: i64 = 15_000_000;
/// A courier fee of 20 000 sum.
const FEE: i64 = 2_000_000;
const ZONE_FEE: i64 = 3_500_000;

async fn create(app: &TestApp, csrf: &str, body: Value) -> Value {
    let (s, v) = app
        .json(
            app.admin(Method::POST, "/api/admin/delivery-methods", csrf)
                .json(&body),
        )
        .await;
    assert_eq!(s, 201, "{body} -> {v}");
    v
}

async fn put(app: &TestApp, csrf: &str, id: i64, body: Value) -> Value {
    let (s, v) = app
        .json(
            app.admin(
                Method::PUT,
                &format!("/api/admin/delivery-methods/{id}"),
                csrf,
            )
            .json(&body),
        )
        .await;
    assert_eq!(s, 200, "{body} -> {v}");
    v
}

fn uzs(minor: i64) -> Value {
    json!({"amount_minor": minor, "currency": "UZS"})
}

/// A flat courier method in UZS.
fn courier(fee: i64) -> Value {
    json!({"kind": "courier", "title": {"en": "Courier", "ru": "Курьер", "uz": "Kuryer"},
           "fee": uzs(fee)})
}

/// A courier method with two zones: the city at the method's fee, the region at its own.
fn zones() -> Value {
    json!({"kind": "courier", "title": {"en": "Courier by zone"}, "fee": uzs(FEE),
           "options": [{"title": {"en": "Tashkent city"}},
                       {"title": {"en": "Tashkent region"}, "fee": uzs(ZONE_FEE)}]})
}

fn pickup() -> Value {
    json!({"kind": "pickup", "title": {"en": "Pickup", "ru": "Самовывоз"}, "fee": uzs(0),
           "options": [{"title": {"en": "Chorsu shop"}, "address": "Tashkent, Chorsu bazaar, row 4"}]})
}

/// `qty` teapots on `method` with `extra` merged into the body.
async fn teapots(app: &TestApp, user: i64, qty: i64, method: &str, extra: Value) -> (u16, Value) {
    let vid = app.variant_id("Teapot").await;
    let mut body = json!({"items": [{"variant_id": vid, "quantity": qty}],
                          "payment_method": method, "contact": contact()});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    app.order(user, body).await
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(sql)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap()
}

fn total(o: &Value) -> i64 {
    o["total"]["amount_minor"].as_i64().unwrap()
}

fn id(v: &Value) -> i64 {
    v["id"].as_i64().unwrap()
}

fn assert_refused(s: u16, v: &Value, code: &str, field: &str) {
    assert_eq!((s, error_code(v)), (422, code), "{v}");
    assert_eq!(v["error"]["field"], field, "{v}");
    assert!(!v["error"]["message"].as_str().unwrap_or("").is_empty());
}

// ------------------------------------------------------------------------------------- admin

both!(
    admin_creates_edits_pauses_and_deletes,
    |app: TestApp| async move {
        let csrf = app.admin_login().await;
        let z = create(&app, &csrf, zones()).await;
        assert_eq!(z["kind"], "courier");
        assert_eq!(z["active"], true);
        assert_eq!(z["fee"], uzs(FEE));
        let opts = z["options"].as_array().unwrap();
        assert_eq!(opts.len(), 2);
        assert!(
            opts[0].get("fee").is_none(),
            "the city takes the method's fee"
        );
        assert_eq!(opts[1]["fee"], uzs(ZONE_FEE));
        let p = create(&app, &csrf, pickup()).await;
        assert_eq!(p["options"][0]["address"], "Tashkent, Chorsu bazaar, row 4");

        // Each mistake is a 400 naming its field.
        let many: Vec<Value> = (0..51)
            .map(|i| json!({"title": {"en": format!("Zone {i}")}}))
            .collect();
        for (body, field) in [
            (
                json!({"kind": "courier", "title": {}, "fee": uzs(1)}),
                "title",
            ),
            (
                json!({"kind": "courier", "title": {"en": "X"}, "fee": uzs(-1)}),
                "fee",
            ),
            (
                json!({"kind": "courier", "title": {"en": "X"}, "fee": uzs(1),
                   "free_above": {"amount_minor": 100, "currency": "USD"}}),
                "free_above",
            ),
            (
                json!({"kind": "courier", "title": {"en": "X"}, "fee": uzs(1), "free_above": uzs(0)}),
                "free_above",
            ),
            (
                json!({"kind": "pickup", "title": {"en": "X"}, "fee": uzs(0),
                   "options": [{"title": {"en": "Point"}}]}),
                "options[0].address",
            ),
            (
                json!({"kind": "courier", "title": {"en": "X"}, "fee": uzs(1),
                   "options": [{"title": {"en": "A"}}, {"title": {"en": "B"},
                   "fee": {"amount_minor": 5, "currency": "USD"}}]}),
                "options[1].fee",
            ),
            (
                json!({"kind": "courier", "title": {"en": "X"}, "fee": uzs(1),
                   "options": [{"title": {"en": "A".repeat(101)}}]}),
                "options[0].title.en",
            ),
            (
                json!({"kind": "courier", "title": {"en": "X"}, "fee": uzs(1), "options": many}),
                "options",
            ),
        ] {
            let (s, v) = app
                .json(
                    app.admin(Method::POST, "/api/admin/delivery-methods", &csrf)
                        .json(&body),
                )
                .await;
            assert_eq!(s, 400, "{body} -> {v}");
            assert_eq!(v["error"]["field"], field, "{body} -> {v}");
        }
        // An unknown kind or field is refused too.
        let (s, _) = app
            .json(
                app.admin(Method::POST, "/api/admin/delivery-methods", &csrf)
                    .json(&json!({"kind": "drone", "title": {"en": "X"}, "fee": uzs(1)})),
            )
            .await;
        assert!(s == 400 || s == 422, "{s}");
        // Without the CSRF token, or without a session: refused.
        let (s, v) = app
            .json(
                app.client
                    .post(app.url("/api/admin/delivery-methods"))
                    .json(&courier(1)),
            )
            .await;
        assert_eq!((s, error_code(&v)), (403, "csrf_failed"), "{v}");
        let (s, _) = app
            .json(reqwest::Client::new().get(app.url("/api/admin/delivery-methods")))
            .await;
        assert_eq!(s, 401);

        let (s, list) = app.json(app.get("/api/admin/delivery-methods")).await;
        assert_eq!(s, 200, "{list}");
        assert_eq!(list.as_array().unwrap().len(), 2);

        // An edit keeps the options it names (by id), adds new ones and drops the rest.
        let city = z["options"][0]["id"].as_i64().unwrap();
        let edited = put(
            &app,
            &csrf,
            id(&z),
            json!({"kind": "courier", "title": {"en": "Courier by zone"}, "fee": uzs(FEE),
               "options": [{"id": city, "title": {"en": "Tashkent centre"}, "fee": uzs(1_000_000)},
                           {"title": {"en": "Samarkand"}}]}),
        )
        .await;
        let eo = edited["options"].as_array().unwrap();
        assert_eq!(eo.len(), 2);
        assert_eq!(eo[0]["id"].as_i64(), Some(city), "kept");
        assert_eq!(eo[0]["title"]["en"], "Tashkent centre");
        assert_ne!(
            eo[1]["id"], z["options"][1]["id"],
            "the region went, Samarkand is new"
        );
        let (s, v) = app
            .json(
                app.admin(
                    Method::PUT,
                    &format!("/api/admin/delivery-methods/{}", id(&z)),
                    &csrf,
                )
                .json(
                    &json!({"kind": "courier", "title": {"en": "X"}, "fee": uzs(1),
                          "options": [{"id": p["options"][0]["id"], "title": {"en": "Stolen"}}]}),
                ),
            )
            .await;
        assert_eq!(s, 400, "another method's option: {v}");
        assert_eq!(v["error"]["field"], "options[0].id");

        // Paused: no longer offered; resumed: offered again.
        let mut paused = zones();
        paused["active"] = json!(false);
        put(&app, &csrf, id(&z), paused).await;
        let (_, offered) = app
            .json(app.as_user(Method::GET, "/api/delivery-methods?currency=UZS", 500))
            .await;
        let ids: Vec<i64> = offered.as_array().unwrap().iter().map(id).collect();
        assert_eq!(ids, [id(&p)], "{offered}");
        put(&app, &csrf, id(&z), zones()).await;
        let (_, offered) = app
            .json(app.as_user(Method::GET, "/api/delivery-methods?currency=UZS", 500))
            .await;
        assert_eq!(offered.as_array().unwrap().len(), 2);

        // Deleted: gone, and a second delete is 404.
        let path = format!("/api/admin/delivery-methods/{}", id(&p));
        let r = app.raw(app.admin(Method::DELETE, &path, &csrf)).await;
        assert_eq!(r.status, 204);
        let r = app.raw(app.admin(Method::DELETE, &path, &csrf)).await;
        assert_eq!(r.status, 404);
        assert_eq!(
        count(&app, "SELECT COUNT(*) FROM delivery_options WHERE method_id NOT IN (SELECT id FROM delivery_methods)").await,
        0
    );
        // Every change is in the audit log.
        let actions: Vec<String> = sqlx::query_scalar(
            "SELECT action FROM audit_log WHERE entity = 'delivery_method' ORDER BY id",
        )
        .fetch_all(&app.state.db.pool)
        .await
        .unwrap();
        assert_eq!(
            actions,
            ["create", "create", "update", "pause", "resume", "delete"]
        );

        // At most 50 methods.
        for _ in 0..49 {
            create(&app, &csrf, courier(1)).await;
        }
        let (s, v) = app
            .json(
                app.admin(Method::POST, "/api/admin/delivery-methods", &csrf)
                    .json(&courier(1)),
            )
            .await;
        assert_eq!((s, error_code(&v)), (409, "too_many_methods"), "{v}");
    }
);

// ------------------------------------------------------------------------------ the rules

both!(
    the_checkout_lists_methods_and_orders_follow_the_rules,
    |app: TestApp| async move {
        let csrf = app.admin_login().await;
        let z = create(&app, &csrf, zones()).await;
        let p = create(&app, &csrf, pickup()).await;
        let mut usd = courier(500);
        usd["fee"] = json!({"amount_minor": 500, "currency": "USD"});
        let usd = create(&app, &csrf, usd).await;
        let mut off = courier(1);
        off["active"] = json!(false);
        let off = create(&app, &csrf, off).await;

        // The storefront's list: this currency, active, in the language asked.
        let (s, offered) = app
            .json(app.as_user(
                Method::GET,
                "/api/delivery-methods?currency=UZS&lang=ru",
                501,
            ))
            .await;
        assert_eq!(s, 200, "{offered}");
        let list = offered.as_array().unwrap();
        assert_eq!(list.len(), 2, "{offered}");
        assert_eq!(list[1]["title"], "Самовывоз");
        assert_eq!(
            list[0]["title"], "Courier by zone",
            "falls back to the language it has"
        );
        assert_eq!(list[0]["options"][1]["fee"], uzs(ZONE_FEE));
        assert_eq!(
            list[1]["options"][0]["address"],
            "Tashkent, Chorsu bazaar, row 4"
        );
        let (_, none) = app
            .json(app.as_user(Method::GET, "/api/delivery-methods?currency=EUR", 501))
            .await;
        assert_eq!(none, json!([]));
        let (s, _) = app
            .json(reqwest::Client::new().get(app.url("/api/delivery-methods?currency=UZS")))
            .await;
        assert_eq!(s, 401, "initData like every customer call");

        let before = count(&app, "SELECT COUNT(*) FROM orders").await;
        // Physical goods and methods offered: a choice is required.
        let (s, v) = teapots(&app, 501, 1, "cash", json!({})).await;
        assert_refused(s, &v, "delivery_required", "delivery");
        for (delivery, code, field) in [
            (
                json!({"method_id": 999_999}),
                "delivery_invalid",
                "delivery.method_id",
            ),
            (
                json!({"method_id": id(&usd)}),
                "delivery_invalid",
                "delivery.method_id",
            ),
            (
                json!({"method_id": id(&off)}),
                "delivery_invalid",
                "delivery.method_id",
            ),
            (
                json!({"method_id": id(&z)}),
                "delivery_option_required",
                "delivery.option_id",
            ),
            (
                json!({"method_id": id(&z), "option_id": p["options"][0]["id"]}),
                "delivery_invalid",
                "delivery.option_id",
            ),
        ] {
            let (s, v) = teapots(&app, 501, 1, "cash", json!({"delivery": delivery})).await;
            assert_refused(s, &v, code, field);
        }
        // A misspelt field is refused, not ignored.
        let (s, v) = teapots(
            &app,
            501,
            1,
            "cash",
            json!({"delivery": {"method_id": id(&p), "point_id": 1}}),
        )
        .await;
        assert!(s == 400 || s == 422, "{s} {v}");
        // Nothing to deliver: a digital order cannot choose a delivery, and needs none.
        let plov = app.variant_id("Plov recipe").await;
        let (s, v) = app
            .order(
                501,
                json!({"items": [{"variant_id": plov, "quantity": 1}], "payment_method": "stars",
                   "delivery": {"method_id": id(&p), "option_id": p["options"][0]["id"]}}),
            )
            .await;
        assert_refused(s, &v, "delivery_invalid", "delivery");
        assert_eq!(
            count(&app, "SELECT COUNT(*) FROM orders").await,
            before,
            "nothing placed"
        );

        // Pickup: no address needed, the point's address is on the order.
        let (s, o) = teapots(
            &app,
            501,
            1,
            "cash",
            json!({"contact": {"name": "Dilnoza", "phone": "+998 90 123 45 67"},
               "delivery": {"method_id": id(&p), "option_id": p["options"][0]["id"]}}),
        )
        .await;
        assert_eq!(s, 201, "{o}");
        assert_eq!(
            o["delivery"],
            json!({"kind": "pickup", "method": "Pickup", "option": "Chorsu shop",
               "address": "Tashkent, Chorsu bazaar, row 4", "fee": uzs(0)})
        );
        assert_eq!(total(&o), TEAPOT);
        // A courier still needs the address.
        let (s, v) = teapots(
            &app,
            501,
            1,
            "cash",
            json!({"contact": {"name": "Dilnoza", "phone": "+998 90 123 45 67"},
               "delivery": {"method_id": id(&z), "option_id": z["options"][0]["id"]}}),
        )
        .await;
        assert_eq!(
            (s, v["error"]["field"].as_str()),
            (400, Some("contact.address")),
            "{v}"
        );
        // The customer's last method comes back with /api/me.
        let (_, me) = app.json(app.as_user(Method::GET, "/api/me", 501)).await;
        assert_eq!(me["last_delivery_method_id"].as_i64(), Some(id(&p)));
    }
);

both!(
    without_methods_orders_are_placed_as_before,
    |app: TestApp| async move {
        let (s, o) = teapots(&app, 502, 1, "cash", json!({})).await;
        assert_eq!(s, 201, "{o}");
        assert_eq!(total(&o), TEAPOT);
        assert!(o.get("delivery").is_none(), "{o}");
        // Methods in another currency ask nothing of a UZS order.
        let csrf = app.admin_login().await;
        let mut usd = courier(500);
        usd["fee"] = json!({"amount_minor": 500, "currency": "USD"});
        create(&app, &csrf, usd).await;
        let (s, o) = teapots(&app, 502, 1, "cash", json!({})).await;
        assert_eq!(s, 201, "{o}");
        let (_, me) = app.json(app.as_user(Method::GET, "/api/me", 502)).await;
        assert!(me.get("last_delivery_method_id").is_none(), "{me}");
    }
);

// -------------------------------------------------------------------------------- the fee

both!(
    fees_flat_by_zone_and_free_above,
    |app: TestApp| async move {
        let csrf = app.admin_login().await;
        app.set_stock(app.variant_id("Teapot").await, None).await;
        let mut flat = courier(FEE);
        flat["free_above"] = uzs(2 * TEAPOT);
        let flat = create(&app, &csrf, flat).await;
        let z = create(&app, &csrf, zones()).await;
        let (s, _) = app
            .json(
                app.admin(Method::POST, "/api/admin/promo-codes", &csrf)
                    .json(&json!({"code": "TEN", "percent_off": 10})),
            )
            .await;
        assert_eq!(s, 201);

        // Flat fee, below the free threshold.
        let (s, o) = teapots(
            &app,
            503,
            1,
            "cash",
            json!({"delivery": {"method_id": id(&flat)}}),
        )
        .await;
        assert_eq!(s, 201, "{o}");
        assert_eq!(total(&o), TEAPOT + FEE);
        assert_eq!(o["delivery"]["fee"], uzs(FEE));
        assert_eq!(o["delivery"]["kind"], "courier");
        assert_eq!(o["delivery"]["method"], "Courier");
        // At the threshold: free.
        let (s, o) = teapots(
            &app,
            503,
            2,
            "cash",
            json!({"delivery": {"method_id": id(&flat)}}),
        )
        .await;
        assert_eq!(s, 201, "{o}");
        assert_eq!(total(&o), 2 * TEAPOT);
        assert_eq!(o["delivery"]["fee"], uzs(0));
        // A promo code takes the goods below it: the fee is charged again.
        let (s, o) = teapots(
            &app,
            503,
            2,
            "cash",
            json!({"delivery": {"method_id": id(&flat)}, "promo_code": "TEN"}),
        )
        .await;
        assert_eq!(s, 201, "{o}");
        let goods = 2 * TEAPOT - 2 * TEAPOT / 10;
        assert_eq!(o["discount"]["amount_minor"], 2 * TEAPOT / 10);
        assert_eq!(total(&o), goods + FEE);
        // Three teapots with the code are still above it: free.
        let (s, o) = teapots(
            &app,
            504,
            3,
            "cash",
            json!({"delivery": {"method_id": id(&flat)}, "promo_code": "TEN"}),
        )
        .await;
        assert_eq!(s, 201, "{o}");
        assert_eq!(total(&o), 3 * TEAPOT - 3 * TEAPOT / 10);

        // By zone: the city at the method's fee, the region at its own.
        let city = z["options"][0]["id"].as_i64().unwrap();
        let region = z["options"][1]["id"].as_i64().unwrap();
        let (s, o) = teapots(
            &app,
            505,
            1,
            "cash",
            json!({"delivery": {"method_id": id(&z), "option_id": city}}),
        )
        .await;
        assert_eq!(s, 201, "{o}");
        assert_eq!(total(&o), TEAPOT + FEE);
        assert_eq!(o["delivery"]["option"], "Tashkent city");
        let (s, o) = teapots(
            &app,
            505,
            1,
            "cash",
            json!({"delivery": {"method_id": id(&z), "option_id": region}}),
        )
        .await;
        assert_eq!(s, 201, "{o}");
        assert_eq!(total(&o), TEAPOT + ZONE_FEE);
        // What was stored is what was answered.
        let (_, again) = app
            .json(app.as_user(Method::GET, &format!("/api/orders/{}", id(&o)), 505))
            .await;
        assert_eq!(again["delivery"], o["delivery"]);
        assert_eq!(again["total"], o["total"]);
        // Several lines from the cart take the general write path: the same fee.
        let bowl = app.variant_id("Rishtan bowl").await;
        let teapot = app.variant_id("Teapot").await;
        let (s, v) = app
            .json(
                app.as_user(Method::PUT, "/api/cart", 506)
                    .json(&json!({"items": [
                {"variant_id": teapot, "quantity": 1}, {"variant_id": bowl, "quantity": 1}]})),
            )
            .await;
        assert_eq!(s, 200, "{v}");
        let (s, o) = app
            .order(
                506,
                json!({"payment_method": "cash", "contact": contact(),
                   "delivery": {"method_id": id(&z), "option_id": region}}),
            )
            .await;
        assert_eq!(s, 201, "{o}");
        assert_eq!(total(&o), TEAPOT + 8_500_000 + ZONE_FEE);
    }
);

both!(
    a_retry_and_later_edits_leave_the_order_as_placed,
    |app: TestApp| async move {
        let csrf = app.admin_login().await;
        let z = create(&app, &csrf, zones()).await;
        let region = z["options"][1]["id"].as_i64().unwrap();
        let vid = app.variant_id("Teapot").await;
        let body = json!({"items": [{"variant_id": vid, "quantity": 1}], "payment_method": "cash",
                      "contact": contact(), "delivery": {"method_id": id(&z), "option_id": region}});
        let post = || {
            app.as_user(Method::POST, "/api/orders", 507)
                .header("Idempotency-Key", "deliver-once")
                .json(&body)
        };
        let (s, first) = app.json(post()).await;
        assert_eq!(s, 201, "{first}");
        assert_eq!(total(&first), TEAPOT + ZONE_FEE);

        // The merchant raises the region's fee and renames everything.
        let edited = put(
        &app,
        &csrf,
        id(&z),
        json!({"kind": "courier", "title": {"en": "Express"}, "fee": uzs(FEE),
               "options": [{"id": region, "title": {"en": "Whole region"}, "fee": uzs(9_000_000)}]}),
    )
    .await;
        assert_eq!(edited["options"][0]["id"].as_i64(), Some(region));
        // A retry answers the order placed, fee and all.
        let (s, again) = app.json(post()).await;
        assert_eq!(s, 200, "{again}");
        assert_eq!(id(&again), id(&first));
        assert_eq!(again["total"], first["total"]);
        assert_eq!(again["delivery"], first["delivery"]);
        // The order shows what was chosen then, also after the method is gone.
        let r = app
            .raw(app.admin(
                Method::DELETE,
                &format!("/api/admin/delivery-methods/{}", id(&z)),
                &csrf,
            ))
            .await;
        assert_eq!(r.status, 204);
        let (_, now) = app
            .json(app.as_user(Method::GET, &format!("/api/orders/{}", id(&first)), 507))
            .await;
        assert_eq!(
            now["delivery"],
            json!({"kind": "courier", "method": "Courier by zone", "option": "Tashkent region",
               "fee": uzs(ZONE_FEE)})
        );
        assert_eq!(total(&now), TEAPOT + ZONE_FEE);
        // The admin's order shows it too.
        let (s, adm) = app
            .json(app.get(&format!("/api/admin/orders/{}", id(&first))))
            .await;
        assert_eq!(s, 200, "{adm}");
        assert_eq!(adm["delivery"], now["delivery"]);
        // With nothing offered any more, orders need no delivery again.
        let (s, o) = teapots(&app, 507, 1, "cash", json!({})).await;
        assert_eq!(s, 201, "{o}");
    }
);

// ------------------------------------------------------------------- every rail charges total

both_kinds!(telegram_invoice_lists_the_fee, |kind| async move {
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
    let m = create(app, &csrf, courier(FEE)).await;
    let (s, o) = teapots(
        app,
        510,
        2,
        "telegram",
        json!({"delivery": {"method_id": id(&m)}}),
    )
    .await;
    assert_eq!(s, 201, "{o}");
    let inv = t.invoice_of(&o).await;
    let prices = inv["prices"].as_array().unwrap();
    assert_eq!(prices.len(), 2, "{inv}");
    assert_eq!(prices[1], json!({"label": "Delivery", "amount": FEE}));
    let sum: i64 = prices.iter().map(|p| p["amount"].as_i64().unwrap()).sum();
    assert_eq!(sum, total(&o));
    assert_eq!(sum, 2 * TEAPOT + FEE);
    // The shop knows where the goods go: Telegram does not ask for a shipping address again.
    assert_eq!(inv["need_shipping_address"], false, "{inv}");
    assert_eq!(inv["is_flexible"], false, "{inv}");
    assert_eq!(inv["need_phone_number"], true, "{inv}");
});

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

fn usd_courier(fee: i64) -> Value {
    json!({"kind": "courier", "title": {"en": "Courier"},
           "fee": {"amount_minor": fee, "currency": "USD"}})
}

both_kinds!(stripe_lists_the_fee_and_refunds_it, |kind| async move {
    let fake = fake_stripe::FakeStripe::start().await;
    let Some(app) = spawn_with_fake(kind, &fake.env(), &[]).await else {
        return;
    };
    let csrf = app.admin_login().await;
    let m = create(&app, &csrf, usd_courier(499)).await;
    let mug = usd_product(&app, &csrf, 1999).await;
    let (s, o) = app
        .order(
            511,
            json!({"items": [{"variant_id": mug, "quantity": 2}], "payment_method": "stripe",
                   "contact": contact(), "delivery": {"method_id": id(&m)}}),
        )
        .await;
    assert_eq!(s, 201, "{o}");
    assert_eq!(total(&o), 2 * 1999 + 499);
    let oid = id(&o);
    let session = fake.session_for(oid);
    assert_eq!(session.amount_total, 4497);
    assert_eq!(
        session.form["line_items[0][price_data][unit_amount]"],
        "1999"
    );
    assert_eq!(session.form["line_items[0][quantity]"], "2");
    assert_eq!(
        session.form["line_items[1][price_data][unit_amount]"],
        "499"
    );
    assert_eq!(
        session.form["line_items[1][price_data][product_data][name]"],
        "Delivery"
    );
    assert_eq!(session.form["line_items[1][quantity]"], "1");

    // Paid, delivered, then refunded in full: the fee comes back with the goods.
    let ev = fake.complete(oid, true);
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
    .bind(oid)
    .fetch_one(&app.state.db.pool)
    .await
    .unwrap();
    assert_eq!(paid, 4497);
    for step in ["ship", "deliver"] {
        let (s, v) = app
            .json(app.admin(
                Method::POST,
                &format!("/api/admin/orders/{oid}/{step}"),
                &csrf,
            ))
            .await;
        assert_eq!(s, 200, "{step}: {v}");
    }
    let (s, v) = app.admin_refund(&csrf, oid, json!({})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"], "refunded");
    assert_eq!(fake.refunded(&pi), 4497, "the fee is refunded too");
});

both_kinds!(paypal_breakdown_has_shipping, |kind| async move {
    let fake = fake_paypal::FakePaypal::start().await;
    let Some(app) = spawn_with_fake(kind, &fake.env(), &[]).await else {
        return;
    };
    let csrf = app.admin_login().await;
    let m = create(&app, &csrf, usd_courier(500)).await;
    let (s, _) = app
        .json(
            app.admin(Method::POST, "/api/admin/promo-codes", &csrf)
                .json(
                    &json!({"code": "PP3", "amount_off": {"amount_minor": 300, "currency": "USD"}}),
                ),
        )
        .await;
    assert_eq!(s, 201);
    let mug = usd_product(&app, &csrf, 1250).await;
    let (s, o) = app
        .order(
            512,
            json!({"items": [{"variant_id": mug, "quantity": 2}], "payment_method": "paypal",
                   "contact": contact(), "delivery": {"method_id": id(&m)}, "promo_code": "PP3"}),
        )
        .await;
    assert_eq!(s, 201, "{o}");
    let amount = &fake.order_for(id(&o)).body["purchase_units"][0]["amount"];
    assert_eq!(
        *amount,
        json!({"currency_code": "USD", "value": "27.00", "breakdown": {
            "item_total": {"currency_code": "USD", "value": "25.00"},
            "discount": {"currency_code": "USD", "value": "3.00"},
            "shipping": {"currency_code": "USD", "value": "5.00"}}})
    );
    // Without a discount the breakdown has the goods and the shipping.
    let (s, o) = app
        .order(
            513,
            json!({"items": [{"variant_id": mug, "quantity": 1}], "payment_method": "paypal",
                   "contact": contact(), "delivery": {"method_id": id(&m)}}),
        )
        .await;
    assert_eq!(s, 201, "{o}");
    let amount = &fake.order_for(id(&o)).body["purchase_units"][0]["amount"];
    assert_eq!(
        *amount,
        json!({"currency_code": "USD", "value": "17.50", "breakdown": {
            "item_total": {"currency_code": "USD", "value": "12.50"},
            "shipping": {"currency_code": "USD", "value": "5.00"}}})
    );
});

const PAYME_DELIVERY: &[(&str, &str)] = &[
    ("CLICK_SERVICE_ID", uz::CLICK_SERVICE_ID),
    ("CLICK_MERCHANT_ID", uz::CLICK_MERCHANT_ID),
    ("CLICK_SECRET_KEY", uz::CLICK_SECRET),
    ("PAYME_MERCHANT_ID", uz::PAYME_MERCHANT_ID),
    ("PAYME_KEY", uz::PAYME_KEY),
    ("PAYME_CHECKOUT_URL", uz::PAYME_CHECKOUT),
    ("PUBLIC_URL", "https://shop.example.uz"),
    ("PAYME_DELIVERY_IKPU", "10112006002000000"),
    ("PAYME_DELIVERY_PACKAGE_CODE", "1545000"),
    ("PAYME_DELIVERY_VAT_PERCENT", "12"),
];

async fn fiscal_teapot(app: &TestApp, csrf: &str) {
    let teapot = app.product("Teapot").await["id"].as_i64().unwrap();
    let (s, v) = app
        .json(
            app.admin(Method::PATCH, &format!("/api/admin/products/{teapot}"), csrf)
                .json(&json!({"ikpu_code": "07323001001000000", "package_code": "1501111", "vat_percent": 12})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
}

both_with!(
    payme_receipt_has_a_delivery_line,
    PAYME_DELIVERY,
    |app: TestApp| async move {
        let csrf = app.admin_login().await;
        fiscal_teapot(&app, &csrf).await;
        let m = create(&app, &csrf, courier(FEE)).await;
        let (s, o) = teapots(
            &app,
            514,
            1,
            "payme",
            json!({"delivery": {"method_id": id(&m)}}),
        )
        .await;
        assert_eq!(s, 201, "{o}");
        let amount = total(&o);
        assert_eq!(amount, TEAPOT + FEE);
        let account = uz::account(&uz::pay_ref(&o));
        let v = uz::payme(
            &app,
            "CheckPerformTransaction",
            json!({"amount": TEAPOT, "account": account}),
        )
        .await;
        assert!(v["error"].is_object(), "the goods alone are refused: {v}");
        let v = uz::payme(
            &app,
            "CheckPerformTransaction",
            json!({"amount": amount, "account": account}),
        )
        .await;
        let items = v["result"]["detail"]["items"]
            .as_array()
            .expect("receipt items")
            .clone();
        assert_eq!(items.len(), 2, "{items:?}");
        assert_eq!(
            items[1],
            json!({"title": "Delivery", "price": FEE, "count": 1, "code": "10112006002000000",
               "package_code": "1545000", "vat_percent": 12})
        );
        let sum: i64 = items
            .iter()
            .map(|i| i["price"].as_i64().unwrap() * i["count"].as_i64().unwrap())
            .sum();
        assert_eq!(sum, amount, "the receipt adds up to the amount");
    }
);

both_with!(
    payme_without_delivery_codes_sends_no_detail,
    uz::ENV,
    |app: TestApp| async move {
        let csrf = app.admin_login().await;
        fiscal_teapot(&app, &csrf).await;
        let m = create(&app, &csrf, courier(FEE)).await;
        let (s, o) = teapots(
            &app,
            515,
            1,
            "payme",
            json!({"delivery": {"method_id": id(&m)}}),
        )
        .await;
        assert_eq!(s, 201, "{o}");
        let v = uz::payme(
            &app,
            "CheckPerformTransaction",
            json!({"amount": total(&o), "account": uz::account(&uz::pay_ref(&o))}),
        )
        .await;
        assert_eq!(v["result"]["allow"], true, "{v}");
        assert!(
            v["result"].get("detail").is_none(),
            "a line without codes is no receipt: {v}"
        );
        // `shop check` names the missing codes.
        let (out, problems) = shop::cli::check(&app.state.config).await;
        assert!(problems, "{out}");
        assert!(out.contains("PAYME_DELIVERY_IKPU"), "{out}");
    }
);

both_with!(
    click_is_asked_for_goods_plus_fee,
    uz::ENV,
    |app: TestApp| async move {
        let csrf = app.admin_login().await;
        let m = create(&app, &csrf, courier(FEE)).await;
        let (s, o) = teapots(
            &app,
            516,
            2,
            "click",
            json!({"delivery": {"method_id": id(&m)}}),
        )
        .await;
        assert_eq!(s, 201, "{o}");
        assert_eq!(total(&o), 2 * TEAPOT + FEE);
        let url = reqwest::Url::parse(o["checkout_url"].as_str().unwrap()).unwrap();
        let amount = url
            .query_pairs()
            .find(|(k, _)| k == "amount")
            .map(|(_, v)| v.into_owned())
            .expect("amount in the Click link");
        assert_eq!(amount, "320000.00");
        let reference = uz::pay_ref(&o);
        let goods = uz::click(
            &app,
            "prepare",
            &uz::ClickReq::prepare(7_100_001, &reference, "300000"),
        )
        .await;
        assert_ne!(uz::err(&goods), 0, "the goods alone are refused: {goods}");
        let v = uz::click_pay(&app, 7_100_002, &reference, "320000").await;
        assert_eq!(uz::err(&v), 0, "{v}");
        assert_eq!(uz::order_status(&app, 516, id(&o)).await, "paid");
    }
);

both_kinds!(yookassa_receipt_has_a_delivery_service, |kind| async move {
    let fake = fake_yookassa::FakeYookassa::start().await;
    let env = fake.env();
    let mut pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    pairs.push(("YOOKASSA_RECEIPTS", "1"));
    let Some(app) = spawn(kind, &pairs).await else {
        return;
    };
    let csrf = app.admin_login().await;
    let (s, v) = app
        .json(app.admin(Method::POST, "/api/admin/products", &csrf).json(&json!({
            "kind": "physical", "title": {"en": "Samovar"}, "vat_percent": 20,
            "variants": [{"sku": "SAM-1", "options": {},
                          "price": {"amount_minor": 150_000, "currency": "RUB"}, "stock": 5}]
        })))
        .await;
    assert_eq!(s, 201, "{v}");
    let samovar = v["variants"][0]["id"].as_i64().unwrap();
    let m = create(
        &app,
        &csrf,
        json!({"kind": "courier", "title": {"ru": "Курьер"},
               "fee": {"amount_minor": 30_000, "currency": "RUB"}}),
    )
    .await;
    let (s, o) = app
        .order(
            517,
            json!({"items": [{"variant_id": samovar, "quantity": 1}], "payment_method": "yookassa",
                   "contact": {"name": "Ivan Petrov", "phone": "+7 900 123-45-67",
                               "address": "Moscow, Tverskaya 1", "email": "ivan@example.ru"},
                   "delivery": {"method_id": id(&m)}}),
        )
        .await;
    assert_eq!(s, 201, "{o}");
    assert_eq!(total(&o), 180_000);
    let pid = fake.payment_for(id(&o))["id"].as_str().unwrap().to_string();
    let body = fake.created_with(&pid);
    assert_eq!(body["amount"]["value"], "1800.00");
    let items = body["receipt"]["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{body}");
    assert_eq!(
        items[1],
        json!({"description": "Delivery", "quantity": 1,
               "amount": {"value": "300.00", "currency": "RUB"}, "vat_code": 4,
               "payment_subject": "service", "payment_mode": "full_prepayment"})
    );
});

both_kinds!(cryptopay_invoice_is_for_the_total, |kind| async move {
    let fake = fake_cryptopay::FakeCryptopay::start().await;
    let Some(app) = spawn_with_fake(kind, &fake.env(), &[]).await else {
        return;
    };
    let csrf = app.admin_login().await;
    let m = create(&app, &csrf, usd_courier(250)).await;
    let mug = usd_product(&app, &csrf, 1000).await;
    let (s, o) = app
        .order(
            518,
            json!({"items": [{"variant_id": mug, "quantity": 1}], "payment_method": "cryptopay",
                   "contact": contact(), "delivery": {"method_id": id(&m)}}),
        )
        .await;
    assert_eq!(s, 201, "{o}");
    assert_eq!(total(&o), 1250);
    let created = fake.created().pop().expect("an invoice");
    assert_eq!(created["amount"], "12.5", "{created}");
});

both_kinds!(ton_link_asks_for_the_total, |kind| async move {
    let fake = fake_toncenter::FakeToncenter::start().await;
    let Some(app) = spawn_with_fake(kind, &fake.env(), &[]).await else {
        return;
    };
    let csrf = app.admin_login().await;
    let (s, v) = app
        .json(app.admin(Method::POST, "/api/admin/products", &csrf).json(&json!({
            "kind": "physical", "title": {"en": "Hoodie"},
            "variants": [{"sku": "HOOD-1", "options": {},
                          "price": {"amount_minor": 1_500_000_000, "currency": "TON"}, "stock": 5}]
        })))
        .await;
    assert_eq!(s, 201, "{v}");
    let hoodie = v["variants"][0]["id"].as_i64().unwrap();
    let m = create(
        &app,
        &csrf,
        json!({"kind": "courier", "title": {"en": "Courier"},
               "fee": {"amount_minor": 250_000_000, "currency": "TON"}}),
    )
    .await;
    let (s, o) = app
        .order(
            519,
            json!({"items": [{"variant_id": hoodie, "quantity": 1}], "payment_method": "ton",
                   "contact": contact(), "delivery": {"method_id": id(&m)}}),
        )
        .await;
    assert_eq!(s, 201, "{o}");
    assert_eq!(total(&o), 1_750_000_000);
    let link = o["checkout_url"].as_str().unwrap();
    assert!(
        link.contains("amount=1750000000&"),
        "the wallet is asked for goods + fee: {link}"
    );
    assert_eq!(o["ton"]["amount"], "1.750000000");
});
