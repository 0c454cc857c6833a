"""Vietnam's time, in which days, months and hours of the day are counted.

Standards count samples per local day and per hour of the day, notices are
dated in it, and the database buckets rollups by it. Vietnam keeps UTC+7 all
year (no daylight saving), so a fixed offset is exact in Python, and the IANA
name is what PostgreSQL needs.
"""

from __future__ import annotations

from datetime import timedelta, timezone

VIETNAM_TZ = timezone(timedelta(hours=7), "UTC+7")
VIETNAM_TZ_NAME = "Asia/Ho_Chi_Minh"
