"""`qscale offload` on the command line: bad input exits 2 with a one-line reason and nothing on stdout."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from qscale.cli import app

runner = CliRunner()


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["--task", "nope"], "unknown task 'nope'; known: quantize"),
        (["--task", "vqe-h2", "--era", "2050s"], "unknown era '2050s'; known: today, 2030s, 2040s"),
        (["--task", "vqe-h2", "--modality", "photonics"], "unknown modality 'photonics'"),
        (["--task", "vqe-h2", "--scenario", "median"], "unknown scenario"),
        (["--task", "qnn-step", "--scenario", "median"], "unknown scenario"),  # checked before the probe runs
    ],
)
def test_bad_input_exits_2_with_one_line(args, reason):
    res = runner.invoke(app, ["offload", *args, "--json"])
    assert res.exit_code == 2
    assert res.stdout == ""
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and reason in lines[0]


def test_vqe_h2_json_contract(tmp_path):
    res = runner.invoke(app, ["offload", "--task", "vqe-h2", "--era", "2040s", "--figures", str(tmp_path), "--json"])
    assert res.exit_code == 0, res.stderr
    out = json.loads(res.stdout)
    assert {r["platform"] for r in out["rows"]} == {"cpu", "ft_2040s"}
    for r in out["rows"]:
        assert {"platform", "era", "wall_s", "energy_j", "quality", "decision", "reason", "workload"} <= set(r)
    assert out["workloads"][0]["task"] == "vqe-h2"
    assert (tmp_path / "offload_vqe-h2_timeline.png").exists()
