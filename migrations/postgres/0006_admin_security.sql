-- Admin roles, disabled admins, sign-in claims per (client, account) and the client address of
-- audit entries (PostgreSQL). Keep in step with ../sqlite/0006_admin_security.sql.
--
-- `owner` manages admins, refunds and reads the audit log; `staff` runs the shop. Admins made
-- before roles existed were all-powerful: they become owners.
ALTER TABLE admins ADD COLUMN role TEXT NOT NULL DEFAULT 'owner' CHECK (role IN ('owner', 'staff'));
-- When an owner disabled this admin (it cannot sign in and its sessions are gone); NULL = active.
ALTER TABLE admins ADD COLUMN disabled_at BIGINT;

-- Failed sign-ins counted per (client address, email), taken as a claim before the password is
-- checked, so parallel guesses cannot all pass one read of the count. Keyed by the email as
-- typed (lowercased), known or not, so unknown emails answer exactly like known ones; a lock
-- here stops only that client for that account. admins.failed_logins/locked_until are no
-- longer used.
CREATE TABLE login_attempts (
    client        TEXT NOT NULL,
    email         TEXT NOT NULL,
    failures      BIGINT NOT NULL DEFAULT 0,
    locked_until  BIGINT NOT NULL DEFAULT 0,
    updated_at    BIGINT NOT NULL,
    PRIMARY KEY (client, email)
);
CREATE INDEX login_attempts_updated ON login_attempts (updated_at);

-- The client address (after TRUSTED_PROXIES) the change came from; NULL for older entries and
-- for changes made on the server's command line.
ALTER TABLE audit_log ADD COLUMN client_ip TEXT;
