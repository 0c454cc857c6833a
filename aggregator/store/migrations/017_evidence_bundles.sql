-- Evidence bundles the system built or a notice cited, kept byte for byte by
-- their SHA-256: a notice quotes the hash, and the cases page lets an inspector
-- download the very bundle it names, months later (aggregator/store/bundles.py).
CREATE TABLE evidence_bundles (
    sha256    text PRIMARY KEY,
    name      text NOT NULL,
    bytes     bigint NOT NULL,
    content   bytea NOT NULL,
    stored_at timestamptz NOT NULL DEFAULT now()
);
