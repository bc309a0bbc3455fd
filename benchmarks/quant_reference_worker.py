"""Worker of benchmarks/quant_reference.py inside .bench-venvs/llmcompressor (no qscale there).

Quantizes the FP folder with llmcompressor's GPTQModifier on the given token windows, saves the
compressed-tensors checkpoint and, beside it, the de-quantized weights of the 210 block linear layers
(`dense.safetensors`, the values the quantized model computes with) that qscale's environment scores;
prints one JSON line (tool, version, recipe, seconds). `--decompress` rebuilds dense.safetensors from a saved
checkpoint with this environment's own compressed-tensors. GPTQModifier keeps its
own defaults (actorder static, dampening_frac 0.01, block_size 128); only the grid is set, to match qscale's:
asymmetric int weights per output channel or in groups of 128 columns (lm_head, tied to the embeddings, stays
in float as qscale leaves it).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from importlib import metadata


def llmcompressor_gptq(job: dict) -> dict:
    import torch
    from compressed_tensors.quantization import QuantizationArgs, QuantizationScheme
    from datasets import Dataset
    from llmcompressor import oneshot
    from llmcompressor.modifiers.quantization import GPTQModifier
    from transformers import AutoModelForCausalLM, AutoTokenizer

    windows = torch.load(job["calib"])
    group = job["group_size"]
    weights = QuantizationArgs(
        num_bits=job["bits"], type="int", symmetric=False, strategy="group" if group else "channel", group_size=group
    )
    recipe = GPTQModifier(config_groups={"group_0": QuantizationScheme(targets=["Linear"], weights=weights)},
                          ignore=["lm_head"])  # fmt: skip
    model = AutoModelForCausalLM.from_pretrained(job["fp_dir"], dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(job["fp_dir"])
    ids = windows.tolist()
    data = Dataset.from_dict({"input_ids": ids, "attention_mask": [[1] * len(w) for w in ids]})
    t0 = time.perf_counter()
    oneshot(model=model, tokenizer=tokenizer, dataset=data, recipe=recipe, max_seq_length=job["seq_len"],
            num_calibration_samples=len(ids), shuffle_calibration_samples=False)  # fmt: skip
    seconds = time.perf_counter() - t0
    dump_dense(model, job["out_dir"])  # before saving: compression may replace the weights in place
    model.save_pretrained(job["out_dir"], save_compressed=True)
    tokenizer.save_pretrained(job["out_dir"])
    return {
        "tool": "llmcompressor", "version": metadata.version("llmcompressor"),
        "method": "GPTQModifier", "seconds_quantize": seconds,
        "options": {"block_size": recipe.block_size, "dampening_frac": recipe.dampening_frac,
                    "actorder": str(recipe.actorder), "weights": weights.model_dump(mode="json", exclude_none=True)},
        "versions": {p: metadata.version(p) for p in ("llmcompressor", "compressed-tensors", "transformers", "torch")},
    }  # fmt: skip


def dump_dense(model, out_dir: str) -> int:
    """The block linear layers' weights as the quantized model uses them, in plain float32 safetensors."""
    from pathlib import Path

    import torch
    from safetensors.torch import save_file

    dense = {
        f"{name}.weight": module.weight.detach().to(torch.float32).contiguous()
        for name, module in model.named_modules()
        if isinstance(module, torch.nn.Linear) and name.startswith("model.layers.")
    }
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    save_file(dense, str(Path(out_dir) / "dense.safetensors"))
    return len(dense)


def decompress(folder: str) -> dict:
    """transformers with run_compressed=False de-quantizes every layer into a plain Linear on load."""
    import torch
    from transformers import AutoModelForCausalLM
    from transformers.utils.quantization_config import CompressedTensorsConfig

    model = AutoModelForCausalLM.from_pretrained(
        folder, dtype=torch.float32, quantization_config=CompressedTensorsConfig(run_compressed=False)
    )
    return {"layers": dump_dense(model, folder)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--job")
    ap.add_argument("--decompress", help="a saved checkpoint folder")
    args = ap.parse_args()
    import torch

    if args.decompress:
        torch.set_num_threads(1)
        sys.stdout.write(json.dumps(decompress(args.decompress)) + "\n")
        return
    with open(args.job) as f:
        job = json.load(f)
    torch.set_num_threads(job.get("threads", 1))
    if job["tool"] != "llmcompressor":
        raise SystemExit(f"unknown tool {job['tool']!r}")
    sys.stdout.write(json.dumps(llmcompressor_gptq(job)) + "\n")


if __name__ == "__main__":
    main()
