-- Orders worth a look before the merchant acts on them (orders::risk sets the reason when the
-- order is placed), and when the merchant confirmed a flagged cash order anyway: a flagged
-- cash order is not shipped or delivered before that.
ALTER TABLE orders ADD COLUMN risk_reason TEXT;
ALTER TABLE orders ADD COLUMN risk_confirmed_at BIGINT;
CREATE INDEX orders_flagged ON orders(id) WHERE risk_reason IS NOT NULL;
