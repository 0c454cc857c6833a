"""Operator names from MCC/MNC. Vietnam's are built in; others come from config."""

from __future__ import annotations

from typing import Any

VIETNAM: dict[tuple[int, int], str] = {
    (452, 1): "MobiFone",
    (452, 2): "VinaPhone",
    (452, 4): "Viettel",
    (452, 5): "Vietnamobile",
}


def operator_name(
    mcc: int | None, mnc: int | None, extra: dict[tuple[int, int], str] | None = None
) -> str | None:
    """The operator's name, or None when the network is unknown."""
    if mcc is None or mnc is None:
        return None
    key = (int(mcc), int(mnc))
    if extra and key in extra:
        return extra[key]
    return VIETNAM.get(key)


def sim_operator(imsi: str) -> str | None:
    """The home operator of a SIM from its IMSI (``AT+CIMI``), when that is certain.

    An IMSI is MCC, MNC and the subscriber number, and does not say whether
    its MNC has two digits or three: both are tried, and a name is returned
    only when exactly one of them is a known operator.
    """
    if not imsi.isdigit() or len(imsi) < 6:
        return None
    names = {operator_name(int(imsi[:3]), int(imsi[3 : 3 + n])) for n in (2, 3)} - {None}
    return names.pop() if len(names) == 1 else None


def split_plmn(code: Any) -> tuple[int | None, int | None]:
    """``"45204"`` -> (452, 4), ``"311480"`` -> (311, 480); anything else -> unknown."""
    text = str(code or "").strip()
    if not text.isdigit() or len(text) not in (5, 6):
        return None, None
    return int(text[:3]), int(text[3:])
