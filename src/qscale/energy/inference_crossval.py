"""Error summaries of the inference calibration, and its cross-validation errors (data/inference_crossval.json)
summarised per GPU type and per data release, with the goals they are held to.

The file is written by scripts/cross_validate_inference.py (it refits the model once per left-out group, a
few minutes); this module only reads, summarises and renders it, so docs and tests stay fast.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

import numpy as np

CROSSVAL_FILE = "inference_crossval.json"
GOAL = 0.25  # the per-row bound the summaries count misses of
SCHEMES = ("in-sample", "leave-one-model-out", "leave-one-GPU-type-out", "leave-one-release-out")
# The goals (|predicted/measured - 1|): on what the fit saw or on new models, median <= 10 % and at most 5 % of
# rows beyond 25 %; on a GPU type or release the fit did not see, median <= 15 % and no row beyond 40 %.
GOALS = {
    "in-sample": {"median": 0.10, "share_over_25": 0.05},
    "leave-one-model-out": {"median": 0.10, "share_over_25": 0.05},
    "leave-one-GPU-type-out": {"median": 0.15, "max": 0.40},
    "leave-one-release-out": {"median": 0.15, "max": 0.40},
}
RELEASES = {"v1": "v1 (2023, HF transformers, batch 1)", "v2": "v2 (2024, vLLM 0.5)", "v3": "v3 (2025, vLLM 0.11)"}


def summarize(errors: list[float]) -> dict[str, Any]:
    """Median, 90th percentile and largest |error|, and how many rows miss the 25 % goal."""
    a = np.abs(np.asarray(errors, dtype=float))
    if a.size == 0:
        return {"rows": 0}
    return {
        "rows": int(a.size),
        "median_abs": round(float(np.median(a)), 4),
        "p90_abs": round(float(np.quantile(a, 0.9)), 4),
        "max_abs": round(float(a.max()), 4),
        "over_goal": int((a > GOAL).sum()),
    }


def _summary(errors: list[float]) -> dict[str, Any]:
    s = summarize(errors)
    if s["rows"]:
        a = np.abs(np.asarray(errors))
        s["median_signed"] = round(float(np.median(errors)), 4)
        s["over_40"] = int((a > 0.40).sum())
    return s


def meets(scheme: str, s: dict[str, Any]) -> bool:
    """Whether summary `s` of `scheme` meets that scheme's goals."""
    g = GOALS[scheme]
    ok = s["median_abs"] <= g["median"]
    if "share_over_25" in g:
        ok = ok and s["over_goal"] <= g["share_over_25"] * s["rows"]
    if "max" in g:
        ok = ok and s["max_abs"] <= g["max"]
    return ok


def crossval_table(rows: list[dict[str, Any]], errors: dict[str, dict[int, float]]) -> dict[str, Any]:
    """Per-row errors of every scheme and their summaries overall, per GPU type and per release."""
    summaries: dict[str, Any] = {}
    for scheme in SCHEMES:
        e = errors[scheme]
        summaries[scheme] = {
            "all": _summary([e[r["id"]] for r in rows]),
            "gpu": {g: _summary([e[r["id"]] for r in rows if r["gpu"] == g]) for g in sorted({r["gpu"] for r in rows})},
            "release": {
                v: _summary([e[r["id"]] for r in rows if r["source"] == v]) for v in sorted({r["source"] for r in rows})
            },
        }
    return {
        "about": {
            "what": "errors (predicted / measured - 1, GPU J per output token) of qscale's calibrated inference model "
            "on the ML.ENERGY rows of inference_measurements.json, under four cross-validation schemes",
            "written_by": "scripts/cross_validate_inference.py",
            "schemes": {
                "in-sample": "fit on every row, score every row",
                "leave-one-model-out": "per architecture (fine-tunes and renamed copies of the same weights are one "
                "group): fit on the other rows, score its rows",
                "leave-one-GPU-type-out": "per GPU type: fit without any of its rows (it gets the shared parameters)",
                "leave-one-release-out": "per release v1/v2/v3: fit without it (its engine gets the shared engine "
                "parameters; B200 is only in v3, so leaving v3 out also leaves B200 out)",
            },
            "goals": GOALS,
        },
        "summaries": summaries,
        "rows": [{"id": r["id"], **{s: round(errors[s][r["id"]], 4) for s in SCHEMES}} for r in rows],
    }


def dump(table: dict[str, Any]) -> str:
    """JSON with one row per line, so a diff shows which error changed."""
    rows = ",\n".join("    " + json.dumps(r) for r in table["rows"])
    head = {k: v for k, v in table.items() if k != "rows"}
    body = json.dumps(head, indent=2)[:-2]
    return f'{body},\n  "rows": [\n{rows}\n  ]\n}}\n'


@cache
def crossval() -> dict[str, Any]:
    """The packaged cross-validation table."""
    text = resources.files("qscale.energy").joinpath("data", CROSSVAL_FILE).read_text(encoding="utf-8")
    return json.loads(text)


def _pct(x: float) -> str:
    return f"{100 * x:.1f} %"


def markdown(table: dict[str, Any] | None = None) -> list[str]:
    """The cross-validation tables: per scheme, overall, per GPU type and per release, with the goal verdicts."""
    table = table or crossval()
    out = [
        "Cross-validation (`scripts/cross_validate_inference.py`, stored in `data/inference_crossval.json`): "
        "|predicted / measured − 1| of GPU J per output token. Goals: in-sample and leave-one-model-out median "
        "≤ 10 % and ≤ 5 % of rows beyond 25 %; a GPU type or release the fit did not see, median ≤ 15 % and no "
        "row beyond 40 %.",
        "",
        "| scheme | group | rows | median | p90 | max | signed median | > 25 % | > 40 % | goal |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for scheme in SCHEMES:
        s = table["summaries"][scheme]
        groups = [("all rows", s["all"])]
        groups += [(f"GPU {g}", v) for g, v in s["gpu"].items()]
        groups += [(f"release {RELEASES.get(v, v)}", x) for v, x in s["release"].items()]
        for name, x in groups:
            verdict = "met" if meets(scheme, x) else "**missed**"
            out.append(
                f"| {scheme} | {name} | {x['rows']} | {_pct(x['median_abs'])} | {_pct(x['p90_abs'])} | "
                f"{_pct(x['max_abs'])} | {_pct(x['median_signed'])} | {x['over_goal']} | {x['over_40']} | {verdict} |"
            )
    return [*out, ""]
