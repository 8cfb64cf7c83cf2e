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
import inspect
import os
import types
import warnings
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
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

#: Hooks whose third-party implementations are isolated: one that raises is a skipped plugin (a
#: warning; an error under ``strict``) and the other plugins go on. In every other hook an exception
#: propagates with a note naming the plugin.
ISOLATED_HOOKS = frozenset({"gan_register_models", "gan_register_losses", "gan_register_datasets",
                            "gan_register_metrics", "gan_register_commands", "gan_add_cli_options"})

#: The plugin whose hook implementation is running (set by the per-plugin shim around every impl);
#: registries read it to record provenance, so hooks can be called through pluggy unchanged.
current_plugin: ContextVar[str | None] = ContextVar("gan_current_plugin", default=None)

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
    if isinstance(exc, SystemExit):
        return f"SystemExit: called sys.exit({exc.code!r})"
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
        # where each blocked name came from, to name it when it matches no plugin
        self._blocked_by = {**{b: DISABLE_ENV for b in env_blocked}, **{b: f"-p no:{b}" for b in blocked}}
        self.strict = strict
        self.pm = pluggy.PluginManager("gan")
        self.pm.add_hookspecs(hookspecs)
        self.info: dict[str, PluginInfo] = {}
        self.warnings: list[str] = []
        self._registries: dict[str, Registry] | None = None
        self._builtins = tuple(BUILTIN_PLUGINS if builtins is None else builtins)
        self._entry_points = entry_points and not os.environ.get(NO_AUTOLOAD_ENV)
        self._loaded = False
        self._failed_in_call: list[str] = []
        #: hook name -> the plugin whose implementation last returned a non-None result
        self.answered_by: dict[str, str] = {}

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
                except (Exception, SystemExit) as e:  # noqa: BLE001 - reported, not raised
                    self._fail(info, e)
                    continue
                self._register(mod, info)
        self._warn_unknown_blocked()
        return self

    def _warn_unknown_blocked(self) -> None:
        """A blocked name that matches no plugin is most likely a typo: say so, with the names."""
        known = {name for name, _ in self._builtins} | set(self.info)
        if not self.blocked - known:
            return  # (the entry-point scan below costs ~20 ms of every command's start-up)
        try:
            known |= {ep.name for ep in md.entry_points(group=ENTRY_POINT_GROUP)}
        except Exception:  # noqa: BLE001 - broken metadata must not stop the CLI either
            pass
        for name in sorted(self.blocked - known):
            msg = (f"{self._blocked_by.get(name, name)}: no plugin is named {name!r}; plugins: "
                   f"{', '.join(sorted(known))}")
            self.warnings.append(msg)
            warnings.warn(msg, PluginWarning, stacklevel=3)

    def register_module(self, module: Any, name: str, builtin: bool = False) -> None:
        """Register a plugin object directly (tests, embedding applications)."""
        self._registries = None
        self._register(module, PluginInfo(name, getattr(module, "__name__", repr(module)), builtin))

    def _register(self, mod: Any, info: PluginInfo) -> None:
        shim = None
        try:
            hooks = [n for n in dir(mod) if n.startswith("gan_") and callable(getattr(mod, n))]
            unknown = [n for n in hooks if not hasattr(self.pm.hook, n)]
            if unknown:
                raise PluginError(f"unknown hook(s) {', '.join(unknown)} (misspelled? see "
                                  f"gan.hookspecs)")
            unmarked = [n for n in hooks if not hasattr(getattr(mod, n), "gan_impl")]
            if unmarked:
                raise PluginError(f"hook function(s) {', '.join(unmarked)} lack @gan.hookimpl")
            shim = self._shim(mod, info.name)
            self.pm.register(shim, name=info.name)
            self.pm.check_pending()
        except (Exception, SystemExit) as e:  # noqa: BLE001
            if shim is not None and self.pm.is_registered(shim):
                self.pm.unregister(shim)
            self._fail(info, e)
            return
        info.hooks = sorted(c.name for c in self.pm.get_hookcallers(shim) or [])
        self.info[info.name] = info

    # --- the per-plugin shim --------------------------------------------------------------------
    def _shim(self, mod: Any, name: str) -> types.SimpleNamespace:
        """A stand-in registered with pluggy instead of ``mod``: same hook names, same hookimpl
        options (tryfirst, trylast, wrapper, hookwrapper, specname) and the same argument names, so
        pluggy orders, wraps, traces and applies ``firstresult`` exactly as for ``mod`` itself. Each
        function sets :data:`current_plugin` to ``name`` while the real one runs and turns its
        exceptions into a named failure (see :meth:`_impl_failed`)."""
        shim = types.SimpleNamespace(__name__=f"{getattr(mod, '__name__', name)} (ganforge shim)",
                                     plugin=mod)
        for attr in dir(mod):
            try:
                fn = getattr(mod, attr)
            except Exception:  # noqa: BLE001 - pluggy skips attributes it cannot read, as we do
                continue
            opts = getattr(fn, "gan_impl", None) if inspect.isroutine(fn) else None
            if isinstance(opts, dict):
                setattr(shim, attr, self._shim_function(fn, dict(opts), name, opts.get("specname") or attr))
        return shim

    def _shim_function(self, fn: Callable[..., Any], opts: dict[str, Any], plugin: str,
                       hook: str) -> Callable[..., Any]:
        is_wrapper = bool(opts.get("wrapper") or opts.get("hookwrapper"))
        if is_wrapper:
            def call(*args: Any) -> Any:
                return (yield from self._drive_wrapper(fn, args, plugin, hook, bool(opts.get("wrapper"))))
        else:
            def call(*args: Any) -> Any:
                token = current_plugin.set(plugin)
                try:
                    result = fn(*args)
                    if result is not None:
                        self.answered_by[hook] = plugin  # e.g. who made the trainer
                    return result
                except (Exception, SystemExit) as e:
                    self._impl_failed(plugin, hook, e)
                    return None
                finally:
                    current_plugin.reset(token)
        call.__signature__ = inspect.signature(fn)  # type: ignore[attr-defined]  # pluggy's argnames
        call.__name__ = call.__qualname__ = getattr(fn, "__name__", hook)
        call.__doc__ = getattr(fn, "__doc__", None)
        call.gan_impl = opts  # type: ignore[attr-defined]
        return call

    def _drive_wrapper(self, fn: Callable[..., Any], args: tuple[Any, ...], plugin: str, hook: str,
                       new_style: bool) -> Iterator[Any]:
        """Run the wrapper generator ``fn(*args)`` with :data:`current_plugin` set only while its own
        code runs (not while the wrapped implementations run), forwarding what pluggy sends and
        throws. An exception of the wrapper's own (not one thrown into it) is the plugin's failure;
        in an isolated hook the wrapper then passes the result through unchanged."""
        def step(action: Callable[[], Any]) -> Any:
            token = current_plugin.set(plugin)
            try:
                return action()
            finally:
                current_plugin.reset(token)

        gen = None
        try:
            gen = step(lambda: fn(*args))
            value = step(lambda: next(gen))
        except StopIteration:
            self._impl_failed(plugin, hook, PluginError("hook wrapper did not yield"))
            return (yield)
        except (Exception, SystemExit) as e:
            self._impl_failed(plugin, hook, e)
            return (yield)
        while True:
            try:
                sent = yield value
            except GeneratorExit:
                gen.close()
                raise
            except BaseException as thrown:  # an inner implementation raised: the wrapper sees it
                try:
                    value = step(lambda: gen.throw(thrown))
                except StopIteration as stop:
                    return stop.value
                except BaseException as e:
                    if e is thrown or isinstance(e, (KeyboardInterrupt, GeneratorExit)):
                        raise
                    self._impl_failed(plugin, hook, e)
                    raise thrown from None
                continue
            try:
                value = step(lambda: gen.send(sent))
            except StopIteration as stop:
                return stop.value
            except (Exception, SystemExit) as e:
                self._impl_failed(plugin, hook, e)
                return sent if new_style else None

    def _impl_failed(self, plugin: str, hook: str, exc: BaseException) -> None:
        """An implementation of ``plugin`` raised ``exc`` in ``hook``.

        In an isolated hook a third-party plugin is marked failed and skipped (it is unregistered
        once the hook call is over); in every other case ``exc`` is re-raised with a note naming the
        plugin, which pluggy itself never adds."""
        info = self.info.get(plugin)
        if hook in ISOLATED_HOOKS and info is not None and not info.builtin:
            self._fail(info, exc)  # raises under strict
            self._failed_in_call.append(plugin)
            return
        if isinstance(exc, SystemExit):
            raise PluginError(f"plugin {plugin!r} called sys.exit({exc.code!r}) in {hook}") from exc
        exc.add_note(f"(raised by plugin {plugin!r} in {hook})")
        raise exc

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
        """Call every registration hook through pluggy and resolve clashes; cached."""
        if self._registries is None:
            self.load()
            from .protocols import entry_problems  # entries are checked when they are added
            regs = {kind: Registry(kind, check=entry_problems) for kind in REGISTRY_HOOKS}
            for kind, hook_name in REGISTRY_HOOKS.items():
                self.call(hook_name, registry=regs[kind].hook_view(self._provenance))
            failed = {n for n, i in self.info.items() if i.status == "failed"}
            for reg in regs.values():
                # a plugin that failed in a later hook loses what it registered in earlier ones
                reg._pending = [e for e in reg._pending if e.plugin not in failed]
                reg.finalize()
            self._registries = regs
        return self._registries

    def registry(self, kind: str) -> Registry:
        return self.registries()[kind]

    def _provenance(self) -> tuple[str, bool]:
        plugin = current_plugin.get()
        if plugin is None:
            raise PluginError("registry.add() called outside a registration hook")
        info = self.info.get(plugin)
        return plugin, bool(info and info.builtin)

    def call(self, hook_name: str, **kwargs: Any) -> Any:
        """Call a hook through pluggy (ordering, wrappers, ``firstresult`` and tracing apply).

        A plugin that fails in an isolated hook (:data:`ISOLATED_HOOKS`) is skipped: unregistered
        once the call is over, so its other hooks no longer run."""
        outer, self._failed_in_call = self._failed_in_call, []
        try:
            return getattr(self.pm.hook, hook_name)(**kwargs)
        finally:
            for name in dict.fromkeys(self._failed_in_call):
                if self.pm.get_plugin(name) is not None:
                    self.pm.unregister(name=name)
            self._failed_in_call = outer

    def call_each(self, hook_name: str, *, firstresult: bool = False, tolerant: bool = False,
                  **kwargs: Any) -> Any:
        """Deprecated alias of :meth:`call` (hooks are no longer called impl by impl)."""
        result = self.call(hook_name, **kwargs)
        if firstresult and isinstance(result, list):
            return next((r for r in result if r is not None), None)
        return result

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
