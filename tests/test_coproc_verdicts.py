"""The report's opening table: one row per claim, built from the stages' summaries; missing stages say "not run"."""

from __future__ import annotations

import re

from qscale.study.report import render_report
from qscale.study.stage import StageOutput
from qscale.study.verdicts import CLAIMS, HEADERS, Verdict, compare, g3, verdict_rows, verdicts

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
QUANT = {
    "methods": {
        "gptq": {"perplexity": 70.0},
        "qubo-exact": {"perplexity": 60.0},
        "qubo-qaoa": {"perplexity": 65.0, "qaoa_optimal_fraction": 0.9},
    }
}


def _row(summaries: dict, claim: str) -> dict[str, str]:
    return dict(zip(HEADERS, next(r for r in verdict_rows(summaries) if r[0] == claim), strict=True))


def test_every_claim_has_a_row_and_missing_stages_say_not_run():
    rows = verdict_rows({})
    assert [r[0] for r in rows] == [c for c, _ in CLAIMS]
    assert all(len(r) == len(HEADERS) for r in rows)
    assert all(r[1] == "not run" and r[2] == "not run" for r in rows)
    assert all(isinstance(v, Verdict) for v in verdicts({}))


def test_quantization_claim_compares_with_the_best_classical_method_and_says_what_would_flip_it():
    be = {"against": {"platform": "cpu", "wall_s": 10.0, "energy_j": 100.0}, "time": {"queue_s": None,
          "job_overhead_s": 40.0}, "energy": {}, "all_time_factor": 30.0, "two_qubit_error": None}  # fmt: skip
    plan = {**PLAN, "rows": [PLAN["rows"][0], PLAN["rows"][1] | {"break_even": be}, PLAN["rows"][2]]}
    row = _row({"quantization": QUANT, "coprocessor": {"plans": [plan]}}, "QAOA optimizes weights")
    assert row["verdict"] == "classical ahead"  # 65 > 60
    assert row["classical best"] == "qubo-exact: perplexity 60"
    assert row["headline"] == "qubo-qaoa: perplexity 65, 90.0% of block QUBOs optimal"
    assert row["would flip if"] == "perplexity below 60; QPU: heron (today): every time parameter 30x lower"
    assert row["section"] == "quantization"


def test_a_tie_is_equal_to_three_significant_figures_and_numbers_are_rounded():
    quant = {"methods": {"gptq": {"perplexity": 17.5012}, "qubo-qaoa": {"perplexity": 17.5049,
                                                                           "qaoa_optimal_fraction": 0.99}}}  # fmt: skip
    row = _row({"quantization": quant}, "QAOA optimizes weights")
    assert row["verdict"] == "tie" and "perplexity 17.5," in row["headline"]
    assert "QPU not priced" in row["would flip if"]
    long = {"generative": {"born": {"kl": 1000.2044302669999, "dataset": "bars",
                                    "classical_baselines": {"rbm": {"kl": 0.123456}}}}}  # fmt: skip
    row = _row(long, "VQE generates")
    assert row["headline"] == "Born machine on bars: KL 1,000" and row["classical best"] == "rbm: KL 0.123"
    assert row["verdict"] == "classical ahead"
    assert g3(12345.6) == "12,300" and g3(0.000123456) == "0.000123" and g3(2.5e10) == "2.5e+10"


def test_qaoa_on_fewer_layers_is_compared_with_exact_enumeration_on_those_layers():
    quant = {"methods": {**QUANT["methods"], "qubo-qaoa": {
        "perplexity": 18.6, "qaoa_optimal_fraction": 0.99,
        "classical_baseline": {"method": "qubo-exact", "layers": "model.layers.0.*", "perplexity": 17.5}}}}  # fmt: skip
    row = _row({"quantization": quant}, "QAOA optimizes weights")
    assert row["classical best"] == "qubo-exact on the same layers (model.layers.0.*): perplexity 17.5"
    assert row["verdict"] == "classical ahead"


def test_one_run_per_side_calls_a_gap_within_its_tolerance_a_tie():
    """Without seeds there is no interval: a 1.5 % gap (a quick study's Born KL 0.00266 vs 0.0027) is a tie."""
    assert compare(0.00266, 0.0027, higher_is_better=False) == "tie"
    assert compare(0.00266, 0.0027, higher_is_better=False, rel_tie=0.01) == "ahead"
    assert compare(0.0030, 0.0027, higher_is_better=False) == "behind"
    assert compare(0.75, 0.7, higher_is_better=True) == "ahead"


def test_qnn_claim_gives_the_seed_interval_and_compares_heads_and_adapters_of_equal_size():
    qnn = {
        "classify": {"quantum": {"accuracy": [0.5, 0.6]}, "linear": {"accuracy": [0.7, 0.7]},
                     "mlp": {"accuracy": [0.65, 0.6]}},
        "finetune": {"quantum": {"perplexity_after": 15.5}, "lora": {"perplexity_after": 14.9},
                     "mlp": {"perplexity_after": 15.3}},
    }  # fmt: skip
    row = _row({"qnn": qnn}, "QNN layers help")
    assert row["headline"] == "quantum head: accuracy 0.55 [0.5-0.6], 2 seeds; quantum adapter: perplexity 15.5"
    assert row["classical best"] == "linear head: 0.7; lora adapter: 14.9"
    assert row["verdict"] == "classical ahead"
    assert row["would flip if"] == "accuracy above 0.7; perplexity below 14.9"
    qnn["classify"]["quantum"]["accuracy"] = [0.9, 0.9]
    assert _row({"qnn": qnn}, "QNN layers help")["verdict"] == "tie"  # head ahead, adapter behind


def test_campus_verdict_states_the_tipping_points():
    site = {"site": {"capacities_mw": {"gas": 156.0, "wind": 0.1, "smr": 0.0}},
            "tipping": {"smr": {"value": None, "range": [0, 1000], "solves": 1},
                        "fusion": {"value": None, "range": [0, 1000], "solves": 0},
                        "wind": {"value": 23.4567, "range": [0, 1000], "solves": 12}}}  # fmt: skip
    row = _row({"site": site}, "SMR, fusion or Rydberg storage power the campus")
    assert row["verdict"] == "other supply ahead"
    assert row["classical best"] == "least-cost mix: gas 156 MW"
    assert row["would flip if"] == (
        "carbon price where each enters: smr: none up to 1,000 $/t; fusion: not available; wind: 23.5 $/t"
    )


def test_an_unexpected_summary_is_reported_not_raised():
    rows = verdict_rows({"quantization": {"methods": {"x": {}}}})
    assert rows[0][1] == "not reported"


def test_report_opens_with_the_verdict_table_and_a_header_table():
    stage = StageOutput("quantization", "Quantization", QUANT)
    machine = {"processor": "x86_64", "cpu_count": 2, "memory_gb": 24.9, "torch": "2.5", "cuda": None, "python": "3.11"}
    header = {"study": "t", "seconds": 12.3456, "machine": machine}
    page = render_report("t", header, [stage], "")
    body = page.split("<body>", 1)[1]
    first_table = re.search(r"<table.*?</table>", body, re.S).group(0)
    assert 'class="verdicts"' in first_table
    assert "QAOA optimizes weights" in first_table and "SMES buffers swings" in first_table
    assert '<span class="badge behind">classical ahead</span>' in first_table
    assert '<a href="#stage-quantization">quantization</a>' in first_table
    assert body.index('id="verdicts"') < body.index("Figure kinds")
    header_table = re.search(r'<table class="header">.*?</table>', body, re.S).group(0)
    for text in ("<td>CPU</td><td>x86_64</td>", "<td>cores</td><td>2</td>", "<td>memory</td><td>24.9 GB</td>",
                 "<td>CUDA</td><td>none</td>", "<td>wall time</td><td>12.3 s (measured)</td>"):  # fmt: skip
        assert text in header_table
    assert "{" not in header_table  # no JSON


def _stats(by_method: dict[str, list[float]]) -> dict:
    from qscale.llm.quant.seeds import MethodSeeds, statistics_summary
    from qscale.stats import t_interval

    seeds = {m: MethodSeeds(m, "qscale 0.1.0", dict(enumerate(v)), t_interval(v)) for m, v in by_method.items()}
    return statistics_summary(seeds, "stored: test")


def test_quantization_claim_is_the_paired_multi_seed_verdict_against_the_classical_best():
    # qubo-exact - gptq per seed: -4, -5, -3 (interval -4 ± 2.48: ahead); rtn far behind
    stats = _stats({"rtn": [400.0, 410.0, 420.0], "gptq": [60.0, 62.0, 61.0], "qubo-exact": [56.0, 57.0, 58.0]})
    row = _row({"quantization": {**QUANT, "statistics": stats}, "coprocessor": {"plans": [PLAN]}},
               "QAOA optimizes weights")  # fmt: skip
    assert row["verdict"] == "quantum ahead"
    assert row["classical best"] == "gptq (qscale 0.1.0): perplexity 61 ± 2.48 (3 seeds)"
    head = "qubo-exact: perplexity 57 ± 2.48 (3 seeds); paired diff. -4 [-6.48, -1.52]"
    assert row["headline"].startswith(head)
    assert "QAOA block 0: 65" in row["headline"]
    flip = "tie if the mean difference rose by 1.52 (interval reaching 0) (stored runs, docs/quantization.md)"
    assert row["would flip if"].startswith(flip)
    tie = _stats({"gptq": [60.0, 62.0, 61.0], "qubo-exact": [58.0, 64.0, 61.0]})
    assert _row({"quantization": {**QUANT, "statistics": tie}}, "QAOA optimizes weights")["verdict"] == "tie"
    behind = _stats({"gptq": [56.0, 57.0, 58.0], "qubo-exact": [60.0, 62.0, 61.0]})
    assert _row({"quantization": {**QUANT, "statistics": behind}}, "QAOA optimizes weights")["verdict"] == (
        "classical ahead"
    )
