"""Campus tipping points: bisection on full least-cost solves finds where a technology first gets > 1 MW.

Short horizons (two days) keep each solve small; the full year's values are in docs/site.md.
"""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from qscale.cli import app
from qscale.grid.config import load_site_config
from qscale.grid.site import run_site
from qscale.grid.tipping import ENTER_MW, split_point, tipping_point

SHORT = {"run": {"hours": 48, "start_hour": 2000}}  # a window where wind is not built without a carbon price
TOL = 0.08  # coarser than the CLI's 2 % (fewer solves) yet inside the 0.9x-1.1x checks: 1/(1 - TOL) < 1.1


def _wind_at(price: float) -> float:
    cfg = load_site_config(None, SHORT | {"carbon": {"price_usd_per_t": price}})
    return run_site(cfg).to_json()["capacities_mw"].get("wind", 0.0)


def test_wind_tipping_point_over_carbon_price_flips_the_build():
    r = tipping_point(load_site_config(None, SHORT), "wind", "carbon_price", (100.0, 400.0), tolerance=TOL)
    v = r["value"]
    assert v is not None and 100.0 < v < 400.0 and r["tolerance"] == TOL
    assert r["below"] < v and v - r["below"] <= TOL * v
    assert r["solves"] == len(r["points"]) >= 3 and r["range"] == [100.0, 400.0]
    assert r["mix_above"]["wind"] > ENTER_MW
    assert _wind_at(1.1 * v) > ENTER_MW
    assert _wind_at(0.9 * v) <= ENTER_MW


def test_a_technology_that_never_enters_or_is_unavailable_is_null():
    cfg = load_site_config(None, {"run": {"hours": 24, "start_hour": 2000}})
    r = tipping_point(cfg, "fusion", "carbon_price", (0.0, 50.0))  # no fusion plant before 2035 in the data
    assert r["value"] is None and r["solves"] == 0 and "unavailable" in r["note"]
    r = tipping_point(cfg, "smr", "carbon_price", (0.0, 1.0))
    assert r["value"] is None and r["solves"] == 1 and r["mix_above"] is None


def test_capex_tipping_point_is_the_cost_at_which_the_technology_enters():
    cfg = load_site_config(None, {"run": {"hours": 24, "start_hour": 2000}})
    r = tipping_point(cfg, "smr", "capex:smr", tolerance=TOL)
    lo, hi = r["range"]
    assert lo == 0.0 and hi > 1000.0  # today's SMR capex (USD/kW) is the top of the default range
    if r["value"] is not None:  # a cheaper SMR enters; the bracket holds the edge
        assert r["below"] > r["value"] and r["below"] - r["value"] <= TOL * r["below"]
        assert r["mix_above"]["smr"] > ENTER_MW


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["--tipping", "wind", "--over", "wind_speed"], "unknown --over 'wind_speed'; known: carbon_price"),
        (["--tipping", "unobtainium"], "known: smr, fusion, solar, wind"),
        (["--tipping", "wind", "--range", "500,100"], "0 <= LO < HI"),
        (["--tipping", "wind", "--range", "100,100"], "0 <= LO < HI"),
        (["--tipping", "wind", "--range", "abc"], "LO,HI"),
        (["--tipping", "li-ion", "--over", "capex:li-ion"], "no single capex_usd_per_kw for li-ion"),
        (["--tipping", "wind", "--over", "carbon_cap", "--carbon-price", "50"], "do not also give a carbon price"),
        (["--over", "carbon_price"], "go with --tipping"),
    ],
)
def test_bad_tipping_input_exits_2_with_one_line(args, reason):
    res = CliRunner().invoke(app, ["site", "--hours", "24", *args, "--json"])
    assert res.exit_code == 2 and res.stdout == ""
    assert reason in res.stderr and len(res.stderr.strip().splitlines()) == 1, res.stderr


@pytest.mark.slow  # ~30-50 s on 2 cores; `make test-slow` runs it, keeping `make test` under 10 min
def test_loosest_carbon_cap_that_builds_wind_and_its_shadow_price():
    r = tipping_point(load_site_config(None, SHORT), "wind", "carbon_cap", tolerance=TOL)
    lo, hi = r["range"]
    assert lo == 0.0 and hi > 0.0  # up to what the campus emits with no cap
    v = r["value"]
    assert v is not None and lo < v < hi and r["below"] > v and r["below"] - v <= TOL * r["below"]
    assert r["mix_above"]["wind"] > ENTER_MW
    assert r["carbon_shadow_price_usd_per_t"] > 0  # the cap binds where wind enters: it has a carbon price

    def wind_under(cap: float) -> float:
        cfg = load_site_config(None, SHORT | {"carbon": {"cap_t_per_year": cap}})
        return run_site(cfg).to_json()["capacities_mw"].get("wind", 0.0)

    assert wind_under(0.9 * v) > ENTER_MW
    assert wind_under(1.1 * v) <= ENTER_MW


def test_price_brackets_split_at_their_geometric_mean():
    """Relative tolerance: halving the bracket's ratio; a bracket from zero is first cut three decades down."""
    assert split_point(10.0, 40.0) == pytest.approx(20.0) and split_point(40.0, 10.0) == pytest.approx(20.0)
    assert split_point(0.0, 1000.0) == pytest.approx(1.0)
    lo, hi, probes = 0.0, 1000.0, 0
    while hi - lo > 0.02 * hi:  # a threshold at 24.9 $/t: 9 probes, not the 13 of halving the width
        mid = split_point(lo, hi)
        lo, hi, probes = (lo, mid, probes + 1) if mid >= 24.9 else (mid, hi, probes + 1)
    assert lo < 24.9 <= hi and probes <= 10
