"""QAOA at 26-31 qubits: wall time and peak resident memory of one p=6 evaluation, qscale vs QOKit vs aer.

The question is how far each state-vector simulator gets on one machine's RAM, and at what speed. Each
simulator runs `qaoa_eval.py --worker SIM` (the same workers, conventions and angle ramp as
benchmarks/qaoa_eval.py) in its own process under `/usr/bin/time` (peak resident set size) and, for the
peers, `prlimit --as=LIMIT`, so a peer that does not fit fails with its own allocation error, recorded as
"out of memory (limit X GiB)", instead of waking the kernel's OOM killer on other processes. qscale is not
limited: its memory guard refuses, naming the bytes, before it allocates. No run starts unless free memory
covers its state (or, for a peer, its limit) plus 1 GiB (`psutil`), else it is recorded as "not run"; a
peer's limit is --limit-gib or free memory - 1 GiB, whichever is less.

Graphs: networkx.random_regular_graph(3, n, seed) for even n, (4, n, seed) for odd n (no 3-regular graph
has an odd number of nodes). Precision: each simulator's smallest: qscale complex64 (1-byte level index
for the cost), qiskit-aer precision="single", QOKit complex128 (its CPU simulators have no single
precision). Timed: one cold evaluation (--warmup 0 --repeats 1 by default: the first call, page faults of
the state included); the process wall time includes imports and building the cost or circuit.

Physical floor: the bytes a cache-blocked simulator must move (bench_common.qaoa_floor_bytes with the
simulator's amplitude and cost bytes: one phase pass and ceil(n/10) mixer passes per layer, read + write,
plus one expectation pass) divided by the measured copy bandwidth (benchmarks/bandwidth.py); "fraction" =
floor / measured evaluation time. With --closed-form, qscale also evaluates p = 1 at Farhi's angles and the
result is compared with the closed form of Wang et al. (PRA 97, 022304 (2018)), computed from the graph.

    python benchmarks/qaoa_memory.py [--n 26,28,30,31] [--only qscale,qokit,qiskit-aer] [--limit-gib 20]
                                     [--closed-form] [--bandwidth-gbs 37.8] [--out results/qaoa-memory-cpu.json]
    python benchmarks/qaoa_memory.py --render      # rewrites its section of docs/benchmarks.md from the JSON
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_common import (
    BENCH_DIR,
    ROOT,
    emit,
    log,
    machine_info,
    qaoa_floor_bytes,
    ramp_angles,
    run_worker,
    venv_python,
)

SIMS = ("qscale", "qokit", "qiskit-aer")
VENV = {"qscale": None, "qokit": "qokit", "qiskit-aer": "peers"}
LABELS = {"qscale": "qscale", "qokit": "QOKit", "qiskit-aer": "qiskit-aer"}
AMP_BYTES = {"qscale": 8, "qokit": 16, "qiskit-aer": 8}  # bytes per amplitude in the precision each runs
COST_BYTES = {"qscale": 1, "qokit": 8, "qiskit-aer": 0}  # bytes per state of the stored cost
OOM_PATTERNS = ("MemoryError", "bad_alloc", "Unable to allocate", "Cannot allocate memory", "out of memory",
                "Insufficient memory", "exit -9", "needs ")
RESULTS = BENCH_DIR / "results"
DOC = ROOT / "docs" / "benchmarks.md"
BEGIN, END = "<!-- section:qaoa-memory:begin -->", "<!-- section:qaoa-memory:end -->"
FARHI_P1 = (0.6154797086703873, math.pi / 8)  # arctan(1/sqrt 2), pi/8 for C = cut (Farhi et al. 2014)


def graph_edges(n: int, seed: int) -> list[list[int]]:
    import networkx as nx

    g = nx.random_regular_graph(3 if n % 2 == 0 else 4, n, seed=seed)
    return sorted(sorted([int(i), int(j)]) for i, j in g.edges())


def _python_for(sim: str) -> Path | str:
    venv = VENV[sim]
    if venv is None:
        return sys.executable
    py = venv_python(venv)
    if not py.exists() and sim == "qiskit-aer":  # qiskit-aer is also pinned in the project's own venv
        return sys.executable
    return py


def run_one(sim: str, job: dict[str, Any], limit_bytes: int, timeout_s: float) -> dict[str, Any]:
    """One worker under /usr/bin/time (and prlimit for peers); adds peak_rss_bytes and process_wall_s."""
    import psutil

    python = _python_for(sim)
    if not Path(python).exists():
        return {"error": f"{python} missing: run benchmarks/setup_peers.sh"}
    state = 2 ** job["n"] * AMP_BYTES[sim]
    free = psutil.virtual_memory().available
    limit = min(limit_bytes, free - (1 << 30))
    if free < min(state, limit) + (1 << 30) or limit < (1 << 30):
        return {"error": f"not run: {free / 2**30:.1f} GiB free", "not_run": True}
    with tempfile.TemporaryDirectory() as tmp:
        job_file, time_file = Path(tmp) / "job.json", Path(tmp) / "time.txt"
        job_file.write_text(json.dumps(job))
        prefix = ["/usr/bin/time", "-f", "%M %e", "-o", str(time_file)]
        if sim != "qscale":
            prefix += ["prlimit", f"--as={limit}"]
        res = run_worker(python, BENCH_DIR / "qaoa_eval.py", ["--worker", sim, "--job", str(job_file)], timeout_s,
                         prefix=prefix)
        lines = time_file.read_text().split("\n") if time_file.exists() else []
        nums = [ln.split() for ln in lines if re.fullmatch(r"\d+ [\d.]+", ln.strip())]
    if nums:
        res["peak_rss_bytes"] = int(nums[-1][0]) * 1024
        res["process_wall_s"] = float(nums[-1][1])
    if sim != "qscale":
        res["limit_bytes"] = limit
    if "error" in res and any(p in res["error"] for p in OOM_PATTERNS):
        res["oom"] = True
    return res


def run(ns: list[int], sims: tuple[str, ...], p: int, limit_gib: float, seed: int, repeats: int, warmup: int,
        closed_form: bool, bandwidth_gbs: float | None, timeout_s: float) -> dict[str, Any]:
    import psutil

    gammas, betas = ramp_angles(p)
    if bandwidth_gbs is None:
        from bandwidth import _cpu_copy

        bandwidth_gbs = max(_cpu_copy(1 << 30, t, 5)["gb_per_s"] for t in (1, os.cpu_count() or 1))
    rows = []
    for n in ns:
        edges = graph_edges(n, seed)
        base = {"n": n, "edges": edges, "repeats": repeats, "warmup": warmup, "device": "cpu", "dtype": "complex64"}
        row: dict[str, Any] = {"n": n, "degree": 3 if n % 2 == 0 else 4, "edges": len(edges), "results": {}}
        for sim in sims:
            log(f"[qaoa_memory] n={n} {sim} (load {os.getloadavg()[0]:.1f}, "
                f"{psutil.virtual_memory().available / 2**30:.1f} GiB free) ...")
            load = os.getloadavg()[0]
            res = run_one(sim, {**base, "gammas": gammas, "betas": betas}, int(limit_gib * 2**30), timeout_s)
            res["load_1min_before"], res["load_1min_after"] = load, os.getloadavg()[0]
            floor = qaoa_floor_bytes(n, p, AMP_BYTES[sim], COST_BYTES[sim])
            res["floor_bytes"] = floor
            res["floor_s"] = floor / (bandwidth_gbs * 1e9)
            if "seconds" in res:
                res["eval_s"] = min(res["seconds"])
                res["fraction_of_floor"] = res["floor_s"] / res["eval_s"]
            log(f"[qaoa_memory] n={n} {sim}: " + (
                f"{res['eval_s']:.2f} s, peak RSS {res.get('peak_rss_bytes', 0) / 2**30:.2f} GiB"
                if "eval_s" in res else f"FAILED {res.get('error')}"))
            row["results"][sim] = res
        vals = [r["expectation"] for r in row["results"].values() if "expectation" in r]
        row["max_abs_dev"] = max(vals) - min(vals) if len(vals) > 1 else None
        if closed_form and "qscale" in sims:
            import networkx as nx

            from qscale.algorithms.qaoa.closed_form import maxcut_p1_cut

            job = {**base, "gammas": [-FARHI_P1[0]], "betas": [FARHI_P1[1]], "warmup": 0, "repeats": 1}
            res = run_one("qscale", job, int(limit_gib * 2**30), timeout_s)
            formula = -maxcut_p1_cut(nx.Graph(edges), FARHI_P1[0], FARHI_P1[1])
            row["closed_form_p1"] = {
                "gamma_beta_for_cut": list(FARHI_P1),
                "closed_form": formula,
                "qscale": res.get("expectation"),
                "abs_diff": abs(res["expectation"] - formula) if "expectation" in res else None,
                "error": res.get("error"),
            }
        rows.append(row)
    return {
        "benchmark": "qaoa_memory",
        "machine": machine_info(),
        "bandwidth_gb_per_s": bandwidth_gbs,
        "p": p,
        "gammas": gammas,
        "betas": betas,
        "limit_gib": limit_gib,
        "repeats": repeats,
        "warmup": warmup,
        "command": " ".join(["python", "benchmarks/qaoa_memory.py", *sys.argv[1:]]),
        "rows": rows,
    }


# ---------------------------------------------------------------------------------------------- render
def _gib(b: float | None) -> str:
    return "–" if b is None else f"{b / 2**30:.2f} GiB"


def _cell(res: dict[str, Any]) -> tuple[str, str, str]:
    if "eval_s" in res:
        return (f"{res['eval_s']:.2f} s", _gib(res.get("peak_rss_bytes")),
                f"{res['floor_s']:.2f} s ({res['fraction_of_floor']:.2f})")
    if res.get("oom"):
        lim = res.get("limit_bytes")
        what = "out of memory" + (f" (limit {lim / 2**30:.1f} GiB)" if lim else "")
        if "needs " in res.get("error", ""):
            what = "refused by its memory guard: " + res["error"].split(": ")[-1]
        return (what, _gib(res.get("peak_rss_bytes")) if not res.get("not_run") else "–", f"{res['floor_s']:.2f} s")
    return (res.get("error", "?")[:80], _gib(res.get("peak_rss_bytes")), f"{res['floor_s']:.2f} s")


def render_section(runs: list[dict[str, Any]]) -> str:
    lines = [BEGIN, "## QAOA at 26–31 qubits: time and peak memory of one p=6 evaluation "
             "(benchmarks/qaoa_memory.py)", ""]
    lines += [
        "Measured. MaxCut on random 3-regular graphs (4-regular at odd n), p = 6, linear-ramp angles; each "
        "simulator in its smallest precision (qscale complex64 with a 1-byte level index for the cost, "
        "qiskit-aer single, QOKit complex128, the only precision of its CPU simulators). One cold evaluation "
        "per cell; peak RSS is the whole worker process (`/usr/bin/time`); peers run under `prlimit --as`, "
        "so \"out of memory\" is the peer's own allocation failure at that limit. Floor = bytes a "
        "cache-blocked simulator must move (state and cost, 10 qubits per mixer pass) / measured copy "
        "bandwidth; in brackets the fraction of it reached (floor / time). Published reference: QOKit "
        "(Lykov et al., arXiv:2309.04841) reports one p=6 evaluation in complex128 on an NVIDIA A10G GPU in "
        "0.077 s (n=24), 0.331 s (n=26), 1.31 s (n=28), and LABS p=6 at n=28 in 11.5 s with its C backend "
        "on 48 CPU cores. These are classical simulations; nothing here is a quantum speedup.",
        "",
    ]
    for d in runs:
        m = d["machine"]
        lines += [f"### {m.get('cpu_model')} · {m.get('usable_cpus')} cores · {m.get('ram_gib')} GiB RAM — "
                  f"{m.get('date_utc', '')[:10]}", ""]
        lines.append(f"- Command: `{d['command']}`; copy bandwidth {d['bandwidth_gb_per_s']:.1f} GB/s; peer "
                     f"limit {d['limit_gib']} GiB (or free memory − 1 GiB, if less)")
        loads = sorted({round(r["results"][s][k], 1) for r in d["rows"] for s in r["results"]
                        for k in ("load_1min_before", "load_1min_after") if k in r["results"][s]})
        if loads:
            lines.append(f"- 1-minute load average around the runs: {loads[0]}–{loads[-1]} on "
                         f"{m.get('usable_cpus')} cores (timings above ~2 are slowed by other processes)")
        if d.get("note"):
            lines.append(f"- Note: {d['note']}")
        lines.append("")
        lines += ["| n | simulator | precision | state | time of one evaluation | peak RSS | floor (fraction) | ⟨C⟩ |",
                  "|---:|:---|:---|---:|---:|---:|---:|---:|"]
        for r in d["rows"]:
            for s in SIMS:
                if s not in r["results"]:
                    continue
                res = r["results"][s]
                t, rss, floor = _cell(res)
                prec = "complex128" if AMP_BYTES[s] == 16 else "complex64"
                val = f"{res['expectation']:.9f}" if "expectation" in res else "–"
                lines.append(f"| {r['n']} | {LABELS[s]} | {prec} | {_gib(2 ** r['n'] * AMP_BYTES[s])} | {t} | {rss} | "
                             f"{floor} | {val} |")
        cf = [r for r in d["rows"] if "closed_form_p1" in r]
        if cf:
            lines += ["", "p = 1 at Farhi's angles (γ = arctan(1/√2), β = π/8) against the closed form of Wang, "
                      "Hadfield, Jiang, Rieffel (PRA 97, 022304 (2018), Theorem 1; degrees and triangles only):", "",
                      "| n | closed form ⟨C⟩ | qscale ⟨C⟩ (complex64) | abs diff |", "|---:|---:|---:|---:|"]
            for r in cf:
                c = r["closed_form_p1"]
                q = "–" if c["qscale"] is None else f"{c['qscale']:.7f}"
                diff = "–" if c["abs_diff"] is None else f"{c['abs_diff']:.1e}"
                lines.append(f"| {r['n']} | {c['closed_form']:.7f} | {q} | {diff} |")
        errors = [(s, r["n"], res["error"]) for r in d["rows"] for s, res in r["results"].items() if "error" in res]
        if errors:
            lines += ["", "Failures, verbatim:", ""] + [f"- {LABELS[s]} n={n}: {e}" for s, n, e in errors]
        lines.append("")
    lines.append(END)
    return "\n".join(lines) + "\n"


def render_docs() -> None:
    runs = [json.loads(f.read_text()) for f in sorted(RESULTS.glob("qaoa-memory*.json"))]
    section = render_section(runs)
    text = DOC.read_text()
    if BEGIN in text and END in text:
        text = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END) + "\n?", lambda _: section, text, flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    DOC.write_text(text)
    log(f"[qaoa_memory] wrote its section of {DOC.relative_to(ROOT)}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", default="26,28,30,31")
    ap.add_argument("--only", default=",".join(SIMS))
    ap.add_argument("--p", type=int, default=6)
    ap.add_argument("--limit-gib", type=float, default=20.0, help="address-space limit of each peer process")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--warmup", type=int, default=0)
    ap.add_argument("--closed-form", action="store_true", help="also check qscale at p=1 against Wang et al.")
    ap.add_argument("--bandwidth-gbs", type=float, help="copy bandwidth in GB/s (default: measure it now)")
    ap.add_argument("--timeout", type=float, default=3600.0, help="seconds per worker")
    ap.add_argument("--out", type=Path, help="also write the JSON here (e.g. benchmarks/results/qaoa-memory-cpu.json)")
    ap.add_argument("--render", action="store_true", help="only rewrite the section of docs/benchmarks.md")
    args = ap.parse_args()
    if args.render:
        render_docs()
        return
    sims = tuple(s for s in args.only.split(",") if s)
    bad = [s for s in sims if s not in SIMS]
    if bad:
        raise SystemExit(f"unknown simulator(s) {bad}; choose from {', '.join(SIMS)}")
    out = run([int(x) for x in args.n.split(",")], sims, args.p, args.limit_gib, args.seed, args.repeats,
              args.warmup, args.closed_form, args.bandwidth_gbs, args.timeout)
    if args.out:
        args.out.write_text(json.dumps(out, indent=1) + "\n")
    emit(out)


if __name__ == "__main__":
    main()
