"""Quantization results over calibration seeds: every method, the field's reference tools, paired verdicts.

The measurements come from `benchmarks/quant_reference.py` (same model, same calibration windows, qscale's
perplexity code, for qscale's methods and for llmcompressor / AutoRound). `benchmarks/quantization_table.py
--render` keeps a compact copy here as package data (data/quantization_seeds.json), so the study can show the
reference rows and the multi-seed verdict without re-running tools that take longer than its time budget.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qscale.stats import Interval, PairedVerdict, paired_verdict, t_interval

STORED = Path(__file__).parent / "data" / "quantization_seeds.json"
CANDIDATE = "qubo-exact"  # the QUBO formulation (solved exactly) whose verdict the study reports
ORDER = ["rtn", "gptq", "gptq-onepass", "gptq-onepass-fp32h", "gptq-cd", "llmcompressor", "autoround", "qubo-exact"]
# shown, never the "classical best": they exist to explain the gap to llmcompressor
DIAGNOSTIC = {"gptq-onepass", "gptq-onepass-fp32h"}
LABELS = {
    "rtn": "rtn", "gptq": "gptq", "gptq-cd": "gptq+cd", "qubo-exact": "qubo-exact",
    "llmcompressor": "llmcompressor GPTQModifier", "autoround": "AutoRound",
    "gptq-onepass": "gptq, one Hessian pass per block (llmcompressor's order)",
    "gptq-onepass-fp32h": "the same, Hessian summed in float32 as llmcompressor sums it",
}  # fmt: skip
MIN_SEEDS = 2  # calibration draws a method needs before it can be the classical best: one gives no interval
TEXTS = {"pydoc": "pydoc held-out", "license": "LICENSE.txt"}


def compact(results: dict[str, Any]) -> dict[str, Any]:
    """benchmarks/results/quantization-seeds.json -> {cells: {"3|row": {method: {tool, version, seeds}}}, ...}."""
    cells: dict[str, dict[str, Any]] = {}
    for key, r in results["runs"].items():
        method, bits, grid, seed = key.split("|")
        entry = cells.setdefault(f"{bits}|{grid}", {}).setdefault(
            method, {"tool": r["tool"], "version": r["version"], "options": r.get("options", {}), "seeds": {}}
        )
        entry["seeds"][seed] = {text: e["perplexity"] for text, e in r["eval"].items()}
    fp = {text: e["perplexity"] for text, e in results.get("fp_eval", {}).items()}
    return {"inputs": results.get("inputs", {}), "fp": fp, "cells": cells}


def load_stored() -> dict[str, Any] | None:
    return json.loads(STORED.read_text()) if STORED.is_file() else None


@dataclass(frozen=True)
class MethodSeeds:
    method: str
    tool: str  # "qscale 0.1.0", "llmcompressor 0.14.0.1", ...
    values: dict[int, float]  # seed -> perplexity
    interval: Interval


def method_seeds(cell: dict[str, Any], text: str) -> dict[str, MethodSeeds]:
    """Each method's perplexities on `text` by seed and their t-interval, in table order."""
    out = {}
    for method in sorted(cell, key=lambda m: ORDER.index(m) if m in ORDER else len(ORDER)):
        entry = cell[method]
        values = {int(s): v[text] for s, v in entry["seeds"].items() if text in v}
        if values:
            out[method] = MethodSeeds(
                method,
                f"{entry['tool']} {entry['version']}" + _recipe(entry.get("options", {})),
                dict(sorted(values.items())),
                t_interval(list(values.values())),
            )
    return out


def _recipe(options: dict[str, Any]) -> str:
    """A tool's named recipe when it ran one (AutoRound: default or light), else nothing."""
    if "recipe" in options and "iters" in options:
        return f", {options['recipe']} recipe ({options['iters']} steps)"
    return ""


def paired_against(stats: dict[str, MethodSeeds], candidate: str = CANDIDATE) -> dict[str, PairedVerdict]:
    """candidate − method per shared seed for every other method (lower perplexity is better)."""
    if candidate not in stats:
        return {}
    cand = stats[candidate].values
    out = {}
    for method, s in stats.items():
        shared = sorted(set(cand) & set(s.values))
        if method != candidate and shared:
            out[method] = paired_verdict([cand[k] for k in shared], [s.values[k] for k in shared])
    return out


def classical_best(stats: dict[str, MethodSeeds], candidate: str = CANDIDATE) -> str | None:
    """The classical method with the lowest mean perplexity among those measured on enough seeds.

    Enough is MIN_SEEDS calibration draws (or, while none has that many, the most any has): a method seen on
    one lucky draw gives no interval and must not become the bar; from two on, the paired t-interval carries
    the uncertainty of few seeds into the verdict.
    """
    others = {m: s for m, s in stats.items() if m != candidate and m not in DIAGNOSTIC}
    if not others:
        return None
    enough = min(MIN_SEEDS, max(s.interval.n for s in others.values()))
    eligible = {m: s for m, s in others.items() if s.interval.n >= enough}
    return min(eligible, key=lambda m: eligible[m].interval.mean)


def statistics_summary(stats: dict[str, MethodSeeds], source: str, candidate: str = CANDIDATE) -> dict[str, Any]:
    """JSON-ready: each method's interval, the candidate's paired difference to each, and the verdict against
    the classical best (the classical method with the lowest mean)."""
    paired = paired_against(stats, candidate)
    best = classical_best(stats, candidate)
    return {
        "source": source,
        "candidate": candidate,
        "confidence": 0.95,
        "methods": {
            m: {"tool": s.tool, "values": {str(k): v for k, v in s.values.items()}, "mean": s.interval.mean,
                "half_width": _finite(s.interval.half_width), "n": s.interval.n}
            for m, s in stats.items()
        },
        "paired": {
            m: {"differences": list(p.differences), "mean": p.interval.mean, "low": _finite(p.interval.low),
                "high": _finite(p.interval.high), "n": p.interval.n, "verdict": p.verdict, "would_flip": p.would_flip()}
            for m, p in paired.items()
        },
        "classical_best": best,
        "verdict": paired[best].verdict if best in paired else None,
    }  # fmt: skip


def _finite(x: float) -> float | None:
    """None for the infinite half-width of a single seed (results.json stays strict JSON)."""
    return x if math.isfinite(x) else None
