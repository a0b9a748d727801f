//! Stock is never oversold, under any concurrency, on either database.
mod common;
use common::*;

use std::collections::BTreeMap;

use reqwest::Method;
use serde_json::{json, Value};

/// Fires one order per body, all at once, each from its own customer; answers (status, body).
async fn fire(app: &TestApp, bodies: Vec<Value>, first_user: i64) -> Vec<(u16, Value)> {
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(bodies.len()));
    let mut set = tokio::task::JoinSet::new();
    for (i, body) in bodies.into_iter().enumerate() {
        let rb = app
            .as_user(Method::POST, "/api/orders", first_user + i as i64)
            .json(&body);
        let barrier = barrier.clone();
        set.spawn(async move {
            barrier.wait().await;
            let r = rb.send().await.expect("request");
            let s = r.status().as_u16();
            let text = r.text().await.unwrap_or_default();
            let v: Value =
                serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({s}): {text}"));
            (s, v)
        });
    }
    let mut out = vec![];
    while let Some(r) = set.join_next().await {
        out.push(r.expect("task"));
    }
    out
}

fn tally(answers: &[(u16, Value)]) -> BTreeMap<(u16, String), usize> {
    let mut m = BTreeMap::new();
    for (s, v) in answers {
        let code = if *s >= 400 {
            error_code(v).to_string()
        } else {
            String::new()
        };
        *m.entry((*s, code)).or_insert(0) += 1;
    }
    m
}

async fn sold(app: &TestApp, variant_id: i64) -> i64 {
    sqlx::query_scalar::<_, i64>(
        "SELECT CAST(COALESCE(SUM(quantity), 0) AS BIGINT) FROM order_items WHERE variant_id = $1",
    )
    .bind(variant_id)
    .fetch_one(&app.state.db.pool)
    .await
    .unwrap()
}

both!(fifty_buyers_five_units, |app: TestApp| async move {
    let vid = app.variant_id("Teapot").await;
    sqlx::query("UPDATE variants SET stock = 5 WHERE id = $1")
        .bind(vid)
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    app.state.catalog_changed();

    let body = json!({"items": [{"variant_id": vid, "quantity": 1}], "payment_method": "cash", "contact": contact()});
    let answers = fire(&app, vec![body; 50], 10_000).await;
    let t = tally(&answers);
    assert!(answers.iter().all(|(s, _)| *s < 500), "no 5xx: {t:?}");
    assert_eq!(t.get(&(201, String::new())), Some(&5), "{t:?}");
    assert_eq!(t.get(&(409, "out_of_stock".into())), Some(&45), "{t:?}");
    assert_eq!(t.values().sum::<usize>(), 50);

    assert_eq!(app.stock(vid).await, Some(0));
    assert_eq!(app.reserved(vid).await, 5);
    assert_eq!(
        sold(&app, vid).await,
        5,
        "order lines match the units taken"
    );
    let orders: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM orders")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(orders, 5);
    // The winners' orders are real and distinct.
    let mut ids: Vec<i64> = answers
        .iter()
        .filter(|(s, _)| *s == 201)
        .map(|(_, v)| v["id"].as_i64().unwrap())
        .collect();
    ids.dedup();
    assert_eq!(ids.len(), 5);
    // The catalog shows the sold-out variant as such.
    let v = app.variant("Teapot").await;
    assert_eq!(
        (v["stock"].as_i64(), v["available"].as_bool()),
        (Some(0), Some(false))
    );
});

both!(
    multi_line_orders_race_without_leaking_stock,
    |app: TestApp| async move {
        // Every order wants one teapot and one bowl; bowls are the scarce line. Losers must give
        // back the teapot they took before failing on the bowl.
        let t = app.variant_id("Teapot").await;
        let b = app.variant_id("Rishtan bowl").await;
        app.set_stock(t, Some(10)).await;
        app.set_stock(b, Some(3)).await;
        let body = json!({"items": [{"variant_id": t, "quantity": 1}, {"variant_id": b, "quantity": 1}],
                      "payment_method": "cash", "contact": contact()});
        let answers = fire(&app, vec![body; 20], 20_000).await;
        let t_ = tally(&answers);
        assert!(answers.iter().all(|(s, _)| *s < 500), "no 5xx: {t_:?}");
        assert_eq!(t_.get(&(201, String::new())), Some(&3), "{t_:?}");
        assert_eq!(t_.get(&(409, "out_of_stock".into())), Some(&17), "{t_:?}");
        assert_eq!(app.stock(b).await, Some(0));
        assert_eq!(
            app.stock(t).await,
            Some(7),
            "losers gave their teapots back"
        );
        assert_eq!((app.reserved(t).await, app.reserved(b).await), (3, 3));
        assert_eq!((sold(&app, t).await, sold(&app, b).await), (3, 3));
    }
);

both!(
    big_and_small_orders_never_exceed_stock,
    |app: TestApp| async move {
        // Mixed quantities (1, 2 and 3 units) against 7 units.
        let vid = app.variant_id("Pistachios").await;
        app.set_stock(vid, Some(7)).await;
        let bodies: Vec<Value> = (0..24)
        .map(|i| json!({"items": [{"variant_id": vid, "quantity": 1 + i % 3}], "payment_method": "cash", "contact": contact()}))
        .collect();
        let answers = fire(&app, bodies, 30_000).await;
        assert!(
            answers.iter().all(|(s, _)| *s == 201 || *s == 409),
            "{:?}",
            tally(&answers)
        );
        let won: i64 = answers
            .iter()
            .filter(|(s, _)| *s == 201)
            .map(|(_, v)| v["items"][0]["quantity"].as_i64().unwrap())
            .sum();
        let left = app.stock(vid).await.unwrap();
        // Eight one-unit orders cannot all fit in 7 units, so one of them lost, which happens only
        // at zero stock: everything is sold, nothing more.
        assert_eq!((won, left), (7, 0));
        assert_eq!(sold(&app, vid).await, won);
        assert_eq!(app.reserved(vid).await, won);
    }
);

both!(
    one_burst_each_order_answered_with_its_own_result,
    |app: TestApp| async move {
        // One burst that the writer commits in groups (SQLite) or in parallel transactions
        // (PostgreSQL), mixing every answer an order can get: 36 orders from 3 customers (12
        // each, over the cap of 10) for 20 teapots, and 5 retries of one Idempotency-Key for
        // unlimited pistachios. Each request must get its own answer, and the database must hold
        // exactly the orders that were answered 201.
        let teapot = app.variant_id("Teapot").await;
        let pistachios = app.variant_id("Pistachios").await;
        app.set_stock(teapot, Some(20)).await;
        app.set_stock(pistachios, None).await;
        let line = |vid: i64| json!({"items": [{"variant_id": vid, "quantity": 1}], "payment_method": "cash", "contact": contact()});
        let mut reqs = vec![];
        for n in 0..36 {
            reqs.push((40_001 + n % 3, None, line(teapot)));
        }
        for _ in 0..5 {
            reqs.push((40_100, Some("burst-key"), line(pistachios)));
        }
        let reqs = reqs.into_iter().map(|(u, k, b)| (u, (), k, b)).collect();
        let answers = burst(&app, reqs).await;

        let teapot_answers: Vec<_> = answers.iter().filter(|(u, _, _, _)| *u != 40_100).collect();
        let mut created = BTreeMap::<i64, Vec<i64>>::new();
        for (user, _, s, v) in &teapot_answers {
            match s {
                201 => {
                    assert_eq!(v["items"][0]["variant_id"], teapot, "{v}");
                    assert_eq!(v["status"], "pending_payment", "{v}");
                    created
                        .entry(*user)
                        .or_default()
                        .push(v["id"].as_i64().unwrap());
                }
                409 => assert_eq!(error_code(v), "out_of_stock", "{v}"),
                429 => assert_eq!(error_code(v), "too_many_open_orders", "{v}"),
                _ => panic!("unexpected {s}: {v}"),
            }
        }
        let won: usize = created.values().map(Vec::len).sum();
        assert_eq!(won, 20, "all 20 teapots sold: {created:?}");
        assert!(
            created.values().all(|ids| ids.len() <= 10),
            "cap held: {created:?}"
        );
        assert_eq!(app.stock(teapot).await, Some(0));
        assert_eq!(app.reserved(teapot).await, 20);
        assert_eq!(sold(&app, teapot).await, 20);
        // Every 201 is a distinct order in the database, of the customer it answered.
        for (user, ids) in &created {
            for id in ids {
                let (s, v) = app
                    .json(app.as_user(Method::GET, &format!("/api/orders/{id}"), *user))
                    .await;
                assert_eq!((s, v["id"].as_i64()), (200, Some(*id)), "{v}");
            }
            let mine: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM orders WHERE customer_id = $1")
                    .bind(*user)
                    .fetch_one(&app.state.db.pool)
                    .await
                    .unwrap();
            assert_eq!(mine as usize, ids.len(), "no order without an answer");
        }
        let mut all: Vec<i64> = created.values().flatten().copied().collect();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), 20);

        // The five retries of one key: one order, created once, the same order for all.
        let keyed: Vec<_> = answers.iter().filter(|(u, _, _, _)| *u == 40_100).collect();
        let statuses: Vec<u16> = keyed.iter().map(|(_, _, s, _)| *s).collect();
        assert_eq!(
            statuses.iter().filter(|s| **s == 201).count(),
            1,
            "{statuses:?}"
        );
        assert_eq!(
            statuses.iter().filter(|s| **s == 200).count(),
            4,
            "{statuses:?}"
        );
        let ids: std::collections::BTreeSet<i64> = keyed
            .iter()
            .map(|(_, _, _, v)| v["id"].as_i64().unwrap())
            .collect();
        assert_eq!(ids.len(), 1, "{keyed:?}");
        assert_eq!(app.reserved(pistachios).await, 1);
    }
);

/// Fires `(customer, tag, Idempotency-Key, body)` orders all at once; answers
/// (customer, tag, status, body), the tag saying what each order was.
async fn burst<T: Send + 'static>(
    app: &TestApp,
    reqs: Vec<(i64, T, Option<&'static str>, Value)>,
) -> Vec<(i64, T, u16, Value)> {
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(reqs.len()));
    let mut set = tokio::task::JoinSet::new();
    for (user, tag, key, body) in reqs {
        let mut rb = app.as_user(Method::POST, "/api/orders", user).json(&body);
        if let Some(k) = key {
            rb = rb.header("Idempotency-Key", k);
        }
        let barrier = barrier.clone();
        set.spawn(async move {
            barrier.wait().await;
            let r = rb.send().await.expect("request");
            let s = r.status().as_u16();
            let v: Value = r.json().await.expect("JSON answer");
            (user, tag, s, v)
        });
    }
    let mut out = vec![];
    while let Some(r) = set.join_next().await {
        out.push(r.expect("task"));
    }
    out
}

both!(
    a_refused_order_does_not_hold_back_the_orders_beside_it,
    |app: TestApp| async move {
        // Orders that arrive together are written together (on PostgreSQL in one statement
        // for the whole group). One refused order (its customer at the cap, a sold-out line)
        // must not cost the others theirs, and each must get exactly what it asked for:
        // several lines, from the request or from the cart.
        let teapot = app.variant_id("Teapot").await;
        let bowl = app.variant_id("Rishtan bowl").await;
        let nuts = app.variant_id("Pistachios").await;
        app.set_stock(teapot, Some(2)).await;
        app.set_stock(bowl, Some(1000)).await;
        app.set_stock(nuts, Some(1000)).await;
        let capped = 41_000;
        // One short of the cap: of its three orders that arrive together, one fits.
        for _ in 0..shop::orders::MAX_OPEN_ORDERS - 1 {
            app.cash_order(capped, bowl, 1).await;
        }
        let cart_users: Vec<i64> = (41_030..41_035).collect();
        for u in &cart_users {
            let (s, v) = app
                .json(
                    app.as_user(Method::PUT, "/api/cart", *u)
                        .json(&json!({"items": [{"variant_id": bowl, "quantity": 1},
                                      {"variant_id": nuts, "quantity": 3}]})),
                )
                .await;
            assert_eq!(s, 200, "{v}");
        }
        let one = |vid: i64| json!({"items": [{"variant_id": vid, "quantity": 1}], "payment_method": "cash", "contact": contact()});
        let two = json!({"items": [{"variant_id": bowl, "quantity": 2}, {"variant_id": nuts, "quantity": 1}],
                         "payment_method": "cash", "contact": contact()});
        let cart = json!({"payment_method": "cash", "contact": contact()});
        // First the capped customer's three orders among others that all fit, so a group
        // that holds them has nothing else to refuse; then sold-out lines, several lines and
        // carts together.
        let mut first: Vec<(i64, &'static str, Value)> = vec![];
        first.extend((0..3).map(|_| (capped, "capped", one(bowl))));
        first.extend((41_040..41_050).map(|u| (u, "bowl", one(bowl))));
        let mut then: Vec<(i64, &'static str, Value)> = vec![];
        then.extend((41_001..41_005).map(|u| (u, "teapot", one(teapot))));
        then.extend((41_010..41_030).map(|u| (u, "two", two.clone())));
        then.extend(cart_users.iter().map(|u| (*u, "cart", cart.clone())));
        let unkeyed = |reqs: Vec<(i64, &'static str, Value)>| {
            reqs.into_iter().map(|(u, w, b)| (u, w, None, b)).collect()
        };
        let mut answers = burst(&app, unkeyed(first)).await;
        answers.extend(burst(&app, unkeyed(then)).await);
        let mut seen = BTreeMap::<(&str, u16, String), usize>::new();
        let mut created = vec![];
        for (user, what, s, v) in answers {
            let code = if s >= 400 {
                error_code(&v).to_string()
            } else {
                String::new()
            };
            *seen.entry((what, s, code)).or_default() += 1;
            if s == 201 {
                let lines: Vec<(i64, i64)> = v["items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|i| {
                        (
                            i["variant_id"].as_i64().unwrap(),
                            i["quantity"].as_i64().unwrap(),
                        )
                    })
                    .collect();
                let want = match what {
                    "teapot" => vec![(teapot, 1)],
                    "two" => vec![(bowl, 2), (nuts, 1)],
                    "cart" => vec![(bowl, 1), (nuts, 3)],
                    "capped" | "bowl" => vec![(bowl, 1)],
                    _ => panic!("{what} should have been refused: {v}"),
                };
                let mut got = lines.clone();
                got.sort();
                let mut want_sorted = want.clone();
                want_sorted.sort();
                assert_eq!(got, want_sorted, "{what}: {v}");
                created.push((user, v["id"].as_i64().unwrap(), v["total"].clone()));
            }
        }
        let expect: BTreeMap<(&str, u16, String), usize> = [
            (("capped", 201, String::new()), 1),
            (("capped", 429, "too_many_open_orders".to_string()), 2),
            (("bowl", 201, String::new()), 10),
            (("teapot", 201, String::new()), 2),
            (("teapot", 409, "out_of_stock".to_string()), 2),
            (("two", 201, String::new()), 20),
            (("cart", 201, String::new()), 5),
        ]
        .into_iter()
        .collect();
        assert_eq!(seen, expect);

        // The database holds exactly the answered orders, each with its items, total and
        // first event, and the stock moved by exactly what they took.
        for (user, id, total) in &created {
            let (s, v) = app
                .json(app.as_user(Method::GET, &format!("/api/orders/{id}"), *user))
                .await;
            assert_eq!(s, 200, "{v}");
            assert_eq!(&v["total"], total, "{v}");
            assert_eq!(v["events"][0]["kind"], "created", "{v}");
        }
        let orders: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM orders WHERE customer_id >= 41000 AND customer_id < 41100",
        )
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
        assert_eq!(orders as usize, created.len() + 9);
        assert_eq!(app.stock(teapot).await, Some(0));
        assert_eq!(app.stock(bowl).await, Some(1000 - 9 - 1 - 10 - 40 - 5));
        assert_eq!(app.stock(nuts).await, Some(1000 - 20 - 15));
        assert_eq!(app.reserved(nuts).await, 35);
        assert_eq!(sold(&app, bowl).await, 65);
        // The orders from the cart emptied their carts (and only theirs).
        let left: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM cart_items WHERE customer_id >= 41030 AND customer_id < 41035",
        )
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
        assert_eq!(left, 0);
    }
);
