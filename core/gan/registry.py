"""Named registries with provenance.

Every registered object remembers which plugin gave it. Registration hooks are called through
pluggy with one :class:`RegistryView` whose provenance is read, at each ``add``, from the plugin
whose implementation is running (:data:`gan.plugins.current_plugin`, set by the per-plugin shim);
clashes are resolved *after* collection so the outcome never depends on registration order:

* two plugins registering the same name is an error naming both;
* a third-party plugin may override a *built-in* entry only with ``replace=True`` (explicit);
* ``replace=True`` over another third-party plugin is still a clash.

An entry may be *declared* rather than given: ``registry.add("dcgan", "gan_image.dcgan:DCGAN",
help="...")`` names the object as ``"module:attr"`` and it is imported, and checked, on first use.
``gan list`` and ``gan plugins`` then read names and one-line summaries without importing a model
module (or torch); a plugin may still hand over the object itself (eager registration).
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from .errors import PluginError, choices_error

T = TypeVar("T")
_REF = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_][\w.]*")


@dataclass(frozen=True)
class LazyRef:
    """A declared registry object: ``module:attr`` (``attr`` may be dotted), called with ``args``
    when any are given (a factory per name, e.g. one toy distribution), imported on first use."""

    target: str
    args: tuple[Any, ...] = ()

    def load(self) -> Any:
        module, sep, attr = self.target.partition(":")
        if not sep or not module or not attr:
            raise PluginError(f"{self.target!r}: expected 'module:attr'")
        obj: Any = importlib.import_module(module)
        for part in attr.split("."):
            obj = getattr(obj, part)
        return obj(*self.args) if self.args else obj


def lazy(target: str, *args: Any) -> LazyRef:
    """Declare ``target`` (``"module:attr"``) for a registry; ``args`` make it ``attr(*args)``."""
    return LazyRef(target, args)


def load_ref(value: Any) -> Any:
    """``value`` itself, or what it names when it is a :class:`LazyRef` (meta values may be lazy)."""
    return value.load() if isinstance(value, LazyRef) else value


@dataclass
class Entry(Generic[T]):
    """One registration. ``obj`` imports a declared (lazy) entry on first access and checks it
    then, so a broken declaration is named (plugin, kind, name) when it is used."""

    name: str
    target: T | LazyRef
    plugin: str
    builtin: bool
    replace: bool = False
    help: str = ""
    meta: dict[str, Any] = field(default_factory=dict)
    check: Callable[[str, Any, dict[str, Any]], list[str]] | None = field(default=None, repr=False)
    kind: str = ""
    declared: bool = False  # given as "module:attr" (stays True once imported)

    @property
    def lazy(self) -> bool:
        """Declared and not imported yet."""
        return isinstance(self.target, LazyRef)

    @property
    def obj(self) -> T:
        if isinstance(self.target, LazyRef):
            ref = self.target
            try:
                obj = ref.load()
            except Exception as e:  # noqa: BLE001 - named: which plugin declared what
                raise PluginError(f"plugin {self.plugin!r} declared {self.kind} {self.name!r} as "
                                  f"{ref.target!r}, which cannot be loaded: {type(e).__name__}: {e}") from e
            _check_entry(self, obj)
            self.target = obj
        return self.target  # type: ignore[return-value]


def _check_entry(entry: Entry[Any], obj: Any) -> None:
    problems = entry.check(entry.kind, obj, entry.meta) if entry.check else []
    if problems:
        what = getattr(obj, "__qualname__", type(obj).__name__)
        raise PluginError(f"plugin {entry.plugin!r} registered {entry.kind} {entry.name!r} ({what}) "
                          f"without {', '.join(problems)}")


class Registry(Generic[T]):
    """A name → object table for one kind (``model``, ``loss``, ``dataset``, ``metric``)."""

    def __init__(self, kind: str,
                 check: Callable[[str, Any, dict[str, Any]], list[str]] | None = None) -> None:
        """``check(kind, obj, meta)`` lists what an entry lacks (empty: fine); an entry with
        problems is refused when it is added (the plugin manager passes
        :func:`gan.protocols.entry_problems`)."""
        self.kind = kind
        self._check = check
        self._pending: list[Entry[T]] = []
        self._entries: dict[str, Entry[T]] = {}

    def view(self, plugin: str, builtin: bool) -> RegistryView[T]:
        """A view that records every addition as coming from ``plugin``."""
        return RegistryView(self, plugin, builtin)

    def hook_view(self, provenance: Callable[[], tuple[str, bool]]) -> RegistryView[T]:
        """A view that asks ``provenance()`` for ``(plugin, builtin)`` at each addition."""
        return RegistryView(self, provenance=provenance)

    def _add(self, entry: Entry[T]) -> None:
        if not isinstance(entry.name, str) or not entry.name:
            raise PluginError(f"plugin {entry.plugin!r} registered a {self.kind} with an invalid "
                              f"name {entry.name!r}")
        entry.check, entry.kind = self._check, self.kind
        if isinstance(entry.target, str):
            entry.target = LazyRef(entry.target)
        entry.declared = entry.lazy
        if entry.lazy and not _REF.fullmatch(entry.target.target):
            raise PluginError(f"plugin {entry.plugin!r} registered {self.kind} {entry.name!r} as "
                              f"{entry.target.target!r}: expected the object or 'module:attr'")
        if not entry.lazy:
            _check_entry(entry, entry.target)  # a declared entry is checked when it is loaded
        self._pending.append(entry)
        self._entries = {}

    def finalize(self) -> None:
        """Resolve clashes among everything registered; raises :class:`PluginError` on conflict."""
        by_name: dict[str, list[Entry[T]]] = {}
        for e in self._pending:
            by_name.setdefault(e.name, []).append(e)
        resolved: dict[str, Entry[T]] = {}
        for name, entries in by_name.items():
            if len(entries) == 1:
                resolved[name] = entries[0]
                continue
            builtins = [e for e in entries if e.builtin]
            overrides = [e for e in entries if not e.builtin and e.replace]
            others = [e for e in entries if not e.builtin and not e.replace]
            if len(builtins) == 1 and len(overrides) == 1 and not others:
                resolved[name] = overrides[0]
                continue
            plugins = ", ".join(sorted(e.plugin for e in entries))
            hint = "" if overrides else " (a plugin may override a built-in with replace=True)"
            raise PluginError(f"{self.kind} {name!r} is registered by several plugins: "
                              f"{plugins}{hint}")
        self._entries = dict(sorted(resolved.items()))

    def _table(self) -> dict[str, Entry[T]]:
        if not self._entries and self._pending:
            self.finalize()
        return self._entries

    def resolve(self, name: str) -> T:
        try:
            return self._table()[name].obj
        except KeyError:
            raise choices_error(self.kind, name, self._table()) from None

    def entry(self, name: str) -> Entry[T]:
        """The record of ``name`` (a declared object is not imported until ``.obj`` is read)."""
        if name not in self._table():
            raise choices_error(self.kind, name, self._table())
        return self._table()[name]

    def names(self) -> list[str]:
        return list(self._table())

    def entries(self) -> list[Entry[T]]:
        return list(self._table().values())

    def __contains__(self, name: object) -> bool:
        return name in self._table()

    def __iter__(self) -> Iterator[str]:
        return iter(self._table())

    def __len__(self) -> int:
        return len(self._table())


class RegistryView(Generic[T]):
    """What a registration hook receives: ``registry.add(name, obj)`` records the calling plugin."""

    def __init__(self, registry: Registry[T], plugin: str = "", builtin: bool = False, *,
                 provenance: Callable[[], tuple[str, bool]] | None = None) -> None:
        self._registry = registry
        self._provenance = provenance or (lambda: (plugin, builtin))
        self.kind = registry.kind

    @property
    def plugin(self) -> str:
        """The plugin an ``add`` made now is recorded for."""
        return self._provenance()[0]

    @property
    def builtin(self) -> bool:
        return self._provenance()[1]

    def add(self, name: str, obj: T | str | LazyRef, *, replace: bool = False, help: str = "",
            **meta: Any) -> T | str | LazyRef:
        """Register ``obj`` under ``name``. ``replace=True`` overrides a built-in entry explicitly.

        ``obj`` may be declared instead of given: ``"module:attr"`` or :func:`lazy` — imported on
        first use; give ``help`` (the one-line summary ``gan list`` prints) with it."""
        if not help and not isinstance(obj, (str, LazyRef)):
            doc = getattr(obj, "__doc__", None) or ""
            # the docstring's first paragraph, which may wrap over several lines
            help = " ".join(doc.strip().split("\n\n")[0].split()) if doc.strip() else ""
        plugin, builtin = self._provenance()
        self._registry._add(Entry(name, obj, plugin, builtin, replace, help, meta))
        return obj

    def __call__(self, name: str, *, replace: bool = False, **meta: Any):
        """Decorator form: ``@registry("dcgan")``."""
        def deco(obj: T) -> T:
            return self.add(name, obj, replace=replace, **meta)
        return deco
