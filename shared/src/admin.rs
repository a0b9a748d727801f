//! Shapes the merchant admin (the `/admin` Leptos bundle) and the `/api/admin/…` routes share.
//!
//! Requests the admin already sends as plain JSON objects (product create/patch, variant
//! create/patch, category create/patch) stay documented at their handlers; this module holds
//! the answers the admin UI renders, so a field renamed on one side breaks the other's build.

use serde::{Deserialize, Serialize};

use crate::{Money, Product, Texts};

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
