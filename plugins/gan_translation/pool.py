"""The image history buffer of CycleGAN (Zhu et al. 2017, §4; after Shrivastava et al. 2017).

Discriminators are updated with a mix of the newest fakes and fakes from earlier generators, which
damps oscillation. Until the pool holds ``size`` images every new fake is stored and returned; after
that each new fake is, with probability 1/2, swapped for a uniformly chosen stored image (which is
returned and replaced by the new one), and otherwise returned as is.

The pool draws from its own :class:`torch.Generator` so that its decisions are independent of the
models' random numbers; contents *and* generator state are in :meth:`state_dict`, which makes a
resumed run take exactly the same decisions as an uninterrupted one.
"""

from __future__ import annotations

from typing import Any

import torch


class ImagePool:
    """A buffer of up to ``size`` past images (``size=0`` disables it: queries return the input)."""

    def __init__(self, size: int = 50, seed: int = 0) -> None:
        self.size = int(size)
        self.images: list[torch.Tensor] = []
        self.generator = torch.Generator().manual_seed(int(seed))

    def __len__(self) -> int:
        return len(self.images)

    @torch.no_grad()
    def query(self, images: torch.Tensor) -> torch.Tensor:
        """Return a batch the size of ``images``: each item is the new image or a stored one."""
        if self.size <= 0:
            return images
        out = []
        for image in images.detach():
            if len(self.images) < self.size:
                self.images.append(image.clone())
                out.append(image)
                continue
            if torch.rand((), generator=self.generator).item() < 0.5:
                idx = int(torch.randint(0, self.size, (), generator=self.generator))
                old = self.images[idx]
                self.images[idx] = image.clone()
                out.append(old.to(image.dtype))
            else:
                out.append(image)
        return torch.stack(out)

    def state_dict(self) -> dict[str, Any]:
        stored = torch.stack(self.images).cpu() if self.images else torch.empty(0)
        return {"size": self.size, "images": stored, "rng": self.generator.get_state()}

    def load_state_dict(self, state: dict[str, Any], device: torch.device | str = "cpu") -> None:
        self.size = int(state["size"])
        stored = state["images"]
        self.images = [img.to(device) for img in stored] if stored.numel() else []
        self.generator.set_state(state["rng"])
