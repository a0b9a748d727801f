-- Promo codes (SQLite). Keep in step with ../postgres/0009_promo_codes.sql.
--
-- A code is stored upper-case (the customer may type it in any case), so the UNIQUE on it is
-- the case-insensitive uniqueness the admin is promised. Exactly one of percent_off and
-- amount_off_minor is set; a fixed amount and a minimum total are in one currency each, and a
-- code with either applies only to orders in that currency.
CREATE TABLE promo_codes (
    id                     INTEGER PRIMARY KEY AUTOINCREMENT,
    code                   TEXT NOT NULL UNIQUE,
    percent_off            INTEGER CHECK (percent_off BETWEEN 1 AND 100),
    amount_off_minor       INTEGER CHECK (amount_off_minor > 0),
    amount_off_currency    TEXT,
    min_total_minor        INTEGER,
    min_total_currency     TEXT,
    -- NULL: no limit.
    max_uses               INTEGER,
    max_uses_per_customer  INTEGER,
    -- Uses held by orders that have not ended unpaid: raised in the placing order's own
    -- transaction by a guarded UPDATE (uses < max_uses), lowered when that order is cancelled
    -- or expires unpaid.
    uses                   INTEGER NOT NULL DEFAULT 0,
    starts_at              INTEGER,
    ends_at                INTEGER,
    paused                 INTEGER NOT NULL DEFAULT 0,
    created_at             INTEGER NOT NULL,
    updated_at             INTEGER NOT NULL,
    CHECK ((percent_off IS NULL) <> (amount_off_minor IS NULL))
);

-- One row per order placed with a code. released_at is set when the order ended unpaid and
-- its use was given back; the per-customer limit counts the rows not released.
CREATE TABLE promo_uses (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    promo_id        INTEGER NOT NULL REFERENCES promo_codes(id),
    order_id        INTEGER NOT NULL UNIQUE REFERENCES orders(id),
    customer_id     INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    released_at     INTEGER
);
CREATE INDEX promo_uses_customer ON promo_uses(promo_id, customer_id);

-- What the code took off the order: total_minor is already the amount every rail charges
-- (items' sum minus this).
ALTER TABLE orders ADD COLUMN discount_minor INTEGER NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN promo_code_id INTEGER REFERENCES promo_codes(id);
