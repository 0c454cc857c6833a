-- Sums on a binary grid, so that every sum of them is exact in any order.
--
-- Since this migration each value enters a rollup's *_sum snapped to the nearest
-- multiple of 2^-20 (aggregator/aggregates/rollup.py, on_grid). A sum of such
-- values is exact while below 2^33 in magnitude, so ingest batching, the order
-- in which PostgreSQL adds rows (parallel aggregates included) and the numpy
-- sums of refresh_daily can no longer change a last digit of a verdict.
--
-- Sums stored before hold raw values added in arrival order; they are snapped
-- once here (multiplying and dividing by 2^20 is exact, round() is the one
-- rounding). Daily rows summed from the old hourly sums are dropped, and the
-- refresh watermark is reset, so readers take every key from the hourly rows
-- until the next refresh_daily (aggregator/store/daily.py) rebuilds them all.
-- The watermark is updated first: a refresh running concurrently waits on that
-- row and sees the snapped hourly rows once this commits.

UPDATE daily_refresh SET watermark = '-infinity', refreshed_at = NULL;

UPDATE rollups SET
    dl_mbps_sum = round(dl_mbps_sum * 1048576::float8) / 1048576::float8,
    ul_mbps_sum = round(ul_mbps_sum * 1048576::float8) / 1048576::float8,
    rtt_ms_sum = round(rtt_ms_sum * 1048576::float8) / 1048576::float8,
    access_s_sum = round(access_s_sum * 1048576::float8) / 1048576::float8,
    rsrp_dbm_sum = round(rsrp_dbm_sum * 1048576::float8) / 1048576::float8
WHERE dl_mbps_sum <> round(dl_mbps_sum * 1048576::float8) / 1048576::float8
   OR ul_mbps_sum <> round(ul_mbps_sum * 1048576::float8) / 1048576::float8
   OR rtt_ms_sum <> round(rtt_ms_sum * 1048576::float8) / 1048576::float8
   OR access_s_sum <> round(access_s_sum * 1048576::float8) / 1048576::float8
   OR rsrp_dbm_sum <> round(rsrp_dbm_sum * 1048576::float8) / 1048576::float8;

TRUNCATE rollups_daily;
