-- Passkeys (WebAuthn): the credentials of each account, the user handle authenticators
-- store for it, and the state of ceremonies in progress, which any instance can finish.

-- The opaque WebAuthn user handle of an account (16 random bytes), made on its first
-- passkey registration; a discoverable login names the account by it.
CREATE TABLE passkey_handles (
    user_id INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    handle  BLOB    NOT NULL CONSTRAINT passkey_handles_handle_key UNIQUE
);

CREATE TABLE passkeys (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id       INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    credential_id BLOB    NOT NULL CONSTRAINT passkeys_credential_id_key UNIQUE,
    name          TEXT    NOT NULL,
    -- The public key, its algorithm and signature counter, as webauthn-rs serialises them.
    credential    TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER
);
CREATE INDEX passkeys_user_id ON passkeys(user_id);

-- A registration or a passkey login started and not finished yet. Only the hash of the
-- ceremony token the client holds is stored; finishing deletes the row, so each
-- ceremony finishes once.
CREATE TABLE passkey_ceremonies (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash BLOB    NOT NULL CONSTRAINT passkey_ceremonies_token_hash_key UNIQUE,
    purpose    TEXT    NOT NULL,
    user_id    INTEGER REFERENCES users(id) ON DELETE CASCADE,
    state      TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX passkey_ceremonies_expires_at ON passkey_ceremonies(expires_at);

-- A second step that may be a passkey carries the assertion state beside its challenge.
ALTER TABLE login_challenges ADD COLUMN passkey_state TEXT;
