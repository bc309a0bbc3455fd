"""Verdicts at a glance: one row per claim of the seed that the study tests, built from the stages' summaries.

Why a table first: a reader who stops after it should know what the study found. Each row is a `Verdict`: a
badge (ahead / tie / behind / not feasible), the headline figure (with its interval where seeds exist), the
classical best on the same data, what would have to change for the badge to flip (the break-even requirements of
the offload planner, the campus tipping points), and the section that holds the details. Each stage's builder
fills its own row. A stage that did not run gives "not run"; a summary without the expected fields gives "not
reported" rather than a guess. Numbers are shown to 3 significant figures. Without seeds, a gap under 2 % is a tie
(`compare`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from statistics import fmean
from typing import Any, Literal

from qscale.coproc.breakeven import flip_text

Badge = Literal["ahead", "tie", "behind", "not feasible", "not run", "not reported"]
HEADERS = ["claim", "verdict", "headline", "classical best", "would flip if", "section"]
NOT_RUN = "not run"
Summaries = dict[str, dict[str, Any]]


@dataclass
class Verdict:
    """One claim's row. `subject` is what the claim is about ("quantum", "SMES"); `rival` what it is compared with."""

    claim: str
    badge: Badge
    headline: str
    classical: str
    flip: str
    section: str  # the stage whose section holds the details (the link target #stage-<section>)
    kind: str = ""  # measured / simulated / projected
    subject: str = "quantum"
    rival: str = "classical"

    @property
    def label(self) -> str:
        return {"ahead": f"{self.subject} ahead", "behind": f"{self.rival} ahead"}.get(self.badge, self.badge)

    def cells(self) -> list[str]:
        return [self.claim, self.label, self.headline, self.classical, self.flip, self.section]


def g3(x: float | None) -> str:
    """3 significant figures, without exponent noise for ordinary magnitudes."""
    if x is None:
        return "-"
    if 1e3 <= abs(x) < 1e9:  # 1,000 rather than 1e+03; still 3 significant figures (12,300)
        return f"{float(f'{x:.3g}'):,.0f}"
    return f"{x:.3g}"


def interval(values: list[float]) -> str:
    """Mean with its range over seeds: '0.55 [0.5-0.6], 2 seeds' (a single value is shown alone)."""
    if len(values) < 2:
        return g3(values[0]) if values else "-"
    return f"{g3(fmean(values))} [{g3(min(values))}-{g3(max(values))}], {len(values)} seeds"


SINGLE_RUN_TIE = 0.02  # relative gap below which one run per side cannot tell two figures apart


def compare(quantum: float, classical: float, higher_is_better: bool, rel_tie: float = SINGLE_RUN_TIE) -> Badge:
    """ahead / tie / behind on a figure of merit from one run per side (no interval to judge the spread by).

    Why a tolerance: seeds move these figures by several per cent (the quantization table's GPTQ moves 12 % across
    calibration seeds), so a gap under `rel_tie` of the larger figure, or equal to 3 significant figures, is a tie.
    Rows with seeds judge from the paired interval instead (qscale.stats.paired_verdict).
    """
    if g3(quantum) == g3(classical) or abs(quantum - classical) <= rel_tie * max(abs(quantum), abs(classical)):
        return "tie"
    better = quantum > classical if higher_is_better else quantum < classical
    return "ahead" if better else "behind"


def _plan(s: Summaries, task: str) -> dict[str, Any] | None:
    for p in s.get("coprocessor", {}).get("plans", []):
        if p["task"] == task:
            return p
    return None


def _widest(plan: dict[str, Any]) -> list[dict[str, Any]]:
    scope = plan["rows"][-1]["scope"]  # the widest scope the stage priced (per model where there are two)
    return [r for r in plan["rows"] if r["scope"] == scope]


def qpu_flip(s: Summaries, task: str) -> str:
    """What a QPU would need for the task's offload decision to flip, from the planner's break-even objects."""
    p = _plan(s, task)
    if p is None:
        return "QPU not priced (coprocessor stage)"
    return "QPU: " + flip_text(_widest(p))


def _seed_figure(m: dict[str, Any]) -> str:
    """'perplexity 57 ± 2.48 (3 seeds)' (± the 95 % t-interval) from a statistics entry (qscale.llm.quant.seeds)."""
    if m["half_width"] is None:
        return f"perplexity {g3(m['mean'])} (1 seed)"
    return f"perplexity {g3(m['mean'])} ± {g3(m['half_width'])} ({m['n']} seeds)"


def _quantization_from_seeds(v: Verdict, s: Summaries, st: dict[str, Any], qaoa: dict[str, Any] | None) -> Verdict:
    """The badge from the paired per-seed difference of qubo-exact (the QUBO formulation QAOA solves, solved
    exactly) against the classical best: ahead / behind when its 95 % interval excludes 0, else tie."""
    cand, best = st["methods"][st["candidate"]], st["methods"][st["classical_best"]]
    pair = st["paired"][st["classical_best"]]
    span = f"[{g3(pair['low'])}, {g3(pair['high'])}]" if pair["low"] is not None else "(no interval)"
    v.badge = pair["verdict"]
    v.kind = "measured" + ("; QAOA simulated" if qaoa else "")
    v.headline = f"{st['candidate']}: {_seed_figure(cand)}; paired diff. {g3(pair['mean'])} {span}"
    if qaoa is not None:
        base = qaoa.get("classical_baseline")
        same = f" (exact: {g3(base['perplexity'])})" if base else ""
        v.headline += f"; QAOA block 0: {g3(qaoa['perplexity'])}{same}, {qaoa['qaoa_optimal_fraction']:.0%} optimal"
    v.classical = f"{st['classical_best']} ({best['tool']}): {_seed_figure(best)}"
    source = "stored runs, docs/quantization.md" if st["source"].startswith("stored") else "this run's seeds"
    v.flip = f"{pair['would_flip']} ({source}); {qpu_flip(s, 'quantize')}"
    return v


def qaoa_weights(s: Summaries) -> Verdict:
    v = Verdict("QAOA optimizes weights", "not run", NOT_RUN, "-", "-", "quantization", "simulated (QAOA) + measured")
    q = s.get("quantization")
    if not q:
        return v
    methods = q["methods"]
    qaoa = {k: m for k, m in methods.items() if "qaoa_optimal_fraction" in m}
    classical = {k: m for k, m in methods.items() if k not in qaoa}
    st = q.get("statistics") or {}
    if st.get("classical_best") and st.get("candidate") in st.get("methods", {}):
        return _quantization_from_seeds(v, s, st, next(iter(qaoa.values()), None))
    if not qaoa or not classical:
        v.badge = v.headline = "not reported"
        return v
    qname, qr = next(iter(qaoa.items()))
    # the same data: QAOA usually rounds fewer layers than the others (block 0), so its baseline is exact QUBO
    # enumeration on those same layers; comparing with a whole-model method would mix two different models
    base = qr.get("classical_baseline")
    if base is not None:
        name, ref = f"{base['method']} on the same layers ({base['layers']})", base["perplexity"]
    else:
        name, ref = min(((k, m["perplexity"]) for k, m in classical.items()), key=lambda kv: kv[1])
    v.badge = compare(qr["perplexity"], ref, higher_is_better=False)
    v.headline = f"{qname}: perplexity {g3(qr['perplexity'])}, {qr['qaoa_optimal_fraction']:.1%} of block QUBOs optimal"
    v.classical = f"{name}: perplexity {g3(ref)}"
    v.flip = f"perplexity below {g3(ref)}; {qpu_flip(s, 'quantize')}"
    return v


def qpca_dimension(s: Summaries) -> Verdict:
    v = Verdict("qPCA reduces dimension", "not run", NOT_RUN, "-", "-", "qpca")
    q = s.get("qpca")
    if not q or not q.get("by_k"):
        return v
    k, e = max(q["by_k"].items(), key=lambda kv: int(kv[0]))
    run = e["qpca"][-1]
    exact = e["classical_baselines"].get("exact_pca", {})
    lower = run["projected_qpu_seconds_superconducting_lower_bound"]["typical"]
    angle = run["max_principal_angle_deg"]
    v.kind = run["kind"]
    v.badge = "tie" if g3(angle) == "0" and exact.get("seconds") is not None and lower <= exact["seconds"] else "behind"
    v.headline = f"k={k}: within {g3(angle)} deg of exact PCA; QPU >= {g3(lower)} s (projected)"
    v.classical = f"exact PCA: 0 deg in {g3(exact.get('seconds'))} s"
    v.flip = qpu_flip(s, "qpca") if _plan(s, "qpca") else f"QPU run under {g3(exact.get('seconds'))} s"
    return v


def vqe_generates(s: Summaries) -> Verdict:
    v = Verdict("VQE generates", "not run", NOT_RUN, "-", "-", "generative", "simulated")
    g = s.get("generative")
    if not g or "born" not in g:
        return v
    born = g["born"]
    base = born.get("classical_baselines", {})
    if not base:
        v.badge = v.headline = "not reported"
        return v
    name, best = min(base.items(), key=lambda kv: kv[1]["kl"])
    v.badge = compare(born["kl"], best["kl"], higher_is_better=False)
    v.headline = f"Born machine on {born.get('dataset', '?')}: KL {g3(born['kl'])}"
    v.classical = f"{name}: KL {g3(best['kl'])}"
    v.flip = f"KL below {g3(best['kl'])}; {qpu_flip(s, 'born')}"
    return v


def qnn_helps(s: Summaries) -> Verdict:
    v = Verdict("QNN layers help", "not run", NOT_RUN, "-", "-", "qnn", "simulated + measured")
    q = s.get("qnn")
    if not q:
        return v
    heads, adapters = q.get("classify") or {}, q.get("finetune") or {}
    parts, classical, flips, badges = [], [], [], []
    if "quantum" in heads and len(heads) > 1:
        acc = {h: fmean(r["accuracy"]) for h, r in heads.items()}
        best = max((h for h in acc if h != "quantum"), key=acc.get)
        parts.append(f"quantum head: accuracy {interval(list(heads['quantum']['accuracy']))}")
        classical.append(f"{best} head: {g3(acc[best])}")
        badges.append(compare(acc["quantum"], acc[best], higher_is_better=True))
        flips.append(f"accuracy above {g3(acc[best])}")
    if "quantum" in adapters and len(adapters) > 1:
        ppl = {a: r["perplexity_after"] for a, r in adapters.items()}
        best = min((a for a in ppl if a != "quantum"), key=ppl.get)
        parts.append(f"quantum adapter: perplexity {g3(ppl['quantum'])}")
        classical.append(f"{best} adapter: {g3(ppl[best])}")
        badges.append(compare(ppl["quantum"], ppl[best], higher_is_better=False))
        flips.append(f"perplexity below {g3(ppl[best])}")
    if not parts:
        v.badge = v.headline = "not reported"
        return v
    v.badge = badges[0] if len(set(badges)) == 1 else "tie"
    v.headline, v.classical = "; ".join(parts), "; ".join(classical)
    v.flip = "; ".join(flips) + (f"; {qpu_flip(s, 'qnn-step')}" if _plan(s, "qnn-step") else "")
    return v


def qpu_saves_energy(s: Summaries) -> Verdict:
    v = Verdict("A QPU saves energy", "not run", NOT_RUN, "-", "-", "outlook", "projected")
    o = s.get("outlook")
    if not o:
        return v
    years = [str(y) for y in o["years"]]
    best = {y: max((t["p_qpu_saves_energy"][y] for t in o["tasks"].values()), default=0.0) for y in years}
    plans = s.get("coprocessor", {}).get("plans", [])
    offloads = [x for p in plans for x in p["offload"]]
    top = max(best.values(), default=0.0)
    v.badge = "ahead" if offloads or top > 0.5 else "behind"  # ahead: an offload row, or most sampled futures
    v.headline = f"P(QPU saves energy) up to {top:.2f} ({years[0]}-{years[-1]}); {len(offloads)} offload rows"
    v.classical = "each task's classical best (outlook, co-processor CPU rows)"
    v.flip = "; ".join(f"{p['task']}: {flip_text(_widest(p))}" for p in plans[:2]) or "co-processor stage not run"
    return v


def smes_buffers(s: Summaries) -> Verdict:
    v = Verdict("SMES buffers swings", "not run", NOT_RUN, "-", "-", "site", "simulated", "SMES", "alternative")
    site = s.get("site")
    if not site or "stabilize" not in site:
        return v
    st = site["stabilize"]
    techs = {k: t for k, t in st["technologies"].items() if isinstance(t, dict)}
    smes = techs.get("smes")
    if smes is None:
        v.badge, v.headline = "not reported", "SMES not in this run's technologies"
        return v
    limit = st["ramp_limit_mw_per_s"]
    others = {k: t for k, t in techs.items() if k != "smes" and t.get("meets_limits")}
    rival = min(others.items(), key=lambda kv: kv[1]["loss_share_of_load"]) if others else None
    if not smes["meets_limits"]:
        v.badge = "not feasible"
    elif rival is None:
        v.badge = "ahead"
    else:
        v.rival = rival[0]
        v.badge = compare(smes["loss_share_of_load"], rival[1]["loss_share_of_load"], higher_is_better=False)
    v.headline = (f"ramp {g3(smes['max_ramp_mw_per_s'])} MW/s (limit {g3(limit)}) with {g3(smes['required_power_mw'])} "
                  f"MW, losses {smes['loss_share_of_load']:.1%}")  # fmt: skip
    v.classical = (f"{rival[0]}: {g3(rival[1]['required_power_mw'])} MW, losses {rival[1]['loss_share_of_load']:.1%}"
                   if rival else "no other storage meets the limits")  # fmt: skip
    v.flip = (f"SMES losses below {rival[1]['loss_share_of_load']:.1%}" if rival and v.badge == "behind"
              else f"{rival[0]} losses below SMES's" if rival else "-")  # fmt: skip
    return v


def tipping_text(tipping: dict[str, Any]) -> str:
    """'smr: none up to 1000 $/t; wind: 23.4 $/t' from the site stage's tipping points."""
    parts = []
    for tech, t in tipping.items():
        if t.get("value") is None:
            reason = "not available" if t.get("solves") == 0 else f"none up to {g3(t['range'][1])} $/t"
            parts.append(f"{tech}: {reason}")
        else:
            parts.append(f"{tech}: {g3(t['value'])} $/t")
    return "carbon price where each enters: " + "; ".join(parts)


def campus_power(s: Summaries) -> Verdict:
    v = Verdict("SMR, fusion or Rydberg storage power the campus", "not run", NOT_RUN, "-", "-", "site", "projected",
                "SMR/fusion", "other supply")  # fmt: skip
    site = (s.get("site") or {}).get("site")
    if not site:
        return v
    caps = site.get("capacities_mw", {})
    nuclear = {k: caps.get(k, 0.0) for k in ("smr", "fusion") if caps.get(k, 0.0) > 1.0}
    v.badge = "ahead" if nuclear else "behind"
    v.headline = ("builds " + ", ".join(f"{k} {g3(mw)} MW" for k, mw in nuclear.items()) if nuclear
                  else "the least-cost campus builds no SMR or fusion")  # fmt: skip
    v.classical = "least-cost mix: " + (", ".join(f"{k} {g3(mw)} MW" for k, mw in caps.items() if mw > 1.0) or "-")
    tipping = (s.get("site") or {}).get("tipping")
    v.flip = tipping_text(tipping) if tipping else "tipping points not run"
    return v


CLAIMS: list[tuple[str, Callable[[Summaries], Verdict]]] = [
    ("QAOA optimizes weights", qaoa_weights),
    ("qPCA reduces dimension", qpca_dimension),
    ("VQE generates", vqe_generates),
    ("QNN layers help", qnn_helps),
    ("A QPU saves energy", qpu_saves_energy),
    ("SMES buffers swings", smes_buffers),
    ("SMR, fusion or Rydberg storage power the campus", campus_power),
]


def verdicts(summaries: Summaries) -> list[Verdict]:
    """One row per claim; a builder that meets an unexpected summary says so instead of failing the report."""
    rows = []
    for claim, build in CLAIMS:
        try:
            rows.append(build(summaries))
        except (KeyError, TypeError, ValueError, StopIteration, IndexError) as exc:
            rows.append(Verdict(claim, "not reported", f"not reported ({type(exc).__name__}: {exc})", "-", "-", ""))
    return rows


def verdict_rows(summaries: Summaries) -> list[list[str]]:
    """The rows as text cells (HEADERS), for tables outside the HTML report."""
    return [v.cells() for v in verdicts(summaries)]
