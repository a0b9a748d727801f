-- Uzbek rails: Click SHOP API attempts and Payme Merchant API transactions (SQLite).
-- Keep in step with ../postgres/0003_uz_rails.sql.

-- One row per Click payment attempt (`click_trans_id`). Its id is both the
-- merchant_prepare_id we issue at Prepare and the merchant_confirm_id at Complete.
CREATE TABLE click_attempts (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    -- Unique: a repeated Prepare finds its attempt instead of making a second one.
    click_trans_id   INTEGER NOT NULL UNIQUE,
    click_paydoc_id  TEXT,
    order_id         INTEGER NOT NULL REFERENCES orders(id),
    amount_minor     INTEGER NOT NULL,
    state            TEXT NOT NULL CHECK (state IN ('prepared', 'confirmed', 'cancelled')),
    -- Click's own negative `error` when it cancelled the attempt at Complete.
    click_error      INTEGER,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);
CREATE INDEX click_attempts_order ON click_attempts(order_id);

-- One row per Payme transaction. Times Payme sees are milliseconds; `id` is the
-- `transaction` we answer (as a string).
CREATE TABLE payme_transactions (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    -- Unique: every method is idempotent for the same Payme id.
    payme_id       TEXT NOT NULL UNIQUE,
    order_id       INTEGER NOT NULL REFERENCES orders(id),
    amount_minor   INTEGER NOT NULL,
    -- The account object as Payme sent it, echoed in GetStatement.
    account_json   TEXT NOT NULL,
    -- Payme's `time` (ms): the 12-hour timeout counts from it.
    payme_time     INTEGER NOT NULL,
    create_time    INTEGER NOT NULL,
    perform_time   INTEGER NOT NULL DEFAULT 0,
    cancel_time    INTEGER NOT NULL DEFAULT 0,
    state          INTEGER NOT NULL CHECK (state IN (1, 2, -1, -2)),
    reason         INTEGER,
    fiscal_perform TEXT,
    fiscal_cancel  TEXT
);
-- One-time orders: at most one transaction waiting per order, even under racing Creates.
CREATE UNIQUE INDEX payme_transactions_one_waiting ON payme_transactions(order_id) WHERE state = 1;
CREATE INDEX payme_transactions_time ON payme_transactions(payme_time);
