"""Profiles: synthetic shapes hit their documented targets; user CSVs are checked strictly."""

from __future__ import annotations

import numpy as np
import pytest

from qscale.errors import QscaleUserError
from qscale.grid import profiles as prof
from qscale.grid.techdata import annuity, cost_set, load_techdata

COLS = {"capacity_factor": (0.0, 1.0)}


def _write(path, header, rows):
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def test_synthetic_profiles_hit_their_targets():
    solar, wind = prof.solar_profile(0.25, 1), prof.wind_profile(0.40, 1)
    assert len(solar) == len(wind) == 8760
    assert solar.mean() == pytest.approx(0.25, abs=1e-6) and wind.mean() == pytest.approx(0.40, abs=1e-6)
    assert solar.min() >= 0 and solar.max() <= 1 and wind.min() >= 0 and wind.max() <= 1
    assert solar[np.arange(8760) % 24 == 0].max() == 0.0  # no sun at midnight
    day = solar.reshape(365, 24).mean(axis=1)
    assert day[150:240].mean() > day[:60].mean()  # summer beats winter at 35 N
    assert prof.grid_price_profile(80.0, 1).mean() == pytest.approx(80.0)
    assert prof.grid_co2_profile(0.25, 1).mean() == pytest.approx(0.25)
    inf = prof.inference_profile(30.0, 0.5)
    assert inf.max() == pytest.approx(30.0) and inf.min() >= 0.5 * 30.0 * 0.85 - 1e-9
    train = prof.training_profile(100.0, 30.0, 24, 0.1)
    assert train.max() == 100.0 and (train == 10.0).sum() == 24 * len(np.arange(360, 8760, 720))


def test_quantum_hall_load_is_steady_plus_bursts():
    q = prof.quantum_profile(10, 20.0, 5.0, 0.5, seed=3)
    assert q.min() >= 10 * 20.0 / 1000 and q.max() <= 10 * 25.0 / 1000
    assert q.mean() == pytest.approx((200 + 10 * 0.5 * 5.0) / 1000, rel=0.01)


def test_csv_reads_a_year_and_cuts_the_window(tmp_path):
    rows = [f"{h},{(h % 24) / 24:.4f}" for h in range(8760)]
    path = _write(tmp_path / "solar.csv", "hour,capacity_factor", rows)
    out = prof.read_profile_csv(path, COLS, hours=48, start_hour=24)
    assert len(out["capacity_factor"]) == 48 and out["capacity_factor"][0] == 0.0
    assert out["capacity_factor"][1] == pytest.approx(1 / 24, abs=1e-4)


@pytest.mark.parametrize(
    ("rows", "match"),
    [
        ([f"{h},0.5" for h in range(10)], "has 10 rows"),
        ([f"{h},{'' if h == 5 else 0.5}" for h in range(24)], "gap: line 7"),
        ([f"{h},{'nan' if h == 3 else 0.5}" for h in range(24)], "gap: line 5"),
        ([f"{h + (1 if h > 10 else 0)},0.5" for h in range(24)], "gap: hour 10 is followed by hour 12"),
        ([f"{h},{1.5 if h == 2 else 0.5}" for h in range(24)], "outside"),
    ],
)
def test_csv_errors_name_the_problem(tmp_path, rows, match):
    path = _write(tmp_path / "p.csv", "hour,capacity_factor", rows)
    with pytest.raises(QscaleUserError, match=match):
        prof.read_profile_csv(path, COLS, hours=24, start_hour=0)


def test_csv_missing_column_and_blank_line(tmp_path):
    with pytest.raises(QscaleUserError, match="missing column"):
        prof.read_profile_csv(_write(tmp_path / "a.csv", "hour,cf", ["0,0.1"]), COLS, 1, 0)
    path = tmp_path / "b.csv"
    path.write_text("capacity_factor\n0.1\n\n0.2\n")
    with pytest.raises(QscaleUserError, match="blank line"):
        prof.read_profile_csv(path, COLS, 2, 0)


def test_cost_sets_and_annuity():
    assert (cost_set(2025), cost_set(2031), cost_set(2049)) == ("2025", "2030", "2040")
    with pytest.raises(QscaleUserError):
        cost_set(2060)
    assert annuity(0.07, 30) == pytest.approx(0.080586, rel=1e-4)  # textbook capital recovery factor
    assert annuity(0.0, 20) == pytest.approx(0.05)
    td = load_techdata(2030, "moderate")
    assert td.techs["smr"].params["capex_usd_per_kw"] == 10387.0  # NREL ATB 2024 'Nuclear - Small' moderate 2030
    assert td.techs["solar"].params["capex_usd_per_kw"] < load_techdata(2025).techs["solar"].params["capex_usd_per_kw"]
    assert not td.techs["fusion"].available and load_techdata(2040).techs["fusion"].available
