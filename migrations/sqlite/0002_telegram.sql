-- Telegram Star subscriptions (30-day renewals paid in Stars). Keep in step with ../postgres/.
CREATE TABLE subscriptions (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id  INTEGER NOT NULL REFERENCES customers(id),
    -- The order whose first payment started it; renewals are payments on the same order.
    order_id     INTEGER NOT NULL UNIQUE REFERENCES orders(id),
    product_id   INTEGER NOT NULL REFERENCES products(id),
    -- telegram_payment_charge_id of the first payment: editUserStarSubscription names it.
    charge_id    TEXT NOT NULL,
    expires_at   INTEGER NOT NULL,
    -- 1 when the customer turned renewal off; it still runs until expires_at.
    canceled     INTEGER NOT NULL DEFAULT 0,
    renewals     INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX subscriptions_customer ON subscriptions(customer_id, id);
