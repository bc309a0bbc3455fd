"""`--model DIR` on local Hugging Face folders: tiny random Qwen2 and Mistral models, and folders to refuse."""

from __future__ import annotations

import json

import pytest
import torch

from qscale.llm.models import char_tokenizer

SMALL = ["--seq-len", "32", "--calib-windows", "2", "--eval-windows", "2", "--device", "cpu", "--bits", "3"]


def save_tiny(family: str, folder, seed: int = 0):
    """A random causal LM of `family` (hidden 64, 2 blocks) + the character tokenizer, saved as safetensors."""
    from transformers import MistralConfig, MistralForCausalLM, Qwen2Config, Qwen2ForCausalLM

    classes = {"qwen2": (Qwen2Config, Qwen2ForCausalLM), "mistral": (MistralConfig, MistralForCausalLM)}
    config_cls, model_cls = classes[family]
    tokenizer = char_tokenizer()
    config = config_cls(
        vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, max_position_embeddings=512, tie_word_embeddings=False,
    )
    torch.manual_seed(seed)
    model_cls(config).save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def family_folders(tmp_path_factory):
    return {family: save_tiny(family, tmp_path_factory.mktemp(family)) for family in ("qwen2", "mistral")}


@pytest.mark.parametrize(
    ("family", "method"),
    [("qwen2", ["--method", "rtn"]), ("qwen2", ["--method", "gptq", "--group-size", "32"]),
     ("qwen2", ["--method", "qubo", "--refine", "1"]), ("mistral", ["--method", "gptq"])],
)  # fmt: skip
def test_quantize_takes_a_local_folder(cli, family_folders, tmp_path, family, method):
    folder = family_folders[family]
    res = cli("quantize", "--model", str(folder), *SMALL, *method, "--save", str(tmp_path / "q"), "--json")
    assert res.code == 0, res.stderr
    out = res.json()
    assert out["layers_quantized"] == 14 and out["perplexity"] > 1 and str(folder.resolve()) in out["model_source"]
    saved = json.loads((tmp_path / "q" / "config.json").read_text())
    assert saved["model_type"] == family and saved["quantization_config"]["format"] == "pack-quantized"


@pytest.mark.parametrize(("family", "adapter"), [("qwen2", "quantum"), ("mistral", "lora")])
def test_qnn_finetune_takes_a_local_folder(cli, family_folders, family, adapter):
    folder = family_folders[family]
    res = cli(
        "qnn", "finetune", "--model", str(folder), "--adapter", adapter, "--qubits", "3", "--qnn-layers", "1",
        "--steps", "2", "--seq-len", "24", "--batch", "2", "--eval-windows", "2", "--device", "cpu", "--json",
    )
    assert res.code == 0, res.stderr
    out = res.json()
    assert out["model"] == str(folder) and out["adapted_modules"] == 4  # q_proj, v_proj in 2 blocks


@pytest.fixture(scope="module")
def qwen_folder(family_folders):
    return family_folders["qwen2"]


def _copy_without(src, dst, *, drop=(), edit=None):
    dst.mkdir()
    for path in src.iterdir():
        if path.name not in drop:
            (dst / path.name).write_bytes(path.read_bytes())
    if edit is not None:
        config = json.loads((dst / "config.json").read_text())
        edit(config)
        (dst / "config.json").write_text(json.dumps(config))
    return dst


def _gpt2(config: dict) -> None:
    config.update(model_type="gpt2", architectures=["GPT2LMHeadModel"])


def _awq(config: dict) -> None:
    config["quantization_config"] = {"quant_method": "awq", "bits": 4}


BAD_FOLDERS = {
    "no-config": ({"drop": ("config.json",)}, ["no config.json"]),
    "no-weights": ({"drop": ("model.safetensors",)}, ["no weights"]),
    "pickle-only": ({"drop": ("model.safetensors",)}, ["pytorch_model.bin", "pickle", "refused"]),
    "gpt2": ({"edit": _gpt2}, ["'gpt2'", "GPT2LMHeadModel", "Llama", "Qwen2", "Mistral"]),
    "awq": ({"edit": _awq}, ["'awq'", "compressed-tensors"]),
}


@pytest.mark.parametrize("case", list(BAD_FOLDERS))
@pytest.mark.parametrize("command", ["quantize", "qnn"])
def test_bad_model_folders_exit_2_with_one_line_and_write_nothing(cli_fast, qwen_folder, tmp_path, case, command):
    options, words = BAD_FOLDERS[case]
    folder = _copy_without(qwen_folder, tmp_path / case, **options)
    if case == "pickle-only":
        (folder / "pytorch_model.bin").write_bytes(b"not loaded")
    save = tmp_path / "out"
    args = ["quantize"] if command == "quantize" else ["qnn", "finetune", "--steps", "1"]
    res = cli_fast(*args, "--model", str(folder), "--device", "cpu", "--save", str(save), "--json")
    assert res.code == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and res.stdout == ""
    for word in words:
        assert word in lines[0], lines[0]
    assert not save.exists() and sorted(p.name for p in tmp_path.iterdir()) == [case]


def test_save_with_groups_a_checkpoint_cannot_store_exits_2_and_writes_nothing(cli_fast, qwen_folder, tmp_path):
    res = cli_fast("quantize", "--model", str(qwen_folder), *SMALL, "--group-size", "48", "--save",
                   str(tmp_path / "q"), "--json")  # fmt: skip
    assert res.code == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert lines[-1].startswith("error: ") and "--group-size 48 does not divide the 64 input columns" in lines[-1]
    assert res.stdout == "" and list(tmp_path.iterdir()) == []


def test_study_config_takes_a_model_folder_and_refuses_a_bad_one(qwen_folder, tmp_path):
    from qscale.errors import QscaleUserError
    from qscale.study.schema import parse_config

    config = parse_config({"quantization": {"model": str(qwen_folder)}, "qnn": {"model": str(qwen_folder)}})
    assert config.quantization.model == config.qnn.model == str(qwen_folder)
    bad = _copy_without(qwen_folder, tmp_path / "gpt2", edit=_gpt2)
    with pytest.raises(QscaleUserError, match=r"quantization\.model.*'gpt2'"):
        parse_config({"quantization": {"model": str(bad)}})
