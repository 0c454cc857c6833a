"""Where the simulated probes stand, and the towns and roads operators build along.

Places are real commune centres, wards and district seats of the four northern
mountain provinces, named as they were before the provincial merger of 1 July
2025 (Bắc Kạn, Cao Bằng, Hà Giang and Lào Cai still separate provinces, with
their districts), because the demo's area polygons
(``config/areas/provinces-north.geojson``) use those boundaries. Coordinates
are read off public maps to about a kilometre: good enough to put a hexagon in
the right valley, not a survey.

Probe ids are ``<province>-<place>-<nn>`` in plain ASCII (they go into MQTT
topics); the Vietnamese names, with their diacritics, are what maps and
notices show.
"""

from __future__ import annotations

from dataclasses import dataclass

from giamsat.contract.schema import ENVIRONMENTS

# Province codes (ISO 3166-2:VN, as in config/areas) and their pre-2025 names.
PROVINCES: dict[str, str] = {
    "VN-53": "Bắc Kạn",
    "VN-04": "Cao Bằng",
    "VN-03": "Hà Giang",
    "VN-02": "Lào Cai",
}
OPERATORS = ("Viettel", "VinaPhone", "MobiFone")

LatLon = tuple[float, float]


@dataclass(frozen=True)
class Village:
    """One simulated probe: where it is, how it is installed, and whose SIM it carries.

    ``route`` is empty for a fixed probe; a phone (``outdoor_mobile``) moves
    along its route's waypoints and is parked at the first one at night.
    ``nr`` says the device can use 5G (a Quectel RM500Q or a recent phone);
    an EC25 modem or an old phone stays on LTE whatever the network offers.
    """

    probe: str
    name: str
    district: str
    province_id: str
    lat: float
    lon: float
    env: str
    sim: str
    nr: bool = False
    route: tuple[LatLon, ...] = ()

    def __post_init__(self) -> None:
        if self.env not in ENVIRONMENTS:
            raise ValueError(f"{self.probe}: unknown environment {self.env!r}")
        if self.sim not in OPERATORS:
            raise ValueError(f"{self.probe}: unknown operator {self.sim!r}")
        if (self.env == "outdoor_mobile") != bool(self.route):
            raise ValueError(f"{self.probe}: phones, and only phones, have a route")

    @property
    def province(self) -> str:
        return PROVINCES[self.province_id]

    @property
    def kind(self) -> str:
        """The registry's probe kind: a phone moves, everything else is bolted down."""
        return "phone" if self.route else "fixed"

    @property
    def label(self) -> str:
        """``name, district, province`` as the registry's village field and the maps show it."""
        return f"{self.name}, {self.district}, {self.province}"


@dataclass(frozen=True)
class Town:
    """A district seat or provincial capital: where every operator builds first.

    ``wards`` are the centres of a capital's wards, where operators put their
    city sites (and their first 5G); a capital without them gets a ring.
    """

    name: str
    province_id: str
    lat: float
    lon: float
    capital: bool = False
    wards: tuple[LatLon, ...] = ()


@dataclass(frozen=True)
class Road:
    """A national road as the towns it links; operators line main roads with sites."""

    name: str
    towns: tuple[str, ...]


# Phones' routes: a loop through a town's wards, or a drive along a national road.
_LAO_CAI_LOOP: tuple[LatLon, ...] = (
    (22.5105, 103.9575),  # Duyên Hải, by the Kim Thành border gate
    (22.4985, 103.9672),  # Cốc Lếu
    (22.4835, 103.9712),  # Kim Tân
    (22.4562, 103.9843),  # Bắc Cường, the administrative centre
    (22.4420, 103.9960),  # Nam Cường
    (22.4700, 103.9790),  # back up Hoàng Liên avenue
)
_CAO_BANG_LOOP: tuple[LatLon, ...] = (
    (22.6840, 106.2420),  # Hòa Chung
    (22.6860, 106.2610),  # Ngọc Xuân
    (22.6725, 106.2705),  # Sông Hiến
    (22.6430, 106.2750),  # Tân Giang
    (22.6515, 106.2335),  # Đề Thám
    (22.6660, 106.2575),  # Hợp Giang
)


TOWNS: tuple[Town, ...] = (
    # Lào Cai
    Town("Lào Cai", "VN-02", 22.4856, 103.9707, capital=True, wards=_LAO_CAI_LOOP),
    Town("Sa Pa", "VN-02", 22.3364, 103.8438),
    Town("Bát Xát", "VN-02", 22.5370, 103.8920),
    Town("Mường Khương", "VN-02", 22.7680, 104.1170),
    Town("Si Ma Cai", "VN-02", 22.6940, 104.2840),
    Town("Bắc Hà", "VN-02", 22.5400, 104.2900),
    Town("Phố Lu", "VN-02", 22.3180, 104.1880),
    Town("Phố Ràng", "VN-02", 22.2390, 104.4720),
    Town("Khánh Yên", "VN-02", 22.0870, 104.2450),
    # Hà Giang
    Town("Hà Giang", "VN-03", 22.8233, 104.9836, capital=True),
    Town("Đồng Văn", "VN-03", 23.2775, 105.3617),
    Town("Mèo Vạc", "VN-03", 23.1600, 105.4080),
    Town("Yên Minh", "VN-03", 23.1200, 105.1420),
    Town("Tam Sơn", "VN-03", 23.0660, 104.9990),
    Town("Vị Xuyên", "VN-03", 22.6720, 104.9740),
    Town("Yên Phú", "VN-03", 22.7310, 105.3420),
    Town("Vinh Quang", "VN-03", 22.7380, 104.6790),
    Town("Cốc Pài", "VN-03", 22.6530, 104.4830),
    Town("Việt Quang", "VN-03", 22.4110, 104.8120),
    Town("Yên Bình", "VN-03", 22.3950, 104.6200),
    # Cao Bằng
    Town("Cao Bằng", "VN-04", 22.6657, 106.2579, capital=True, wards=_CAO_BANG_LOOP),
    Town("Bảo Lạc", "VN-04", 22.9510, 105.6730),
    Town("Pác Miầu", "VN-04", 22.8660, 105.4970),
    Town("Xuân Hòa", "VN-04", 22.8790, 106.0470),
    Town("Thông Nông", "VN-04", 22.8000, 105.9900),
    Town("Nước Hai", "VN-04", 22.7230, 106.1880),
    Town("Nguyên Bình", "VN-04", 22.6530, 105.9600),
    Town("Trùng Khánh", "VN-04", 22.8300, 106.5240),
    Town("Thanh Nhật", "VN-04", 22.6740, 106.6800),
    Town("Quảng Uyên", "VN-04", 22.6970, 106.4450),
    Town("Đông Khê", "VN-04", 22.4300, 106.4290),
    Town("Tà Lùng", "VN-04", 22.4950, 106.5800),
    # Bắc Kạn
    Town("Bắc Kạn", "VN-53", 22.1470, 105.8348, capital=True),
    Town("Bộc Bố", "VN-53", 22.6000, 105.6830),
    Town("Chợ Rã", "VN-53", 22.4470, 105.7280),
    Town("Vân Tùng", "VN-53", 22.4350, 106.0050),
    Town("Nà Phặc", "VN-53", 22.3800, 105.9050),
    Town("Phủ Thông", "VN-53", 22.2700, 105.8800),
    Town("Bằng Lũng", "VN-53", 22.1560, 105.5970),
    Town("Yến Lạc", "VN-53", 22.2250, 106.1040),
    Town("Đồng Tâm", "VN-53", 21.8800, 105.7780),
)
TOWN_BY_NAME: dict[str, Town] = {t.name: t for t in TOWNS}

ROADS: tuple[Road, ...] = (
    Road("QL4D", ("Lào Cai", "Sa Pa")),
    Road("QL70", ("Lào Cai", "Phố Lu", "Phố Ràng")),
    Road("QL4", ("Lào Cai", "Mường Khương", "Si Ma Cai", "Cốc Pài", "Vinh Quang", "Hà Giang")),
    Road("QL4E", ("Phố Lu", "Bắc Hà", "Si Ma Cai")),
    Road("QL279 (Lào Cai)", ("Phố Lu", "Khánh Yên")),
    Road("QL4C", ("Hà Giang", "Tam Sơn", "Yên Minh", "Đồng Văn", "Mèo Vạc")),
    Road("QL2", ("Hà Giang", "Vị Xuyên", "Việt Quang")),
    Road("QL279 (Hà Giang)", ("Việt Quang", "Yên Bình")),
    Road("QL34", ("Hà Giang", "Yên Phú", "Bảo Lạc", "Nguyên Bình", "Nước Hai", "Cao Bằng")),
    Road("QL3", ("Đồng Tâm", "Bắc Kạn", "Phủ Thông", "Nà Phặc", "Vân Tùng", "Cao Bằng")),
    Road("QL279 (Bắc Kạn)", ("Chợ Rã", "Nà Phặc")),
    Road("QL3B", ("Bắc Kạn", "Yến Lạc")),
    Road("QL4A", ("Cao Bằng", "Đông Khê")),
    Road("QL3 (Cao Bằng)", ("Cao Bằng", "Quảng Uyên", "Trùng Khánh")),
    Road("QL4A (Quảng Hòa)", ("Quảng Uyên", "Tà Lùng")),
    Road("QL4A (Hạ Lang)", ("Trùng Khánh", "Thanh Nhật")),
    Road("QL4A (Hà Quảng)", ("Nước Hai", "Xuân Hòa", "Thông Nông")),
    Road("ĐT254", ("Bắc Kạn", "Bằng Lũng")),
    Road("QL279 (Pác Nặm)", ("Chợ Rã", "Bộc Bố")),
)


def _road(*names: str) -> tuple[LatLon, ...]:
    return tuple((TOWN_BY_NAME[n].lat, TOWN_BY_NAME[n].lon) for n in names)


# In priority order: the first n are the fleet of n probes, so a short run still
# has a 5G town on each showcase operator, valley villages and a phone.
VILLAGES: tuple[Village, ...] = (
    Village("lc-coclu-01", "Phường Cốc Lếu", "thành phố Lào Cai", "VN-02",
            22.4985, 103.9672, "indoor", "Viettel", nr=True),
    Village("cb-hopgiang-01", "Phường Hợp Giang", "thành phố Cao Bằng", "VN-04",
            22.6660, 106.2575, "indoor", "VinaPhone", nr=True),
    Village("lc-banho-01", "Bản Hồ", "thị xã Sa Pa", "VN-02",
            22.2620, 103.9260, "indoor", "MobiFone"),
    Village("bk-pacngoi-01", "Pác Ngòi, xã Nam Mẫu", "huyện Ba Bể", "VN-53",
            22.4150, 105.6180, "indoor", "VinaPhone"),
    Village("hg-phone-01", "Quốc lộ 4C Hà Giang – Mèo Vạc", "thành phố Hà Giang", "VN-03",
            22.8233, 104.9836, "outdoor_mobile", "Viettel", nr=True,
            route=_road("Hà Giang", "Tam Sơn", "Yên Minh", "Đồng Văn", "Mèo Vạc")),
    Village("hg-dugia-01", "Du Già", "huyện Yên Minh", "VN-03",
            22.9420, 105.2060, "indoor", "Viettel"),
    Village("cb-pacbo-01", "Pác Bó, xã Trường Hà", "huyện Hà Quảng", "VN-04",
            22.9800, 106.0500, "indoor", "MobiFone"),
    Village("lc-tavan-01", "Tả Van", "thị xã Sa Pa", "VN-02",
            22.3045, 103.8905, "indoor", "VinaPhone"),
    Village("bk-backan-01", "Phường Đức Xuân", "thành phố Bắc Kạn", "VN-53",
            22.1470, 105.8348, "indoor", "Viettel", nr=True),
    Village("hg-dongvan-01", "Thị trấn Đồng Văn", "huyện Đồng Văn", "VN-03",
            23.2775, 105.3617, "outdoor_fixed", "Viettel"),
    Village("cb-detham-01", "Phường Đề Thám", "thành phố Cao Bằng", "VN-04",
            22.6515, 106.2335, "outdoor_fixed", "VinaPhone", nr=True),
    Village("lc-baccuong-01", "Phường Bắc Cường", "thành phố Lào Cai", "VN-02",
            22.4562, 103.9843, "outdoor_fixed", "Viettel", nr=True),
    # Showcase towns: enough 5G samples in every environment for evidence.
    Village("lc-kimtan-01", "Phường Kim Tân", "thành phố Lào Cai", "VN-02",
            22.4835, 103.9712, "indoor", "Viettel", nr=True),
    Village("lc-phone-01", "Các phường thành phố Lào Cai", "thành phố Lào Cai", "VN-02",
            22.4985, 103.9672, "outdoor_mobile", "Viettel", nr=True, route=_LAO_CAI_LOOP),
    Village("lc-phone-02", "Các phường thành phố Lào Cai", "thành phố Lào Cai", "VN-02",
            22.4562, 103.9843, "outdoor_mobile", "Viettel", nr=True,
            route=_LAO_CAI_LOOP[3:] + _LAO_CAI_LOOP[:3]),
    Village("cb-songhien-01", "Phường Sông Hiến", "thành phố Cao Bằng", "VN-04",
            22.6725, 106.2705, "indoor", "VinaPhone", nr=True),
    Village("cb-phone-01", "Các phường thành phố Cao Bằng", "thành phố Cao Bằng", "VN-04",
            22.6840, 106.2420, "outdoor_mobile", "VinaPhone", nr=True, route=_CAO_BANG_LOOP),
    Village("cb-phone-02", "Các phường thành phố Cao Bằng", "thành phố Cao Bằng", "VN-04",
            22.6430, 106.2750, "outdoor_mobile", "VinaPhone", nr=True,
            route=_CAO_BANG_LOOP[3:] + _CAO_BANG_LOOP[:3]),
    # Phones along national roads.
    Village("bk-phone-01", "Quốc lộ 3 Bắc Kạn – Ngân Sơn", "thành phố Bắc Kạn", "VN-53",
            22.1470, 105.8348, "outdoor_mobile", "MobiFone",
            route=_road("Bắc Kạn", "Phủ Thông", "Nà Phặc", "Vân Tùng")),
    Village("lc-phone-03", "Quốc lộ 4D Lào Cai – Sa Pa", "thành phố Lào Cai", "VN-02",
            22.4856, 103.9707, "outdoor_mobile", "VinaPhone", nr=True,
            route=_road("Lào Cai", "Sa Pa")),
    Village("cb-phone-03", "Quốc lộ 3 Cao Bằng – Trùng Khánh", "thành phố Cao Bằng", "VN-04",
            22.6657, 106.2579, "outdoor_mobile", "Viettel",
            route=_road("Cao Bằng", "Quảng Uyên", "Trùng Khánh")),
    # Villages and commune centres.
    Village("hg-pavi-01", "Pả Vi", "huyện Mèo Vạc", "VN-03",
            23.1900, 105.3960, "outdoor_fixed", "MobiFone"),
    Village("lc-yty-01", "Y Tý", "huyện Bát Xát", "VN-02",
            22.6380, 103.6280, "outdoor_fixed", "Viettel"),
    Village("bk-bocbo-01", "Bộc Bố", "huyện Pác Nặm", "VN-53",
            22.6000, 105.6830, "indoor", "Viettel"),
    Village("cb-baolac-01", "Thị trấn Bảo Lạc", "huyện Bảo Lạc", "VN-04",
            22.9510, 105.6730, "outdoor_fixed", "Viettel"),
    Village("hg-meovac-01", "Thị trấn Mèo Vạc", "huyện Mèo Vạc", "VN-03",
            23.1600, 105.4080, "indoor", "VinaPhone"),
    Village("lc-laochai-01", "Lao Chải", "thị xã Sa Pa", "VN-02",
            22.3180, 103.8610, "indoor", "Viettel"),
    Village("cb-damthuy-01", "Đàm Thủy", "huyện Trùng Khánh", "VN-04",
            22.8450, 106.7000, "outdoor_fixed", "MobiFone"),
    Village("bk-chora-01", "Thị trấn Chợ Rã", "huyện Ba Bể", "VN-53",
            22.4470, 105.7280, "outdoor_fixed", "VinaPhone"),
    Village("hg-yenminh-01", "Thị trấn Yên Minh", "huyện Yên Minh", "VN-03",
            23.1200, 105.1420, "indoor", "Viettel"),
    Village("lc-sapa-01", "Phường Sa Pa", "thị xã Sa Pa", "VN-02",
            22.3364, 103.8438, "outdoor_fixed", "Viettel", nr=True),
    Village("cb-trungkhanh-01", "Thị trấn Trùng Khánh", "huyện Trùng Khánh", "VN-04",
            22.8300, 106.5240, "indoor", "Viettel"),
    Village("hg-tamson-01", "Thị trấn Tam Sơn", "huyện Quản Bạ", "VN-03",
            23.0660, 104.9990, "indoor", "VinaPhone"),
    Village("bk-banglung-01", "Thị trấn Bằng Lũng", "huyện Chợ Đồn", "VN-53",
            22.1560, 105.5970, "indoor", "VinaPhone"),
    Village("lc-bachha-01", "Thị trấn Bắc Hà", "huyện Bắc Hà", "VN-02",
            22.5400, 104.2900, "indoor", "MobiFone"),
    Village("cb-nguyenbinh-01", "Thị trấn Nguyên Bình", "huyện Nguyên Bình", "VN-04",
            22.6530, 105.9600, "indoor", "MobiFone"),
    Village("hg-phobang-01", "Thị trấn Phó Bảng", "huyện Đồng Văn", "VN-03",
            23.2350, 105.1880, "indoor", "VinaPhone"),
    Village("lc-muongkhuong-01", "Thị trấn Mường Khương", "huyện Mường Khương", "VN-02",
            22.7680, 104.1170, "indoor", "Viettel"),
    Village("bk-naphac-01", "Thị trấn Nà Phặc", "huyện Ngân Sơn", "VN-53",
            22.3800, 105.9050, "indoor", "Viettel"),
    Village("cb-quanguyen-01", "Thị trấn Quảng Uyên", "huyện Quảng Hòa", "VN-04",
            22.6970, 106.4450, "indoor", "VinaPhone"),
    Village("hg-vinhquang-01", "Thị trấn Vinh Quang", "huyện Hoàng Su Phì", "VN-03",
            22.7380, 104.6790, "indoor", "MobiFone"),
    Village("lc-simacai-01", "Thị trấn Si Ma Cai", "huyện Si Ma Cai", "VN-02",
            22.6940, 104.2840, "outdoor_fixed", "VinaPhone"),
    Village("bk-yenlac-01", "Thị trấn Yến Lạc", "huyện Na Rì", "VN-53",
            22.2250, 106.1040, "indoor", "MobiFone"),
    Village("cb-dongkhe-01", "Thị trấn Đông Khê", "huyện Thạch An", "VN-04",
            22.4300, 106.4290, "indoor", "Viettel"),
    Village("hg-vietquang-01", "Thị trấn Việt Quang", "huyện Bắc Quang", "VN-03",
            22.4110, 104.8120, "outdoor_fixed", "Viettel"),
    Village("lc-batxat-01", "Thị trấn Bát Xát", "huyện Bát Xát", "VN-02",
            22.5370, 103.8920, "indoor", "MobiFone"),
    Village("cb-thanhnhat-01", "Thị trấn Thanh Nhật", "huyện Hạ Lang", "VN-04",
            22.6740, 106.6800, "indoor", "Viettel"),
    Village("hg-hagiang-01", "Phường Nguyễn Trãi", "thành phố Hà Giang", "VN-03",
            22.8233, 104.9836, "indoor", "MobiFone", nr=True),
    Village("lc-pholu-01", "Thị trấn Phố Lu", "huyện Bảo Thắng", "VN-02",
            22.3180, 104.1880, "indoor", "Viettel"),
    Village("lc-khanhyen-01", "Thị trấn Khánh Yên", "huyện Văn Bàn", "VN-02",
            22.0870, 104.2450, "indoor", "VinaPhone"),
)  # fmt: skip


def select(count: int) -> list[Village]:
    """The first ``count`` probes of the priority order (all of them when count is larger)."""
    if count < 1:
        raise ValueError("a fleet needs at least one probe")
    return list(VILLAGES[:count])
