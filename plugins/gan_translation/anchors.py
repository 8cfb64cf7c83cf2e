"""``gan import`` for the translation models: the anchors' generator state dicts → ours.

pytorch-CycleGAN-and-pix2pix (junyanz), ``--from cyclegan-and-pix2pix``:

* ``ResnetGenerator`` (``resnet_6blocks`` / ``resnet_9blocks``): a flat ``model`` Sequential with the
  same layers in the same order as our :class:`~.networks.ResnetGenerator`; only the residual
  blocks' inner Sequential is called ``conv_block`` there and ``block`` here (with ``use_dropout``
  their second convolution sits one index later; dropout is identity at inference).
* ``UnetGenerator`` (``unet_256``, ``unet_128``): nested ``UnetSkipConnectionBlock``s, keys
  ``model.model.0`` (outermost down-conv), ``model.model.1.model.1`` (next down-conv), ... Each
  block returns ``cat([input, up(input)])``, i.e. *skip first*; ours concatenates ``[up, skip]``, so
  the input channels of every up-convolution that reads a skip are swapped half for half. Their
  outermost and innermost down-convolutions have no bias with batch norm; ours have one, set to 0.
  Their dropout sits on the ``num_downs - 5`` decoder blocks after the innermost (the paper's on the
  first three): ``dropout_layout=cyclegan-and-pix2pix`` reproduces that, which matters only with
  test-time dropout.
* Norms: their batch norm keeps running statistics, but their test script uses them only with
  ``--eval``; by default (as in the paper) it normalises with the test batch, which is what our
  ``norm=batch`` always does. The running statistics are therefore not imported, and the ``--eval``
  behaviour is not reproducible here. Instance norm (CycleGAN) has no parameters.

StarGAN (yunjey), ``--from stargan``: ``main`` Sequential with the layers of our
:class:`~.networks.StarGenerator` at the same indices; residual blocks ``main.K.main.{0,1,3,4}``
(conv with padding 1, no bias) ↔ ours ``model.K.block.{1,2,5,6}`` (zero pad then conv, with a bias
set to 0). Its instance norms keep running statistics, which StarGAN's test code never uses (the
generator is never put in eval mode); ours use per-image statistics too.
"""

from __future__ import annotations

import re
from typing import Any

import torch

from gan.errors import GanError
from gan.importers import KeyMap, apply_key_map

STATS = ("running_mean", "running_var", "num_batches_tracked")


def is_stat(key: str) -> bool:
    return key.rsplit(".", 1)[-1] in STATS


def _no_options(source: str, options: dict[str, Any], allowed: tuple[str, ...] = ()) -> None:
    for k in options:
        if k not in allowed:
            raise GanError(f"--{k.replace('_', '-')} does not apply to this import (--from {source})")


def _need(source: str, expected: str, recipe_cls: Any) -> None:
    if source != expected:
        raise GanError(f"--from {source}: model {recipe_cls.name!r} imports from {expected} only")


def _require(sd: dict[str, torch.Tensor], key: str, label: str, what: str) -> torch.Tensor:
    if key not in sd:
        raise GanError(f"{label}: key {key!r} is missing: not {what}")
    return sd[key]


# --- ResNet generator (CycleGAN) -----------------------------------------------------------------
def resnet_config(sd: dict[str, torch.Tensor], label: str) -> dict[str, Any]:
    w = _require(sd, "model.1.weight", label, "a pytorch-CycleGAN-and-pix2pix ResnetGenerator")
    blocks = {int(m.group(1)) for k in sd if (m := re.match(r"model\.(\d+)\.conv_block\.", k))}
    if not blocks:
        raise GanError(f"{label}: no 'model.N.conv_block' keys: not a ResnetGenerator")
    return {"ngf": int(w.shape[0]), "n_blocks": len(blocks),
            "norm": "batch" if "model.2.weight" in sd else "instance"}


def resnet_key_map(module: torch.nn.Module, sd: dict[str, torch.Tensor]) -> KeyMap:
    km = KeyMap("pytorch-CycleGAN-and-pix2pix ResnetGenerator", ignore=is_stat)
    # use_dropout: a Dropout at index 4 moves the second convolution from 5 to 6
    shifted = any(k.endswith(".conv_block.6.weight") and v.dim() == 4 for k, v in sd.items())
    for key in module.state_dict():
        m = re.match(r"model\.(\d+)\.block\.(\d+)\.(.+)", key)
        if m:
            i, j, p = int(m.group(1)), int(m.group(2)), m.group(3)
            km.add(f"model.{i}.conv_block.{j + 1 if shifted and j >= 4 else j}.{p}", key)
        else:
            km.add(key, key)
    return km


# --- U-Net generator (pix2pix) -------------------------------------------------------------------
def unet_prefix(level: int) -> str:
    """Key prefix of the ``level``-th UnetSkipConnectionBlock's Sequential (0 = outermost)."""
    prefix = "model.model."
    for k in range(level):
        prefix += ("1" if k == 0 else "3") + ".model."
    return prefix


def unet_config(sd: dict[str, torch.Tensor], label: str) -> dict[str, Any]:
    w = _require(sd, "model.model.0.weight", label, "a pytorch-CycleGAN-and-pix2pix UnetGenerator")
    levels = 1
    while unet_prefix(levels) + "1.weight" in sd:
        levels += 1
    if levels < 5:
        raise GanError(f"{label}: a UnetGenerator has at least 5 levels, found {levels}")
    return {"ngf": int(w.shape[0]), "num_downs": levels, "dropout_layout": "cyclegan-and-pix2pix",
            "norm": "batch" if unet_prefix(1) + "2.weight" in sd else "instance"}


def _swap_halves(w: torch.Tensor) -> torch.Tensor:
    c = w.shape[0] // 2
    return torch.cat([w[c:], w[:c]], 0)


def unet_key_map(module: Any, norm: str) -> KeyMap:
    km = KeyMap("pytorch-CycleGAN-and-pix2pix UnetGenerator", ignore=is_stat)
    levels = module.num_downs
    ours = module.state_dict()
    for k in range(levels):
        pre, inner, outer = unet_prefix(k), k == levels - 1, k == 0
        down_conv = 0 if outer else 1
        up_conv, up_norm = (3, None) if outer else ((3, 4) if inner else (5, 6))
        our_down = f"downs.{k}.{0 if outer else 1}"
        our_up = f"ups.{levels - 1 - k}"
        km.add(f"{pre}{down_conv}.weight", f"{our_down}.weight")
        if f"{our_down}.bias" in ours:
            if norm != "batch":  # theirs: bias=use_bias on every down-convolution
                km.add(f"{pre}{down_conv}.bias", f"{our_down}.bias")
            else:
                km.zero.append(f"{our_down}.bias")
        if not outer and not inner and f"downs.{k}.2.weight" in ours:
            for p in ("weight", "bias"):
                km.add(f"{pre}2.{p}", f"downs.{k}.2.{p}")
        km.add(f"{pre}{up_conv}.weight", f"{our_up}.1.weight", None if inner else _swap_halves)
        if f"{our_up}.1.bias" in ours:
            km.add(f"{pre}{up_conv}.bias", f"{our_up}.1.bias")
        if up_norm is not None and f"{our_up}.2.weight" in ours:
            for p in ("weight", "bias"):
                km.add(f"{pre}{up_norm}.{p}", f"{our_up}.2.{p}")
    return km


# --- StarGAN generator ---------------------------------------------------------------------------
def stargan_config(sd: dict[str, torch.Tensor], label: str) -> dict[str, Any]:
    w = _require(sd, "main.0.weight", label, "a StarGAN generator (yunjey/stargan)")
    blocks = {int(m.group(1)) for k in sd if (m := re.match(r"main\.(\d+)\.main\.", k))}
    if not blocks:
        raise GanError(f"{label}: no 'main.N.main' keys: not a StarGAN generator")
    return {"g_conv_dim": int(w.shape[0]), "g_repeat_num": len(blocks)}


def stargan_key_map(module: torch.nn.Module) -> KeyMap:
    km = KeyMap("StarGAN generator (yunjey/stargan)", ignore=is_stat)
    theirs = {1: 0, 2: 1, 5: 3, 6: 4}  # our block index → theirs (we pad separately)
    for key in module.state_dict():
        m = re.match(r"model\.(\d+)\.block\.(\d+)\.(.+)", key)
        if m:
            i, j, p = int(m.group(1)), int(m.group(2)), m.group(3)
            if p == "bias" and j in (1, 5):
                km.zero.append(key)  # their residual convolutions have no bias
            else:
                km.add(f"main.{i}.main.{theirs[j]}.{p}", key)
        else:
            km.add(key.replace("model.", "main.", 1), key)
    return km


# --- recipe entry points -------------------------------------------------------------------------
def _one_file_config(cls: Any, source: str, expected: str, states: list[Any], labels: list[str],
                     options: dict[str, Any], example: str, infer: Any) -> dict:
    _need(source, expected, cls)
    _no_options(source, options)
    if len(states) != 1:
        raise GanError(f"{cls.name} takes one generator file ({example})")
    return infer(states[0], labels[0])


def pix2pix_import_config(cls: Any, source: str, states: list[Any], labels: list[str], **options: Any) -> dict:
    return _one_file_config(cls, source, "cyclegan-and-pix2pix", states, labels, options,
                            "latest_net_G.pth", unet_config)


def pix2pix_import_weights(recipe: Any, source: str, states: list[Any], labels: list[str], **options: Any) -> None:
    g, c = recipe.models["G"], recipe.config
    apply_key_map(g, states[0], unet_key_map(g, c.norm), labels[0],
                  hint=f"num_downs={g.num_downs}, ngf={c.ngf}, norm={c.norm}, channels {recipe.pairs.channels}")


def cyclegan_import_config(cls: Any, source: str, states: list[Any], labels: list[str], **options: Any) -> dict:
    _need(source, "cyclegan-and-pix2pix", cls)
    _no_options(source, options, ("direction",))
    if len(states) == 2 and options.get("direction"):
        raise GanError("--direction applies to a single generator file; with --weights-b the first file "
                       "is G_A (A→B) and the second G_B (B→A)")
    cfgs = [resnet_config(sd, lab) for sd, lab in zip(states, labels)]
    if len(cfgs) == 2 and cfgs[0] != cfgs[1]:
        raise GanError(f"{labels[1]}: generator shape {cfgs[1]} differs from {labels[0]}'s {cfgs[0]}")
    return cfgs[0]


def cyclegan_import_weights(recipe: Any, source: str, states: list[Any], labels: list[str],
                            direction: str | None = None, **options: Any) -> None:
    """One file: becomes ``G_AB`` (or ``G_BA`` with ``--direction BtoA``); the other generator keeps
    its fresh initialisation. Two files: junyanz's ``G_A`` (A→B) and ``G_B`` (B→A)."""
    names = ["G_AB", "G_BA"] if len(states) == 2 else ["G_BA" if direction == "BtoA" else "G_AB"]
    c = recipe.config
    for name, sd, label in zip(names, states, labels):
        g = recipe.models[name]
        apply_key_map(g, sd, resnet_key_map(g, sd), label,
                      hint=f"{name}: ngf={c.ngf}, n_blocks={c.n_blocks}, norm={c.norm}, "
                           f"channels {recipe.domains.channels}")


def stargan_import_config(cls: Any, source: str, states: list[Any], labels: list[str], **options: Any) -> dict:
    return _one_file_config(cls, source, "stargan", states, labels, options, "e.g. 200000-G.ckpt",
                            stargan_config)


def stargan_import_weights(recipe: Any, source: str, states: list[Any], labels: list[str], **options: Any) -> None:
    g, c = recipe.models["G"], recipe.config
    apply_key_map(g, states[0], stargan_key_map(g), labels[0],
                  hint=f"g_conv_dim={c.g_conv_dim}, g_repeat_num={c.g_repeat_num}, "
                       f"{recipe.attributes.channels} channels + {recipe.labels.dim} labels "
                       f"({', '.join(recipe.labels.names)})")
