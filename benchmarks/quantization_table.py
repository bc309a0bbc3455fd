"""The quantization results table of docs/quantization.md, rendered from `qscale sweep` tables.

The runs are sweep definitions, each cell one study with only the quantization stage (one method, one bit
width, one calibration seed), run by `qscale sweep` on this machine or a Ray cluster, resumably:

    qscale sweep benchmarks/sweeps/quantization.toml --out sweeps/quantization               # all layers, 2-4 bits
    qscale sweep benchmarks/sweeps/quantization-block0.toml --out sweeps/quantization-block0  # exact vs QAOA p=1..3
    qscale sweep benchmarks/sweeps/quantization-attn0.toml --out sweeps/quantization-attn0    # exact vs SA
    STDLIB=$(python -c 'import sysconfig; print(sysconfig.get_paths()["stdlib"])')
    qscale sweep benchmarks/sweeps/quantization.toml --seeds 1 --grid quantization.bits=3 \\
        --grid quantization.eval_text=$STDLIB/LICENSE.txt --out sweeps/quantization-license    # another eval text
    python benchmarks/quantization_table.py --sweep sweeps/quantization --sweep sweeps/quantization-block0 --render

The multi-seed tables (every method and the reference tools, mean and 95 % interval over calibration seeds,
paired verdicts) come from benchmarks/quant_reference.py's results (benchmarks/results/quantization-seeds.json);
--render also refreshes the compact copy the study reads (src/qscale/llm/quant/data/quantization_seeds.json).

Rows measured earlier by the per-process driver this replaced stay in benchmarks/results/quantization-cpu.json
and are rendered too; a sweep row replaces the stored row with the same key (scope, text, bits, method). Each
sweep's own report.html has the cross-cell plots (perplexity vs bits per method, error bars over seeds).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_common import BENCH_DIR, ROOT, log
from qscale.llm.quant import seeds as qseeds
from qscale.markdown import markdown_table
from qscale.stats import paired_verdict

DOC = ROOT / "docs" / "quantization.md"
LEGACY = BENCH_DIR / "results" / "quantization-cpu.json"
SEEDS = BENCH_DIR / "results" / "quantization-seeds.json"
GRID_TITLES = {"row": "per-row grid", "g128": "groups of 128 columns", "g64": "groups of 64 columns"}
# what docs/quantization.md promises; g64 because llmcompressor refuses g128 on SmolLM2 (576 = 4.5 x 128)
EXPECTED_CELLS = ["3|row", "4|row", "3|g128", "4|g128", "3|g64", "4|g64"]
BITS_ORDER = ["3", "4", "2", "5", "6", "7", "8"]  # the target first
SCOPES = {"*": "all", "model.layers.0.*": "block0", "model.layers.0.self_attn.*": "attn0"}
STAGE = "stages.quantization."


def _unflatten(row: dict[str, Any], prefix: str) -> dict[str, Any]:
    """The nested dict under `prefix` of a flattened sweep-table row."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        if key.startswith(prefix) and value is not None:
            *parents, leaf = key[len(prefix) :].split(".")
            node = out
            for p in parents:
                node = node.setdefault(p, {})
            node[leaf] = value
    return out


def _label(method: str, row: dict[str, Any]) -> str:
    p, seed = row.get("grid.quantization.qaoa_p"), row["seed"]
    label = {"gptq-cd": "gptq+cd"}.get(method, method)
    if method.startswith("qubo") and row.get("grid.quantization.refine") == 0:
        label += " (no refine)"
    if method == "qubo-qaoa":
        label += f" p={p if p is not None else row.get(f'{STAGE}qaoa_p', '?')}"
    return label + (f" (seed {seed})" if seed else "")


def sweep_rows(folder: Path) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """{row key: result} from one sweep folder's table, and the machine its cells reported."""
    from qscale.study.sweep.table import read_table

    table = next((folder / n for n in ("table.parquet", "table.csv") if (folder / n).is_file()), None)
    if table is None:
        raise SystemExit(f"{folder}: no table.parquet or table.csv (run `qscale sweep` into it first)")
    rows: dict[str, dict[str, Any]] = {}
    machine: dict[str, Any] = {}
    for row in read_table(table):
        if row.get(f"{STAGE}model") not in (None, "smollm2-135m"):
            log(f"{folder}: cell {row['cell_id']} ran {row[STAGE + 'model']} (a --quick sweep?), kept anyway")
        methods = json.loads(row.get("grid.quantization.methods") or "[]") or sorted(
            {k[len(STAGE) + 8 :].split(".")[0] for k in row if k.startswith(STAGE + "methods.")}
        )
        row["seed"] = row.get("grid.study.seed") or 0
        scope = SCOPES.get(row.get(f"{STAGE}layers") or "", row.get(f"{STAGE}layers") or "?")
        for method in methods:
            r = _unflatten(row, f"{STAGE}methods.{method}.")
            text = "license" if str(r.get("evaluation_text", "")).endswith("LICENSE.txt") else "pydoc"
            bits = row.get(f"{STAGE}bits") or row.get("grid.quantization.bits")
            if row["cell_status"] != "done":
                r = {"error": row.get("cell_error")}
            else:
                r |= {"seq_len": row.get(f"{STAGE}seq_len"), "perplexity_fp": row.get(f"{STAGE}perplexity_fp")}
            rows[f"{scope}|{text}|{bits}|{_label(method, row)}"] = r
        if row["cell_status"] == "done":
            machine = {"machine": row.get("machine.processor"), "usable_cpus": row.get("machine.cpu_count"),
                       "date_utc": max(machine.get("date_utc") or "", row.get("started_utc") or "")}  # fmt: skip
    return rows, machine


TABLE_HEADERS = [
    "method",
    "perplexity",
    "mean layer error",
    "quantization time (× GPTQ)",
    "QAOA optimal fraction; circuits",
    "kind",
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
        label,
        f"{r['perplexity']:.2f}",
        f"{r['mean_relative_error']:.5f}",
        f"{r['seconds_quantize']:.0f} s ({ratio})",
        qaoa,
        kind,
    ]


def _where(path: Path) -> str:
    path = Path(path).resolve()
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def render(rows: dict[str, dict[str, Any]], m: dict[str, Any], sources: list[str]) -> str:
    lines = [
        f"Machine: {m.get('cpu_model', m.get('machine'))}, {m.get('usable_cpus', m.get('logical_cpus'))} usable "
        f"CPUs, last run {m.get('date_utc')}. Generated by `python benchmarks/quantization_table.py --render` from "
        f"{', '.join(f'`{s}`' for s in sources)}. Time = the quantization phase of each run (recording each layer's "
        "Hessian, forward passes over the calibration windows, quantizing the layers; model loading and perplexity "
        "excluded); the ratio is to the GPTQ row of the same table. The CPU was shared with other jobs, so single "
        "times vary by up to ~2x.",
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
        return scope != "all", text, BITS_ORDER.index(str(bits))

    for (scope, text, bits), items in sorted(groups.items(), key=order):
        first = next(r for _, r in items if "error" not in r)
        gptq = dict(items).get("gptq")
        lines += [
            f"### {bits} bits, {titles.get(scope, scope)}, {texts[text]} "
            f"({first['evaluation_windows']} × {first['seq_len']} tokens; FP {first['perplexity_fp']:.2f})",
            "",
            markdown_table(TABLE_HEADERS, [_fmt_row(method, r, gptq) for method, r in items]),
            "",
        ]
    return "\n".join(lines)


def _paired_cell(p: Any) -> str:
    iv = p.interval
    if iv.n < 2:
        return f"{iv.mean:+.2f} (1 seed, no interval) → {p.verdict}"
    return f"{iv.mean:+.2f} [{iv.low:+.2f}, {iv.high:+.2f}] → **{p.verdict}**"


def render_seeds(data: dict[str, Any], source: str) -> str:
    """Mean ± 95 % t-interval per method and text, and qubo-exact's paired difference to each method."""
    m = data.get("machine", {})
    lines = [
        f"Generated by `python benchmarks/quantization_table.py --render` from `{source}` (runs by "
        f"`benchmarks/quant_reference.py`; {m.get('cpu_model', '?')}, {m.get('usable_cpus', '?')} CPUs shared with "
        "other jobs). Every method quantizes the same float32 model from the same calibration windows of each seed "
        "and is scored by the same perplexity code on both texts. Perplexity cells: mean ± half-width of the "
        "95 % Student-t interval over the seeds (n = number of seeds). Paired columns: qubo-exact minus the "
        "method, seed by seed (negative = qubo-exact better), mean and 95 % t-interval; the verdict is qubo-exact's: "
        "**ahead** if the interval lies below 0, **behind** if above, **tie** if it contains 0.",
        "",
    ]
    compacted = qseeds.compact(data)
    fp = compacted["fp"]
    short: list[str] = []
    for cell in sorted(compacted["cells"], key=lambda c: (BITS_ORDER.index(c.split("|")[0]), c.split("|")[1] != "row")):
        bits, grid = cell.split("|")
        entries = compacted["cells"][cell]
        per_text = {t: qseeds.method_seeds(entries, t) for t in qseeds.TEXTS}
        paired = {t: qseeds.paired_against(per_text[t]) for t in qseeds.TEXTS}
        fp_txt = ", ".join(f"{qseeds.TEXTS[t]} {v:.2f}" for t, v in fp.items())
        lines += [f"### {bits} bits, {GRID_TITLES.get(grid, grid)} (unquantized: {fp_txt})", ""]
        rows = []
        for method, st in per_text["pydoc"].items():
            row = [qseeds.LABELS.get(method, method), st.tool, ", ".join(str(k) for k in st.values)]
            row += [per_text[t][method].interval.text() if method in per_text[t] else "–" for t in qseeds.TEXTS]
            row += [_paired_cell(paired[t][method]) if method in paired[t] else "–" for t in qseeds.TEXTS]
            rows.append(row)
            if len(st.values) < 3:
                short.append(f"{bits} bits {GRID_TITLES.get(grid, grid)}: {qseeds.LABELS.get(method, method)} "
                             f"(seeds {', '.join(str(k) for k in st.values)})")  # fmt: skip
        headers = ["method", "tool", "seeds", *(f"{v} perplexity" for v in qseeds.TEXTS.values()),
                   *(f"qubo-exact − method, {v}" for v in qseeds.TEXTS.values())]  # fmt: skip
        lines += [markdown_table(headers, rows), ""]
        for t, label in qseeds.TEXTS.items():
            best = qseeds.classical_best(per_text[t])
            if best in paired[t]:
                p = paired[t][best]
                lines.append(f"- **Verdict, {label}: qubo-exact is {p.verdict}** against the classical best, "
                             f"{qseeds.LABELS.get(best, best)} (paired difference {_paired_cell(p).split(' → ')[0]} "
                             f"over {p.interval.n} seed(s)); would flip: {p.would_flip()}.")  # fmt: skip
        lines += _failures(data, cell)
        lines.append("")
    lines += ["Cells with fewer than 3 seeds: " + ("; ".join(short) if short else "none") + ".", ""]
    missing = []
    for cell in EXPECTED_CELLS:
        bits, grid = cell.split("|")
        have = compacted["cells"].get(cell, {})
        failed = set(_failed_methods(data, cell))
        absent = [qseeds.LABELS[m] for m in qseeds.ORDER if m not in have and m not in qseeds.DIAGNOSTIC | failed]
        if absent:
            missing.append(f"{bits} bits {GRID_TITLES[grid]}: {', '.join(absent)}")
    lines += ["Not run yet (no seed at all): " + ("; ".join(missing) if missing else "none") + ".", ""]
    lines += _reference_check(compacted)
    return "\n".join(lines)


def _failed_methods(data: dict[str, Any], cell: str) -> dict[str, str]:
    """Methods the tool itself could not run in this cell (and never ran there), with its own message."""
    seen: dict[str, str] = {}
    for key, failure in sorted(data.get("failed", {}).items()):
        method, bits, grid, _seed = key.split("|")
        ran = any(k.startswith(f"{method}|{bits}|{grid}|") for k in data["runs"])
        if f"{bits}|{grid}" == cell and not ran:
            seen.setdefault(method, failure["reason"])
    return seen


def _failures(data: dict[str, Any], cell: str) -> list[str]:
    return [f"- **{qseeds.LABELS.get(m, m)} could not run this cell:** `{reason}`"
            for m, reason in _failed_methods(data, cell).items()]  # fmt: skip


def _reference_check(compacted: dict[str, Any]) -> list[str]:
    """qscale gptq (act-order), and in llmcompressor's Hessian order, against llmcompressor's GPTQModifier, seed by
    seed, 3 bits per row, pydoc held-out."""
    cell = compacted["cells"].get("3|row", {})
    ref = cell.get("llmcompressor", {}).get("seeds", {})
    ours = {m: cell.get(m, {}).get("seeds", {}) for m in ("gptq", "gptq-onepass")}
    shared = sorted(set(ours["gptq"]) & set(ref), key=int)
    if not shared:
        return []

    def versus(method: str, seed: str) -> list[str]:
        if seed not in ours[method]:
            return ["–", "–"]
        a, b = ours[method][seed]["pydoc"], ref[seed]["pydoc"]
        return [f"{a:.2f} ({100 * (a / b - 1):+.1f} %)", "yes" if abs(a / b - 1) <= 0.03 else "no"]

    rows = [[s, f"{ref[s]['pydoc']:.2f}", *versus("gptq", s), *versus("gptq-onepass", s)] for s in shared]
    headers = ["seed", "llmcompressor GPTQModifier", "qscale gptq (true-sequential)", "within 3 %",
               "qscale gptq, llmcompressor's order (one Hessian pass per block)", "within 3 %"]  # fmt: skip
    lines = [
        "### qscale `gptq` against llmcompressor's GPTQ, seed by seed (3 bits, per-row grid, pydoc held-out)",
        "",
        markdown_table(headers, rows),
        "",
    ]
    for method in ("gptq", "gptq-onepass"):
        both = [k for k in shared if k in ours[method]]
        if len(both) >= 2:
            p = paired_verdict([ours[method][k]["pydoc"] for k in both], [ref[k]["pydoc"] for k in both])
            iv = p.interval
            lines.append(f"- {qseeds.LABELS[method]} − llmcompressor over seeds {', '.join(both)}: mean "
                         f"{iv.mean:+.2f} [{iv.low:+.2f}, {iv.high:+.2f}] (95 %): **{p.verdict}** for qscale.")
    return [*lines, ""]


def write_doc(table: str, marker: str = "table") -> None:
    text = DOC.read_text()
    begin, end = f"<!-- {marker}:begin -->", f"<!-- {marker}:end -->"
    if begin not in text:
        raise SystemExit(f"{DOC} has no {begin} marker")
    DOC.write_text(re.sub(f"{begin}.*{end}", lambda _m: f"{begin}\n{table}\n{end}", text, flags=re.S))


def write_seeds(path: Path, render_doc: bool) -> str:
    """The multi-seed tables; with render_doc also the doc section and the study's compact copy."""
    data = json.loads(path.read_text())
    table = render_seeds(data, _where(path))
    if render_doc:
        write_doc(table, "seeds")
        qseeds.STORED.parent.mkdir(parents=True, exist_ok=True)
        qseeds.STORED.write_text(json.dumps(qseeds.compact(data), indent=1, sort_keys=True) + "\n")
        log(f"wrote the seeds tables and {qseeds.STORED}")
    return table


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sweep", type=Path, action="append", default=[], help="a `qscale sweep` folder; repeatable")
    ap.add_argument("--legacy", type=Path, default=LEGACY, help="rows of the former per-process driver (JSON)")
    ap.add_argument("--no-legacy", action="store_true", help="render the sweeps' rows only")
    ap.add_argument("--seeds", type=Path, default=SEEDS, help="benchmarks/quant_reference.py results (JSON)")
    ap.add_argument("--render", action="store_true", help="rewrite the table in docs/quantization.md")
    args = ap.parse_args()
    if args.seeds.is_file():
        seeds_table = write_seeds(args.seeds, args.render)
        if not args.render:
            print(seeds_table)
    rows: dict[str, dict[str, Any]] = {}
    machine: dict[str, Any] = {}
    sources = []
    if not args.no_legacy and args.legacy.is_file():
        data = json.loads(args.legacy.read_text())
        rows |= data["rows"]
        machine = data.get("machine_last_run", data["machine"])
        sources.append(_where(args.legacy))
    for folder in args.sweep:
        more, m = sweep_rows(folder)
        rows |= more
        machine = m or machine
        sources.append(_where(folder / "table.parquet") if (folder / "table.parquet").is_file() else _where(folder))
    if not rows:
        if args.seeds.is_file():
            return
        raise SystemExit("nothing to render: give --sweep DIR (or keep the legacy rows)")
    table = render(rows, machine, sources)
    if args.render:
        write_doc(table)
        log(f"wrote {DOC}")
    else:
        print(table)


if __name__ == "__main__":
    main()
