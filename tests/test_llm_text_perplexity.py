"""Text split, token windows and perplexity conventions."""

from __future__ import annotations

import math
import pydoc_data.topics
from types import SimpleNamespace

import pytest
import torch
from torch import nn

from qscale.errors import QscaleUserError
from qscale.llm.models import char_tokenizer, tiny_random_llama
from qscale.llm.perplexity import perplexity
from qscale.llm.text import pydoc_split, read_text_file, token_windows


def test_pydoc_split_is_deterministic_and_disjoint():
    a, b = pydoc_split(), pydoc_split()
    assert a == b
    keys = sorted(pydoc_data.topics.topics)
    held = pydoc_data.topics.topics[keys[0]]
    kept = pydoc_data.topics.topics[keys[1]]
    assert held in a.evaluation and held not in a.calibration
    assert kept in a.calibration and kept not in a.evaluation
    assert 0.1 < len(a.evaluation) / (len(a.evaluation) + len(a.calibration)) < 0.3


def test_windows_are_non_overlapping_and_seeded_choice_is_reproducible():
    tok = char_tokenizer()
    text = "abcdefghij" * 10  # 100 characters -> 100 tokens
    w = token_windows(tok, text, 7)
    assert w.shape == (14, 7)
    assert torch.equal(w.reshape(-1), token_windows(tok, text, 98).reshape(-1))
    s1 = token_windows(tok, text, 7, 5, seed=3)
    assert torch.equal(s1, token_windows(tok, text, 7, 5, seed=3))
    assert not torch.equal(s1, token_windows(tok, text, 7, 5))  # first five differ from a random five
    assert torch.equal(token_windows(tok, text, 7, 3), w[:3])


def test_text_too_short_for_a_window_is_a_user_error():
    with pytest.raises(QscaleUserError, match="too short"):
        token_windows(char_tokenizer(), "short", 512, what="evaluation text")


def test_missing_or_empty_text_file(tmp_path):
    with pytest.raises(QscaleUserError, match="not found"):
        read_text_file(tmp_path / "none.txt", "--eval-text")
    (tmp_path / "blank.txt").write_text("  \n")
    with pytest.raises(QscaleUserError, match="empty"):
        read_text_file(tmp_path / "blank.txt", "--eval-text")


class _Uniform(nn.Module):
    def __init__(self, vocab: int):
        super().__init__()
        self.vocab = vocab
        self.dummy = nn.Parameter(torch.zeros(1))

    def forward(self, input_ids, use_cache=False):
        return SimpleNamespace(logits=torch.zeros(*input_ids.shape, self.vocab))


def test_uniform_model_has_perplexity_equal_to_vocabulary():
    windows = torch.randint(0, 50, (3, 16))
    assert perplexity(_Uniform(50), windows).perplexity == pytest.approx(50.0)


def test_perplexity_is_exp_of_mean_token_nll():
    loaded = tiny_random_llama(seed=1)
    windows = token_windows(loaded.tokenizer, pydoc_split().evaluation, 32, 3)
    got = perplexity(loaded.model, windows, batch_size=2)
    nll = []
    with torch.no_grad():
        for w in windows:
            logp = torch.log_softmax(loaded.model(input_ids=w[None]).logits[0], dim=-1)
            nll += [-float(logp[t, w[t + 1]]) for t in range(31)]
    assert got.tokens == 93 and got.windows == 3
    assert got.perplexity == pytest.approx(math.exp(sum(nll) / len(nll)), rel=1e-5)
