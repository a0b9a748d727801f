-- What the shop itself created for a payment, so that a provider's notification acts only on
-- that (PostgreSQL). Keep in step with ../sqlite/0007_payment_references.sql.
--
-- Click and Payme name the order by an account value the buyer's page carries
-- (`transaction_param` / `ac.order_id`). A sequential order id there lets anyone open or cancel
-- a payment for someone else's order, so those orders get a random reference instead. Orders
-- placed before this migration have none and cannot be paid through Click or Payme any more
-- (they lapse with their reservation).
ALTER TABLE orders ADD COLUMN pay_ref TEXT;
CREATE UNIQUE INDEX orders_pay_ref ON orders(pay_ref);

-- The checkouts the shop opened at a provider: Stripe Checkout Session ids and PayPal order
-- ids. A notification about any other session or PayPal order (a Payment Link on the same
-- account, say) is ignored, even when its metadata names one of our orders.
CREATE TABLE provider_checkouts (
    provider    TEXT NOT NULL,
    checkout_id TEXT NOT NULL,
    order_id    BIGINT NOT NULL REFERENCES orders(id),
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (provider, checkout_id)
);
CREATE INDEX provider_checkouts_order ON provider_checkouts(order_id);
