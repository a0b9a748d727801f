//! The Telegram bot against a fake Bot API, on SQLite and PostgreSQL: setup at start,
//! commands in the user's language, rate limits, an unreachable API, provider invoices.

mod common;
#[path = "support/fake_bot_api.rs"]
mod fake_bot_api;
#[path = "support/tg.rs"]
mod tg;

use std::time::Duration;

use common::*;
use fake_bot_api::FakeBotApi;
use reqwest::Method;
use serde_json::{json, Value};
use tg::{Mode, Tg};

fn command(t: &Tg, user: i64, lang: &str, text: &str) -> Value {
    json!({"update_id": t.update_id(), "message": {"message_id": 1, "date": 0, "text": text,
        "from": {"id": user, "is_bot": false, "first_name": "U", "language_code": lang},
        "chat": {"id": user, "type": "private"}}})
}

both_kinds!(
    setup_registers_webhook_commands_and_menu,
    |kind: Kind| async move {
        let Some(t) = Tg::start(kind, Mode::Webhook, &[]).await else {
            return;
        };
        t.fake.wait_for("setChatMenuButton", |_| true).await;
        let wh = t.fake.calls("setWebhook");
        assert_eq!(wh.len(), 1);
        let allowed = wh[0]["allowed_updates"].as_array().unwrap();
        for u in [
            "message",
            "pre_checkout_query",
            "inline_query",
            "my_chat_member",
        ] {
            assert!(allowed.iter().any(|a| a == u), "{allowed:?}");
        }
        let cmds = t.fake.calls("setMyCommands");
        for lang in ["uz", "ru", "en"] {
            let c = cmds
                .iter()
                .find(|c| c["language_code"] == lang)
                .unwrap_or_else(|| panic!("no commands for {lang}: {cmds:?}"));
            let names: Vec<&str> = c["commands"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["command"].as_str().unwrap())
                .collect();
            assert_eq!(
                names,
                ["start", "orders", "paysupport", "terms", "stop", "help"]
            );
        }
        let menu = &t.fake.calls("setChatMenuButton")[0]["menu_button"];
        assert_eq!(menu["type"], "web_app");
        assert_eq!(menu["web_app"]["url"], "https://shop.test/");
        // Webhook mode does not poll.
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(t.fake.calls("getUpdates").is_empty());

        // Polling mode clears any webhook and polls; the menu button needs https, so none.
        let Some(p) = Tg::start(kind, Mode::Polling, &[]).await else {
            return;
        };
        p.fake.wait_for("getUpdates", |_| true).await;
        p.fake.wait_for("deleteWebhook", |_| true).await;
        assert!(p.fake.calls("setWebhook").is_empty());
    }
);

both_kinds!(
    start_and_other_commands_answer_in_the_users_language,
    |kind: Kind| async move {
        let Some(t) = Tg::start(kind, Mode::Webhook, &[]).await else {
            return;
        };
        t.deliver(command(&t, 8001, "ru", "/start product_42"))
            .await;
        let m = t
            .fake
            .wait_for("sendMessage", |b| b["chat_id"] == 8001)
            .await;
        assert!(m["text"].as_str().unwrap().contains("Здравствуйте"), "{m}");
        let button = &m["reply_markup"]["inline_keyboard"][0][0];
        assert_eq!(
            button["web_app"]["url"],
            "https://shop.test/?startapp=product_42"
        );
        assert_eq!(button["text"], "Открыть магазин");

        t.deliver(command(&t, 8002, "uz", "/start")).await;
        let m = t
            .fake
            .wait_for("sendMessage", |b| b["chat_id"] == 8002)
            .await;
        assert!(m["text"].as_str().unwrap().contains("Assalomu"), "{m}");
        assert_eq!(
            m["reply_markup"]["inline_keyboard"][0][0]["web_app"]["url"],
            "https://shop.test/"
        );

        // A start parameter that is not a plain token is not passed on.
        t.deliver(command(&t, 8003, "en", "/start a&b=c")).await;
        let m = t
            .fake
            .wait_for("sendMessage", |b| b["chat_id"] == 8003)
            .await;
        assert_eq!(
            m["reply_markup"]["inline_keyboard"][0][0]["web_app"]["url"],
            "https://shop.test/"
        );

        t.deliver(command(&t, 8004, "en", "/paysupport")).await;
        let m = t
            .fake
            .wait_for("sendMessage", |b| b["chat_id"] == 8004)
            .await;
        assert!(m["text"].as_str().unwrap().contains("refund"), "{m}");

        // /orders lists the customer's orders.
        let order = t
            .order(8005, t.app.variant_id("Plov recipe").await, "stars")
            .await;
        t.deliver(command(&t, 8005, "en", "/orders")).await;
        let m = t
            .fake
            .wait_for("sendMessage", |b| b["chat_id"] == 8005)
            .await;
        let text = m["text"].as_str().unwrap();
        assert!(text.contains(&format!("#{}", order["id"])), "{text}");
        assert!(text.contains("awaiting payment"), "{text}");

        // The same update twice is answered once.
        let help = command(&t, 8006, "en", "/help");
        t.deliver(help.clone()).await;
        t.deliver(help).await;
        t.fake
            .wait_for("sendMessage", |b| b["chat_id"] == 8006)
            .await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(t.messages_to(8006).len(), 1);
    }
);

/// Replaces `user`'s cart through the API, signed in from a Telegram client in `lang`.
async fn set_cart(t: &Tg, user: i64, lang: &str, items: Value) {
    let who = json!({"id": user, "first_name": "U", "language_code": lang}).to_string();
    let auth = now().to_string();
    let init = shop::auth::init_data::sign_hmac(
        BOT_TOKEN,
        &[("auth_date", auth.as_str()), ("user", who.as_str())],
    );
    let r = t
        .app
        .client
        .put(t.app.url("/api/cart"))
        .header("Authorization", format!("tma {init}"))
        .json(&json!({ "items": items }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200, "{}", r.text().await.unwrap());
}

/// Waits until the bot's queue to `chat` is sent.
async fn sent_all(t: &Tg, chat: i64) {
    let bot = shop::telegram::Bot::from_config(&t.app.state.config, &t.app.state.http).unwrap();
    for _ in 0..200 {
        if bot.waiting(chat) == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the bot's queue to {chat} never emptied");
}

both_kinds!(
    a_left_cart_is_reminded_once_to_whoever_started_the_bot,
    |kind: Kind| async move {
        use shop::telegram::reminders::remind_due;
        let Some(t) = Tg::start(kind, Mode::Webhook, &[("CART_REMINDER_HOURS", "1")]).await else {
            return;
        };
        let st = shop::startup::bot_state(&t.app.state);
        let bot = shop::telegram::Bot::from_config(&t.app.state.config, &t.app.state.http).unwrap();
        let hours = |h: i64| now() + h * 3600;
        // A started the bot; B never did; C started it and sent /stop; D started it and then
        // blocked it.
        let (a, b, c, d) = (8201, 8202, 8203, 8204);
        t.deliver(command(&t, a, "ru", "/start")).await;
        t.deliver(command(&t, d, "en", "/start")).await;
        t.deliver(json!({"update_id": t.update_id(), "my_chat_member": {
            "chat": {"id": d, "type": "private"}, "date": 0,
            "from": {"id": d, "is_bot": false, "first_name": "D"},
            "old_chat_member": {"status": "member", "user": {"id": 1, "is_bot": true, "first_name": "Shop"}},
            "new_chat_member": {"status": "kicked", "until_date": 0,
                "user": {"id": 1, "is_bot": true, "first_name": "Shop"}}}}))
        .await;
        t.deliver(command(&t, c, "uz", "/start")).await;
        t.deliver(command(&t, c, "uz", "/stop")).await;
        let stop = t
            .fake
            .wait_for("sendMessage", |m| {
                m["chat_id"] == c && m["text"].as_str().unwrap().contains("o'chirildi")
            })
            .await;
        assert!(stop["text"].as_str().unwrap().contains("/start"), "{stop}");
        let teapot = t.app.variant_id("Teapot").await;
        let line = |q: i64| json!([{"variant_id": teapot, "quantity": q}]);
        set_cart(&t, a, "ru", line(2)).await;
        set_cart(&t, b, "en", line(1)).await;
        set_cart(&t, c, "uz", line(1)).await;
        set_cart(&t, d, "en", line(1)).await;

        assert_eq!(
            remind_due(&st, &bot, now()).await.unwrap(),
            0,
            "not due yet"
        );
        assert_eq!(remind_due(&st, &bot, hours(2)).await.unwrap(), 1);
        let m = t
            .fake
            .wait_for("sendMessage", |m| {
                m["chat_id"] == a && m["text"].as_str().unwrap().contains("корзин")
            })
            .await;
        assert!(m["text"].as_str().unwrap().contains('2'), "{m}");
        let button = &m["reply_markup"]["inline_keyboard"][0][0];
        assert_eq!(button["web_app"]["url"], "https://shop.test/?startapp=cart");
        assert_eq!(button["text"], "Открыть корзину");
        // Once: later rounds leave the same cart alone.
        assert_eq!(remind_due(&st, &bot, hours(5)).await.unwrap(), 0);
        for u in [a, b, c] {
            sent_all(&t, u).await;
        }
        assert_eq!(t.messages_to(a).len(), 2, "{:?}", t.messages_to(a));
        assert!(t.messages_to(b).is_empty(), "{:?}", t.messages_to(b));
        assert_eq!(t.messages_to(c).len(), 2, "{:?}", t.messages_to(c));
        sent_all(&t, d).await;
        assert_eq!(
            t.messages_to(d).len(),
            1,
            "only /start's answer: {:?}",
            t.messages_to(d)
        );

        // A changed cart is reminded once more; the same cart saved again is no change.
        set_cart(&t, a, "ru", line(1)).await;
        assert_eq!(remind_due(&st, &bot, hours(2)).await.unwrap(), 1);
        set_cart(&t, a, "ru", line(1)).await;
        assert_eq!(remind_due(&st, &bot, hours(6)).await.unwrap(), 0);
        // An emptied cart is not reminded.
        set_cart(&t, a, "ru", json!([])).await;
        assert_eq!(remind_due(&st, &bot, hours(6)).await.unwrap(), 0);

        // /start turns C's reminders back on, for the cart's next change.
        t.deliver(command(&t, c, "uz", "/start")).await;
        set_cart(&t, c, "uz", line(3)).await;
        assert_eq!(remind_due(&st, &bot, hours(2)).await.unwrap(), 1);
        t.fake
            .wait_for("sendMessage", |m| {
                m["chat_id"] == c && m["text"].as_str().unwrap().contains("Savatingizda 3")
            })
            .await;

        // CART_REMINDER_HOURS=0: no reminders at all.
        let Some(off) = Tg::start(kind, Mode::Webhook, &[("CART_REMINDER_HOURS", "0")]).await
        else {
            return;
        };
        off.deliver(command(&off, a, "en", "/start")).await;
        set_cart(&off, a, "en", line(1)).await;
        let st = shop::startup::bot_state(&off.app.state);
        assert_eq!(remind_due(&st, &bot, hours(100)).await.unwrap(), 0);
    }
);

both_kinds!(
    a_local_http_shop_sends_the_link_as_text,
    |kind: Kind| async move {
        let Some(t) = Tg::start(kind, Mode::Polling, &[]).await else {
            return;
        };
        t.deliver(command(&t, 8040, "en", "/start product_7")).await;
        let m = t
            .fake
            .wait_for("sendMessage", |b| b["chat_id"] == 8040)
            .await;
        assert!(m.get("reply_markup").is_none(), "{m}");
        let text = m["text"].as_str().unwrap();
        assert!(
            text.contains("http://127.0.0.1:8080/?startapp=product_7"),
            "{text}"
        );
    }
);

both_kinds!(messages_wait_out_429, |kind: Kind| async move {
    let Some(t) = Tg::start(kind, Mode::Polling, &[]).await else {
        return;
    };
    t.fake.throttle_next_messages(1);
    t.deliver(command(&t, 8010, "en", "/terms")).await;
    // Refused once with retry_after 1, then sent.
    for _ in 0..100 {
        if t.fake.calls("sendMessage").len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let sends = t.fake.calls("sendMessage");
    assert_eq!(sends.len(), 2, "{sends:?}");
    assert_eq!(sends[0], sends[1]);
});

both_kinds!(
    unreachable_or_refusing_api_never_blocks_start,
    |kind: Kind| async move {
        // Nothing listens there: the shop starts and serves, and a Stars order says why it fails.
        let Some(app) = spawn(kind, &[("TELEGRAM_API_URL", "http://127.0.0.1:9")]).await else {
            return;
        };
        let (s, _) = app.json(app.get("/healthz")).await;
        assert_eq!(s, 200);
        let v = app.variant_id("Plov recipe").await;
        let (s, body) = app
            .order(
                9001,
                json!({"items": [{"variant_id": v, "quantity": 1}], "payment_method": "stars"}),
            )
            .await;
        assert_eq!(
            (s, error_code(&body)),
            (502, "telegram_unavailable"),
            "{body}"
        );
        assert!(!body.to_string().contains(BOT_TOKEN));

        // A Bot API that refuses the token: polling backs off instead of spinning.
        let fake = FakeBotApi::start("999:other-token").await;
        let Some(_app) = spawn(kind, &[("TELEGRAM_API_URL", fake.url.as_str())]).await else {
            return;
        };
        tokio::time::sleep(Duration::from_secs(3)).await;
        let hits = fake.hits();
        assert!(hits >= 1, "the bot never tried");
        assert!(hits <= 8, "{hits} requests in 3 s: polling spins");
    }
);

both_kinds!(dev_mode_runs_no_bot, |kind: Kind| async move {
    let fake = FakeBotApi::start(BOT_TOKEN).await;
    let Some(_app) = spawn(
        kind,
        &[
            ("TELEGRAM_BOT_TOKEN", ""),
            ("TELEGRAM_API_URL", fake.url.as_str()),
        ],
    )
    .await
    else {
        return;
    };
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(fake.hits(), 0);
});

both_kinds!(
    provider_invoices_for_physical_goods,
    |kind: Kind| async move {
        let Some(t) = Tg::start(
            kind,
            Mode::Polling,
            &[("TELEGRAM_PROVIDER_TOKEN", "398062629:TEST:prov")],
        )
        .await
        else {
            return;
        };
        let user = 8020;
        let teapot = t.app.variant_id("Teapot").await;
        let bowl = t.app.variant_id("Rishtan bowl").await;
        let (s, order) = t
        .app
        .order(
            user,
            json!({"items": [{"variant_id": teapot, "quantity": 1}, {"variant_id": bowl, "quantity": 2}],
                "payment_method": "telegram", "contact": contact()}),
        )
        .await;
        assert_eq!(s, 201, "{order}");
        let id = order["id"].as_i64().unwrap();
        let inv = t.invoice_of(&order).await;
        assert_eq!(inv["currency"], "UZS");
        assert_eq!(inv["provider_token"], "398062629:TEST:prov");
        let amounts: Vec<i64> = inv["prices"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["amount"].as_i64().unwrap())
            .collect();
        // Tiyin, one line per item, summing to the order total.
        assert_eq!(amounts.len(), 2);
        assert!(
            amounts.contains(&15_000_000) && amounts.contains(&17_000_000),
            "{amounts:?}"
        );
        let total = order["total"]["amount_minor"].as_i64().unwrap();
        assert_eq!(amounts.iter().sum::<i64>(), total);
        assert_eq!(inv["need_shipping_address"], true);
        assert_eq!(inv["need_phone_number"], true);
        assert_eq!(inv["need_name"], true);

        t.deliver(
            json!({"update_id": t.update_id(), "shipping_query": {"id": "sq1",
        "from": {"id": user, "is_bot": false, "first_name": "U", "language_code": "uz"},
        "invoice_payload": inv["payload"],
        "shipping_address": {"country_code": "UZ", "state": "", "city": "Tashkent",
            "street_line1": "Amir Temur 1", "street_line2": "", "post_code": "100000"}}}),
        )
        .await;
        let a = t
            .fake
            .wait_for("answerShippingQuery", |b| b["shipping_query_id"] == "sq1")
            .await;
        assert_eq!(a["ok"], true);
        let options = a["shipping_options"].as_array().unwrap();
        assert!(!options.is_empty());
        assert!(
            options[0]["title"].as_str().unwrap().contains("Kuryer"),
            "{a}"
        );

        t.deliver(t.pre_checkout("pq", user, &inv, total)).await;
        assert_eq!(t.answer("pq").await["ok"], true);
        let pay = t.payment(
            user,
            &inv,
            total,
            "tg-charge-1",
            json!({"shipping_option_id": "courier"}),
        );
        t.deliver(pay.clone()).await;
        t.deliver(pay).await;
        t.wait_status(id, "paid").await;
        let provider: String =
            sqlx::query_scalar("SELECT provider FROM payments WHERE order_id = $1")
                .bind(id)
                .fetch_one(&t.app.state.db.pool)
                .await
                .unwrap();
        assert_eq!(provider, "telegram");
        assert_eq!(t.payments(id).await.len(), 1);

        // Shipping it tells the customer.
        let csrf = t.app.admin_login().await;
        let (s, v) = t
            .app
            .json(
                t.app
                    .admin(Method::POST, &format!("/api/admin/orders/{id}/ship"), &csrf),
            )
            .await;
        assert_eq!(s, 200, "{v}");
        t.fake
            .wait_for("sendMessage", |b| {
                b["chat_id"] == user && b["text"].as_str().unwrap().contains("on its way")
            })
            .await;

        // Digital goods and Stars prices are not for provider invoices.
        let plov = t.app.variant_id("Plov recipe").await;
        let (s, body) = t
        .app
        .order(user, json!({"items": [{"variant_id": plov, "quantity": 1}], "payment_method": "telegram"}))
        .await;
        assert_eq!((s, error_code(&body)), (400, "payment_method_unfit"));
    }
);

/// How many commands the flooding chat sends.
const FLOOD: usize = 100;

/// Chat A sends 100 commands, then buyer B's pre-checkout query comes. B is answered before
/// A's backlog is sent (in polling, where both arrive in one batch, before any of A's
/// replies); A's replies beyond its queue's bound are dropped.
async fn a_flood_then_a_buyer(kind: Kind, mode: Mode) {
    use shop::telegram::outbox::CHAT_QUEUE_MAX;
    let Some(t) = Tg::start(kind, mode, &[]).await else {
        return;
    };
    let (a, b) = (8100, 8101);
    let order = t
        .order(b, t.app.variant_id("Plov recipe").await, "stars")
        .await;
    let inv = t.invoice_of(&order).await;
    if mode == Mode::Polling {
        t.fake.hold_updates();
    }
    let mut last = 0;
    for _ in 0..FLOOD {
        let u = command(&t, a, "en", "/help");
        last = u["update_id"].as_i64().unwrap();
        t.deliver(u).await;
    }
    t.deliver(t.pre_checkout("b-pays", b, &inv, 50)).await;
    t.fake.release_updates();
    assert_eq!(t.answer("b-pays").await["ok"], true);

    // Every command handled (remembered), then A's queue sent to its end.
    for _ in 0..200 {
        let seen: Option<String> = sqlx::query_scalar(
            "SELECT event_id FROM processed_events WHERE source = 'telegram' AND event_id = $1",
        )
        .bind(last.to_string())
        .fetch_optional(&t.app.state.db.pool)
        .await
        .unwrap();
        if seen.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let after_flood = t.messages_to(a).len();
    let bot = shop::telegram::Bot::from_config(&t.app.state.config, &t.app.state.http).unwrap();
    for _ in 0..600 {
        if bot.waiting(a) == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(bot.waiting(a), 0, "A's queue never emptied");
    let sent = t.messages_to(a).len();

    let log = t.fake.log();
    let before_b = log
        .iter()
        .take_while(|(m, v)| {
            !(m == "answerPreCheckoutQuery" && v["pre_checkout_query_id"] == "b-pays")
        })
        .filter(|(m, v)| m == "sendMessage" && v["chat_id"] == a)
        .count();
    assert!(
        before_b < sent,
        "B was answered only after all {sent} of A's replies"
    );
    if mode == Mode::Polling {
        assert_eq!(before_b, 0, "the batch's query did not go first");
    }
    assert!(
        sent <= after_flood + CHAT_QUEUE_MAX,
        "{sent} replies to A, {after_flood} when its flood was handled"
    );
    assert!(sent < FLOOD, "none of A's {FLOOD} replies was dropped");
}

both_kinds!(
    a_flooding_chat_does_not_delay_a_buyer_polling,
    |kind: Kind| a_flood_then_a_buyer(kind, Mode::Polling)
);

both_kinds!(
    a_flooding_chat_does_not_delay_a_buyer_webhook,
    |kind: Kind| a_flood_then_a_buyer(kind, Mode::Webhook)
);

both_kinds!(
    a_payment_cut_off_by_the_request_timeout_counts_when_delivered_again,
    |kind: Kind| async move {
        let Some(t) = Tg::start(kind, Mode::Webhook, &[("REQUEST_TIMEOUT_SECS", "1")]).await else {
            return;
        };
        let user = 8110;
        let order = t
            .order(user, t.app.variant_id("Plov recipe").await, "stars")
            .await;
        let id = order["id"].as_i64().unwrap();
        let inv = t.invoice_of(&order).await;
        let pay = t.payment(user, &inv, 50, "charge-cut", json!({}));

        // Something holds the payments table, so storing the payment outlasts the request.
        let mut lock = t.app.state.db.begin_write().await.unwrap();
        if kind == Kind::Postgres {
            sqlx::query("LOCK TABLE payments IN EXCLUSIVE MODE")
                .execute(lock.conn())
                .await
                .unwrap();
        }
        let r = t
            .app
            .client
            .post(t.app.url("/webhooks/telegram"))
            .header("X-Telegram-Bot-Api-Secret-Token", tg::SECRET)
            .json(&pay)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 408);
        lock.commit().await.unwrap();
        assert_eq!(t.status(id).await, "pending_payment");

        // Telegram delivers it again: it was not taken for handled.
        t.deliver(pay).await;
        t.wait_status(id, "paid").await;
        assert_eq!(t.payments(id).await.len(), 1);
    }
);

both!(
    without_a_provider_token_telegram_invoices_are_unavailable,
    |app: TestApp| async move {
        let v = app.variant_id("Teapot").await;
        let (s, body) = app
        .order(
            8030,
            json!({"items": [{"variant_id": v, "quantity": 1}], "payment_method": "telegram", "contact": contact()}),
        )
        .await;
        assert_eq!((s, error_code(&body)), (400, "payment_method_unavailable"));
    }
);

/// The fake is only worth its tests if it refuses what Telegram refuses.
#[tokio::test]
async fn the_fake_bot_api_refuses_what_telegram_refuses() {
    use shop::telegram::{Bot, BotError};
    let fake = FakeBotApi::start(BOT_TOKEN).await;
    let http = reqwest::Client::new();
    let bot = Bot::new(http.clone(), &fake.url, BOT_TOKEN);
    let code = |r: Result<Value, BotError>| match r {
        Ok(v) => panic!("accepted: {v}"),
        Err(BotError::Api { code, .. }) => code,
        Err(e) => panic!("{e}"),
    };
    let good = json!({"title": "T", "description": "D", "payload": "1.ab", "provider_token": "",
        "currency": "XTR", "prices": [{"label": "T", "amount": 5}]});
    let link: String = bot.call("createInvoiceLink", &good).await.unwrap();
    assert!(link.starts_with("https://t.me/"));
    let wrong = Bot::new(http, &fake.url, "1:wrong");
    assert_eq!(code(wrong.call("getMe", &json!({})).await), 401);
    assert_eq!(code(bot.call("sendInvoiceLink", &good).await), 404);
    for (k, v) in [
        ("provider_token", json!("398062629:TEST:x")),
        (
            "prices",
            json!([{"label": "a", "amount": 2}, {"label": "b", "amount": 3}]),
        ),
        ("payload", json!("p".repeat(129))),
        ("subscription_period", json!(86400)),
        ("max_tip_amount", json!(10)),
    ] {
        let mut b = good.clone();
        b[k] = v;
        assert_eq!(code(bot.call("createInvoiceLink", &b).await), 400, "{k}");
    }
    let mut sub = good.clone();
    sub["subscription_period"] = json!(2_592_000);
    sub["prices"][0]["amount"] = json!(10_001);
    assert_eq!(code(bot.call("createInvoiceLink", &sub).await), 400);
    let refund = json!({"user_id": 1, "telegram_payment_charge_id": "c"});
    let _: Value = bot.call("refundStarPayment", &refund).await.unwrap();
    let again = bot
        .call::<Value>("refundStarPayment", &refund)
        .await
        .unwrap_err();
    assert!(again.description().contains("CHARGE_ALREADY_REFUNDED"));
}
