-- Hourly rollups per (hour, H3 cell, operator, technology, probe, environment),
-- maintained by ingest in the transaction that stores the records (the Apache
-- build of TimescaleDB has no continuous aggregates). Every column adds, so an
-- upsert is element-wise addition; see aggregator/compliance/rollup.py.

ALTER TABLE records ADD COLUMN h3 text;

CREATE FUNCTION giamsat_add(a int[], b int[]) RETURNS int[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT array_agg(x + y ORDER BY i) FROM unnest(a, b) WITH ORDINALITY AS t(x, y, i)
$$;

-- Sum of histograms across rows, for queries over many hours or cells.
CREATE FUNCTION giamsat_hist_step(acc int[], h int[]) RETURNS int[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN acc IS NULL THEN h WHEN h IS NULL THEN acc ELSE giamsat_add(acc, h) END
$$;
CREATE AGGREGATE giamsat_hist_sum(int[]) (SFUNC = giamsat_hist_step, STYPE = int[], COMBINEFUNC = giamsat_hist_step, PARALLEL = SAFE);

CREATE TABLE rollups (
    hour timestamptz NOT NULL,
    h3 text NOT NULL,
    op text NOT NULL,
    tech text NOT NULL,
    probe text NOT NULL,
    env text NOT NULL,
    records int NOT NULL DEFAULT 0,
    no_service int NOT NULL DEFAULT 0,
    access_attempts int NOT NULL DEFAULT 0,
    access_failures int NOT NULL DEFAULT 0,
    gap_hist int[] NOT NULL,
    dl_mbps_n bigint NOT NULL DEFAULT 0,
    dl_mbps_sum double precision NOT NULL DEFAULT 0,
    dl_mbps_sumsq double precision NOT NULL DEFAULT 0,
    dl_mbps_hist int[] NOT NULL,
    ul_mbps_n bigint NOT NULL DEFAULT 0,
    ul_mbps_sum double precision NOT NULL DEFAULT 0,
    ul_mbps_sumsq double precision NOT NULL DEFAULT 0,
    ul_mbps_hist int[] NOT NULL,
    rtt_ms_n bigint NOT NULL DEFAULT 0,
    rtt_ms_sum double precision NOT NULL DEFAULT 0,
    rtt_ms_sumsq double precision NOT NULL DEFAULT 0,
    rtt_ms_hist int[] NOT NULL,
    access_s_n bigint NOT NULL DEFAULT 0,
    access_s_sum double precision NOT NULL DEFAULT 0,
    access_s_sumsq double precision NOT NULL DEFAULT 0,
    access_s_hist int[] NOT NULL,
    rsrp_dbm_n bigint NOT NULL DEFAULT 0,
    rsrp_dbm_sum double precision NOT NULL DEFAULT 0,
    rsrp_dbm_sumsq double precision NOT NULL DEFAULT 0,
    rsrp_dbm_hist int[] NOT NULL,
    PRIMARY KEY (hour, h3, op, tech, probe, env)
);
SELECT create_hypertable('rollups', 'hour', chunk_time_interval => interval '90 days');
CREATE INDEX rollups_op_tech_hour ON rollups (op, tech, hour DESC);
CREATE INDEX rollups_h3 ON rollups (h3, hour DESC);
