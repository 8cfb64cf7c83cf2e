"""StarGAN label space: factors, target domains, training targets, user targets."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from gan.errors import GanError
from gan_translation.labels import LabelSpace

TOY = LabelSpace(["red", "green", "blue", "circle", "square", "triangle", "large"], [[0, 1, 2], [3, 4, 5]])
CELEBA = LabelSpace(["Black_Hair", "Blond_Hair", "Brown_Hair", "Male", "Young"], [[0, 1, 2]])
RAFD = LabelSpace(["angry", "happy", "sad"], mode="single")


def test_factors_and_target_domains():
    assert [f.name for f in TOY.factors] == ["red/green/blue", "circle/square/triangle", "large"]
    assert [dom.name for dom in TOY.domains] == ["red", "green", "blue", "circle", "square", "triangle",
                                                 "large", "not-large"]
    assert [dom.name for dom in RAFD.domains] == ["angry", "happy", "sad"]
    assert [f.classes for f in CELEBA.factors] == [4, 2, 2]  # hair: 3 colours + none
    assert [f.classes for f in RAFD.factors] == [3]


def test_apply_sets_one_domain_and_clears_its_group():
    labels = torch.tensor([[1., 0, 0, 0, 1, 0, 1]])  # red square, large
    blue = next(dom for dom in TOY.domains if dom.name == "blue")
    small = next(dom for dom in TOY.domains if dom.name == "not-large")
    assert TOY.apply(labels, blue).tolist() == [[0., 0, 1, 0, 1, 0, 1]]
    assert TOY.apply(labels, small).tolist() == [[1., 0, 0, 0, 1, 0, 0]]
    assert labels.tolist() == [[1., 0, 0, 0, 1, 0, 1]]  # not modified in place


def test_factor_values_include_none_for_empty_groups():
    labels = torch.tensor([[0., 1, 0, 1, 0], [0., 0, 0, 0, 1], [1., 0, 0, 1, 1]])
    assert CELEBA.factor_values(labels).tolist() == [[1, 1, 0], [3, 0, 1], [0, 1, 1]]


def test_random_targets_are_valid_labels():
    torch.manual_seed(0)
    labels = torch.tensor([[1., 0, 0, 1, 0, 0, 1], [0, 1, 0, 0, 1, 0, 0],
                           [0, 0, 1, 0, 0, 1, 1], [1, 0, 0, 0, 1, 0, 0]])
    t = TOY.random_targets(labels)
    assert sorted(map(tuple, t.tolist())) == sorted(map(tuple, labels.tolist()))  # a permutation
    r = RAFD.random_targets(torch.zeros(64, 3))
    assert torch.equal(r.sum(1), torch.ones(64)) and set(r.argmax(1).tolist()) == {0, 1, 2}


def test_classification_losses():
    logits = torch.randn(4, 3)
    onehot = torch.eye(3)[[0, 2, 1, 1]]
    assert torch.allclose(RAFD.classification_loss(logits, onehot), F.cross_entropy(logits, onehot.argmax(1)))
    bce = F.binary_cross_entropy_with_logits(logits, onehot, reduction="none").sum(1).mean()
    multi = LabelSpace(["a", "b", "c"])
    assert torch.allclose(multi.classification_loss(logits, onehot), bce)
    assert multi.accuracy(torch.tensor([[5., -5, -5]]), torch.tensor([[1., 0, 1]])).item() == pytest.approx(2 / 3)


def test_user_targets():
    t = CELEBA.parse_targets(["Blond_Hair,Male=0", "Young=1"])
    assert t == [(1, True), (3, False), (4, True)]
    base = torch.tensor([[1., 0, 0, 1, 0]])
    assert CELEBA.target_labels(t, base).tolist() == [[0., 1, 0, 0, 1]]
    assert RAFD.parse_targets(["happy"]) == [(1, True)]
    with pytest.raises(GanError, match="unknown attribute 'Bald'; choose from: Black_Hair"):
        CELEBA.parse_targets(["Bald"])
    with pytest.raises(GanError, match="exclude each other"):
        CELEBA.parse_targets(["Blond_Hair,Black_Hair"])
    with pytest.raises(GanError, match="NAME=0\\|1"):
        CELEBA.parse_targets(["Male=yes"])
    with pytest.raises(GanError, match="give the target domain"):
        CELEBA.parse_targets([])
    with pytest.raises(GanError, match="one domain"):
        RAFD.parse_targets(["happy,sad"])
