-- The credentials epoch of an account: moved forward, in the same transaction, by every
-- change that must end what the old credentials could do (a password reset or change, a
-- factor removed, an admin's revocation). A login is minted only in a transaction that
-- finds the epoch its proof was checked against (and holds the row while it mints), so a
-- proof checked against old credentials mints nothing.
ALTER TABLE users ADD COLUMN credentials_epoch INTEGER NOT NULL DEFAULT 0;
ALTER TABLE login_challenges ADD COLUMN credentials_epoch INTEGER NOT NULL DEFAULT 0;

-- Token logins are listed beside cookie sessions: when and from where each was last used.
ALTER TABLE refresh_families ADD COLUMN last_used_at INTEGER;
ALTER TABLE refresh_families ADD COLUMN ip TEXT;
ALTER TABLE refresh_families ADD COLUMN user_agent TEXT;

-- The revocation log: every feed event of a cluster, written in the transaction of the
-- change that causes it. The transports (NOTIFY, Redis) deliver it fast; each instance
-- also reads this log a few times a second and answers from its cache only while its
-- last read is recent, so an event the transport lost is applied all the same.
CREATE TABLE revocation_log (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    event      TEXT   NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX revocation_log_created_at ON revocation_log(created_at);
