"""`qscale site` and `qscale stabilize` as a user runs them: JSON on stdout, exit 2 with a reason on bad input."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner


def _invoke(*args: str):
    """In-process run of the CLI (fast) for input checks that stop before any solve."""
    from qscale.cli import app

    return CliRunner().invoke(app, list(args))


RYDBERG = [
    "--rydberg-param", "power_usd_per_kw=50", "--rydberg-param", "energy_usd_per_kwh=5",
    "--rydberg-param", "efficiency_charge=0.95", "--rydberg-param", "efficiency_discharge=0.95",
    "--rydberg-param", "standing_loss_per_hour=0", "--rydberg-param", "lifetime_years=20",
    "--rydberg-param", "fom_pct_per_year=1",
]  # fmt: skip


def test_site_json_reports_every_field(cli, tmp_path, site_result_keys):
    r = cli("site", "--hours", "24", "--plots", str(tmp_path), "--json")
    assert r.code == 0, r.stderr
    d = r.json()
    for key in (*site_result_keys, "kinds", "sources"):
        assert key in d, key
    assert d["kinds"]["capacities_mw"] == "projected"
    assert d["hours"] == 24 and d["annualised_from_hours"] is True
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "site_capacity_mix.png",
        "site_cost_breakdown.png",
        "site_dispatch_one_week.png",
    ]
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in tmp_path.iterdir())


def test_rydberg_without_parameters_is_a_clear_error(cli_fast):
    r = cli_fast("site", "--hours", "24", "--enable-rydberg", "--json")
    assert r.code == 2 and r.stdout == ""
    assert "speculative" in r.stderr and "no default parameters" in r.stderr


def test_rydberg_with_parameters_is_flagged(cli):
    r = cli("site", "--hours", "24", "--enable-rydberg", *RYDBERG, "--json")
    assert r.code == 0, r.stderr
    d = r.json()
    assert d["speculative"] is True and "rydberg" in d["capacities_mw"]
    assert "speculative, unverified" in d["kinds"]["cost_per_mwh"]


def test_negative_capacity_exits_2(cli_fast):
    r = cli_fast("site", "--hours", "24", "--training-mw", "-5", "--json")
    assert r.code == 2 and r.stdout == ""
    assert r.stderr.strip().splitlines()[-1].startswith("error:") and "training_mw" in r.stderr


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--max-import-mw", "-1"], "max_import_mw"),
        (["--quantum-kw", "-3"], "quantum_total_kw"),
        (["--carbon-cap-t", "-10"], "cap_t_per_year"),
        (["--carbon-cap-t", "10", "--carbon-price", "5"], "not both"),
        (["--year", "2070"], "year must be between"),
        (["--technologies", "grid,coal"], "technologies"),
        (["--rydberg-param", "efficiency_charge=0.9"], "not enabled"),
        (["--rydberg-param", "efficiency_charge"], "name=value"),
    ],
)
def test_site_bad_input_exits_2(args, needle):
    r = _invoke("site", "--hours", "24", *args, "--json")
    assert r.exit_code == 2, (r.exit_code, r.stderr)
    assert needle in r.stderr and r.stdout == ""


def test_profile_csv_of_wrong_length_or_with_gaps(cli_fast, tmp_path):
    short = tmp_path / "grid.csv"
    short.write_text("price_usd_per_mwh,co2_t_per_mwh\n" + "50,0.3\n" * 10)
    r = cli_fast("site", "--hours", "24", "--grid-csv", str(short), "--json")
    assert r.code == 2 and "has 10 rows" in r.stderr
    gappy = tmp_path / "solar.csv"
    gappy.write_text("capacity_factor\n" + "".join("\n" if h == 7 else "0.2\n" for h in range(24)))
    r = cli_fast("site", "--hours", "24", "--solar-csv", str(gappy), "--json")
    assert r.code == 2 and "gap" in r.stderr


def test_user_profiles_are_used(cli, tmp_path):
    grid = tmp_path / "grid.csv"
    grid.write_text("hour,price_usd_per_mwh,co2_t_per_mwh\n" + "".join(f"{h},5,0.0\n" for h in range(24)))
    r = cli("site", "--hours", "24", "--grid-csv", str(grid), "--json")
    assert r.code == 0, r.stderr
    d = r.json()
    assert d["import_share"] == pytest.approx(1.0, abs=1e-6)  # 5 $/MWh, carbon-free: nothing beats it
    assert d["co2_t_per_year"] == pytest.approx(0.0, abs=1e-6)


def test_infeasible_carbon_cap_names_the_constraint(cli):
    r = cli(
        "site",
        "--hours",
        "24",
        "--technologies",
        "grid,gas",
        "--carbon-cap-t",
        "0",
        "--max-unserved-fraction",
        "0",
        "--json",
    )
    assert r.code == 2 and r.stdout == ""
    line = r.stderr.strip().splitlines()[-1]
    assert line.startswith("error: infeasible") and "carbon cap" in line


def test_stabilize_json_sizes_smes_and_li_ion(cli, tmp_path):
    r = cli(
        "stabilize",
        "--cluster-mw",
        "100",
        "--swing",
        "0.5",
        "--period-s",
        "2",
        "--ramp-limit-mw-per-s",
        "10",
        "--duration-s",
        "40",
        "--technologies",
        "smes,li-ion",
        "--plots",
        str(tmp_path),
        "--trace-csv",
        str(tmp_path / "trace.csv"),
        "--json",
    )
    assert r.code == 0, r.stderr
    d = r.json()
    assert d["ramp_limit_mw_per_s"] == 10.0
    lines = (tmp_path / "trace.csv").read_text().splitlines()
    assert lines[0] == "t_s,load_mw,grid_mw_smes,stored_mwh_smes,grid_mw_li-ion,stored_mwh_li-ion"
    assert len(lines) == 1 + 4000  # 40 s at 10 ms
    for name in ("smes", "li-ion"):
        t = d["technologies"][name]
        for key in ("required_power_mw", "required_energy_mwh", "max_ramp_mw_per_s", "losses_mwh"):
            assert t[key] is not None and t[key] >= 0
        assert t["max_ramp_mw_per_s"] <= 10.0 * (1 + 1e-9)
    assert (tmp_path / "stabilize_power_swing_smoothing.png").exists()


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--swing", "1.5"], "swing"),
        (["--technologies", "smes,unobtanium"], "technologies"),
        (["--band-hz", "20"], "band-hz"),
        (["--ramp-limit-mw-per-s", "-1"], "limits must be > 0"),
    ],
)
def test_stabilize_bad_input_exits_2(args, needle):
    r = _invoke("stabilize", "--duration-s", "20", *args, "--json")
    assert r.exit_code == 2 and needle in r.stderr and r.stdout == ""


def test_site_pue_takes_a_preset_like_energy():
    from qscale.cli.common import parse_pue

    assert parse_pue("google-fleet").value == pytest.approx(1.10)
    assert parse_pue("1.3").value == pytest.approx(1.3)
    r = _invoke("site", "--pue", "no-such-preset", "--json")
    assert r.exit_code == 2 and "unknown PUE preset" in r.output
