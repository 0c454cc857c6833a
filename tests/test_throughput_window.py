"""The common-window rate rule, on synthetic sample series (no network)."""

from __future__ import annotations

import pytest

from giamsat.agent.throughput.window import RateWindow

SLICE = 0.1


def feed(window: RateWindow, rates: list[float], active: list[bool] | None = None) -> None:
    """Add one sample per slice for the given per-slice rates (bytes/s)."""
    total = 0.0
    for i, rate in enumerate(rates):
        total += rate * SLICE
        window.add(round((i + 1) * SLICE, 6), int(total), True if active is None else active[i])


def test_ramp_and_tail_are_left_out() -> None:
    ramp = [1e5, 2e5, 4e5, 8e5, 1e6, 1e6]
    plateau = [1e6] * 20
    tail = [5e5, 2e5]
    window = RateWindow(warmup_s=0.3, min_window_s=1.0)
    feed(window, ramp + plateau + tail, [True] * 26 + [False] * 2)
    assert window.rate_bps() == pytest.approx(1e6, rel=0.01)


def test_not_a_sum_of_stream_averages() -> None:
    """Streams that overlap only partly: the rate is what moved while all were busy."""
    window = RateWindow(warmup_s=0.0, min_window_s=0.5)
    # 0.5 s with one stream (not all active), 2 s with all, then 0.5 s with one again.
    rates = [4e5] * 5 + [1e6] * 20 + [4e5] * 5
    feed(window, rates, [False] * 5 + [True] * 20 + [False] * 5)
    assert window.rate_bps() == pytest.approx(1e6, rel=0.01)


def test_slow_start_longer_than_the_warm_up_is_skipped() -> None:
    slow = [5e4 * 2**i for i in range(5)]  # 50 kB/s .. 800 kB/s
    window = RateWindow(warmup_s=0.1, min_window_s=1.0)
    feed(window, slow + [1e6] * 20)
    start, _ = window.window() or (0, 0)
    assert window.samples[start].t >= 0.4
    assert window.rate_bps() == pytest.approx(1e6, rel=0.02)


def test_stable_only_after_the_minimum_window() -> None:
    window = RateWindow(warmup_s=0.5, min_window_s=1.5, stable_s=0.5, stable_pct=3.0)
    feed(window, [1e6] * 15)
    assert not window.stable()  # window is 0.9 s
    feed_more(window, [1e6] * 10)
    assert window.stable()


def feed_more(window: RateWindow, rates: list[float]) -> None:
    last = window.samples[-1]
    total, t = last.total, last.t
    for rate in rates:
        total += int(rate * SLICE)
        t = round(t + SLICE, 6)
        window.add(t, total, True)


def test_a_rising_rate_is_not_stable() -> None:
    window = RateWindow(warmup_s=0.0, min_window_s=1.0, stable_pct=3.0)
    feed(window, [1e6 * (1 + 0.03 * i) for i in range(40)])
    assert window.window() is not None
    assert not window.stable()


def test_noisy_but_flat_becomes_stable() -> None:
    window = RateWindow(warmup_s=0.2, min_window_s=1.5, stable_pct=3.0)
    feed(window, [1e6 * (1.1 if i % 2 else 0.9) for i in range(40)])
    assert window.stable()
    assert window.rate_bps() == pytest.approx(1e6, rel=0.03)


def test_too_short_for_a_window_falls_back_to_the_whole_transfer() -> None:
    window = RateWindow(warmup_s=1.0, min_window_s=1.0)
    feed(window, [1e6] * 5)
    assert window.window() is None
    assert window.rate_bps() == pytest.approx(1e6, rel=0.01)
    assert not window.stable()


def test_nothing_moved_means_no_rate() -> None:
    window = RateWindow()
    feed(window, [0.0] * 5, [False] * 5)
    assert window.rate_bps() is None
