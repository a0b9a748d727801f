//! Cash on delivery: lets a shop sell physical goods before any provider is configured.
//! The order is paid when the merchant marks it delivered (see admin orders).

use futures_util::future::BoxFuture;
use shared::{Currency, PaymentMethod, ProductKind};

use super::{Checkout, CheckoutOrder, Provider};
use crate::error::Result;

pub struct Cash;

impl Provider for Cash {
    fn method(&self) -> PaymentMethod {
        PaymentMethod::Cash
    }

    fn refuses(&self, currency: &Currency, kinds: &[ProductKind]) -> Option<String> {
        if currency.as_str() == "XTR" {
            return Some("Telegram Stars cannot be paid in cash.".into());
        }
        if kinds.iter().any(|k| *k != ProductKind::Physical) {
            return Some("Cash on delivery is for physical goods only.".into());
        }
        None
    }

    fn reservation_expires(&self) -> bool {
        false
    }

    fn create_checkout<'a>(&'a self, _order: &'a CheckoutOrder) -> BoxFuture<'a, Result<Checkout>> {
        Box::pin(async { Ok(Checkout::default()) })
    }
}
