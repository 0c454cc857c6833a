"""The one registry of the probe's plug-ins: signal and location sources, latency and throughput.

A plug-in module registers itself with :func:`register`, naming its kind and
its name; nothing else in the code base lists it. The kind is also the
package the module lives in (``signal`` plug-ins are modules of
``giamsat.agent.signal``), and discovery imports every module of that
package (:mod:`pkgutil`), so dropping one module into the package makes a new
modem type, with its config error messages, its command-line choices and its
capture parser, available with no other edit.

Discovery imports modules, so a plug-in module imports only the standard
library at its top (the agent runs on Termux and must idle small); anything
heavy or optional (scapy, speedtest-cli) is imported when the plug-in runs.
For the same reason a lookup by name first tries the module of that name
(``quectel`` in ``quectel.py``, the usual place): a probe then loads only its
own source, and the whole package is imported only when that is not where
the name is, or when every name is wanted (error messages, choices). A
module that cannot be imported (an ``ImportError``: a missing optional
package, a platform without a module) does not take the other plug-ins down
with it; asking for it by name says why it is missing.
"""

from __future__ import annotations

import contextlib
import importlib
import pkgutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from giamsat.contract.config import Section

PACKAGE = "giamsat.agent"
Factory = TypeVar("Factory", bound=Callable[..., Any])


@dataclass(frozen=True)
class Plugin:
    """One registered implementation of a kind (signal source, latency method, ...).

    ``factory`` builds it (a signal source from its config section, a latency
    method from the address it measures). ``capture`` parses a saved device
    output into what the plug-in reads from the device, so that parsers can
    be checked on captures without the device (``giamsat-agent signal
    --from-file``). ``preference`` orders the kind's plug-ins, lowest first,
    where the caller tries them in turn (latency's ``auto``); plug-ins of equal
    preference are listed by name.
    """

    name: str
    factory: Callable[..., Any]
    capture: Callable[[str], Any] | None = None
    preference: int = 0


_registry: dict[str, dict[str, Plugin]] = {}
# kind -> module name -> why it could not be imported
_broken: dict[str, dict[str, str]] = {}


def register(
    kind: str,
    name: str,
    *,
    capture: Callable[[str], Any] | None = None,
    preference: int = 0,
) -> Callable[[Factory], Factory]:
    """Class decorator: make ``factory`` the ``kind`` plug-in called ``name``.

    Two different plug-ins claiming one name would make a config mean
    whichever module happened to load last, so that is an error; the same
    class registering again (its module imported anew) replaces itself.
    """

    def decorate(factory: Factory) -> Factory:
        plugins = _registry.setdefault(kind, {})
        old = plugins.get(name)
        if old is not None and _origin(old.factory) != _origin(factory):
            raise ValueError(
                f"{kind} plug-in {name!r} registered twice: "
                f"by {_origin(old.factory)} and by {_origin(factory)}"
            )
        plugins[name] = Plugin(name, factory, capture, preference)
        return factory

    return decorate


def available(kind: str) -> tuple[Plugin, ...]:
    """Every plug-in of ``kind``, in order of preference, then of name."""
    _discover(kind)
    found = _registry.get(kind, {}).values()
    return tuple(sorted(found, key=lambda plugin: (plugin.preference, plugin.name)))


def names(kind: str) -> tuple[str, ...]:
    """The names of every plug-in of ``kind``, in the order of :func:`available`."""
    return tuple(plugin.name for plugin in available(kind))


def find(kind: str, name: str) -> Plugin | None:
    """The ``kind`` plug-in called ``name``, or None.

    A name not registered yet is looked for in the module of that name, then
    in every module of the package, so a module added since an earlier
    lookup is found too.
    """
    if name not in _registry.get(kind, {}):
        _import_own_module(kind, name)
    if name not in _registry.get(kind, {}):
        _discover(kind)
    return _registry.get(kind, {}).get(name)


def create(kind: str, name: str, options: Section, key: str) -> Any:
    """Build the plug-in that ``options[key]`` names from the rest of ``options``.

    An unknown name is a config error naming the file, the key and every
    known name, e.g. ``signal.source: unknown signal source 'x' (mmcli, ...)``.
    """
    plugin = find(kind, name)
    if plugin is not None:
        return plugin.factory(options)
    known = [", ".join(names(kind))]
    known += [f"{module} not loaded: {why}" for module, why in _broken.get(kind, {}).items()]
    raise options.error(key, f"unknown {kind} {key} {name!r} ({'; '.join(known)})")


def _discover(kind: str) -> None:
    """Import every module of the kind's package that is not imported yet."""
    package = importlib.import_module(f"{PACKAGE}.{kind}")
    broken = _broken.setdefault(kind, {})
    for info in pkgutil.iter_modules(package.__path__):
        module = f"{package.__name__}.{info.name}"
        if info.name.startswith("_") or module in sys.modules:
            continue
        try:
            importlib.import_module(module)
        except ImportError as exc:
            broken[info.name] = f"{type(exc).__name__}: {exc}"
        else:
            broken.pop(info.name, None)


def _import_own_module(kind: str, name: str) -> None:
    """Import the module named like the plug-in (``-`` read as ``_``), if there is one."""
    module = name.replace("-", "_")
    if not module.isidentifier() or module.startswith("_"):
        return
    # Whatever goes wrong here, discovery tries the module again and records why.
    with contextlib.suppress(ImportError):
        importlib.import_module(f"{PACKAGE}.{kind}.{module}")


def _origin(factory: Callable[..., Any]) -> str:
    return f"{factory.__module__}.{factory.__qualname__}"
