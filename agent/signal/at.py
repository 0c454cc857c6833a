"""Signal from any 3GPP modem: ``AT+CESQ``, ``AT+CEREG?``/``AT+C5GREG?`` and ``AT+COPS?``.

Vendors' own commands (Quectel's ``+QENG``, Huawei's ``^HCSQ``) say more, but
every 3GPP modem answers these (TS 27.007), so this source works on a modem
nobody has written a module for.

``+CESQ: rxlev,ber,rscp,ecno,rsrq,rsrp`` gives indices, not units, and 99 or
255 for "not known" (§8.69). 5G modules print three more, the NR leg's
SS-RSRQ, SS-RSRP and SS-SINR indices (TS 38.133 §10.1.6, §10.1.11,
§10.1.16). An index becomes the top of the range it stands for, as the
shared samples' README reads them: RSRP ``n - 140`` dBm, RSRQ ``n / 2 - 19.5``
dB, SS-RSRP ``n - 156`` dBm, SS-RSRQ ``n / 2 - 43`` dB, SS-SINR ``n / 2 - 23``
dB. The end indices mean "below" or "above" the scale; a value that falls
outside the record's physical ranges is left out with an error.

Which radio the modem is on, and whether it is registered, come from
``+CEREG``/``+C5GREG`` (stat 1 home, 5 roaming) and the access technology of
``+COPS``/``+CEREG``; the operator from ``+COPS`` (numeric format) and the
SIM's from ``+CIMI`` (the IMSI itself is never kept).
"""

from __future__ import annotations

from typing import Any

from giamsat.agent import plugins
from giamsat.agent.signal import SignalError, SignalReading
from giamsat.agent.signal.atport import (
    COPS_ACT,
    AtSignal,
    number_at,
    parse_cops,
    reading,
    records,
    registered_network,
)

UNKNOWN = (99, 255)
REGISTERED = (1, 5)  # +CxREG stat: registered, home network or roaming


def _index(values: list[str], i: int, top: int) -> int | None:
    """The index at ``i``, or None for "not known" (99, 255) or anything out of its range."""
    n = number_at(values, i)
    if not isinstance(n, int) or n in UNKNOWN or not 0 <= n <= top:
        return None
    return n


def cesq(values: list[str]) -> dict[str, Any]:
    """The measurements of one ``+CESQ`` record, in units, keyed as ``sig`` keys them."""
    out: dict[str, Any] = {}
    rxlev, rscp, ecno = _index(values, 0, 63), _index(values, 2, 96), _index(values, 3, 49)
    rsrq, rsrp = _index(values, 4, 34), _index(values, 5, 97)
    if rxlev is not None:
        out["rssi_dbm"] = rxlev - 111  # GSM RXLEV: 0 is < -110 dBm, 63 is >= -48 dBm
    if rscp is not None:
        out["rscp_dbm"] = rscp - 121
    if ecno is not None:
        out["ecio_db"] = ecno / 2 - 24.5
    if rsrq is not None:
        out["rsrq_db"] = rsrq / 2 - 19.5
    if rsrp is not None:
        out["rsrp_dbm"] = rsrp - 140
    if len(values) >= 9:
        ss_rsrq, ss_rsrp, ss_sinr = (_index(values, i, 127) for i in (6, 7, 8))
        if ss_rsrq is not None:
            out["nr_rsrq_db"] = ss_rsrq / 2 - 43
        if ss_rsrp is not None and ss_rsrp <= 126:
            out["nr_rsrp_dbm"] = ss_rsrp - 156
        if ss_sinr is not None:
            out["nr_sinr_db"] = ss_sinr / 2 - 23
    return out


def _registration(text: str) -> tuple[bool | None, str | None]:
    """Registered or not, and the access technology, from ``+C5GREG`` then ``+CEREG``."""
    for prefix in ("+C5GREG:", "+CEREG:"):
        for values in records(text, prefix):
            # A query answers n,stat[,tac,ci,AcT...]; an unsolicited report stat[,...].
            stat_at = 1 if len(values) >= 2 else 0
            stat = number_at(values, stat_at)
            if not isinstance(stat, int):
                continue
            act = number_at(values, stat_at + 3)
            return stat in REGISTERED, COPS_ACT.get(act) if isinstance(act, int) else None
    return None, None


def parse(text: str) -> SignalReading:
    """A combined ``AT+CESQ``, ``AT+CEREG?``/``AT+C5GREG?``, ``AT+COPS?`` and ``AT+CIMI`` reply."""
    found = records(text, "+CESQ:")
    if not found:
        raise SignalError(f"at: no +CESQ record in the reply (starts {text.strip()[:40]!r})")
    sig = cesq(found[-1])
    registered, tech = _registration(text)
    mcc, _, name = registered_network(text)
    if tech is None:
        tech = next((o.tech for o in parse_cops(text) if o.status is None and o.tech), None)
    errors: list[str] = []
    if registered is None and (mcc is not None or name is not None):
        registered = True  # no +CxREG, but +COPS names the network the modem is on
        errors.append("no_registration_report: service taken from +COPS")
    elif registered is None:
        # A bare +CESQ capture: a cell measured is a cell camped on.
        registered = bool(sig)
        errors.append("no_registration_report: service taken from the +CESQ measurements")
    if tech is None and sig:
        tech = "NR-NSA" if "nr_rsrp_dbm" in sig and "rsrp_dbm" in sig else None
        tech = tech or ("LTE" if "rsrp_dbm" in sig else "WCDMA" if "rscp_dbm" in sig else None)
    if not registered:
        errors.append("no_service: not registered (+CEREG/+C5GREG stat, or no +COPS network)")
    if tech == "NR-SA" and "nr_rsrp_dbm" in sig:
        # On NR standalone the NR values are the serving cell's own.
        sig = {k.removeprefix("nr_"): v for k, v in sig.items() if k.startswith("nr_")}
    if tech != "WCDMA":  # a 3G cell's figures only describe a 3G serving cell
        sig = {k: v for k, v in sig.items() if k not in ("rscp_dbm", "ecio_db")}
    return reading(text, service=bool(registered), tech=tech, sig=sig, errors=errors)


@plugins.register("signal", "at", capture=parse)
class GenericAtSignal(AtSignal):
    """Asks any 3GPP modem for its signal (``+CESQ``) and its registration (``+CEREG``)."""

    # +C5GREG? is left out: a modem without 5G answers ERROR to the whole line.
    # A capture that holds its reply is read all the same.
    command = "AT+CESQ;+CEREG?"

    def parse_reply(self, reply: str) -> SignalReading:
        return parse(reply)
