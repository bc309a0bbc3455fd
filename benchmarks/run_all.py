"""Run every benchmark, save benchmarks/results/<name>.json, regenerate docs/benchmarks.md.

One command (`make bench`): creates the peer venvs when missing (benchmarks/setup_peers.sh), measures the
memory bandwidth, times the QAOA objective evaluation and the layered circuit on qscale and its peers (each
peer in its own venv, as a subprocess), checks that they agree, and writes the results and the doc.
All figures are `measured` on this machine in this run.

    python benchmarks/run_all.py                          # defaults: QAOA n=16..24, layered n=20, CPU
    python benchmarks/run_all.py --n 16,18 --layered-n 16  # smoke sizes
    python benchmarks/run_all.py --device cuda --only qscale --n 20,22,24,26,28   # GPU machine, no peers
    python benchmarks/run_all.py --docs-only              # re-render docs/benchmarks.md from results/
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import subprocess
import sys
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bandwidth
import layered_circuit
import qaoa_eval
from bench_common import BENCH_DIR, ROOT, VENVS, log, machine_info, set_threads, versions
from qscale.markdown import markdown_table

RESULTS = BENCH_DIR / "results"
DOC = ROOT / "docs" / "benchmarks.md"
LABELS = {"qscale": "qscale", "qokit": "QOKit", "qiskit-aer": "qiskit-aer", "lightning": "lightning.qubit"}


# ------------------------------------------------------------------------------------------------- setup
def ensure_venvs(sims: set[str]) -> None:
    """Create the peer venvs this run needs, if missing (a no-op when only qscale runs)."""
    needed = sorted({v for s, v in qaoa_eval.WORKER_VENV.items() if s in sims and v})
    for name in needed:
        stamp = VENVS / name / ".installed-stamp"
        req = BENCH_DIR / f"requirements-{name}.txt"
        if stamp.exists() and stamp.stat().st_mtime >= req.stat().st_mtime:
            continue
        log(f"[run_all] setting up .bench-venvs/{name} (once; log in .bench-venvs/setup-{name}.log)")
        VENVS.mkdir(exist_ok=True)
        with open(VENVS / f"setup-{name}.log", "w") as fh:
            rc = subprocess.call(["bash", str(BENCH_DIR / "setup_peers.sh"), name], stdout=fh, stderr=fh, cwd=ROOT)
        if rc != 0:
            log(f"[run_all] setup of {name} failed (exit {rc}); its simulators will be reported as errors")


# ----------------------------------------------------------------------------------------------- derived
def _annotate(results: dict[str, Any], floor_bytes: int, bw: dict[str, float], device: str) -> None:
    """Add speed ratio vs qscale and the bandwidth fraction (floor bytes / time / machine bandwidth)."""
    base = results.get("qscale", {}).get("median_s")
    for sim, res in results.items():
        t = res.get("median_s")
        if not t:
            continue
        on = device if sim == "qscale" else "cpu"
        res["ran_on"] = on
        res["effective_gb_per_s"] = floor_bytes / t / 1e9
        if on in bw:
            res["bandwidth_fraction"] = res["effective_gb_per_s"] / bw[on]
        if base and sim != "qscale":
            res["time_ratio_vs_qscale"] = t / base


def _argv_without_note(argv: list[str]) -> list[str]:
    """The command line as run, less the --note text (shown on its own line)."""
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a == "--note":
            skip = True
        elif not a.startswith("--note="):
            out.append(a)
    return out


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40]


# -------------------------------------------------------------------------------------------------- docs
def _fmt_t(t: float | None) -> str:
    if t is None:
        return "—"
    return f"{t * 1e3:.1f} ms" if t < 1 else f"{t:.2f} s"


def _cell(res: dict[str, Any] | None, show_ratio: bool = True) -> str:
    if not res:
        return "not run"
    if "median_s" not in res:
        return "error"
    s = _fmt_t(res["median_s"])
    r = res.get("time_ratio_vs_qscale")
    return f"{s} (×{r:.2f})" if (show_ratio and r) else s


def _frac(res: dict[str, Any] | None) -> str:
    if not res or "bandwidth_fraction" not in res:
        return "—"
    return f"{res['bandwidth_fraction']:.2g} ({res['effective_gb_per_s']:.2g} GB/s)"


def _bytes(b: float) -> str:
    return f"{b / 1e9:.2f} GB" if b >= 1e9 else f"{b / 1e6:.1f} MB"


def _sci(x: float | None) -> str:
    return "—" if x is None else f"{x:.1e}"


def _agree(a: bool | None) -> str:
    return {True: "yes", False: "**NO — row void**", None: "— (one simulator)"}[a]


def render_result(d: dict[str, Any]) -> str:
    m = d["machine"]
    lines = [f"## {d['name']} — {m['date_utc'][:10]}", ""]
    lines.append(
        f"Machine: {m.get('cpu_model')} · {m.get('usable_cpus')} usable cores"
        f" · {m.get('ram_gib')} GiB RAM · L3 {m.get('l3_cache', '?')} · {m.get('os')}"
    )
    if m.get("gpu"):
        lines.append(f"· GPU: {m['gpu']}")
    lines.append("")
    bw = d.get("bandwidth", {})
    for dev, b in bw.items():
        extra = f", {b['threads']} thread(s)" if "threads" in b else ""
        lines.append(f"- Memory bandwidth ({dev}, {b['method']}{extra}): **{b['gb_per_s']:.1f} GB/s**")
    lines.append(f"- Command: `{d['command']}` (threads per simulator: {d.get('threads', 'library defaults')})")
    if d.get("note"):
        lines.append(f"- Note: {d['note']}")
    lines.append("")

    q = d.get("qaoa_eval")
    if q:
        sims = [s for s in qaoa_eval.SIMULATORS if any(s in r["results"] for r in q["rows"])]
        lines += [
            f"### QAOA objective evaluation — MaxCut on 3-regular graphs, p={q['p']}, {q['dtype']}",
            "",
            "Median wall time of one evaluation; (×r) = peer time / qscale time, so r > 1 means qscale is"
            " faster. max|Δ⟨C⟩| = spread of the expectation values over all simulators.",
            "",
            markdown_table(
                ["n", "ideal traffic", *(LABELS[s] for s in sims), "max abs Δ⟨C⟩", "agree"],
                [
                    [r["n"], _bytes(r["floor_bytes"]), *(_cell(r["results"].get(s)) for s in sims),
                     _sci(r["max_abs_dev"]), _agree(r["agree"])]
                    for r in q["rows"]
                ],
                align="rr" + "r" * len(sims) + "rl",
            ),
            "",
            "Fraction of the measured copy bandwidth reached (ideal traffic / time / bandwidth):",
            "",
            markdown_table(
                ["n", *(LABELS[s] for s in sims)],
                [[r["n"], *(_frac(r["results"].get(s)) for s in sims)] for r in q["rows"]],
                align="r" * (1 + len(sims)),
            ),
            "",
        ]

    lc = d.get("layered_circuit")
    if lc:
        sims = [s for s in layered_circuit.SIMULATORS if s in lc["results"]]
        lines += [
            f"### Layered circuit — n={lc['n']}, {lc['layers']} layers of RY + CNOT ladder, {lc['dtype']}",
            "",
        ]
        rows = []
        for s in sims:
            res = lc["results"][s]
            z0 = f"{res['z0']:.10f}" if "z0" in res else "—"
            dev = res.get(f"max_abs_dev_vs_{lc['reference']}")
            rows.append([LABELS[s], _cell(res), _frac(res), z0, _sci(dev)])
        headers = ["simulator", "time (×r vs qscale)", "bandwidth fraction", "⟨Z0⟩",
                   f"max abs Δ amplitude vs {lc['reference']}"]
        lines.append(markdown_table(headers, rows, align="lrrrr"))
        lines += ["", f"Agreement: {_agree(lc['agree'])} (tolerance {layered_circuit.AGREE_TOL:g}).", ""]

    lines += ["Versions and what each timing covers:", ""]
    parts = []
    if q:
        parts += [("QAOA", r["results"]) for r in q["rows"]]
    if lc:
        parts.append(("layered", lc["results"]))
    seen: dict[tuple[str, str], str] = {}
    for bench, results in parts:
        for s, res in results.items():
            if "versions" in res and (bench, s) not in seen:
                v = ", ".join(f"{k} {val}" for k, val in res["versions"].items())
                seen[(bench, s)] = f"{res.get('backend', '')}; threads: {res.get('threads', '')}; {v}"
    for (bench, s), text in seen.items():
        lines.append(f"- {LABELS[s]} ({bench}): {text}")
    errors = [
        (s, r.get("n", lc["n"] if lc else "?"), res["error"])
        for r in ((q["rows"] if q else []) + ([{"n": lc["n"], "results": lc["results"]}] if lc else []))
        for s, res in r["results"].items()
        if "error" in res
    ]
    if errors:
        lines += ["", "Errors:", ""] + [f"- {LABELS[s]} n={n}: {e}" for s, n, e in errors]
    lines.append("")
    return "\n".join(lines)


HEADER = """# Benchmarks: qscale beside peer simulators

Generated by `benchmarks/run_all.py` (`make bench`) from `benchmarks/results/*.json`; do not edit by hand.
Every figure here is **measured**: wall time on the machine named in its section, in one run, with all
simulators given the same problem, and their answers checked against each other (a row whose simulators
disagree is void). These are classical simulations; nothing here is a quantum speedup.

## How to run

- `make bench` (= `.venv/bin/python benchmarks/run_all.py`): creates `.bench-venvs/peers` (qiskit-aer,
  PennyLane + lightning; `benchmarks/requirements-peers.txt`) and `.bench-venvs/qokit` (QOKit and its exact
  pins; `benchmarks/requirements-qokit.txt`) on first use, never touching the project's `.venv`, then runs
  everything and rewrites this page. Options: `--n 16,18,20,22,24,26` (QAOA sizes), `--layered-n 20`,
  `--only qscale,qokit,qiskit-aer,lightning`, `--repeats 3`, `--skip qaoa|layered`, `--note TEXT`.
- GPU: `python benchmarks/run_all.py --device cuda --only qscale --n 20,22,24,26,28` needs only torch,
  numpy, networkx, dimod and qscale (peers are skipped); its QAOA values are checked against any CPU run of
  the same graphs in the cross-run table at the end.
- Single pieces: `benchmarks/bandwidth.py`, `benchmarks/qaoa_eval.py`, `benchmarks/layered_circuit.py`
  (each prints one JSON object).

## What is measured

- **QAOA objective evaluation** (`benchmarks/qaoa_eval.py`): MaxCut on `networkx.random_regular_graph(3, n,
  seed)`, p = 6, complex128, linear-ramp angles. qscale's `QAOASimulator` on the cost diagonal built by
  `qscale.quantum.qubo.cost_diagonal`; QOKit's fastest available backend (`c`, built with OpenMP by
  `benchmarks/setup_peers.sh`, since the PyPI wheel's C extension is not found by `qokit.fur`); qiskit-aer
  `AerSimulator(method="statevector")` with default fusion on an RZZ + RX circuit and
  `save_expectation_value`; PennyLane `lightning.qubit` with IsingZZ + RX and `expval(H)`. Conventions are
  mapped so all compute the same state: C = −cut, exp(−iγC) then exp(−iβΣX); QOKit gets 2γ (its phase is
  exp(−iγ/2·C)); the circuits use RZZ(γ)/IsingZZ(γ) (exp(−iγC) up to a global phase) and RX(2β).
  Timed: one evaluation, angles in → ⟨C⟩ out. Excluded for everyone: one-off set-up (cost diagonal,
  circuit construction and transpilation, QNode construction). Aer's timing still includes parameter binding
  and its own fusion pass; lightning's includes building the tape.
- **Layered circuit** (`benchmarks/layered_circuit.py`): 10 layers of RY on every qubit + CNOT ladder from
  |0…0⟩, final statevector compared amplitude by amplitude.
- **Bandwidth** (`benchmarks/bandwidth.py`): `np.copyto` of 1 GiB float64 arrays (1 thread and one
  thread per core; the best counts), bytes read + written; on GPU a torch `copy_`.

**Ideal traffic** (the denominator of the bandwidth fraction, the same for every simulator): the floor of
a cache-blocked simulator that rotates 10 qubits per pass over memory. One QAOA evaluation
moves 2^n·[p·(40 + 32·⌈n/10⌉) + 24] bytes: per layer one phase pass (read + write 16-byte amplitudes, read
8-byte diagonal) and ⌈n/10⌉ mixer passes (read + write), plus one expectation pass (read state and
diagonal); n = 28, p = 6 gives 225.5 GB. The layered circuit moves L·⌈n/10⌉·32·2^n bytes. A simulator
that applies gates one by one moves more (p·(n+1)·32·2^n for QAOA), so its fraction is below what its own
traffic would give; a fraction above 1 means the state fits in cache (2^n·16 bytes ≤ L3), where the figure
says nothing about memory.

Caveats: timings on a shared or small machine are noisy (medians of few repeats); peers run with their
default thread counts; for `--device cuda` qscale runs on the GPU while the peers run on the host CPU, so
ratios compare machines, not libraries.
"""


def render_cross_run(runs: list[dict[str, Any]]) -> str:
    """Same graph and angles in several results files (e.g. a GPU run beside a CPU run): do they agree?"""
    groups: dict[tuple, list[tuple[str, str, float]]] = {}
    for d in runs:
        q = d.get("qaoa_eval")
        for r in (q or {}).get("rows", []):
            if "graph_sha1" not in r:
                continue
            key = (r["n"], q["p"], r["graph_sha1"], tuple(q["gammas"]), tuple(q["betas"]))
            for sim, res in r["results"].items():
                if "expectation" in res:
                    groups.setdefault(key, []).append((d["name"], sim, res["expectation"]))
    rows = [(k, v) for k, v in sorted(groups.items()) if len({name for name, _, _ in v}) > 1]
    if not rows:
        return ""
    lines = [
        "## Cross-run agreement (QAOA, same graph and angles in several results files)",
        "",
    ]
    cells = []
    for key, vals in rows:
        names = sorted({name for name, _, _ in vals})
        spread = max(v for _, _, v in vals) - min(v for _, _, v in vals)
        cells.append([key[0], ", ".join(names), len(vals), f"{spread:.1e}"])
    lines.append(markdown_table(["n", "runs", "values compared", "max abs Δ⟨C⟩"], cells, align="rlrr"))
    return "\n".join([*lines, ""])


def render_docs() -> None:
    parts = [HEADER]
    runs = [json.loads(f.read_text()) for f in sorted(RESULTS.glob("*.json"))]
    runs = [d for d in runs if "name" in d]  # simulator runs; other tables (quantization-*.json) render elsewhere
    parts += [render_result(d) for d in runs]
    cross = render_cross_run(runs)
    if cross:
        parts.append(cross)
    # Sections other scripts write (<!-- section:NAME:begin --> ... end -->, e.g. sweep_overhead.py) are kept.
    old = DOC.read_text() if DOC.exists() else ""
    parts += re.findall(r"<!-- section:[\w-]+:begin -->.*?<!-- section:[\w-]+:end -->\n", old, flags=re.S)
    DOC.parent.mkdir(exist_ok=True)
    DOC.write_text("\n".join(parts))
    log(f"[run_all] wrote {DOC.relative_to(ROOT)}")
    import qnn_layer  # its section has its own results folder and markers: re-rendered after, never dropped

    qnn_layer.render_docs()


# --------------------------------------------------------------------------------------------------- main
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", default="16,18,20,22,24", help="QAOA qubit counts, comma-separated")
    ap.add_argument("--p", type=int, default=6)
    ap.add_argument("--layered-n", type=int, default=20)
    ap.add_argument("--layers", type=int, default=10)
    ap.add_argument("--only", help="comma-separated subset of qscale,qokit,qiskit-aer,lightning")
    ap.add_argument("--skip", default="", help="benchmarks to skip: qaoa,layered")
    ap.add_argument("--device", default="cpu", help="qscale's device: cpu or cuda")
    ap.add_argument("--qscale-backend", default="auto", help="QAOASimulator backend: auto, numba or torch")
    ap.add_argument("--threads", type=int, default=0, help="threads for every simulator (0 = defaults)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--bandwidth-gib", type=float, default=1.0)
    ap.add_argument("--timeout", type=float, default=3600.0, help="seconds per simulator and size")
    ap.add_argument("--name", help="results file name (default: <device>-<cpu or gpu model>)")
    ap.add_argument("--note", default="", help="a remark shown with this run in the doc")
    ap.add_argument("--docs-only", action="store_true", help="only re-render docs/benchmarks.md")
    args = ap.parse_args()
    if args.docs_only:
        render_docs()
        return

    set_threads(args.threads)
    sims = set(qaoa_eval.parse_sims(args.only))
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    ensure_venvs(sims)
    machine = machine_info()
    bw: dict[str, Any] = {}
    if args.device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            log(f"[run_all] --device {args.device}: no CUDA GPU visible to torch")
            sys.exit(2)
        machine["gpu"] = torch.cuda.get_device_name(0)
        bw["cuda"] = bandwidth.measure(args.bandwidth_gib, 5, "cuda")
    if sims - {"qscale"} or not args.device.startswith("cuda"):
        bw["cpu"] = bandwidth.measure(args.bandwidth_gib, 5, "cpu", args.threads)
    gbps = {k: v["gb_per_s"] for k, v in bw.items()}
    out: dict[str, Any] = {
        "kind": "measured",
        "command": shlex.join(["python", "benchmarks/run_all.py", *_argv_without_note(sys.argv[1:])]),
        "note": args.note,
        "threads": args.threads or "library defaults",
        "machine": machine,
        "driver_versions": versions(["torch", "numpy", "networkx", "dimod", "qscale"]),
        "bandwidth": bw,
    }
    if "qaoa" not in skip:
        q = qaoa_eval.run(
            qaoa_eval.parse_ints(args.n),
            args.p,
            tuple(s for s in qaoa_eval.SIMULATORS if s in sims),
            args.device,
            args.repeats,
            args.warmup,
            args.seed,
            args.timeout,
            args.qscale_backend,
        )
        for row in q["rows"]:
            _annotate(row["results"], row["floor_bytes"], gbps, args.device)
        out["qaoa_eval"] = q
    lsims = tuple(s for s in layered_circuit.SIMULATORS if s in sims)
    if "layered" not in skip and lsims:
        lc = layered_circuit.run(
            args.layered_n, args.layers, lsims, args.device, args.repeats, args.warmup, args.seed, args.timeout
        )
        _annotate(lc["results"], lc["floor_bytes"], gbps, args.device)
        out["layered_circuit"] = lc
    tag = machine.get("gpu") if args.device.startswith("cuda") else machine.get("cpu_model")
    out["name"] = args.name or f"{args.device.split(':')[0]}-{slug(str(tag or 'unknown'))}"
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{out['name']}.json"
    path.write_text(json.dumps(out, indent=1) + "\n")
    log(f"[run_all] wrote {path.relative_to(ROOT)}")
    render_docs()
    void = [r["n"] for r in out.get("qaoa_eval", {}).get("rows", []) if r["agree"] is False]
    if void or out.get("layered_circuit", {}).get("agree") is False:
        log(f"[run_all] SIMULATORS DISAGREE (QAOA n={void}); those results are void")
        sys.exit(1)


if __name__ == "__main__":
    main()
