-- Secrets a shop makes for itself once and every process on this database shares: e.g. the key
-- that signs catalog cursors, so a cursor one process gave out is accepted by another.
CREATE TABLE instance_secrets (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
