"""The real model path: SmolLM2-135M from the packaged GGUF, one layer quantized, saved, reloaded."""

from __future__ import annotations

import math

import pytest

from qscale.llm.models import load_causal_lm
from qscale.llm.perplexity import perplexity
from qscale.llm.quant.job import run_quantize
from qscale.llm.quant.save import read_meta
from qscale.llm.text import pydoc_split, token_windows


@pytest.mark.slow
def test_smollm2_loads_quantizes_saves_and_reloads(tmp_path):
    out = run_quantize(
        model="smollm2-135m", bits=3, method="qubo", solver="exact", layers="model.layers.0.self_attn.q_proj",
        seq_len=128, calib_windows=2, eval_windows=2, device="cpu", save=tmp_path / "q",
    ).to_json()
    assert "Q4_1" in out["model_source"] and "Q4_1" in out["fp_reference"]
    assert 3 < out["perplexity_fp"] < 100  # a trained model on English text, not a random one (~49k)
    assert math.isfinite(out["perplexity"]) and out["perplexity"] < 1.5 * out["perplexity_fp"]
    assert out["layers"][0]["shape"] == [576, 576] and 0 < out["mean_relative_error"] < 0.1
    loaded = load_causal_lm(str(tmp_path / "q"), "cpu")  # the GGUF-loaded model must save as a plain checkpoint
    info = read_meta(tmp_path / "q")
    windows = token_windows(loaded.tokenizer, pydoc_split().evaluation, 128, 2)
    assert perplexity(loaded.model, windows).perplexity == pytest.approx(out["perplexity"], rel=1e-6)
    assert list(info["layers"]) == ["model.layers.0.self_attn.q_proj"]
