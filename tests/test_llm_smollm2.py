"""The real model path: SmolLM2-135M from the packaged GGUF, one layer quantized, perplexity on pydoc text."""

from __future__ import annotations

import math

import pytest

from qscale.llm.quant.job import run_quantize


@pytest.mark.slow
def test_smollm2_loads_and_one_layer_quantizes():
    out = run_quantize(
        model="smollm2-135m", bits=3, method="qubo", solver="exact", layers="model.layers.0.self_attn.q_proj",
        seq_len=128, calib_windows=2, eval_windows=2, device="cpu",
    )
    assert "Q4_1" in out["model_source"] and "Q4_1" in out["fp_reference"]
    assert 3 < out["perplexity_fp"] < 100  # a trained model on English text, not a random one (~49k)
    assert math.isfinite(out["perplexity"]) and out["perplexity"] < 1.5 * out["perplexity_fp"]
    assert out["layers"][0]["shape"] == [576, 576] and 0 < out["mean_relative_error"] < 0.1
