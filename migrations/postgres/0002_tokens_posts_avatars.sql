-- JWT signing keys, refresh-token families, the example protected resource (posts)
-- and avatars.

-- Ed25519 keys shared by every instance on this database. A key signs while
-- retired_at is NULL; once retired it only verifies, until the tokens it signed expire.
CREATE TABLE jwt_keys (
    kid         TEXT    PRIMARY KEY,
    private_key BYTEA    NOT NULL,
    public_key  BYTEA    NOT NULL,
    created_at  BIGINT  NOT NULL,
    retired_at  BIGINT
);

-- One family per password login; every refresh token descends from it.
CREATE TABLE refresh_families (
    id         BIGSERIAL PRIMARY KEY,
    user_id    BIGINT  NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at BIGINT  NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX refresh_families_user_id ON refresh_families(user_id);

CREATE TABLE refresh_tokens (
    id         BIGSERIAL PRIMARY KEY,
    family_id  BIGINT  NOT NULL REFERENCES refresh_families(id) ON DELETE CASCADE,
    token_hash BYTEA    NOT NULL CONSTRAINT refresh_tokens_token_hash_key UNIQUE,
    created_at BIGINT  NOT NULL,
    expires_at BIGINT  NOT NULL,
    used_at    BIGINT
);
CREATE INDEX refresh_tokens_family_id ON refresh_tokens(family_id);

CREATE TABLE posts (
    id         BIGSERIAL PRIMARY KEY,
    author_id  BIGINT  NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    body       TEXT    NOT NULL,
    created_at BIGINT  NOT NULL
);
CREATE INDEX posts_author_id ON posts(author_id);

CREATE TABLE avatars (
    user_id      BIGINT  PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    content_type TEXT    NOT NULL,
    data         BYTEA    NOT NULL,
    updated_at   BIGINT  NOT NULL
);
