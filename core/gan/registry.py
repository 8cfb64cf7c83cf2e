"""Named registries with provenance.

Every registered object remembers which plugin gave it. Registration hooks are called through
pluggy with one :class:`RegistryView` whose provenance is read, at each ``add``, from the plugin
whose implementation is running (:data:`gan.plugins.current_plugin`, set by the per-plugin shim);
clashes are resolved *after* collection so the outcome never depends on registration order:

* two plugins registering the same name is an error naming both;
* a third-party plugin may override a *built-in* entry only with ``replace=True`` (explicit);
* ``replace=True`` over another third-party plugin is still a clash.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from .errors import PluginError, choices_error

T = TypeVar("T")


@dataclass
class Entry(Generic[T]):
    name: str
    obj: T
    plugin: str
    builtin: bool
    replace: bool = False
    help: str = ""
    meta: dict[str, Any] = field(default_factory=dict)


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
        problems = self._check(self.kind, entry.obj, entry.meta) if self._check else []
        if problems:
            what = getattr(entry.obj, "__qualname__", type(entry.obj).__name__)
            raise PluginError(f"plugin {entry.plugin!r} registered {self.kind} {entry.name!r} ({what}) "
                              f"without {', '.join(problems)}")
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
        self.resolve(name)
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

    def add(self, name: str, obj: T, *, replace: bool = False, help: str = "", **meta: Any) -> T:
        """Register ``obj`` under ``name``. ``replace=True`` overrides a built-in entry explicitly."""
        if not help:
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
