"""Line charts as inline SVG, drawn on the server.

The trends page must work in a village office with no internet and no
JavaScript library to fetch, and its charts must print and survive "save
page as". SVG written here needs neither: one ``<path>`` per operator (a gap
where a month has no data, never a line drawn through it) and one circle per
data point whose ``<title>`` shows the exact value on hover.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 12, 30
INSET = 28  # first and last month stand clear of the axes, so their labels fit
TICKS = 5
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf")


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 times a power of ten that is at least ``value``."""
    if value <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    for step in (1.0, 2.0, 2.5, 5.0, 10.0):
        if value <= step * power * (1 + 1e-12):
            return step * power
    return 10.0 * power


def colours(names: Sequence[str]) -> dict[str, str]:
    """A fixed colour per name, in the given order, so every chart uses the same ones."""
    return {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(names)}


def _number(value: float, decimals: int) -> str:
    return f"{value:.{decimals}f}"


def line_chart(
    kpi: str,
    label: str,
    unit: str,
    months: Sequence[str],
    series: Mapping[str, Sequence[float | None]],
    palette: Mapping[str, str],
    *,
    top: float | None = None,
    decimals: int = 1,
    empty_text: str = "",
) -> str:
    """SVG markup: x = ``months`` evenly spaced, one line per entry of ``series``.

    ``top`` fixes the y axis maximum (100 for percentages); otherwise it is the
    next round number above the largest value. The y axis starts at zero so
    that two months' values compare by height.
    """
    values = [v for line in series.values() for v in line if v is not None]
    y_max = top if top is not None else nice_ceiling(max(values, default=0.0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x_of(index: int) -> float:
        if len(months) == 1:
            return LEFT + plot_w / 2
        return LEFT + INSET + (plot_w - 2 * INSET) * index / (len(months) - 1)

    def y_of(value: float) -> float:
        return TOP + plot_h * (1 - min(value, y_max) / y_max)

    parts = [
        f'<svg class="giamsat-chart" data-kpi="{escape(kpi)}" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="100%" role="img" aria-label="{escape(label)} ({escape(unit)})" '
        'xmlns="http://www.w3.org/2000/svg">'
    ]
    for i in range(TICKS + 1):
        tick = y_max * i / TICKS
        y = y_of(tick)
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="tick y" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{tick:g}</text>"
        )
    every = max(1, math.ceil(len(months) / 12))
    for i, month in enumerate(months):
        if i % every == 0:
            parts.append(
                f'<text class="tick x" x="{x_of(i):.1f}" y="{HEIGHT - BOTTOM + 16}" '
                f'text-anchor="middle">{escape(month)}</text>'
            )
    for name, line in series.items():
        colour = escape(palette.get(name, PALETTE[0]))
        commands: list[str] = []
        points: list[str] = []
        pen_down = False
        for i, value in enumerate(line):
            if value is None:
                pen_down = False
                continue
            x, y = x_of(i), y_of(value)
            commands.append(f"{'L' if pen_down else 'M'}{x:.1f},{y:.1f}")
            pen_down = True
            points.append(
                f'<circle class="point" cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{colour}">'
                f"<title>{escape(name)} {escape(months[i])}: "
                f"{_number(value, decimals)} {escape(unit)}</title></circle>"
            )
        parts.append(f'<g class="series" data-op="{escape(name)}">')
        if any(c.startswith("L") for c in commands):  # a lone point needs no line
            parts.append(
                f'<path class="line" d="{" ".join(commands)}" fill="none" stroke="{colour}" '
                'stroke-width="2"/>'
            )
        parts.extend(points)
        parts.append("</g>")
    if not values and empty_text:
        parts.append(
            f'<text class="empty" x="{LEFT + plot_w / 2:.1f}" y="{TOP + plot_h / 2:.1f}" '
            f'text-anchor="middle">{escape(empty_text)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
