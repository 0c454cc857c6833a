-- Dropped data transfers (QCVN 81/126 §2.1.4) and the local hour of each sample.
--
-- Records keep each transfer's outcome as the probe signed it (dl.outcome,
-- ul.outcome: completed, dropped, not_started). Hourly rollups count the
-- transfers that started (completed or dropped) and those dropped, for the
-- dropped data transfer ratio; a transfer that never started is an access
-- failure, counted already (access_failures). Records from agents before
-- outcomes have none and count in neither: their drops were never recorded,
-- so counting their completed transfers would understate the ratio.
--
-- local_hour_hist counts a row's records per local (UTC+7) hour of the day,
-- element 1 for 00:00-00:59. A row holds one UTC hour, so all its records fall
-- in one element; the array is there so that it survives summing hours into
-- days (rollups_daily.local_hour_atleast, as counts at or above like every
-- daily histogram) and areas: a sampling rule may ask how a KPI's samples
-- spread over the hours of the day (aggregator/compliance/sampling.py).
--
-- Stored rollups get their hour counts from their hour and records, and zero
-- transfers (their records have no outcomes). Daily rows are dropped and the
-- refresh watermark reset, as in migration 008, so readers take every key from
-- the hourly rows until the next refresh_daily rebuilds them with the new
-- columns. The watermark is updated first: a concurrent refresh waits on it.

UPDATE daily_refresh SET watermark = '-infinity', refreshed_at = NULL;

ALTER TABLE records
    ADD COLUMN dl_outcome text,
    ADD COLUMN ul_outcome text;

ALTER TABLE rollups
    ADD COLUMN transfers_started int NOT NULL DEFAULT 0,
    ADD COLUMN transfers_dropped int NOT NULL DEFAULT 0,
    ADD COLUMN local_hour_hist int[];

UPDATE rollups SET local_hour_hist = ARRAY(
    SELECT CASE WHEN h = extract(hour FROM hour AT TIME ZONE 'Asia/Ho_Chi_Minh')::int
                THEN records ELSE 0 END
    FROM generate_series(0, 23) AS h ORDER BY h
);
ALTER TABLE rollups ALTER COLUMN local_hour_hist SET NOT NULL;

TRUNCATE rollups_daily;
ALTER TABLE rollups_daily
    ADD COLUMN transfers_started int NOT NULL DEFAULT 0,
    ADD COLUMN transfers_dropped int NOT NULL DEFAULT 0,
    ADD COLUMN local_hour_atleast int[] NOT NULL;
