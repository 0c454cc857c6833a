"""The SIM's monthly data budget, kept on disk so a restart does not reset it.

Throughput tests are what cost data; when the month's allowance is spent they
pause until the next month while signal and latency measurements go on.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path


def _month(now: datetime | None = None) -> str:
    return (now or datetime.now(UTC)).strftime("%Y-%m")


class DataBudget:
    def __init__(self, path: Path, monthly_bytes: int) -> None:
        self.path = path
        self.monthly_bytes = monthly_bytes
        self.month = _month()
        self.used = 0
        if path.exists():
            try:
                state = json.loads(path.read_text())
                if state.get("month") == self.month:
                    self.used = int(state.get("used", 0))
            except (ValueError, OSError):
                pass  # a corrupt state file counts as a fresh month, not a crash

    def _roll(self, now: datetime | None = None) -> None:
        month = _month(now)
        if month != self.month:
            self.month, self.used = month, 0

    def remaining(self, now: datetime | None = None) -> int:
        self._roll(now)
        return max(0, self.monthly_bytes - self.used)

    def allows(self, test_bytes: int, now: datetime | None = None) -> bool:
        """True when a test that may use up to ``test_bytes`` still fits this month."""
        return self.remaining(now) >= test_bytes

    def spend(self, nbytes: int, now: datetime | None = None) -> None:
        self._roll(now)
        self.used += max(0, int(nbytes))
        self._save()

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"month": self.month, "used": self.used}))
        os.replace(tmp, self.path)
