//! Delivery methods: what the checkout offers (`GET /api/delivery-methods`), the choice an
//! order is placed with and its fee, and the snapshot the order keeps of it.
//!
//! The rules, chosen once and kept here:
//! - a method is offered for orders in its own currency only, while it is active;
//! - an order with a physical item must choose one when the shop offers any in its currency
//!   (422 `delivery_required`); with none configured, orders are placed as before;
//! - an order with nothing physical cannot choose one (422 `delivery_invalid`);
//! - a method with options (courier zones, pickup points) needs one of them
//!   (422 `delivery_option_required`);
//! - the fee is the option's own fee when it has one, else the method's, and 0 when the method
//!   has `free_above` and the goods cost at least that after any promo code's discount;
//! - the order keeps the fee and a snapshot of the titles (every language) and the address,
//!   so editing or deleting a method later changes no order.

use std::sync::Arc;

use axum::extract::State;
use axum::routing::get;
use axum::Router;
use serde::{Deserialize, Serialize};
use shared::{
    Currency, DeliveryChoice, DeliveryKind, DeliveryMethod, DeliveryOption, Lang, Money,
    OrderDelivery, Texts,
};

use crate::auth::Customer;
use crate::catalog::repo::texts;
use crate::config::Config;
use crate::db::{Db, SqlBuilder};
use crate::error::{AppJson, AppQuery, Error, Result};
use crate::lang::{pick, ReqLang};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/delivery-methods", get(offered))
}

#[derive(Debug, Clone, shop_macros::FromRow)]
pub struct MethodRow {
    pub id: i64,
    pub kind: String,
    pub title_json: String,
    pub fee_minor: i64,
    pub currency: String,
    pub free_above_minor: Option<i64>,
    pub active: i64,
    pub position: i64,
    pub created_at: i64,
}

/// The columns of [`MethodRow`], for fixed statements (`concat!`).
macro_rules! method_cols {
    () => {
        "id, kind, title_json, fee_minor, currency, free_above_minor, active, position, created_at"
    };
}

/// One method by id (`$1`).
pub const METHOD_BY_ID: &str = concat!(
    "SELECT ",
    method_cols!(),
    " FROM delivery_methods WHERE id = $1"
);
/// Every method, in the checkout's order.
pub const ALL_METHODS: &str = concat!(
    "SELECT ",
    method_cols!(),
    " FROM delivery_methods ORDER BY position, id"
);
/// The active methods in a currency (`$1`), in the checkout's order.
const ACTIVE_METHODS: &str = concat!(
    "SELECT ",
    method_cols!(),
    " FROM delivery_methods WHERE currency = $1 AND active = 1 ORDER BY position, id"
);

#[derive(Debug, Clone, shop_macros::FromRow)]
pub struct OptionRow {
    pub id: i64,
    pub method_id: i64,
    pub title_json: String,
    pub fee_minor: Option<i64>,
    pub address: Option<String>,
    pub position: i64,
}

impl MethodRow {
    pub fn kind(&self) -> DeliveryKind {
        DeliveryKind::parse(&self.kind).unwrap_or(DeliveryKind::Courier)
    }
    pub fn currency(&self) -> Result<Currency> {
        Currency::new(&self.currency).map_err(Error::internal)
    }
}

/// The options of `methods`, in position order, in one query.
pub async fn options_of(conn: &mut sqlx::AnyConnection, methods: &[i64]) -> Result<Vec<OptionRow>> {
    if methods.is_empty() {
        return Ok(vec![]);
    }
    let mut q = SqlBuilder::new(
        "SELECT id, method_id, title_json, fee_minor, address, position FROM delivery_options \
         WHERE method_id IN (",
    );
    q.push_bind_list(methods.to_vec())
        .push(") ORDER BY method_id, position, id");
    Ok(q.build_query_as::<OptionRow>().fetch_all(conn).await?)
}

/// The active methods in `currency`, in position order, with their options.
pub async fn active_in(db: &Db, currency: &Currency) -> Result<Vec<(MethodRow, Vec<OptionRow>)>> {
    let mut conn = db.pool.acquire().await?;
    let methods = sqlx::query_as::<_, MethodRow>(ACTIVE_METHODS)
        .bind(currency.as_str())
        .fetch_all(&mut *conn)
        .await?;
    let ids: Vec<i64> = methods.iter().map(|m| m.id).collect();
    let mut options = options_of(&mut conn, &ids).await?;
    Ok(methods
        .into_iter()
        .map(|m| {
            let (mine, rest) = options.drain(..).partition(|o| o.method_id == m.id);
            options = rest;
            (m, mine)
        })
        .collect())
}

/// `GET /api/delivery-methods`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct OfferedQuery {
    /// The cart's currency: only methods in it are offered.
    #[param(value_type = String, example = "UZS")]
    currency: Currency,
}

/// The delivery methods an order in `currency` can choose, in the language asked, in the
/// merchant's order. Empty when the shop offers none in it: such orders need no delivery.
#[utoipa::path(get, path = "/api/delivery-methods", tag = "customer", security(("init_data" = [])),
    params(OfferedQuery, ("lang" = Option<shared::Lang>, Query, description = "Language of the texts; else `Accept-Language`, else the shop's default.")),
    responses((status = 200, description = "The methods, with their zones or pickup points.", body = Vec<DeliveryMethod>)))]
async fn offered(
    State(db): State<Db>,
    State(config): State<Arc<Config>>,
    _customer: Customer,
    ReqLang(lang): ReqLang,
    AppQuery(q): AppQuery<OfferedQuery>,
) -> Result<AppJson<Vec<DeliveryMethod>>> {
    let fallback = &config.lang_fallback;
    let mut out = Vec::new();
    for (m, options) in active_in(&db, &q.currency).await? {
        let currency = m.currency()?;
        out.push(DeliveryMethod {
            id: m.id,
            kind: m.kind(),
            title: pick(&texts(&m.title_json), lang, fallback),
            fee: Money::new(m.fee_minor, currency.clone()),
            free_above: m.free_above_minor.map(|f| Money::new(f, currency.clone())),
            options: options
                .iter()
                .map(|o| DeliveryOption {
                    id: o.id,
                    title: pick(&texts(&o.title_json), lang, fallback),
                    fee: o.fee_minor.map(|f| Money::new(f, currency.clone())),
                    address: o.address.clone(),
                })
                .collect(),
        });
    }
    Ok(AppJson(out))
}

/// What an order chose, as the order keeps it (`orders.delivery_json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub method_id: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub option_id: Option<i64>,
    pub kind: DeliveryKind,
    pub method: Texts,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub option: Option<Texts>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
}

/// A method (and option) an order chose, checked; the fee follows from the goods' total.
#[derive(Debug, Clone)]
pub struct Chosen {
    pub snapshot: Snapshot,
    /// The option's fee, else the method's.
    pub fee_minor: i64,
    pub free_above_minor: Option<i64>,
}

impl Chosen {
    pub fn kind(&self) -> DeliveryKind {
        self.snapshot.kind
    }
    /// The fee of an order whose goods cost `goods_minor` (after any discount).
    pub fn fee(&self, goods_minor: i64) -> i64 {
        match self.free_above_minor {
            Some(free) if goods_minor >= free => 0,
            _ => self.fee_minor,
        }
    }
}

fn invalid(code: &'static str, field: &str, message: impl Into<String>) -> Error {
    Error::Unprocessable {
        code,
        message: message.into(),
        field: Some(field.into()),
    }
}

/// Checks the delivery `choice` of an order in `currency` (`physical`: it has a physical
/// item; `offered`: how many active methods the shop has in that currency, which placing an
/// order reads with its lines, one query fewer per order). `None` when
/// the order needs none (nothing physical, or no method offered).
pub async fn choose(
    db: &Db,
    choice: Option<&DeliveryChoice>,
    currency: &Currency,
    physical: bool,
    offered: i64,
) -> Result<Option<Chosen>> {
    let Some(choice) = choice else {
        if !physical {
            return Ok(None);
        }
        if offered > 0 {
            return Err(invalid(
                "delivery_required",
                "delivery",
                "Choose how the order is delivered.",
            ));
        }
        return Ok(None);
    };
    if !physical {
        return Err(invalid(
            "delivery_invalid",
            "delivery",
            "Nothing in this order is delivered: leave delivery out.",
        ));
    }
    let mut conn = db.pool.acquire().await?;
    let m = sqlx::query_as::<_, MethodRow>(METHOD_BY_ID)
        .bind(choice.method_id)
        .fetch_optional(&mut *conn)
        .await?
        .filter(|m| m.active != 0 && m.currency == currency.as_str())
        .ok_or_else(|| {
            invalid(
                "delivery_invalid",
                "delivery.method_id",
                "This delivery method is not offered for this order any more; choose another.",
            )
        })?;
    let options = options_of(&mut conn, &[m.id]).await?;
    let option = match (choice.option_id, options.is_empty()) {
        (None, true) => None,
        (None, false) => {
            return Err(invalid(
                "delivery_option_required",
                "delivery.option_id",
                match m.kind() {
                    DeliveryKind::Pickup => "Choose the pickup point.",
                    DeliveryKind::Courier => "Choose the delivery zone.",
                },
            ))
        }
        (Some(id), _) => Some(options.into_iter().find(|o| o.id == id).ok_or_else(|| {
            invalid(
                "delivery_invalid",
                "delivery.option_id",
                "This zone or pickup point is not offered any more; choose another.",
            )
        })?),
    };
    Ok(Some(Chosen {
        fee_minor: option
            .as_ref()
            .and_then(|o| o.fee_minor)
            .unwrap_or(m.fee_minor),
        free_above_minor: m.free_above_minor,
        snapshot: Snapshot {
            method_id: m.id,
            option_id: option.as_ref().map(|o| o.id),
            kind: m.kind(),
            method: texts(&m.title_json),
            option: option.as_ref().map(|o| texts(&o.title_json)),
            address: option.and_then(|o| o.address),
        },
    }))
}

/// The order's delivery as its answer shows it, from what the order kept.
pub fn to_order_delivery(
    json: Option<&str>,
    fee_minor: i64,
    currency: &Currency,
    lang: Lang,
    fallback: &[Lang],
) -> Option<OrderDelivery> {
    let s: Snapshot = serde_json::from_str(json?).ok()?;
    Some(OrderDelivery {
        kind: s.kind,
        method: pick(&s.method, lang, fallback),
        option: s.option.as_ref().map(|t| pick(t, lang, fallback)),
        address: s.address,
        fee: Money::new(fee_minor, currency.clone()),
    })
}

/// The word for a delivery fee's line on receipts and invoices.
pub fn label(lang: Lang) -> &'static str {
    match lang {
        Lang::Uz => "Yetkazib berish",
        Lang::Ru => "Доставка",
        Lang::En => "Delivery",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chosen(fee: i64, free: Option<i64>) -> Chosen {
        Chosen {
            snapshot: Snapshot {
                method_id: 1,
                option_id: None,
                kind: DeliveryKind::Courier,
                method: Texts::default(),
                option: None,
                address: None,
            },
            fee_minor: fee,
            free_above_minor: free,
        }
    }

    #[test]
    fn free_from_the_threshold_on() {
        assert_eq!(chosen(500, None).fee(1_000_000), 500);
        assert_eq!(chosen(500, Some(1000)).fee(999), 500);
        assert_eq!(chosen(500, Some(1000)).fee(1000), 0);
        assert_eq!(chosen(0, Some(1000)).fee(10), 0);
    }
}
