//! Shapes the merchant admin (the `/admin` Leptos bundle) and the `/api/admin/…` routes share:
//! every request body the admin sends and the answers it renders, so a field renamed on one
//! side breaks the other's build instead of a save in production.
//!
//! Optional fields of a patch are `Option<Option<T>>` where `null` means "clear": absent
//! (`None`) leaves the stored value alone, `Some(None)` clears it (see [`double_option`]).

use serde::{Deserialize, Serialize};

use crate::{DeliveryKind, Money, PaymentMethod, Product, ProductKind, Texts, VariantOptions};

pub use crate::{AdminInfo, LoginRequest, LoginResponse};

/// Tells "absent" (leave as is) from `null` (clear) in a patch: with `#[serde(default)]` an
/// absent field stays `None` and a present one, `null` included, becomes `Some(..)`.
pub mod double_option {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn deserialize<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Option<T>>, D::Error> {
        Option::<T>::deserialize(d).map(Some)
    }

    /// Pair with `skip_serializing_if = "Option::is_none"`: `Some(None)` is sent as `null`.
    pub fn serialize<T: Serialize, S: Serializer>(
        v: &Option<Option<T>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match v {
            Some(inner) => inner.serialize(s),
            None => s.serialize_none(),
        }
    }
}

/// `POST /api/admin/products` (answers 201 with the [`AdminProduct`], its `id` and each
/// variant's `id`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewProduct {
    pub kind: ProductKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category_id: Option<i64>,
    pub title: Texts,
    #[serde(default)]
    pub description: Texts,
    /// At least one.
    #[serde(default)]
    pub variants: Vec<NewVariant>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digital_content: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ikpu_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vat_percent: Option<i64>,
}

/// A variant of [`NewProduct`], and `POST /api/admin/products/{id}/variants` (201).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewVariant {
    pub sku: String,
    #[serde(default)]
    pub options: VariantOptions,
    pub price: Money,
    /// `None` (or `null`): unlimited.
    #[serde(default)]
    pub stock: Option<i64>,
}

/// `PATCH /api/admin/products/{id}`: only the fields named change; in `title` and
/// `description` only the languages named change (`""` removes one).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProductPatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<ProductKind>,
    #[serde(
        default,
        with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub category_id: Option<Option<i64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<Texts>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<Texts>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub images: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archived: Option<bool>,
    #[serde(
        default,
        with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub digital_content: Option<Option<String>>,
    #[serde(
        default,
        with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub ikpu_code: Option<Option<String>>,
    #[serde(
        default,
        with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub package_code: Option<Option<String>>,
    #[serde(
        default,
        with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub vat_percent: Option<Option<i64>>,
}

/// `PUT /api/admin/products/{id}`: the whole product as the editor shows it, saved in one
/// transaction (answers the saved [`AdminProduct`]). Texts and the optional fields are
/// replaced (absent = cleared); images and the archived flag keep their own routes and are
/// left alone. `variants` is the full list in display order: an entry with an `id` updates
/// that variant, one without adds a variant, and a variant left out is removed the way
/// `DELETE /api/admin/variants/{id}` removes it (archived when orders name it, so order
/// history stays intact; deleted otherwise). Any failure changes nothing; the error's
/// `field` names the part (`variants[2].sku`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProductSave {
    pub kind: ProductKind,
    #[serde(default)]
    pub category_id: Option<i64>,
    pub title: Texts,
    #[serde(default)]
    pub description: Texts,
    #[serde(default)]
    pub digital_content: Option<String>,
    #[serde(default)]
    pub ikpu_code: Option<String>,
    #[serde(default)]
    pub package_code: Option<String>,
    #[serde(default)]
    pub vat_percent: Option<i64>,
    pub variants: Vec<SavedVariant>,
}

/// One variant of a [`ProductSave`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SavedVariant {
    /// The variant to update; `None` adds one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    pub sku: String,
    #[serde(default)]
    pub options: VariantOptions,
    pub price: Money,
    /// Absent: an existing variant's stock is left as it is (orders placed since the editor
    /// loaded keep their units), a new one is unlimited; `null`: unlimited; a number: set.
    #[serde(
        default,
        with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub stock: Option<Option<i64>>,
}

/// `PATCH /api/admin/variants/{id}`: only the fields named change (stock is only written
/// when named, so a patch never undoes orders placed meanwhile).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VariantPatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sku: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<VariantOptions>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<Money>,
    #[serde(
        default,
        with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub stock: Option<Option<i64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archived: Option<bool>,
}

/// `PUT /api/admin/variants/{id}/stock`: `{"stock": n | null}` sets free stock; `{"delta": n}`
/// adds (or with a negative number removes) units atomically, never below zero, so a count
/// can be corrected while orders are being placed. Exactly one of the two.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StockChange {
    #[serde(
        default,
        with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub stock: Option<Option<i64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delta: Option<i64>,
}

/// What `DELETE /api/admin/products/{id}` and `DELETE /api/admin/variants/{id}` did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Removed {
    pub id: i64,
    pub result: RemoveOutcome,
}

/// A row no order references is deleted; one that orders name is archived, so order history
/// keeps pointing at it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RemoveOutcome {
    Archived,
    Deleted,
}

impl RemoveOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            RemoveOutcome::Archived => "archived",
            RemoveOutcome::Deleted => "deleted",
        }
    }
}

/// `POST /api/admin/categories` (201 with the category).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewCategory {
    pub title: Texts,
    /// Made from the English (or first) title when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slug: Option<String>,
    /// After the last category when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<i64>,
}

/// `PATCH /api/admin/categories/{id}`: in `title` only the languages named change (`""`
/// removes one).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CategoryPatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<Texts>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slug: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<i64>,
}

/// `PUT /api/admin/categories/order`: every category exactly once, in the new order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CategoryOrder {
    pub ids: Vec<i64>,
}

/// `POST /api/admin/orders/{id}/refund` (owners only); an empty body is a full refund.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RefundRequest {
    /// Minor units; the whole refundable rest when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount_minor: Option<i64>,
    /// Put the units back on sale (goods returned unopened).
    #[serde(default)]
    pub restock: bool,
    /// The merchant paid the customer back outside the shop (a rail that cannot refund, or
    /// refused to): only record it, without asking the payment provider.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub manual: bool,
}

/// `GET /api/admin/products/{id}` (and create/patch answers): the catalog product plus the
/// fields only a merchant sees.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AdminProduct {
    #[serde(flatten)]
    pub product: Product,
    #[serde(default)]
    pub digital_content: Option<String>,
    /// Seconds; Telegram Star subscriptions use 2592000 (30 days).
    #[serde(default)]
    pub subscription_period: Option<i64>,
    /// Payme fiscal fields (IKPU = "MXIK" code, package code, VAT percent).
    #[serde(default)]
    pub ikpu_code: Option<String>,
    #[serde(default)]
    pub package_code: Option<String>,
    #[serde(default)]
    pub vat_percent: Option<i64>,
}

/// `POST /api/admin/products/{id}/images` answers 201 with this: the stored image's URL
/// (the largest width) and every width stored, under content-hashed names in `/media/`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UploadedImage {
    pub url: String,
    #[serde(default)]
    pub widths: Vec<ImageWidth>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImageWidth {
    pub width: u32,
    pub url: String,
}

/// `PUT /api/admin/products/{id}/images` replaces the product's image list (reorder and
/// remove); every URL must already belong to that product.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImageOrder {
    pub images: Vec<String>,
}

/// `GET /api/admin/dashboard?from=YYYY-MM-DD&to=YYYY-MM-DD` (UTC days, both inclusive;
/// default the last 30 days ending today).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Dashboard {
    pub from: String,
    pub to: String,
    /// One row per day that had paid revenue, per currency, ordered by day then currency.
    pub revenue: Vec<DayRevenue>,
    /// One row per day of the range (zeros included), ordered by day.
    pub orders: Vec<DayOrders>,
    /// Paid revenue over the range, one entry per currency.
    pub totals: Vec<Money>,
    /// Best sellers by paid quantity over the range (at most 10).
    pub top_products: Vec<TopProduct>,
    /// Variants with tracked stock at or below the threshold (default 5), fewest first.
    pub low_stock: Vec<LowStock>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DayRevenue {
    /// `YYYY-MM-DD` (UTC).
    pub day: String,
    pub currency: String,
    pub amount_minor: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DayOrders {
    pub day: String,
    pub created: i64,
    pub paid: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TopProduct {
    pub product_id: i64,
    pub title: Texts,
    pub quantity: i64,
    pub revenue: Vec<Money>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LowStock {
    pub product_id: i64,
    pub variant_id: i64,
    pub title: Texts,
    pub sku: String,
    pub stock: i64,
}

/// `POST /api/admin/products.csv` answers 200 with this when every row was good and saved;
/// when any row is bad it saves nothing and answers 422 with the error envelope
/// (`code: "invalid_csv"`) whose `error.rows` lists every bad row (`ErrorBody::rows`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CsvImportReport {
    pub created: i64,
    pub updated: i64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rows: Vec<CsvRowError>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CsvRowError {
    /// 1-based line number in the uploaded file (the header is line 1).
    pub line: usize,
    /// The column the problem is in, when it is about one.
    #[serde(default)]
    pub column: Option<String>,
    pub message: String,
}

/// The fewest characters a password for a new admin may have (`POST /api/admin/admins`,
/// `POST /api/admin/password`): the server refuses shorter ones and the admin checks it before
/// sending.
pub const MIN_ADMIN_PASSWORD_CHARS: usize = 10;
/// The most characters a password may have (Argon2 hashes any length, but a megabyte of
/// password is no password).
pub const MAX_ADMIN_PASSWORD_CHARS: usize = 1024;

/// What an admin may do. `owner`: everything, including managing admins, refunds and the audit
/// log; `staff`: runs the shop (catalog, orders) but cannot do those three (403 `owner_only`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AdminRole {
    Owner,
    Staff,
}

impl AdminRole {
    pub fn as_str(self) -> &'static str {
        match self {
            AdminRole::Owner => "owner",
            AdminRole::Staff => "staff",
        }
    }
}

impl TryFrom<String> for AdminRole {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        match s.as_str() {
            "owner" => Ok(AdminRole::Owner),
            "staff" => Ok(AdminRole::Staff),
            other => Err(format!("unknown admin role {other:?}")),
        }
    }
}

/// `GET /api/admin/admins` lists (owner only), `POST /api/admin/admins` ([`NewAdmin`]) adds (201).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AdminAccount {
    pub id: i64,
    pub email: String,
    pub role: AdminRole,
    /// Unix seconds when an owner disabled it (it cannot sign in); `None` = active.
    #[serde(default)]
    pub disabled_at: Option<i64>,
    pub created_at: i64,
}

/// `POST /api/admin/admins`: a new admin (owner only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewAdmin {
    pub email: String,
    pub password: String,
    /// `staff` when absent.
    #[serde(default = "staff")]
    pub role: AdminRole,
}

fn staff() -> AdminRole {
    AdminRole::Staff
}

/// `POST /api/admin/password`: the signed-in admin's own new password (answers 204; the
/// admin's other sessions end, this one stays).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PasswordChange {
    pub old_password: String,
    pub new_password: String,
}

/// One row of `GET /api/admin/audit` (a `Page` of these).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    pub id: i64,
    /// Unix seconds.
    pub created_at: i64,
    #[serde(default)]
    pub admin_id: Option<i64>,
    #[serde(default)]
    pub admin_email: Option<String>,
    pub action: String,
    pub entity: String,
    #[serde(default)]
    pub entity_id: Option<i64>,
    /// The client address the change came from (`None` for the command line, older entries).
    #[serde(default)]
    pub client_ip: Option<String>,
    #[serde(default)]
    pub before: Option<serde_json::Value>,
    #[serde(default)]
    pub after: Option<serde_json::Value>,
}

/// `POST /api/admin/promo-codes` (answers 201 with the [`PromoCode`]). Exactly one of
/// `percent_off` and `amount_off`; times are RFC 3339 (`2026-12-31T23:59:59Z`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewPromoCode {
    /// 3-32 letters, digits, `-` or `_`; stored upper-case, unique whatever the case.
    pub code: String,
    /// 1..100: percent of the order's items' sum, rounded down to the currency's minor unit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent_off: Option<i64>,
    /// A fixed amount off; the code then applies only to orders in this currency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount_off: Option<Money>,
    /// The least items' sum the code applies to; only orders in this currency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_total: Option<Money>,
    /// Orders that may hold the code at once (an order ended unpaid gives its use back).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_uses: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_uses_per_customer: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starts_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_at: Option<String>,
}

/// Where a promo code stands now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PromoStatus {
    Active,
    Paused,
    /// `starts_at` is still ahead.
    Scheduled,
    /// `ends_at` has passed.
    Ended,
    /// Every use of `max_uses` is held.
    UsedUp,
}

/// A promo code as the admin lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PromoCode {
    pub id: i64,
    pub code: String,
    #[serde(default)]
    pub percent_off: Option<i64>,
    #[serde(default)]
    pub amount_off: Option<Money>,
    #[serde(default)]
    pub min_total: Option<Money>,
    #[serde(default)]
    pub max_uses: Option<i64>,
    #[serde(default)]
    pub max_uses_per_customer: Option<i64>,
    /// Uses held by orders placed with the code that have not ended unpaid.
    pub uses: i64,
    #[serde(default)]
    pub starts_at: Option<String>,
    #[serde(default)]
    pub ends_at: Option<String>,
    pub paused: bool,
    pub status: PromoStatus,
    /// Paid orders placed with the code.
    pub paid_orders: i64,
    /// What those paid orders brought in (their totals, after the discount), per currency.
    pub revenue: Vec<Money>,
    pub created_at: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_saved_variant_tells_untouched_stock_from_unlimited() {
        let v: SavedVariant = serde_json::from_str(
            r#"{"id": 4, "sku": "A", "price": {"amount_minor": 100, "currency": "UZS"}}"#,
        )
        .unwrap();
        assert_eq!(v.stock, None, "absent: left as it is");
        let v: SavedVariant = serde_json::from_str(
            r#"{"sku": "A", "price": {"amount_minor": 100, "currency": "UZS"}, "stock": null}"#,
        )
        .unwrap();
        assert_eq!(v.stock, Some(None), "null: unlimited");
        // And the admin sends them the same way back.
        let json = serde_json::to_value(&v).unwrap();
        assert!(json["stock"].is_null() && json.get("stock").is_some());
        let untouched = SavedVariant { stock: None, ..v };
        assert!(serde_json::to_value(&untouched)
            .unwrap()
            .get("stock")
            .is_none());
    }
}

/// One transfer into the merchant's TON wallet (`GET /api/admin/ton/transfers`): every
/// transfer the shop counted, with what became of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TonTransfer {
    pub id: i64,
    /// `TON` or `USDT`, with the amount in its minor units.
    pub amount: Money,
    /// The transaction hash (base64), for the explorer.
    pub tx_hash: String,
    pub sender: Option<String>,
    pub comment: Option<String>,
    /// The order it counted towards (or was flagged on).
    pub order_id: Option<i64>,
    /// `partial` (counted, the order waits for the rest), `paid`, `flagged` (to return),
    /// `unmatched` (its comment names no order: attach it or return it), `returned`.
    pub state: String,
    pub note: Option<String>,
    /// What of it the merchant still has to send back (minor units): a flagged transfer, an
    /// overpayment's excess, an unmatched transfer; 0 when nothing is owed.
    pub to_return_minor: i64,
    /// Unix time of its block.
    pub chain_time: i64,
    /// `https://tonviewer.com/transaction/…`
    pub explorer_url: String,
}

/// A payment a rail reported for an order, as the admin's order page lists it: the order's
/// own payment, and any the order could not take (a second rail's success, an amount that
/// does not match, a TON overpayment's excess or a late transfer), which `needs_refund` marks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderPayment {
    pub rail: PaymentMethod,
    /// The provider's id of it (a YooKassa payment, a Crypto Pay invoice, a TON transaction
    /// hash, a Stripe PaymentIntent or invoice), to look it up in the provider's dashboard.
    pub provider_payment_id: String,
    pub amount: Money,
    /// What of it was given back so far (minor units of `amount`).
    pub refunded_minor: i64,
    /// Money the order could not take: to give back.
    pub needs_refund: bool,
    pub created_at: i64,
}

/// A refund the shop counted for an order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderRefund {
    pub rail: PaymentMethod,
    /// The provider's id of the refund (a YooKassa refund, a Crypto Pay transfer, a Stripe
    /// `re_…`); one the shop made up for a refund recorded by hand or in cash.
    pub provider_refund_id: String,
    pub amount: Money,
    /// The merchant paid it back outside the shop and recorded it (Crypto Pay without
    /// transfers, a provider that refused): no provider was asked.
    pub manual: bool,
    /// When the provider reported that the refund failed after all: it no longer counts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_at: Option<i64>,
    pub created_at: i64,
}

/// `POST /api/admin/ton/transfers/{id}/attach`: count an unmatched transfer towards an order
/// (the buyer wrote a wrong comment), with the same checks as a matching comment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AttachTransfer {
    pub order_id: i64,
}

/// `POST /api/admin/delivery-methods` and `PUT /api/admin/delivery-methods/{id}` (the whole
/// method with its options; an option with the `id` of one of the method's keeps it, one
/// without is new, and options left out are removed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DeliveryMethodSave {
    pub kind: DeliveryKind,
    /// At least one language; each at most 100 characters.
    pub title: Texts,
    /// 0 for free; its currency is the method's: it is offered for orders in it only.
    pub fee: Money,
    /// Free from this goods total (after a promo code's discount) on; same currency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub free_above: Option<Money>,
    /// Offered at checkout (default true); false pauses it.
    #[serde(default = "yes")]
    pub active: bool,
    /// Lower first (default 0, then by id).
    #[serde(default)]
    pub position: i64,
    /// Zones (courier) or pickup points, at most 50.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_items = 50))]
    pub options: Vec<DeliveryOptionSave>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DeliveryOptionSave {
    /// An existing option of this method, to keep its id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    pub title: Texts,
    /// This option's own fee, in the method's currency; absent: the method's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fee: Option<Money>,
    /// A pickup point's address (required for pickup points, at most 300 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
}

/// A delivery method as the admin shows it, with the texts in every language.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AdminDeliveryMethod {
    pub id: i64,
    pub kind: DeliveryKind,
    pub title: Texts,
    pub fee: Money,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub free_above: Option<Money>,
    pub active: bool,
    pub position: i64,
    #[serde(default)]
    pub options: Vec<AdminDeliveryOption>,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AdminDeliveryOption {
    pub id: i64,
    pub title: Texts,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fee: Option<Money>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
}
