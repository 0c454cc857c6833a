"""Signal from a USB modem managed by ModemManager, through ``mmcli``.

Three outputs make one reading: the modem status (state, access technology,
registered operator), ``--signal-get`` (RSRP/RSRQ/SNR per technology, as
strings, ``--`` when unavailable) and ``--location-get`` (serving cell ids);
the SIM (``mmcli -i``) names whose SIM it is, to whom no service belongs.
``--signal-get`` stays all ``--`` with refresh rate 0 until someone runs
``--signal-setup``, so the source does that once and again whenever it sees
polling off (ModemManager or the modem restarted).

The parsers accept both ``--output-json`` and the human-readable text (which
captures in bug reports usually are), in any order and concatenated, because
field diagnostics arrive as whatever the person on site pasted.
"""

from __future__ import annotations

import json
import re
from typing import Any

from giamsat.agent import plugins
from giamsat.agent.command import CommandFailed, run_command
from giamsat.agent.signal import SignalError, SignalReading
from giamsat.agent.signal.operators import operator_name, split_plmn
from giamsat.contract.config import Section

SERVICE_STATES = ("registered", "connecting", "connected", "disconnecting")
GSM_ACCESS = ("gsm", "gsm-compact", "gprs", "edge")
UMTS_ACCESS = ("umts", "hsdpa", "hsupa", "hspa", "hspa-plus")
# ModemManager's human-readable signal labels -> the JSON keys of the same fields.
SIGNAL_LABELS = {"s/n": "snr", "error rate": "error-rate", "refresh rate": "rate"}
_NUMBER = re.compile(r"^[-+]?\d+(\.\d+)?")


def _number(value: Any) -> int | float | None:
    """``"-104.00"`` -> -104, ``"2.50 dB"`` -> 2.5, ``"--"`` -> None."""
    match = _NUMBER.match(str(value or "").strip())
    if not match:
        return None
    number = float(match.group(0))
    return int(number) if number.is_integer() else number


def _hex_id(value: Any) -> str | None:
    """ModemManager prints LAC/TAC/cell id as zero-padded hex; 0 and FFFE are reserved."""
    text = str(value or "").strip()
    try:
        number = int(text, 16)
    except ValueError:
        return None
    return None if number in (0, 0xFFFE) else f"0x{number:X}"


def _text_sections(text: str) -> list[tuple[str, dict[str, str]]]:
    """mmcli's ``Section | key: value`` layout as a list of (section, fields).

    Each section header starts a new block, so a status and a location output
    pasted together keep their two ``3GPP`` blocks apart.
    """
    blocks: list[tuple[str, dict[str, str]]] = []
    for line in text.splitlines():
        if "|" not in line:
            continue
        head, _, body = line.partition("|")
        if head.strip() or not blocks:
            blocks.append((head.strip(), {}))
        key, sep, value = body.partition(":")
        if sep and key.strip() and key.strip() not in blocks[-1][1]:
            blocks[-1][1][key.strip()] = value.strip()
    return blocks


def _split_documents(text: str) -> tuple[list[Any], str]:
    """JSON documents that start a line, and the text around them."""
    decoder = json.JSONDecoder()
    documents: list[Any] = []
    rest: list[str] = []
    position = 0
    while position < len(text):
        line_end = text.find("\n", position)
        line_end = len(text) if line_end < 0 else line_end
        line = text[position:line_end]
        if line.lstrip().startswith("{"):
            start = position + len(line) - len(line.lstrip())
            try:
                document, position = decoder.raw_decode(text, start)
            except json.JSONDecodeError as exc:
                raise SignalError(f"mmcli: output looks like JSON but is not ({exc})") from None
            documents.append(document)
        else:
            rest.append(line)
            position = line_end + 1
    return documents, "\n".join(rest)


def _given(value: Any) -> str | None:
    """mmcli prints ``--`` for an unknown string; treat it, and blanks, as absent."""
    text = str(value).strip() if value is not None else ""
    return text if text and text != "--" else None


class _Outputs:
    """What the captured outputs said, whichever format they came in."""

    def __init__(self) -> None:
        self.status: dict[str, Any] = {}
        self.signal: dict[str, dict[str, Any]] = {}
        self.location: dict[str, Any] = {}
        self.sim: dict[str, Any] = {}

    def add_json(self, document: Any) -> None:
        if isinstance(document, dict) and isinstance(document.get("sim"), dict):
            properties = document["sim"].get("properties") or {}
            self.sim["operator_code"] = properties.get("operator-code")
            self.sim["operator_name"] = properties.get("operator-name")
            return
        modem = document.get("modem") if isinstance(document, dict) else None
        if not isinstance(modem, dict):
            raise SignalError("mmcli: JSON output without a 'modem' object")
        if isinstance(modem.get("signal"), dict):
            self.signal.update(modem["signal"])
        if isinstance(modem.get("location"), dict):
            self.location.update(modem["location"].get("3gpp") or {})
        generic = modem.get("generic") or {}
        if "state" in generic:
            self.status["state"] = generic["state"]
            self.status["access"] = list(generic.get("access-technologies") or [])
        gpp = modem.get("3gpp") or {}
        if "operator-code" in gpp:
            self.status["operator_code"] = gpp["operator-code"]
            self.status["operator_name"] = gpp.get("operator-name")

    def add_text(self, text: str) -> None:
        for section, fields in _text_sections(text):
            name = section.lower()
            if name == "status" and "state" in fields:
                self.status["state"] = fields["state"]
                access = fields.get("access tech", "")
                self.status["access"] = [a.strip() for a in access.split(",") if a.strip()]
            elif name == "3gpp" and ("cell id" in fields or "tracking area code" in fields):
                # Older ModemManager labelled the MCC "operator code" and the MNC "operator name".
                self.location.update(
                    mcc=fields.get("operator mcc", fields.get("operator code")),
                    mnc=fields.get("operator mnc", fields.get("operator name")),
                    lac=fields.get("location area code"),
                    tac=fields.get("tracking area code"),
                    cid=fields.get("cell id"),
                )
            elif name == "3gpp" and "operator id" in fields:
                self.status["operator_code"] = fields["operator id"]
                self.status["operator_name"] = fields.get("operator name")
            elif name == "properties" and "operator id" in fields:
                self.sim["operator_code"] = fields["operator id"]
                self.sim["operator_name"] = fields.get("operator name")
            elif name == "signal":
                self.signal["refresh"] = {"rate": fields.get("refresh rate")}
            elif name in ("lte", "5g", "umts", "gsm"):
                self.signal[name] = {SIGNAL_LABELS.get(k, k): v for k, v in fields.items()}


def _tech(access: list[str], lte: bool, nr: bool, umts: bool, gsm: bool) -> str | None:
    """Technology from the access tech list, else from which radios carry values."""
    names = {a.lower() for a in access}
    has_lte = any(n.startswith("lte") for n in names)
    if "5gnr" in names:
        return "NR-NSA" if has_lte else "NR-SA"
    if has_lte:
        # A measured NR leg means EN-DC is up even when the access tech still says lte.
        return "NR-NSA" if nr else "LTE"
    if names & set(UMTS_ACCESS):
        return "WCDMA"
    if names & set(GSM_ACCESS):
        return "GSM"
    if names:
        return None
    if nr:
        return "NR-NSA" if lte else "NR-SA"
    for present, tech in ((lte, "LTE"), (umts, "WCDMA"), (gsm, "GSM")):
        if present:
            return tech
    return None


def _radio(values: dict[str, Any], keys: dict[str, str]) -> dict[str, Any]:
    out = {ours: _number(values.get(theirs)) for theirs, ours in keys.items()}
    return {k: v for k, v in out.items() if v is not None}


def _int(value: Any) -> int | None:
    text = str(value or "").strip()
    return int(text) if text.isdigit() else None


def parse(*outputs: str) -> SignalReading:
    """Normalise any mix of mmcli status, ``--signal-get`` and ``--location-get`` outputs."""
    seen = _Outputs()
    for output in outputs:
        documents, text = _split_documents(output)
        for document in documents:
            seen.add_json(document)
        seen.add_text(text)
    if not (seen.status or seen.signal or seen.location or seen.sim):
        raise SignalError("mmcli: no modem status, signal, location or SIM in the output")

    signal = seen.signal
    lte = _radio(
        signal.get("lte", {}),
        {"rsrp": "rsrp_dbm", "rsrq": "rsrq_db", "snr": "sinr_db", "rssi": "rssi_dbm"},
    )
    nr = _radio(signal.get("5g", {}), {"rsrp": "rsrp_dbm", "rsrq": "rsrq_db", "snr": "sinr_db"})
    umts = _radio(
        signal.get("umts", {}), {"rscp": "rscp_dbm", "ecio": "ecio_db", "rssi": "rssi_dbm"}
    )
    gsm = _radio(signal.get("gsm", {}), {"rssi": "rxlev_dbm"})
    tech = _tech(seen.status.get("access") or [], bool(lte), bool(nr), bool(umts), bool(gsm))
    measured = bool(lte or nr or umts or gsm)
    sig: dict[str, Any] = {
        "LTE": lte,
        "NR-SA": nr,
        "NR-NSA": lte | {f"nr_{k}": v for k, v in nr.items()},
        "WCDMA": umts,
        "GSM": gsm,
    }.get(tech or "", {}).copy()
    for key, ours in (("cid", "cell"), ("tac", "tac"), ("lac", "lac")):
        value = _hex_id(seen.location.get(key))
        if value is not None:
            sig[ours] = value

    mcc, mnc = split_plmn(seen.status.get("operator_code"))
    if mcc is None:
        mcc, mnc = _int(seen.location.get("mcc")), _int(seen.location.get("mnc"))
        mcc, mnc = (mcc, mnc) if mcc is not None and mnc is not None else (None, None)
    state = _given(seen.status.get("state"))
    errors: list[str] = []
    if state is not None:
        service = state in SERVICE_STATES
        if not service:
            errors.append(f"no_service: modem state is {state!r}")
    else:
        # No status captured: a measured or located serving cell means the modem is camped.
        service = measured or "cell" in sig
    if signal and not measured:
        if _number(signal.get("refresh", {}).get("rate")) == 0:
            errors.append(
                "signal_polling_off: ModemManager signal refresh rate is 0; "
                "run mmcli --signal-setup=SECONDS first"
            )
        elif service:
            errors.append("no_signal_values: ModemManager has not reported signal values yet")
    net = {
        "service": service,
        "mcc": mcc,
        "mnc": mnc,
        "tech": tech,
        "op": operator_name(mcc, mnc) or _given(seen.status.get("operator_name")),
        "state": state,
        "sim_op": operator_name(*split_plmn(seen.sim.get("operator_code")))
        or _given(seen.sim.get("operator_name")),
    }
    return SignalReading(
        net={k: v for k, v in net.items() if v is not None}, sig=sig or None, errors=errors
    )


def _sim_path(status: str) -> str | None:
    """The SIM's D-Bus path from ``mmcli -m X --output-json``, if the modem has one."""
    try:
        path = json.loads(status)["modem"]["generic"]["sim"]
    except (json.JSONDecodeError, KeyError, TypeError):
        return None
    return _given(path)


@plugins.register("signal", "mmcli", capture=parse)
class MmcliSignal:
    """Reads signal, registration and serving cell from ModemManager."""

    def __init__(self, options: Section) -> None:
        self.modem = options.str("modem", "any")
        self.refresh_s = options.int("refresh_s", 10, min=1, max=3600)
        self.timeout_s = options.float("timeout_s", 15.0, min=1.0, max=300.0)
        self.polling = False
        # The SIM's own operator, looked up once per SIM path: SIMs are rarely swapped.
        self.sim_path: str | None = None
        self.sim_output: str | None = None

    def _mmcli(self, *args: str) -> str:
        return run_command(["mmcli", "-m", self.modem, *args], self.timeout_s)

    def read(self) -> SignalReading:
        errors: list[str] = []
        if not self.polling:
            try:
                self._mmcli(f"--signal-setup={self.refresh_s}")
                self.polling = True
            except CommandFailed as exc:
                errors.append(f"command_failed: {exc}")
        try:
            outputs = [self._mmcli("--output-json"), self._mmcli("--signal-get", "--output-json")]
        except CommandFailed as exc:
            return SignalReading(net={"service": False}, errors=[*errors, f"command_failed: {exc}"])
        try:
            outputs.append(self._mmcli("--location-get", "--output-json"))
        except CommandFailed as exc:
            # Without 3GPP location enabled the reading only lacks cell ids.
            errors.append(f"command_failed: {exc}")
        sim_path = _sim_path(outputs[0])
        if sim_path is not None and sim_path != self.sim_path:
            self.sim_path, self.sim_output = sim_path, None
            try:
                argv = ["mmcli", "-i", sim_path, "--output-json"]
                self.sim_output = run_command(argv, self.timeout_s)
            except CommandFailed as exc:
                errors.append(f"command_failed: {exc}")
        if self.sim_output is not None:
            outputs.append(self.sim_output)
        reading = parse(*outputs)
        if any(e.startswith("signal_polling_off") for e in reading.errors):
            self.polling = False
        reading.errors[:0] = errors
        return reading
