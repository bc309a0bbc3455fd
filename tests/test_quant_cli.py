"""`qscale quantize` through the real CLI: bad input exits 2 with one line; a tiny run prints one JSON object."""

from __future__ import annotations

import pytest

from qscale.llm.models import tiny_random_llama

TINY = ["--model", "tiny-random", "--seq-len", "64", "--calib-windows", "2", "--eval-windows", "2", "--device", "cpu"]


@pytest.fixture(scope="module")
def nan_model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("nan_model")
    loaded = tiny_random_llama()
    loaded.model.model.layers[1].self_attn.v_proj.weight.data[3, 5] = float("nan")
    loaded.model.save_pretrained(folder)
    loaded.tokenizer.save_pretrained(folder)
    return folder


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model", "no-such-model"], "unknown model"),
        (["--bits", "0"], "--bits"),
        (["--bits", "9"], "--bits"),
        (["--method", "qubo", "--solver", "exact", "--block", "17"], "exact solver"),
        (["--method", "magic"], "--method"),
        (["--method", "rtn", "--refine", "1"], "--refine"),
        (["--method", "qubo", "--refine", "-1"], "--refine"),
        ([*TINY, "--layers", "model.layers.7.*"], "matches no linear layer"),
        ([*TINY, "--eval-text", "/no/such/file.txt"], "not found"),
    ],
)
def test_bad_input_exits_2(cli_fast, args, message):
    res = cli_fast("quantize", *args, "--json")
    assert res.code == 2, res.stderr
    assert message in res.stderr
    assert res.stdout == ""
    assert res.stderr.strip().splitlines()[-1].startswith("error:")  # one-line reason, last on stderr


def test_nan_weight_exits_2(cli_fast, nan_model):
    res = cli_fast("quantize", "--model", str(nan_model), *TINY[2:], "--json")
    assert res.code == 2 and "NaN" in res.stderr and "v_proj" in res.stderr


@pytest.mark.parametrize(("content", "message"), [("", "empty"), ("too short", "too short")])
def test_unusable_eval_text_exits_2(cli_fast, tmp_path, content, message):
    path = tmp_path / "eval.txt"
    path.write_text(content)
    res = cli_fast("quantize", *TINY, "--eval-text", str(path), "--json")
    assert res.code == 2 and message in res.stderr


def test_greedy_qubo_and_gptq_give_the_same_model(cli):
    """Through the whole pipeline: the QUBO path with GPTQ's order is GPTQ, to the last bit of perplexity."""
    gptq = cli("quantize", *TINY, "--bits", "3", "--method", "gptq", "--json")
    greedy = cli("quantize", *TINY, "--bits", "3", "--method", "qubo", "--solver", "greedy", "--json")
    assert gptq.code == 0 and greedy.code == 0, gptq.stderr + greedy.stderr
    a, b = gptq.json(), greedy.json()
    assert a["perplexity"] == b["perplexity"] and a["relative_error"] == b["relative_error"]
    assert a["perplexity_fp"] == b["perplexity_fp"]
    for key in ("perplexity", "perplexity_fp", "bits", "method", "solver", "relative_error", "mean_relative_error",
                "seconds", "kinds"):
        assert key in b
    assert b["kinds"]["perplexity"] == "measured" and b["method"] == "qubo" and b["solver"] == "greedy"
    assert "layers" not in greedy.stderr and "INFO" not in greedy.stderr  # with --json, stderr holds errors only


def test_qubo_refines_by_default_and_reports_it(cli):
    res = cli("quantize", *TINY, "--bits", "3", "--method", "qubo", "--json")
    assert res.code == 0, res.stderr
    r = res.json()
    assert r["refine"] == 2 and 0 < r["refine_loss_reduction"] < 1
    plain = cli("quantize", *TINY, "--bits", "3", "--method", "qubo", "--refine", "0", "--json").json()
    assert plain["refine"] == 0 and "refine_loss_reduction" not in plain
    assert r["mean_relative_error"] < plain["mean_relative_error"]
