"""Where the simulated probes stand, and the towns and roads operators build along.

Places are real commune centres, wards and former district seats in four
northern mountain provinces as they are since 1 July 2025: Cao Bằng (unchanged),
Lào Cai (with the former Yên Bái), Thái Nguyên (with the former Bắc Kạn) and
Tuyên Quang (with the former Hà Giang). There is no district level any more: a
probe's address is its commune or ward and its province, both under their
official names, read from the ``vietnam-provinces`` package (GSO data); a name
that the package does not list fails at import. Coordinates are read off public
maps to about a kilometre: good enough to put a hexagon in the right valley,
not a survey.

How each village's new commune was found: the pinned ``vietnam-provinces``
(2025.10.1, the last release for Python 3.11) has the new units but no table
from the old communes to the new ones. The same package ships that table (the
government's 2025 conversion list) from release 2026.9.0, which needs Python
3.12; it was read once, outside this project's environment, for each village's
pre-2025 commune (given in the comment after each village), and the new
commune's name is written here. Codes are not copied across releases: 264 ward
codes differ between the two (e.g. Phường Cam Đường), the names do not, apart
from tone-mark spelling ("Thuỷ"/"Thủy"). Lao Chải (Sa Pa) was merged into Hoàng
Liên before 2025 and Hoàng Liên into Tả Van in 2025. A phone's commune is where
it is parked at night, the first point of its route.

Probe ids are ``<former province>-<place>-<nn>`` in plain ASCII (they go into
MQTT topics and stay as registered); the Vietnamese names, with their
diacritics, are what maps and notices show.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from vietnam_provinces import Province, Ward

from giamsat.aggregator.store.areas import province_id
from giamsat.contract.schema import ENVIRONMENTS

# GSO codes of the demo's provinces: Cao Bằng, Tuyên Quang, Lào Cai, Thái Nguyên.
_DEMO_CODES = (4, 8, 15, 19)
# Area id (as in config/areas) -> official name, from the package.
PROVINCES: dict[str, str] = {
    province_id(p.code): p.name for p in Province.iter_all() if int(p.code) in _DEMO_CODES
}
OPERATORS = ("Viettel", "VinaPhone", "MobiFone")
CAO_BANG, TUYEN_QUANG, LAO_CAI, THAI_NGUYEN = (province_id(c) for c in _DEMO_CODES)

LatLon = tuple[float, float]

_WARDS: dict[tuple[str, str], Ward] = {
    (province_id(w.province_code), unicodedata.normalize("NFC", w.name)): w for w in Ward.iter_all()
}


def commune(province: str, name: str) -> Ward:
    """The official commune or ward ``name`` of the province with area id ``province``.

    Raises ``LookupError`` naming both when the package does not list it, so a
    typo, or a renaming in a later release of the package, stops the demo at
    import rather than putting an invented address on a probe.
    """
    try:
        return _WARDS[(province, unicodedata.normalize("NFC", name))]
    except KeyError:
        raise LookupError(
            f"{name!r} is not a commune or ward of {PROVINCES.get(province, province)} "
            "in vietnam-provinces"
        ) from None


def address(province: str, commune_name: str, place: str = "") -> str:
    """``place, commune, province`` as the registry's village field and the maps show it.

    ``place`` (a hamlet, a former ward, a road) is left out when it is the
    commune's own name ("Đồng Văn" in Xã Đồng Văn).
    """
    ward = commune(province, commune_name)
    bare = ward.name.split(" ", 1)[1]
    parts = [place] if place and place != bare else []
    return ", ".join([*parts, ward.name, PROVINCES[province]])


@dataclass(frozen=True)
class Village:
    """One simulated probe: where it is, how it is installed, and whose SIM it carries.

    ``place`` is what people there call the spot (a hamlet, a former ward, a
    road for a phone); ``commune`` is the official commune or ward it is in.
    ``route`` is empty for a fixed probe; a phone (``outdoor_mobile``) moves
    along its route's waypoints and is parked at the first one at night.
    ``nr`` says the device can use 5G (a Quectel RM500Q or a recent phone);
    an EC25 modem or an old phone stays on LTE whatever the network offers.
    """

    probe: str
    place: str
    commune: str
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
        commune(self.province_id, self.commune)  # an unknown name fails here

    @property
    def province(self) -> str:
        return PROVINCES[self.province_id]

    @property
    def commune_code(self) -> int:
        """The commune's GSO code in the pinned package."""
        return int(commune(self.province_id, self.commune).code)

    @property
    def kind(self) -> str:
        """The registry's probe kind: a phone moves, everything else is bolted down."""
        return "phone" if self.route else "fixed"

    @property
    def label(self) -> str:
        """``place, commune, province`` as the registry's village field and the maps show it."""
        return address(self.province_id, self.commune, self.place)


@dataclass(frozen=True)
class Town:
    """A town where every operator builds first: a former district seat or provincial capital.

    Towns are places, not administrative units, so they keep the names people
    use ("Hà Giang" is now the wards Hà Giang 1 and 2 of Tuyên Quang).
    ``capital`` marks a provincial capital before 2025: a city, with rooftop
    sites. ``wards`` are the centres of its wards, where operators put their
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
    # Lào Cai (the former Lào Cai province)
    Town("Lào Cai", LAO_CAI, 22.4856, 103.9707, capital=True, wards=_LAO_CAI_LOOP),
    Town("Sa Pa", LAO_CAI, 22.3364, 103.8438),
    Town("Bát Xát", LAO_CAI, 22.5370, 103.8920),
    Town("Mường Khương", LAO_CAI, 22.7680, 104.1170),
    Town("Si Ma Cai", LAO_CAI, 22.6940, 104.2840),
    Town("Bắc Hà", LAO_CAI, 22.5400, 104.2900),
    Town("Phố Lu", LAO_CAI, 22.3180, 104.1880),
    Town("Phố Ràng", LAO_CAI, 22.2390, 104.4720),
    Town("Khánh Yên", LAO_CAI, 22.0870, 104.2450),
    # Tuyên Quang (the former Hà Giang province)
    Town("Hà Giang", TUYEN_QUANG, 22.8233, 104.9836, capital=True),
    Town("Đồng Văn", TUYEN_QUANG, 23.2775, 105.3617),
    Town("Mèo Vạc", TUYEN_QUANG, 23.1600, 105.4080),
    Town("Yên Minh", TUYEN_QUANG, 23.1200, 105.1420),
    Town("Tam Sơn", TUYEN_QUANG, 23.0660, 104.9990),
    Town("Vị Xuyên", TUYEN_QUANG, 22.6720, 104.9740),
    Town("Yên Phú", TUYEN_QUANG, 22.7310, 105.3420),
    Town("Vinh Quang", TUYEN_QUANG, 22.7380, 104.6790),
    Town("Cốc Pài", TUYEN_QUANG, 22.6530, 104.4830),
    Town("Việt Quang", TUYEN_QUANG, 22.4110, 104.8120),
    Town("Yên Bình", TUYEN_QUANG, 22.3950, 104.6200),
    # Cao Bằng
    Town("Cao Bằng", CAO_BANG, 22.6657, 106.2579, capital=True, wards=_CAO_BANG_LOOP),
    Town("Bảo Lạc", CAO_BANG, 22.9510, 105.6730),
    Town("Pác Miầu", CAO_BANG, 22.8660, 105.4970),
    Town("Xuân Hòa", CAO_BANG, 22.8790, 106.0470),
    Town("Thông Nông", CAO_BANG, 22.8000, 105.9900),
    Town("Nước Hai", CAO_BANG, 22.7230, 106.1880),
    Town("Nguyên Bình", CAO_BANG, 22.6530, 105.9600),
    Town("Trùng Khánh", CAO_BANG, 22.8300, 106.5240),
    Town("Thanh Nhật", CAO_BANG, 22.6740, 106.6800),
    Town("Quảng Uyên", CAO_BANG, 22.6970, 106.4450),
    Town("Đông Khê", CAO_BANG, 22.4300, 106.4290),
    Town("Tà Lùng", CAO_BANG, 22.4950, 106.5800),
    # Thái Nguyên (the former Bắc Kạn province)
    Town("Bắc Kạn", THAI_NGUYEN, 22.1470, 105.8348, capital=True),
    Town("Bộc Bố", THAI_NGUYEN, 22.6000, 105.6830),
    Town("Chợ Rã", THAI_NGUYEN, 22.4470, 105.7280),
    Town("Vân Tùng", THAI_NGUYEN, 22.4350, 106.0050),
    Town("Nà Phặc", THAI_NGUYEN, 22.3800, 105.9050),
    Town("Phủ Thông", THAI_NGUYEN, 22.2700, 105.8800),
    Town("Bằng Lũng", THAI_NGUYEN, 22.1560, 105.5970),
    Town("Yến Lạc", THAI_NGUYEN, 22.2250, 106.1040),
    Town("Đồng Tâm", THAI_NGUYEN, 21.8800, 105.7780),
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
# has a 5G town on each showcase operator, valley villages and a phone. After
# each: the village's commune (or ward) and district before 1 July 2025.
VILLAGES: tuple[Village, ...] = (
    Village("lc-coclu-01", "Cốc Lếu", "Phường Lào Cai", LAO_CAI,
            22.4985, 103.9672, "indoor", "Viettel", nr=True),  # P. Cốc Lếu, TP Lào Cai
    Village("cb-hopgiang-01", "Hợp Giang", "Phường Thục Phán", CAO_BANG,
            22.6660, 106.2575, "indoor", "VinaPhone", nr=True),  # P. Hợp Giang, TP Cao Bằng
    Village("lc-banho-01", "Bản Hồ", "Xã Bản Hồ", LAO_CAI,
            22.2620, 103.9260, "indoor", "MobiFone"),  # X. Bản Hồ, TX Sa Pa
    Village("bk-pacngoi-01", "Pác Ngòi", "Xã Ba Bể", THAI_NGUYEN,
            22.4150, 105.6180, "indoor", "VinaPhone"),  # X. Nam Mẫu, H. Ba Bể
    Village("hg-phone-01", "Quốc lộ 4C Hà Giang – Mèo Vạc", "Phường Hà Giang 1", TUYEN_QUANG,
            22.8233, 104.9836, "outdoor_mobile", "Viettel", nr=True,
            route=_road("Hà Giang", "Tam Sơn", "Yên Minh", "Đồng Văn", "Mèo Vạc")),
            # parked in P. Nguyễn Trãi, TP Hà Giang
    Village("hg-dugia-01", "Du Già", "Xã Du Già", TUYEN_QUANG,
            22.9420, 105.2060, "indoor", "Viettel"),  # X. Du Già, H. Yên Minh
    Village("cb-pacbo-01", "Pác Bó", "Xã Trường Hà", CAO_BANG,
            22.9800, 106.0500, "indoor", "MobiFone"),  # X. Trường Hà, H. Hà Quảng
    Village("lc-tavan-01", "Tả Van", "Xã Tả Van", LAO_CAI,
            22.3045, 103.8905, "indoor", "VinaPhone"),  # X. Tả Van, TX Sa Pa
    Village("bk-backan-01", "Đức Xuân", "Phường Đức Xuân", THAI_NGUYEN,
            22.1470, 105.8348, "indoor", "Viettel", nr=True),  # P. Đức Xuân, TP Bắc Kạn
    Village("hg-dongvan-01", "Đồng Văn", "Xã Đồng Văn", TUYEN_QUANG,
            23.2775, 105.3617, "outdoor_fixed", "Viettel"),  # TT Đồng Văn, H. Đồng Văn
    Village("cb-detham-01", "Đề Thám", "Phường Thục Phán", CAO_BANG,
            22.6515, 106.2335, "outdoor_fixed", "VinaPhone", nr=True),  # P. Đề Thám, TP Cao Bằng
    Village("lc-baccuong-01", "Bắc Cường", "Phường Cam Đường", LAO_CAI,
            22.4562, 103.9843, "outdoor_fixed", "Viettel", nr=True),  # P. Bắc Cường, TP Lào Cai
    # Showcase towns: enough 5G samples in every environment for evidence.
    Village("lc-kimtan-01", "Kim Tân", "Phường Lào Cai", LAO_CAI,
            22.4835, 103.9712, "indoor", "Viettel", nr=True),  # P. Kim Tân, TP Lào Cai
    Village("lc-phone-01", "Các phường trung tâm Lào Cai", "Phường Lào Cai", LAO_CAI,
            22.4985, 103.9672, "outdoor_mobile", "Viettel", nr=True, route=_LAO_CAI_LOOP),
            # parked in P. Cốc Lếu, TP Lào Cai
    Village("lc-phone-02", "Các phường trung tâm Lào Cai", "Phường Cam Đường", LAO_CAI,
            22.4562, 103.9843, "outdoor_mobile", "Viettel", nr=True,
            route=_LAO_CAI_LOOP[3:] + _LAO_CAI_LOOP[:3]),  # parked in P. Bắc Cường, TP Lào Cai
    Village("cb-songhien-01", "Sông Hiến", "Phường Thục Phán", CAO_BANG,
            22.6725, 106.2705, "indoor", "VinaPhone", nr=True),  # P. Sông Hiến, TP Cao Bằng
    Village("cb-phone-01", "Các phường trung tâm Cao Bằng", "Phường Tân Giang", CAO_BANG,
            22.6840, 106.2420, "outdoor_mobile", "VinaPhone", nr=True, route=_CAO_BANG_LOOP),
            # parked in P. Hòa Chung, TP Cao Bằng
    Village("cb-phone-02", "Các phường trung tâm Cao Bằng", "Phường Tân Giang", CAO_BANG,
            22.6430, 106.2750, "outdoor_mobile", "VinaPhone", nr=True,
            route=_CAO_BANG_LOOP[3:] + _CAO_BANG_LOOP[:3]),  # parked in P. Tân Giang, TP Cao Bằng
    # Phones along national roads.
    Village("bk-phone-01", "Quốc lộ 3 Bắc Kạn – Ngân Sơn", "Phường Đức Xuân", THAI_NGUYEN,
            22.1470, 105.8348, "outdoor_mobile", "MobiFone",
            route=_road("Bắc Kạn", "Phủ Thông", "Nà Phặc", "Vân Tùng")),
            # parked in P. Đức Xuân, TP Bắc Kạn
    Village("lc-phone-03", "Quốc lộ 4D Lào Cai – Sa Pa", "Phường Lào Cai", LAO_CAI,
            22.4856, 103.9707, "outdoor_mobile", "VinaPhone", nr=True,
            route=_road("Lào Cai", "Sa Pa")),  # parked in P. Kim Tân, TP Lào Cai
    Village("cb-phone-03", "Quốc lộ 3 Cao Bằng – Trùng Khánh", "Phường Thục Phán", CAO_BANG,
            22.6657, 106.2579, "outdoor_mobile", "Viettel",
            route=_road("Cao Bằng", "Quảng Uyên", "Trùng Khánh")),
            # parked in P. Hợp Giang, TP Cao Bằng
    # Villages and commune centres.
    Village("hg-pavi-01", "Pả Vi", "Xã Mèo Vạc", TUYEN_QUANG,
            23.1900, 105.3960, "outdoor_fixed", "MobiFone"),  # X. Pả Vi, H. Mèo Vạc
    Village("lc-yty-01", "Y Tý", "Xã Y Tý", LAO_CAI,
            22.6380, 103.6280, "outdoor_fixed", "Viettel"),  # X. Y Tý, H. Bát Xát
    Village("bk-bocbo-01", "Bộc Bố", "Xã Bằng Thành", THAI_NGUYEN,
            22.6000, 105.6830, "indoor", "Viettel"),  # X. Bộc Bố, H. Pác Nặm
    Village("cb-baolac-01", "Bảo Lạc", "Xã Bảo Lạc", CAO_BANG,
            22.9510, 105.6730, "outdoor_fixed", "Viettel"),  # TT Bảo Lạc, H. Bảo Lạc
    Village("hg-meovac-01", "Mèo Vạc", "Xã Mèo Vạc", TUYEN_QUANG,
            23.1600, 105.4080, "indoor", "VinaPhone"),  # TT Mèo Vạc, H. Mèo Vạc
    Village("lc-laochai-01", "Lao Chải", "Xã Tả Van", LAO_CAI,
            22.3180, 103.8610, "indoor", "Viettel"),  # X. Hoàng Liên, TX Sa Pa
    Village("cb-damthuy-01", "Đàm Thuỷ", "Xã Đàm Thuỷ", CAO_BANG,
            22.8450, 106.7000, "outdoor_fixed", "MobiFone"),  # X. Đàm Thuỷ, H. Trùng Khánh
    Village("bk-chora-01", "Chợ Rã", "Xã Chợ Rã", THAI_NGUYEN,
            22.4470, 105.7280, "outdoor_fixed", "VinaPhone"),  # TT Chợ Rã, H. Ba Bể
    Village("hg-yenminh-01", "Yên Minh", "Xã Yên Minh", TUYEN_QUANG,
            23.1200, 105.1420, "indoor", "Viettel"),  # TT Yên Minh, H. Yên Minh
    Village("lc-sapa-01", "Sa Pa", "Phường Sa Pa", LAO_CAI,
            22.3364, 103.8438, "outdoor_fixed", "Viettel", nr=True),  # P. Sa Pa, TX Sa Pa
    Village("cb-trungkhanh-01", "Trùng Khánh", "Xã Trùng Khánh", CAO_BANG,
            22.8300, 106.5240, "indoor", "Viettel"),  # TT Trùng Khánh, H. Trùng Khánh
    Village("hg-tamson-01", "Tam Sơn", "Xã Quản Bạ", TUYEN_QUANG,
            23.0660, 104.9990, "indoor", "VinaPhone"),  # TT Tam Sơn, H. Quản Bạ
    Village("bk-banglung-01", "Bằng Lũng", "Xã Chợ Đồn", THAI_NGUYEN,
            22.1560, 105.5970, "indoor", "VinaPhone"),  # TT Bằng Lũng, H. Chợ Đồn
    Village("lc-bachha-01", "Bắc Hà", "Xã Bắc Hà", LAO_CAI,
            22.5400, 104.2900, "indoor", "MobiFone"),  # TT Bắc Hà, H. Bắc Hà
    Village("cb-nguyenbinh-01", "Nguyên Bình", "Xã Nguyên Bình", CAO_BANG,
            22.6530, 105.9600, "indoor", "MobiFone"),  # TT Nguyên Bình, H. Nguyên Bình
    Village("hg-phobang-01", "Phó Bảng", "Xã Phố Bảng", TUYEN_QUANG,
            23.2350, 105.1880, "indoor", "VinaPhone"),  # TT Phó Bảng, H. Đồng Văn
    Village("lc-muongkhuong-01", "Mường Khương", "Xã Mường Khương", LAO_CAI,
            22.7680, 104.1170, "indoor", "Viettel"),  # TT Mường Khương, H. Mường Khương
    Village("bk-naphac-01", "Nà Phặc", "Xã Nà Phặc", THAI_NGUYEN,
            22.3800, 105.9050, "indoor", "Viettel"),  # TT Nà Phặc, H. Ngân Sơn
    Village("cb-quanguyen-01", "Quảng Uyên", "Xã Quảng Uyên", CAO_BANG,
            22.6970, 106.4450, "indoor", "VinaPhone"),  # TT Quảng Uyên, H. Quảng Hòa
    Village("hg-vinhquang-01", "Vinh Quang", "Xã Hoàng Su Phì", TUYEN_QUANG,
            22.7380, 104.6790, "indoor", "MobiFone"),  # TT Vinh Quang, H. Hoàng Su Phì
    Village("lc-simacai-01", "Si Ma Cai", "Xã Si Ma Cai", LAO_CAI,
            22.6940, 104.2840, "outdoor_fixed", "VinaPhone"),  # TT Si Ma Cai, H. Si Ma Cai
    Village("bk-yenlac-01", "Yến Lạc", "Xã Na Rì", THAI_NGUYEN,
            22.2250, 106.1040, "indoor", "MobiFone"),  # TT Yến Lạc, H. Na Rì
    Village("cb-dongkhe-01", "Đông Khê", "Xã Đông Khê", CAO_BANG,
            22.4300, 106.4290, "indoor", "Viettel"),  # TT Đông Khê, H. Thạch An
    Village("hg-vietquang-01", "Việt Quang", "Xã Bắc Quang", TUYEN_QUANG,
            22.4110, 104.8120, "outdoor_fixed", "Viettel"),  # TT Việt Quang, H. Bắc Quang
    Village("lc-batxat-01", "Bát Xát", "Xã Bát Xát", LAO_CAI,
            22.5370, 103.8920, "indoor", "MobiFone"),  # TT Bát Xát, H. Bát Xát
    Village("cb-thanhnhat-01", "Thanh Nhật", "Xã Hạ Lang", CAO_BANG,
            22.6740, 106.6800, "indoor", "Viettel"),  # TT Thanh Nhật, H. Hạ Lang
    Village("hg-hagiang-01", "Nguyễn Trãi", "Phường Hà Giang 1", TUYEN_QUANG,
            22.8233, 104.9836, "indoor", "MobiFone", nr=True),  # P. Nguyễn Trãi, TP Hà Giang
    Village("lc-pholu-01", "Phố Lu", "Xã Bảo Thắng", LAO_CAI,
            22.3180, 104.1880, "indoor", "Viettel"),  # TT Phố Lu, H. Bảo Thắng
    Village("lc-khanhyen-01", "Khánh Yên", "Xã Văn Bàn", LAO_CAI,
            22.0870, 104.2450, "indoor", "VinaPhone"),  # TT Khánh Yên, H. Văn Bàn
)  # fmt: skip


def select(count: int) -> list[Village]:
    """The first ``count`` probes of the priority order (all of them when count is larger)."""
    if count < 1:
        raise ValueError("a fleet needs at least one probe")
    return list(VILLAGES[:count])
