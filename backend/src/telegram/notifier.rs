//! Order messages in the customer's chat, in the language the order was placed in.
//! Paid digital goods carry their content (text, code or link) in the same message.

use futures_util::future::BoxFuture;
use shared::Lang;

use crate::db::Db;
use crate::notify::{Notice, Notifier};
use crate::telegram::commands::with_open_button;
use crate::telegram::outbox::{Kind, Queued};
use crate::telegram::texts::t;
use crate::telegram::Bot;

pub struct TelegramNotifier {
    pub bot: Bot,
    pub db: Db,
    pub public_url: String,
}

impl Notifier for TelegramNotifier {
    fn order<'a>(&'a self, order_id: i64, notice: Notice) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            if let Err(e) = self.send(order_id, notice).await {
                tracing::warn!(order_id, ?notice, error = %e, "customer message not sent");
            }
        })
    }
}

impl TelegramNotifier {
    async fn send(&self, order_id: i64, notice: Notice) -> Result<(), String> {
        let mut conn = self.db.pool.acquire().await.map_err(|e| e.to_string())?;
        // Read here rather than through the orders module: the bot is a leaf.
        let Some((customer_id, lang)): Option<(i64, String)> =
            sqlx::query_as("SELECT customer_id, lang FROM orders WHERE id = $1")
                .bind(order_id)
                .fetch_optional(&mut *conn)
                .await
                .map_err(|e| e.to_string())?
        else {
            return Ok(());
        };
        let lang = Lang::parse(&lang).unwrap_or(Lang::En);
        let mut text = t(lang, text_key(notice)).replace("{order}", &format!("#{order_id}"));
        let mut markup = None;
        if notice == Notice::Underpaid {
            // What arrived so far (TON part-payments) against the total, read here like the
            // rest: the bot is a leaf.
            let (currency, total): (String, i64) =
                sqlx::query_as("SELECT currency, total_minor FROM orders WHERE id = $1")
                    .bind(order_id)
                    .fetch_one(&mut *conn)
                    .await
                    .map_err(|e| e.to_string())?;
            let received: Option<i64> = sqlx::query_scalar(
                "SELECT CAST(SUM(amount_minor) AS BIGINT) FROM ton_transfers \
                 WHERE order_id = $1 AND state = 'partial'",
            )
            .bind(order_id)
            .fetch_one(&mut *conn)
            .await
            .map_err(|e| e.to_string())?;
            let currency = shared::Currency::new(&currency)?;
            let received = received.unwrap_or(0);
            let show = |m: i64| shared::Money::new(m, currency.clone()).display();
            text = text
                .replace("{received}", &show(received))
                .replace("{total}", &show(total))
                .replace("{missing}", &show((total - received).max(0)));
        }
        if notice == Notice::Paid {
            let content: Vec<Option<String>> = sqlx::query_scalar(
                "SELECT p.digital_content FROM order_items i JOIN products p ON p.id = i.product_id \
                 WHERE i.order_id = $1 AND i.kind IN ('digital', 'subscription') ORDER BY i.id",
            )
            .bind(order_id)
            .fetch_all(&mut *conn)
            .await
            .map_err(|e| e.to_string())?;
            let content: Vec<String> = content.into_iter().flatten().collect();
            if !content.is_empty() {
                text.push_str("\n\n");
                text.push_str(t(lang, "content"));
                for c in content {
                    text.push('\n');
                    text.push_str(&c);
                }
            }
            (text, markup) = with_open_button(&text, &self.public_url, lang, None);
        }
        drop(conn);
        // Queued behind the chat's earlier messages; a notice outranks command answers
        // when the queue is full.
        if self.bot.send_later(customer_id, text, markup, Kind::Notice) == Queued::Dropped {
            return Err("the chat's message queue is full".into());
        }
        Ok(())
    }
}

/// The key of a notice's message in `texts.rs`.
fn text_key(notice: Notice) -> &'static str {
    match notice {
        Notice::Paid => "paid",
        Notice::Shipped => "shipped",
        Notice::Delivered => "delivered",
        Notice::Cancelled => "cancelled",
        Notice::Expired => "expired",
        Notice::Refunded => "refunded",
        Notice::RefundFailed => "refund_failed",
        Notice::SubscriptionRenewed => "renewed",
        Notice::SubscriptionEnding => "ending",
        Notice::SubscriptionPaymentFailed => "renewal_failed",
        Notice::Underpaid => "underpaid",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_notice_has_a_message_naming_the_order_in_each_language() {
        let all = [
            Notice::Paid,
            Notice::Shipped,
            Notice::Delivered,
            Notice::Cancelled,
            Notice::Expired,
            Notice::Refunded,
            Notice::RefundFailed,
            Notice::SubscriptionRenewed,
            Notice::SubscriptionEnding,
            Notice::SubscriptionPaymentFailed,
            Notice::Underpaid,
        ];
        for notice in all {
            for lang in Lang::ALL {
                let text = t(lang, text_key(notice));
                assert!(text.contains("{order}"), "{notice:?} in {lang:?}: {text:?}");
            }
        }
    }
}
