"""reuse_loaded_models: a study converts each model once for all its stages; every caller gets its own copy."""

from __future__ import annotations

import torch

from qscale.llm import models
from qscale.llm.models import load_causal_lm, reuse_loaded_models


def test_nested_blocks_share_one_load_and_hand_out_independent_copies(monkeypatch):
    loads = []
    real = models._load
    monkeypatch.setattr(models, "_load", lambda name, target: loads.append(name) or real(name, target))
    with reuse_loaded_models():
        first = load_causal_lm("tiny-random", "cpu")
        with reuse_loaded_models():  # a stage's own block inside the study's
            second = load_causal_lm("tiny-random", "cpu")
        third = load_causal_lm("tiny-random", "cpu")
    assert loads == ["tiny-random"]
    p1, p2, p3 = (next(m.model.parameters()) for m in (first, second, third))
    with torch.no_grad():
        p1.zero_()  # quantizing one copy leaves the others as loaded
    assert not torch.equal(p1, p2) and torch.equal(p2, p3)
    load_causal_lm("tiny-random", "cpu")  # outside every block: a fresh load
    assert loads == ["tiny-random", "tiny-random"]
