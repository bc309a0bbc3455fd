"""Worker of benchmarks/quant_reference.py inside .bench-venvs/llmcompressor (no qscale there).

Quantizes the FP folder with llmcompressor's GPTQModifier on the given token windows and saves the
compressed-tensors checkpoint; prints one JSON line (tool, version, recipe, seconds). GPTQModifier keeps its
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
    model.save_pretrained(job["out_dir"], save_compressed=True)
    tokenizer.save_pretrained(job["out_dir"])
    return {
        "tool": "llmcompressor", "version": metadata.version("llmcompressor"),
        "method": "GPTQModifier", "seconds_quantize": seconds,
        "options": {"block_size": recipe.block_size, "dampening_frac": recipe.dampening_frac,
                    "actorder": str(recipe.actorder), "weights": weights.model_dump(mode="json", exclude_none=True)},
        "versions": {p: metadata.version(p) for p in ("llmcompressor", "compressed-tensors", "transformers", "torch")},
    }  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--job", required=True)
    with open(ap.parse_args().job) as f:
        job = json.load(f)
    import torch

    torch.set_num_threads(job.get("threads", 1))
    if job["tool"] != "llmcompressor":
        raise SystemExit(f"unknown tool {job['tool']!r}")
    sys.stdout.write(json.dumps(llmcompressor_gptq(job)) + "\n")


if __name__ == "__main__":
    main()
