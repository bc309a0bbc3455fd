"""`qscale stabilize` as a function: the smallest storage (power, then energy) that keeps a swinging load
inside a grid ramp limit and an oscillation-band limit, for each storage technology.

Search: bisection on the power rating, each trial a full simulation with unlimited energy; then the energy
is the larger of the stored-energy excursion (over the usable state-of-charge window) and the
technology's energy-to-power floor, checked by a final run with that finite energy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from qscale.errors import QscaleUserError
from qscale.grid.controller import Device, Limits, Run, Tuning, band_amplitude, max_ramp, simulate
from qscale.grid.swing import SwingSpec, load_trace, stabilize_data
from qscale.io import Result, atomic_write_text

TECHNOLOGIES = ("smes", "li-ion", "flywheel", "supercap")
MJ_PER_MWH = 3600.0


def device(key: str) -> tuple[Device, dict, dict, list[str]]:
    """A technology's dynamics from data/stabilize.toml, with the sources and the unverified parameters."""
    techs = stabilize_data()["tech"]
    if key not in techs:
        raise QscaleUserError(f"unknown technology {key!r} (known: {', '.join(techs)})")
    d = techs[key]
    eta = math.sqrt(d["round_trip_efficiency"])
    dev = Device(
        eta,
        eta,
        d["response_s"],
        d["standby_per_hour"],
        d["parasitic_fraction_of_power"],
        d["soc_window"][0],
        d["soc_window"][1],
    )
    params = {k: v for k, v in d.items() if not k.endswith("_source") and k not in ("label", "unverified")}
    sources = {k: v for k, v in d.items() if k.endswith("_source")}
    return dev, params, sources, list(d.get("unverified", []))


def energy_books(run: Run, load: np.ndarray, dt: float) -> dict[str, float]:
    """Grid energy in = load energy + losses + change in stored energy (MJ); the residual should be ~0."""
    grid = float(run.grid_mw.sum() * dt)
    used = float(load.sum() * dt)
    stored = float(run.energy_mj[-1] - run.energy_mj[0])
    return {
        "grid_mj": grid,
        "load_mj": used,
        "losses_mj": run.losses_mj,
        "stored_change_mj": stored,
        "residual_mj": grid - used - run.losses_mj - stored,
    }


def _meets(run: Run, dt: float, limits: Limits) -> bool:
    return (
        max_ramp(run.grid_mw, dt) <= limits.ramp_mw_per_s * (1 + 1e-9)
        and band_amplitude(run.grid_mw, dt, limits.band_hz) <= limits.band_mw * (1 + 1e-9)
        and not run.clipped_energy
    )


def size(
    load: np.ndarray, dt: float, dev: Device, limits: Limits, min_e2p_s: float, tune: Tuning | None = None
) -> tuple[dict, Run | None]:
    """Smallest power (bisection) and then energy that meet the limits; None run if no size does."""
    tune = tune or Tuning()
    probe = Device(
        dev.eta_charge, dev.eta_discharge, dev.response_s, dev.standby_per_hour, 0.0, dev.soc_lo, dev.soc_hi
    )  # no parasitic draw: it would scale with the huge trial rating
    first = simulate(load, dt, probe, limits, 1e12, None, tune)
    loss0 = (first.conversion_loss_mj + first.standby_loss_mj) / (len(load) * dt)  # warm start of the loss filter

    def trial(power: float, energy: float | None = None, e_init: float = 0.0) -> Run:
        return simulate(load, dt, dev, limits, power, energy, tune, e_init_mj=e_init, loss_init_mw=loss0)

    hi = simulate(load, dt, probe, limits, 1e12, None, tune, loss_init_mw=loss0).max_command_mw * 1.001 + 1e-9
    for _ in range(5):  # the real device's losses shift the reference a little: allow some headroom
        if _meets(trial(hi), dt, limits):
            break
        hi *= 1.5
    else:
        return {
            "meets_limits": False,
            "reason": "the limits are not met even with unlimited power (band or ramp limit below what the "
            "controller can hold)",
        }, None
    lo = 0.0
    if _meets(trial(0.0), dt, limits):
        hi = 0.0
    while hi - lo > max(1e-3 * hi, 1e-6):
        mid = 0.5 * (lo + hi)
        lo, hi = (lo, mid) if _meets(trial(mid), dt, limits) else (mid, hi)
    power = hi
    free = trial(power)
    swing_mj = float(free.energy_mj.max() - free.energy_mj.min())
    window = dev.soc_hi - dev.soc_lo
    e_soc = swing_mj / window
    e_rating = power * min_e2p_s
    capacity = max(e_soc, e_rating, 1e-9)
    final = None
    for _ in range(40):
        centre = dev.soc_lo * capacity + 0.5 * (window * capacity - swing_mj)
        e_init = centre - float(free.energy_mj.min())
        run = trial(power, capacity, e_init)
        if _meets(run, dt, limits):
            final = run
            break
        capacity *= 1.1
    if final is None:
        return {"meets_limits": False, "reason": "no finite energy capacity kept the limits"}, None
    swing_power = float(np.abs(free.storage_mw).max())
    duration = len(load) * dt
    result = {
        "required_power_mw": power,
        "required_energy_mwh": capacity / MJ_PER_MWH,
        "energy_from_soc_swing_mwh": e_soc / MJ_PER_MWH,
        "energy_from_rating_limit_mwh": e_rating / MJ_PER_MWH,
        "power_to_follow_swing_mw": swing_power,
        "extra_power_for_response_mw": max(0.0, power - swing_power),
        "max_ramp_mw_per_s": max_ramp(final.grid_mw, dt),
        "band_amplitude_mw": band_amplitude(final.grid_mw, dt, limits.band_hz),
        "losses_mwh": final.losses_mj / MJ_PER_MWH,
        "losses_mw_mean": final.losses_mj / duration,
        "loss_share_of_load": final.losses_mj / float(load.sum() * dt) if load.sum() > 0 else None,
        "losses_breakdown_mwh": {
            "conversion": final.conversion_loss_mj / MJ_PER_MWH,
            "standby": final.standby_loss_mj / MJ_PER_MWH,
            "parasitic": final.parasitic_mj / MJ_PER_MWH,
        },
        "energy_balance": energy_books(final, load, dt),
        "meets_limits": True,
    }
    return result, final


def traces_csv(traces: dict) -> str:
    """The simulated traces as CSV text: time, load and, per technology, grid-side power and stored energy."""
    names = [k for k, v in traces["technologies"].items() if v is not None]
    cols = [traces["t_s"], traces["load_mw"]]
    header = ["t_s", "load_mw"]
    for name in names:
        cols += [traces["technologies"][name]["grid_mw"], traces["technologies"][name]["energy_mwh"]]
        header += [f"grid_mw_{name}", f"stored_mwh_{name}"]
    rows = np.column_stack(cols)
    lines = [",".join(header)] + [",".join(f"{v:.6g}" for v in row) for row in rows]
    return "\n".join(lines) + "\n"


@dataclass
class StabilizeResult(Result):
    """`run_stabilize`'s answer: the `qscale stabilize` JSON and the time series behind it (for plots and CSV).

    traces: t_s and load_mw arrays, and per technology its grid_mw and energy_mwh arrays (None where it failed).
    """

    traces: dict[str, Any] = field(default_factory=dict, repr=False)

    def write_plots(self, folder: Path) -> None:
        """Write the smoothing figure as a PNG into `folder` and list it in the report under `plots`."""
        from qscale.grid.plots import stabilize_figure, write_figures

        self.report["plots"] = write_figures([stabilize_figure(self.report, self.traces)], folder, "stabilize")

    def write_trace_csv(self, path: Path) -> None:
        """Write the load and grid-side traces as CSV to `path` and record it in the report under `trace_csv`."""
        atomic_write_text(path, traces_csv(self.traces))
        self.report["trace_csv"] = str(path)


def run_stabilize(
    spec: SwingSpec,
    ramp_limit_mw_per_s: float | None = None,
    band_limit_mw: float | None = None,
    band_hz: tuple[float, float] | None = None,
    technologies: tuple[str, ...] = TECHNOLOGIES,
) -> StabilizeResult:
    """Size each technology for the swing in `spec`: the `qscale stabilize` JSON, with the traces beside it."""
    data = stabilize_data()
    t, cluster, quantum = load_trace(spec)
    load = cluster + quantum
    mean = float(load.mean())
    lim = data["limits"]
    ramp = lim["ramp_fraction_per_s"] * mean if ramp_limit_mw_per_s is None else ramp_limit_mw_per_s
    band = lim["band_fraction"] * mean if band_limit_mw is None else band_limit_mw
    hz = tuple(lim["band_hz"]) if band_hz is None else band_hz
    if ramp <= 0 or band <= 0:
        raise QscaleUserError("ramp and band limits must be > 0")
    if not 0 <= hz[0] < hz[1]:
        raise QscaleUserError(f"band must be two increasing frequencies in Hz, got {hz}")
    if hz[1] > 0.5 / spec.dt_s:
        raise QscaleUserError(f"band upper edge {hz[1]} Hz is above the Nyquist frequency of dt-s={spec.dt_s}")
    limits = Limits(ramp, band, (float(hz[0]), float(hz[1])))
    dt = spec.dt_s
    techs_out: dict[str, dict] = {}
    traces: dict = {"t_s": t, "load_mw": load, "technologies": {}}
    for key in technologies:
        dev, params, sources, unverified = device(key)
        result, run = size(load, dt, dev, limits, params["min_energy_to_power_s"])
        result.update(
            {"label": data["tech"][key]["label"], "params": params, "sources": sources, "unverified": unverified}
        )
        techs_out[key] = result
        traces["technologies"][key] = (
            None if run is None else {"grid_mw": run.grid_mw, "energy_mwh": run.energy_mj[:-1] / MJ_PER_MWH}
        )
    result = {
        "command": "stabilize",
        "cluster_mw": spec.cluster_mw,
        "swing": spec.swing,
        "period_s": spec.period_s,
        "duty": spec.duty,
        "jitter": spec.jitter,
        "edge_s": spec.edge_s,
        "duration_s": spec.duration_s,
        "dt_s": dt,
        "seed": spec.seed,
        "quantum_systems": spec.quantum_systems,
        "quantum_step_kw": spec.quantum_step_kw,
        "mean_load_mw": mean,
        "ramp_limit_mw_per_s": ramp,
        "band_limit_mw": band,
        "band_hz": list(limits.band_hz),
        "baseline": {
            "max_ramp_mw_per_s": max_ramp(load, dt),
            "band_amplitude_mw": band_amplitude(load, dt, limits.band_hz),
            "peak_to_peak_mw": float(load.max() - load.min()),
        },
        "technologies": techs_out,
        "kinds": {
            "required_power_mw": "projected",
            "required_energy_mwh": "projected",
            "max_ramp_mw_per_s": "projected",
            "losses_mwh": "projected",
            "baseline": "projected",
            "inputs": "assumed",
        },
        "sources": {
            k: v
            for k, v in {**data["swing"], **data["limits"], "quantum": data["quantum"]["source"]}.items()
            if isinstance(v, str)
        },
        "notes": [
            "losses_mwh are over the simulated window (duration_s); losses_mw_mean is their average rate",
            "the controller leads each device's first-order lag; a slower device needs extra power to follow "
            "fast edges (extra_power_for_response_mw), so results depend on response_s and edge_s",
        ],
    }
    return StabilizeResult(result, traces=traces)
