"""Quantization over calibration seeds: compacting stored runs, paired statistics, and the study stage's verdict."""

from __future__ import annotations

import json

from qscale.llm.quant import seeds as qseeds
from qscale.stats import VERDICTS
from qscale.study.quantization_stage import STORED_SOURCE, QuantizationStage, _statistics


def _run(tool: str, pydoc: float, license_: float) -> dict:
    return {
        "tool": tool,
        "version": "1.0",
        "eval": {"pydoc": {"perplexity": pydoc}, "license": {"perplexity": license_}},
    }


RUNS = {
    "runs": {
        **{f"gptq|3|row|{s}": _run("qscale", p, 200 + s) for s, p in enumerate([60.0, 62.0, 61.0])},
        **{f"qubo-exact|3|row|{s}": _run("qscale", p, 190 + s) for s, p in enumerate([56.0, 57.0, 58.0])},
        **{f"llmcompressor|3|row|{s}": _run("llmcompressor", p, 180) for s, p in enumerate([51.0, 50.0])},
    },
    "fp_eval": {"pydoc": {"perplexity": 17.0}, "license": {"perplexity": 16.5}},
    "inputs": {"seq_len": 256, "calibration_windows": 32},
}


def test_compact_and_paired_statistics():
    c = qseeds.compact(RUNS)
    assert c["fp"] == {"pydoc": 17.0, "license": 16.5}
    cell = c["cells"]["3|row"]
    assert cell["gptq"]["seeds"]["1"] == {"pydoc": 62.0, "license": 201}
    stats = qseeds.method_seeds(cell, "pydoc")
    assert list(stats) == ["gptq", "llmcompressor", "qubo-exact"]  # table order
    assert stats["llmcompressor"].tool == "llmcompressor 1.0" and stats["llmcompressor"].interval.n == 2
    paired = qseeds.paired_against(stats)
    assert paired["gptq"].differences == (-4.0, -5.0, -3.0) and paired["gptq"].verdict == "ahead"
    assert paired["llmcompressor"].differences == (5.0, 7.0)  # seeds 0 and 1 only: the ones both have
    assert qseeds.classical_best(stats) == "llmcompressor"  # two seeds: an interval, so it can be the bar
    summary = qseeds.statistics_summary(stats, "test")
    assert summary["verdict"] == paired["llmcompressor"].verdict
    # a tool seen on one draw only, however good, gives no interval and is not the bar
    lucky = {**RUNS["runs"], "autoround|3|row|0": _run("auto-round", 30.0, 150)}
    more = qseeds.method_seeds(qseeds.compact({**RUNS, "runs": lucky})["cells"]["3|row"], "pydoc")
    assert qseeds.classical_best(more) == "llmcompressor"
    second = {**lucky, "autoround|3|row|1": _run("auto-round", 31.0, 150)}
    more = qseeds.method_seeds(qseeds.compact({**RUNS, "runs": second})["cells"]["3|row"], "pydoc")
    assert qseeds.classical_best(more) == "autoround"
    assert qseeds.statistics_summary(more, "test")["verdict"] == "behind"  # 56-30, 57-31: far above 0
    json.dumps(summary, allow_nan=False)  # strict JSON even where an interval is infinite


def test_a_tool_run_with_a_named_recipe_says_which():
    runs = {"runs": {f"autoround|3|row|{s}": _run("auto-round", 55.0 + s, 190) | {"options": {"recipe": "light",
                                                                                      "iters": 50}} for s in range(2)}}
    stats = qseeds.method_seeds(qseeds.compact(runs)["cells"]["3|row"], "pydoc")
    assert stats["autoround"].tool == "auto-round 1.0, light recipe (50 steps)"
    plain = qseeds.method_seeds(qseeds.compact(RUNS)["cells"]["3|row"], "pydoc")
    assert plain["gptq"].tool == "qscale 1.0"


def test_study_uses_stored_runs_when_the_settings_match(tmp_path, monkeypatch):
    path = tmp_path / "seeds.json"
    path.write_text(json.dumps(qseeds.compact(RUNS)))
    monkeypatch.setattr(qseeds, "STORED", path)
    cfg = QuantizationStage()  # smollm2-135m, 3 bits, 32 x 256 calibration, 24 evaluation windows: the stored ones
    stats, cell = _statistics(cfg, 1, {"gptq": {1: 62.0}, "qubo-exact": {1: 57.5}})
    assert stats["source"] == STORED_SOURCE and cell is not None
    assert stats["methods"]["gptq"]["n"] == 3 and stats["classical_best"] == "llmcompressor"
    assert stats["live_seed"]["qubo-exact"] == {"live": 57.5, "stored": 57.0}
    other, cell = _statistics(
        cfg.model_copy(update={"bits": 4}), 1, {"gptq": {1: 30.0, 2: 31.0}, "qubo-exact": {1: 29.0, 2: 30.5}}
    )
    assert cell is None and other["source"].startswith("live")
    assert other["paired"]["gptq"]["differences"] == [-1.0, -0.5]
    for changed in ({"group_size": 32}, {"act_order": False}, {"refine": 0}):  # not the stored runs' settings
        live, cell = _statistics(cfg.model_copy(update=changed), 1, {"gptq": {1: 62.0}, "qubo-exact": {1: 57.5}})
        assert cell is None and live["source"].startswith("live"), changed


def test_quick_study_gives_a_live_three_seed_verdict(quick_study):
    """The shared `qscale study --quick` run (tiny model): three live calibration seeds and a paired verdict."""
    assert quick_study.result.code == 0, quick_study.result.stderr
    q = json.loads((quick_study.folder / "results.json").read_text())["stages"]["quantization"]
    stats = q["statistics"]
    assert len(q["seeds"]) == 3
    assert stats["source"].startswith("live") and stats["methods"]["qubo-exact"]["n"] == 3
    assert stats["verdict"] in VERDICTS and stats["classical_best"] in stats["paired"]
    assert len(stats["paired"][stats["classical_best"]]["differences"]) == 3
    html = (quick_study.folder / "report.html").read_text()
    assert "Over calibration seeds" in html
