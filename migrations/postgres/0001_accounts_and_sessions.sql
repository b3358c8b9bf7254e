-- Accounts, server-side sessions and the audit log.
-- Timestamps are Unix seconds (BIGINT) so the same queries run on SQLite.

CREATE TABLE users (
    id            BIGSERIAL PRIMARY KEY,
    username      TEXT   NOT NULL,
    username_key  TEXT   NOT NULL CONSTRAINT users_username_key UNIQUE,
    email         TEXT,
    email_key     TEXT            CONSTRAINT users_email_key UNIQUE,
    password_hash TEXT   NOT NULL,
    roles         TEXT   NOT NULL DEFAULT 'user',
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);

CREATE TABLE sessions (
    id           BIGSERIAL PRIMARY KEY,
    user_id      BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash   BYTEA  NOT NULL CONSTRAINT sessions_token_hash_key UNIQUE,
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    ip           TEXT,
    user_agent   TEXT
);
CREATE INDEX sessions_user_id ON sessions(user_id);
CREATE INDEX sessions_expires_at ON sessions(expires_at);

-- No foreign keys: events outlive the accounts they name.
CREATE TABLE audit_events (
    id         BIGSERIAL PRIMARY KEY,
    at         BIGINT NOT NULL,
    kind       TEXT   NOT NULL,
    user_id    BIGINT,
    actor_id   BIGINT,
    ip         TEXT,
    user_agent TEXT,
    detail     TEXT   NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_events_user_id ON audit_events(user_id);
