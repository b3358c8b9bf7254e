-- Account recovery by email: verified addresses, single-use links, and the outbox the
-- mail worker sends from.

ALTER TABLE users ADD COLUMN email_verified BOOLEAN NOT NULL DEFAULT FALSE;

-- A link sent by mail. Only the SHA-256 of its token is kept. `email` is the address the
-- link confirms (verification, change); NULL for a password reset.
CREATE TABLE email_tokens (
    id         BIGSERIAL PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    purpose    TEXT    NOT NULL,
    token_hash BYTEA    NOT NULL CONSTRAINT email_tokens_token_hash_key UNIQUE,
    email      TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);
CREATE INDEX email_tokens_user_purpose ON email_tokens(user_id, purpose);

-- Mails written in the transaction of the change that causes them. A row is claimed by
-- one worker at a time (leased_until), deleted once sent, and kept with failed_at (its
-- bodies cleared) once the worker gives up.
CREATE TABLE outbox (
    id              BIGSERIAL PRIMARY KEY,
    recipient       TEXT    NOT NULL,
    subject         TEXT    NOT NULL,
    text_body       TEXT    NOT NULL,
    html_body       TEXT    NOT NULL,
    created_at      BIGINT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    leased_until    BIGINT,
    failed_at       BIGINT,
    last_error      TEXT
);
CREATE INDEX outbox_due ON outbox(next_attempt_at) WHERE failed_at IS NULL;

-- Password reset requests, written while answering `forgot` whether or not the account
-- exists (the same work either way, so the answer's time tells nothing), and turned by
-- the mail worker into a link and a mail, in one transaction: a crash loses neither.
CREATE TABLE reset_requests (
    id         BIGSERIAL PRIMARY KEY,
    login_key  TEXT    NOT NULL,
    ip         TEXT    NOT NULL,
    user_agent TEXT,
    created_at BIGINT NOT NULL
);
