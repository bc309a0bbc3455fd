"""Power-swing smoothing: limits are kept, energy books close, and the search returns the smallest size."""

from __future__ import annotations

import numpy as np
import pytest

from qscale.errors import QscaleUserError
from qscale.grid.controller import Device, Limits, band_amplitude, max_ramp, simulate
from qscale.grid.stabilize import device, energy_books, run_stabilize, size
from qscale.grid.swing import SwingSpec, load_trace

DT = 0.01


@pytest.fixture(scope="module")
def default_run():
    out = run_stabilize(SwingSpec(duration_s=60.0))
    return out.to_json(), out.traces


def test_swing_trace_has_the_requested_shape():
    _t, cluster, quantum = load_trace(SwingSpec(duration_s=20.0, jitter=0.0, quantum_systems=0))
    assert cluster.max() == pytest.approx(150.0) and cluster.min() == pytest.approx(50.0)
    assert cluster.mean() == pytest.approx(100.0, abs=1.0)
    spectrum = np.abs(np.fft.rfft(cluster - cluster.mean()))
    freq = np.fft.rfftfreq(len(cluster), DT)
    assert freq[np.argmax(spectrum)] == pytest.approx(0.5, abs=0.05)  # 2 s period
    assert np.all(quantum == 0)


def test_controller_keeps_ramp_and_band_limits(default_run):
    result, traces = default_run
    ramp, band = result["ramp_limit_mw_per_s"], result["band_limit_mw"]
    assert result["baseline"]["max_ramp_mw_per_s"] > 50 * ramp  # the raw swing is far outside the limits
    for name in ("smes", "li-ion", "flywheel", "supercap"):
        tech = result["technologies"][name]
        assert tech["meets_limits"], name
        grid = traces["technologies"][name]["grid_mw"]
        assert np.abs(np.diff(grid)).max() / DT <= ramp * (1 + 1e-9)  # recomputed from the trace itself
        assert band_amplitude(grid, DT, (0.1, 20.0)) <= band
        assert tech["max_ramp_mw_per_s"] <= ramp * (1 + 1e-9)


def test_energy_is_conserved_with_every_loss_kind():
    _t, cluster, quantum = load_trace(SwingSpec(duration_s=30.0))
    load = cluster + quantum
    dev = Device(0.93, 0.9, 0.02, standby_per_hour=0.05, parasitic_fraction_of_power=0.02, soc_lo=0.1, soc_hi=0.9)
    run = simulate(load, DT, dev, Limits(10.0, 1.0, (0.1, 20.0)), power_mw=80.0, energy_mj=400.0, e_init_mj=200.0)
    books = energy_books(run, load, DT)
    assert run.conversion_loss_mj > 0 and run.standby_loss_mj > 0 and run.parasitic_mj > 0
    assert abs(books["residual_mj"]) < 1e-9 * books["load_mj"]
    assert books["grid_mj"] == pytest.approx(books["load_mj"] + books["losses_mj"] + books["stored_change_mj"])


def test_device_limits_are_respected():
    _t, cluster, quantum = load_trace(SwingSpec(duration_s=30.0))
    load = cluster + quantum
    dev, *_ = device("flywheel")
    run = simulate(load, DT, dev, Limits(10.0, 1.0, (0.1, 20.0)), power_mw=30.0, energy_mj=60.0, e_init_mj=30.0)
    assert np.abs(run.storage_mw).max() <= 30.0 + 1e-9
    assert run.energy_mj.min() >= dev.soc_lo * 60.0 - 1e-9 and run.energy_mj.max() <= dev.soc_hi * 60.0 + 1e-9
    assert max_ramp(run.grid_mw, DT) > 10.0  # undersized: the limits are NOT met, and that is visible


def test_search_returns_the_smallest_power():
    _t, cluster, quantum = load_trace(SwingSpec(duration_s=40.0))
    load = cluster + quantum
    limits = Limits(10.0, 1.0, (0.1, 20.0))
    dev, params, *_ = device("smes")
    found, _ = size(load, DT, dev, limits, params["min_energy_to_power_s"])
    p = found["required_power_mw"]
    ok = simulate(load, DT, dev, limits, p, None)
    short = simulate(load, DT, dev, limits, 0.98 * p, None)
    assert max_ramp(ok.grid_mw, DT) <= 10.0 * (1 + 1e-9)
    assert max_ramp(short.grid_mw, DT) > 10.0 or band_amplitude(short.grid_mw, DT, (0.1, 20.0)) > 1.0


def test_slower_response_needs_more_power(default_run):
    techs = default_run[0]["technologies"]
    assert (
        techs["li-ion"]["required_power_mw"]
        > techs["flywheel"]["required_power_mw"]
        > techs["smes"]["required_power_mw"]
    )
    assert techs["smes"]["extra_power_for_response_mw"] < 0.01 * techs["smes"]["required_power_mw"]
    # Li-ion's energy is set by its rating floor (power x 6 min), not by the swing
    li = techs["li-ion"]
    assert li["required_energy_mwh"] == pytest.approx(li["energy_from_rating_limit_mwh"], rel=1e-9)


def test_smes_sizing_for_the_default_swing(default_run):
    smes = default_run[0]["technologies"]["smes"]
    # the storage absorbs almost the whole +/-50 MW swing; energy is about a half-period of it
    assert 49.0 < smes["required_power_mw"] < 60.0
    assert 50.0 / 3600 * 0.5 < smes["required_energy_mwh"] < 0.2
    assert smes["losses_mwh"] > 0 and smes["losses_breakdown_mwh"]["parasitic"] > 0


def test_bad_inputs_are_user_errors():
    with pytest.raises(QscaleUserError, match="swing"):
        load_trace(SwingSpec(swing=1.5))
    with pytest.raises(QscaleUserError, match="unknown technology"):
        device("capacitor-bank")
    with pytest.raises(QscaleUserError, match="Nyquist"):
        run_stabilize(SwingSpec(duration_s=20.0), band_hz=(0.1, 80.0))
