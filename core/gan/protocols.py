"""The contracts between the trainer and the models.

Domains differ (noise → image, image → image, token sequences by sampling), so the per-network
protocols are small and the real contract is the :class:`Recipe`: one trainable GAN variant. A recipe
says *what* each phase computes; :class:`gan.trainer.AdversarialTrainer` says *how* it is run
(freezing, backward, clipping, stepping, AMP, EMA, DDP, checkpoints, logging).

Vocabulary
----------
step
    One pass over every phase of the current stage (with each phase's repeats).
    What one step *counts* is the stage's :attr:`Stage.unit`: a minibatch in most recipes, but a
    D step in SeqGAN's ``pretrain_d`` and a whole round (G steps + D steps) in its ``adversarial``
    stage. The run settings that count steps (``run.max_steps``, ``run.log_every``,
    ``run.ckpt_every``, ``run.eval_every``, ``run.sample_every``) count trainer steps, so within a
    stage they count that stage's units, and ``max_steps`` sums them over the stages run so far
    (the progress bar and ``status.json`` name each stage's unit).
Phase
    One optimizer step on one or more named modules: ``Phase("D", "D", "D", repeats=5)`` is the
    WGAN critic. Only the phase's modules receive gradients while it runs. A phase may carry the
    callable that computes its loss (``Phase("D", "D", "D", loss=self.d_loss)``), which the base
    :meth:`Recipe.loss` calls, so a recipe needs no ``if phase.name == ...`` dispatch.
Stage
    A run of ``steps`` steps with its own list of phases, e.g. SeqGAN's ``pretrain_g`` →
    ``pretrain_d`` → ``adversarial``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

if TYPE_CHECKING:  # torch is imported when a recipe is built, so `gan --help` never loads it
    import torch
    from torch import nn


@runtime_checkable
class Network(Protocol):
    """What the trainer, checkpoints and EMA call on every module in ``recipe.models``: the
    ``nn.Module`` members below. Any ``torch.nn.Module`` has them."""

    def forward(self, *args: Any, **kwargs: Any) -> Any: ...

    def parameters(self, recurse: bool = True) -> Any: ...

    def named_parameters(self, *args: Any, **kwargs: Any) -> Any: ...

    def state_dict(self, *args: Any, **kwargs: Any) -> Any: ...

    def load_state_dict(self, state_dict: Any, strict: bool = True, assign: bool = False) -> Any: ...

    def train(self, mode: bool = True) -> Any: ...

    def eval(self) -> Any: ...

    def to(self, *args: Any, **kwargs: Any) -> Any: ...

    def requires_grad_(self, requires_grad: bool = True) -> Any: ...


@runtime_checkable
class Generator(Network, Protocol):
    """A network that produces samples (images, token sequences) from noise, images or a prefix."""


@runtime_checkable
class Discriminator(Network, Protocol):
    """A network that scores samples; returns raw logits/critic values (no sigmoid)."""


@runtime_checkable
class Loss(Protocol):
    """An adversarial objective on discriminator outputs (raw logits / critic values).

    ``d_loss(real, fake)`` is minimised by the discriminator, ``g_loss(fake)`` by the generator.
    Some objectives (relativistic ones) need the real scores in the generator loss too, hence the
    optional ``real`` argument. Entries of the ``loss`` registry (except ``kind="regularizer"``
    callables) are checked against this protocol when they are registered.
    """

    def d_loss(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor: ...

    def g_loss(self, fake: torch.Tensor, real: torch.Tensor | None = None) -> torch.Tensor: ...


@runtime_checkable
class Trainer(Protocol):
    """What ``gan_make_trainer`` must return; :func:`gan.runs.make_trainer` checks it.

    ``gan run`` calls ``resume()`` (with ``--resume``) and ``fit()`` and reads ``step``, ``status``
    and ``is_main``; ``gan sample/eval/translate`` reopen a run through the same hook and call
    ``load_state_dict(state, weights_only=True)`` with a checkpoint's state. The CLI sets the
    attributes ``pm`` and ``cli_options`` before training.
    """

    step: int
    status: str
    is_main: bool

    def fit(self) -> dict[str, Any]: ...

    def resume(self, path: Any = None) -> Any: ...

    def load_state_dict(self, state: dict[str, Any], *, weights_only: bool = False) -> None: ...


def protocol_members(proto: type) -> tuple[str, ...]:
    """The public members (methods and annotated attributes) ``proto`` and its protocol bases declare."""
    names: list[str] = []
    for klass in reversed(proto.__mro__):
        if klass is object or not getattr(klass, "_is_protocol", False) or klass.__name__ in ("Protocol", "Generic"):
            continue
        names += [n for n in vars(klass) if not n.startswith("_")]
        names += [n for n in getattr(klass, "__annotations__", {}) if not n.startswith("_")]
    return tuple(dict.fromkeys(names))


def missing_members(obj: Any, proto: type) -> list[str]:
    """Members of ``proto`` that ``obj`` (an instance or a class) lacks; methods must be callable."""
    missing = []
    methods = {n for n, v in vars(proto).items() if callable(v)}
    for klass in proto.__mro__:
        methods |= {n for n, v in vars(klass).items() if callable(v) and not n.startswith("_")}
    for name in protocol_members(proto):
        try:
            value = getattr(obj, name)
        except Exception:  # noqa: BLE001 - a property that raises is as good as missing
            missing.append(name)
            continue
        if name in methods and not callable(value):
            missing.append(name)
    return missing


#: what a recipe class must define itself (the base class's versions raise NotImplementedError);
#: ``loss`` is not among them: phases may carry their loss callables instead
RECIPE_REQUIRED = ("stages", "phases", "next_batch", "sample")


def recipe_problems(cls: Any) -> list[str]:
    """What keeps ``cls`` from being a usable recipe class: missing members, a Config that is no
    dataclass, presets that are no dict. Empty when it is fine (checked at registration)."""
    if not isinstance(cls, type):
        return ["a Recipe class (got an instance)"]
    problems = []
    for name in RECIPE_REQUIRED:
        impl = getattr(cls, name, None)
        if not callable(impl) or (issubclass(cls, Recipe) and impl is getattr(Recipe, name)):
            problems.append(f"{name}()")
    if not dataclasses.is_dataclass(getattr(cls, "Config", None)):
        problems.append("Config (a dataclass)")
    if not isinstance(getattr(cls, "presets", None), Mapping):
        problems.append("presets (a dict)")
    return problems


def entry_problems(kind: str, obj: Any, meta: Mapping[str, Any]) -> list[str]:
    """What a registry entry of ``kind`` lacks; the registries call this at registration."""
    if kind == "model":
        return recipe_problems(obj)
    if kind == "loss" and meta.get("kind") != "regularizer":
        return [f"{m}()" for m in missing_members(obj, Loss)]
    if not callable(obj):
        return ["__call__ (a callable)"]
    return []


@dataclass(frozen=True)
class Phase:
    """One optimizer step on the named module(s).

    Attributes:
        name: logged as ``<name>/<key>``; unique within a stage.
        modules: names in ``recipe.models`` that this phase trains (the others are frozen).
        optimizer: name in ``recipe.optimizers`` that steps them.
        repeats: optimizer steps per trainer step (n_critic, SeqGAN's d-steps).
        repeats_at: a schedule that overrides ``repeats``: called with the trainer's step (0 for
            the first), it returns that step's optimizer steps (WGAN's reference code: 100 critic
            iterations for the first 25 generator steps and every 500th, else 5). A function of the
            step alone, so every DDP rank and a resumed run take the same number.
        every: run only on steps where ``step % every == 0`` (lazy regularization, StarGAN's G).
        grad_clip: clip the global gradient norm of the phase's parameters to this value.
        fresh_batch: draw a new batch for each repeat; ``False`` reuses the step's last batch
            (a generator phase usually needs no new real data).
        loss: what computes this phase's loss, called as ``loss(batch, step, scratch)`` and
            returning a :class:`LossOutput`. The trainer always calls
            ``recipe.loss(phase, batch, step, scratch)``; the base class's ``loss`` calls this
            callable, so a recipe whose phases carry their losses defines no ``loss`` (and a
            subclass that overrides ``loss`` to wrap it still sees every phase). ``None`` (the
            default, and what older plugins do): the recipe's own ``loss`` dispatches.
    """

    name: str
    modules: tuple[str, ...] | str
    optimizer: str
    repeats: int = 1
    every: int = 1
    grad_clip: float | None = None
    fresh_batch: bool = True
    loss: Callable[[Any, int, dict[str, Any]], LossOutput] | None = field(default=None, compare=False,
                                                                          repr=False)
    repeats_at: Callable[[int], int] | None = field(default=None, compare=False, repr=False)

    def repeats_for(self, step: int) -> int:
        """Optimizer steps this phase takes at trainer step ``step`` (``repeats`` unless scheduled)."""
        if self.repeats_at is None:
            return self.repeats
        n = self.repeats_at(step)
        if not isinstance(n, int) or isinstance(n, bool) or n < 0:
            from .errors import GanError
            raise GanError(f"phase {self.name!r}: its repeats schedule gave {n!r} at step {step}; "
                           "expected a whole number ≥ 0")
        return n

    @property
    def module_names(self) -> tuple[str, ...]:
        return (self.modules,) if isinstance(self.modules, str) else tuple(self.modules)


@dataclass(frozen=True)
class Stage:
    """A run of ``steps`` trainer steps sharing one list of phases.

    ``unit`` says what one step of this stage counts (``"batch"``, ``"d-step"``, ``"round"``); the
    progress bar and ``status.json`` show it. Every step-counting run setting counts steps of the
    stage that is running: ``run.log_every=50`` logs every 50 batches in a ``"batch"`` stage and
    every 50 rounds in a ``"round"`` stage; ``run.ckpt_every`` and ``run.eval_every`` likewise;
    ``run.max_steps`` counts steps over all stages in order (a stage's ``steps`` in its own unit).
    A stage whose step is expensive should say so in its ``unit`` so a user sizes these settings.
    """

    name: str
    steps: int
    unit: str = "step"


@dataclass
class LossOutput:
    """What a recipe's ``loss`` returns: the scalar to minimise and tensors to log.

    Logged values stay on the device; the trainer syncs them to the host only when it logs.
    ``loss=None`` means the phase has nothing to optimise this time (the step is skipped).
    """

    loss: torch.Tensor | None
    logs: dict[str, torch.Tensor | float] = field(default_factory=dict)


class Nets:
    """Attribute access to a recipe's models during one phase.

    Inside a phase, the phase's own modules are returned in their trained form (DDP-wrapped and/or
    compiled when the trainer did so) and every other module in its raw form. Calling a frozen
    network through its raw module keeps DDP's gradient reducer out of phases that do not train it,
    which is what lets GAN phases run under DistributedDataParallel without unused-parameter hacks.
    """

    def __init__(self, raw: Mapping[str, nn.Module], wrapped: Mapping[str, nn.Module] | None = None,
                 active: Sequence[str] = ()) -> None:
        self._raw = raw
        self._wrapped = wrapped or {}
        self._active = set(active)

    def __getattr__(self, name: str) -> nn.Module:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            if name in self._active and name in self._wrapped:
                return self._wrapped[name]
            return self._raw[name]
        except KeyError:
            raise AttributeError(f"no model named {name!r}; models: {sorted(self._raw)}") from None

    __getitem__ = __getattr__


class Recipe:
    """Base class for one trainable GAN variant.

    Subclasses set the class attributes and implement the methods marked *required*. Everything
    else has a sensible default. The recipe is built on its device::

        recipe = DCGAN(config, device=torch.device("cpu"), data=dataset, run=run_config)

    Class attributes:
        name: the kebab-case registry name (``"dcgan"``).
        Config: a dataclass whose defaults are the paper's hyperparameters.
        presets: named partial configs; ``tiny`` (seconds on CPU, used by tests) is mandatory,
            ``paper`` where a paper defines the setup. Values may use dotted keys for nested
            dataclasses (``{"oracle.num_samples": 64}``).
        data_kind: what data the recipe consumes (``"image"``, ``"paired"``, ``"unpaired"``,
            ``"attributes"``, ``"text"``, ``"points"``, ``"oracle"``); the CLI checks a ``--dataset``
            against it.
        default_dataset: the embedded dataset used when no ``--dataset`` is given.
        ema_models: names of generator modules the trainer keeps an exponential moving average of
            (``run.ema_decay``, else ``default_ema_decay``; 0 turns it off).

    Instance attribute ``registries`` (``{"loss": Registry, "metric": Registry, ...}``) holds the
    registries of the plugin manager the recipe was built by (:meth:`create`), so a recipe looks a
    loss up with ``get_loss(name, registry=self.registries.get("loss"))`` and never reaches for a
    process-wide manager; a recipe constructed directly gets ``{}`` (built-ins only).
    """

    name: ClassVar[str] = ""
    Config: ClassVar[type] = object
    presets: ClassVar[dict[str, dict[str, Any]]] = {}
    data_kind: ClassVar[str] = "image"
    default_dataset: ClassVar[str | None] = None
    ema_models: ClassVar[tuple[str, ...]] = ("G",)
    #: EMA decay of ``ema_models`` when ``run.ema_decay`` is not set (None/0 = no EMA); see gan.ema
    default_ema_decay: ClassVar[float | None] = None

    def __init__(self, config: Any, device: torch.device | str = "cpu", data: Any = None,
                 run: Any = None) -> None:
        self.config = config
        import torch
        self.device = torch.device(device)
        self.data = data
        self.run = run
        self.models: dict[str, nn.Module] = {}
        self.optimizers: dict[str, torch.optim.Optimizer] = {}
        self.schedulers: dict[str, Any] = {}
        self.nets = Nets(self.models)
        self.ema: dict[str, nn.Module] = {}  # filled by the trainer when EMA is on
        self.run_dir: Path | None = None  # set by the trainer
        # handed over by create() before __init__ runs, whatever the subclass's signature
        self.registries: Mapping[str, Any] = getattr(self, "registries", None) or {}

    @classmethod
    def create(cls, registries: Mapping[str, Any], *args: Any, **kwargs: Any) -> Recipe:
        """Build ``cls(*args, **kwargs)`` with ``self.registries`` already set in ``__init__``."""
        recipe = cls.__new__(cls)
        recipe.registries = dict(registries)
        recipe.__init__(*args, **kwargs)
        return recipe

    # --- required -----------------------------------------------------------------------------
    def stages(self) -> list[Stage]:
        """The stages in order (most recipes: ``[Stage("train", config.steps)]``)."""
        raise NotImplementedError

    def phases(self, stage: Stage) -> list[Phase]:
        """The phases of ``stage`` in execution order."""
        raise NotImplementedError

    def next_batch(self, stage: Stage, phase: Phase) -> Any:
        """The next batch for ``phase`` (called once per repeat of a phase with ``fresh_batch``)."""
        raise NotImplementedError

    def loss(self, phase: Phase, batch: Any, step: int, scratch: dict[str, Any]) -> LossOutput:
        """Compute the loss of one optimizer step of ``phase``: by default the phase's own
        ``loss`` callable (required unless every phase carries one).

        ``scratch`` is a dict shared by all phases of one step (e.g. fakes made in D's phase under
        ``no_grad`` for reuse); ``self.nets`` gives the networks, trainable ones first-class.
        """
        if phase.loss is not None:
            return phase.loss(batch, step, scratch)
        raise NotImplementedError(f"model {self.name!r}: phase {phase.name!r} carries no loss callable "
                                  f"and {type(self).__qualname__}.loss() is not defined")

    def sample(self, n: int, seed: int | None = None) -> Any:
        """``n`` samples from the generator (EMA weights when present), in the data's domain."""
        raise NotImplementedError

    # --- optional -----------------------------------------------------------------------------
    def prepare_batch(self, batch: Any) -> Any:
        """Move a batch to the device (tensors, tuples/lists/dicts of tensors)."""
        return to_device(batch, self.device)

    def after_step(self, stage: Stage, step: int) -> None:
        """Per-step housekeeping (image pools, rollout-policy sync, weight clipping)."""

    def evaluate(self, full: bool = False) -> dict[str, Any]:
        """Quality figures: ``{"name": float, ..., "protocol": {...}}``.

        ``full=False`` is the cheap check run during training; ``full=True`` is the reported
        protocol of ``gan eval`` (larger sample counts, FID/KID/BLEU ...). The optional ``protocol``
        entry records how the numbers were obtained (sample counts, reference split, feature
        extractor, library versions, sacrebleu signature).
        """
        return {}

    def export_samples(self, n: int, out_dir: Path, seed: int | None = None,
                       nice: bool | int = False) -> list[str]:
        """``gan sample``: write ``n`` samples under ``out_dir``; return lines to print.

        Image recipes write PNG files (and a grid) and return their paths; text recipes return the
        decoded sentences. ``nice`` (``True`` or an oversampling factor; ``gan sample --nice [N]``)
        keeps the ``n`` best-scored of more candidates: :func:`gan.sampling.nice_sample` does it
        on top of :meth:`sample` and :meth:`score`.
        """
        from .errors import GanError
        raise GanError(f"model {self.name!r} does not support 'gan sample'")

    def score(self, samples: Any) -> torch.Tensor:
        """How real the discriminator finds each of ``samples`` (what :meth:`sample` returned),
        ``(N,)``, higher = more real; ranks candidates for ``gan sample --nice``. Must not change
        training state (eval mode, no gradients)."""
        from .errors import GanError
        raise GanError(f"model {self.name!r} cannot rank its samples: 'gan sample --nice' does not apply")

    def save_samples(self, directory: Path, step: int) -> list[Path]:
        """Write sample artefacts (image grids, text) for ``step``; returns the paths written."""
        return []

    def extra_state(self) -> dict[str, Any]:
        """Recipe state beyond models/optimizers/schedulers for exact resume (tensors/primitives).

        The base class saves the position of every :class:`gan.data.BatchStream` the recipe holds
        as a public attribute (``self.stream``, ``self.stream_a`` ...) under ``"streams"``, keyed
        by attribute name, so a recipe needs no state code for its data order. A subclass with
        more state extends the dict: ``state = super().extra_state(); state["pool"] = ...``.
        Streams held privately (``self._d_stream``, built lazily) are the recipe's own business.
        """
        return {"streams": {name: s.state_dict() for name, s in batch_streams(self).items()}}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`extra_state` returned (a subclass calls ``super()`` first).

        A stream missing from ``state`` stays at its start; a saved stream this recipe does not
        hold (a recipe reopened only to sample) is ignored. Checkpoints written before the base
        class saved streams kept each stream at the top level under its attribute name; those
        still load.
        """
        saved = state.get("streams")
        for name, stream in batch_streams(self).items():
            entry = saved.get(name) if saved is not None else state.get(name)  # older layout
            if isinstance(entry, Mapping) and "position" in entry:
                stream.load_state_dict(dict(entry))

    def export_modules(self, **options: Any) -> list[Any]:
        """The inference modules ``gan export`` writes: a list of :class:`gan.export.ExportSpec`.

        Each is a module in its deployed configuration (eval mode, EMA weights when kept) with
        example inputs and metadata (value ranges, layout); :mod:`gan.export` does the rest.
        ``options`` are the ``gan export`` flags the user gave (``test_dropout``, ``direction``);
        refuse the ones that do not apply with :func:`gan.export.check_options`.
        """
        from .errors import GanError
        raise GanError(f"model {self.name!r} declares no inference module for 'gan export'")

    def eval_model(self, name: str = "G") -> nn.Module:
        """The module to sample from: its EMA copy when the trainer keeps one, else the raw one."""
        ema = self.ema.get(name)
        return ema.module if ema is not None else self.models[name]


def batch_streams(recipe: Any) -> dict[str, Any]:
    """The :class:`gan.data.BatchStream` public attributes of ``recipe``, by name, in name order
    (a deterministic order, whatever order ``__init__`` set them in)."""
    from .data import BatchStream  # torch: only once a recipe exists
    return {name: value for name, value in sorted(vars(recipe).items())
            if not name.startswith("_") and isinstance(value, BatchStream)}


def to_device(obj: Any, device: torch.device) -> Any:
    """Recursively move tensors in ``obj`` to ``device`` (non-blocking where pinned)."""
    import torch
    if isinstance(obj, torch.Tensor):
        return obj.to(device, non_blocking=True)
    if isinstance(obj, dict):
        return {k: to_device(v, device) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)) and not (hasattr(obj, "_fields")):
        return type(obj)(to_device(v, device) for v in obj)
    if hasattr(obj, "_fields"):  # namedtuple
        return type(obj)(*(to_device(v, device) for v in obj))
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.replace(obj, **{f.name: to_device(getattr(obj, f.name), device)
                                           for f in dataclasses.fields(obj)})
    return obj


__all__ = [
    "Network", "Generator", "Discriminator", "Loss", "Trainer", "Phase", "Stage", "LossOutput",
    "Nets", "Recipe", "batch_streams", "to_device", "protocol_members", "missing_members", "recipe_problems",
    "entry_problems",
]

