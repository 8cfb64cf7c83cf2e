"""``gan export``: write a run's inference module as ONNX or TorchScript, checked for output parity.

A recipe declares what is deployed through :meth:`gan.protocols.Recipe.export_modules`: a list of
:class:`ExportSpec`, each an ``nn.Module`` already in its inference configuration (eval mode, the EMA
weights when the run keeps them, dropout as the user asked) plus how to make example inputs and what
to write into the file's metadata. This module is generic: it knows nothing about images or text.

The guarantee: a file is only written after it has been run — ONNX with onnxruntime on the CPU,
TorchScript with ``torch.jit.load`` — on several inputs (different batch sizes and, for fully
convolutional generators, spatial sizes other than the traced one) and every output matched the
PyTorch module within :data:`TOLERANCE` (max absolute difference, fp32). Otherwise nothing is
written and the error names the largest difference and the input it occurred on.

ONNX goes through ``torch.onnx.export(..., dynamo=True)`` (``torch.export`` + onnxscript), the
exporter torch maintains; the TorchScript-based ONNX exporter is deprecated. TorchScript files are
traced; tracing freezes Python control flow, which is why the parity check also runs sizes the trace
never saw.
"""

from __future__ import annotations

import contextlib
import inspect
import io
import json
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .errors import GanError

FORMATS = ("onnx", "torchscript")
SUFFIX = {"onnx": ".onnx", "torchscript": ".pt"}
TOLERANCE = 1e-4  # max |exported - PyTorch| accepted, fp32 (issue 16)
PARITY_SEED = 20240601  # inputs (and shared dropout masks) of the parity check
METADATA_FILE = "ganforge.json"  # TorchScript: the extra file holding the metadata


def parity_sizes(side: int) -> list[tuple[int, int]]:
    """``ExportSpec.sizes`` of a fully convolutional network trained on ``side``² inputs: that size,
    and a non-square one that is no multiple of any stride (where a traced graph would break)."""
    return [(side, side), (max(5, side - 3), side + 5)]


@dataclass
class ExportSpec:
    """One deployable module of a recipe.

    ``module(*inputs)`` returns one tensor or a tuple of tensors. ``make_inputs(batch, size, gen)``
    returns example inputs (on the CPU) for ``batch`` rows; ``size`` is an ``(H, W)`` from ``sizes``
    for inputs with a free spatial size, else ``None``. Every input's dimension 0 is a dynamic
    batch; inputs named in ``spatial_inputs`` also get dynamic height (dim 2) and width (dim 3).
    ``stochastic``: the output draws from torch's RNG (test-time dropout); parity is then checked
    with the same seed on both sides, which only TorchScript can share.
    """

    name: str
    module: nn.Module
    input_names: list[str]
    output_names: list[str]
    make_inputs: Callable[[int, tuple[int, int] | None, torch.Generator], tuple[torch.Tensor, ...]]
    sizes: list[tuple[int, int]] = field(default_factory=list)
    spatial_inputs: tuple[str, ...] = ()
    metadata: dict[str, Any] = field(default_factory=dict)
    unsupported: dict[str, str] = field(default_factory=dict)  # format -> why not
    stochastic: bool = False


@dataclass
class ExportResult:
    spec: str
    path: Path
    format: str
    max_diff: float
    cases: int
    seconds: float
    bytes: int


def check_options(model: str, options: dict[str, Any], allowed: Sequence[str]) -> None:
    """A ``gan export`` flag the model has no use for is an error naming the flag."""
    for key in options:
        if key not in allowed:
            flag = "--" + key.replace("_", "-")
            raise GanError(f"{flag} does not apply to model {model!r}"
                           + (f" (it takes: {', '.join('--' + a.replace('_', '-') for a in allowed)})"
                              if allowed else ""))


def parity_cases(spec: ExportSpec) -> list[tuple[str, tuple[torch.Tensor, ...]]]:
    """The export example (first) and the inputs the file must reproduce: batch sizes 2, 1, 3 and,
    for spatial inputs, every size of ``spec.sizes``."""
    gen = torch.Generator().manual_seed(PARITY_SEED)
    sizes: list[tuple[int, int] | None] = list(spec.sizes) or [None]
    plan = [(2, sizes[0]), (1, sizes[-1]), (3, sizes[min(1, len(sizes) - 1)])]
    plan += [(1, s) for s in sizes[2:]]
    cases = []
    for batch, size in plan:
        label = f"batch {batch}" + (f" at {size[0]}×{size[1]}" if size is not None else "")
        cases.append((label, tuple(spec.make_inputs(batch, size, gen))))
    return cases


def _as_tuple(out: Any) -> tuple[torch.Tensor, ...]:
    return tuple(out) if isinstance(out, (tuple, list)) else (out,)


def _run_reference(spec: ExportSpec, inputs: tuple[torch.Tensor, ...], seed: int) -> tuple[torch.Tensor, ...]:
    with torch.no_grad(), torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return tuple(t.detach().cpu() for t in _as_tuple(spec.module(*inputs)))


def _dynamic_shapes(spec: ExportSpec) -> tuple[dict[int, Any], ...]:
    batch = torch.export.Dim("batch")
    height, width = torch.export.Dim("height"), torch.export.Dim("width")
    shapes = tuple({0: batch, 2: height, 3: width} if name in spec.spatial_inputs else {0: batch}
                   for name in spec.input_names)
    params = list(inspect.signature(spec.module.forward).parameters.values())
    if len(params) == 1 and params[0].kind is inspect.Parameter.VAR_POSITIONAL:
        return (shapes,)  # torch.export mirrors the signature: forward(*inputs) takes one tuple
    return shapes


def _flat_metadata(meta: dict[str, Any]) -> dict[str, str]:
    return {f"ganforge.{k}": v if isinstance(v, str) else json.dumps(v, sort_keys=True) for k, v in meta.items()}


def _write_onnx(spec: ExportSpec, example: tuple[torch.Tensor, ...], path: Path, meta: dict[str, Any]) -> None:
    try:
        import onnx  # noqa: F401
        import onnxscript  # noqa: F401
    except ImportError as e:
        raise GanError(f"--format onnx needs the 'export' extra ({e.name} is missing): "
                       f"pip install 'ganforge[export]'") from None
    with warnings.catch_warnings(), torch.no_grad(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        try:
            program = torch.onnx.export(spec.module, example, dynamo=True, input_names=spec.input_names,
                                        output_names=spec.output_names, dynamic_shapes=_dynamic_shapes(spec),
                                        optimize=True, verbose=False)
        except Exception as e:  # noqa: BLE001 - torch's report is pages long; name the cause
            cause = e
            while cause.__cause__ is not None:
                cause = cause.__cause__
            first = str(cause).strip().splitlines()[0][:240] if str(cause).strip() else type(cause).__name__
            raise GanError(f"ONNX export of {spec.name} failed ({type(cause).__name__}: {first}); "
                           f"try --format torchscript") from None
    import onnx
    model = program.model_proto
    for key, value in _flat_metadata(meta).items():
        prop = model.metadata_props.add()
        prop.key, prop.value = key, value
    onnx.save(model, str(path))


def _run_onnx(path: Path, names: Sequence[str], inputs: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
    try:
        import onnxruntime as ort
    except ImportError:
        raise GanError("--format onnx checks the file with onnxruntime, which is missing: "
                       "pip install 'ganforge[export]'") from None
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.log_severity_level = 3
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    feeds = {name: t.numpy() for name, t in zip(names, inputs)}
    return tuple(torch.from_numpy(o) for o in session.run(None, feeds))


def _write_torchscript(spec: ExportSpec, example: tuple[torch.Tensor, ...], path: Path, meta: dict[str, Any]) -> None:
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer notes; torch 2.14 marks TorchScript deprecated
        traced = torch.jit.trace(spec.module, example, check_trace=False)
        torch.jit.save(traced, str(path), _extra_files={METADATA_FILE: json.dumps(meta, indent=2, sort_keys=True)})


def _load_torchscript(path: Path, extra_files: dict[str, str] | None = None) -> Any:
    """Load a TorchScript file that this process has just written (the parity check only: a
    TorchScript file is code, so files from elsewhere are never loaded)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # deprecated upstream, still supported
        return torch.jit.load(str(path), map_location="cpu", _extra_files=extra_files or {})


def _run_torchscript(path: Path, inputs: tuple[torch.Tensor, ...], seed: int) -> tuple[torch.Tensor, ...]:
    module = _load_torchscript(path)
    with torch.no_grad(), torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return tuple(t.detach().cpu() for t in _as_tuple(module(*inputs)))


def compare(reference: tuple[torch.Tensor, ...], exported: tuple[torch.Tensor, ...],
            names: Sequence[str]) -> tuple[float, str]:
    """``(max abs difference, output name)`` over all outputs; a shape or count mismatch is ``inf``."""
    if len(reference) != len(exported):
        return float("inf"), f"{len(exported)} outputs instead of {len(reference)}"
    worst, where = 0.0, names[0] if names else "output"
    for i, (a, b) in enumerate(zip(reference, exported)):
        name = names[i] if i < len(names) else f"output {i}"
        if tuple(a.shape) != tuple(b.shape):
            return float("inf"), f"{name} has shape {tuple(b.shape)} instead of {tuple(a.shape)}"
        if a.numel() == 0:
            continue
        d = float((a.double() - b.double()).abs().max())
        if not d == d:  # NaN on one side only
            d = float("inf")
        if d > worst:
            worst, where = d, name
    return worst, where


def export_spec(spec: ExportSpec, fmt: str, path: Path, meta: dict[str, Any]) -> ExportResult:
    """Write ``spec`` to ``path`` (atomically) after the parity check; see the module docstring."""
    if fmt not in FORMATS:
        raise GanError(f"--format {fmt!r}: expected one of {', '.join(FORMATS)}")
    if fmt in spec.unsupported:
        raise GanError(f"--format {fmt} is not available for {spec.name}: {spec.unsupported[fmt]}")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    cases = parity_cases(spec)
    start = time.perf_counter()
    meta = {**meta, **spec.metadata, "format": fmt, "parity_tolerance": TOLERANCE}
    worst = 0.0
    try:
        (_write_onnx if fmt == "onnx" else _write_torchscript)(spec, cases[0][1], tmp, meta)
        for i, (label, inputs) in enumerate(cases):
            seed = PARITY_SEED + i
            ref = _run_reference(spec, inputs, seed)
            try:
                got = _run_onnx(tmp, spec.input_names, inputs) if fmt == "onnx" else \
                    _run_torchscript(tmp, inputs, seed)
            except GanError:
                raise
            except Exception as e:  # noqa: BLE001 - the runtime refusing an input is a parity failure
                first = str(e).strip().splitlines()[0][:200] if str(e).strip() else type(e).__name__
                raise GanError(f"parity check failed for {spec.name} ({fmt}): the exported file does not "
                               f"run on {label}: {first}; no file written") from None
            diff, where = compare(ref, got, spec.output_names)
            worst = max(worst, diff)
            if not diff <= TOLERANCE:
                raise GanError(f"parity check failed for {spec.name} ({fmt}): max |exported - PyTorch| = "
                               f"{diff:.3g} on {where}, {label} (tolerance {TOLERANCE:g}); no file written")
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    seconds = time.perf_counter() - start
    return ExportResult(spec.name, path, fmt, worst, len(cases), seconds, path.stat().st_size)


def output_paths(specs: Sequence[ExportSpec], fmt: str, out: Path | None, default_dir: Path,
                 model: str) -> list[Path]:
    """One path per spec: ``out`` itself for a single spec, else ``<out stem>-<spec><suffix>``."""
    suffix = SUFFIX[fmt]
    if out is None:
        base = default_dir / f"{model}{suffix}"
    else:
        base = Path(out).expanduser()
        if base.is_dir():
            raise GanError(f"--out {base}: is a folder; give a file name such as {base / (model + suffix)}")
    if len(specs) == 1:
        return [base]
    stem = base.name[: -len(base.suffix)] if base.suffix else base.name
    return [base.with_name(f"{stem}-{s.name}{base.suffix or suffix}") for s in specs]


def export_run(recipe: Any, fmt: str = "onnx", out: Path | None = None,
               options: dict[str, Any] | None = None) -> list[ExportResult]:
    """Export every module ``recipe.export_modules(**options)`` declares; returns what was written."""
    from . import __version__
    if fmt not in FORMATS:
        raise GanError(f"--format {fmt!r}: expected one of {', '.join(FORMATS)}")
    specs = recipe.export_modules(**(options or {}))
    run_dir = Path(getattr(recipe, "run_dir", None) or ".")
    paths = output_paths(specs, fmt, out, run_dir / "export", recipe.name)
    ckpt = getattr(recipe, "checkpoint_path", None)
    meta = {"producer": f"ganforge {__version__}", "torch": torch.__version__, "model": recipe.name,
            "checkpoint": str(ckpt) if ckpt is not None else None,
            "ema_weights": bool(getattr(recipe, "ema", None))}
    return [export_spec(spec, fmt, path, {**meta, "module": spec.name}) for spec, path in zip(specs, paths)]


def read_metadata(path: str | Path) -> dict[str, Any]:
    """The ``ganforge.*`` metadata of an exported file, decoded (tests, tools)."""
    path = Path(path)
    if path.suffix == ".onnx":
        import onnx
        model = onnx.load(str(path), load_external_data=False)
        out = {}
        for p in model.metadata_props:
            if p.key.startswith("ganforge."):
                try:
                    out[p.key[9:]] = json.loads(p.value)
                except json.JSONDecodeError:
                    out[p.key[9:]] = p.value
        return out
    import zipfile  # a TorchScript file is a zip archive: read its extra file without loading code
    with zipfile.ZipFile(path) as z:
        name = next((n for n in z.namelist() if n.split("/", 1)[-1] == f"extra/{METADATA_FILE}"), None)
        if name is None:
            raise GanError(f"{path}: no {METADATA_FILE} in this TorchScript file (not written by gan export)")
        return json.loads(z.read(name))


def inference_copy(module: nn.Module, dropout: bool = False) -> nn.Module:
    """A private copy of ``module`` in eval mode (dropout layers kept training when ``dropout``),
    on the CPU in float32, so exporting never changes the run's own modules."""
    import copy
    m = copy.deepcopy(module).cpu().float().eval()
    if dropout:
        for sub in m.modules():
            if isinstance(sub, nn.Dropout):
                sub.train()
    for p in m.parameters():
        p.requires_grad_(False)
    return m


__all__ = ["ExportSpec", "ExportResult", "FORMATS", "TOLERANCE", "check_options", "export_run",
           "export_spec", "read_metadata", "inference_copy", "parity_cases", "compare"]
