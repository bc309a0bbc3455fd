"""Classifier heads on MiniLM embeddings: the docstring task, equal head sizes, and a real (small) training run."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from qscale.qnn.classify import HEADS, Head, head_params, match_hidden, run_classify
from qscale.qnn.docstrings import SPLITS, stdlib_docstrings, subset


@pytest.fixture(scope="module")
def data():
    return stdlib_docstrings()


def test_task_size_classes_and_split_by_module(data):
    assert len(data.classes) >= 8
    assert len(data.texts) >= 2000
    assert len(set(data.texts)) == len(data.texts)  # deduplicated: no text in two splits
    modules = {name: {data.modules[i] for i in data.indices(name)} for name in SPLITS}
    assert not modules["train"] & modules["test"]
    assert not modules["train"] & modules["val"]
    assert not modules["val"] & modules["test"]
    for name in ("train", "test"):
        assert set(data.labels[data.indices(name)]) == set(range(len(data.classes)))  # every class in both
    # the label is the top-level package of the example's source file
    for i in range(0, len(data.texts), 97):
        assert data.modules[i].split("/")[0] == data.classes[data.labels[i]]


def test_task_is_deterministic(data):
    again = stdlib_docstrings.__wrapped__()
    assert again.texts == data.texts and again.classes == data.classes
    assert np.array_equal(again.split, data.split) and np.array_equal(again.labels, data.labels)


def test_subset_keeps_every_split(data):
    keep = subset(data, 240)
    assert 200 <= keep.size <= 240
    assert set(data.split[keep]) == {0, 1, 2}


@pytest.mark.parametrize(("width", "layers"), [(4, 1), (8, 2), (10, 3)])
def test_head_sizes_agree_within_five_percent_and_match_the_modules(width, layers):
    dim, classes = 384, 12
    hidden = match_hidden(dim, width, classes, layers)
    counts = {h: head_params(h, dim, width, classes, layers, hidden) for h in HEADS}
    ref = counts["quantum"]
    assert all(abs(c - ref) <= 0.05 * ref for c in counts.values())
    for h in HEADS:
        model = Head(h, dim, width, classes, layers, hidden, seed=0)
        assert sum(p.numel() for p in model.parameters()) == counts[h]
        assert model(torch.zeros(3, dim)).shape == (3, classes)


def test_quantum_head_trains_above_chance_and_is_reproducible():
    """A small run (480 examples, 4 qubits): the 4-wide bounded bottleneck learns little, but more than chance."""
    kwargs = {"qubits": 4, "qnn_layers": 1, "epochs": 20, "lr_grid": (3e-2,), "device": "cpu", "max_examples": 480}
    r = run_classify("quantum", seed=0, **kwargs)
    assert r.accuracy > r.chance_accuracy
    assert 0 < r.macro_f1 <= 1 and r.trainable_params == r.trainable_params_by_head["quantum"]
    assert len(r.classes) >= 8 and math.isfinite(r.quantum_seconds) and r.quantum_seconds >= 0
    linear = run_classify("linear", seed=0, **kwargs)
    assert linear.accuracy > linear.chance_accuracy + 0.1
    assert run_classify("linear", seed=0, **kwargs).accuracy == linear.accuracy
