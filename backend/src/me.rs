//! Who the customer is (`/api/me`) and, in dev mode only, initData for a dev user.

use std::sync::Arc;

use axum::extract::State;
use axum::routing::get;
use axum::Router;
use shared::{DevInitData, Me};

use crate::auth::{ensure_customer, init_data, Customer};
use crate::client_ip::Origin;
use crate::db::{self, Db};
use crate::error::{AppJson, Error, Result};
use crate::state::AppState;

pub fn router(dev_mode: bool) -> Router<AppState> {
    let r = Router::new().route("/api/me", get(me));
    // With a real bot token the route does not exist at all (404), not merely refused.
    if dev_mode {
        r.route("/api/dev/init-data", get(dev_init_data))
    } else {
        r
    }
}

/// The signed-in customer, as Telegram describes them.
#[utoipa::path(get, path = "/api/me", tag = "customer", security(("init_data" = [])),
    responses((status = 200, description = "The customer.", body = Me)))]
async fn me(State(db): State<Db>, customer: Customer) -> Result<AppJson<Me>> {
    ensure_customer(&db, customer.user()).await?;
    let u = customer.user();
    Ok(AppJson(Me {
        id: u.id,
        first_name: u.first_name.clone(),
        last_name: u.last_name.clone(),
        username: u.username.clone(),
        language_code: u.language_code.clone(),
        contact: last_contact(&db, u.id).await?,
        last_payment_method: last_method(&db, u.id).await?,
        last_delivery_method_id: last_delivery(&db, u.id).await?,
    }))
}

/// The contact of the customer's newest order that carried one. It is kept with the orders
/// (where the merchant needs it anyway) rather than copied onto the customer, so there is one
/// record of it; `orders_customer (customer_id, id)` makes this one index walk.
async fn last_contact(db: &db::Db, customer_id: i64) -> Result<Option<shared::Contact>> {
    let json: Option<String> = sqlx::query_scalar(
        "SELECT contact_json FROM orders WHERE customer_id = $1 AND contact_json IS NOT NULL \
         ORDER BY id DESC LIMIT 1",
    )
    .bind(customer_id)
    .fetch_optional(&db.pool)
    .await?;
    // A row written by an older version in another shape is simply not offered back.
    Ok(json.and_then(|j| serde_json::from_str(&j).ok()))
}

/// The payment method of the customer's newest order.
async fn last_method(db: &db::Db, customer_id: i64) -> Result<Option<shared::PaymentMethod>> {
    let m: Option<String> = sqlx::query_scalar(
        "SELECT payment_method FROM orders WHERE customer_id = $1 ORDER BY id DESC LIMIT 1",
    )
    .bind(customer_id)
    .fetch_optional(&db.pool)
    .await?;
    Ok(m.as_deref().and_then(shared::PaymentMethod::parse))
}

/// The delivery method of the customer's newest order that chose one (from the order's own
/// snapshot; the checkout offers it only if the method is still offered).
async fn last_delivery(db: &db::Db, customer_id: i64) -> Result<Option<i64>> {
    let json: Option<String> = sqlx::query_scalar(
        "SELECT delivery_json FROM orders WHERE customer_id = $1 AND delivery_json IS NOT NULL \
         ORDER BY id DESC LIMIT 1",
    )
    .bind(customer_id)
    .fetch_optional(&db.pool)
    .await?;
    Ok(json
        .and_then(|j| serde_json::from_str::<crate::delivery::Snapshot>(&j).ok())
        .map(|s| s.method_id))
}

/// In dev mode, the ephemeral bot token that signs the dev user's initData; none otherwise.
#[derive(Clone)]
pub struct DevBotToken(pub Option<Arc<str>>);

/// The dev user's id: far outside real Telegram ids' everyday range, so it is recognisable.
pub const DEV_USER_ID: i64 = 1_000_001;

/// Signs fresh initData for the dev user with the ephemeral dev token, so the shop works in a
/// plain browser. Only for callers on this machine: it would let anyone be the dev user.
async fn dev_init_data(
    State(DevBotToken(token)): State<DevBotToken>,
    origin: Origin,
) -> Result<AppJson<DevInitData>> {
    // A request through a proxy on this machine (nginx to 127.0.0.1) has a loopback peer but
    // comes from anywhere: only direct requests without forwarding headers count as local.
    if !origin.direct_loopback() {
        return Err(Error::Forbidden {
            code: "loopback_only",
            message: "Dev sign-in is only available from this machine.".into(),
        });
    }
    let token = token.as_deref().ok_or_else(|| Error::not_found("route"))?;
    let user = serde_json::json!({
        "id": DEV_USER_ID,
        "first_name": "Dev",
        "last_name": "Customer",
        "username": "dev_customer",
        "language_code": "en",
    })
    .to_string();
    let auth_date = db::now().to_string();
    let init = init_data::sign_hmac(
        token,
        &[
            ("auth_date", auth_date.as_str()),
            ("query_id", "dev"),
            ("user", user.as_str()),
        ],
    );
    Ok(AppJson(DevInitData { init_data: init }))
}
