"""SRGAN's VGG content loss (l_VGG/5,4) from a local VGG19 weights file — nothing is downloaded.

φ5,4 is "the feature map obtained by the 4th convolution (after activation) before the 5th
max-pooling layer within the VGG19 network" (Ledig et al. 2017, §2.2.1): torchvision's
``vgg19().features[:36]`` (conv5_4 + ReLU). The paper rescales the feature maps by 1/12.75 "to
obtain VGG losses of a scale that is comparable to the MSE loss" (§3.2); the loss is the MSE
between the rescaled features of the output and of the HR image.

The file is torchvision's ImageNet VGG19 ``state_dict`` (``features.N.weight`` ... keys, classifier
keys ignored) or just the ``features`` part; it is read with ``torch.load(weights_only=True)`` so no
code in it can run. A missing or unsuitable file is one :class:`gan.GanError` line naming it.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from gan.errors import GanError

#: torchvision's ImageNet input normalisation for images in [0, 1]
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
CONV5_4_RELU = 36  # features[:36] ends with the ReLU after conv5_4


def _feature_weights(path: Path) -> dict[str, torch.Tensor]:
    key = f"--set vgg_weights={path}"
    if not path.is_file():
        raise GanError(f"{key}: file not found (expected a local VGG19 state_dict, e.g. torchvision's "
                       f"vgg19-dcbb9e9d.pth; nothing is downloaded)")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - truncated files, pickles with code, other formats
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise GanError(f"{key}: cannot be read as a tensor state_dict safely: {first[:160]}") from None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise GanError(f"{key}: not a state_dict of tensors")
    if any(k.startswith("features.") for k in state):
        state = {k[len("features."):]: v for k, v in state.items() if k.startswith("features.")}
    return state


class VGG54Loss(nn.Module):
    """MSE between φ5,4 features / 12.75 of two ``[-1, 1]`` image batches (frozen VGG19)."""

    def __init__(self, path: str | Path, rescale: float = 1 / 12.75) -> None:
        super().__init__()
        from torchvision.models.vgg import cfgs, make_layers
        path = Path(path).expanduser()
        # vgg19().features without building (and randomly initialising) the 120M-weight classifier
        self.features = make_layers(cfgs["E"])[:CONV5_4_RELU]
        state = _feature_weights(path)
        wanted = self.features.state_dict()
        missing = [k for k in wanted if k not in state]
        if missing:
            raise GanError(f"--set vgg_weights={path}: not VGG19 weights (no {'features.' + missing[0]!r})")
        try:
            self.features.load_state_dict({k: state[k] for k in wanted})
        except RuntimeError as e:
            lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
            detail = lines[1] if len(lines) > 1 else lines[0]
            raise GanError(f"--set vgg_weights={path}: not VGG19 weights ({detail[:160]})") from None
        self.features.requires_grad_(False).eval()
        self.rescale = rescale
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def train(self, mode: bool = True) -> VGG54Loss:
        return super().train(False)  # a fixed feature extractor: never in training mode

    def phi(self, x: torch.Tensor) -> torch.Tensor:
        x01 = (x + 1) / 2
        if x01.shape[1] == 1:
            x01 = x01.expand(-1, 3, -1, -1)
        return self.features((x01 - self.mean) / self.std) * self.rescale

    def forward(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            want = self.phi(target)
        return F.mse_loss(self.phi(output), want)


__all__ = ["VGG54Loss"]
