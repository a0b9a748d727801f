//! Types that cross the wire between the backend and the frontend.
//!
//! Serde-only on purpose: no database, HTTP or browser types leak in here, so both the
//! native backend and the WASM frontend compile it cheaply and agree on every shape.

pub mod admin;
pub mod money;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use money::{Currency, Money};

/// Languages the shop speaks. Texts a merchant writes are kept per language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    Uz,
    Ru,
    En,
}

impl Lang {
    pub const ALL: [Lang; 3] = [Lang::Uz, Lang::Ru, Lang::En];

    pub fn code(self) -> &'static str {
        match self {
            Lang::Uz => "uz",
            Lang::Ru => "ru",
            Lang::En => "en",
        }
    }

    /// Parses a language tag such as `ru`, `ru-RU` or `uz_Latn`; unknown tags give `None`.
    pub fn parse(tag: &str) -> Option<Lang> {
        let primary = tag
            .trim()
            .split(['-', '_', ';', ','])
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        match primary.as_str() {
            "uz" => Some(Lang::Uz),
            "ru" => Some(Lang::Ru),
            "en" => Some(Lang::En),
            _ => None,
        }
    }
}

/// Merchant-written text in any subset of the three languages: `{"uz": …, "ru": …, "en": …}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Texts {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uz: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ru: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub en: Option<String>,
}

impl Texts {
    pub fn get(&self, lang: Lang) -> Option<&str> {
        let v = match lang {
            Lang::Uz => &self.uz,
            Lang::Ru => &self.ru,
            Lang::En => &self.en,
        };
        v.as_deref().filter(|s| !s.trim().is_empty())
    }

    /// The text in `lang`, else in the first language of `fallback` that has one.
    pub fn pick(&self, lang: Lang, fallback: &[Lang]) -> Option<&str> {
        self.get(lang)
            .or_else(|| fallback.iter().find_map(|l| self.get(*l)))
            .or_else(|| Lang::ALL.iter().find_map(|l| self.get(*l)))
    }

    /// The value as sent, even if empty (a patch uses "" to remove a language).
    pub fn get_raw(&self, lang: Lang) -> Option<&str> {
        match lang {
            Lang::Uz => self.uz.as_deref(),
            Lang::Ru => self.ru.as_deref(),
            Lang::En => self.en.as_deref(),
        }
    }

    /// Sets one language; an empty or blank value removes it.
    pub fn set(&mut self, lang: Lang, value: &str) {
        let v = (!value.trim().is_empty()).then(|| value.trim().to_string());
        match lang {
            Lang::Uz => self.uz = v,
            Lang::Ru => self.ru = v,
            Lang::En => self.en = v,
        }
    }

    pub fn is_empty(&self) -> bool {
        Lang::ALL.iter().all(|l| self.get(*l).is_none())
    }

    /// The texts as stored: trimmed, blank languages left out (as `set` does), so a record
    /// created with `""` for a language looks the same as one edited to remove it.
    pub fn cleaned(&self) -> Texts {
        let mut out = Texts::default();
        for l in Lang::ALL {
            out.set(l, self.get_raw(l).unwrap_or(""));
        }
        out
    }

    pub fn all(&self) -> impl Iterator<Item = &str> {
        Lang::ALL.into_iter().filter_map(|l| self.get(l))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ProductKind {
    Physical,
    Digital,
    Subscription,
}

impl ProductKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ProductKind::Physical => "physical",
            ProductKind::Digital => "digital",
            ProductKind::Subscription => "subscription",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "physical" => Some(Self::Physical),
            "digital" => Some(Self::Digital),
            "subscription" => Some(Self::Subscription),
            _ => None,
        }
    }
}

/// Options that tell variants apart, such as `{"size": "M", "colour": "red"}`.
pub type VariantOptions = BTreeMap<String, String>;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Category {
    pub id: i64,
    pub slug: String,
    /// In the language asked for (with fallback).
    pub title: String,
    pub position: i64,
    /// Present in admin answers only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub texts: Option<Texts>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Variant {
    pub id: i64,
    pub sku: String,
    pub options: VariantOptions,
    pub price: Money,
    /// `None` = unlimited.
    pub stock: Option<i64>,
    pub available: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Product {
    pub id: i64,
    pub kind: ProductKind,
    pub category_id: Option<i64>,
    pub title: String,
    pub description: String,
    pub images: Vec<String>,
    pub variants: Vec<Variant>,
    /// Full per-language texts, in admin answers only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub texts: Option<ProductTexts>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub archived: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProductTexts {
    pub title: Texts,
    pub description: Texts,
}

/// Every list answers `{"items": [...], "next_cursor": "…" | null}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Me {
    pub id: i64,
    pub first_name: String,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub username: Option<String>,
    pub language_code: Option<String>,
    /// The delivery contact of the customer's latest order that had one, offered back at the
    /// next checkout so a returning customer does not type it again.
    #[serde(default)]
    pub contact: Option<Contact>,
    /// How the customer paid their latest order: the checkout preselects it when offered.
    #[serde(default)]
    pub last_payment_method: Option<PaymentMethod>,
    /// The delivery method of the customer's latest order that chose one: the checkout
    /// preselects it when it is still offered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_delivery_method_id: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CartLine {
    pub variant_id: i64,
    /// 0 removes the line.
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 999))]
    pub quantity: i64,
}

/// `PUT /api/cart` replaces the whole cart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CartUpdate {
    #[cfg_attr(feature = "openapi", schema(max_items = 100))]
    pub items: Vec<CartLine>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CartItem {
    pub variant_id: i64,
    pub product_id: i64,
    /// What kind of goods the line is, so checkout knows from the cart alone whether it
    /// needs a delivery contact (physical goods) without fetching every product.
    pub kind: ProductKind,
    pub title: String,
    pub sku: String,
    pub options: VariantOptions,
    pub quantity: i64,
    pub unit_price: Money,
    pub line_total: Money,
    pub stock: Option<i64>,
    pub available: bool,
    /// Why this line cannot be ordered as it is (sold out, fewer left, archived), if so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Cart {
    pub items: Vec<CartItem>,
    /// `None` for an empty cart.
    pub total: Option<Money>,
    /// Payment methods the shop offers for this cart right now.
    pub payment_methods: Vec<PaymentMethod>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PaymentMethod {
    Cash,
    Stars,
    Telegram,
    Click,
    Payme,
    Stripe,
    Paypal,
    /// Toncoin or USDT on TON, paid on-chain to the merchant's wallet.
    Ton,
    /// A Crypto Pay (@CryptoBot) invoice.
    Cryptopay,
    /// A YooKassa payment (RUB).
    Yookassa,
}

impl PaymentMethod {
    pub const ALL: [PaymentMethod; 10] = [
        Self::Cash,
        Self::Stars,
        Self::Telegram,
        Self::Click,
        Self::Payme,
        Self::Stripe,
        Self::Paypal,
        Self::Ton,
        Self::Cryptopay,
        Self::Yookassa,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cash => "cash",
            Self::Stars => "stars",
            Self::Telegram => "telegram",
            Self::Click => "click",
            Self::Payme => "payme",
            Self::Stripe => "stripe",
            Self::Paypal => "paypal",
            Self::Ton => "ton",
            Self::Cryptopay => "cryptopay",
            Self::Yookassa => "yookassa",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

/// Decodes a stored `payment_method` / `provider` column (the server's row types).
impl TryFrom<String> for PaymentMethod {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s).ok_or_else(|| format!("unknown payment method {s:?}"))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    PendingPayment,
    Paid,
    Shipped,
    Delivered,
    Completed,
    Cancelled,
    Expired,
    Refunded,
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 8] = [
        Self::PendingPayment,
        Self::Paid,
        Self::Shipped,
        Self::Delivered,
        Self::Completed,
        Self::Cancelled,
        Self::Expired,
        Self::Refunded,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PendingPayment => "pending_payment",
            Self::Paid => "paid",
            Self::Shipped => "shipped",
            Self::Delivered => "delivered",
            Self::Completed => "completed",
            Self::Cancelled => "cancelled",
            Self::Expired => "expired",
            Self::Refunded => "refunded",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }
    /// No further change is expected.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Self::Completed | Self::Cancelled | Self::Expired | Self::Refunded
        )
    }
}

/// Decodes a stored `orders.status` column (the server's row types).
impl TryFrom<String> for OrderStatus {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s).ok_or_else(|| format!("unknown order status {s:?}"))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Contact {
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 200))]
    pub name: String,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 32))]
    pub phone: String,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 500))]
    pub address: String,
    /// Where a fiscal receipt goes (YooKassa with `YOOKASSA_RECEIPTS=1` needs this or the
    /// phone); optional otherwise.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[cfg_attr(feature = "openapi", schema(max_length = 254))]
    pub email: String,
}

/// One line of `POST /api/orders`. Unknown fields are refused, as for [`CreateOrder`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct OrderLineRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant_id: Option<i64>,
    /// Stands for the variant when the product has exactly one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_id: Option<i64>,
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 999))]
    pub quantity: i64,
}

/// `POST /api/orders`. No `items` = the customer's cart.
///
/// Unknown fields are refused rather than ignored: a request that misspells a field meant to
/// change the price (a promo code, say) must fail, not quietly charge the full amount.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateOrder {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_items = 100))]
    pub items: Option<Vec<OrderLineRequest>>,
    pub payment_method: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<Contact>,
    /// A promo code typed at checkout (any case). Checked and applied on the server: an
    /// unknown, expired, paused or used-up code, or one that does not fit the order, is 422
    /// `promo_code_invalid` and no order is placed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_length = 32, example = "SPRING10"))]
    pub promo_code: Option<String>,
    /// How physical goods reach the customer, from `GET /api/delivery-methods`. Required when
    /// the order has a physical item and the shop offers a method in the order's currency;
    /// refused for orders with nothing to deliver. The fee is the server's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery: Option<DeliveryChoice>,
}

/// The delivery picked at checkout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DeliveryChoice {
    pub method_id: i64,
    /// The zone (courier) or pickup point: required when the method has options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub option_id: Option<i64>,
}

/// Courier delivery to the customer's address, or pickup at a point of the merchant's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum DeliveryKind {
    Courier,
    Pickup,
}

impl DeliveryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryKind::Courier => "courier",
            DeliveryKind::Pickup => "pickup",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "courier" => Some(DeliveryKind::Courier),
            "pickup" => Some(DeliveryKind::Pickup),
            _ => None,
        }
    }
}

/// A delivery method offered at checkout (`GET /api/delivery-methods`), in the language asked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeliveryMethod {
    pub id: i64,
    pub kind: DeliveryKind,
    pub title: String,
    /// The fee when no option has one of its own.
    pub fee: Money,
    /// Free when the goods (after a promo code's discount) cost at least this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub free_above: Option<Money>,
    /// Zones of a courier method or points of a pickup method; one must be chosen when any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<DeliveryOption>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeliveryOption {
    pub id: i64,
    pub title: String,
    /// This zone's or point's own fee; absent: the method's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fee: Option<Money>,
    /// A pickup point's address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
}

/// The delivery of an order as it was chosen (later edits of the method do not change it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderDelivery {
    pub kind: DeliveryKind,
    /// The method's title.
    pub method: String,
    /// The zone or pickup point.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub option: Option<String>,
    /// The pickup point's address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// Part of the order's total (0 when free).
    pub fee: Money,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderItem {
    pub variant_id: i64,
    pub product_id: i64,
    /// Snapshot at purchase, in the language asked for.
    pub title: String,
    pub sku: String,
    pub options: VariantOptions,
    pub quantity: i64,
    pub unit_price: Money,
    pub line_total: Money,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderEvent {
    pub at: i64,
    pub kind: String,
    #[serde(default)]
    pub status: Option<OrderStatus>,
    #[serde(default)]
    pub note: Option<String>,
    #[serde(default)]
    pub actor: Option<String>,
}

/// The kinds of order timeline entries that carry no status change (a status change's kind is
/// the status itself). The backend writes only these names and both apps label each one:
/// the admin every kind (`ALL`), the storefront those in [`CUSTOMER_EVENT_KINDS`].
pub mod event_kind {
    /// A checkout session or invoice could not be opened with the provider.
    pub const CHECKOUT_FAILED: &str = "checkout_failed";
    /// The provider's checkout of an order that ended unpaid was closed (a Crypto Pay invoice
    /// deleted), so it cannot be paid any more; the note says which, or why it stayed.
    pub const CHECKOUT_CLOSED: &str = "checkout_closed";
    /// A second payment for an order that was already paid; flagged for refund.
    pub const DUPLICATE_PAYMENT: &str = "duplicate_payment";
    /// A flagged (duplicate or unusable) payment was given back.
    pub const DUPLICATE_REFUNDED: &str = "duplicate_refunded";
    /// Part of the payment was given back.
    pub const PARTIAL_REFUND: &str = "partial_refund";
    /// Payme created its transaction for the order.
    pub const PAYME_TRANSACTION: &str = "payme_transaction";
    /// A Stars subscription renewed after its order was refunded; flagged for refund.
    pub const PAYMENT_AFTER_REFUND: &str = "payment_after_refund";
    /// A payment whose amount or currency does not match the order; flagged for refund.
    pub const PAYMENT_MISMATCH: &str = "payment_mismatch";
    /// A payment that arrived when the order could no longer take it; flagged for refund.
    pub const PAYMENT_NEEDS_REFUND: &str = "payment_needs_refund";
    /// A provider gave back more than was left to refund; only what was left counted.
    pub const REFUND_EXCEEDS_PAYMENT: &str = "refund_exceeds_payment";
    /// A refund that had succeeded failed later (Stripe: the card was closed); the money is
    /// the shop's again and no longer counts as refunded.
    pub const REFUND_FAILED: &str = "refund_failed";
    /// A refund was asked of the provider and is not final yet.
    pub const REFUND_PENDING: &str = "refund_pending";
    /// The order's units went back on sale.
    pub const RESTOCKED: &str = "restocked";
    /// The shop's rules flagged the order for a look (the note says why).
    pub const FLAGGED: &str = "flagged";
    /// The merchant confirmed a flagged order.
    pub const CONFIRMED: &str = "confirmed";
    /// The provider reported a payment for the order failed (counted by the risk rules).
    pub const PAYMENT_FAILED: &str = "payment_failed";
    /// The subscription the order sold has ended (refunded, or ended at its provider).
    /// A transfer paid part of the total (TON); the order waits for the rest.
    pub const UNDERPAID: &str = "underpaid";
    /// More than the total arrived (TON): the order is paid, the excess flagged for refund.
    pub const OVERPAID: &str = "overpaid";
    pub const SUBSCRIPTION_ENDED: &str = "subscription_ended";
    /// The subscription the order sold renewed for another period.
    pub const SUBSCRIPTION_RENEWED: &str = "subscription_renewed";
    /// The subscription will not renew (the customer or the merchant turned renewal off); it
    /// runs until the end of the period paid for.
    pub const SUBSCRIPTION_CANCELED: &str = "subscription_canceled";
    /// Renewal was turned back on before the period ended.
    pub const SUBSCRIPTION_RESUMED: &str = "subscription_resumed";
    /// A renewal charge failed (Stripe retries it); the customer was told.
    pub const SUBSCRIPTION_PAYMENT_FAILED: &str = "subscription_payment_failed";

    pub const ALL: [&str; 23] = [
        CHECKOUT_FAILED,
        CHECKOUT_CLOSED,
        DUPLICATE_PAYMENT,
        DUPLICATE_REFUNDED,
        PARTIAL_REFUND,
        PAYME_TRANSACTION,
        PAYMENT_AFTER_REFUND,
        PAYMENT_MISMATCH,
        PAYMENT_NEEDS_REFUND,
        REFUND_EXCEEDS_PAYMENT,
        REFUND_FAILED,
        REFUND_PENDING,
        RESTOCKED,
        FLAGGED,
        CONFIRMED,
        PAYMENT_FAILED,
        SUBSCRIPTION_ENDED,
        SUBSCRIPTION_RENEWED,
        SUBSCRIPTION_CANCELED,
        SUBSCRIPTION_RESUMED,
        SUBSCRIPTION_PAYMENT_FAILED,
        UNDERPAID,
        OVERPAID,
    ];
}

/// Timeline entries without a status that an order's customer sees (`GET /api/orders/{id}`);
/// the others (restocks, a provider's refund pending or exceeding the payment, failed checkout
/// attempts) are the merchant's bookkeeping and show only in the admin. The storefront has a
/// label for each of these.
///
/// A subscription's renewal turned off or on, or a failed renewal payment, is not among them:
/// the order page shows the subscription's state itself, and the bot tells the customer.
pub const CUSTOMER_EVENT_KINDS: [&str; 4] = [
    event_kind::PARTIAL_REFUND,
    event_kind::DUPLICATE_REFUNDED,
    event_kind::REFUND_FAILED,
    event_kind::SUBSCRIPTION_ENDED,
];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Order {
    pub id: i64,
    pub status: OrderStatus,
    /// What the customer pays and every rail charges: the items' sum minus `discount`, plus
    /// the delivery fee.
    pub total: Money,
    /// What a promo code took off the items' sum; absent when the order has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discount: Option<Money>,
    /// The promo code applied (upper-case), with `discount`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promo_code: Option<String>,
    /// How the goods are delivered, with the fee included in `total`; absent when the order
    /// chose none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery: Option<OrderDelivery>,
    pub items: Vec<OrderItem>,
    pub payment_method: PaymentMethod,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invoice_link: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkout_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<Contact>,
    pub created_at: i64,
    /// When an unpaid order's reservation lapses (unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<i64>,
    /// The timeline, in admin answers and order detail.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<OrderEvent>,
    /// Why the order was flagged for the merchant to look at (admin answers only).
    #[cfg(feature = "merchant")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk: Option<OrderRisk>,
    /// What the rails reported, oldest first (admin order detail only): every payment, with
    /// those the order could not take marked for refund.
    #[cfg(feature = "merchant")]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub payments: Vec<admin::OrderPayment>,
    /// Every refund counted, failed ones included (admin order detail only). Refunds asked
    /// and not final yet are `refund_pending` entries of the timeline.
    #[cfg(feature = "merchant")]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refunds: Vec<admin::OrderRefund>,
    /// The transfers into the TON wallet counted towards or flagged on this order (admin
    /// order detail of `ton` orders): part-payments, the one that paid, late or wrong-asset
    /// ones, what was returned.
    #[cfg(feature = "merchant")]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ton_transfers: Vec<admin::TonTransfer>,
    /// The subscription the order sold, once its first payment started it (order detail).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscription: Option<OrderSubscription>,
    /// What a buyer needs to pay a `ton` order from any wallet (in `POST /api/orders` and
    /// `GET /api/orders/{id}` answers of `ton` orders).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ton: Option<TonPayment>,
}

/// An order the shop's rules flagged: many failed payments in a short time, a first order far
/// above the shop's average, many orders to different addresses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderRisk {
    pub reason: String,
    /// When the merchant confirmed the order anyway (unix seconds). A flagged cash order is
    /// not shipped or delivered before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirmed_at: Option<i64>,
}

/// A subscription as an order's page shows it (the customer's and the merchant's).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderSubscription {
    /// The id `POST /api/subscriptions/{id}/cancel` takes.
    pub id: i64,
    /// The rail that renews it.
    pub payment_method: PaymentMethod,
    /// `active` (renews), `canceled` (runs until `expires_at`, no renewal) or `expired`.
    pub status: String,
    pub renews: bool,
    /// The end of the period paid for (unix seconds): the next renewal while it renews.
    pub expires_at: i64,
    pub renewals: i64,
}

/// How to pay a `ton` order on-chain: send the order's `total` (in its currency, `TON` or
/// `USDT`) to `address` with `comment` as the transfer's text comment; the order's
/// `checkout_url` is the same transfer as a `ton://` link. The shop watches its wallet and
/// marks the order paid once the transfers carrying that comment add up to the total.
///
/// Only what the order does not already say: this type is decoded in the storefront's first
/// download, where every field costs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TonPayment {
    /// The merchant's wallet, user-friendly and non-bounceable (`UQ…`), for copying.
    pub address: String,
    /// The total in major units as an exact decimal string (`"1.500000000"` TON).
    pub amount: String,
    /// The text comment the transfer must carry: it names this order and nothing else.
    pub comment: String,
    /// The transfer as an https link Tonkeeper opens (inside Telegram, where `ton://` links
    /// may not open).
    pub tonkeeper_link: String,
    /// What arrived so far with this order's comment (minor units): below the total the order
    /// is still waiting for the rest.
    pub received_minor: i64,
    /// The `ton://` link as a QR code (an SVG document) to scan with a second device.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qr_svg: Option<String>,
}

/// The one error shape every route answers with: `{"error":{"code","message"}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorEnvelope {
    pub error: ErrorBody,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub code: String,
    pub message: String,
    /// The request field the error is about, so a form can show it next to that field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Every bad row of an uploaded CSV file (`code: "invalid_csv"`), so the admin can list
    /// them all at once instead of one fix-and-retry round per row.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rows: Vec<admin::CsvRowError>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoginResponse {
    pub csrf_token: String,
    pub admin: AdminInfo,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AdminInfo {
    pub id: i64,
    pub email: String,
    pub role: admin::AdminRole,
}

/// `POST /api/products/{id}/share`: a message about the product prepared for this user
/// (`savePreparedInlineMessage`), which `Telegram.WebApp.shareMessage(id)` (Bot API 8.0+)
/// lets them send to a chat of their choice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PreparedShare {
    /// The prepared message's id, for `shareMessage`.
    pub id: String,
    /// Unix seconds after which Telegram forgets it; ask again after that.
    pub expiration_date: i64,
}

/// `GET /api/dev/init-data`: signed initData for the dev user (dev mode only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DevInitData {
    pub init_data: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lang_parse_accepts_region_tags() {
        assert_eq!(Lang::parse("ru-RU"), Some(Lang::Ru));
        assert_eq!(Lang::parse("uz_Latn"), Some(Lang::Uz));
        assert_eq!(Lang::parse("EN"), Some(Lang::En));
        assert_eq!(Lang::parse("de"), None);
    }

    #[test]
    fn texts_fall_back_in_order_then_to_any() {
        let t = Texts {
            uz: None,
            ru: Some("Привет".into()),
            en: Some(" ".into()),
        };
        assert_eq!(t.pick(Lang::En, &[Lang::Uz, Lang::Ru]), Some("Привет"));
        let only_uz = Texts {
            uz: Some("Salom".into()),
            ..Default::default()
        };
        assert_eq!(only_uz.pick(Lang::En, &[Lang::Ru]), Some("Salom"));
        assert!(Texts::default().is_empty());
    }

    #[test]
    fn statuses_round_trip_as_snake_case() {
        for s in OrderStatus::ALL {
            let json = serde_json::to_string(&s).unwrap();
            assert_eq!(json, format!("\"{}\"", s.as_str()));
            assert_eq!(OrderStatus::parse(s.as_str()), Some(s));
        }
        for m in PaymentMethod::ALL {
            assert_eq!(
                serde_json::to_string(&m).unwrap(),
                format!("\"{}\"", m.as_str())
            );
        }
    }
}
