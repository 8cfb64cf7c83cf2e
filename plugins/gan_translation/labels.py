"""StarGAN's label space: binary attributes, mutually exclusive groups, and target domains.

A label vector has one entry per attribute (``Black_Hair, Blond_Hair, Brown_Hair, Male, Young``;
or one-hot over the folders of a folder-per-domain set). Attributes in a *group* exclude each other
(hair colours, the domains of RaFD); the others are independent binary attributes. Each group and
each independent attribute is a *factor*: a categorical variable the evaluation classifiers
predict (a group factor has an extra "none" value in multi-attribute data, for images with no
member set — e.g. bald people in CelebA).

A *target domain* is one setting of one factor: "Blond_Hair" (the hair group set to blond),
"Male" / "not-Male" (an independent attribute set to 1 / 0). The sample grid shows one row per
target domain and the evaluation reports figures per target domain.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from gan.errors import GanError


@dataclass(frozen=True)
class Factor:
    name: str
    members: tuple[int, ...]  # attribute indices; one index for an independent binary attribute
    classes: int  # number of values (group: members [+ "none"]; binary: 2)
    is_group: bool


@dataclass(frozen=True)
class TargetDomain:
    name: str
    factor: int  # index into LabelSpace.factors
    value: int  # the factor value this domain sets
    attribute: int  # the attribute index set (to 1 for groups and "Male", to 0 for "not-Male")
    on: bool  # the attribute's target value


class LabelSpace:
    """Attribute names + exclusive groups + mode (``multi``: BCE; ``single``: one domain, softmax)."""

    def __init__(self, names: Sequence[str], groups: Sequence[Sequence[int]] = (), mode: str = "multi") -> None:
        self.names = list(names)
        self.mode = mode
        if mode == "single":
            groups = [list(range(len(self.names)))]
        self.groups = [tuple(g) for g in groups]
        grouped = {i for g in self.groups for i in g}
        factors: list[Factor] = []
        for g in self.groups:
            extra = 0 if mode == "single" else 1
            factors.append(Factor("/".join(self.names[i] for i in g), g, len(g) + extra, True))
        for i, n in enumerate(self.names):
            if i not in grouped:
                factors.append(Factor(n, (i,), 2, False))
        self.factors = factors
        domains: list[TargetDomain] = []
        for f, fac in enumerate(factors):
            if fac.is_group:
                domains += [TargetDomain(self.names[m], f, k, m, True) for k, m in enumerate(fac.members)]
            else:
                i = fac.members[0]
                domains += [TargetDomain(self.names[i], f, 1, i, True),
                            TargetDomain(f"not-{self.names[i]}", f, 0, i, False)]
        self.domains = domains

    @property
    def dim(self) -> int:
        return len(self.names)

    def group_of(self, attribute: int) -> tuple[int, ...] | None:
        return next((g for g in self.groups if attribute in g), None)

    # --- values -----------------------------------------------------------------------------------
    def factor_values(self, labels: torch.Tensor) -> torch.Tensor:
        """``(N, A)`` label vectors → ``(N, F)`` factor values (long)."""
        cols = []
        for fac in self.factors:
            sub = labels[:, list(fac.members)] > 0.5
            if fac.is_group:
                first = sub.float().argmax(1)
                none = torch.full_like(first, len(fac.members))
                cols.append(torch.where(sub.any(1), first, none) if fac.classes > len(fac.members) else first)
            else:
                cols.append(sub[:, 0].long())
        return torch.stack(cols, 1)

    def apply(self, labels: torch.Tensor, domain: TargetDomain) -> torch.Tensor:
        """Labels with ``domain`` set (a group member also clears the rest of its group)."""
        out = labels.clone()
        group = self.group_of(domain.attribute)
        if group is not None:
            out[:, list(group)] = 0.0
        out[:, domain.attribute] = 1.0 if domain.on else 0.0
        return out

    def random_targets(self, labels: torch.Tensor) -> torch.Tensor:
        """Training targets: a permutation of the batch's labels (multi, as the reference code
        does: every target is a real, valid combination) or a uniformly drawn domain (single)."""
        if self.mode == "single":
            idx = torch.randint(0, self.dim, (labels.shape[0],))
            return torch.eye(self.dim, device=labels.device)[idx.to(labels.device)]
        perm = torch.randperm(labels.shape[0]).to(labels.device)
        return labels[perm]

    # --- losses and accuracy -------------------------------------------------------------------------
    def classification_loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Multi: BCE summed over attributes, averaged over the batch; single: cross-entropy."""
        import torch.nn.functional as F
        if self.mode == "single":
            return F.cross_entropy(logits.float(), labels.argmax(1))
        return F.binary_cross_entropy_with_logits(logits.float(), labels.float(), reduction="sum") / logits.shape[0]

    def predict(self, logits: torch.Tensor) -> torch.Tensor:
        """Logits → label vectors (argmax one-hot for single, threshold 0 for multi)."""
        if self.mode == "single":
            return torch.eye(self.dim, device=logits.device)[logits.argmax(1)]
        return (logits > 0).float()

    def accuracy(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Per-sample accuracy: exact domain (single) or mean over attributes (multi)."""
        if self.mode == "single":
            return (logits.argmax(1) == labels.argmax(1)).float()
        return ((logits > 0).float() == (labels > 0.5).float()).float().mean(1)

    # --- user targets (gan translate) ------------------------------------------------------------------
    def parse_targets(self, specs: Sequence[str]) -> list[tuple[int, bool]]:
        """``["Blond_Hair", "Male=0"]`` (items may hold commas) → ``[(attr index, value)]``."""
        items = [s.strip() for spec in specs for s in spec.split(",") if s.strip()]
        if not items:
            raise GanError(f"--target-attrs: give the target domain; choose from: {', '.join(self.names)}")
        out = []
        for item in items:
            name, _, raw = item.partition("=")
            name = name.strip()
            if name not in self.names:
                raise GanError(f"--target-attrs: unknown attribute {name!r}; choose from: {', '.join(self.names)}")
            raw = raw.strip() or "1"
            if raw not in ("0", "1"):
                raise GanError(f"--target-attrs {item!r}: expected NAME or NAME=0|1")
            out.append((self.names.index(name), raw == "1"))
        if self.mode == "single" and (len(out) != 1 or not out[0][1]):
            raise GanError(f"--target-attrs: this model translates into one domain; give one of: "
                           f"{', '.join(self.names)}")
        for g in self.groups:
            on = [self.names[i] for i, v in out if v and i in g]
            if len(on) > 1:
                raise GanError(f"--target-attrs: {', '.join(on)} exclude each other; choose one")
        return out

    def target_labels(self, targets: Sequence[tuple[int, bool]], base: torch.Tensor) -> torch.Tensor:
        """Apply parsed targets to ``base`` labels (e.g. the discriminator's estimate of the input)."""
        out = base.clone()
        for i, v in targets:
            group = self.group_of(i)
            if v and group is not None:
                out[:, list(group)] = 0.0
            out[:, i] = 1.0 if v else 0.0
        return out
