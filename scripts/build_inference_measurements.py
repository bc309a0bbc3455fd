"""Rebuild src/qscale/energy/data/inference_measurements.json from the ML.ENERGY Leaderboard repositories.

    git clone https://github.com/ml-energy/leaderboard     /tmp/leaderboard     # v3 (2025)
    git clone https://github.com/ml-energy/leaderboard-v2  /tmp/leaderboard-v2  # v2 (2024) and v1 (2023)
    python scripts/build_inference_measurements.py --v3 /tmp/leaderboard --v2 /tmp/leaderboard-v2 \
        [--v3-commit 0cd52da...] [--v2-commit c3af7f3...]

The files are read with `git show COMMIT:PATH`, so the table records exactly which commit and file each row
came from. The selection rules (which models, which batch sizes) and the hold-out split are constants below
and are copied into the file's "about" block; the calibration (qscale.energy.inference_fit) reads that block.
Only dense decoder-only Transformers are taken: the model's weight traffic for mixture-of-experts and
Mamba-hybrid models needs more than a parameter count (see docs/energy.md, "Limits").
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import subprocess
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parents[1] / "src" / "qscale" / "energy" / "data" / "inference_measurements.json"
V3_COMMIT = "0cd52dab897c5d91a45f4d413038f3b8b4251b0f"
V2_COMMIT = "c3af7f31e231a2a7021c5f8e2a54dd712d02e6e2"

# v3: public/data/models/<org>__<model>__<task>.json; model id -> (file stem, precision key)
V3_MODELS = {
    "meta-llama/Llama-3.1-8B-Instruct": "meta-llama__Llama-3.1-8B-Instruct",
    "meta-llama/Llama-3.1-70B-Instruct": "meta-llama__Llama-3.1-70B-Instruct",
    "meta-llama/Llama-3.3-70B-Instruct": "meta-llama__Llama-3.3-70B-Instruct",
    "meta-llama/Llama-3.1-405B-Instruct": "meta-llama__Llama-3.1-405B-Instruct",
    "meta-llama/Llama-3.1-405B-Instruct-FP8": "meta-llama__Llama-3.1-405B-Instruct-FP8",
    "Qwen/Qwen3-8B": "Qwen__Qwen3-8B",
    "Qwen/Qwen3-14B": "Qwen__Qwen3-14B",
    "Qwen/Qwen3-32B": "Qwen__Qwen3-32B",
    "google/gemma-3-12b-it": "google__gemma-3-12b-it",
    "google/gemma-3-27b-it": "google__gemma-3-27b-it",
}
V3_TASKS = ("lm-arena-chat", "gpqa")
V3_BATCHES = None  # every max_num_seqs (every model, GPU and GPU count); a tuple would select some
# v2: data/llm_text_generation/chat/<GPU dir>/<model id>/bs<B>+tp<T>+pp1.json
V2_GPUS = {"A100-SXM4-40GB": "A100-40", "H100 80GB HBM3": "H100"}
V2_MODELS = (
    "google/gemma-2-2b-it",
    "google/gemma-2-9b-it",
    "google/gemma-2-27b-it",
    "meta-llama/Meta-Llama-3.1-8B-Instruct",
    "meta-llama/Meta-Llama-3.1-70B-Instruct",
    "meta-llama/Meta-Llama-3.1-405B-Instruct",
    "microsoft/Phi-3-mini-4k-instruct",
    "microsoft/Phi-3-medium-4k-instruct",
    "mistralai/Mistral-7B-Instruct-v0.3",
    "mistralai/Mistral-Nemo-Instruct-2407",
    "mistralai/Mistral-Large-Instruct-2407",
)
V2_BATCHES = None  # every max batch size published
# v1: data/legacy/<GPU>_chat_benchmark.csv, one row per model, batch 1 (HF transformers through FastChat)
V1_GPUS = {"A100": "A100-40", "A40": "A40", "V100": "V100"}
V1_MODELS = (  # the v1 files' own names: LLaMA-7B/13B and fine-tunes of them (same architecture)
    "metaai/llama-7B",
    "metaai/llama-13B",
    "lmsys/vicuna-7B",
    "lmsys/vicuna-13B",
    "metaai/Llama-2-7b-chat-hf",
    "metaai/Llama-2-13b-chat-hf",
    "BAIR/koala-7b",
    "BAIR/koala-13b",
    "tatsu-lab/alpaca-7B",
    "project-baize/baize-v2-7B",
    "nomic-ai/gpt4all-13b-snoozy",
    "openaccess-ai-collective/manticore-13b-chat-pyg",
    "camel-ai/CAMEL-13B-Combined-Data",
)
# Whole models kept out of the fit: the calibration never sees them, so their errors test new model sizes.
HOLDOUT = (
    "Qwen/Qwen3-14B",
    "google/gemma-3-27b-it",
    "meta-llama/Llama-3.1-405B-Instruct-FP8",
    "google/gemma-2-9b-it",
    "mistralai/Mistral-Nemo-Instruct-2407",
    "lmsys/vicuna-13B",
    "metaai/Llama-2-7b-chat-hf",
)
# Mean prompt tokens per task (the leaderboard files do not give them); each is an assumption with a basis.
INPUT_TOKENS = {
    "lm-arena-chat": (
        100,
        "assumed: LMSYS-Chat-1M mean prompt 69.5 tokens (Zheng et al., arXiv 2309.11998, same Chatbot Arena "
        "platform as lmarena-ai/arena-human-preference-100k) plus ~30 chat-template tokens",
    ),
    "gpqa": (300, "assumed: a GPQA Diamond question with four options and instructions, ~300 tokens"),
    "sharegpt": (
        118,
        "derived: mean first-turn prompt of benchmark/llm_text_generation/chat/sharegpt/ShareGPT_V3_filtered_500"
        ".json in ml-energy/leaderboard-v2 is 87.7 tokens (SmolLM2 tokenizer; 87.6 by characters/4) plus ~30 "
        "chat-template / system-prompt tokens (assumed)",
    ),
}
A100_NOTE = "A100 variant not stated in the v1 data: the 40 GB SXM4 entry is used"
ENGINES = {
    "v3": "vllm",  # vLLM 0.11 with asynchronous scheduling (ML.ENERGY Benchmark v3.0, Dec 2025)
    "v2": "vllm-2024",  # vLLM 0.4.2 / 0.5.4 (ML.ENERGY Leaderboard v2.0, Sep 2024)
    "v1": "transformers",  # PyTorch 2.0.1 + FastChat on HF transformers, batch 1 (ML.ENERGY Leaderboard, 2023)
}


def _show(repo: Path, commit: str, path: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), "show", f"{commit}:{path}"], check=True, capture_output=True, text=True
    ).stdout


def _ls(repo: Path, commit: str, prefix: str) -> list[str]:
    out = subprocess.run(
        ["git", "-C", str(repo), "ls-tree", "-r", "--name-only", commit, prefix],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return [line for line in out.splitlines() if line]


def _decode_context_factor(config: dict[str, Any]) -> float:
    """E[out^2] / (2 E[out]) from the output-length histogram: the mean KV length a decode step sees."""
    hist = config["output_length_distribution"]
    bins, counts = hist["bins"], hist["counts"]
    mids = [(bins[i] + bins[i + 1]) / 2 for i in range(len(counts))]
    total = sum(counts)
    m1 = sum(x * n for x, n in zip(mids, counts, strict=True)) / total
    m2 = sum(x * x * n for x, n in zip(mids, counts, strict=True)) / total
    return m2 / (2.0 * m1)


def _v3_rows(repo: Path, commit: str) -> list[dict[str, Any]]:
    rows = []
    for model, stem in V3_MODELS.items():
        for task in V3_TASKS:
            path = f"public/data/models/{stem}__{task}.json"
            try:
                data = json.loads(_show(repo, commit, path))
            except subprocess.CalledProcessError:
                continue
            for c in data["configurations"]:
                if V3_BATCHES is not None and c["max_num_seqs"] not in V3_BATCHES:
                    continue
                par = c["parallelization"]
                n_in, basis = INPUT_TOKENS[task]
                rows.append({
                    "source": "v3",
                    "repo": "ml-energy/leaderboard",
                    "commit": commit,
                    "path": path,
                    "entry": f"gpu_model={c['gpu_model']}, num_gpus={c['num_gpus']}, max_num_seqs={c['max_num_seqs']}",
                    "task": task,
                    "model": model,
                    "precision": "fp8" if data["weight_precision"] == "fp8" else "bf16",
                    "gpu": c["gpu_model"],
                    "num_gpus": c["num_gpus"],
                    "tensor_parallel": par["tensor_parallel"],
                    "max_batch": c["max_num_seqs"],
                    "avg_batch": round(c["avg_batch_size"], 2),
                    "input_tokens": n_in,
                    "input_basis": basis,
                    "output_tokens": round(c["avg_output_len"], 1),
                    "decode_context_tokens": round(n_in + _decode_context_factor(c), 1),
                    "measured_j_per_token": round(c["energy_per_token_joules"], 5),
                    "measured_power_w": round(c["avg_power_watts"], 1),
                    "engine": ENGINES["v3"],
                    "note": "",
                })  # fmt: skip
    return rows


def _v2_rows(repo: Path, commit: str) -> list[dict[str, Any]]:
    rows = []
    for gpu_dir, gpu in V2_GPUS.items():
        for model in V2_MODELS:
            prefix = f"data/llm_text_generation/chat/{gpu_dir}/{model}/"
            for path in _ls(repo, commit, prefix):
                if not path.endswith("+pp1.json"):  # tensor parallel only: pipeline-parallel runs are not modelled
                    continue
                d = json.loads(_show(repo, commit, path))
                if V2_BATCHES is not None and d["Max BS (reqs)"] not in V2_BATCHES:
                    continue
                n_in, basis = INPUT_TOKENS["sharegpt"]
                out = d["Avg Output Tokens"]
                rows.append({
                    "source": "v2",
                    "repo": "ml-energy/leaderboard-v2",
                    "commit": commit,
                    "path": path,
                    "entry": "",
                    "task": "chat (ShareGPT)",
                    "model": model,
                    "precision": "bf16",
                    "gpu": gpu,
                    "num_gpus": d["TP"] * d["PP"],
                    "tensor_parallel": d["TP"],
                    "max_batch": d["Max BS (reqs)"],
                    "avg_batch": round(d["Avg BS (reqs)"], 2),
                    "input_tokens": n_in,
                    "input_basis": basis,
                    "output_tokens": round(out, 1),
                    "decode_context_tokens": round(n_in + out, 1),
                    "measured_j_per_token": round(d["Energy/req (J)"] / out, 5),
                    "measured_power_w": None,
                    "engine": ENGINES["v2"],
                    "note": "",
                })  # fmt: skip
    return rows


def _v1_rows(repo: Path, commit: str) -> list[dict[str, Any]]:
    rows = []
    for gpu_key, gpu in V1_GPUS.items():
        path = f"data/legacy/{gpu_key}_chat_benchmark.csv"
        for r in csv.DictReader(io.StringIO(_show(repo, commit, path))):
            if r["model"] not in V1_MODELS:
                continue
            out = float(r["response_length"])
            n_in, basis = INPUT_TOKENS["sharegpt"]
            rows.append({
                "source": "v1",
                "repo": "ml-energy/leaderboard-v2",
                "commit": commit,
                "path": path,
                "entry": f"model={r['model']}",
                "task": "chat (ShareGPT)",
                "model": r["model"],
                "precision": "fp16",
                "gpu": gpu,
                "num_gpus": 1,
                "tensor_parallel": 1,
                "max_batch": 1,
                "avg_batch": 1.0,
                "input_tokens": n_in,
                "input_basis": basis,
                "output_tokens": round(out, 1),
                "decode_context_tokens": round(n_in + out / 2, 1),
                "measured_j_per_token": round(float(r["energy"]) / out, 5),
                "measured_power_w": round(float(r["energy"]) / float(r["latency"]), 1),
                "engine": ENGINES["v1"],
                "note": A100_NOTE if gpu == "A100-40" else "",
            })  # fmt: skip
    return rows


ABOUT = {
    "what": (
        "Published GPU energy per output token of LLM serving, measured with NVML by the ML.ENERGY initiative "
        "(University of Michigan), one row per configuration; qscale's inference calibration and validation use it."
    ),
    "sources": {
        "v3": "ML.ENERGY Benchmark v3.0 / Leaderboard v3 (Dec 2025): vLLM 0.11, BF16 or FP8, H100 SXM and B200; "
        "github.com/ml-energy/leaderboard public/data/models/*.json (energy_per_token_joules, avg_batch_size, "
        "avg_power_watts, avg_output_len, output-length histogram). No license file in that repository; the "
        "figures are cited as published measurements (Chung et al., NeurIPS 2025 D&B, arXiv 2505.06371).",
        "v2": "ML.ENERGY Leaderboard v2.0 (Sep 2024): vLLM 0.4.2-0.5.4, BF16, A100 SXM4 40 GB and H100 SXM; "
        "github.com/ml-energy/leaderboard-v2 data/llm_text_generation/chat/*/*/bs*+tp*+pp1.json (Apache-2.0). "
        "J/token = 'Energy/req (J)' / 'Avg Output Tokens'.",
        "v1": "ML.ENERGY Leaderboard (2023): PyTorch 2.0.1 + FastChat (HF transformers), batch 1, FP16, A100 40 GB, "
        "A40 and V100; github.com/ml-energy/leaderboard-v2 data/legacy/<GPU>_chat_benchmark.csv (Apache-2.0). "
        "J/token = energy / response_length; power = energy / latency.",
    },
    "selection": {
        "v3": f"dense Transformers {sorted(V3_MODELS)}, tasks {list(V3_TASKS)}, every max_num_seqs published",
        "v2": f"task chat, dense models {list(V2_MODELS)}, every max batch size published, pipeline parallel 1",
        "v1": f"task chat, Llama-architecture models {sorted(V1_MODELS)}",
    },
    "split": (
        "hold-out = every row of the models "
        + ", ".join(HOLDOUT)
        + "; the calibration fits on the other rows only (whole models held out, so the hold-out tests new sizes)"
    ),
    "holdout_models": list(HOLDOUT),
    "columns": {
        "decode_context_tokens": "mean KV-cache length a decode step reads: input + E[out^2]/(2 E[out]) from the "
        "v3 output-length histogram; input + output for v2 (exponential-like outputs, as v3 shows); input + "
        "output/2 for v1 (one request at a time)",
        "input_tokens": "mean prompt tokens; see input_basis (none of the leaderboards publishes them)",
        "measured_power_w": "average power of all the row's GPUs together (v3: avg_power_watts; v1: energy/latency)",
        "engine": "vllm = vLLM 0.11 (v3); vllm-2024 = vLLM 0.4-0.5 (v2); transformers = HF transformers (v1)",
        "gpu": "qscale accelerator key (accelerators.toml)",
    },
}


def build(v3: Path, v2: Path, v3_commit: str, v2_commit: str) -> dict[str, Any]:
    rows = _v3_rows(v3, v3_commit) + _v2_rows(v2, v2_commit) + _v1_rows(v2, v2_commit)
    rows.sort(key=lambda r: (r["source"], r["model"], r["gpu"], r["task"], r["num_gpus"], r["max_batch"]))
    for i, r in enumerate(rows, 1):
        r["id"] = i
        r["split"] = "holdout" if r["model"] in HOLDOUT else "fit"
    return {"about": ABOUT, "rows": [{"id": r.pop("id"), **r} for r in rows]}


def dump(table: dict[str, Any]) -> str:
    """JSON with one row per line, so a diff shows which measurement changed."""
    rows = ",\n".join("    " + json.dumps(r, ensure_ascii=False) for r in table["rows"])
    about = json.dumps(table["about"], indent=2, ensure_ascii=False).replace("\n", "\n  ")
    return f'{{\n  "about": {about},\n  "rows": [\n{rows}\n  ]\n}}\n'


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--v3", type=Path, required=True, help="clone of github.com/ml-energy/leaderboard")
    parser.add_argument("--v2", type=Path, required=True, help="clone of github.com/ml-energy/leaderboard-v2")
    parser.add_argument("--v3-commit", default=V3_COMMIT)
    parser.add_argument("--v2-commit", default=V2_COMMIT)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    table = build(args.v3, args.v2, args.v3_commit, args.v2_commit)
    args.out.write_text(dump(table), encoding="utf-8")
    print(f"wrote {len(table['rows'])} rows to {args.out}")


if __name__ == "__main__":
    main()
