//! `GET /api/admin/dashboard`: per-day revenue and orders over UTC days, best sellers, low
//! stock, and date validation, identical on SQLite and PostgreSQL.

mod common;
use common::*;
use reqwest::Method;
use serde_json::{json, Value};

/// 2026-03-01T00:00:00Z.
const MAR_1: i64 = 1_772_323_200;
const DAY: i64 = 86_400;

/// A cash order shipped and delivered (so paid), then moved to the given times.
async fn paid_order(
    app: &TestApp,
    csrf: &str,
    user: i64,
    vid: i64,
    qty: i64,
    created: i64,
    paid: i64,
) -> Value {
    let o = app.cash_order(user, vid, qty).await;
    let id = o["id"].as_i64().unwrap();
    for step in ["ship", "deliver"] {
        let (s, v) = app
            .json(app.admin(
                Method::POST,
                &format!("/api/admin/orders/{id}/{step}"),
                csrf,
            ))
            .await;
        assert_eq!(s, 200, "{step}: {v}");
    }
    sqlx::query("UPDATE orders SET created_at = $1, paid_at = $2 WHERE id = $3")
        .bind(created)
        .bind(paid)
        .bind(id)
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    o
}

both!(dashboard_counts_days_in_utc, |app: TestApp| async move {
    let (s, v) = app.json(app.get("/api/admin/dashboard")).await;
    assert_eq!((s, error_code(&v)), (401, "unauthorized"));
    let csrf = app.admin_login().await;

    let teapot = app.variant_id("Teapot").await;
    let pist = app.variant_id("Pistachios").await;
    // Day 1: one order created and paid late in the evening (23:59:59 is still day 1);
    // another created on day 1 but paid on day 3 and then partly refunded.
    let o1 = paid_order(&app, &csrf, 11, teapot, 2, MAR_1 + 3600, MAR_1 + DAY - 1).await;
    let o2 = paid_order(&app, &csrf, 12, pist, 1, MAR_1 + 100, MAR_1 + 2 * DAY + 50).await;
    let (s, v) = app
        .json(
            app.admin(
                Method::POST,
                &format!("/api/admin/orders/{}/refund", o2["id"]),
                &csrf,
            )
            .json(&json!({"amount_minor": 1000})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    // Day 3: an order created, not paid. Day 5 (outside the range): paid, not counted.
    let o3 = app.cash_order(13, teapot, 1).await;
    sqlx::query("UPDATE orders SET created_at = $1 WHERE id = $2")
        .bind(MAR_1 + 2 * DAY + 10)
        .bind(o3["id"].as_i64().unwrap())
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    paid_order(&app, &csrf, 14, pist, 5, MAR_1 + 4 * DAY, MAR_1 + 4 * DAY).await;

    let (s, d) = app
        .json(app.get("/api/admin/dashboard?from=2026-03-01&to=2026-03-04"))
        .await;
    assert_eq!(s, 200, "{d}");
    assert_eq!(
        (d["from"].as_str(), d["to"].as_str()),
        (Some("2026-03-01"), Some("2026-03-04"))
    );
    assert_eq!(
        d["orders"],
        json!([
            {"day": "2026-03-01", "created": 2, "paid": 1},
            {"day": "2026-03-02", "created": 0, "paid": 0},
            {"day": "2026-03-03", "created": 1, "paid": 1},
            {"day": "2026-03-04", "created": 0, "paid": 0},
        ])
    );
    let cur = o1["total"]["currency"].as_str().unwrap();
    assert_eq!(o2["total"]["currency"].as_str(), Some(cur));
    let t1 = o1["total"]["amount_minor"].as_i64().unwrap();
    let t2 = o2["total"]["amount_minor"].as_i64().unwrap() - 1000;
    assert_eq!(
        d["revenue"],
        json!([
            {"day": "2026-03-01", "currency": cur, "amount_minor": t1},
            {"day": "2026-03-03", "currency": cur, "amount_minor": t2},
        ])
    );
    assert_eq!(
        d["totals"],
        json!([{"amount_minor": t1 + t2, "currency": cur}])
    );
    let top = d["top_products"].as_array().unwrap();
    assert_eq!(top.len(), 2, "{top:?}");
    assert_eq!(top[0]["quantity"], 2);
    assert_eq!(top[0]["title"]["en"], "Teapot");
    assert_eq!(top[1]["quantity"], 1);
    assert_eq!(top[0]["revenue"][0]["amount_minor"].as_i64(), Some(t1));

    // Low stock: tracked stock at or below the threshold, fewest first; archived left out.
    app.set_stock(teapot, Some(1)).await;
    app.set_stock(pist, Some(4)).await;
    let (_, d) = app
        .json(app.get("/api/admin/dashboard?from=2026-03-01&to=2026-03-04&low_stock=4"))
        .await;
    let low: Vec<i64> = d["low_stock"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["variant_id"].as_i64().unwrap())
        .collect();
    let ti = low
        .iter()
        .position(|&v| v == teapot)
        .expect("teapot is low");
    let pi = low
        .iter()
        .position(|&v| v == pist)
        .expect("pistachios are low");
    assert!(ti < pi, "{low:?}");
    let (_, d) = app
        .json(app.get("/api/admin/dashboard?from=2026-03-01&to=2026-03-01&low_stock=2"))
        .await;
    assert!(d["low_stock"]
        .as_array()
        .unwrap()
        .iter()
        .all(|l| l["variant_id"] != pist));
    assert_eq!(d["orders"].as_array().unwrap().len(), 1);
    sqlx::query("UPDATE variants SET archived = 1 WHERE id = $1")
        .bind(teapot)
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    let (_, d) = app
        .json(app.get("/api/admin/dashboard?from=2026-03-01&to=2026-03-01"))
        .await;
    assert!(d["low_stock"]
        .as_array()
        .unwrap()
        .iter()
        .all(|l| l["variant_id"] != teapot));

    // Defaults: the last 30 days ending today.
    let (s, d) = app.json(app.get("/api/admin/dashboard")).await;
    assert_eq!(s, 200, "{d}");
    assert_eq!(d["orders"].as_array().unwrap().len(), 30);
});

both!(dashboard_dates_are_validated, |app: TestApp| async move {
    app.admin_login().await;
    for (q, field, code) in [
        ("from=2026-13-01&to=2026-12-31", "from", "invalid_date"),
        ("from=2026-01-01&to=31.01.2026", "to", "invalid_date"),
        ("from=2026-02-01&to=2026-01-01", "from", "invalid_range"),
        ("from=2024-01-01&to=2025-01-01", "to", "range_too_long"),
        (
            "from=2026-01-01&to=2026-01-02&low_stock=-1",
            "low_stock",
            "invalid_low_stock",
        ),
    ] {
        let r = app.raw(app.get(&format!("/api/admin/dashboard?{q}"))).await;
        let v = assert_envelope(&r, 400, Some(code));
        assert_eq!(v["error"]["field"].as_str(), Some(field), "{q}: {v}");
    }
    // 366 days (a leap year) is allowed.
    let (s, d) = app
        .json(app.get("/api/admin/dashboard?from=2024-01-01&to=2024-12-31"))
        .await;
    assert_eq!(s, 200, "{d}");
    assert_eq!(d["orders"].as_array().unwrap().len(), 366);
});
