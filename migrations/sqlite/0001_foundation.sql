-- The shop's schema on SQLite. Times are unix seconds, money integer minor units,
-- per-language texts and option maps JSON text. Keep in step with ../postgres/.

CREATE TABLE categories (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    slug        TEXT NOT NULL UNIQUE,
    title_json  TEXT NOT NULL,
    position    INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE TABLE products (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    category_id      INTEGER REFERENCES categories(id) ON DELETE SET NULL,
    kind             TEXT NOT NULL CHECK (kind IN ('physical', 'digital', 'subscription')),
    title_json       TEXT NOT NULL,
    description_json TEXT NOT NULL DEFAULT '{}',
    images_json      TEXT NOT NULL DEFAULT '[]',
    -- Lower-cased titles and descriptions in every language, for search.
    search_text      TEXT NOT NULL DEFAULT '',
    digital_content  TEXT,
    subscription_period INTEGER,
    ikpu_code        TEXT,
    package_code     TEXT,
    vat_percent      INTEGER,
    position         INTEGER NOT NULL DEFAULT 0,
    archived         INTEGER NOT NULL DEFAULT 0,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);
CREATE INDEX products_category ON products(category_id, id);

CREATE TABLE variants (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    product_id   INTEGER NOT NULL REFERENCES products(id) ON DELETE CASCADE,
    sku          TEXT NOT NULL UNIQUE,
    options_json TEXT NOT NULL DEFAULT '{}',
    price_minor  INTEGER NOT NULL CHECK (price_minor >= 0),
    currency     TEXT NOT NULL,
    -- Units free to sell; NULL = unlimited. Reservations take from it, releases give back.
    stock        INTEGER CHECK (stock IS NULL OR stock >= 0),
    -- Units held by unpaid orders.
    reserved     INTEGER NOT NULL DEFAULT 0,
    position     INTEGER NOT NULL DEFAULT 0,
    archived     INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX variants_product ON variants(product_id, position, id);

CREATE TABLE customers (
    id             INTEGER PRIMARY KEY, -- the Telegram user id
    first_name     TEXT NOT NULL DEFAULT '',
    last_name      TEXT,
    username       TEXT,
    language_code  TEXT,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);

CREATE TABLE cart_items (
    customer_id  INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    variant_id   INTEGER NOT NULL REFERENCES variants(id) ON DELETE CASCADE,
    quantity     INTEGER NOT NULL CHECK (quantity > 0),
    position     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (customer_id, variant_id)
);

CREATE TABLE orders (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id      INTEGER NOT NULL REFERENCES customers(id),
    status           TEXT NOT NULL,
    currency         TEXT NOT NULL,
    total_minor      INTEGER NOT NULL,
    payment_method   TEXT NOT NULL,
    contact_json     TEXT,
    lang             TEXT NOT NULL DEFAULT 'en',
    idempotency_key  TEXT,
    request_hash     TEXT,
    invoice_link     TEXT,
    checkout_url     TEXT,
    -- Whether the order still holds stock (reserved, not yet committed or released).
    holds_stock      INTEGER NOT NULL DEFAULT 1,
    expires_at       INTEGER,
    paid_at          INTEGER,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    UNIQUE (customer_id, idempotency_key)
);
CREATE INDEX orders_customer ON orders(customer_id, id);
CREATE INDEX orders_status ON orders(status, id);
CREATE INDEX orders_expiry ON orders(status, expires_at);

CREATE TABLE order_items (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id         INTEGER NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
    variant_id       INTEGER NOT NULL REFERENCES variants(id),
    product_id       INTEGER NOT NULL REFERENCES products(id),
    title_json       TEXT NOT NULL,
    sku              TEXT NOT NULL,
    options_json     TEXT NOT NULL,
    kind             TEXT NOT NULL,
    unit_price_minor INTEGER NOT NULL,
    quantity         INTEGER NOT NULL CHECK (quantity > 0),
    line_total_minor INTEGER NOT NULL
);
CREATE INDEX order_items_order ON order_items(order_id);

CREATE TABLE order_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id    INTEGER NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
    kind        TEXT NOT NULL,
    status      TEXT,
    note        TEXT,
    actor       TEXT,
    created_at  INTEGER NOT NULL
);
CREATE INDEX order_events_order ON order_events(order_id, id);

CREATE TABLE payments (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id             INTEGER NOT NULL REFERENCES orders(id),
    provider             TEXT NOT NULL,
    provider_payment_id  TEXT NOT NULL,
    status               TEXT NOT NULL,
    amount_minor         INTEGER NOT NULL,
    currency             TEXT NOT NULL,
    -- The provider's notification exactly as received, for audit.
    raw                  TEXT,
    -- A success for an order that another payment already paid: money to give back.
    needs_refund         INTEGER NOT NULL DEFAULT 0,
    refunded_minor       INTEGER NOT NULL DEFAULT 0,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL,
    UNIQUE (provider, provider_payment_id)
);
CREATE INDEX payments_order ON payments(order_id);

-- Provider notifications (webhook event ids, update ids) already handled: exactly-once.
CREATE TABLE processed_events (
    source      TEXT NOT NULL,
    event_id    TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (source, event_id)
);

CREATE TABLE admins (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    email          TEXT NOT NULL UNIQUE,
    password_hash  TEXT NOT NULL,
    failed_logins  INTEGER NOT NULL DEFAULT 0,
    locked_until   INTEGER NOT NULL DEFAULT 0,
    created_at     INTEGER NOT NULL
);

CREATE TABLE admin_sessions (
    -- SHA-256 of the cookie value: a leaked table does not leak live sessions.
    token_hash  TEXT PRIMARY KEY,
    admin_id    INTEGER NOT NULL REFERENCES admins(id) ON DELETE CASCADE,
    csrf_token  TEXT NOT NULL,
    expires_at  INTEGER NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE audit_log (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    admin_id     INTEGER,
    admin_email  TEXT,
    action       TEXT NOT NULL,
    entity       TEXT NOT NULL,
    entity_id    INTEGER,
    before_json  TEXT,
    after_json   TEXT,
    created_at   INTEGER NOT NULL
);
