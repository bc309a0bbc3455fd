"""`quantize --save`: a compressed-tensors pack-quantized checkpoint that plain transformers loads, same logits."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors import safe_open

from qscale.llm.models import load_causal_lm, tiny_random_llama
from qscale.llm.perplexity import perplexity
from qscale.llm.quant import make_quantizer
from qscale.llm.quant.job import run_quantize
from qscale.llm.quant.runner import quantize_model
from qscale.llm.quant.save import read_meta, save_quantized
from qscale.llm.text import pydoc_split, token_windows


def _plain_transformers(folder):
    """What a user of the saved folder runs: no qscale code, only transformers (+ compressed-tensors)."""
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(folder).eval()


@pytest.mark.parametrize(
    ("method", "options"),
    [("gptq", {"bits": 3, "act_order": True}), ("rtn", {"bits": 4, "group_size": 32}),
     ("qubo", {"bits": 3, "group_size": 32, "act_order": True, "refine": 1})],
)  # fmt: skip
def test_checkpoint_round_trips_to_the_same_logits(tmp_path, method, options):
    loaded = tiny_random_llama(seed=4)
    calib = token_windows(loaded.tokenizer, pydoc_split().calibration, 64, 2, seed=0)
    results = quantize_model(loaded.model, calib, lambda: make_quantizer(method, **options), "*")
    probe = token_windows(loaded.tokenizer, pydoc_split().evaluation, 64, 2)
    with torch.no_grad():
        expected = loaded.model(probe).logits
    save_quantized(loaded, results, {"method": method, "act_order": options.get("act_order", False)}, tmp_path / "q")
    with torch.no_grad():
        got = _plain_transformers(tmp_path / "q")(probe).logits
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5 * float(expected.abs().max()))

    config = json.loads((tmp_path / "q" / "config.json").read_text())["quantization_config"]
    assert config["quant_method"] == "compressed-tensors" and config["format"] == "pack-quantized"
    weights = config["config_groups"]["group_0"]["weights"]
    assert weights["num_bits"] == options["bits"] and weights["type"] == "int" and weights["symmetric"] is False
    assert weights["strategy"] == ("group" if "group_size" in options else "channel")
    assert weights.get("group_size") == options.get("group_size")
    assert config["ignore"] == ["lm_head"]
    with safe_open(tmp_path / "q" / "model.safetensors", "pt") as f:
        keys = set(f.keys())
        packed = f.get_tensor("model.layers.0.mlp.down_proj.weight_packed")
        zero = f.get_tensor("model.layers.0.mlp.down_proj.weight_zero_point")
    assert "model.layers.0.mlp.down_proj.weight" not in keys  # only packed levels, no float copy
    rows, cols = results[-1].shape
    assert packed.dtype == torch.int32 and packed.shape == (rows, -(-cols * options["bits"] // 32))
    groups = cols // options.get("group_size", cols)
    assert zero.dtype == torch.int32 and zero.shape == (-(-rows * options["bits"] // 32), groups)  # packed too
    assert read_meta(tmp_path / "q")["layers"] == [r.name for r in results]


def test_saved_checkpoint_perplexity_matches_the_json_and_reloads_as_model(tmp_path):
    out = run_quantize(
        model="tiny-random", bits=3, method="gptq", seq_len=64, calib_windows=2, eval_windows=3,
        save=tmp_path / "q", device="cpu",
    ).to_json()
    assert out["saved_to"] == str(tmp_path / "q") and out["act_order"] is True
    windows = token_windows(load_causal_lm("tiny-random").tokenizer, pydoc_split().evaluation, 64, 3)
    assert perplexity(_plain_transformers(tmp_path / "q"), windows).perplexity == pytest.approx(
        out["perplexity"], rel=1e-6
    )
    again = load_causal_lm(str(tmp_path / "q"), "cpu")  # --model DIR on the checkpoint: float32, plain Linear
    assert "compressed-tensors" in again.source
    assert type(again.model.model.layers[0].self_attn.q_proj) is torch.nn.Linear
    assert perplexity(again.model, windows).perplexity == pytest.approx(out["perplexity"], rel=1e-6)
    meta = read_meta(tmp_path / "q")
    assert meta["method"] == "gptq" and meta["perplexity"] == out["perplexity"] and len(meta["layers"]) == 14


def test_save_into_a_non_empty_folder_exits_2_and_writes_nothing(cli_fast, tmp_path):
    target = tmp_path / "full"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    res = cli_fast("quantize", "--model", "tiny-random", "--save", str(target), "--json")
    assert res.code == 2 and "not empty" in res.stderr and res.stdout == ""
    assert [p.name for p in tmp_path.iterdir()] == ["full"] and [p.name for p in target.iterdir()] == ["keep.txt"]


def test_group_size_that_does_not_divide_quantizes_without_save():
    """128 on SmolLM2's 576-wide layers is 4 x 128 + 64: fine to quantize, only a checkpoint needs divisors."""
    out = run_quantize(model="tiny-random", bits=3, method="qubo", group_size=48, seq_len=64, calib_windows=2,
                       eval_windows=2, refine=0, device="cpu").to_json()  # fmt: skip
    assert out["layers_quantized"] == 14 and out["group_size"] == 48 and out["perplexity"] > 1
