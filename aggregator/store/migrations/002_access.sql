-- Who may talk to the broker and the API, and who downloaded what.
CREATE TABLE broker_accounts (
    username   text PRIMARY KEY,
    role       text NOT NULL CHECK (role IN ('probe', 'ingest')),
    pw_hash    text NOT NULL,            -- Mosquitto's own PBKDF2-SHA512 format ($7$)
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_tokens (
    id         bigserial PRIMARY KEY,
    name       text NOT NULL UNIQUE,
    role       text NOT NULL CHECK (role IN ('viewer', 'inspector', 'admin')),
    token_hash text NOT NULL UNIQUE,     -- SHA-256 of a 256-bit random token
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);

CREATE TABLE audit_log (
    id       bigserial PRIMARY KEY,
    at       timestamptz NOT NULL DEFAULT now(),
    who      text NOT NULL,
    role     text NOT NULL,
    action   text NOT NULL,
    detail   jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_at ON audit_log (at DESC);
