"""Progress lines for long command-line work, and the summary table it ends with.

``rich`` is not a dependency, and a bundle is often built over SSH or in a
cron job, so this is plain text: on a terminal one line per stage is
rewritten in place; elsewhere (a log, a pipe) a stage prints at most one
line every few seconds and one when it ends. Progress goes to stderr and
the summary table to stdout, so ``> summary.txt`` captures the result only.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from typing import TextIO

LOG_INTERVAL_S = 5.0
TTY_INTERVAL_S = 0.1


class Stage:
    """One named step; ``advance`` as work is done, ``done`` with a short result."""

    def __init__(self, out: TextIO | None, name: str, total: int | None) -> None:
        self.out = out
        self.name = name
        self.total = total
        self.count = 0
        self.started = time.monotonic()
        self._shown = self.started
        self._tty = bool(out is not None and out.isatty())

    def _line(self) -> str:
        if self.total:
            share = self.count / self.total
            return f"{self.name}: {self.count:,}/{self.total:,} ({share:.0%})"
        return f"{self.name}: {self.count:,}"

    def advance(self, n: int = 1) -> None:
        self.count += n
        if self.out is None:
            return
        now = time.monotonic()
        if now - self._shown >= (TTY_INTERVAL_S if self._tty else LOG_INTERVAL_S):
            self._shown = now
            self.out.write(("\r" if self._tty else "") + self._line() + ("" if self._tty else "\n"))
            self.out.flush()

    def done(self, result: str = "") -> float:
        """Print the stage's final line; returns its duration in seconds."""
        elapsed = time.monotonic() - self.started
        if self.out is not None:
            text = f"{self.name}: {result or 'done'} ({elapsed:.1f} s)"
            self.out.write(("\r\033[K" if self._tty else "") + text + "\n")
            self.out.flush()
        return elapsed


class Progress:
    """Stages printed to ``out``; ``Progress(None)`` is silent (API downloads)."""

    def __init__(self, out: TextIO | None = sys.stderr) -> None:
        self.out = out

    def stage(self, name: str, total: int | None = None) -> Stage:
        return Stage(self.out, name, total)


def table(titles: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A fixed-width text table with a rule under the titles."""
    widths = [max(len(str(row[i])) for row in [titles, *rows]) for i in range(len(titles))]
    lines = ["  ".join(str(t).ljust(w) for t, w in zip(titles, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join(line.rstrip() for line in lines) + "\n"
