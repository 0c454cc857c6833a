-- 5G judged on 5G: an NR-NSA record's NR leg.
--
-- An NR-NSA modem reports an LTE anchor (sig.rsrp_dbm, ...) and an NR leg
-- (sig.nr_rsrp_dbm, ...). Until now only the anchor had columns, and the
-- compliance sample of an NR-NSA record took the anchor's RSRP, so 5G coverage
-- and radio availability were judged on LTE. The sample now takes the NR leg's
-- SS-RSRP (aggregator/aggregates/samples.py), and the records keep the NR leg
-- in columns of their own (aggregator/store/columns.py).
--
-- Stored records get those columns from their raw JSON. A value the record
-- range check (giamsat/contract/schema.py) now refuses, or that is not a JSON
-- number, is left NULL: it was never a measurement.
--
-- The hourly rollups of NR-NSA records still stored are then corrected in
-- place: each such record's anchor RSRP is taken out of its row's RSRP count,
-- sum, sum of squares and histogram, and its NR leg's SS-RSRP is put in, as
-- aggregator/aggregates/rollup.py adds a sample (only with service; the sum of
-- the value snapped to a multiple of 2^-20, so the sums stay exact; histogram
-- bins left-closed on the whole-dBm edges -140 .. -44 of
-- aggregator/aggregates/histogram.py, bisect_right being width_bucket).
-- Values are read from the raw JSON as float8, as ingest read them, not from
-- the real columns. Rollups of records already pruned (giamsat db prune)
-- cannot be corrected and keep their anchor RSRP. The corrected rows are
-- marked changed (updated_at), so readers take them from the hourly table and
-- the next refresh_daily (aggregator/store/daily.py) rebuilds their days.

ALTER TABLE records
    ADD COLUMN nr_rsrp_dbm real,
    ADD COLUMN nr_rsrq_db real,
    ADD COLUMN nr_sinr_db real;

-- A JSON number within [lo, hi] as float8 (what Python's json reads), else NULL.
-- Compared as numeric, so no value is too large to test.
CREATE OR REPLACE FUNCTION pg_temp.giamsat_measured(v jsonb, lo numeric, hi numeric)
RETURNS float8 LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN jsonb_typeof(v) = 'number' AND v::numeric BETWEEN lo AND hi
                THEN v::numeric::float8 END
$$;

UPDATE records SET
    nr_rsrp_dbm = pg_temp.giamsat_measured(raw::jsonb #> '{sig,nr_rsrp_dbm}', -156, -31),
    nr_rsrq_db = pg_temp.giamsat_measured(raw::jsonb #> '{sig,nr_rsrq_db}', -43, 20),
    nr_sinr_db = pg_temp.giamsat_measured(raw::jsonb #> '{sig,nr_sinr_db}', -23, 40)
WHERE raw LIKE '%"nr\_%';

WITH measured AS (
    -- Each NR-NSA record with service and a cell: its anchor RSRP out (-1), its NR leg in (+1).
    SELECT time_bucket('1 hour', r.t) AS hour, r.h3, coalesce(nullif(r.op, ''), 'unknown') AS op,
           r.probe, coalesce(nullif(r.env, ''), 'unknown') AS env, v.x, v.sign
    FROM records r
    CROSS JOIN LATERAL (SELECT r.raw::jsonb -> 'sig' AS sig) j
    CROSS JOIN LATERAL (VALUES
        -- The anchor passed ingest's range check; the bounds only keep the cast safe.
        (pg_temp.giamsat_measured(j.sig -> 'rsrp_dbm', -1e6, 1e6), -1),
        (pg_temp.giamsat_measured(j.sig -> 'nr_rsrp_dbm', -156, -31), 1)
    ) AS v(x, sign)
    WHERE r.tech = 'NR-NSA' AND r.h3 IS NOT NULL AND r.service IS DISTINCT FROM false
      AND v.x IS NOT NULL
),
per_bin AS (
    SELECT hour, h3, op, probe, env,
           width_bucket(x, (SELECT array_agg(e::float8 ORDER BY e) FROM generate_series(-140, -44) e)) + 1
               AS bin,
           sum(sign)::int AS n,
           sum(sign * g) AS s,
           sum(sign * g * g) AS sq
    FROM (SELECT *, round(x * 1048576::float8) / 1048576::float8 AS g FROM measured) snapped
    GROUP BY 1, 2, 3, 4, 5, 6
),
delta AS (
    SELECT hour, h3, op, probe, env, sum(n)::bigint AS n, sum(s) AS s, sum(sq) AS sq,
           array_agg(bin) AS bins, array_agg(n) AS counts
    FROM per_bin
    GROUP BY 1, 2, 3, 4, 5
)
UPDATE rollups r SET
    rsrp_dbm_n = r.rsrp_dbm_n + d.n,
    rsrp_dbm_sum = r.rsrp_dbm_sum + d.s,
    rsrp_dbm_sumsq = CASE WHEN r.rsrp_dbm_n + d.n = 0 THEN 0 ELSE r.rsrp_dbm_sumsq + d.sq END,
    rsrp_dbm_hist = ARRAY(
        SELECT r.rsrp_dbm_hist[i] + coalesce(d.counts[array_position(d.bins, i)], 0)
        FROM generate_series(1, 98) AS i ORDER BY i
    ),
    updated_at = now()
FROM delta d
WHERE r.tech = 'NR-NSA' AND r.hour = d.hour AND r.h3 = d.h3 AND r.op = d.op
  AND r.probe = d.probe AND r.env = d.env
  AND NOT (d.n = 0 AND d.s = 0 AND d.counts <@ ARRAY[0]);
