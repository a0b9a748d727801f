-- Stripe subscriptions beside Telegram Star ones, in the one subscriptions table (sqlite).
-- Keep in step with ../postgres/0013_stripe_subscriptions.sql.
--
-- provider: the rail that renews it ('stars' or 'stripe'); every row before this one is a
-- Star subscription. charge_id keeps its name but now holds the handle the rail's own calls
-- name the subscription by: Stars the telegram_payment_charge_id of its first payment
-- (editUserStarSubscription), Stripe the Subscription id sub_… (its events and
-- POST/DELETE /v1/subscriptions/{id}).
ALTER TABLE subscriptions ADD COLUMN provider TEXT NOT NULL DEFAULT 'stars';
-- A provider's event names the subscription by its handle: it finds one row, and the same
-- Stripe subscription can never be attached to two orders.
CREATE UNIQUE INDEX subscriptions_handle ON subscriptions(provider, charge_id);
