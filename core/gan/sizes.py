"""Memory: sizes checked before they are allocated, and out-of-memory as one line.

A setting such as ``z_dim=1000000000`` or ``g_width=100000`` asks for tensors larger than the
machine. While a run's data and recipe are built, :func:`allocation_guard` looks at every torch
factory call (``empty``, ``zeros``, ``randn``, ... — how parameters and buffers are made) and
refuses one larger than the memory available *before* it is allocated. Whatever still runs out of
memory later (activations during training, an interpolation to a huge image size) becomes one
line naming the size settings that drive memory, exit 2.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch.overrides import TorchFunctionMode

from .errors import GanError

_FACTORIES = {torch.empty, torch.zeros, torch.ones, torch.full, torch.rand, torch.randn, torch.randint,
              torch.empty_strided, torch.normal}
_SIZE_WORDS = ("dim", "width", "size", "hidden", "len", "filters", "channels", "ngf", "ndf", "blocks",
               "layers", "samples", "num_", "vocab", "images", "count", "levels", "windows")


def human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB", "PB"):
        if abs(n) < 1024 or unit == "PB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return f"{n:.1f} PB"  # pragma: no cover


def available_bytes(device: torch.device | str | None = None) -> int | None:
    """Memory a new allocation on ``device`` can still get (None when unknown)."""
    dev = torch.device(device) if device is not None else torch.device("cpu")
    if dev.type == "cuda":
        try:
            return int(torch.cuda.mem_get_info(dev)[0])
        except Exception:  # noqa: BLE001 - no driver, no device: nothing to compare against
            return None
    if dev.type != "cpu":
        return None
    try:
        info = {}
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                key, _, rest = line.partition(":")
                info[key] = int(rest.split()[0]) * 1024
        return info["MemAvailable"] + info.get("SwapFree", 0)
    except (OSError, KeyError, ValueError, IndexError):
        return None


def size_settings(*configs: Any, limit: int = 4) -> str:
    """The largest size-like integer settings of the model and its data (``z_dim=1000000000,
    batch_size=64``), biggest first; evaluation settings are left out (they do not size the model)."""
    found: list[tuple[int, str]] = []

    def walk(cfg: Any, prefix: str) -> None:
        for f in dataclasses.fields(cfg):
            v = getattr(cfg, f.name)
            if f.name.startswith("eval") or f.name.endswith("_samples"):
                continue
            if dataclasses.is_dataclass(v):
                walk(v, f"{prefix}{f.name}.")
            elif isinstance(v, int) and not isinstance(v, bool) and v > 1 \
                    and any(w in f.name for w in _SIZE_WORDS):
                found.append((v, f"{prefix}{f.name}={v}"))
            elif isinstance(v, (tuple, list)) and v and all(isinstance(x, int) and not isinstance(x, bool) for x in v) \
                    and any(w in f.name for w in _SIZE_WORDS):
                found.append((max(v), f"{prefix}{f.name}={','.join(map(str, v))}"))

    for cfg in configs:
        if cfg is not None and dataclasses.is_dataclass(cfg):
            walk(cfg, "")
    found.sort(key=lambda t: -t[0])
    return ", ".join(s for _, s in found[:limit]) or "(none found)"


def is_out_of_memory(e: BaseException) -> bool:
    if isinstance(e, (MemoryError, torch.OutOfMemoryError)):
        return True
    msg = str(e)
    return isinstance(e, RuntimeError) and any(k in msg for k in (
        "can't allocate memory", "DefaultCPUAllocator", "out of memory", "Cannot allocate memory",
        "not enough memory"))


def out_of_memory_error(e: BaseException, what: str, *configs: Any) -> GanError:
    """One line: what ran out of memory, how much it asked for (when torch says) and the settings
    that drive the size."""
    import re
    m = re.search(r"allocate (\d+) bytes", str(e))
    asked = f" (an allocation of {human_bytes(int(m.group(1)))})" if m else ""
    return GanError(f"out of memory {what}{asked}; the size settings that drive it: "
                    f"{size_settings(*configs)} — lower them (or the batch size)")


class _Guard(TorchFunctionMode):
    def __init__(self, what: str, configs: tuple[Any, ...], cumulative: bool = False) -> None:
        super().__init__()
        self.what, self.configs, self.cumulative = what, configs, cumulative
        self._available: dict[str, int | None] = {}
        self._taken: dict[str, int] = {}  # bytes of the tensors allowed so far, per device (cumulative)

    def __torch_function__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        if func in _FACTORIES:
            self._check(func, args, kwargs)
        return func(*args, **kwargs)

    def _check(self, func: Any, args: Any, kwargs: dict[str, Any]) -> None:
        shape = kwargs.get("size")
        if shape is None:
            pos = args[2:] if func is torch.randint else args[:1] if func is torch.full else args
            if func is torch.normal:
                return  # sized by its tensor arguments, except normal(mean, std, size)
            if len(pos) == 1 and isinstance(pos[0], (tuple, list, torch.Size)):
                shape = pos[0]
            elif func is not torch.randint:
                shape = pos
            else:
                shape = pos[0] if pos and isinstance(pos[0], (tuple, list, torch.Size)) else ()
        try:
            numel = math.prod(int(s) for s in shape)
        except (TypeError, ValueError):
            return
        dtype = kwargs.get("dtype") or (torch.int64 if func is torch.randint else torch.get_default_dtype())
        need = numel * torch.empty((), dtype=dtype, device="meta").element_size()
        device = kwargs.get("device")
        key = str(device) if device is not None else "cpu"
        if key not in self._available:
            self._available[key] = available_bytes(device)
        avail = self._available[key]
        taken = self._taken.get(key, 0)
        if avail is not None and need + taken > avail:
            so_far = f" ({human_bytes(taken)} already taken by it)" if taken else ""
            raise GanError(f"{self.what} would need {human_bytes(need)} for one tensor of shape "
                           f"{tuple(int(s) for s in shape)}{so_far}, more than the {human_bytes(avail)} of memory "
                           f"available; the size settings that drive it: {size_settings(*self.configs)}")
        if self.cumulative:
            self._taken[key] = taken + need


@contextmanager
def allocation_guard(what: str, *configs: Any, cumulative: bool = False) -> Iterator[None]:
    """Refuse oversized tensors before they are allocated; turn a real out-of-memory into one line.

    ``cumulative``: count every tensor created inside against the memory available at entry, for
    steps whose tensors all stay alive (building a model: a 13 GB layer that fits alone must not be
    allocated when the next layer cannot be)."""
    try:
        with _Guard(what, configs, cumulative):
            yield
    except GanError:
        raise
    except Exception as e:
        if is_out_of_memory(e):
            raise out_of_memory_error(e, what, *configs) from None
        raise
