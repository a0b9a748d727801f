//! Inline mode and the Share button against a fake Bot API, on SQLite and PostgreSQL:
//! `@bot teapot` lists matching products with t.me links to the Mini App (never web_app
//! buttons), in the asker's language, paged by `next_offset`; the prepared-message route;
//! and slow inline answers never hold up a buyer's pre-checkout query.

mod common;
#[path = "support/fake_bot_api.rs"]
mod fake_bot_api;
#[path = "support/tg.rs"]
mod tg;

use std::collections::HashSet;
use std::time::Duration;

use common::*;
use reqwest::Method;
use serde_json::{json, Value};
use tg::{Mode, Tg};

fn inline_query(t: &Tg, qid: &str, user: i64, lang: &str, query: &str, offset: &str) -> Value {
    json!({"update_id": t.update_id(), "inline_query": {"id": qid,
        "from": {"id": user, "is_bot": false, "first_name": "U", "language_code": lang},
        "query": query, "offset": offset, "chat_type": "sender"}})
}

/// Delivers an inline query and answers the body of the answerInlineQuery it got.
async fn ask(t: &Tg, user: i64, lang: &str, query: &str, offset: &str) -> Value {
    let qid = format!("q{}", t.update_id());
    t.deliver(inline_query(t, &qid, user, lang, query, offset))
        .await;
    t.fake
        .wait_for("answerInlineQuery", |b| {
            b["inline_query_id"] == qid.as_str()
        })
        .await
}

fn titles(answer: &Value) -> Vec<String> {
    answer["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["title"].as_str().unwrap().to_string())
        .collect()
}

async fn product_id(t: &Tg, name: &str) -> i64 {
    t.app.product(name).await["id"].as_i64().unwrap()
}

both_kinds!(
    inline_query_lists_matching_products_with_links_to_the_mini_app,
    |kind: Kind| async move {
        let Some(t) = Tg::start(kind, Mode::Webhook, &[]).await else {
            return;
        };
        let teapot = product_id(&t, "Teapot").await;
        let tea = product_id(&t, "Green tea").await;

        // Russian: the titles in Russian, newest first.
        let a = ask(&t, 7001, "ru", "ЧАЙ", "").await;
        let get_me = t.fake.calls("getMe").len();
        assert!(
            (1..=2).contains(&get_me),
            "getMe: setup's and at most one more"
        );
        assert_eq!(titles(&a), ["Зелёный чай", "Чайник"], "{a}");
        assert_eq!(a["is_personal"], false);
        assert!(a["cache_time"].as_u64().unwrap() <= 60, "{a}");
        assert_eq!(a["next_offset"], "", "one page only");
        assert!(!a.to_string().contains("web_app"), "{a}");
        let ids: HashSet<&str> = a["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids.len(), 2);
        let r = a["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["title"] == "Чайник")
            .unwrap();
        assert_eq!(r["type"], "article");
        assert_eq!(
            r["reply_markup"]["inline_keyboard"][0][0]["url"],
            format!("https://t.me/shop_bot?startapp=product_{teapot}")
        );
        assert_eq!(
            r["reply_markup"]["inline_keyboard"][0][0]["text"],
            "Открыть"
        );
        // The price as the bot's other messages write it; the picture as an absolute URL.
        assert_eq!(r["description"], "150 000 so'm");
        let thumb = r["thumbnail_url"].as_str().unwrap();
        assert!(
            thumb.starts_with("https://shop.test/media/") && thumb.ends_with(".jpg"),
            "{thumb}"
        );
        let text = r["input_message_content"]["message_text"].as_str().unwrap();
        assert!(
            text.contains("Чайник") && text.contains("150 000 so'm"),
            "{text}"
        );
        assert_eq!(
            r["input_message_content"]["link_preview_options"]["url"],
            thumb
        );

        // English, any case; Uzbek.
        let a = ask(&t, 7002, "en", "TEA", "").await;
        assert_eq!(titles(&a), ["Green tea", "Teapot"]);
        let green = &a["results"][0];
        assert_eq!(
            green["reply_markup"]["inline_keyboard"][0][0]["url"],
            format!("https://t.me/shop_bot?startapp=product_{tea}")
        );
        let a = ask(&t, 7003, "uz", "choynak", "").await;
        assert_eq!(titles(&a), ["Choynak"]);
        // An unknown language reads English.
        let a = ask(&t, 7004, "de", "teapot", "").await;
        assert_eq!(titles(&a), ["Teapot"]);

        // Titles only: a word of a description alone finds nothing.
        let a = ask(&t, 7005, "en", "porcelain", "").await;
        assert!(titles(&a).is_empty(), "{a}");
        // LIKE's wildcards match literally.
        let a = ask(&t, 7005, "en", "%", "").await;
        assert!(titles(&a).is_empty(), "{a}");

        // An empty query: the newest products.
        let a = ask(&t, 7006, "en", "", "").await;
        let listed = a["results"].as_array().unwrap();
        assert!(!listed.is_empty() && listed.len() <= 20, "{a}");
        let ids: Vec<i64> = listed
            .iter()
            .map(|r| {
                r["id"]
                    .as_str()
                    .unwrap()
                    .trim_start_matches("product_")
                    .parse()
                    .unwrap()
            })
            .collect();
        assert!(ids.windows(2).all(|w| w[0] > w[1]), "{ids:?}");

        // An archived product is not offered.
        sqlx::query("UPDATE products SET archived = 1 WHERE id = $1")
            .bind(teapot)
            .execute(&t.app.state.db.pool)
            .await
            .unwrap();
        let a = ask(&t, 7007, "en", "tea", "").await;
        assert_eq!(titles(&a), ["Green tea"]);

        // The bot's username is remembered, not asked per query.
        assert_eq!(t.fake.calls("getMe").len(), get_me);
    }
);

/// Adds `n` products titled "Mug <i>" with one variant each.
async fn add_mugs(app: &TestApp, n: usize) {
    for i in 0..n {
        let title = json!({"en": format!("Mug {i}"), "ru": format!("Кружка {i}"), "uz": format!("Krujka {i}")});
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO products (kind, title_json, search_text, created_at, updated_at) \
             VALUES ('physical', $1, $2, 0, 0) RETURNING id",
        )
        .bind(title.to_string())
        .bind(format!("mug {i}\nкружка {i}\nkrujka {i}"))
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO variants (product_id, sku, price_minor, currency, stock, created_at, updated_at) \
             VALUES ($1, $2, 5000000, 'UZS', 5, 0, 0)",
        )
        .bind(id)
        .bind(format!("MUG-{i}"))
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    }
}

both_kinds!(
    inline_results_page_by_next_offset,
    |kind: Kind| async move {
        let Some(t) = Tg::start(kind, Mode::Webhook, &[]).await else {
            return;
        };
        add_mugs(&t.app, 25).await;
        let first = ask(&t, 7101, "en", "mug", "").await;
        assert_eq!(first["results"].as_array().unwrap().len(), 20);
        let next = first["next_offset"].as_str().unwrap().to_string();
        assert!(!next.is_empty(), "{first}");
        let second = ask(&t, 7101, "en", "mug", &next).await;
        assert_eq!(second["results"].as_array().unwrap().len(), 5, "{second}");
        assert_eq!(second["next_offset"], "");
        let all: HashSet<String> = titles(&first).into_iter().chain(titles(&second)).collect();
        assert_eq!(all.len(), 25, "pages overlap or miss: {all:?}");
        assert!(all.iter().all(|t| t.starts_with("Mug ")));
        // Newest first across the pages.
        assert_eq!(titles(&first)[0], "Mug 24");
        assert_eq!(titles(&second)[4], "Mug 0");
    }
);

both_kinds!(
    the_share_route_prepares_the_product_message,
    |kind: Kind| async move {
        let Some(t) = Tg::start(kind, Mode::Webhook, &[]).await else {
            return;
        };
        let teapot = product_id(&t, "Teapot").await;
        let (s, v) = t
            .app
            .json(t.app.as_user(
                Method::POST,
                &format!("/api/products/{teapot}/share?lang=uz"),
                7201,
            ))
            .await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["id"], "prepared_1");
        assert!(v["expiration_date"].as_i64().unwrap() > now());
        let call = &t.fake.calls("savePreparedInlineMessage")[0];
        assert_eq!(call["user_id"], 7201);
        assert_eq!(call["allow_user_chats"], true);
        assert_eq!(call["allow_group_chats"], true);
        let r = &call["result"];
        assert_eq!(r["title"], "Choynak");
        assert_eq!(
            r["reply_markup"]["inline_keyboard"][0][0]["url"],
            format!("https://t.me/shop_bot?startapp=product_{teapot}")
        );
        assert!(!call.to_string().contains("web_app"));

        // Signed-in customers only; products on sale only.
        let r = t
            .app
            .client
            .post(t.app.url(&format!("/api/products/{teapot}/share")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 401);
        let (s, v) = t
            .app
            .json(
                t.app
                    .as_user(Method::POST, "/api/products/999999/share", 7201),
            )
            .await;
        assert_eq!((s, error_code(&v)), (404, "not_found"), "{v}");
        sqlx::query("UPDATE products SET archived = 1 WHERE id = $1")
            .bind(teapot)
            .execute(&t.app.state.db.pool)
            .await
            .unwrap();
        let (s, _) = t
            .app
            .json(
                t.app
                    .as_user(Method::POST, &format!("/api/products/{teapot}/share"), 7201),
            )
            .await;
        assert_eq!(s, 404);
        assert_eq!(t.fake.calls("savePreparedInlineMessage").len(), 1);
    }
);

// Many inline queries whose answers Telegram is slow to take, then a buyer's pre-checkout
// query: the buyer is answered while every inline answer is still on its way, and only a
// bounded number of inline queries is worked on at once.
both_kinds!(
    slow_inline_answers_do_not_hold_up_a_pre_checkout_query,
    |kind: Kind| async move {
        use shop::telegram::api::INLINE_AT_ONCE;
        let Some(t) = Tg::start(kind, Mode::Polling, &[]).await else {
            return;
        };
        let buyer = 7301;
        let order = t
            .order(buyer, t.app.variant_id("Plov recipe").await, "stars")
            .await;
        let inv = t.invoice_of(&order).await;
        t.fake.slow_inline_answers(Duration::from_secs(4));
        for i in 0..20 {
            t.deliver(inline_query(
                &t,
                &format!("slow{i}"),
                7400 + i,
                "en",
                "tea",
                "",
            ))
            .await;
        }
        // The first inline answers are on their way (held by the slow API)…
        t.fake.wait_for("answerInlineQuery", |_| true).await;
        // …when the buyer's query comes in a later batch.
        t.deliver(t.pre_checkout("buyer-pq", buyer, &inv, 50)).await;
        assert_eq!(t.answer("buyer-pq").await["ok"], true);
        assert_eq!(
            t.fake.inline_answered(),
            0,
            "the pre-checkout query waited for an inline answer"
        );
        // At most INLINE_AT_ONCE were being answered; the rest were dropped, not queued.
        for _ in 0..200 {
            if t.fake.inline_answered() == t.fake.calls("answerInlineQuery").len() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let n = t.fake.calls("answerInlineQuery").len();
        assert!((1..=INLINE_AT_ONCE).contains(&n), "{n} inline answers");
    }
);
