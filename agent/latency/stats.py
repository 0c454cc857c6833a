"""Summary of one series of round-trip times: the record's ``lat`` figures.

Pure, so the definitions are tested without a network:

* ``rtt_ms_p50``: median of the answered probes;
* ``rtt_ms_mean``: their mean (QCVN 126's latency KPI is a mean);
* ``jitter_ms``: mean absolute difference between consecutive answered
  probes, |RTT(i) - RTT(i-1)|: the per-pair delay variation D of RFC 3550
  section 6.4.1 averaged plainly, not RFC 3550's running estimate
  J += (|D| - J) / 16, which depends on where the series starts;
* ``loss_pct``: unanswered probes as a share of those sent.

Nothing answered: the RTT figures are None (absent from the record) and the
loss is 100 %.
"""

from __future__ import annotations

import itertools
import statistics
from typing import Any


def summarize(rtts_s: list[float | None]) -> dict[str, Any]:
    """Figures for probes in sending order; None marks a probe that got no answer."""
    answered = [r * 1000.0 for r in rtts_s if r is not None]
    n = len(rtts_s)
    result: dict[str, Any] = {
        "n": n,
        "rtt_ms_p50": None,
        "rtt_ms_mean": None,
        "jitter_ms": None,
        "loss_pct": round(100.0 * (n - len(answered)) / n, 2) if n else None,
    }
    if answered:
        result["rtt_ms_p50"] = round(statistics.median(answered), 3)
        result["rtt_ms_mean"] = round(statistics.fmean(answered), 3)
    if len(answered) >= 2:
        steps = [abs(b - a) for a, b in itertools.pairwise(answered)]
        result["jitter_ms"] = round(statistics.fmean(steps), 3)
    return result
