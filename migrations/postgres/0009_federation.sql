-- Logging in with an account elsewhere (an OpenID Connect provider, GitHub).

-- An account's identities at providers. An identity is the provider's issuer and its
-- subject (GitHub: the numeric user id), never an email address: addresses change hands.
CREATE TABLE federated_identities (
    id             BIGSERIAL PRIMARY KEY,
    user_id        BIGINT  NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    provider       TEXT    NOT NULL,
    issuer         TEXT    NOT NULL,
    subject        TEXT    NOT NULL,
    -- What the provider said at the last login, for the account page.
    email          TEXT,
    email_verified BOOLEAN NOT NULL DEFAULT FALSE,
    created_at     BIGINT  NOT NULL,
    last_used_at   BIGINT,
    CONSTRAINT federated_identities_issuer_subject_key UNIQUE (issuer, subject)
);
CREATE INDEX federated_identities_user_id ON federated_identities(user_id);

-- A round trip to a provider in progress. Only hashes of the state (in the provider's
-- redirect) and of the binding secret (in the browser's cookie) are stored, and of the
-- nonce (compared with the ID token's). The callback takes a started flow once and
-- records its outcome; the web app's continue call takes that outcome once.
CREATE TABLE federation_flows (
    id            BIGSERIAL PRIMARY KEY,
    state_hash    BYTEA   NOT NULL CONSTRAINT federation_flows_state_hash_key UNIQUE,
    binding_hash  BYTEA   NOT NULL CONSTRAINT federation_flows_binding_hash_key UNIQUE,
    provider      TEXT    NOT NULL,
    -- login | link | reauth
    intent        TEXT    NOT NULL,
    -- Whose link or re-authentication it is (none for a login).
    user_id       BIGINT  REFERENCES users(id) ON DELETE CASCADE,
    -- The PKCE verifier: useless without the code, which only the browser carries.
    pkce_verifier TEXT    NOT NULL,
    nonce_hash    BYTEA   NOT NULL,
    return_to     TEXT    NOT NULL,
    -- started | returned | done
    status        TEXT    NOT NULL,
    -- The outcome once the provider answered (JSON): the identity, or why it failed.
    result        TEXT,
    created_at    BIGINT  NOT NULL,
    expires_at    BIGINT  NOT NULL
);
CREATE INDEX federation_flows_expires_at ON federation_flows(expires_at);
