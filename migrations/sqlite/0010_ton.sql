-- The TON rail (SQLite). Keep in step with ../postgres/0010_ton.sql.
--
-- TON has no webhook: the shop reads its wallet's incoming transactions from toncenter, one
-- stream per asset ('ton' = Toncoin, 'usdt' = USDT jetton transfers), walking forward by
-- logical time (lt). The cursor is the last lt handled, so a restart neither misses nor
-- repeats one; `since_utime` bounds the very first read to the time the rail was turned on.
CREATE TABLE ton_cursors (
    stream      TEXT PRIMARY KEY,
    last_lt     INTEGER NOT NULL,
    since_utime INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

-- Every incoming transfer the shop accepted as money received, once (unique on the asset and
-- the transaction hash, whatever the cursor says), with what became of it:
--   partial   counted towards a pending order that is not paid in full yet
--   paid      part of the money that paid its order (an overpayment's excess is a separate
--             payment flagged for refund)
--   flagged   money the order could not take (late, wrong asset, already paid): to return
--   unmatched its comment names no order: the merchant attaches it or returns it
--   returned  the merchant recorded giving it back
CREATE TABLE ton_transfers (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    asset        TEXT NOT NULL,
    tx_hash      TEXT NOT NULL,
    lt           INTEGER NOT NULL,
    sender       TEXT,
    amount_minor INTEGER NOT NULL,
    comment      TEXT,
    order_id     INTEGER REFERENCES orders(id),
    state        TEXT NOT NULL,
    note         TEXT,
    -- `payments.provider_payment_id` of the payment this transfer made (paid or flagged).
    payment_ref  TEXT,
    chain_time   INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    UNIQUE (asset, tx_hash)
);
CREATE INDEX ton_transfers_order ON ton_transfers(order_id);
CREATE INDEX ton_transfers_state ON ton_transfers(state, id);
