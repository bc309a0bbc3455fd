"""The quantization results table of docs/quantization.md: every method through `qscale quantize --json`.

Each row is one CLI run (a fresh process, so no state leaks between methods), saved to
benchmarks/results/quantization-<tag>.json as soon as it ends; a row already there is skipped, so an
interrupted table resumes. `--render` rewrites the table section of docs/quantization.md from the file.

    python benchmarks/quantization_table.py --plan whole3 --plan whole24   # all layers: classical + QUBO-exact
    python benchmarks/quantization_table.py --plan evaltext                # 3 bits on Python's LICENSE.txt
    python benchmarks/quantization_table.py --plan solvers3 --plan sa      # block 0: exact vs SA vs QAOA p=1,2,3
    python benchmarks/quantization_table.py --render
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import sysconfig
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_common import BENCH_DIR, ROOT, log, machine_info
from qscale.markdown import markdown_table

DOC = ROOT / "docs" / "quantization.md"
QSCALE = [sys.executable, "-m", "qscale.cli"]
COMMON = ["--seq-len", "256", "--calib-windows", "32", "--eval-windows", "24", "--json"]
LICENSE_TEXT = Path(sysconfig.get_paths()["stdlib"]) / "LICENSE.txt"  # a text unlike pydoc, same for every 3.11

METHODS: dict[str, list[str]] = {
    "rtn": ["--method", "rtn"],
    "gptq": ["--method", "gptq"],
    "gptq+cd": ["--method", "gptq", "--refine", "2"],
    "qubo-exact (no refine)": ["--method", "qubo", "--solver", "exact", "--refine", "0"],
    "qubo-exact": ["--method", "qubo", "--solver", "exact", "--refine", "2"],
    "qubo-sa": ["--method", "qubo", "--solver", "sa", "--refine", "2"],
    "qubo-qaoa p=1": ["--method", "qubo", "--solver", "qaoa", "--qaoa-p", "1", "--refine", "2"],
    "qubo-qaoa p=2": ["--method", "qubo", "--solver", "qaoa", "--qaoa-p", "2", "--refine", "2"],
    "qubo-qaoa p=3": ["--method", "qubo", "--solver", "qaoa", "--qaoa-p", "3", "--refine", "2"],
}
BITS_ORDER = ["3", "4", "2", "5", "6", "7", "8"]  # the target first
CLASSICAL = ["rtn", "gptq", "gptq+cd", "qubo-exact (no refine)", "qubo-exact"]
SOLVERS = ["gptq", "gptq+cd", "qubo-exact", "qubo-qaoa p=1", "qubo-qaoa p=2", "qubo-qaoa p=3"]


def plan(name: str) -> list[tuple[str, list[str]]]:
    """(row key, CLI arguments) in run order."""
    rows: list[tuple[str, list[str]]] = []
    bits_of = {"whole3": (3,), "whole24": (4, 2), "solvers3": (3,), "solvers24": (2, 4)}
    if name.startswith("whole"):
        for bits in bits_of[name]:
            rows += [(f"all|pydoc|{bits}|{m}", [*METHODS[m], "--bits", str(bits)]) for m in CLASSICAL]
    elif name == "evaltext":
        eval_args = ["--eval-text", str(LICENSE_TEXT), "--bits", "3"]
        rows += [(f"all|license|3|{m}", [*METHODS[m], *eval_args]) for m in ("rtn", "gptq", "gptq+cd", "qubo-exact")]
    elif name.startswith("solvers"):
        block0 = ["--layers", "model.layers.0.*"]
        for bits in bits_of[name]:
            rows += [(f"block0|pydoc|{bits}|{m}", [*METHODS[m], *block0, "--bits", str(bits)]) for m in SOLVERS]
    elif name == "seeds":  # other calibration draws: is the ordering more than one draw's luck?
        for seed in (1, 2):
            rows += [
                (f"all|pydoc|3|{m} (seed {seed})", [*METHODS[m], "--bits", "3", "--seed", str(seed)])
                for m in ("gptq", "gptq+cd", "qubo-exact")
            ]
    elif name == "sa":
        attn0 = ["--layers", "model.layers.0.self_attn.*", "--bits", "3"]
        rows += [(f"attn0|pydoc|3|{m}", [*METHODS[m], *attn0]) for m in ("gptq", "qubo-exact", "qubo-sa")]
    else:
        raise SystemExit(f"unknown plan {name!r}: whole3, whole24, evaltext, seeds, solvers3, solvers24 or sa")
    return rows


def run_row(args: list[str]) -> dict[str, Any]:
    env = os.environ | {"HF_HUB_OFFLINE": "1"}
    start = time.perf_counter()
    seed = [] if "--seed" in args else ["--seed", "0"]
    proc = subprocess.run([*QSCALE, "quantize", *args, *COMMON, *seed], capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"rc {proc.returncode}"}
    out = json.loads(proc.stdout)
    out.pop("layers", None)  # per-layer detail is in relative_error; keep the file readable
    out["wall_seconds"] = time.perf_counter() - start
    out["args"] = args
    return out


def run_plan(name: str, path: Path) -> None:
    data = json.loads(path.read_text()) if path.exists() else {"machine": machine_info(), "rows": {}}
    for key, args in plan(name):
        if key in data["rows"] and "error" not in data["rows"][key]:
            log(f"have {key}")
            continue
        log(f"running {key}: qscale quantize {' '.join(args)}")
        data["rows"][key] = run_row(args)
        r = data["rows"][key]
        log(f"  -> {r.get('perplexity', r.get('error'))} in {r.get('wall_seconds', 0):.0f} s")
        data["machine_last_run"] = machine_info()
        path.write_text(json.dumps(data, indent=1))


TABLE_HEADERS = [
    "method", "perplexity", "mean layer error", "quantization time (× GPTQ)", "QAOA optimal fraction; circuits", "kind"
]


def _fmt_row(label: str, r: dict[str, Any], gptq: dict[str, Any] | None) -> list[str]:
    if "error" in r:
        return [label, f"error: {r['error']}", "", "", "", ""]
    ratio = f"{r['seconds_quantize'] / gptq['seconds_quantize']:.2f}×" if gptq and "error" not in gptq else "–"
    q = r.get("qaoa")
    qaoa = (
        f"{r['qaoa_optimal_fraction']:.4f} (random {q['random_guess_optimal_fraction']:.3f}); "
        f"{r['quantum_resources']['circuits']:,} circuits"
        if q
        else "–"
    )
    kind = "measured; QAOA simulated, circuits projected" if q else "measured"
    return [
        label, f"{r['perplexity']:.2f}", f"{r['mean_relative_error']:.5f}", f"{r['seconds_quantize']:.0f} s ({ratio})",
        qaoa, kind,
    ]


def render(path: Path) -> str:
    data = json.loads(path.read_text())
    rows = data["rows"]
    m = data.get("machine_last_run", data["machine"])
    lines = [
        f"Machine: {m.get('cpu_model', m.get('machine'))}, {m.get('usable_cpus', m.get('logical_cpus'))} usable "
        f"CPUs, last run {m.get('date_utc')}. Generated by `python benchmarks/quantization_table.py --render` from "
        f"`{path.relative_to(ROOT)}`. Time = the quantization phase of each run (recording each layer's Hessian, "
        "forward passes over the calibration windows, quantizing the layers; model loading and perplexity excluded); "
        "the ratio is to the GPTQ row of the same table. The CPU was shared with other jobs, so single times vary "
        "by up to ~2x.",
        "",
    ]
    groups: dict[tuple[str, str, str], list[tuple[str, dict]]] = {}
    for key, r in rows.items():
        scope, text, bits, method = key.split("|")
        groups.setdefault((scope, text, bits), []).append((method, r))
    titles = {
        "all": "all 210 linear layers of the 30 blocks",
        "block0": "the 7 linear layers of block 0 only",
        "attn0": "the 4 attention projections of block 0 only",
    }
    texts = {"pydoc": "held-out pydoc text", "license": "Python's LICENSE.txt given with --eval-text"}
    def order(group: tuple) -> tuple:
        scope, text, bits = group[0]
        return scope != "all", text, BITS_ORDER.index(bits)

    for (scope, text, bits), items in sorted(groups.items(), key=order):
        first = next(r for _, r in items if "error" not in r)
        gptq = dict(items).get("gptq")
        lines += [
            f"### {bits} bits, {titles[scope]}, {texts[text]} "
            f"({first['evaluation_windows']} × {first['seq_len']} tokens; FP {first['perplexity_fp']:.2f})",
            "",
            markdown_table(TABLE_HEADERS, [_fmt_row(method, r, gptq) for method, r in items]),
            "",
        ]
    return "\n".join(lines)


def write_doc(table: str) -> None:
    text = DOC.read_text()
    begin, end = "<!-- table:begin -->", "<!-- table:end -->"
    if begin not in text:
        raise SystemExit(f"{DOC} has no {begin} marker")
    DOC.write_text(re.sub(f"{begin}.*{end}", lambda _m: f"{begin}\n{table}\n{end}", text, flags=re.S))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    plans = "whole3, whole24, evaltext, seeds, solvers3, solvers24 or sa; repeatable"
    ap.add_argument("--plan", action="append", default=[], help=plans)
    ap.add_argument("--tag", default="cpu", help="results file suffix (machine kind)")
    ap.add_argument("--render", action="store_true", help="rewrite the table in docs/quantization.md")
    args = ap.parse_args()
    path = BENCH_DIR / "results" / f"quantization-{args.tag}.json"
    for name in args.plan:
        run_plan(name, path)
    if args.render:
        write_doc(render(path))
        log(f"wrote {DOC}")


if __name__ == "__main__":
    main()
