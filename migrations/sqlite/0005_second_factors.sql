-- Second factors: TOTP with recovery codes, the challenges of two-step logins, and
-- when each session or token family last proved who it is (step-up).

-- One authenticator app per account. While enabled_at is NULL the enrolment waits for
-- its first correct code and the factor is not asked for at login.
CREATE TABLE totp_factors (
    user_id    INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    secret     BLOB    NOT NULL,
    enabled_at INTEGER,
    -- The last time step a code was accepted for: that step's code (or an older one)
    -- presented again is a replay.
    last_step  INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);

-- Single-use recovery codes, stored as SHA-256 of the normalised code.
CREATE TABLE recovery_codes (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash  BLOB    NOT NULL,
    created_at INTEGER NOT NULL,
    used_at    INTEGER
);
CREATE INDEX recovery_codes_user_id ON recovery_codes(user_id);

-- A password accepted for an account with a second factor: the challenge that can only
-- finish that login (purpose 'session' or 'token'), bound to the client that started it.
CREATE TABLE login_challenges (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash   BLOB    NOT NULL CONSTRAINT login_challenges_token_hash_key UNIQUE,
    user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    purpose      TEXT    NOT NULL,
    binding_hash BLOB    NOT NULL,
    amr          TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
);
CREATE INDEX login_challenges_user_id ON login_challenges(user_id);
CREATE INDEX login_challenges_expires_at ON login_challenges(expires_at);

-- 0: before this migration, which no step-up window reaches.
ALTER TABLE sessions ADD COLUMN auth_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE refresh_families ADD COLUMN auth_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE refresh_families ADD COLUMN amr TEXT NOT NULL DEFAULT 'pwd';
