"""Verdicts at a glance: one row per claim of the seed that the study tests, built from the stages' summaries.

Why a table first: a reader who stops after it should know what the study found. Each row gives what this run
measured (or simulated), the classical best on the same data, the projected QPU figure per era where a stage
priced one, and a one-line verdict with its kind. A stage that did not run gives "not run"; a summary without the
expected fields gives "not reported" rather than a guess.
"""

from __future__ import annotations

from collections.abc import Callable
from statistics import fmean
from typing import Any

HEADERS = ["claim", "this run", "classical best (same data)", "QPU today", "QPU 2030s", "QPU 2040s", "verdict", "kind"]
NOT_RUN = "not run"
Summaries = dict[str, dict[str, Any]]


def _g(x: float | None, digits: int = 3) -> str:
    return "-" if x is None else f"{x:.{digits}g}"


def _plan(s: Summaries, task: str) -> dict[str, Any] | None:
    for p in s.get("coprocessor", {}).get("plans", []):
        if p["task"] == task:
            return p
    return None


def _qpu_eras(s: Summaries, task: str) -> list[str]:
    """Best-fitting QPU row per era from the co-processor stage: wall time, energy and decision."""
    p = _plan(s, task)
    if p is None:
        return ["not priced (coprocessor stage)"] * 3
    out = []
    scope = p["rows"][-1]["scope"]  # the widest scope the stage priced (per model where there are two)
    for era in ("today", "2030s", "2040s"):
        rows = [r for r in p["rows"] if r["era"] == era and r["platform"] not in ("cpu", "gpu") and r["scope"] == scope]
        fits = [r for r in rows if r.get("fits")]
        if not rows:
            out.append("not priced")
        elif not fits:
            out.append(f"does not fit ({rows[0]['reason']})")
        else:
            r = min(fits, key=lambda r: r["energy_j"])
            out.append(f"{r['platform']}: {_g(r['wall_s'])} s, {_g(r['energy_j'])} J, {r['decision']} (projected)")
    return out


def quantization_verdict(s: Summaries) -> dict[str, str] | None:
    """The quantization claim from the multi-seed statistics: the fields a verdict row shows.

    badge: ahead / tie / behind for qubo-exact (the QUBO formulation QAOA would solve, solved exactly) against
    the classical best, from the 95 % interval of their paired per-seed difference; headline: qubo-exact's mean
    perplexity with its interval and the paired difference; classical_best: that method with its interval;
    would_flip: how far the mean paired difference would have to move to change the badge; link: the full table.
    """
    st = (s.get("quantization") or {}).get("statistics")
    if not st or not st.get("classical_best") or st["candidate"] not in st["methods"]:
        return None
    cand, best = st["methods"][st["candidate"]], st["methods"][st["classical_best"]]
    pair = st["paired"][st["classical_best"]]

    def fig(m: dict[str, Any]) -> str:
        half = f" ± {m['half_width']:.3g}" if m["half_width"] is not None else " (one seed)"
        return f"perplexity {m['mean']:.4g}{half} (n={m['n']})"

    interval = f"[{pair['low']:+.3g}, {pair['high']:+.3g}]" if pair["low"] is not None else "(no interval)"
    return {
        "badge": pair["verdict"],
        "headline": f"{st['candidate']}: {fig(cand)}; paired difference {pair['mean']:+.3g} {interval}",
        "classical_best": f"{st['classical_best']} ({best['tool']}): {fig(best)}",
        "would_flip": pair["would_flip"],
        "link": "docs/quantization.md" if st["source"].startswith("stored") else "this report's quantization section",
        "source": st["source"],
    }


def qaoa_weights(s: Summaries) -> list[str]:
    q = s.get("quantization")
    if not q:
        return [NOT_RUN] * 7
    v = quantization_verdict(s)
    if v is None:
        return ["not reported"] * 7
    qaoa = next((r for r in q["methods"].values() if "qaoa_optimal_fraction" in r), None)
    headline = v["headline"]
    if qaoa is not None:
        base = qaoa.get("classical_baseline")
        same = f" (exact on the same layers: {base['perplexity']:.4g})" if base else ""
        headline += (f"; QAOA-rounded block 0: perplexity {qaoa['perplexity']:.4g}{same}, "
                     f"{qaoa['qaoa_optimal_fraction']:.1%} of block QUBOs optimal")  # fmt: skip
    verdict = (
        f"{v['badge']}: the QUBO method vs the classical best, 95 % paired interval over calibration seeds "
        f"({v['source']}); would flip: {v['would_flip']}; see {v['link']}"
    )
    return [headline, v["classical_best"], *_qpu_eras(s, "quantize"), verdict, "measured; QAOA simulated"]


def qpca_dimension(s: Summaries) -> list[str]:
    q = s.get("qpca")
    if not q or not q.get("by_k"):
        return [NOT_RUN] * 7
    k, e = max(q["by_k"].items(), key=lambda kv: int(kv[0]))
    run = e["qpca"][-1]
    exact = e["classical_baselines"].get("exact_pca", {})
    lower = run["projected_qpu_seconds_superconducting_lower_bound"]["typical"]
    eras = _qpu_eras(s, "qpca")
    if eras[0].startswith("not priced"):
        eras[0] = f"superconducting: {_g(lower)} s (DME only, lower bound; projected)"
    verdict = (
        f"qPCA finds the top-{k} subspace to within {run['max_principal_angle_deg']:.3g} deg of exact PCA, which is "
        f"exact in {_g(exact.get('seconds'))} s; the QPU run is projected at >= {_g(lower)} s"
    )
    return [
        f"k={k}: largest principal angle {run['max_principal_angle_deg']:.3g} deg, explained variance ratio "
        f"{_g(run['explained_variance_ratio'])}",
        f"exact PCA: 0 deg in {_g(exact.get('seconds'))} s",
        *eras,
        verdict,
        run["kind"],
    ]


def vqe_generates(s: Summaries) -> list[str]:
    g = s.get("generative")
    if not g or "born" not in g:
        return [NOT_RUN] * 7
    born = g["born"]
    base = born.get("classical_baselines", {})
    if not base:
        return ["not reported"] * 7
    name, best = min(base.items(), key=lambda kv: kv[1]["kl"])
    wins = born["kl"] <= best["kl"]
    verdict = (
        f"the Born machine's KL {born['kl']:.3g} is "
        + ("at or below" if wins else "above")
        + f" the best classical generator's ({name}: {best['kl']:.3g})"
    )
    return [
        f"Born machine on {born.get('dataset', '?')}: KL {born['kl']:.3g}",
        f"{name}: KL {best['kl']:.3g}",
        *_qpu_eras(s, "born"),
        verdict,
        "simulated",
    ]


def qnn_helps(s: Summaries) -> list[str]:
    q = s.get("qnn")
    if not q:
        return [NOT_RUN] * 6 + ["-"]
    heads, adapters = q.get("classify") or {}, q.get("finetune") or {}
    parts, classical, verdicts = [], [], []
    if "quantum" in heads and len(heads) > 1:
        acc = {h: fmean(v["accuracy"]) for h, v in heads.items()}
        best = max((h for h in acc if h != "quantum"), key=acc.get)
        parts.append(f"quantum head: accuracy {acc['quantum']:.3f}")
        classical.append(f"{best} head: {acc[best]:.3f}")
        verdicts.append(f"the quantum head is {'at or above' if acc['quantum'] >= acc[best] else 'below'} the best "
                        f"classical head of equal size ({acc['quantum']:.3f} vs {acc[best]:.3f})")  # fmt: skip
    qpu = "not reported"
    if "quantum" in adapters and len(adapters) > 1:
        ppl = {a: v["perplexity_after"] for a, v in adapters.items()}
        best = min((a for a in ppl if a != "quantum"), key=ppl.get)
        parts.append(f"quantum adapter: perplexity {ppl['quantum']:.4g}")
        classical.append(f"{best} adapter: {ppl[best]:.4g}")
        side = "at or below" if ppl["quantum"] <= ppl[best] else "above"
        verdicts.append(f"the quantum adapter's perplexity is {side} the best classical adapter's "
                        f"({ppl['quantum']:.4g} vs {ppl[best]:.4g})")  # fmt: skip
        proj = adapters["quantum"].get("projected_qpu_per_step") or {}
        sc = proj.get("superconducting")
        if sc:
            qpu = (f"superconducting: {_g(sc['seconds']['typical'])} s, {_g(sc['energy_j']['typical'])} J per "
                   "training step (projected)")  # fmt: skip
    if not parts:
        return ["not reported"] * 7
    eras = _qpu_eras(s, "qnn-step")
    if eras[0].startswith("not priced"):
        eras[0] = qpu
    return ["; ".join(parts), "; ".join(classical), *eras, "; ".join(verdicts), "simulated + measured"]


def qpu_saves_energy(s: Summaries) -> list[str]:
    o = s.get("outlook")
    if not o:
        return [NOT_RUN] * 7
    years = [str(y) for y in o["years"]]
    best = {y: max((t["p_qpu_saves_energy"][y] for t in o["tasks"].values()), default=0.0) for y in years}
    by_era = []
    for lo, hi in ((2025, 2029), (2030, 2039), (2040, 2049)):
        ys = [y for y in years if lo <= int(y) <= hi]
        by_era.append(f"P(saves) up to {max(best[y] for y in ys):.2f} ({', '.join(ys)})" if ys else "-")
    plans = s.get("coprocessor", {}).get("plans", [])
    offloads = [o for p in plans for o in p["offload"]]
    measured = f"co-processor: {len(offloads)} offload row(s)" if plans else "co-processor stage not run"
    top = max(best.values(), default=0.0)
    verdict = (
        "in no sampled future and no priced platform does a QPU use less energy than the classical best"
        if top == 0 and not offloads
        else f"a QPU saves energy in up to {top:.0%} of sampled futures; offload rows: {', '.join(offloads) or 'none'}"
    )
    return [measured, "the tasks' classical baselines (outlook, co-processor CPU rows)", *by_era, verdict, "projected"]


def smes_buffers(s: Summaries) -> list[str]:
    site = s.get("site")
    if not site or "stabilize" not in site:
        return [NOT_RUN] * 7
    st = site["stabilize"]
    techs = {k: v for k, v in st["technologies"].items() if isinstance(v, dict)}
    smes = techs.get("smes")
    if smes is None:
        return ["SMES not in this run's technologies", *["-"] * 6]
    limit, base = st["ramp_limit_mw_per_s"], st["baseline"]["max_ramp_mw_per_s"]

    def line(name: str, t: dict) -> str:
        ok = "meets" if t["meets_limits"] else "misses"
        return f"{name}: ramp {t['max_ramp_mw_per_s']:.3g} MW/s, losses {t['loss_share_of_load']:.1%} ({ok} limits)"

    others = [line(k, t) for k, t in techs.items() if k != "smes"]
    verdict = (
        f"SMES {'holds' if smes['meets_limits'] else 'does not hold'} the campus ramp to "
        f"{smes['max_ramp_mw_per_s']:.3g} MW/s (limit {limit:.3g}, unbuffered {base:.3g}) with "
        f"{smes['required_power_mw']:.3g} MW and {smes['loss_share_of_load']:.1%} losses"
    )
    return [line("SMES", smes), "; ".join(others) or "-", "-", "-", "-", verdict, "simulated"]


def campus_power(s: Summaries) -> list[str]:
    site, o = s.get("site"), s.get("outlook")
    if not site and not o:
        return [NOT_RUN] * 7
    caps = (site or {}).get("site", {}).get("capacities_mw", {})
    chosen = ", ".join(f"{k} {v:.0f} MW" for k, v in caps.items() if v > 0.05) or "not run"
    shares = []
    if o:
        for y in (str(y) for y in o["years"]):
            share = o["campus"]["supply_share"][y]
            shares.append(f"{y}: " + ", ".join(f"{k} {v:.0%}" for k, v in share.items() if v >= 0.005))
    nuclear = any(caps.get(k, 0) > 0.05 for k in ("smr", "fusion"))
    verdict = (
        "the least-cost campus builds "
        + ("SMR/fusion capacity" if nuclear else "no SMR or fusion")
        + "; Rydberg-matter storage is speculative and off unless all its parameters are given"
    )
    return [
        f"site optimum: {chosen}",
        "grid, gas, storage in the same optimisation",
        "-",
        "-",
        "-",
        verdict,
        "projected",
    ]


CLAIMS: list[tuple[str, Callable[[Summaries], list[str]]]] = [
    ("QAOA optimizes weights", qaoa_weights),
    ("qPCA reduces dimension", qpca_dimension),
    ("VQE generates", vqe_generates),
    ("QNN layers help", qnn_helps),
    ("A QPU saves energy", qpu_saves_energy),
    ("SMES buffers swings", smes_buffers),
    ("SMR, fusion or Rydberg storage power the campus", campus_power),
]


def verdict_rows(summaries: Summaries) -> list[list[str]]:
    """One row per claim; a builder that meets an unexpected summary says so instead of failing the report."""
    rows = []
    for claim, build in CLAIMS:
        try:
            cells = build(summaries)
        except (KeyError, TypeError, ValueError, StopIteration) as exc:
            cells = [f"not reported ({type(exc).__name__}: {exc})"] + ["-"] * 6
        rows.append([claim, *cells])
    return rows
