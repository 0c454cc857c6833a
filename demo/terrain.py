"""A cheap synthetic terrain: mountain masses, seeded hills, and the real rivers' valleys.

The demo needs ground that makes radio behave as it does in the northern
mountains, where a village in a valley a few kilometres from a tower on the
ridge has no service. A real elevation model would be a download; this is a
few lines of numpy instead:

- a regional level interpolated between known mountain masses (the Hoàng Liên
  range above Sa Pa, the Đồng Văn karst plateau, Tây Côn Lĩnh, Pia Oắc, …)
  and the low Red River and Lô valleys;
- smooth value noise in four octaves, seeded, for hills and ridges;
- the main rivers as polylines, each cutting a valley of its own depth and
  width, so that the villages that really sit on those rivers sit in valleys.

Coordinates are WGS84 degrees; distances are on a local flat projection
(good to a fraction of a percent over this region), in metres.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# Local projection around the middle of the four provinces.
ORIGIN_LAT, ORIGIN_LON = 22.6, 105.1
M_PER_DEG_LAT = 110_700.0
M_PER_DEG_LON = 111_320.0 * math.cos(math.radians(ORIGIN_LAT))


def to_xy(lat: np.ndarray | float, lon: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """Metres east and north of the projection origin."""
    x = (np.asarray(lon, dtype=float) - ORIGIN_LON) * M_PER_DEG_LON
    y = (np.asarray(lat, dtype=float) - ORIGIN_LAT) * M_PER_DEG_LAT
    return x, y


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Distance on the local projection (plain floats: called in inner loops)."""
    return math.hypot((lon2 - lon1) * M_PER_DEG_LON, (lat2 - lat1) * M_PER_DEG_LAT)


@dataclass(frozen=True)
class River:
    """A river's course (lat, lon points, upstream first) and the valley it has cut."""

    name: str
    course: tuple[tuple[float, float], ...]
    depth_m: float
    half_width_m: float


@dataclass(frozen=True)
class Massif:
    """A mountain mass or a lowland: the regional ground level near (lat, lon)."""

    name: str
    lat: float
    lon: float
    level_m: float


RIVERS: tuple[River, ...] = (
    River("Sông Hồng", ((22.76, 103.63), (22.60, 103.78), (22.537, 103.892), (22.50, 103.955),
                        (22.45, 104.03), (22.318, 104.188), (22.17, 104.35), (21.90, 104.55)),
          650, 2200),
    River("Suối Mường Hoa", ((22.345, 103.835), (22.318, 103.861), (22.3045, 103.8905),
                             (22.262, 103.926), (22.20, 103.98)), 550, 900),
    River("Sông Chảy", ((22.82, 104.26), (22.694, 104.270), (22.55, 104.30), (22.42, 104.35),
                        (22.239, 104.472), (22.05, 104.60)), 500, 1300),
    River("Sông Lô", ((22.905, 104.842), (22.82, 104.975), (22.672, 104.978), (22.55, 104.99),
                      (22.38, 105.05)), 450, 1800),
    River("Sông Miện", ((23.10, 105.02), (23.066, 104.995), (22.95, 104.99), (22.83, 104.985)),
          450, 1000),
    River("Sông Gâm", ((23.10, 105.85), (22.951, 105.673), (22.87, 105.50), (22.731, 105.345),
                       (22.60, 105.40), (22.40, 105.38)), 550, 1300),
    River("Sông Nho Quế", ((23.30, 105.36), (23.25, 105.41), (23.19, 105.43), (23.10, 105.47),
                           (22.92, 105.52)), 700, 700),
    River("Sông Miện (Du Già)", ((23.02, 105.16), (22.942, 105.206), (22.86, 105.25)), 450, 800),
    River("Sông Bằng Giang", ((22.98, 106.05), (22.86, 106.08), (22.723, 106.188),
                              (22.666, 106.258), (22.62, 106.35), (22.53, 106.50)), 300, 1300),
    River("Sông Quây Sơn", ((22.86, 106.72), (22.80, 106.64), (22.70, 106.62), (22.58, 106.66)),
          300, 900),
    River("Sông Năng", ((22.64, 105.85), (22.600, 105.683), (22.50, 105.66), (22.415, 105.618),
                        (22.38, 105.50)), 450, 900),
    River("Sông Cầu", ((22.32, 105.74), (22.22, 105.80), (22.147, 105.835), (22.02, 105.82),
                       (21.88, 105.78)), 300, 1300),
)  # fmt: skip

MASSIFS: tuple[Massif, ...] = (
    Massif("Hoàng Liên Sơn (Fansipan)", 22.303, 103.775, 2600),
    Massif("Hoàng Liên Sơn (bắc)", 22.50, 103.70, 2000),
    Massif("Y Tý", 22.64, 103.63, 1900),
    Massif("Cao nguyên Bắc Hà", 22.55, 104.29, 1100),
    Massif("Mường Khương", 22.77, 104.12, 1000),
    Massif("Tây Côn Lĩnh", 22.80, 104.82, 1900),
    Massif("Hoàng Su Phì", 22.72, 104.62, 1200),
    Massif("Cao nguyên Quản Bạ", 23.07, 105.00, 1200),
    Massif("Cao nguyên Đồng Văn", 23.25, 105.30, 1400),
    Massif("Mèo Vạc", 23.15, 105.40, 1300),
    Massif("Bắc Mê", 22.80, 105.30, 900),
    Massif("Pia Oắc", 22.60, 105.88, 1500),
    Massif("Phia Đén", 22.68, 105.75, 1200),
    Massif("Bảo Lạc", 22.95, 105.60, 1100),
    Massif("Trùng Khánh", 22.83, 106.52, 650),
    Massif("Thạch An", 22.45, 106.40, 600),
    Massif("Ba Bể", 22.42, 105.60, 900),
    Massif("Ngân Sơn", 22.43, 105.98, 900),
    Massif("Chợ Đồn", 22.18, 105.58, 800),
    Massif("Na Rì", 22.22, 106.10, 600),
    Massif("Chợ Mới", 21.90, 105.80, 350),
    Massif("Văn Bàn", 22.05, 104.20, 1200),
    Massif("Bảo Yên", 22.25, 104.48, 700),
    Massif("Bắc Quang", 22.40, 104.85, 400),
    Massif("Cao Bằng (thung lũng)", 22.67, 106.25, 450),
    Massif("Lào Cai (thung lũng sông Hồng)", 22.48, 103.98, 350),
    Massif("Hà Giang (thung lũng sông Lô)", 22.80, 104.98, 450),
    Massif("Bắc Kạn (thung lũng sông Cầu)", 22.14, 105.83, 400),
)

# (wavelength m, amplitude m) of the seeded hills, coarse to fine.
OCTAVES: tuple[tuple[float, float], ...] = (
    (14_000.0, 380.0),
    (6_000.0, 240.0),
    (2_500.0, 130.0),
    (900.0, 45.0),
)
MIN_ELEVATION_M = 60.0


def _lattice_values(ix: np.ndarray, iy: np.ndarray, seed: int, octave: int) -> np.ndarray:
    """A reproducible pseudo-random value in [-1, 1] for each integer lattice point.

    An integer hash (multiply, xor-shift) rather than a random generator, so a
    point's value depends only on its coordinates and the seed, not on which
    points were asked for before. Unsigned overflow is the point of it.
    """
    with np.errstate(over="ignore"):
        h = np.atleast_1d(ix).astype(np.uint64) * np.uint64(0x9E3779B1)
        h ^= np.atleast_1d(iy).astype(np.uint64) * np.uint64(0x85EBCA77)
        h ^= np.uint64((seed * 0x27D4EB2F + octave * 0x165667B1) & 0xFFFFFFFF)
        h = (h ^ (h >> np.uint64(15))) * np.uint64(0x2C1B3C6D)
        h = (h ^ (h >> np.uint64(12))) * np.uint64(0x297A2D39)
        h ^= h >> np.uint64(15)
    values = (h & np.uint64(0xFFFFFF)).astype(float) / float(0x7FFFFF) - 1.0
    return values.reshape(np.shape(ix))


def value_noise(
    x: np.ndarray, y: np.ndarray, wavelength: float, seed: int, octave: int
) -> np.ndarray:
    """Smoothly interpolated lattice noise in [-1, 1] with the given wavelength."""
    gx, gy = x / wavelength + 1000.0, y / wavelength + 1000.0
    ix, iy = np.floor(gx).astype(np.int64), np.floor(gy).astype(np.int64)
    fx, fy = gx - ix, gy - iy
    sx, sy = fx * fx * (3 - 2 * fx), fy * fy * (3 - 2 * fy)
    v00 = _lattice_values(ix, iy, seed, octave)
    v10 = _lattice_values(ix + 1, iy, seed, octave)
    v01 = _lattice_values(ix, iy + 1, seed, octave)
    v11 = _lattice_values(ix + 1, iy + 1, seed, octave)
    top = v00 + sx * (v10 - v00)
    bottom = v01 + sx * (v11 - v01)
    return top + sy * (bottom - top)


def _distance_to_polyline(
    x: np.ndarray, y: np.ndarray, px: np.ndarray, py: np.ndarray
) -> np.ndarray:
    """Distance from each point to the nearest segment of one polyline (vectorised)."""
    ax, ay = px[:-1], py[:-1]
    dx, dy = px[1:] - ax, py[1:] - ay
    length2 = np.maximum(dx * dx + dy * dy, 1e-9)
    rx = x[..., None] - ax
    ry = y[..., None] - ay
    t = np.clip((rx * dx + ry * dy) / length2, 0.0, 1.0)
    ex, ey = rx - t * dx, ry - t * dy
    return np.sqrt(np.min(ex * ex + ey * ey, axis=-1))


class Terrain:
    """Elevation of any point, deterministic for a seed.

    ``massifs``, ``rivers`` and ``octaves`` default to the northern mountains;
    tests pass their own (a flat plain with one valley, say) to isolate one
    effect.
    """

    def __init__(
        self,
        seed: int = 1,
        *,
        massifs: tuple[Massif, ...] = MASSIFS,
        rivers: tuple[River, ...] = RIVERS,
        octaves: tuple[tuple[float, float], ...] = OCTAVES,
        default_level_m: float = 700.0,
    ) -> None:
        self.seed = seed
        self.octaves = octaves
        self.default_level_m = default_level_m
        self.rivers = rivers
        mx, my = to_xy(np.array([m.lat for m in massifs]), np.array([m.lon for m in massifs]))
        self._massif_xy = (mx, my)
        self._massif_level = np.array([m.level_m for m in massifs], dtype=float)
        self._river_xy = [
            to_xy(np.array([p[0] for p in r.course]), np.array([p[1] for p in r.course]))
            for r in rivers
        ]

    def _regional(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Inverse-distance blend of the massifs' levels, fading to a default far away."""
        mx, my = self._massif_xy
        if mx.size == 0:
            return np.full(x.shape, self.default_level_m)
        d2 = (x[..., None] - mx) ** 2 + (y[..., None] - my) ** 2
        w = 1.0 / (d2 + 8_000.0**2)
        w_default = 1.0 / (40_000.0**2)
        total = (w * self._massif_level).sum(axis=-1) + w_default * self.default_level_m
        return total / (w.sum(axis=-1) + w_default)

    def _valleys(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """How far each point lies below its surroundings because a river cut there."""
        cut = np.zeros(x.shape)
        for river, (px, py) in zip(self.rivers, self._river_xy, strict=True):
            d = _distance_to_polyline(x, y, px, py)
            cut = np.maximum(cut, river.depth_m * np.exp(-((d / river.half_width_m) ** 2)))
        return cut

    def elevation_xy(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        height = self._regional(x, y)
        for octave, (wavelength, amplitude) in enumerate(self.octaves):
            height = height + amplitude * value_noise(x, y, wavelength, self.seed, octave)
        height = height - self._valleys(x, y)
        return np.maximum(height, MIN_ELEVATION_M)

    def elevation(self, lat: np.ndarray | float, lon: np.ndarray | float) -> np.ndarray:
        """Ground elevation in metres above sea level."""
        return self.elevation_xy(*to_xy(lat, lon))

    def valley_depth(self, lat: float, lon: float, radius_m: float = 1_500.0) -> float:
        """How far the point lies below the mean of a ring around it (negative on a ridge)."""
        x, y = to_xy(lat, lon)
        angles = np.linspace(0, 2 * np.pi, 12, endpoint=False)
        ring = self.elevation_xy(x + radius_m * np.cos(angles), y + radius_m * np.sin(angles))
        return float(ring.mean() - self.elevation_xy(x, y))
