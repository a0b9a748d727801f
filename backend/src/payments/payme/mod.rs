//! Payme (Paycom): the Merchant API, where Payme calls our JSON-RPC endpoint.
//!
//! The customer pays on Payme's checkout page (`checkout_url`); Payme asks whether the order
//! can be paid (CheckPerformTransaction, with the fiscal receipt lines), creates a
//! transaction for it, performs it once the card is debited, and may cancel it before or
//! after (a refund). Every answer is HTTP 200 JSON-RPC.

pub(crate) mod errors;
pub(crate) mod params;
pub(crate) mod rpc;

use base64::Engine;
use futures_util::future::BoxFuture;
use shared::{Currency, PaymentMethod, ProductKind};

use super::refund::Refund;
use super::uz::{return_url, uz_refuses};
use super::{Checkout, CheckoutOrder, Provider, RefundRequest};
use crate::config::PaymeConfig;
use crate::error::{Error, Result};

pub use rpc::router;

pub struct Payme {
    config: PaymeConfig,
    public_url: String,
}

impl Payme {
    pub fn new(config: PaymeConfig, public_url: &str) -> Self {
        Payme {
            config,
            public_url: public_url.trim_end_matches('/').to_string(),
        }
    }
}

impl Provider for Payme {
    fn method(&self) -> PaymentMethod {
        PaymentMethod::Payme
    }

    fn refuses(&self, currency: &Currency, kinds: &[ProductKind]) -> Option<String> {
        uz_refuses("Payme", currency, kinds)
    }

    fn names_order_by_reference(&self) -> bool {
        true
    }

    fn create_checkout<'a>(&'a self, order: &'a CheckoutOrder) -> BoxFuture<'a, Result<Checkout>> {
        Box::pin(async move {
            // Payme sends it back as `account.order_id`.
            let reference = order
                .pay_ref
                .as_deref()
                .ok_or_else(|| Error::internal("a Payme order without its reference"))?;
            // `;` separates Payme's parameters and cannot be escaped: keep it out of values.
            let back = return_url(&self.public_url, order.order_id).replace(';', "%3B");
            let params = format!(
                "m={};ac.order_id={};a={};c={};l={}",
                self.config.merchant_id,
                reference,
                order.total_minor,
                back,
                order.lang.code()
            );
            let encoded = base64::engine::general_purpose::STANDARD.encode(params);
            Ok(Checkout {
                checkout_url: Some(format!(
                    "{}/{encoded}",
                    self.config.checkout_url.trim_end_matches('/')
                )),
                ..Checkout::default()
            })
        })
    }

    fn refund<'a>(&'a self, req: &'a RefundRequest) -> BoxFuture<'a, Result<Vec<Refund>>> {
        // Payme refunds are started by Payme: the merchant cancels the payment in the Payme
        // business cabinet, Payme calls CancelTransaction, and that refunds the order here.
        let order_id = req.order_id;
        Box::pin(async move {
            Err(Error::conflict(
                "refund_unavailable",
                format!(
                    "Payme payments are refunded from the Payme business cabinet: cancel the \
                     payment for order {order_id} there, and the order is refunded here \
                     automatically when Payme tells the shop."
                ),
            ))
        })
    }
}
