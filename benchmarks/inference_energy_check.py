"""Measured check of the calibrated inference model on this machine's GPU: SmolLM2-135M generation.

    PYTHONPATH=src python benchmarks/inference_energy_check.py [--batches 1 8 64 256] [--new-tokens 128]

For each batch size it generates with Hugging Face transformers (greedy, fixed prompt and output lengths, bf16),
reads the GPU's energy through qscale's ledger (NVML counters only), and compares the measured J per output
token with `qscale energy infer ... --engine transformers` for the same settings. Results go to
benchmarks/results/inference-energy-<gpu>.json; docs/energy.md quotes them. Without a CUDA device it says so
and exits 0 without writing anything: the check was not run.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"
# SmolLM2-135M (HuggingFaceTB/SmolLM2-135M config.json): 30 layers, width 576, 3 KV heads of 64
SMOLLM2 = {"params": 134.5e6, "layers": 30, "d_model": 576, "kv_bytes_per_token": 2 * 30 * 3 * 64 * 2}
GPU_KEYS = (("H100", "H100"), ("H200", "H200"), ("B200", "B200"), ("A40", "A40"), ("V100", "V100"))


def qscale_key(name: str, memory_gb: float) -> str | None:
    """The accelerators.toml key of a CUDA device name, or None when qscale has no entry for it."""
    for needle, key in GPU_KEYS:
        if needle in name:
            return key
    if "A100" in name:
        return "A100-80" if memory_gb > 50 else "A100-40"
    return None


def measure(model: Any, tokenizer: Any, batch: int, prompt_tokens: int, new_tokens: int) -> dict[str, Any]:
    """GPU energy and time of one greedy generate() call, after a warm-up call of the same shape."""
    import torch

    from qscale.energy.ledger import EnergyLedger
    from qscale.energy.meters import nvml_meters

    ids = torch.full((batch, prompt_tokens), tokenizer.eos_token_id or 0, dtype=torch.long, device="cuda")
    ids[:, 1:] = torch.arange(1, prompt_tokens, device="cuda") % 1000 + 100
    kwargs = {"max_new_tokens": new_tokens, "min_new_tokens": new_tokens, "do_sample": False}
    with torch.no_grad():
        model.generate(ids, attention_mask=torch.ones_like(ids), **kwargs)  # warm-up: kernels, allocator
        torch.cuda.synchronize()
        with EnergyLedger(f"smollm2 batch {batch}", meters=nvml_meters()) as ledger:
            t0 = time.perf_counter()
            out = model.generate(ids, attention_mask=torch.ones_like(ids), **kwargs)
            torch.cuda.synchronize()
            seconds = time.perf_counter() - t0
    generated = (out.shape[1] - prompt_tokens) * batch
    gpu_j = sum(b["energy_j"] for b in ledger.to_dict()["breakdown"] if b["kind"] == "measured")
    return {
        "batch": batch,
        "prompt_tokens": prompt_tokens,
        "output_tokens": generated // batch,
        "seconds": seconds,
        "gpu_energy_j": gpu_j,
        "measured_j_per_token": gpu_j / generated,
        "measured_power_w": gpu_j / seconds,
        "kind": "measured",
    }


def predict(hardware: str, row: dict[str, Any]) -> dict[str, Any]:
    from qscale.energy.inference import infer

    r = infer(
        params=SMOLLM2["params"],
        layers=SMOLLM2["layers"],
        d_model=SMOLLM2["d_model"],
        kv_bytes_per_token=SMOLLM2["kv_bytes_per_token"],
        hardware=hardware,
        precision="bf16",
        batch=row["batch"],
        input_tokens=row["prompt_tokens"],
        output_tokens=row["output_tokens"],
        context_tokens=row["prompt_tokens"] + row["output_tokens"] / 2,
        engine="transformers",
        pue=1.0,
        intensity=0.0,
    ).to_json()
    return {
        "predicted_j_per_token": r["energy_per_token_j"],
        "predicted_power_w": r["power_w_per_device"],
        "error": r["energy_per_token_j"] / row["measured_j_per_token"] - 1.0,
        "expected_error": r["expected_error"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 8, 64, 256])
    parser.add_argument("--prompt-tokens", type=int, default=64)
    parser.add_argument("--new-tokens", type=int, default=128)
    args = parser.parse_args(argv)
    try:
        import torch
    except ImportError:
        print("not run: torch is not installed", file=sys.stderr)
        return 0
    if not torch.cuda.is_available():
        print("not run: no CUDA device on this machine (the check needs an NVIDIA GPU and NVML)", file=sys.stderr)
        return 0
    from qscale.energy.meters import nvml_meters
    from qscale.llm.models import load_causal_lm

    if not nvml_meters():
        print("not run: NVML's energy counter is not readable on this GPU", file=sys.stderr)
        return 0
    props = torch.cuda.get_device_properties(0)
    hardware = qscale_key(props.name, props.total_memory / 1e9)
    loaded = load_causal_lm("smollm2-135m", device="cuda")
    model = loaded.model.to(torch.bfloat16)
    rows = []
    for batch in args.batches:
        row = measure(model, loaded.tokenizer, batch, args.prompt_tokens, args.new_tokens)
        if hardware is not None:
            row.update(predict(hardware, row))
        rows.append(row)
        print(json.dumps(row), file=sys.stderr)
    result = {
        "what": "SmolLM2-135M greedy generation with HF transformers (bf16), GPU energy from NVML via the ledger",
        "gpu": props.name,
        "qscale_hardware": hardware,
        "rows": rows,
    }
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"inference-energy-{(hardware or 'gpu').lower()}.json"
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
