-- A refund that succeeded can fail later (Stripe: the customer's card was closed); the money
-- goes back to the shop and must stop counting as refunded (SQLite). Keep in step with
-- ../postgres/0005_refund_failures.sql.
--
-- What a refund added to payments.refunded_minor. It differs from amount_minor when the
-- provider gave back more than was left (only what was left counted); a failure takes back
-- exactly this. Refunds recorded before this migration are taken as counted in full.
ALTER TABLE refunds ADD COLUMN counted_minor INTEGER NOT NULL DEFAULT 0;
UPDATE refunds SET counted_minor = amount_minor;
-- 1 when the refunded payment was one the order did not need (payments.needs_refund): a failed
-- refund flags it for refund again instead of touching the order. Older rows: 0.
ALTER TABLE refunds ADD COLUMN unneeded_payment INTEGER NOT NULL DEFAULT 0;
-- When the provider reported the refund failed; a failed refund no longer counts.
ALTER TABLE refunds ADD COLUMN failed_at INTEGER;
