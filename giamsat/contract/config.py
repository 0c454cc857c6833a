"""TOML configuration with defaults and errors that name the file and the key.

Both the agent and the aggregator read their configuration through
:class:`Section`, so a user who mistypes a value is told where, in one line,
instead of getting a stack trace.
"""

from __future__ import annotations

import builtins
import datetime
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_MISSING: Any = object()


class ConfigError(Exception):
    """A configuration mistake: which file, which key, what is wrong."""

    def __init__(self, path: Path | str, key: str, reason: str) -> None:
        super().__init__(f"{path}: {key}: {reason}")
        self.path = str(path)
        self.key = key
        self.reason = reason


def read_toml(path: Path | str) -> dict[str, Any]:
    """Parse a TOML file, turning I/O and syntax errors into :class:`ConfigError`."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(path, "-", "file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, "-", f"not valid TOML ({exc})") from None


@dataclass
class Section:
    """One table of a TOML document; typed getters record which keys were used.

    The getters are named after the types they return (``str``, ``int``, ...), so
    inside this class body an annotation names the built-in type as ``builtins.str``.
    """

    data: dict[str, Any]
    path: Path | str
    prefix: str = ""
    _used: set[str] = field(default_factory=set)

    def _name(self, key: str) -> str:
        return f"{self.prefix}.{key}" if self.prefix else key

    def _get(self, key: str, default: Any) -> Any:
        self._used.add(key)
        if key in self.data:
            return self.data[key]
        if default is _MISSING:
            raise ConfigError(self.path, self._name(key), "is required")
        return default

    def error(self, key: str, reason: str) -> ConfigError:
        return ConfigError(self.path, self._name(key), reason)

    def section(self, key: str) -> Section:
        self._used.add(key)
        value = self.data.get(key, {})
        if not isinstance(value, dict):
            raise self.error(key, "must be a table")
        return Section(value, self.path, self._name(key))

    def str(self, key: builtins.str, default: Any = _MISSING) -> Any:
        value = self._get(key, default)
        if value is not default and not isinstance(value, str):
            raise self.error(key, f"must be a string, not {value!r}")
        return value

    def int(
        self,
        key: builtins.str,
        default: Any = _MISSING,
        *,
        min: builtins.int | None = None,
        max: builtins.int | None = None,
    ) -> Any:
        value = self._get(key, default)
        if value is default:
            return value
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(key, f"must be an integer, not {value!r}")
        self._check_range(key, value, min, max)
        return value

    def float(
        self,
        key: builtins.str,
        default: Any = _MISSING,
        *,
        min: builtins.float | None = None,
        max: builtins.float | None = None,
    ) -> Any:
        value = self._get(key, default)
        if value is default:
            return value
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.error(key, f"must be a number, not {value!r}")
        self._check_range(key, value, min, max)
        return float(value)

    def bool(self, key: builtins.str, default: Any = _MISSING) -> Any:
        value = self._get(key, default)
        if value is not default and not isinstance(value, bool):
            raise self.error(key, f"must be true or false, not {value!r}")
        return value

    def date(self, key: builtins.str, default: Any = _MISSING) -> Any:
        """A TOML local date, written without quotes (``effective_from = 2026-07-01``)."""
        value = self._get(key, default)
        if value is not default and type(value) is not datetime.date:
            raise self.error(key, f"must be a date such as 2026-07-01 (no quotes), not {value!r}")
        return value

    def choice(
        self, key: builtins.str, choices: tuple[builtins.str, ...], default: Any = _MISSING
    ) -> Any:
        value = self.str(key, default)
        if value is not default and value not in choices:
            raise self.error(key, f"must be one of {', '.join(choices)}, not {value!r}")
        return value

    def list(self, key: builtins.str, default: Any = _MISSING) -> Any:
        value = self._get(key, default)
        if value is not default and not isinstance(value, list):
            raise self.error(key, f"must be a list, not {value!r}")
        return value

    def _check_range(
        self,
        key: builtins.str,
        value: builtins.float,
        lo: builtins.float | None,
        hi: builtins.float | None,
    ) -> None:
        if lo is not None and value < lo:
            raise self.error(key, f"must be at least {lo}, not {value}")
        if hi is not None and value > hi:
            raise self.error(key, f"must be at most {hi}, not {value}")

    def finish(self) -> None:
        """Reject keys nobody asked for: a typo must not silently fall back to a default."""
        unknown = sorted(set(self.data) - self._used)
        if unknown:
            raise self.error(unknown[0], "unknown key")
