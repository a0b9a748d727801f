-- The risk rules average the latest paid orders in a currency (orders::risk::AVERAGE_OVER):
-- this index makes that a bounded read instead of a scan of every order.
CREATE INDEX orders_paid ON orders(currency, paid_at) WHERE paid_at IS NOT NULL;
