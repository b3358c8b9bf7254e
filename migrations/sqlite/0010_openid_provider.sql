-- latchkey as an OpenID Provider: the apps that log their users in through it, the
-- authorization requests waiting for a login or a consent, the codes, and the consents.

-- An app. A confidential client's secret (256 random bits) is kept as its SHA-256; a
-- public client (an SPA, a native app) has none and proves itself with PKCE alone.
CREATE TABLE oauth_clients (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    client_id   TEXT    NOT NULL CONSTRAINT oauth_clients_client_id_key UNIQUE,
    name        TEXT    NOT NULL,
    secret_hash BLOB,
    -- JSON: redirect URIs, post-logout redirect URIs, scopes, consent, ID token algorithm.
    settings    TEXT    NOT NULL,
    created_at  INTEGER NOT NULL
);

-- The origins of the clients' redirect URIs: who may call the token endpoints from a
-- browser (CORS without credentials).
CREATE TABLE oauth_client_origins (
    origin    TEXT NOT NULL,
    client_id TEXT NOT NULL REFERENCES oauth_clients(client_id) ON DELETE CASCADE,
    PRIMARY KEY (origin, client_id)
);

-- An authorization request waiting in the web app for a login or a consent. Only the
-- hash of its id (which travels in the browser's address bar) is stored.
CREATE TABLE oauth_requests (
    id_hash    BLOB    PRIMARY KEY,
    client_id  TEXT    NOT NULL REFERENCES oauth_clients(client_id) ON DELETE CASCADE,
    -- JSON: the checked request (redirect URI, scopes, state, nonce, PKCE challenge, …).
    params     TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX oauth_requests_expires_at ON oauth_requests(expires_at);

-- An authorization code: its hash, single use, bound to its client, redirect URI, PKCE
-- challenge and the login that approved it.
CREATE TABLE oauth_codes (
    code_hash  BLOB    PRIMARY KEY,
    client_id  TEXT    NOT NULL REFERENCES oauth_clients(client_id) ON DELETE CASCADE,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    -- JSON: redirect URI, scopes, nonce, PKCE challenge, auth_time, amr, session.
    grant_data TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER,
    -- The refresh-token family its exchange started: revoked if the code comes again.
    family_id  INTEGER
);
CREATE INDEX oauth_codes_expires_at ON oauth_codes(expires_at);

-- What a user allowed an app: remembered so that the next login does not ask again.
CREATE TABLE oauth_grants (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    client_id  TEXT    NOT NULL REFERENCES oauth_clients(client_id) ON DELETE CASCADE,
    scope      TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    CONSTRAINT oauth_grants_user_client_key UNIQUE (user_id, client_id)
);

-- An app's logins are refresh-token families of their own: which app, which scopes, the
-- browser session they came from (they end with it unless offline_access was granted).
ALTER TABLE refresh_families ADD COLUMN client_id TEXT REFERENCES oauth_clients(client_id) ON DELETE CASCADE;
ALTER TABLE refresh_families ADD COLUMN scope TEXT;
ALTER TABLE refresh_families ADD COLUMN session_id INTEGER;
ALTER TABLE refresh_families ADD COLUMN offline BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX refresh_families_session_id ON refresh_families(session_id);
CREATE INDEX refresh_families_client_id ON refresh_families(client_id);

-- How a browser session's login authenticated, for the ID tokens it leads to.
ALTER TABLE sessions ADD COLUMN amr TEXT NOT NULL DEFAULT '';

-- ID tokens are signed with RS256 (which every relying party supports) or EdDSA.
ALTER TABLE jwt_keys ADD COLUMN alg TEXT NOT NULL DEFAULT 'EdDSA';
