//! The storefront's Share button: `POST /api/products/{id}/share` prepares the product's
//! message (the inline mode's result, in the customer's language) for the signed-in user with
//! `savePreparedInlineMessage`, and `Telegram.WebApp.shareMessage` (Bot API 8.0+) lets them
//! pick the chat. Older clients share through `switchInlineQuery` and need no server call.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;
use serde::Deserialize;
use serde_json::json;
use shared::PreparedShare;

use crate::auth::Customer;
use crate::config::Config;
use crate::db::Db;
use crate::error::{AppJson, AppPath, Error, Result};
use crate::lang::ReqLang;
use crate::state::AppState;
use crate::telegram::inline::{product_result, Shop};
use crate::telegram::Bot;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/products/{id}/share", post(prepare))
}

/// What savePreparedInlineMessage answers (`PreparedInlineMessage`).
#[derive(Deserialize)]
struct Prepared {
    id: String,
    expiration_date: i64,
}

/// Prepares a message about the product that the customer can send to any chat.
#[utoipa::path(post, path = "/api/products/{id}/share", tag = "customer", security(("init_data" = [])),
    params(("id" = i64, Path, minimum = 1, example = 1, description = "The product's id."),
        ("lang" = Option<shared::Lang>, Query, description = "Language of the message; else `Accept-Language`, else the shop's default.")),
    responses(
        (status = 200, description = "The prepared message, for `Telegram.WebApp.shareMessage`.", body = PreparedShare),
        (status = 404, description = "No such product on sale."),
        (status = 502, description = "`telegram_unavailable`: Telegram did not prepare the message; share through the inline query instead."),
        (status = 503, description = "`bot_unavailable`: the shop runs without a bot (dev mode)."),
    ))]
async fn prepare(
    State(db): State<Db>,
    State(config): State<Arc<Config>>,
    State(http): State<reqwest::Client>,
    customer: Customer,
    ReqLang(lang): ReqLang,
    AppPath(id): AppPath<i64>,
) -> Result<AppJson<PreparedShare>> {
    let Some(bot) = Bot::from_config(&config, &http) else {
        return Err(Error::Status {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code: "bot_unavailable",
            message: "This shop runs without a Telegram bot (dev mode), so it cannot prepare \
                      messages; share with the inline query instead."
                .into(),
        });
    };
    let unavailable = |e: crate::telegram::BotError| {
        tracing::warn!(error = %e, "preparing a shared message failed");
        Error::Status {
            status: StatusCode::BAD_GATEWAY,
            code: "telegram_unavailable",
            message: "Telegram did not prepare the message; please try again in a moment.".into(),
        }
    };
    let username = bot.username().await.map_err(unavailable)?;
    let shop = Shop {
        public_url: &config.public_url,
        username: &username,
        fallback: &config.lang_fallback,
    };
    let result = product_result(&db, id, lang, &shop)
        .await?
        .ok_or_else(|| Error::not_found("product"))?;
    let p: Prepared = bot
        .call(
            "savePreparedInlineMessage",
            &json!({
                "user_id": customer.id(),
                "result": result,
                "allow_user_chats": true,
                "allow_group_chats": true,
                "allow_channel_chats": true,
            }),
        )
        .await
        .map_err(unavailable)?;
    Ok(AppJson(PreparedShare {
        id: p.id,
        expiration_date: p.expiration_date,
    }))
}
