"""`qscale energy measure -- CMD`: a child's energy by part with its method, its exit code passed on, user errors,
and the CodeCarbon-compatible CSV row."""

from __future__ import annotations

import csv
import dataclasses
import sys

import pytest

from qscale.energy.measure import CODECARBON_COLUMNS, J_PER_KWH


def test_busy_child_has_positive_cpu_energy_with_its_method(cli):
    res = cli("energy", "measure", "--json", "--intensity-kg-per-kwh", "0.5", "--", sys.executable, "-c",
              "print('child says hi'); sum(range(10**7))")  # fmt: skip
    assert res.code == 0, res.stderr
    r = res.json()  # the child's own stdout went to stderr: stdout is one JSON object
    assert "child says hi" in res.stderr and r["exit_code"] == 0
    cpu = r["parts"]["cpu"]
    assert cpu["energy_j"] > 0 and cpu["kind"] in ("measured", "estimated")
    assert ("RAPL" in cpu["method"]) if cpu["kind"] == "measured" else ("utilisation" in cpu["method"])
    assert r["cpu_seconds"] > 0 and r["wall_s"] > 0
    assert r["energy_j"] == pytest.approx(sum(p["energy_j"] for p in r["parts"].values()))
    assert r["energy_kwh"] == pytest.approx(r["energy_j"] / J_PER_KWH)
    assert r["co2_kg"] == pytest.approx(r["energy_kwh"] * 0.5)
    assert r["parts"]["memory"]["kind"] == "estimated" and "W/GB" in r["parts"]["memory"]["method"]


def test_failing_child_is_metered_and_its_exit_code_passed_on(cli):
    res = cli("energy", "measure", "--json", "--", "false")
    assert res.code == 1
    r = res.json()
    assert r["exit_code"] == 1 and r["energy_j"] >= 0 and set(r["parts"]) == {"cpu", "gpu", "memory"}


def test_signal_exit_code_follows_the_shell(cli):
    res = cli("energy", "measure", "--json", "--", sys.executable, "-c", "import os, signal; os.kill(os.getpid(), 15)")
    assert res.code == 128 + 15 and res.json()["exit_code"] == 143


@pytest.mark.parametrize(
    "args, reason",
    [
        (["--", "qscale-no-such-command-xyz"], "command not found: qscale-no-such-command-xyz"),
        ([], "no command to measure"),
        (["--interval", "0", "--", "true"], "--interval must be > 0"),
        (["--region", "france", "--intensity-kg-per-kwh", "0.1", "--", "true"], "not both"),
        (["--region", "atlantis", "--", "true"], "atlantis"),
    ],
)
def test_user_errors_exit_2_with_one_line(cli_fast, tmp_path, args, reason):
    res = cli_fast("energy", "measure", "--json", *args, cwd=tmp_path)
    assert res.code == 2 and res.stdout == ""
    assert len(res.stderr.strip().splitlines()) == 1 and reason in res.stderr
    assert list(tmp_path.iterdir()) == []


def test_csv_rows_append_under_codecarbons_header(cli, tmp_path):
    out = tmp_path / "emissions.csv"
    for _ in range(2):
        res = cli("energy", "measure", "--json", "--region", "france", "--csv", str(out), "--", "true")
        assert res.code == 0, res.stderr
    with out.open(newline="") as fh:
        rows = list(csv.reader(fh))
    assert tuple(rows[0]) == CODECARBON_COLUMNS and len(rows) == 3
    row = dict(zip(rows[0], rows[2], strict=True))
    r = res.json()
    assert float(row["energy_consumed"]) == pytest.approx(r["energy_kwh"])
    assert float(row["emissions"]) == pytest.approx(r["co2_kg"]) and row["country_name"] == "france"
    assert float(row["cpu_energy"]) + float(row["gpu_energy"]) + float(row["ram_energy"]) == pytest.approx(
        float(row["energy_consumed"])
    )


def test_csv_with_another_header_is_refused_before_the_command_runs(cli_fast, tmp_path):
    out = tmp_path / "other.csv"
    out.write_text("a,b\n1,2\n")
    marker = tmp_path / "ran"
    res = cli_fast("energy", "measure", "--csv", str(out), "--", "touch", str(marker))
    assert res.code == 2 and "header" in res.stderr
    assert out.read_text() == "a,b\n1,2\n" and not marker.exists()


def test_columns_are_codecarbons():
    pytest.importorskip("codecarbon")
    from codecarbon.output_methods.emissions_data import EmissionsData

    assert tuple(f.name for f in dataclasses.fields(EmissionsData)) == CODECARBON_COLUMNS
