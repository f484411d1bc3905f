"""ImageSet.select_classes: pick classes by name (notebook 04's CIFAR-10 vehicles), with clear errors."""
from __future__ import annotations

import pytest
import torch

from colorkit.data import ImageSet


def _set(labels=(0, 1, 2, 3, 1, 0)):
    n = len(labels)
    images = torch.arange(n, dtype=torch.uint8).view(n, 1, 1, 1).expand(n, 3, 2, 2).contiguous()
    return ImageSet(images, torch.tensor(labels), ["airplane", "bird", "ship", "cat"], "toy", "test")


def test_select_classes_keeps_the_named_classes_in_order():
    s = _set().select_classes(["ship", "airplane"])
    assert s.labels.tolist() == [0, 2, 0] and s.images[:, 0, 0, 0].tolist() == [0, 2, 5]
    assert s.classes == ["airplane", "bird", "ship", "cat"] and s.name == "toy: ship, airplane"


def test_select_classes_errors_name_the_problem():
    with pytest.raises(ValueError, match=r"unknown class\(es\) \['truck'\]; valid classes: airplane, bird"):
        _set().select_classes(["truck"])
    unlabelled = ImageSet(torch.zeros(2, 3, 2, 2, dtype=torch.uint8), None, [], "photos", "test")
    with pytest.raises(ValueError, match="'photos' has no labels"):
        unlabelled.select_classes(["airplane"])
