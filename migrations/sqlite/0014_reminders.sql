-- Who started the bot (a bot may write only to users who did), and whether they want cart
-- reminders: /start records the user and turns reminders on, /stop turns them off.
CREATE TABLE bot_users (
    user_id        INTEGER PRIMARY KEY, -- the Telegram user id (= customers.id once they shop)
    language_code  TEXT,
    started_at     INTEGER NOT NULL,
    -- 1 after /stop: no cart reminders until the next /start.
    stopped        INTEGER NOT NULL DEFAULT 0,
    updated_at     INTEGER NOT NULL
);

-- cart_changed_at: when the cart's contents last changed, while no reminder has gone out for that
-- change (NULL once one has, or the job passed it over: empty cart, bot never started, /stop), so
-- the reminder job reads only the carts still pending through the index. cart_reminded_at: when
-- the last reminder went out.
ALTER TABLE customers ADD COLUMN cart_changed_at INTEGER;
ALTER TABLE customers ADD COLUMN cart_reminded_at INTEGER;
CREATE INDEX customers_cart_changed ON customers(cart_changed_at);
