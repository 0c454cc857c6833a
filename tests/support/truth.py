"""Datasets of known truth for the compliance engine, its tests and query benchmarks.

A :class:`Truth` describes one operator's network as the probes would see it:
the true mean download/upload/latency/access time at the monitored sites, the
true access-failure probability, how many probes measure for how many days,
in which environments, and how often. :func:`generate` turns it into
:class:`~giamsat.aggregator.aggregates.samples.Sample` records.

Samples are correlated the way field data are: each probe has a site effect
(its location is better or worse than average) and each probe-day a further
effect (that day's load, weather, a neighbour cell down), both multiplicative
on the mean, with gamma-distributed scatter around it within the day. Site
effects are centred across probes, so the true value is the mean at the
monitored sites, which is what the regulator's verdict is about; day effects
are random, which is the uncertainty a probe-day bootstrap must capture.
Access failures are independent per attempt, so the true failure share is
exactly ``access_failure``.

Transfers carry an outcome only when ``dropped`` is given (otherwise the
samples are those of an agent from before outcomes): then every started
transfer, the download of each cycle whose access succeeded and the upload
after a download that completed, is dropped independently with probability
``dropped``, so the true dropped-transfer share is exactly ``dropped``. A
dropped transfer has no rate, as the agent records it. The outcomes come from
their own random stream, so giving ``dropped`` changes no other draw.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import h3
import numpy as np

from giamsat.aggregator.aggregates.samples import NO_TECH, Sample
from giamsat.contract.timezone import VIETNAM_TZ

_STAGGER_S = 600  # probes start their day up to 10 minutes apart
THIRDS: dict[str, float] = {"indoor": 1 / 3, "outdoor_fixed": 1 / 3, "outdoor_mobile": 1 / 3}


@dataclass(frozen=True)
class Truth:
    operator: str = "Viettel"
    tech: str = "NR-SA"
    dl_mbps: float = 130.0
    ul_mbps: float = 40.0
    rtt_ms: float = 30.0
    access_s: float = 1.5
    rsrp_dbm: float = -95.0
    rsrp_sd_db: float = 6.0
    access_failure: float = 0.02
    no_service: float = 0.0
    dropped: float | None = None
    probes: int = 12
    days: int = 5
    per_probe_day: int = 30
    interval_s: float = 120.0
    env_split: dict[str, float] = field(default_factory=lambda: dict(THIRDS))
    site_sd: float = 0.08
    day_sd: float = 0.06
    noise_cv: float = 0.5
    start: date = date(2026, 10, 1)
    lat: float = 22.61
    lon: float = 105.87
    seed: int = 0


def _environments(truth: Truth) -> list[str]:
    """Probes per environment in proportion to ``env_split`` (largest remainder)."""
    names = list(truth.env_split)
    weights = np.array([truth.env_split[n] for n in names], dtype=float)
    exact = weights / weights.sum() * truth.probes
    counts = np.floor(exact).astype(int)
    for i in np.argsort(counts - exact)[: truth.probes - counts.sum()]:
        counts[i] += 1
    return [name for name, count in zip(names, counts, strict=True) for _ in range(count)]


def _positive_effects(rng: np.random.Generator, sd: float, size: int, centre: bool) -> np.ndarray:
    effects = rng.normal(0.0, sd, size)
    if centre and size > 1:
        effects -= effects.mean()
    return np.clip(effects, -0.9, None)


def generate(truth: Truth) -> list[Sample]:
    """Samples of every probe on every day, in time order per probe.

    Each probe's day starts shortly after local midnight (probes staggered by
    seconds) and must end before the next one begins, or the spacing rule
    would see overlapping days; a Truth that cannot fit raises ValueError.
    """
    longest_day_s = _STAGGER_S + truth.per_probe_day * truth.interval_s * 1.25
    if longest_day_s >= 86_400:
        raise ValueError(
            f"{truth.per_probe_day} samples {truth.interval_s:g} s apart do not fit in a day"
        )
    rng = np.random.default_rng(truth.seed)
    drops = np.random.default_rng([truth.seed, 1])
    envs = _environments(truth)
    means = {
        "dl_mbps": truth.dl_mbps,
        "ul_mbps": truth.ul_mbps,
        "rtt_ms": truth.rtt_ms,
        "access_s": truth.access_s,
    }
    site = {name: _positive_effects(rng, truth.site_sd, truth.probes, True) for name in means}
    rsrp_site = rng.normal(0.0, 3.0, truth.probes)
    rsrp_site -= rsrp_site.mean()
    shape = 1.0 / truth.noise_cv**2
    n = truth.per_probe_day
    samples: list[Sample] = []
    for p, env in enumerate(envs):
        probe = f"truth-{truth.operator.lower()}-{p:03d}"
        lat = truth.lat + 0.01 * p
        # A mobile probe drives through a string of cells; a fixed one stays in its own.
        cells = [
            h3.latlng_to_cell(lat + (0.002 * i if env == "outdoor_mobile" else 0.0), truth.lon, 8)
            for i in range(n)
        ]
        for d in range(truth.days):
            day = truth.start + timedelta(days=d)
            begin = datetime.combine(day, time(0, 0), VIETNAM_TZ) + timedelta(
                seconds=(7 * p) % _STAGGER_S
            )
            steps = truth.interval_s + rng.uniform(0.0, truth.interval_s / 4.0, n)
            offsets = (np.cumsum(steps) - steps[0]).tolist()
            values = {}
            for name, mean in means.items():
                day_mean = mean * (1.0 + site[name][p]) * (1.0 + rng.normal(0.0, truth.day_sd))
                draws = rng.gamma(shape, max(day_mean, 1e-6) / shape, n)
                values[name] = np.round(draws, 3).tolist()
            rsrp = np.round(
                rng.normal(truth.rsrp_dbm + rsrp_site[p], truth.rsrp_sd_db, n), 1
            ).tolist()
            served = (rng.random(n) >= truth.no_service).tolist()
            access_ok = (rng.random(n) >= truth.access_failure).tolist()
            dropped = (drops.random((n, 2)) < (truth.dropped or 0.0)).tolist()
            for i in range(n):
                t = begin + timedelta(seconds=offsets[i])
                if not served[i]:
                    samples.append(
                        Sample(
                            t, probe, truth.operator, NO_TECH, env, cells[i], False, access_ok=False
                        )
                    )
                    continue
                dl_mbps, ul_mbps = values["dl_mbps"][i], values["ul_mbps"][i]
                dl_outcome = ul_outcome = None
                if truth.dropped is not None:
                    dl_outcome, ul_outcome = _outcomes(access_ok[i], dropped[i])
                    dl_mbps = dl_mbps if dl_outcome == "completed" else None
                    ul_mbps = ul_mbps if ul_outcome == "completed" else None
                samples.append(
                    Sample(
                        t=t,
                        probe=probe,
                        op=truth.operator,
                        tech=truth.tech,
                        env=env,
                        h3=cells[i],
                        service=True,
                        dl_mbps=dl_mbps,
                        ul_mbps=ul_mbps,
                        rtt_ms=values["rtt_ms"][i],
                        access_ok=access_ok[i],
                        access_s=values["access_s"][i] if access_ok[i] else None,
                        rsrp_dbm=rsrp[i],
                        dl_outcome=dl_outcome,
                        ul_outcome=ul_outcome,
                    )
                )
    return samples


def _outcomes(access_ok: bool, dropped: list[bool]) -> tuple[str, str | None]:
    """A cycle's download and upload outcomes, as the agent runs them.

    No access: the download never started and no upload is tried. Otherwise
    the download started, and the upload runs only after it completed.
    """
    if not access_ok:
        return "not_started", None
    if dropped[0]:
        return "dropped", None
    return "completed", "dropped" if dropped[1] else "completed"
