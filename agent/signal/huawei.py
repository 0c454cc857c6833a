"""Signal from a Huawei modem: ``AT^HCSQ?`` (measurements) and ``AT^SYSINFOEX`` (service).

``^HCSQ: "LTE",rssi,rsrp,sinr,rsrq`` gives indices: RSSI ``v - 121`` dBm, RSRP
``v - 140`` dBm, SINR ``v * 0.2 - 20`` dB, RSRQ ``v * 0.5 - 20`` dB (each the low
edge of the range the index stands for; 255 is "not known"). The
order is rsrp, **sinr**, rsrq: reading it as rsrp, rsrq, sinr is a known bug
of other parsers (the shared samples' README). ``"WCDMA",rssi,rscp,ecio``
and ``"GSM",rssi`` cover the older radios; ``"NOSERVICE"`` none.

``^SYSINFOEX: srv_status,srv_domain,roam_status,sim_state,lock_state,sysmode,
sysmode_name,submode,submode_name``: service when ``srv_status`` is 2.
The operator and the SIM's come from ``AT+COPS?`` and ``AT+CIMI``, as for
every AT modem (:mod:`giamsat.agent.signal.atport`).
"""

from __future__ import annotations

from typing import Any

from giamsat.agent import plugins
from giamsat.agent.signal import SignalError, SignalReading
from giamsat.agent.signal.atport import (
    AtSignal,
    number_at,
    reading,
    records,
    value_at,
)

UNKNOWN = 255


def _at(values: list[str], i: int) -> int | None:
    n = number_at(values, i)
    return n if isinstance(n, int) and 0 <= n < UNKNOWN else None


def hcsq(values: list[str]) -> tuple[str | None, dict[str, Any]]:
    """The technology and measurements of one ``^HCSQ`` record."""
    rat = (value_at(values, 0) or "").upper()
    sig: dict[str, Any] = {}
    rssi = _at(values, 1)
    if rssi is not None and rat in ("LTE", "WCDMA", "GSM"):
        sig["rssi_dbm"] = rssi - 121
    if rat == "LTE":
        rsrp, sinr, rsrq = _at(values, 2), _at(values, 3), _at(values, 4)
        if rsrp is not None:
            sig["rsrp_dbm"] = rsrp - 140
        if sinr is not None:
            sig["sinr_db"] = round(sinr * 0.2 - 20, 1)
        if rsrq is not None:
            sig["rsrq_db"] = rsrq * 0.5 - 20
        return "LTE", sig
    if rat == "WCDMA":
        rscp, ecio = _at(values, 2), _at(values, 3)
        if rscp is not None:
            sig["rscp_dbm"] = rscp - 121
        if ecio is not None:
            sig["ecio_db"] = ecio * 0.5 - 32
        return "WCDMA", sig
    if rat == "GSM":
        return "GSM", sig
    return None, {}


def parse(text: str) -> SignalReading:
    """A combined ``AT^HCSQ?``, ``AT^SYSINFOEX``, ``AT+COPS?`` and ``AT+CIMI`` reply."""
    found = records(text, "^HCSQ:")
    if not found:
        raise SignalError(f"huawei: no ^HCSQ record in the reply (starts {text.strip()[:40]!r})")
    tech, sig = hcsq(found[-1])
    errors: list[str] = []
    service: bool
    status = [number_at(v, 0) for v in records(text, "^SYSINFOEX:")]
    if status:
        service = status[-1] == 2
    else:
        service = tech is not None and bool(sig)
        errors.append("no_service_report: service taken from the ^HCSQ measurements")
    if not service:
        errors.append("no_service: ^HCSQ or ^SYSINFOEX reports no service")
    return reading(text, service=service, tech=tech, sig=sig, errors=errors)


@plugins.register("signal", "huawei", capture=parse)
class HuaweiSignal(AtSignal):
    """Asks a Huawei modem for its signal (``^HCSQ``) and its service (``^SYSINFOEX``)."""

    command = "AT^HCSQ?;^SYSINFOEX"

    def parse_reply(self, reply: str) -> SignalReading:
        return parse(reply)
