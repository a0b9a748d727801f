//! Delivery methods for the merchant: list, create, replace (with their zones or pickup
//! points; pause and resume are `active` false and true) and delete. Orders keep a snapshot
//! of what they chose (`crate::delivery`), so none of this changes an order placed already.
//! Bounded: at most [`MAX_METHODS`] methods of [`MAX_OPTIONS`] options each.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use shared::admin::{AdminDeliveryMethod, AdminDeliveryOption, DeliveryMethodSave};
use shared::{DeliveryKind, Money};
use sqlx::AnyConnection;

use super::auth::{record_audit, Admin};
use super::validate;
use crate::catalog::repo::texts;
use crate::db::{self, Db};
use crate::delivery::{options_of, MethodRow, ALL_METHODS, METHOD_BY_ID};
use crate::error::{AppJson, AppPath, Error, Result};
use crate::state::AppState;

pub const MAX_METHODS: i64 = 50;
pub const MAX_OPTIONS: usize = 50;
const MAX_TITLE: usize = 100;
const MAX_ADDRESS: usize = 300;
const MAX_FEE: i64 = 1_000_000_000_000;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/admin/delivery-methods", get(list).post(create))
        .route(
            "/api/admin/delivery-methods/{id}",
            axum::routing::put(update).delete(remove),
        )
}

fn fee(m: &Money, field: &str, zero_ok: bool) -> Result<()> {
    let low = if zero_ok { 0 } else { 1 };
    if m.amount_minor < low || m.amount_minor > MAX_FEE {
        return Err(Error::field(
            "invalid_amount",
            field,
            format!(
                "{field} must be {} and at most {MAX_FEE} minor units.",
                if zero_ok { "0 or more" } else { "above zero" }
            ),
        ));
    }
    Ok(())
}

fn same_currency(m: &Money, of: &Money, field: &str) -> Result<()> {
    if m.currency != of.currency {
        return Err(Error::field(
            "currency_mismatch",
            field,
            format!(
                "{field} is in {} but the fee in {}: a method has one currency.",
                m.currency, of.currency
            ),
        ));
    }
    Ok(())
}

/// Checks a method as sent; answers it cleaned (texts trimmed, addresses trimmed).
fn validate(req: &DeliveryMethodSave) -> Result<DeliveryMethodSave> {
    validate::texts_required(&req.title, "title", MAX_TITLE)?;
    fee(&req.fee, "fee", true)?;
    if let Some(f) = &req.free_above {
        fee(f, "free_above", false)?;
        same_currency(f, &req.fee, "free_above")?;
    }
    if !(-1_000_000..=1_000_000).contains(&req.position) {
        return Err(Error::field(
            "invalid_position",
            "position",
            "position must be from -1000000 to 1000000.",
        ));
    }
    if req.options.len() > MAX_OPTIONS {
        return Err(Error::field(
            "too_many_options",
            "options",
            format!("A method has at most {MAX_OPTIONS} zones or pickup points."),
        ));
    }
    let mut out = req.clone();
    out.title = req.title.cleaned();
    for (i, o) in out.options.iter_mut().enumerate() {
        let field = format!("options[{i}]");
        validate::texts_required(&o.title, &format!("{field}.title"), MAX_TITLE)?;
        o.title = o.title.cleaned();
        if let Some(f) = &o.fee {
            fee(f, &format!("{field}.fee"), true)?;
            same_currency(f, &req.fee, &format!("{field}.fee"))?;
        }
        let address = o
            .address
            .as_deref()
            .map(str::trim)
            .filter(|a| !a.is_empty());
        if address.is_some_and(|a| a.chars().count() > MAX_ADDRESS || a.contains('\0')) {
            return Err(Error::field(
                "invalid_address",
                &format!("{field}.address"),
                format!("The address is at most {MAX_ADDRESS} characters."),
            ));
        }
        if req.kind == DeliveryKind::Pickup && address.is_none() {
            return Err(Error::field(
                "address_required",
                &format!("{field}.address"),
                "A pickup point needs the address where the customer collects the order.",
            ));
        }
        o.address = address.map(str::to_string);
    }
    Ok(out)
}

async fn fetch_all(conn: &mut AnyConnection, id: Option<i64>) -> Result<Vec<AdminDeliveryMethod>> {
    let rows = match id {
        Some(id) => {
            sqlx::query_as::<_, MethodRow>(METHOD_BY_ID)
                .bind(id)
                .fetch_all(&mut *conn)
                .await?
        }
        None => {
            sqlx::query_as::<_, MethodRow>(ALL_METHODS)
                .fetch_all(&mut *conn)
                .await?
        }
    };
    let ids: Vec<i64> = rows.iter().map(|m| m.id).collect();
    let options = options_of(conn, &ids).await?;
    rows.into_iter()
        .map(|m| {
            let currency = m.currency()?;
            Ok(AdminDeliveryMethod {
                id: m.id,
                kind: m.kind(),
                title: texts(&m.title_json),
                fee: Money::new(m.fee_minor, currency.clone()),
                free_above: m.free_above_minor.map(|f| Money::new(f, currency.clone())),
                active: m.active != 0,
                position: m.position,
                options: options
                    .iter()
                    .filter(|o| o.method_id == m.id)
                    .map(|o| AdminDeliveryOption {
                        id: o.id,
                        title: texts(&o.title_json),
                        fee: o.fee_minor.map(|f| Money::new(f, currency.clone())),
                        address: o.address.clone(),
                    })
                    .collect(),
                created_at: m.created_at,
            })
        })
        .collect()
}

async fn fetch(conn: &mut AnyConnection, id: i64) -> Result<AdminDeliveryMethod> {
    fetch_all(conn, Some(id))
        .await?
        .pop()
        .ok_or_else(|| Error::not_found("delivery method"))
}

fn json_of<T: serde::Serialize>(v: &T) -> Result<serde_json::Value> {
    serde_json::to_value(v).map_err(Error::internal)
}

/// Writes `m`'s options: those naming one of the method's options keep it (updated), the
/// others are new; the method's options not named are removed.
async fn save_options(
    conn: &mut AnyConnection,
    method_id: i64,
    m: &DeliveryMethodSave,
) -> Result<()> {
    let existing: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM delivery_options WHERE method_id = $1")
            .bind(method_id)
            .fetch_all(&mut *conn)
            .await?;
    for (i, o) in m.options.iter().enumerate() {
        if let Some(id) = o.id.filter(|id| !existing.contains(id)) {
            return Err(Error::field(
                "unknown_option",
                &format!("options[{i}].id"),
                format!("Option {id} is not one of this method's; leave id out for a new one."),
            ));
        }
    }
    let kept: Vec<i64> = m.options.iter().filter_map(|o| o.id).collect();
    for id in existing.iter().filter(|id| !kept.contains(id)) {
        sqlx::query("DELETE FROM delivery_options WHERE id = $1")
            .bind(*id)
            .execute(&mut *conn)
            .await?;
    }
    for (position, o) in m.options.iter().enumerate() {
        let title = serde_json::to_string(&o.title).map_err(Error::internal)?;
        let fee = o.fee.as_ref().map(|f| f.amount_minor);
        match o.id {
            Some(id) => {
                sqlx::query(
                    "UPDATE delivery_options SET title_json = $1, fee_minor = $2, address = $3, \
                     position = $4 WHERE id = $5",
                )
                .bind(title)
                .bind(fee)
                .bind(o.address.as_deref())
                .bind(position as i64)
                .bind(id)
                .execute(&mut *conn)
                .await?;
            }
            None => {
                sqlx::query(
                    "INSERT INTO delivery_options (method_id, title_json, fee_minor, address, position) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(method_id)
                .bind(title)
                .bind(fee)
                .bind(o.address.as_deref())
                .bind(position as i64)
                .execute(&mut *conn)
                .await?;
            }
        }
    }
    Ok(())
}

/// Every delivery method, active or paused, in the order the checkout shows them.
#[utoipa::path(get, path = "/api/admin/delivery-methods", tag = "admin", security(("admin_session" = [])),
    responses((status = 200, description = "The methods with their zones or pickup points (at most 50).", body = Vec<AdminDeliveryMethod>)))]
async fn list(State(db): State<Db>, _admin: Admin) -> Result<AppJson<Vec<AdminDeliveryMethod>>> {
    let mut conn = db.pool.acquire().await?;
    Ok(AppJson(fetch_all(&mut conn, None).await?))
}

/// Creates a delivery method with its zones (courier) or pickup points.
#[utoipa::path(post, path = "/api/admin/delivery-methods", tag = "admin", security(("admin_session" = [])),
    request_body = DeliveryMethodSave,
    responses(
        (status = 201, description = "The new method.", body = AdminDeliveryMethod),
        (status = 409, description = "`too_many_methods`: the shop has 50 methods already."),
    ))]
async fn create(
    State(db): State<Db>,
    admin: Admin,
    AppJson(req): AppJson<DeliveryMethodSave>,
) -> Result<Response> {
    let m = validate(&req)?;
    if let Some(i) = m.options.iter().position(|o| o.id.is_some()) {
        return Err(Error::field(
            "unknown_option",
            &format!("options[{i}].id"),
            "A new method's options are new: leave id out.",
        ));
    }
    let now = db::now();
    let mut tx = db.begin_write().await?;
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM delivery_methods")
        .fetch_one(tx.conn())
        .await?;
    if count >= MAX_METHODS {
        return Err(Error::conflict(
            "too_many_methods",
            format!("A shop has at most {MAX_METHODS} delivery methods; delete one first."),
        ));
    }
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO delivery_methods (kind, title_json, fee_minor, currency, free_above_minor, \
         active, position, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) \
         RETURNING id",
    )
    .bind(m.kind.as_str())
    .bind(serde_json::to_string(&m.title).map_err(Error::internal)?)
    .bind(m.fee.amount_minor)
    .bind(m.fee.currency.as_str())
    .bind(m.free_above.as_ref().map(|f| f.amount_minor))
    .bind(i64::from(m.active))
    .bind(m.position)
    .bind(now)
    .fetch_one(tx.conn())
    .await?;
    save_options(tx.conn(), id, &m).await?;
    let made = fetch(tx.conn(), id).await?;
    record_audit(
        tx.conn(),
        &admin.actor(),
        "create",
        "delivery_method",
        Some(id),
        None,
        Some(&json_of(&made)?),
    )
    .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, AppJson(made)).into_response())
}

/// Replaces a method and its options (pause: `active` false). Orders placed already keep
/// what they chose.
#[utoipa::path(put, path = "/api/admin/delivery-methods/{id}", tag = "admin", security(("admin_session" = [])),
    params(("id" = i64, Path, minimum = 1, example = 1, description = "The method's id.")),
    request_body = DeliveryMethodSave,
    responses((status = 200, description = "The method as saved.", body = AdminDeliveryMethod), (status = 404, description = "No such method.")))]
async fn update(
    State(db): State<Db>,
    admin: Admin,
    AppPath(id): AppPath<i64>,
    AppJson(req): AppJson<DeliveryMethodSave>,
) -> Result<AppJson<AdminDeliveryMethod>> {
    let m = validate(&req)?;
    let mut tx = db.begin_write().await?;
    let before = fetch(tx.conn(), id).await?;
    sqlx::query(
        "UPDATE delivery_methods SET kind = $1, title_json = $2, fee_minor = $3, currency = $4, \
         free_above_minor = $5, active = $6, position = $7, updated_at = $8 WHERE id = $9",
    )
    .bind(m.kind.as_str())
    .bind(serde_json::to_string(&m.title).map_err(Error::internal)?)
    .bind(m.fee.amount_minor)
    .bind(m.fee.currency.as_str())
    .bind(m.free_above.as_ref().map(|f| f.amount_minor))
    .bind(i64::from(m.active))
    .bind(m.position)
    .bind(db::now())
    .bind(id)
    .execute(tx.conn())
    .await?;
    save_options(tx.conn(), id, &m).await?;
    let after = fetch(tx.conn(), id).await?;
    if before != after {
        let action = match (before.active, after.active) {
            (true, false) => "pause",
            (false, true) => "resume",
            _ => "update",
        };
        record_audit(
            tx.conn(),
            &admin.actor(),
            action,
            "delivery_method",
            Some(id),
            Some(&json_of(&before)?),
            Some(&json_of(&after)?),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(AppJson(after))
}

/// Deletes a method and its options. Orders that chose it keep their snapshot.
#[utoipa::path(delete, path = "/api/admin/delivery-methods/{id}", tag = "admin", security(("admin_session" = [])),
    params(("id" = i64, Path, minimum = 1, example = 1, description = "The method's id.")),
    responses((status = 204, description = "Deleted."), (status = 404, description = "No such method.")))]
async fn remove(
    State(db): State<Db>,
    admin: Admin,
    AppPath(id): AppPath<i64>,
) -> Result<StatusCode> {
    let mut tx = db.begin_write().await?;
    let before = fetch(tx.conn(), id).await?;
    sqlx::query("DELETE FROM delivery_options WHERE method_id = $1")
        .bind(id)
        .execute(tx.conn())
        .await?;
    sqlx::query("DELETE FROM delivery_methods WHERE id = $1")
        .bind(id)
        .execute(tx.conn())
        .await?;
    record_audit(
        tx.conn(),
        &admin.actor(),
        "delete",
        "delivery_method",
        Some(id),
        Some(&json_of(&before)?),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
