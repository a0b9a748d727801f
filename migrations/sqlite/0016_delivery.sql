-- Delivery methods (SQLite). Keep in step with ../postgres/0016_delivery.sql.
--
-- A method is a courier service or pickup, with its title in the merchant's languages (JSON
-- {uz, ru, en} like other merchant texts), a fee in one currency (it is offered only for orders
-- in that currency) and optionally a goods total from which it is free. Its options are the
-- courier's zones (each may have a fee of its own; NULL takes the method's) or the pickup
-- points (title and address). A method with options needs one of them chosen.
CREATE TABLE delivery_methods (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    kind              TEXT NOT NULL CHECK (kind IN ('courier', 'pickup')),
    title_json        TEXT NOT NULL,
    fee_minor         INTEGER NOT NULL CHECK (fee_minor >= 0),
    currency          TEXT NOT NULL,
    free_above_minor  INTEGER CHECK (free_above_minor > 0),
    active            INTEGER NOT NULL DEFAULT 1,
    position          INTEGER NOT NULL DEFAULT 0,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
);
CREATE INDEX delivery_methods_offer ON delivery_methods(currency, active, position);

CREATE TABLE delivery_options (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    method_id   INTEGER NOT NULL REFERENCES delivery_methods(id),
    title_json  TEXT NOT NULL,
    fee_minor   INTEGER CHECK (fee_minor >= 0),
    address     TEXT,
    position    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX delivery_options_method ON delivery_options(method_id, position);

-- The fee the order was charged (total_minor = items' sum - discount_minor + this), and what
-- was chosen as it was then (kind, the method's and option's titles in every language, the
-- pickup address): editing or deleting a method later does not change an order.
ALTER TABLE orders ADD COLUMN delivery_fee_minor INTEGER NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN delivery_json TEXT;
