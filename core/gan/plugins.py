"""The plugin manager: built-ins, entry points, blocking, validation and registry collection.

Built-in plugins are registered by module name (as pytest does); third-party plugins come from the
entry-point group ``ganforge.plugins`` (the entry-point name is the user-visible plugin name). Both
go through the same validation. Each entry point is loaded on its own: one that fails to import or
to register is reported with its name, distribution, version and cause and skipped — or fails the
run under ``strict`` (``--strict-plugins``). It never stops the CLI from starting.
"""

from __future__ import annotations

import importlib
import importlib.metadata as md
import os
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pluggy

from . import hookspecs
from .errors import PluginError
from .registry import Registry

ENTRY_POINT_GROUP = "ganforge.plugins"
DISABLE_ENV = "GANFORGE_DISABLE_PLUGINS"  # comma-separated plugin names to block
NO_AUTOLOAD_ENV = "GANFORGE_DISABLE_PLUGIN_AUTOLOAD"  # set: skip third-party entry points

#: (user-visible name, module) of the plugins shipped with ganforge.
BUILTIN_PLUGINS: tuple[tuple[str, str], ...] = (
    ("core", "gan.builtin"),
    ("tensorboard", "gan.tensorboard_logger"),
    ("toy", "gan_toy.plugin"),
    ("image", "gan_image.plugin"),
    ("translation", "gan_translation.plugin"),
    ("seqgan", "gan_seqgan.plugin"),
    ("superres", "gan_superres.plugin"),
)

REGISTRY_HOOKS = {
    "model": "gan_register_models",
    "loss": "gan_register_losses",
    "dataset": "gan_register_datasets",
    "metric": "gan_register_metrics",
}


class PluginWarning(UserWarning):
    """A third-party plugin was skipped (failed import or registration)."""


@dataclass
class PluginInfo:
    name: str
    module: str
    builtin: bool
    distribution: str = "ganforge"
    version: str = ""
    status: str = "loaded"  # loaded | blocked | failed
    error: str = ""
    hooks: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("name", "module", "builtin", "distribution", "version",
                                              "status", "error", "hooks")}


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}".strip()


class GanPluginManager:
    """Loads plugins and collects what they register.

    Args:
        blocked: plugin names not to load (``-p no:NAME``, env ``GANFORGE_DISABLE_PLUGINS``).
        strict: a broken third-party plugin is an error instead of a warning.
        entry_points: load third-party plugins from the ``ganforge.plugins`` entry-point group.
        builtins: override the list of built-in ``(name, module)`` pairs (tests).
    """

    def __init__(self, blocked: Iterable[str] = (), strict: bool = False, entry_points: bool = True,
                 builtins: Iterable[tuple[str, str]] | None = None) -> None:
        env_blocked = [b.strip() for b in os.environ.get(DISABLE_ENV, "").split(",") if b.strip()]
        self.blocked = set(blocked) | set(env_blocked)
        self.strict = strict
        self.pm = pluggy.PluginManager("gan")
        self.pm.add_hookspecs(hookspecs)
        self.info: dict[str, PluginInfo] = {}
        self.warnings: list[str] = []
        self._registries: dict[str, Registry] | None = None
        self._builtins = tuple(BUILTIN_PLUGINS if builtins is None else builtins)
        self._entry_points = entry_points and not os.environ.get(NO_AUTOLOAD_ENV)
        self._loaded = False

    # --- loading --------------------------------------------------------------------------------
    def load(self) -> GanPluginManager:
        if self._loaded:
            return self
        self._loaded = True
        for name, module in self._builtins:
            info = PluginInfo(name, module, builtin=True, version=_own_version())
            if name in self.blocked:
                info.status = "blocked"
                self.info[name] = info
                continue
            try:
                mod = importlib.import_module(module)
            except ImportError as e:
                # A built-in whose module is absent (a trimmed install) is skipped with a warning.
                self._fail(info, e)
                continue
            self._register(mod, info)
        if self._entry_points:
            for ep in md.entry_points(group=ENTRY_POINT_GROUP):
                dist = getattr(ep, "dist", None)
                info = PluginInfo(ep.name, ep.value, builtin=False,
                                  distribution=getattr(dist, "name", "?") if dist else "?",
                                  version=getattr(dist, "version", "?") if dist else "?")
                if ep.name in self.blocked:
                    info.status = "blocked"
                    self.info[ep.name] = info
                    continue
                if ep.name in self.info and self.info[ep.name].status != "failed":
                    # recorded under another key so the owner's record stays intact
                    self._fail(info, PluginError(f"plugin name {ep.name!r} is already taken by "
                                                 f"{self.info[ep.name].module}"),
                               key=f"{ep.name} ({info.distribution})")
                    continue
                try:
                    mod = ep.load()
                except Exception as e:  # noqa: BLE001 - any import failure is reported, not raised
                    self._fail(info, e)
                    continue
                self._register(mod, info)
        return self

    def register_module(self, module: Any, name: str, builtin: bool = False) -> None:
        """Register a plugin object directly (tests, embedding applications)."""
        self._registries = None
        self._register(module, PluginInfo(name, getattr(module, "__name__", repr(module)), builtin))

    def _register(self, mod: Any, info: PluginInfo) -> None:
        try:
            self.pm.register(mod, name=info.name)
            hooks = [n for n in dir(mod) if n.startswith("gan_") and callable(getattr(mod, n))]
            unknown = [n for n in hooks if not hasattr(self.pm.hook, n)]
            if unknown:
                raise PluginError(f"unknown hook(s) {', '.join(unknown)} (misspelled? see "
                                  f"gan.hookspecs)")
            unmarked = [n for n in hooks if not hasattr(getattr(mod, n), "gan_impl")]
            if unmarked:
                raise PluginError(f"hook function(s) {', '.join(unmarked)} lack @gan.hookimpl")
            self.pm.check_pending()
        except Exception as e:  # noqa: BLE001
            if self.pm.is_registered(mod):
                self.pm.unregister(mod)
            self._fail(info, e)
            return
        info.hooks = sorted(c.name for c in self.pm.get_hookcallers(mod) or [])
        self.info[info.name] = info

    def _fail(self, info: PluginInfo, exc: BaseException, key: str | None = None) -> None:
        info.status, info.error = "failed", _describe(exc)
        self.info[key or info.name] = info
        msg = (f"plugin {info.name!r} ({info.distribution} {info.version}, {info.module}) "
               f"was skipped: {info.error}")
        if self.strict:
            raise PluginError(msg) from exc
        self.warnings.append(msg)
        warnings.warn(msg, PluginWarning, stacklevel=3)

    # --- collection -----------------------------------------------------------------------------
    def registries(self) -> dict[str, Registry]:
        """Call every registration hook impl by impl and resolve clashes; cached."""
        if self._registries is None:
            self.load()
            regs = {kind: Registry(kind) for kind in REGISTRY_HOOKS}
            for kind, hook_name in REGISTRY_HOOKS.items():
                self._collect(regs[kind], hook_name)
            failed = {n for n, i in self.info.items() if i.status == "failed"}
            for reg in regs.values():
                # a plugin that failed in a later hook loses what it registered in earlier ones
                reg._pending = [e for e in reg._pending if e.plugin not in failed]
                reg.finalize()
            self._registries = regs
        return self._registries

    def registry(self, kind: str) -> Registry:
        return self.registries()[kind]

    def _collect(self, registry: Registry, hook_name: str) -> None:
        hook = getattr(self.pm.hook, hook_name)
        for impl in reversed(hook.get_hookimpls()):  # pluggy's call order (last registered first)
            info = self.info.get(impl.plugin_name)
            builtin = bool(info and info.builtin)
            view = registry.view(impl.plugin_name, builtin)
            before = len(registry._pending)
            try:
                impl.function(**{a: view for a in impl.argnames})
            except Exception as e:  # noqa: BLE001
                del registry._pending[before:]
                if builtin:
                    e.add_note(f"(in built-in plugin {impl.plugin_name!r}, hook {hook_name})")
                    raise
                self._fail(info or PluginInfo(impl.plugin_name, "?", False), e)
                self.pm.unregister(name=impl.plugin_name)

    def call_each(self, hook_name: str, *, firstresult: bool = False, tolerant: bool = False,
                  **kwargs: Any) -> Any:
        """Call a hook impl by impl so an exception names the plugin that raised it.

        ``firstresult`` stops at the first non-``None`` result and returns it. ``tolerant`` turns
        an exception from a *third-party* impl into a skipped plugin (a warning; an error under
        ``strict``) so one broken plugin cannot stop the CLI.
        """
        hook = getattr(self.pm.hook, hook_name)
        for impl in reversed(hook.get_hookimpls()):
            try:
                result = impl.function(**{a: kwargs[a] for a in impl.argnames})
            except Exception as e:
                info = self.info.get(impl.plugin_name)
                if tolerant and info is not None and not info.builtin:
                    self._fail(info, e)
                    self.pm.unregister(name=impl.plugin_name)
                    continue
                e.add_note(f"(raised by plugin {impl.plugin_name!r} in {hook_name})")
                raise
            if firstresult and result is not None:
                return result
        return None

    @property
    def hook(self) -> Any:
        return self.pm.hook

    def plugin_of_model(self, name: str) -> str:
        return self.registry("model").entry(name).plugin

    def default_model(self, plugin_or_model: str) -> str:
        """``--plugin NAME``: a registered model name, or a plugin's first registered model."""
        models = self.registry("model")
        if plugin_or_model in models:
            return plugin_or_model
        for entry in models._pending:
            if entry.plugin == plugin_or_model and entry.name in models:
                return entry.name
        from .errors import choices_error
        plugins_with_models = {e.plugin for e in models.entries()}
        raise choices_error("plugin or model", plugin_or_model, set(models.names()) | plugins_with_models)


def _own_version() -> str:
    from . import __version__
    return __version__


_DEFAULT: GanPluginManager | None = None


def default_manager() -> GanPluginManager:
    """The process-wide manager (all plugins, default settings), created on first use."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = GanPluginManager().load()
    return _DEFAULT


def set_default_manager(pm: GanPluginManager | None) -> None:
    """Install ``pm`` as the process-wide manager (the CLI does this after parsing ``-p``)."""
    global _DEFAULT
    _DEFAULT = pm
