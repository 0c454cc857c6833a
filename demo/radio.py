"""Towers, path loss and what a probe measures: a radio model small enough to read.

Each operator builds where operators in the northern mountains do: a site in
every ward of a provincial capital, one or two at each district seat on the
nearest hill, a line of sites along the national roads, and (Viettel most of
all) sites at commune centres. 5G (NR-NSA on a 3.5 GHz-class band) is only in
some towns.

A probe's received power from a tower is the EIRP per resource element minus

- the path loss: COST-231 Hata with a rural correction for LTE 1800, the
  3GPP TR 38.901 UMa model for NR;
- knife-edge diffraction over the terrain profile between the tower top and
  the probe, which is what turns a valley a few kilometres from a ridge-top
  tower into a dead zone;
- log-normal shadowing, spatially correlated (a seeded lattice field per
  tower plus one per place, so nearby points see nearly the same value);
- building or vehicle penetration loss for the probe's environment.

Everything that changes with time is drawn per measurement: fast fading,
each tower's load (a daily busy-hour curve), the odd site outage (power cuts
are common in the mountains). SINR follows from the serving cell against the
others weighted by their load; throughput from SINR by a capped Shannon
formula, shared with the other users and limited by the site's backhaul;
latency from the transport distance, microwave hops, load and SINR; access
fails more often at low signal, and a transfer that started is dropped more
often at the cell edge.

An NSA link has two legs, reported as an NSA modem reports them: the LTE
anchor (the serving cell: PCI, EARFCN, band 3, RSRP, RSRQ, SINR) and the NR
leg (its PCI, NR-ARFCN and band from the operator's profile, SS-RSRP, SS-RSRQ,
SS-SINR). Access goes through the anchor; speed and latency mostly follow the
NR leg.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

import numpy as np

from demo.terrain import Terrain, distance_m, to_xy
from demo.villages import ROADS, TOWN_BY_NAME, TOWNS, VILLAGES, LatLon, Town, Village
from giamsat.contract.timezone import VIETNAM_TZ

SPEED_OF_LIGHT = 299_792_458.0
EFFECTIVE_EARTH_RADIUS_M = 4 / 3 * 6_371_000.0
HANOI = (21.028, 105.854)  # where the speed server and the operators' cores are

LTE_FREQ_MHZ = 1800.0
NR_FREQ_MHZ = 3500.0
# Reference-signal EIRP per resource element: 40 W over 1200 subcarriers plus a
# 17 dBi sector antenna for LTE; the NR SSB is beamformed by a 64T64R array.
LTE_EIRP_PER_RE_DBM = 30.0
NR_EIRP_PER_RE_DBM = 40.0
# Thermal noise per subcarrier (15 kHz LTE, 30 kHz NR) plus a 7 dB noise figure.
LTE_NOISE_PER_RE_DBM = -174 + 10 * math.log10(15e3) + 7
NR_NOISE_PER_RE_DBM = -174 + 10 * math.log10(30e3) + 7
# Hata's formula is for a suburban city; open hills with forest lose less.
RURAL_CORRECTION_DB = -24.0
# Below these a modem finds no usable cell.
LTE_MIN_RSRP_DBM = -124.0
LTE_MIN_SINR_DB = -7.0
# An NSA phone adds the 5G leg when the NR cell is at least this strong (event B1).
NR_B1_RSRP_DBM = -112.0
NR_MIN_SINR_DB = -3.0
NR_MAX_RSRP_DBM = -31  # the top of the SS-RSRP reporting range (TS 38.133): a modem reports no more
NR_BANDWIDTH_MHZ = 100.0
NR_DL_SHARE = 0.74  # TDD frame DDDSU: share of time downstream
NR_UL_SHARE = 0.26
LTE_RANGE_M = 35_000.0
NR_RANGE_M = 5_000.0

# Penetration loss by environment (dB) for LTE 1800 and NR 3500; an outdoor
# fixed probe has its antenna on the roof, a phone is in a hand or a car.
ENV_LOSS_DB: dict[str, tuple[float, float]] = {
    "indoor": (13.0, 19.0),
    "outdoor_fixed": (-2.0, -2.0),
    "outdoor_mobile": (4.0, 5.0),
}


@dataclass(frozen=True)
class Profile:
    """How one operator builds and runs its network in the demo's provinces."""

    name: str
    mcc: int
    mnc: int
    lte_mhz: float
    earfcn: int
    nr_band: str
    nr_arfcn: int
    ward_share: float  # share of a capital's wards with a site
    town_sites: float  # sites per district seat (a fraction is a probability)
    road_spacing_m: float  # one site every this many metres along national roads
    commune_share: float  # chance that a probe's commune has a site of this operator
    nr_towns: frozenset[str]  # towns whose sites carry 5G
    backhaul_mbps: float  # fibre to town sites
    busy_load: float  # cell utilisation in the evening busy hour
    constrained: dict[str, tuple[float, float]] = field(default_factory=dict)
    # town -> (backhaul Mbit/s, busy load) where the operator is short of capacity


PROFILES: dict[str, Profile] = {
    "Viettel": Profile(
        "Viettel", 452, 4, 20.0, 1650, "n78", 627264,
        ward_share=1.0, town_sites=2, road_spacing_m=6_000, commune_share=0.8,
        nr_towns=frozenset({"Lào Cai", "Sa Pa", "Hà Giang", "Cao Bằng", "Bắc Kạn"}),
        backhaul_mbps=2_000, busy_load=0.6,
    ),
    "VinaPhone": Profile(
        "VinaPhone", 452, 2, 15.0, 1300, "n78", 650016,
        ward_share=1.0, town_sites=1, road_spacing_m=11_000, commune_share=0.35,
        nr_towns=frozenset({"Cao Bằng", "Lào Cai"}),
        backhaul_mbps=1_000, busy_load=0.65,
        # The 5G sites of Cao Bằng city ride one microwave ring: the demo's failing area.
        constrained={"Cao Bằng": (160.0, 0.85)},
    ),
    "MobiFone": Profile(
        "MobiFone", 452, 1, 15.0, 1850, "n78", 652032,
        ward_share=0.5, town_sites=0.6, road_spacing_m=20_000, commune_share=0.1,
        nr_towns=frozenset({"Hà Giang"}),
        backhaul_mbps=1_000, busy_load=0.55,
    ),
}  # fmt: skip

# Share of the busy-hour load at each local hour (0-23).
DAILY_LOAD: tuple[float, ...] = (
    0.25, 0.18, 0.15, 0.15, 0.15, 0.2, 0.35, 0.5, 0.6, 0.65, 0.65, 0.7,
    0.75, 0.7, 0.65, 0.65, 0.7, 0.75, 0.85, 0.95, 1.0, 1.0, 0.85, 0.5,
)  # fmt: skip
OUTAGE_CHANCE_PER_DAY = 0.04


def unit(*parts: object) -> float:
    """A reproducible number in [0, 1) from any labels (seed, tower, day, …)."""
    digest = hashlib.blake2b(":".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def gaussian(*parts: object) -> float:
    """A reproducible standard normal value from labels (Box-Muller over two units)."""
    u1 = max(unit(*parts, "a"), 1e-12)
    u2 = unit(*parts, "b")
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(2 * math.pi * u2)


# --- propagation -------------------------------------------------------------


def cost231_hata_db(
    d_m: float,
    f_mhz: float = LTE_FREQ_MHZ,
    hb_m: float = 30.0,
    hm_m: float = 1.5,
    correction_db: float = RURAL_CORRECTION_DB,
) -> float:
    """COST-231 Hata path loss (medium city form) plus an environment correction."""
    d_km = max(d_m, 20.0) / 1000.0
    hb = max(hb_m, 1.0)
    a_hm = (1.1 * math.log10(f_mhz) - 0.7) * hm_m - (1.56 * math.log10(f_mhz) - 0.8)
    return (
        46.3
        + 33.9 * math.log10(f_mhz)
        - 13.82 * math.log10(hb)
        - a_hm
        + (44.9 - 6.55 * math.log10(hb)) * math.log10(d_km)
        + correction_db
    )


def uma_db(d_m: float, f_mhz: float = NR_FREQ_MHZ, hb_m: float = 25.0, hm_m: float = 1.5) -> float:
    """3GPP TR 38.901 UMa path loss: the larger of the LOS and NLOS formulas."""
    d3d = math.hypot(max(d_m, 10.0), hb_m - hm_m)
    fc = f_mhz / 1000.0
    los = 28.0 + 22.0 * math.log10(d3d) + 20.0 * math.log10(fc)
    nlos = 13.54 + 39.08 * math.log10(d3d) + 20.0 * math.log10(fc) - 0.6 * (hm_m - 1.5)
    return max(los, nlos)


def vertical_pattern_db(d_m: float, height_above_m: float, tilt_deg: float = 4.0) -> float:
    """Loss off the main beam of a down-tilted sector antenna (3GPP TR 36.814 vertical pattern).

    Close under a mast the probe is far below the beam, which is why standing
    next to a tower does not give -40 dBm.
    """
    theta = math.degrees(math.atan2(height_above_m, max(d_m, 1.0)))
    return min(12.0 * ((theta - tilt_deg) / 7.0) ** 2, 20.0)


def knife_edge_db(v: float) -> float:
    """Single knife-edge diffraction loss J(v), ITU-R P.526 approximation."""
    if v <= -0.78:
        return 0.0
    return 6.9 + 20.0 * math.log10(math.sqrt((v - 0.1) ** 2 + 1.0) + v - 0.1)


def obstruction(
    terrain: Terrain,
    tx: np.ndarray,
    ty: np.ndarray,
    top_m: np.ndarray,
    rx: float,
    ry: float,
    end_m: float,
    samples: int = 16,
) -> np.ndarray:
    """The worst terrain edge between each tower top and a receiver at height ``end_m``.

    Returns, per tower, the largest h·sqrt(2d/(d1·d2)) over the sampled profile
    (earth bulge with k = 4/3 included): the Fresnel-Kirchhoff parameter v times
    sqrt(wavelength), so one profile serves every frequency (see
    :func:`diffraction_db`).
    """
    if tx.size == 0:
        return np.zeros(0)
    f = np.linspace(0.05, 0.95, samples)
    px = tx[:, None] + f * (rx - tx[:, None])
    py = ty[:, None] + f * (ry - ty[:, None])
    ground = terrain.elevation_xy(px, py)
    total = np.maximum(np.hypot(rx - tx, ry - ty), 1.0)[:, None]
    d1, d2 = f * total, (1 - f) * total
    sight = top_m[:, None] + f * (end_m - top_m[:, None])
    h = ground + d1 * d2 / (2 * EFFECTIVE_EARTH_RADIUS_M) - sight
    return (h * np.sqrt(2 * total / (d1 * d2))).max(axis=1)


def diffraction_db(edge: float, f_mhz: float) -> float:
    """Single knife-edge loss for an :func:`obstruction` value at ``f_mhz``, capped at 45 dB.

    One edge, not a full Deygout construction: enough to tell a valley floor
    from a hilltop, and higher frequencies lose more behind the same ridge.
    """
    wavelength = SPEED_OF_LIGHT / (f_mhz * 1e6)
    return min(knife_edge_db(edge / math.sqrt(wavelength)), 45.0)


def shadowing_db(
    seed: int, key: str, lat: float, lon: float, sigma_db: float, decorrelation_m: float = 120.0
) -> float:
    """Log-normal shadowing from a seeded Gaussian lattice, bilinearly interpolated.

    Points closer than the decorrelation distance get nearly the same value,
    points far apart independent ones; dividing by the weights' norm keeps the
    standard deviation at ``sigma_db`` everywhere, not only on lattice points.
    """
    if sigma_db == 0:
        return 0.0
    x, y = to_xy(lat, lon)
    gx, gy = float(x) / decorrelation_m, float(y) / decorrelation_m
    ix, iy = math.floor(gx), math.floor(gy)
    fx, fy = gx - ix, gy - iy
    weights = ((1 - fx) * (1 - fy), fx * (1 - fy), (1 - fx) * fy, fx * fy)
    corners = ((ix, iy), (ix + 1, iy), (ix, iy + 1), (ix + 1, iy + 1))
    value = sum(
        w * gaussian(seed, key, cx, cy) for w, (cx, cy) in zip(weights, corners, strict=True)
    )
    return sigma_db * value / math.sqrt(sum(w * w for w in weights))


def shannon_mbps(
    sinr_db: float, bandwidth_mhz: float, efficiency: float = 0.75, max_se: float = 5.5
) -> float:
    """Capped Shannon capacity (TR 36.942 style): nothing below -10 dB, at most max_se b/s/Hz."""
    if sinr_db < -10.0:
        return 0.0
    se = min(max_se, efficiency * math.log2(1.0 + 10 ** (sinr_db / 10.0)))
    return bandwidth_mhz * se


# --- towers ------------------------------------------------------------------


@dataclass(frozen=True)
class Tower:
    id: str
    operator: str
    lat: float
    lon: float
    ground_m: float
    height_m: float
    nr: bool
    backhaul_mbps: float
    busy_load: float
    transport_ms: float  # round trip from the site to the core and the speed server
    enb: int
    tac: int

    @property
    def top_m(self) -> float:
        return self.ground_m + self.height_m


def _offset(lat: float, lon: float, r_m: float, rng: random.Random) -> LatLon:
    """A point ``r_m`` metres from (lat, lon) in a random direction."""
    a = rng.random() * 2 * math.pi
    return lat + r_m * math.sin(a) / 110_700.0, lon + r_m * math.cos(a) / 102_800.0


def _on_high_ground(
    terrain: Terrain, lat: float, lon: float, radius_m: float, rng: random.Random, tries: int = 8
) -> tuple[float, float, float]:
    """The highest of a few candidate spots near (lat, lon): where a site surveyor would build."""
    candidates = [(lat, lon)]
    for _ in range(tries):
        r = radius_m * math.sqrt(rng.random())
        a = rng.random() * 2 * math.pi
        candidates.append((lat + r * math.sin(a) / 110_700.0, lon + r * math.cos(a) / 102_800.0))
    heights = terrain.elevation(
        np.array([c[0] for c in candidates]), np.array([c[1] for c in candidates])
    )
    best = int(np.argmax(heights))
    return candidates[best][0], candidates[best][1], float(heights[best])


def _road_points(road_towns: Sequence[Town], spacing_m: float) -> list[LatLon]:
    points: list[LatLon] = []
    for a, b in itertools.pairwise(road_towns):
        length = distance_m(a.lat, a.lon, b.lat, b.lon)
        steps = max(1, round(length / spacing_m))
        for i in range(1, steps):
            f = i / steps
            points.append((a.lat + f * (b.lat - a.lat), a.lon + f * (b.lon - a.lon)))
    return points


class _Builder:
    """One operator's sites as they are placed, with the rules every site follows."""

    def __init__(self, profile: Profile, seed: int, towers: list[Tower]) -> None:
        self.profile = profile
        self.rng = random.Random(f"towers:{seed}:{profile.name}")
        self.towers = towers
        self.placed: list[LatLon] = []

    def add(self, lat: float, lon: float, ground: float, town: str | None, height: float) -> None:
        """Add a site unless the operator already has one nearby (1.2 km, 600 m in a town)."""
        spacing = 1_200 if town is None else 600
        if any(distance_m(lat, lon, a, b) < spacing for a, b in self.placed):
            return
        self.placed.append((lat, lon))
        profile, rng = self.profile, self.rng
        backhaul, busy = profile.backhaul_mbps, profile.busy_load
        hops = 0
        if town is None:  # roadside and commune sites hang off microwave links
            hops = 1 + rng.randrange(3)
            backhaul = min(backhaul, 300.0)
            busy *= 0.7
        elif town in profile.constrained:
            backhaul, busy = profile.constrained[town]
            hops = 2
        fibre_km = 1.4 * distance_m(lat, lon, *HANOI) / 1000.0
        index = len(self.towers)
        self.towers.append(
            Tower(
                id=f"{profile.name[:3].upper()}-{index:04d}",
                operator=profile.name,
                lat=round(lat, 5),
                lon=round(lon, 5),
                ground_m=ground,
                height_m=height,
                nr=town in profile.nr_towns,
                backhaul_mbps=backhaul,
                busy_load=min(0.95, busy * (0.85 + 0.3 * rng.random())),
                transport_ms=round(2 * fibre_km / 200.0 + 2.0 * hops + 4.0, 2),
                enb=100_000 + 97 * profile.mnc + index,
                tac=0x3000 + 0x100 * profile.mnc + index % 64,
            )
        )


def place_towers(
    terrain: Terrain,
    seed: int = 1,
    *,
    towns: Sequence[Town] = TOWNS,
    villages: Sequence[Village] = VILLAGES,
    profiles: dict[str, Profile] = PROFILES,
) -> list[Tower]:
    """Every operator's sites, reproducible for a seed.

    Capitals get rooftop sites near their wards' centres; district seats one or
    two sites on the nearest high ground; national roads a site every few
    kilometres; communes (the probes' villages) a hill-top site by chance.
    """
    towers: list[Tower] = []
    for profile in profiles.values():
        builder = _Builder(profile, seed, towers)
        rng = builder.rng
        for town in towns:
            if town.capital:
                spots = list(town.wards) or [
                    (town.lat + 0.015 * math.sin(a), town.lon + 0.016 * math.cos(a))
                    for a in (0.5, 2.6, 4.7)
                ]
                for lat, lon in [(town.lat, town.lon), *spots]:
                    if rng.random() < profile.ward_share:
                        # A rooftop a few hundred metres from the ward's centre.
                        lat, lon = _offset(lat, lon, 250 + 400 * rng.random(), rng)
                        builder.add(lat, lon, float(terrain.elevation(lat, lon)), town.name, 25)
                continue
            count = int(profile.town_sites) + (rng.random() < profile.town_sites % 1)
            for _ in range(count):
                lat, lon, ground = _on_high_ground(terrain, town.lat, town.lon, 1_500, rng)
                builder.add(lat, lon, ground, town.name, 30)
        for road in ROADS:
            towns_on_road = [TOWN_BY_NAME[n] for n in road.towns]
            for lat, lon in _road_points(towns_on_road, profile.road_spacing_m):
                lat, lon, ground = _on_high_ground(terrain, lat, lon, 800, rng)
                builder.add(lat, lon, ground, None, 35)
        for village in villages:
            if village.route or rng.random() >= profile.commune_share:
                continue
            # A commune site sits on a hill one to three kilometres from the centre.
            lat, lon = _offset(village.lat, village.lon, 1_000 + 2_000 * rng.random(), rng)
            lat, lon, ground = _on_high_ground(terrain, lat, lon, 700, rng)
            builder.add(lat, lon, ground, None, 30)
    return towers


# --- what a position hears ---------------------------------------------------


@dataclass(frozen=True)
class Heard:
    """One tower as heard at one place, before fading: mean received power per RE."""

    tower: Tower
    rsrp_dbm: float
    distance_m: float
    diffraction_db: float


@dataclass(frozen=True)
class Links:
    """The strongest towers of one operator at one place, for LTE and for NR, strongest first."""

    lte: tuple[Heard, ...]
    nr: tuple[Heard, ...]


@dataclass(frozen=True)
class Measurement:
    """One cycle's outcome; None where nothing could be measured.

    ``tower`` and the plain radio fields are the LTE serving cell, which in
    NR-NSA is the anchor; the ``nr_*`` fields are the NR leg of an NR-NSA
    link (None in LTE), as an NSA modem reports the two. Speeds and latency
    are the link's as a whole: in NR-NSA they come mostly from the NR leg.
    ``dl_drop``/``ul_drop`` are the chances that a download or upload that
    started is then dropped (reset, stalled): a few percent at the cell edge,
    well under 1 % in good signal.
    """

    service: bool
    tech: str | None = None
    tower: Tower | None = None
    rsrp_dbm: float | None = None
    rsrq_db: float | None = None
    sinr_db: float | None = None
    pci: int | None = None
    cell: int | None = None
    band: str | None = None
    arfcn: int | None = None
    nr_tower: Tower | None = None
    nr_rsrp_dbm: float | None = None
    nr_rsrq_db: float | None = None
    nr_sinr_db: float | None = None
    nr_pci: int | None = None
    nr_band: str | None = None
    nr_arfcn: int | None = None
    rtt_ms: float | None = None
    jitter_ms: float | None = None
    loss_pct: float | None = None
    access_ok: bool | None = None
    access_s: float | None = None
    dl_mbps: float | None = None
    ul_mbps: float | None = None
    dl_drop: float | None = None
    ul_drop: float | None = None


NO_SERVICE = Measurement(service=False)


def local_time(when: datetime) -> datetime:
    """Vietnamese wall-clock time (UTC+7, no daylight saving): what the busy hour follows."""
    return when.astimezone(VIETNAM_TZ)


class RadioModel:
    """Towers on a terrain; what any place hears, and what a probe there measures at a time."""

    def __init__(
        self,
        terrain: Terrain,
        towers: Sequence[Tower],
        seed: int = 1,
        *,
        shadowing_sigma_db: float = 7.0,
        outage_chance: float = OUTAGE_CHANCE_PER_DAY,
    ) -> None:
        self.terrain = terrain
        self.towers = list(towers)
        self.seed = seed
        self.shadowing_sigma_db = shadowing_sigma_db
        self.outage_chance = outage_chance
        self._by_operator: dict[str, list[Tower]] = {}
        for tower in self.towers:
            self._by_operator.setdefault(tower.operator, []).append(tower)
        self._links: dict[tuple[str, float, float, str], Links] = {}
        self._loads: dict[tuple[str, date, int], float] = {}
        self._outages: dict[tuple[str, date], tuple[float, float] | None] = {}

    # Static part ----------------------------------------------------------

    def links(self, operator: str, lat: float, lon: float, env: str) -> Links:
        """What a probe of ``operator`` in ``env`` at (lat, lon) hears on average (cached)."""
        key = (operator, round(lat, 4), round(lon, 4), env)
        found = self._links.get(key)
        if found is None:
            found = self._links[key] = self._compute_links(operator, lat, lon, env)
        return found

    def _compute_links(self, operator: str, lat: float, lon: float, env: str) -> Links:
        lte_env_db, nr_env_db = ENV_LOSS_DB[env]
        # Shadowing shared by every tower at this spot (the house, the trees), then per tower.
        local = shadowing_db(self.seed, f"local:{env}", lat, lon, self.shadowing_sigma_db * 0.6)
        tower_sigma = self.shadowing_sigma_db * 0.8
        ground = float(self.terrain.elevation(lat, lon))
        layers: dict[str, list[Heard]] = {"lte": [], "nr": []}
        for tower in self._by_operator.get(operator, []):
            d = distance_m(lat, lon, tower.lat, tower.lon)
            if d >= LTE_RANGE_M:
                continue
            above = tower.top_m - ground - 1.5
            height = min(200.0, max(15.0, above))
            beam = vertical_pattern_db(d, above)
            lte = LTE_EIRP_PER_RE_DBM - cost231_hata_db(d, LTE_FREQ_MHZ, height) - lte_env_db
            layers["lte"].append(Heard(tower, lte - beam + local, d, 0.0))
            if tower.nr and d < NR_RANGE_M:
                nr = NR_EIRP_PER_RE_DBM - uma_db(d, NR_FREQ_MHZ, min(height, 60.0)) - nr_env_db
                layers["nr"].append(Heard(tower, nr - beam + local, d, 0.0))
        # Shadowing and terrain only matter for towers that could be among the strongest.
        candidates: dict[str, list[Heard]] = {}
        for layer, count in (("lte", 12), ("nr", 6)):
            best = sorted(layers[layer], key=lambda h: -h.rsrp_dbm)[:count]
            candidates[layer] = [
                Heard(h.tower, h.rsrp_dbm + shadowing_db(
                    self.seed, f"{layer}:{h.tower.id}", lat, lon, tower_sigma), h.distance_m, 0.0)
                for h in best
            ]  # fmt: skip
        towers = list({h.tower.id: h.tower for hs in candidates.values() for h in hs}.values())
        if not towers:
            return Links((), ())
        rx, ry = to_xy(lat, lon)
        tx, ty = to_xy(np.array([t.lat for t in towers]), np.array([t.lon for t in towers]))
        tops = np.array([t.top_m for t in towers])
        edges = obstruction(self.terrain, tx, ty, tops, float(rx), float(ry), ground + 1.5)
        edge_of = {t.id: float(e) for t, e in zip(towers, edges, strict=True)}
        links: dict[str, tuple[Heard, ...]] = {}
        for layer, keep, freq in (("lte", 8, LTE_FREQ_MHZ), ("nr", 4, NR_FREQ_MHZ)):
            heard = []
            for h in candidates[layer]:
                loss = diffraction_db(edge_of[h.tower.id], freq)
                heard.append(
                    Heard(h.tower, round(h.rsrp_dbm - loss, 2), round(h.distance_m, 1),
                          round(loss, 2))
                )  # fmt: skip
            links[layer] = tuple(sorted(heard, key=lambda h: -h.rsrp_dbm)[:keep])
        return Links(links["lte"], links["nr"])

    # Time-varying part ----------------------------------------------------

    def load(self, tower: Tower, local: datetime) -> float:
        """Share of the cell's resources others use at ``local`` time (busiest around 20:00)."""
        key = (tower.id, local.date(), local.hour)
        value = self._loads.get(key)
        if value is None:
            day_factor = 0.8 + 0.4 * unit(self.seed, tower.id, local.date(), "load")
            value = tower.busy_load * DAILY_LOAD[local.hour] * day_factor
            value = self._loads[key] = min(0.97, max(0.03, value))
        return value

    def is_up(self, tower: Tower, local: datetime) -> bool:
        """False during the site's outage of the day (``local`` time), if it has one."""
        day = local.date()
        if (tower.id, day) not in self._outages:
            window = None
            if unit(self.seed, tower.id, day, "outage") < self.outage_chance:
                start = 24.0 * unit(self.seed, tower.id, day, "start")
                window = (start, start + 2.0 + 6.0 * unit(self.seed, tower.id, day, "end"))
            self._outages[(tower.id, day)] = window
        window = self._outages[(tower.id, day)]
        if window is None:
            return True
        hour = local.hour + local.minute / 60.0
        return not window[0] <= hour < window[1]

    def _best(
        self, heard: Sequence[Heard], local: datetime, rng: random.Random, fading_db: float,
        noise_dbm: float,
    ) -> tuple[Tower, float, float, float] | None:  # fmt: skip
        """The strongest working cell after fading: (tower, its load, RSRP, SINR), or None."""
        up = [(h, self.load(h.tower, local)) for h in heard if self.is_up(h.tower, local)]
        if not up:
            return None
        faded = [h.rsrp_dbm + rng.gauss(0.0, fading_db) for h, _ in up]
        best = max(range(len(up)), key=faded.__getitem__)
        others = [(faded[i], up[i][1]) for i in range(len(up)) if i != best]
        sinr = _sinr(faded[best], others, noise_dbm) + rng.gauss(0.0, 1.0)
        return up[best][0].tower, up[best][1], faded[best], sinr

    def measure(
        self, links: Links, when: datetime, rng: random.Random, *, nr_capable: bool
    ) -> Measurement:
        """One measurement cycle at a place (``links``) and time, with ``rng`` for the noise."""
        local = local_time(when)
        lte = self._best(links.lte, local, rng, 2.0, LTE_NOISE_PER_RE_DBM)
        if lte is None or lte[2] < LTE_MIN_RSRP_DBM or lte[3] < LTE_MIN_SINR_DB:
            return NO_SERVICE
        # ``tower``, ``load`` and ``sinr`` are the leg that carries the data: the LTE
        # cell, or the NR leg once an NSA phone has added it.
        tower, load, rsrp, sinr = lte[0], lte[1], lte[2], min(30.0, lte[3])
        anchor, anchor_load, anchor_rsrp, anchor_sinr = tower, load, rsrp, sinr
        profile = PROFILES[tower.operator]
        share = 1.0 - 0.9 * load
        dl = shannon_mbps(sinr, profile.lte_mhz) * share
        ul = shannon_mbps(sinr - 8.0, profile.lte_mhz, 0.6, 3.0) * share
        tech = "LTE"
        nr = self._best(links.nr, local, rng, 2.5, NR_NOISE_PER_RE_DBM) if nr_capable else None
        if nr is not None and nr[2] >= NR_B1_RSRP_DBM and nr[3] >= NR_MIN_SINR_DB:
            tower, load, rsrp, sinr = nr[0], nr[1], nr[2], min(30.0, nr[3])
            share = 1.0 - 0.9 * load
            nr_dl = shannon_mbps(sinr, NR_BANDWIDTH_MHZ, 0.75, 7.4) * NR_DL_SHARE * share
            nr_ul = shannon_mbps(sinr - 6.0, NR_BANDWIDTH_MHZ, 0.65, 4.0) * NR_UL_SHARE * share
            dl += nr_dl  # NSA: the LTE anchor carries data too
            ul = max(ul, nr_ul)
            tech = "NR-NSA"
        is_nr = tech == "NR-NSA"
        # The site's backhaul is shared by everyone on it; what is left caps a speed test.
        spare = tower.backhaul_mbps * (1.0 - load) * (0.8 + 0.2 * rng.random())
        dl = min(dl, spare) * math.exp(rng.gauss(0.0, 0.15))
        ul = min(ul, spare * 0.5) * math.exp(rng.gauss(0.0, 0.15))
        # Access goes through the LTE anchor: weak anchors fail and take longer.
        weak = _logistic((-117.0 - anchor_rsrp) / 2.5)
        access_fail = (
            0.008 + 0.55 * weak + 0.4 * _logistic((-3.0 - anchor_sinr) / 1.5) + 0.02 * load**2
        )
        access_ok = rng.random() >= access_fail
        rtt = (
            tower.transport_ms
            + (11.0 if tech == "NR-NSA" else 20.0)  # air interface and scheduling
            + 35.0 * load**2  # queueing in a busy cell
            + 40.0 * _logistic(-sinr / 2.0)  # retransmissions at low SINR
            + rng.gammavariate(2.0, 1.5)
        )
        losses = sum(rng.random() < 0.002 + 0.25 * weak for _ in range(20))
        # A started transfer is dropped when the anchor's radio link fails (cell
        # edge, low SINR); an upload, power-limited at the edge, a little sooner.
        # Losing the NR leg alone falls back to LTE and rarely drops a transfer.
        dl_drop = 0.002 + 0.03 * _logistic((-2.0 - anchor_sinr) / 1.5) + 0.03 * weak
        ul_drop = 0.002 + 0.035 * _logistic((0.0 - anchor_sinr) / 1.5) + 0.035 * weak
        if is_nr:
            dl_drop += 0.005 * _logistic(-sinr / 1.5)
            ul_drop += 0.005 * _logistic(-sinr / 1.5)
        leg = tower if is_nr else None  # the NR leg's cell, whose figures go to nr_*
        return Measurement(
            service=True,
            tech=tech,
            tower=anchor,
            rsrp_dbm=round(anchor_rsrp),
            rsrq_db=_rsrq(anchor_sinr, anchor_load),
            sinr_db=round(anchor_sinr, 1),
            pci=anchor.enb * 3 % 504,
            cell=(anchor.enb << 8) + 1,
            band="B3",
            arfcn=profile.earfcn,
            nr_tower=leg,
            nr_rsrp_dbm=min(round(rsrp), NR_MAX_RSRP_DBM) if leg else None,
            nr_rsrq_db=_rsrq(sinr, load) if leg else None,
            nr_sinr_db=round(sinr, 1) if leg else None,
            nr_pci=(leg.enb * 3 + 7) % 1008 if leg else None,
            nr_band=profile.nr_band if leg else None,
            nr_arfcn=profile.nr_arfcn if leg else None,
            rtt_ms=round(rtt, 1),
            jitter_ms=round(0.08 * rtt + 6.0 * load * rng.random(), 1),
            loss_pct=round(100.0 * losses / 20, 1),
            access_ok=access_ok,
            access_s=round(0.3 + 3 * rtt / 1000 + 2.0 * weak + rng.expovariate(8.0), 2),
            dl_mbps=round(dl, 2) if access_ok else None,
            ul_mbps=round(ul, 2) if access_ok else None,
            dl_drop=round(dl_drop, 5),
            ul_drop=round(ul_drop, 5),
        )


def _rsrq(sinr: float, load: float) -> float:
    """RSRQ = N·RSRP/RSSI: the reference signal against everything in the band."""
    occupancy = 1 / 6 + (5 / 6) * load
    rsrq = -10.79 - 10 * math.log10(occupancy + 10 ** (-sinr / 10))
    return round(max(-19.5, min(-3.0, rsrq)), 1)


def _sinr(signal_dbm: float, others: list[tuple[float, float]], noise_dbm: float) -> float:
    """Serving power against the other cells (weighted by their load) and thermal noise."""
    interference = sum(10 ** (p / 10) * load for p, load in others) + 10 ** (noise_dbm / 10)
    return signal_dbm - 10 * math.log10(interference)


def _logistic(x: float) -> float:
    if x < -40:
        return 0.0
    return 1.0 / (1.0 + math.exp(-x))
