"""Aggregator configuration (TOML). Every key has a default; mistakes name file and key."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path

from giamsat.contract.config import Section, read_toml


@dataclass(frozen=True)
class BrokerSettings:
    host: str = "127.0.0.1"
    port: int = 1883
    username: str = ""
    password: str = ""
    client_id: str = ""
    topic_prefix: str = "giamsat/v1"
    share_group: str = "ingest"
    tls: bool = False
    ca_file: str = ""
    config_dir: str = ""
    reload_command: str = ""

    @property
    def subscription(self) -> str:
        return f"$share/{self.share_group}/{self.topic_prefix}/probes/+/records"


@dataclass(frozen=True)
class IngestSettings:
    batch_size: int = 2000
    batch_ms: int = 200
    max_payload_bytes: int = 16_384
    max_clock_skew_s: int = 300


@dataclass(frozen=True)
class ApiSettings:
    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str = ""

    @property
    def url(self) -> str:
        return self.public_url or f"http://{self.host}:{self.port}"


PROJECT_CONFIG = Path(__file__).resolve().parent.parent / "config"


@dataclass(frozen=True)
class Issuer:
    """Who sends notices, under which ministry, where, signed by whom; and who gets sanctions.

    Since 2025 the Telecommunications Authority sits under the Ministry of
    Science and Technology; a provincial Department of Science and Technology
    issuing its own notices sets its own names in ``[issuer]``.
    """

    authority_vi: str = "Cục Viễn thông"
    authority_en: str = "Vietnam Telecommunications Authority"
    ministry_vi: str = "Bộ Khoa học và Công nghệ"
    ministry_en: str = "Ministry of Science and Technology"
    place_vi: str = "Hà Nội"
    place_en: str = "Hanoi"
    signatory_vi: str = "Cục trưởng"
    signatory_en: str = "Director General"
    inspectorate_vi: str = "Thanh tra Bộ"
    inspectorate_en: str = "the Ministry Inspectorate"


@dataclass(frozen=True)
class ComplianceSettings:
    standards_dir: Path = PROJECT_CONFIG / "standards"
    operators_file: Path = PROJECT_CONFIG / "operators.toml"
    areas_dir: Path = PROJECT_CONFIG / "areas"
    raw_retention_days: int = 400
    refresh_s: int = 60
    grace_1_days: int = 30
    grace_2_days: int = 30
    notices_need_evidence: bool = True
    response_window_days: int = 15
    evidence_max_age_days: int = 365


@dataclass(frozen=True)
class WebSettings:
    tile_url: str = ""
    tile_attribution: str = ""


@dataclass(frozen=True)
class Settings:
    dsn: str
    broker: BrokerSettings
    ingest: IngestSettings
    api: ApiSettings
    compliance: ComplianceSettings = ComplianceSettings()
    web: WebSettings = WebSettings()
    issuer: Issuer = Issuer()
    state_dir: Path = PROJECT_CONFIG.parent / ".state" / "aggregator"
    path: str = "<defaults>"


def load(path: Path | str | None) -> Settings:
    """Read the aggregator config; ``None`` means all defaults."""
    data = read_toml(path) if path else {}
    root = Section(data, path or "<defaults>")
    db = root.section("database")
    dsn = db.str("dsn", "postgresql://postgres@127.0.0.1:5432/giamsat")
    db.finish()

    b = root.section("broker")
    broker = BrokerSettings(
        host=b.str("host", "127.0.0.1"),
        port=b.int("port", 1883, min=1, max=65535),
        username=b.str("username", ""),
        password=b.str("password", ""),
        client_id=b.str("client_id", f"giamsat-ingest-{socket.gethostname()}"),
        topic_prefix=b.str("topic_prefix", "giamsat/v1"),
        share_group=b.str("share_group", "ingest"),
        tls=b.bool("tls", False),
        ca_file=b.str("ca_file", ""),
        config_dir=b.str("config_dir", ""),
        reload_command=b.str("reload_command", ""),
    )
    b.finish()

    i = root.section("ingest")
    ingest = IngestSettings(
        batch_size=i.int("batch_size", 2000, min=1, max=100_000),
        batch_ms=i.int("batch_ms", 200, min=1, max=60_000),
        max_payload_bytes=i.int("max_payload_bytes", 16_384, min=256),
        max_clock_skew_s=i.int("max_clock_skew_s", 300, min=0),
    )
    i.finish()

    a = root.section("api")
    api = ApiSettings(
        host=a.str("host", "127.0.0.1"),
        port=a.int("port", 8080, min=1, max=65535),
        public_url=a.str("public_url", ""),
    )
    a.finish()

    c = root.section("compliance")
    base = Path(path).resolve().parent if path else Path.cwd()

    def where(key: str, default: str) -> Path:
        # Relative paths are relative to the config file; the defaults are the
        # files shipped in this repository's config/ directory.
        value = c.str(key, None)
        if value is None:
            return PROJECT_CONFIG / default
        return Path(value) if Path(value).is_absolute() else base / value

    compliance = ComplianceSettings(
        standards_dir=where("standards_dir", "standards"),
        operators_file=where("operators_file", "operators.toml"),
        areas_dir=where("areas_dir", "areas"),
        raw_retention_days=c.int("raw_retention_days", 400, min=1),
        refresh_s=c.int("refresh_s", 60, min=1, max=86_400),
        grace_1_days=c.int("grace_1_days", 30, min=0),
        grace_2_days=c.int("grace_2_days", 30, min=0),
        response_window_days=c.int("response_window_days", 15, min=0),
        evidence_max_age_days=c.int("evidence_max_age_days", 365, min=1),
        notices_need_evidence=c.bool("notices_need_evidence", True),
    )
    c.finish()

    w = root.section("web")
    web = WebSettings(
        tile_url=w.str("tile_url", ""), tile_attribution=w.str("tile_attribution", "")
    )
    w.finish()

    iss = root.section("issuer")
    default = Issuer()
    names: dict[str, str] = {}
    for key in ("authority", "ministry", "place", "signatory", "inspectorate"):
        both = iss.section(key)
        for language in ("vi", "en"):
            value = both.str(language, getattr(default, f"{key}_{language}"))
            if not value.strip():
                raise both.error(language, "must not be empty")
            names[f"{key}_{language}"] = value
        both.finish()
    iss.finish()
    issuer = Issuer(**names)

    st = root.section("state")
    state_value = st.str("dir", "")
    state_dir = (
        (Path(state_value) if Path(state_value).is_absolute() else base / state_value)
        if state_value
        else PROJECT_CONFIG.parent / ".state" / "aggregator"
    )
    st.finish()
    root.finish()
    return Settings(
        dsn=dsn,
        broker=broker,
        ingest=ingest,
        api=api,
        compliance=compliance,
        web=web,
        issuer=issuer,
        state_dir=state_dir,
        path=str(path or "<defaults>"),
    )
