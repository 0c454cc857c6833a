"""The rate of a multi-stream transfer over the window in which every stream is busy.

A transfer over several TCP streams looks like this when the bytes of all
streams are sampled together every ~100 ms: a ramp while connections open and
slow start runs, a plateau, then a tail where some streams have finished and
the others no longer fill the link. Only the plateau says what the link can
carry. Summing per-stream averages instead would count each stream's ramp and
tail, and streams that overlap only partly would add rates that never existed
at the same time.

:class:`RateWindow` is pure (times and byte counts in, a rate out), so the
rule is tested without a network.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass


@dataclass(frozen=True)
class Sample:
    """Bytes moved by all streams together up to ``t`` seconds after the start."""

    t: float
    total: int
    all_active: bool


class RateWindow:
    """Rate over a common window of all streams, after a warm-up, with a stability test.

    The window starts ``warmup_s`` after the first sample at which every stream
    has moved data, moves later while the slices there are clearly below the
    plateau (slow start on a long path outlasts a fixed warm-up), and ends at
    the last sample at which every stream is still active. It is *stable* when
    it is at least ``min_window_s`` long, the estimate has moved less than
    ``stable_pct / 2`` per cent over the last ``stable_s``, and the byte count
    inside the window strays from a straight line by less than
    ``stable_pct / 2`` per cent of the window's bytes (see :meth:`wander`):
    noisy links measure longer, clean ones stop at ``min_window_s``.
    """

    RAMP_SLICES = 3
    RAMP_FRACTION = 0.85

    def __init__(
        self,
        warmup_s: float = 1.0,
        min_window_s: float = 1.5,
        stable_s: float = 0.5,
        stable_pct: float = 3.0,
    ) -> None:
        self.warmup_s = warmup_s
        self.min_window_s = min_window_s
        self.stable_s = stable_s
        self.stable_pct = stable_pct
        self.samples: list[Sample] = []
        self._history: list[tuple[float, float]] = []

    def add(self, t: float, total: int, all_active: bool) -> None:
        """Record the cumulative byte count of all streams at time ``t``."""
        self.samples.append(Sample(t, total, all_active))
        rate = self.rate_bps()
        if rate is not None and self.window() is not None:
            self._history.append((t, rate))

    def _active_run(self) -> tuple[int, int] | None:
        """Indices of the first run of samples at which every stream was active."""
        first = next((i for i, s in enumerate(self.samples) if s.all_active), None)
        if first is None:
            return None
        last = first
        while last + 1 < len(self.samples) and self.samples[last + 1].all_active:
            last += 1
        return first, last

    def window(self) -> tuple[int, int] | None:
        """Sample indices (start, end) of the measuring window, or None while there is none."""
        run = self._active_run()
        if run is None:
            return None
        first, end = run
        begin_t = self.samples[first].t + self.warmup_s
        start = next((i for i in range(first, end + 1) if self.samples[i].t >= begin_t), None)
        if start is None or end - start < 2:
            return None
        rates = [self._slice_rate(i) for i in range(start + 1, end + 1)]
        plateau = statistics.median(rates)
        limit = start + (end - start) // 2
        while start < limit:
            head = rates[: self.RAMP_SLICES]
            if sum(head) / len(head) >= self.RAMP_FRACTION * plateau:
                break
            start += 1
            rates = rates[1:]
        return start, end

    def _slice_rate(self, i: int) -> float:
        a, b = self.samples[i - 1], self.samples[i]
        return (b.total - a.total) / (b.t - a.t) if b.t > a.t else 0.0

    def _rate(self, start: int, end: int) -> float | None:
        a, b = self.samples[start], self.samples[end]
        return (b.total - a.total) / (b.t - a.t) if b.t > a.t else None

    def window_s(self) -> float:
        bounds = self.window()
        if bounds is None:
            return 0.0
        return self.samples[bounds[1]].t - self.samples[bounds[0]].t

    def rate_bps(self) -> float | None:
        """Bytes per second over the window; without one, over everything that moved.

        The fallback answers a test cut short by its byte or time cap before
        the plateau: a figure that underestimates is still a measurement, and
        the caller reports why the test stopped.
        """
        bounds = self.window()
        if bounds is not None:
            return self._rate(*bounds)
        moved = [i for i in range(1, len(self.samples)) if self._slice_rate(i) > 0]
        if not moved:
            return None
        return self._rate(moved[0] - 1, moved[-1])

    def stable(self) -> bool:
        """True when the estimate is good to about ``stable_pct`` per cent and has settled."""
        bounds = self.window()
        if bounds is None or self.window_s() < self.min_window_s:
            return False
        now, rate = self._history[-1]
        if self._history[0][0] > now - self.stable_s or rate <= 0:
            return False
        tolerance = self.stable_pct / 100.0
        recent = [r for t, r in self._history if t >= now - self.stable_s]
        if max(abs(r - rate) for r in recent) > rate * tolerance / 2:
            return False
        return self.wander(*bounds) <= tolerance / 2

    def wander(self, start: int, end: int) -> float:
        """How far the byte count strays from a straight line over the window, relative to it.

        The window's rate is (bytes at its end - bytes at its start) / time, so
        it is off by however far the count at either end is from where a
        steady flow would put it. Counts inside the window stray as far as
        those at its ends can (bytes held in buffers, delivered in bursts), so
        the largest distance between the count and the line through the
        window's ends, over the bytes in the window, bounds the relative error.
        A ramp or a sag shows up the same way, so this is also the trend test.
        """
        a, b = self.samples[start], self.samples[end]
        moved = b.total - a.total
        if moved <= 0 or b.t <= a.t:
            return float("inf")
        slope = moved / (b.t - a.t)
        inside = self.samples[start : end + 1]
        squares = [(s.total - a.total - slope * (s.t - a.t)) ** 2 for s in inside]
        return math.sqrt(sum(squares) / len(squares)) / moved
