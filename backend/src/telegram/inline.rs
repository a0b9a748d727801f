//! Inline mode: `@<bot> teapot` in any chat lists the products whose title matches, each a
//! message with the product's picture, title and price and a button that opens the Mini App
//! at it. The same message, prepared with `savePreparedInlineMessage`, is what the
//! storefront's Share button sends (`share` route).
//!
//! The button is a `url` button to the bot's main Mini App,
//! `https://t.me/<bot>?startapp=product_<id>`: Telegram refuses `web_app` buttons in inline
//! results (they would open the app for the sender's bot session, not the reader's), and the
//! t.me link opens it for whoever taps it with `start_param` set.
//!
//! Answering never holds up the updates behind it (a buyer's `pre_checkout_query` has 10 s):
//! [`spawn_answer`] hands the query to a task of its own and returns, and at most
//! [`INLINE_AT_ONCE`] are answered at once, the excess dropped.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::{json, Value};
use shared::{Currency, Lang, Money};

use crate::catalog::repo::{like_pattern, product_cols, texts, ProductRow};
use crate::db::{Db, SqlBuilder};
use crate::error::Result;
use crate::telegram::api::INLINE_AT_ONCE;
use crate::telegram::texts::{lang_of, t};
use crate::telegram::{Bot, BotState};

/// Results per answer; Telegram takes at most 50, a phone shows a handful.
pub const PAGE: usize = 20;
/// Rows read per round when the query narrows by title, and rounds per answer: a query that
/// matches descriptions but few titles still costs at most `SCAN * SCANS` rows; the next page
/// (`next_offset`) goes on from where this one stopped.
const SCAN: i64 = 60;
const SCANS: usize = 3;
/// Seconds Telegram may show the same answer to the same query: prices and stock change.
pub const CACHE_TIME: u32 = 30;
/// Longest query looked at, in characters (Telegram sends up to 256).
const MAX_QUERY_CHARS: usize = 64;

/// `inline_query` as Telegram sends it.
#[derive(Debug, Deserialize)]
pub struct InlineQuery {
    pub id: String,
    #[serde(default)]
    pub from: Option<super::payments::User>,
    #[serde(default)]
    pub query: String,
    #[serde(default)]
    pub offset: String,
}

/// Answers an inline query on a task of its own, so that the update's handler returns at
/// once; dropped (logged) when [`INLINE_AT_ONCE`] queries are being answered already.
pub fn spawn_answer(st: &BotState, bot: &Bot, q: InlineQuery) {
    let Ok(permit) = bot.shared().inline.clone().try_acquire_owned() else {
        tracing::debug!(
            at_once = INLINE_AT_ONCE,
            "inline queries come faster than they are answered; one dropped"
        );
        metrics::counter!("shop_bot_inline_dropped_total").increment(1);
        return;
    };
    let (st, bot) = (st.clone(), bot.clone());
    tokio::spawn(async move {
        if let Err(e) = answer(&st, &bot, &q).await {
            tracing::warn!(error = %e, "inline query not answered");
        }
        drop(permit);
    });
}

/// Finds the products and calls `answerInlineQuery`.
pub async fn answer(st: &BotState, bot: &Bot, q: &InlineQuery) -> Result<()> {
    let lang = lang_of(q.from.as_ref().and_then(|u| u.language_code.as_deref()));
    let username = bot
        .username()
        .await
        .map_err(|e| crate::error::Error::internal(format!("getMe: {e}")))?;
    let before = q
        .offset
        .parse::<i64>()
        .ok()
        .filter(|o| *o > 0)
        .unwrap_or(i64::MAX);
    let (rows, next) = search(&st.db, &q.query, before).await?;
    let prices = prices(&st.db, &rows).await?;
    let shop = Shop {
        public_url: &st.config.public_url,
        username: &username,
        fallback: &st.config.lang_fallback,
    };
    let results: Vec<Value> = rows
        .iter()
        .filter_map(|p| Some(result(p, prices.get(&p.id)?, lang, &shop)))
        .collect();
    bot.call::<Value>(
        "answerInlineQuery",
        &json!({
            "inline_query_id": q.id,
            "results": results,
            "cache_time": CACHE_TIME,
            // The same list for everybody who types the same words (only its language
            // differs, and Telegram caches per language anyway).
            "is_personal": false,
            "next_offset": next.map(|n| n.to_string()).unwrap_or_default(),
        }),
    )
    .await
    .map_err(|e| crate::error::Error::internal(format!("answerInlineQuery: {e}")))?;
    Ok(())
}

/// The query as matched: trimmed, control characters out, lower-cased, bounded.
fn clean(query: &str) -> String {
    query
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_QUERY_CHARS)
        .collect::<String>()
        .trim()
        .to_lowercase()
}

/// Products on sale whose title (in any language) contains `query`, newest first, with ids
/// below `before`; at most [`PAGE`], and the offset of the next page if there may be one.
///
/// The database narrows by the same `search_text` the storefront's search uses (titles and
/// descriptions), reading the primary key index downwards; the title check is made here,
/// where lower-casing is Unicode's on both databases.
pub async fn search(
    db: &Db,
    query: &str,
    mut before: i64,
) -> Result<(Vec<ProductRow>, Option<i64>)> {
    let query = clean(query);
    let mut out = vec![];
    for _ in 0..SCANS {
        let mut q = SqlBuilder::new(concat!(
            "SELECT ",
            product_cols!(),
            " FROM products WHERE archived = 0 AND id < "
        ));
        q.push_bind(before);
        if !query.is_empty() {
            q.push(" AND search_text LIKE ")
                .push_bind(like_pattern(&query))
                .push(" ESCAPE '\\'");
        }
        q.push(" ORDER BY id DESC LIMIT ").push_bind(SCAN);
        let rows = q.build_query_as::<ProductRow>().fetch_all(&db.pool).await?;
        let (n, last_round) = (rows.len(), (rows.len() as i64) < SCAN);
        for (i, p) in rows.into_iter().enumerate() {
            before = p.id;
            if query.is_empty()
                || texts(&p.title_json)
                    .all()
                    .any(|t| t.to_lowercase().contains(&query))
            {
                out.push(p);
                if out.len() == PAGE {
                    // More may follow unless this was the very last row.
                    let more = !last_round || i + 1 < n;
                    return Ok((out, more.then_some(before)));
                }
            }
        }
        if last_round {
            return Ok((out, None));
        }
    }
    Ok((out, Some(before)))
}

/// A product's price as a result shows it: the lowest of its variants on sale, and whether
/// others cost more ("from …").
#[derive(Debug, Clone)]
pub struct Price {
    pub lowest: Money,
    pub varies: bool,
}

/// The prices of `rows`; a product with no variant on sale has none (and is not listed).
pub async fn prices(db: &Db, rows: &[ProductRow]) -> Result<HashMap<i64, Price>> {
    if rows.is_empty() {
        return Ok(HashMap::new());
    }
    let mut q = SqlBuilder::new(
        "SELECT product_id, price_minor, currency FROM variants WHERE archived = 0 \
         AND product_id IN (",
    );
    q.push_bind_list(rows.iter().map(|r| r.id))
        .push(") ORDER BY product_id, price_minor");
    let mut out: HashMap<i64, Price> = HashMap::new();
    for (product, minor, currency) in q
        .build_query_as::<(i64, i64, String)>()
        .fetch_all(&db.pool)
        .await?
    {
        let Ok(currency) = Currency::new(&currency) else {
            continue;
        };
        match out.get_mut(&product) {
            None => {
                out.insert(
                    product,
                    Price {
                        lowest: Money::new(minor, currency),
                        varies: false,
                    },
                );
            }
            Some(p) => p.varies |= p.lowest.amount_minor != minor || p.lowest.currency != currency,
        }
    }
    Ok(out)
}

/// What a result needs to know about the shop.
pub struct Shop<'a> {
    pub public_url: &'a str,
    /// The bot's username, for the t.me link.
    pub username: &'a str,
    pub fallback: &'a [Lang],
}

/// The link that opens the bot's main Mini App at a product for whoever taps it.
pub fn product_link(username: &str, product_id: i64) -> String {
    format!("https://t.me/{username}?startapp=product_{product_id}")
}

/// The product's first picture as a public URL Telegram can fetch: absolute, https, raster.
fn picture(p: &ProductRow, public_url: &str) -> Option<String> {
    let images: Vec<String> = serde_json::from_str(&p.images_json).unwrap_or_default();
    images
        .into_iter()
        .next()
        .filter(|i| !i.ends_with(".svg"))
        .map(|i| {
            if i.starts_with("http") {
                i
            } else {
                format!("{public_url}{i}")
            }
        })
        .filter(|u| u.starts_with("https://"))
}

/// One product as an `InlineQueryResultArticle`: title, price and picture in the list; sent,
/// a message with the title and price above the picture's preview and the open button.
pub fn result(p: &ProductRow, price: &Price, lang: Lang, shop: &Shop<'_>) -> Value {
    let title = texts(&p.title_json)
        .pick(lang, shop.fallback)
        .unwrap_or_default()
        .chars()
        .take(200)
        .collect::<String>();
    let mut price_text = price.lowest.display();
    if price.varies {
        price_text = t(lang, "price_from").replace("{price}", &price_text);
    }
    let mut content = json!({"message_text": format!("{title}\n{price_text}")});
    let mut r = json!({
        "type": "article",
        "id": format!("product_{}", p.id),
        "title": title,
        "description": price_text,
        "input_message_content": content.clone(),
        "reply_markup": {"inline_keyboard": [[{
            "text": t(lang, "open_product"),
            "url": product_link(shop.username, p.id),
        }]]},
    });
    match picture(p, shop.public_url) {
        Some(pic) => {
            r["thumbnail_url"] = json!(pic);
            content["link_preview_options"] =
                json!({"url": pic, "prefer_large_media": true, "show_above_text": true});
        }
        None => content["link_preview_options"] = json!({"is_disabled": true}),
    }
    r["input_message_content"] = content;
    r
}

/// The result for one product on sale (the Share button's prepared message), if it is.
pub async fn product_result(
    db: &Db,
    product_id: i64,
    lang: Lang,
    shop: &Shop<'_>,
) -> Result<Option<Value>> {
    let row: Option<ProductRow> = sqlx::query_as(concat!(
        "SELECT ",
        product_cols!(),
        " FROM products WHERE id = $1 AND archived = 0"
    ))
    .bind(product_id)
    .fetch_optional(&db.pool)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let prices = prices(db, std::slice::from_ref(&row)).await?;
    Ok(prices.get(&row.id).map(|p| result(&row, p, lang, shop)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_cleaned_and_bounded() {
        assert_eq!(clean("  TeaPot\u{0}  "), "teapot");
        assert_eq!(clean("ЧАЙНИК"), "чайник");
        assert_eq!(clean(&"x".repeat(300)).len(), MAX_QUERY_CHARS);
    }

    #[test]
    fn a_result_links_to_the_main_mini_app_not_a_web_app_button() {
        let p = ProductRow {
            id: 7,
            category_id: None,
            kind: "physical".into(),
            title_json: r#"{"en":"Teapot","ru":"Чайник"}"#.into(),
            description_json: "{}".into(),
            images_json: r#"["/media/abc-1280.jpg"]"#.into(),
            archived: 0,
        };
        let price = Price {
            lowest: Money::new(15_000_000, Currency::new("UZS").unwrap()),
            varies: true,
        };
        let shop = Shop {
            public_url: "https://shop.test",
            username: "shop_bot",
            fallback: &[Lang::En],
        };
        let r = result(&p, &price, Lang::Ru, &shop);
        assert_eq!(r["title"], "Чайник");
        assert_eq!(r["description"], "от 150 000 so'm");
        assert_eq!(r["thumbnail_url"], "https://shop.test/media/abc-1280.jpg");
        let b = &r["reply_markup"]["inline_keyboard"][0][0];
        assert_eq!(b["url"], "https://t.me/shop_bot?startapp=product_7");
        assert!(b.get("web_app").is_none());
    }
}
