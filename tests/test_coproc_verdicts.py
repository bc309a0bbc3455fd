"""The report's opening table: one row per claim, built from the stages' summaries; missing stages say "not run"."""

from __future__ import annotations

import re

from qscale.llm.quant.seeds import MethodSeeds, statistics_summary
from qscale.stats import t_interval
from qscale.study.report import render_report
from qscale.study.stage import StageOutput
from qscale.study.verdicts import CLAIMS, HEADERS, verdict_rows

PLAN = {
    "task": "quantize",
    "offload": [],
    "rows": [
        {"platform": "cpu", "era": "today", "scope": "model", "fits": True, "wall_s": 10.0, "energy_j": 100.0,
         "decision": "baseline"},
        {"platform": "heron", "era": "today", "scope": "model", "fits": True, "wall_s": 1e4, "energy_j": 1e8,
         "decision": "keep classical"},
        {"platform": "ft_2030s", "era": "2030s", "scope": "model", "fits": False, "reason": "too big",
         "decision": "not feasible"},
    ],
}  # fmt: skip


def _stats(by_method: dict[str, list[float]]) -> dict:
    seeds = {m: MethodSeeds(m, "qscale 0.1.0", dict(enumerate(v)), t_interval(v)) for m, v in by_method.items()}
    return statistics_summary(seeds, "stored: test")


QUANT = {
    "methods": {
        "gptq": {"perplexity": 60.0},
        "qubo-exact": {"perplexity": 56.0},
        "qubo-qaoa": {"perplexity": 65.0, "qaoa_optimal_fraction": 0.9},
    },
    # qubo-exact - gptq per seed: -4, -5, -3 (interval -4 ± 2.48: ahead); rtn far behind
    "statistics": _stats({"rtn": [400.0, 410.0, 420.0], "gptq": [60.0, 62.0, 61.0], "qubo-exact": [56.0, 57.0, 58.0]}),
}


def test_every_claim_has_a_row_and_missing_stages_say_not_run():
    rows = verdict_rows({})
    assert [r[0] for r in rows] == [c for c, _ in CLAIMS]
    assert all(len(r) == len(HEADERS) for r in rows)
    assert all(r[1] == "not run" for r in rows)


def test_quantization_claim_is_the_paired_multi_seed_verdict_against_the_classical_best():
    row = dict(zip(HEADERS, verdict_rows({"quantization": QUANT, "coprocessor": {"plans": [PLAN]}})[0], strict=True))
    assert row["classical best (same data)"] == "gptq (qscale 0.1.0): perplexity 61 ± 2.48 (n=3)"
    assert row["this run"].startswith("qubo-exact: perplexity 57 ± 2.48 (n=3); paired difference -4 [-6.48, -1.52]")
    assert row["verdict"].startswith("ahead: ")
    assert "tie if the mean difference rose by 1.52" in row["verdict"]
    assert row["QPU today"].startswith("heron: 1e+04 s, 1e+08 J, keep classical")
    assert row["QPU 2030s"] == "does not fit (too big)"
    assert row["QPU 2040s"] == "not priced"
    assert row["kind"] == "measured; QAOA simulated"


def test_quantization_verdict_tie_and_behind_follow_the_paired_interval():
    tie = {**QUANT, "statistics": _stats({"gptq": [60.0, 62.0, 61.0], "qubo-exact": [58.0, 64.0, 61.0]})}
    assert verdict_rows({"quantization": tie})[0][-2].startswith("tie: ")
    behind = {**QUANT, "statistics": _stats({"gptq": [56.0, 57.0, 58.0], "qubo-exact": [60.0, 62.0, 61.0]})}
    assert verdict_rows({"quantization": behind})[0][-2].startswith("behind: ")


def test_qaoa_on_fewer_layers_is_shown_beside_exact_enumeration_on_those_layers():
    quant = {**QUANT, "methods": {**QUANT["methods"], "qubo-qaoa": {
        "perplexity": 17.6, "qaoa_optimal_fraction": 0.99,
        "classical_baseline": {"method": "qubo-exact", "layers": "model.layers.0.*", "perplexity": 17.5}}}}  # fmt: skip
    row = dict(zip(HEADERS, verdict_rows({"quantization": quant})[0], strict=True))
    assert "QAOA-rounded block 0: perplexity 17.6 (exact on the same layers: 17.5), 99.0% of block QUBOs optimal" in (
        row["this run"]
    )


def test_qnn_claim_compares_heads_and_adapters_of_equal_size():
    qnn = {
        "classify": {"quantum": {"accuracy": [0.5, 0.6]}, "linear": {"accuracy": [0.7, 0.7]},
                     "mlp": {"accuracy": [0.65, 0.6]}},
        "finetune": {"quantum": {"perplexity_after": 15.5, "projected_qpu_per_step": {"superconducting": {
                         "seconds": {"typical": 1.2e6}, "energy_j": {"typical": 3e10}}}},
                     "lora": {"perplexity_after": 14.9}, "mlp": {"perplexity_after": 15.3}},
    }  # fmt: skip
    row = dict(zip(HEADERS, next(r for r in verdict_rows({"qnn": qnn}) if r[0] == "QNN layers help"), strict=True))
    assert row["this run"] == "quantum head: accuracy 0.550; quantum adapter: perplexity 15.5"
    assert row["classical best (same data)"] == "linear head: 0.700; lora adapter: 14.9"
    assert "below the best classical head" in row["verdict"] and "above the best classical adapter" in row["verdict"]
    assert row["QPU today"] == "superconducting: 1.2e+06 s, 3e+10 J per training step (projected)"
    qnn["classify"]["quantum"]["accuracy"] = [0.9, 0.9]
    row = next(r for r in verdict_rows({"qnn": qnn}) if r[0] == "QNN layers help")
    assert "at or above the best classical head" in row[-2]


def test_an_unexpected_summary_is_reported_not_raised():
    rows = verdict_rows({"quantization": {"methods": {"x": {}}}})
    assert rows[0][1].startswith("not reported")


def test_report_opens_with_the_verdict_table():
    stage = StageOutput("quantization", "Quantization", QUANT)
    page = render_report("t", {"study": "t"}, [stage], "")
    body = page.split("<body>", 1)[1]
    first_table = re.search(r"<table>.*?</table>", body, re.S).group(0)
    assert "QAOA optimizes weights" in first_table and "SMES buffers swings" in first_table
    assert body.index('id="verdicts"') < body.index("Figure kinds")
