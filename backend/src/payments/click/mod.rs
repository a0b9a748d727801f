//! Click (click.uz): the SHOP API, where Click calls our Prepare and Complete URLs.
//!
//! The customer pays on Click's page (`checkout_url`); Click then asks us to *prepare* the
//! attempt (we check the order and issue a `merchant_prepare_id`) and to *complete* it (we
//! fulfil the order, or cancel the attempt when Click reports a failure). Every answer is
//! HTTP 200 JSON with Click's `error` / `error_note`, whatever went wrong.

pub(crate) mod webhook;

use futures_util::future::BoxFuture;
use shared::{Currency, Money, PaymentMethod, ProductKind};

use super::refund::Refund;
use super::uz::{return_url, uz_refuses};
use super::{Checkout, CheckoutOrder, Provider, RefundRequest};
use crate::config::ClickConfig;
use crate::error::{Error, Result};

pub use webhook::router;

/// Click's payment page.
const PAY_URL: &str = "https://my.click.uz/services/pay";

pub struct Click {
    config: ClickConfig,
    public_url: String,
}

impl Click {
    pub fn new(config: ClickConfig, public_url: &str) -> Self {
        Click {
            config,
            public_url: public_url.trim_end_matches('/').to_string(),
        }
    }
}

impl Provider for Click {
    fn method(&self) -> PaymentMethod {
        PaymentMethod::Click
    }

    fn refuses(&self, currency: &Currency, kinds: &[ProductKind]) -> Option<String> {
        uz_refuses("Click", currency, kinds)
    }

    fn names_order_by_reference(&self) -> bool {
        true
    }

    fn create_checkout<'a>(&'a self, order: &'a CheckoutOrder) -> BoxFuture<'a, Result<Checkout>> {
        Box::pin(async move {
            // Click takes the amount in sum; an exact decimal string, never a float.
            let amount = Money::new(order.total_minor, order.currency.clone()).major_string();
            // Click sends it back as merchant_trans_id.
            let reference = order
                .pay_ref
                .as_deref()
                .ok_or_else(|| Error::internal("a Click order without its reference"))?;
            let query = form_urlencoded::Serializer::new(String::new())
                .append_pair("service_id", &self.config.service_id)
                .append_pair("merchant_id", &self.config.merchant_id)
                .append_pair("amount", &amount)
                .append_pair("transaction_param", reference)
                .append_pair("return_url", &return_url(&self.public_url, order.order_id))
                .finish();
            Ok(Checkout {
                checkout_url: Some(format!("{PAY_URL}?{query}")),
                ..Checkout::default()
            })
        })
    }

    fn refund<'a>(&'a self, req: &'a RefundRequest) -> BoxFuture<'a, Result<Vec<Refund>>> {
        // The reversal call of Click's merchant API is not documented precisely enough in
        // what we rely on (only invoice creation is), so we do not guess at a money call.
        let order_id = req.order_id;
        Box::pin(async move {
            Err(Error::conflict(
                "refund_unavailable",
                format!(
                    "Click payments cannot be refunded from the shop yet: reverse the payment for \
                     order {order_id} in the Click merchant cabinet (merchant.click.uz), then \
                     record it here."
                ),
            ))
        })
    }
}
