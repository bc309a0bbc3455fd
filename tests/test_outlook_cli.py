"""`qscale outlook` as a user runs it (JSON contract, plots, exit code 2 on bad input) and its study stage."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from qscale.study.config import StudySection
from qscale.study.outlook_stage import OutlookStage, run

PNG = b"\x89PNG\r\n\x1a\n"


def test_outlook_json_and_plots(cli, tmp_path):
    plots = tmp_path / "plots"
    res = cli("outlook", "--samples", "200", "--seed", "5", "--years", "2030,2040", "--plots", str(plots), "--json")
    assert res.code == 0, res.stderr
    out = json.loads(res.stdout)  # exactly one JSON object on stdout
    assert out["kind"] == "projected" and out["samples"] == 200 and out["seed"] == 5
    assert out["years"] == [2030, 2040]
    for field in ("energy_mwh", "cost_usd_per_year", "cost_usd_per_mwh", "co2_t_per_year"):
        assert set(out["campus"][field]) == {"2030", "2040"}
    task = out["tasks"]["qaoa_quant_b8"]
    assert set(task["p_qpu_saves_energy"]) == {"2030", "2040"}
    assert out["scenarios"]["pue"]["kind"] == "assumed" and out["scenarios"]["pue"]["source"]
    names = ["outlook_advantage.png", "outlook_campus.png", "outlook_tasks.png"]
    assert sorted(p.name for p in plots.iterdir()) == names
    assert all(p.read_bytes().startswith(PNG) for p in plots.iterdir())
    assert "energy" in out  # the run's own ledger, as every command


def test_outlook_scenario_file_changes_the_result(cli, tmp_path):
    scen = tmp_path / "s.toml"
    scen.write_text('[meta]\ntasks = ["vqe_h2"]\n\n[ranges.pue]\nlow = 2.0\nhigh = 2.0\nsource = "test: fixed PUE"\n')
    res = cli("outlook", "--samples", "50", "--years", "2030", "--scenarios", str(scen), "--json")
    assert res.code == 0, res.stderr
    out = json.loads(res.stdout)
    assert list(out["tasks"]) == ["vqe_h2"]
    assert out["scenarios"]["pue"]["low"] == 2.0 and out["scenarios"]["pue"]["basis"] == "sourced"


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["--samples", "0"], "--samples"),
        (["--years", "2030,abc"], "--years"),
        (["--years", "2070"], "years must lie"),
        (["--scenarios", "does-not-exist.toml"], "not found"),
        (["--seed", "-3"], "--seed"),
    ],
)
def test_outlook_bad_input_exits_2(cli_fast, tmp_path, args, reason):
    res = cli_fast("outlook", *args, "--json", cwd=str(tmp_path))
    assert res.code == 2, res.stderr
    assert res.stdout == ""
    assert reason in res.stderr and len(res.stderr.strip().splitlines()) == 1


def test_outlook_bad_scenario_file_exits_2(cli_fast, tmp_path):
    scen = tmp_path / "bad.toml"
    scen.write_text('[ranges.pue]\nlow = 1.5\nhigh = 1.2\nsource = "test"\n')
    res = cli_fast("outlook", "--samples", "10", "--scenarios", str(scen), "--json")
    assert res.code == 2
    assert "ranges.pue" in res.stderr and "above high" in res.stderr


def test_stage_gives_fan_charts_tables_and_flags():
    out = run(OutlookStage(samples=120, years=[2030, 2045]), StudySection(seed=2), progress=lambda msg: None)
    assert out.name == "outlook"
    assert len(out.figures) == 3 and all(f.png.startswith(PNG) for f in out.figures)
    assert [len(t.rows) for t in out.tables] == [2, len(out.summary["tasks"])]
    assert out.summary["seed"] == 2 and "seconds" not in out.summary
    assert any(n.startswith("Unsupported assumption") for n in out.notes)


def test_stage_config_is_validated():
    with pytest.raises(ValidationError, match="years"):
        OutlookStage(years=[1999])
    with pytest.raises(ValidationError):
        OutlookStage(samples=0)
    assert OutlookStage(samples=5000).quick().samples <= 300
