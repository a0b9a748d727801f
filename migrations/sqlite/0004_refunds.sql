-- One row per refund the provider made (SQLite). Keep in step with ../postgres/0004_refunds.sql.
--
-- A refund reaches the shop up to twice: as the answer to the admin's refund call and as the
-- provider's notification, in either order. The unique (rail, provider_refund_id) lets the
-- first one count and makes the second a no-op, so payments.refunded_minor moves once.
CREATE TABLE refunds (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id            INTEGER NOT NULL REFERENCES orders(id),
    payment_id          INTEGER NOT NULL REFERENCES payments(id),
    -- payments.provider of the refunded payment: stripe, paypal, stars, payme, cash, ...
    rail                TEXT NOT NULL,
    -- The provider's own id of the refund (Stripe re_..., PayPal refund id, the Stars charge
    -- id, the Payme transaction id); for cash, a key the shop made.
    provider_refund_id  TEXT NOT NULL,
    -- What the provider gave back, in the currency's minor units (ours, not the provider's).
    amount_minor        INTEGER NOT NULL,
    currency            TEXT NOT NULL,
    created_at          INTEGER NOT NULL,
    UNIQUE (rail, provider_refund_id)
);
CREATE INDEX refunds_order ON refunds(order_id);
