-- Records as the probes signed them, plus the columns compliance and maps read.
CREATE EXTENSION IF NOT EXISTS timescaledb;

CREATE TABLE probes (
    id            text PRIMARY KEY,
    pubkey        text NOT NULL,
    kind          text NOT NULL DEFAULT 'fixed',   -- fixed (Raspberry Pi) or phone
    village       text,
    lat           double precision,
    lon           double precision,
    registered_at timestamptz NOT NULL DEFAULT now(),
    revoked_at    timestamptz
);

CREATE TABLE records (
    t           timestamptz NOT NULL,
    id          uuid NOT NULL,
    probe       text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    lat         double precision,
    lon         double precision,
    env         text,
    service     boolean,
    mcc         smallint,
    mnc         smallint,
    tech        text,
    op          text,
    rsrp_dbm    real,
    rsrq_db     real,
    sinr_db     real,
    rtt_ms      real,
    jitter_ms   real,
    loss_pct    real,
    dl_mbps     real,
    ul_mbps     real,
    access_ok   boolean,
    access_s    real,
    raw         text NOT NULL,            -- the payload byte for byte, for evidence
    -- A hypertable's unique keys must hold the time column; a record's t is
    -- signed with its id, so (id, t) is unique exactly when id is.
    PRIMARY KEY (id, t)
);
SELECT create_hypertable('records', 't', chunk_time_interval => interval '7 days');
CREATE INDEX records_probe_t ON records (probe, t DESC);

CREATE TABLE deadletter (
    id          bigserial PRIMARY KEY,
    received_at timestamptz NOT NULL DEFAULT now(),
    topic       text,
    reason      text NOT NULL,
    detail      text NOT NULL,
    payload     bytea NOT NULL
);
CREATE INDEX deadletter_reason ON deadletter (reason, received_at DESC);
