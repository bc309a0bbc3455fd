"""`qscale qnn finetune|classify`: exit 2 with one line and nothing written on bad input; the JSON contract."""

from __future__ import annotations

import math

import pytest
from typer.testing import CliRunner

FINETUNE_TINY = [
    "qnn", "finetune", "--model", "tiny-random", "--qubits", "3", "--qnn-layers", "1", "--steps", "2",
    "--seq-len", "24", "--batch", "2", "--eval-windows", "2", "--device", "cpu",
]  # fmt: skip


def _invoke(*args: str):
    """In-process run of the CLI (fast) for input checks that stop before any training."""
    from qscale.cli import app

    return CliRunner().invoke(app, list(args))


def _assert_user_error(res, *words: str) -> None:
    assert res.exit_code == 2, (res.exit_code, res.stdout, res.stderr)
    assert res.stdout == ""
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), res.stderr
    for word in words:
        assert word in lines[0], lines[0]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--qubits", "0"], ["--qubits", "0"]),
        (["--qubits", "40"], ["bytes", "40 qubits"]),  # the memory guard, before anything is allocated
        (["--targets", "q_proj,attn"], ["'attn'", "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj",
                                        "down_proj"]),
        (["--adapter", "dora"], ["'dora'", "quantum", "lora", "mlp"]),
        (["--lr", "nan"], ["--lr", "nan"]),
        (["--lr", "-1"], ["--lr"]),
        (["--steps", "0"], ["--steps"]),
        (["--model", "gpt5"], ["gpt5"]),
    ],
)
def test_finetune_bad_input_exits_2_with_one_line(tmp_path, args, words):
    save = tmp_path / "out"
    res = _invoke(*FINETUNE_TINY, *args, "--save", str(save), "--json")
    _assert_user_error(res, *words)
    assert not save.exists()


def test_finetune_bad_eval_text(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("  \n")
    _assert_user_error(_invoke(*FINETUNE_TINY, "--eval-text", str(empty), "--json"), "empty")
    binary = tmp_path / "bin.txt"
    binary.write_bytes(b"\xff\xfe\x00bad")
    _assert_user_error(_invoke(*FINETUNE_TINY, "--eval-text", str(binary), "--json"), "UTF-8")
    _assert_user_error(_invoke(*FINETUNE_TINY, "--eval-text", str(tmp_path / "missing.txt"), "--json"), "not found")


def test_finetune_refuses_a_non_empty_save_folder(tmp_path):
    (tmp_path / "keep.txt").write_text("x")
    _assert_user_error(_invoke(*FINETUNE_TINY, "--save", str(tmp_path), "--json"), "not empty")
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--qubits", "0"], ["--qubits"]),
        (["--qubits", "64"], ["bytes"]),
        (["--head", "svm"], ["'svm'", "quantum", "linear", "mlp"]),
        (["--seed", "-1"], ["--seed"]),
        (["--epochs", "0"], ["--epochs"]),
    ],
)
def test_classify_bad_input_exits_2(args, words):
    _assert_user_error(_invoke("qnn", "classify", *args, "--json"), *words)


def test_finetune_json_contract(cli, tmp_path):
    text = tmp_path / "eval.txt"
    text.write_text("def f(x):\n    return x + 1\n" * 40)
    res = cli(*FINETUNE_TINY, "--eval-text", str(text), "--save", str(tmp_path / "ad"), "--json")
    assert res.code == 0, res.stderr
    r = res.json()
    for key in (
        "trainable_params", "perplexity_before", "perplexity_after", "perplexity_eval_text", "train_loss",
        "seconds_per_step", "quantum_seconds_per_step", "circuits_per_step", "circuits_per_generated_token",
        "projected_qpu_per_step", "energy",
    ):  # fmt: skip
        assert key in r, key
    assert len(r["train_loss"]) == 2
    assert math.isfinite(r["quantum_seconds_per_step"]) and r["quantum_seconds_per_step"] >= 0
    # 2 layers x (q_proj, v_proj) = 4 instances; rows 2 x 24; 3 encoding angles + 9 weights
    assert r["circuits_per_generated_token"] == 4
    assert r["circuits_per_step"] == 4 * 48 * (1 + 2 * (3 + 9))
    assert r["energy"]["projected_qpu"], "the ledger records the projected QPU training work"
    assert (tmp_path / "ad" / "adapter.safetensors").is_file()


def test_qnn_help_lists_both_commands():
    res = _invoke("qnn", "--help")
    assert res.exit_code == 0
    assert "finetune" in res.stdout and "classify" in res.stdout
