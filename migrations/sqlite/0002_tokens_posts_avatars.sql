-- JWT signing keys, refresh-token families, the example protected resource (posts)
-- and avatars.

-- Ed25519 keys shared by every instance on this database. A key signs while
-- retired_at is NULL; once retired it only verifies, until the tokens it signed expire.
CREATE TABLE jwt_keys (
    kid         TEXT    PRIMARY KEY,
    private_key BLOB    NOT NULL,
    public_key  BLOB    NOT NULL,
    created_at  INTEGER NOT NULL,
    retired_at  INTEGER
);

-- One family per password login; every refresh token descends from it.
CREATE TABLE refresh_families (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE INDEX refresh_families_user_id ON refresh_families(user_id);

CREATE TABLE refresh_tokens (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    family_id  INTEGER NOT NULL REFERENCES refresh_families(id) ON DELETE CASCADE,
    token_hash BLOB    NOT NULL CONSTRAINT refresh_tokens_token_hash_key UNIQUE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
);
CREATE INDEX refresh_tokens_family_id ON refresh_tokens(family_id);

CREATE TABLE posts (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    author_id  INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    body       TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX posts_author_id ON posts(author_id);

CREATE TABLE avatars (
    user_id      INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    content_type TEXT    NOT NULL,
    data         BLOB    NOT NULL,
    updated_at   INTEGER NOT NULL
);
