"""`qscale quantize` as a function: load, measure FP perplexity, quantize sequentially, measure again, save.

All user input is checked before the model loads, so a bad option fails in a second, not a minute.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from pathlib import Path
from statistics import mean
from typing import Any

import torch

from qscale.errors import QscaleUserError
from qscale.io import Result
from qscale.llm.models import FP_NOTE, LoadedModel, check_model_name, load_causal_lm
from qscale.llm.perplexity import Perplexity, perplexity
from qscale.llm.quant.base import LayerQuantizer
from qscale.llm.quant.factory import make_quantizer
from qscale.llm.quant.grid import check_bits
from qscale.llm.quant.refine import check_refine
from qscale.llm.quant.resources import merge_shapes, qaoa_resources
from qscale.llm.quant.runner import check_finite, quantize_model, select_layers
from qscale.llm.quant.solvers import make_solver
from qscale.llm.text import pydoc_split, read_text_file, token_windows
from qscale.validation import check_new_folder

METHODS = ("rtn", "gptq", "qubo")
SOLVERS = ("exact", "sa", "greedy", "qaoa")
DEFAULT_REFINE = {"rtn": 0, "gptq": 0, "qubo": 2}  # sweeps after the first pass; see qscale.llm.quant.refine


def resolve_refine(method: str, refine: int | None) -> int:
    """The method's default when not given; RTN has no Hessian to descend on."""
    if refine is None:
        return DEFAULT_REFINE.get(method, 0)
    if method == "rtn" and refine:
        raise QscaleUserError("--refine needs a layer Hessian: use it with gptq or qubo, not rtn")
    return check_refine(refine)


def _factory(method: str, opts: dict[str, Any]) -> Callable[[], LayerQuantizer]:
    """A quantizer maker (one fresh quantizer per layer; the QUBO solver, with its QAOA angles, is shared)."""
    common = {"bits": opts["bits"], "group_size": opts["group_size"]}
    if method == "rtn":
        kwargs = common
    elif method == "gptq":
        kwargs = common | {"act_order": opts["act_order"], "percdamp": opts["percdamp"], "refine": opts["refine"]}
    else:
        solver_opts: dict[str, Any] = {}
        if opts["solver"] == "qaoa":
            solver_opts = {"p": opts["qaoa_p"], "shots": opts["shots"], "seed": opts["seed"]}
        elif opts["solver"] == "sa":
            solver_opts = {"seed": opts["seed"]}
        solver = make_solver(opts["solver"], **solver_opts)
        if opts.get("recorder") is not None:  # --backend: the exact path's QUBOs, sampled for the backend run
            solver.recorder = opts["recorder"]
        kwargs = common | {
            "act_order": opts["act_order"], "percdamp": opts["percdamp"], "block": opts["block"],
            "vars_per_weight": opts["vars_per_weight"], "solver": solver, "refine": opts["refine"],
        }
    make_quantizer(method, **kwargs)  # validates every option now
    return lambda: make_quantizer(method, **kwargs)


class QuantizeResult(Result):
    """`run_quantize`'s answer: the `qscale quantize` JSON (perplexity beside the unquantized model, errors, QAOA)."""


def run_quantize(
    model: str = "smollm2-135m", bits: int = 4, method: str = "gptq", solver: str = "exact", block: int = 8,
    vars_per_weight: int = 1, group_size: int | None = None, act_order: bool = True, layers: str = "*",
    eval_text: Path | None = None, calib_text: Path | None = None, seq_len: int = 512, calib_windows: int = 64,
    eval_windows: int | None = None, qaoa_p: int = 2, shots: int = 256, seed: int = 0, save: Path | None = None,
    device: str = "auto", percdamp: float = 0.01, batch_size: int = 8, refine: int | None = None,
    on_stage: Callable[[str], None] | None = None, on_layer: Callable[[str, int, int], None] | None = None,
    backend: str = "exact", backend_qubos: int = 32,
) -> QuantizeResult:
    """Quantize `model`'s block linear layers; the result's `to_json()` is the `qscale quantize` JSON.

    act_order: visit columns by decreasing diag(H) (GPTQ's act-order, on by default as in GPTQ's and
    llmcompressor's recipes; with group_size, groups stay whole: llm.quant.hessian.act_order_perm).
    save: a new (or empty) folder for a compressed-tensors pack-quantized checkpoint (llm.quant.save).
    backend: with --solver qaoa, also run a sample of `backend_qubos` block QUBOs there (llm.quant.qaoa_backend).
    """
    t_start = time.perf_counter()
    say = on_stage or (lambda _msg: None)
    check_bits(bits)
    if method not in METHODS:
        raise QscaleUserError(f"--method must be one of {', '.join(METHODS)}, got {method!r}")
    if method == "qubo" and solver not in SOLVERS:
        raise QscaleUserError(f"--solver must be one of {', '.join(SOLVERS)}, got {solver!r}")
    if batch_size < 1:
        raise QscaleUserError(f"batch size must be positive, got {batch_size}")
    refine = resolve_refine(method, refine)
    recorder = None
    if backend != "exact":
        from qscale.llm.quant.qaoa_backend import check_backend_options

        recorder = check_backend_options(backend, method, solver, block * vars_per_weight, backend_qubos, shots, seed)
    opts = dict(locals())
    make = _factory(method, opts)
    check_model_name(model)
    if save is not None:
        check_new_folder(save)
    if eval_text is not None:
        eval_str, eval_desc = read_text_file(eval_text, "--eval-text"), f"file {eval_text}"
    if calib_text is not None:
        calib_str, calib_desc = read_text_file(calib_text, "--calib-text"), f"file {calib_text}"
    if eval_text is None or calib_text is None:
        split = pydoc_split()
        if eval_text is None:
            eval_str, eval_desc = split.evaluation, split.description + " (held-out part)"
        if calib_text is None:
            calib_str, calib_desc = split.calibration, split.description + " (calibration part)"

    torch.manual_seed(seed)
    say(f"loading {model}")
    loaded = load_causal_lm(model, device)
    chosen = select_layers(loaded.model, layers)  # a pattern matching nothing, a NaN weight or groups a
    check_finite(loaded.model)  # checkpoint cannot store fail before any minute-long pass
    if save is not None:
        check_groups_fit_checkpoint(loaded.model, chosen, group_size)
    eval_w = token_windows(loaded.tokenizer, eval_str, seq_len, eval_windows, "evaluation text")
    calib_w = token_windows(loaded.tokenizer, calib_str, seq_len, calib_windows, "calibration text", seed=seed)

    say(f"perplexity of the unquantized model on {eval_w.shape[0]} windows")
    ppl_fp, t_fp = _fp_perplexity(loaded, eval_w, max(1, batch_size // 2))

    say(f"quantizing with {method} on {calib_w.shape[0]} calibration windows")
    t0 = time.perf_counter()
    results = quantize_model(loaded.model, calib_w, make, layers, batch_size, on_layer)
    t_quant = time.perf_counter() - t0

    say("perplexity of the quantized model")
    t0 = time.perf_counter()
    ppl = perplexity(loaded.model, eval_w, batch_size=max(1, batch_size // 2))
    t_eval = time.perf_counter() - t0

    out: dict[str, Any] = {
        "model": model,
        "model_source": loaded.source,
        "fp_reference": FP_NOTE if model == "smollm2-135m" else "the loaded model's float32 weights",
        "method": method,
        "solver": solver if method == "qubo" else None,
        "bits": bits,
        "group_size": group_size,
        "grid": "asymmetric min-max per row" + (f", groups of {group_size} columns" if group_size else ""),
        "act_order": act_order if method != "rtn" else None,
        "damping": percdamp if method != "rtn" else None,
        "block": block if method == "qubo" else None,
        "vars_per_weight": vars_per_weight if method == "qubo" else None,
        "refine": refine if method != "rtn" else None,
        "refine_definition": "sweeps of moves on the damped layer loss (GPTQ's objective) after the first pass: "
        "block moves, each a QUBO for the same solver (qubo), or cyclic coordinate descent one weight at a time (gptq)",
        "layers_pattern": layers,
        "layers_quantized": len(results),
        "seq_len": seq_len,
        "seed": seed,
        "calibration_text": calib_desc,
        "calibration_windows": int(calib_w.shape[0]),
        "evaluation_text": eval_desc,
        "evaluation_windows": ppl.windows,
        "evaluation_tokens": ppl.tokens,
        "perplexity": ppl.perplexity,
        "perplexity_fp": ppl_fp.perplexity,
        "nll": ppl.nll,
        "nll_fp": ppl_fp.nll,
        "relative_error": {r.name: r.relative_error for r in results},
        "relative_error_definition": "||(W-Q)X||^2 / ||WX||^2 on the calibration inputs each layer saw "
        "(outputs of the already-quantized layers before it)",
        "mean_relative_error": mean(r.relative_error for r in results),
        "layers": [_layer_row(r) for r in results],
        "seconds": 0.0,
        "seconds_quantize": t_quant,
        "seconds_quantize_layers": sum(r.seconds for r in results),
        "seconds_eval_fp": t_fp,
        "seconds_eval": t_eval,
        "device": str(next(loaded.model.parameters()).device),
        "torch_threads": torch.get_num_threads(),
        "kinds": {
            "perplexity": "measured", "perplexity_fp": "measured", "relative_error": "measured",
            "seconds": "measured",
        },
    }
    if refine:
        out["refine_loss_reduction"] = _refine_reduction(results)
    if method == "qubo":
        out["qubo"] = _qubo_summary(results)
    if method == "qubo" and solver == "qaoa":
        out |= _qaoa_summary(results, make(), qaoa_p, shots)
        out["kinds"] |= {"qaoa_optimal_fraction": "simulated", "quantum_resources": "projected"}
    if recorder is not None:
        from qscale.llm.quant.qaoa_backend import audit

        say(f"running {len(recorder.items)} of {recorder.seen} block QUBOs on {backend}")
        out |= audit(recorder, backend, make().solver.angles, shots, seed)
        out["kinds"] |= {"qaoa_optimal_fraction_backend": "simulated (noisy)" if out["qaoa_backend"]["backend"]["noisy"]
                         else "simulated"}
    if save is not None:
        from qscale.llm.quant.save import save_quantized

        say(f"saving to {save}")
        keep = (
            "model", "method", "solver", "block", "vars_per_weight", "act_order", "damping", "refine", "seed",
            "fp_reference", "perplexity", "perplexity_fp", "evaluation_text", "evaluation_windows", "seq_len",
        )
        out["saved_to"] = str(save_quantized(loaded, results, {k: out[k] for k in keep}, save))
    out["seconds"] = time.perf_counter() - t_start
    return QuantizeResult(out)


def check_groups_fit_checkpoint(model: torch.nn.Module, layers: list[str], group_size: int | None) -> None:
    """--save with --group-size: every group must hold group_size columns.

    Quantizing alone allows a shorter last group per row (e.g. 128 on SmolLM2's 576-wide layers: 4 x 128
    + 64), but compressed-tensors 0.20 stores groups only where group_size divides the width.
    """
    if group_size is None:
        return
    for name in layers:
        cols = model.get_submodule(name).in_features
        if cols % group_size:
            raise QscaleUserError(
                f"--group-size {group_size} does not divide the {cols} input columns of {name}, which a "
                "compressed-tensors checkpoint needs: use a divisor of every quantized layer's width with --save, "
                "or quantize without --save (the last group of a row is then shorter)"
            )


def _fp_perplexity(loaded: LoadedModel, windows: torch.Tensor, batch_size: int) -> tuple[Perplexity, float]:
    """Perplexity of the not-yet-quantized model, and the seconds it took here (0 when reused).

    Copies handed out by reuse_loaded_models() share a memo, so several methods on the same model and
    windows score the unquantized model once.
    """
    key = ("perplexity", tuple(windows.shape), hashlib.sha1(windows.numpy().tobytes()).hexdigest(), batch_size)
    memo = loaded.pristine_memo if loaded.pristine_memo is not None else {}
    if key in memo:
        return memo[key], 0.0
    t0 = time.perf_counter()
    memo[key] = perplexity(loaded.model, windows, batch_size=batch_size)
    return memo[key], time.perf_counter() - t0


def _layer_row(r: Any) -> dict[str, Any]:
    skip = ("qubo_shapes", "refine_qubo_shapes")
    return {"name": r.name, "shape": list(r.shape), "relative_error": r.relative_error, "seconds": r.seconds} | {
        k: v for k, v in r.stats.items() if k not in skip
    }


def _qubo_summary(results: list[Any]) -> dict[str, Any]:
    n = sum(r.stats["block_qubos"] for r in results)

    def frac(key: str) -> float:
        return sum(r.stats[key] * r.stats["block_qubos"] for r in results) / max(n, 1)

    return {
        "block_qubos": n,
        "better_than_gptq_fraction": frac("better_than_gptq_fraction"),
        "worse_than_gptq_fraction": frac("worse_than_gptq_fraction"),
        "gptq_outside_floor_ceil_fraction": frac("gptq_outside_floor_ceil_fraction"),
        "obs_gain_over_gptq_blocks": sum(r.stats["obs_gain_over_gptq_blocks"] for r in results),
        "note": "block-by-block comparison with GPTQ's own choice from the same starting state",
    }


def _refine_reduction(results: list[Any]) -> float:
    """Fraction of the first pass's layer loss the refinement sweeps removed, summed over layers."""
    before = sum(r.stats["refine_loss_before"] for r in results)
    after = sum(r.stats["refine_loss_after"] for r in results)
    return 1.0 - after / before if before > 0 else 0.0


def _qaoa_summary(results: list[Any], quantizer: Any, p: int, shots: int) -> dict[str, Any]:
    def total(key: str) -> float:
        return sum(r.stats.get(key, 0) for r in results)

    rounding = {k: total(k) for k in ("block_qubos", "optimal_count", "random_optimal_count", "p_optimal_sum")}
    moves = {k: total(f"refine_{k}") for k in ("qubos", "optimal_count", "random_optimal_count", "p_optimal_sum")}
    n = rounding["block_qubos"] + moves["qubos"]
    optimal = rounding["optimal_count"] + moves["optimal_count"]
    random_opt = rounding["random_optimal_count"] + moves["random_optimal_count"]
    p_opt = rounding["p_optimal_sum"] + moves["p_optimal_sum"]
    angles = quantizer.solver.angles
    shapes = merge_shapes([s for r in results for s in (r.stats["qubo_shapes"], r.stats.get("refine_qubo_shapes", []))])
    return {
        "qaoa_optimal_fraction": optimal / max(n, 1),
        "qaoa": {
            "kind": "simulated",
            "p": p,
            "shots": shots,
            "block_qubos": int(n),
            "optimal_fraction": optimal / max(n, 1),
            "random_guess_optimal_fraction": random_opt / max(n, 1),
            "mean_optimum_probability": p_opt / max(n, 1),
            "rounding_qubos": int(rounding["block_qubos"]),
            "rounding_optimal_fraction": rounding["optimal_count"] / max(rounding["block_qubos"], 1),
            "move_qubos": int(moves["qubos"]),
            "move_optimal_fraction": moves["optimal_count"] / max(moves["qubos"], 1) if moves["qubos"] else None,
            "definition": "fraction of block-QUBOs (one per row and block, in the rounding pass and in the refinement "
            "moves) where the best of `shots` samples from the simulated QAOA state is an exact optimum (found by "
            "enumeration); the random-guess baseline draws the same number of uniform bitstrings",
            "angles": {str(k): {"gammas": v["gammas"], "betas": v["betas"]} for k, v in sorted(angles.items())},
            "angle_rule": "one shared set per qubit count, L-BFGS-B on the mean expected normalised energy of "
            "the first block's rows (diagonal normalised to mean 0, std 1 per row), linear-ramp starts",
        },
        "quantum_resources": qaoa_resources(shapes, p, shots),
    }
