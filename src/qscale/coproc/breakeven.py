"""Break-even requirements: what a QPU row's device model would have to improve, and by how much, to tie the CPU.

Why here and not a second model: every figure is the pricing model (pricing.py) read backwards. A requirement is
found by re-pricing the row on a copy of its device with one parameter scaled; the model is affine in each time
parameter, so two prices give the closed form, and a third price checks it (bisection takes over if the check
misses by more than 1 %).
- time[p]: the factor F by which parameter p alone must be divided for the row's wall_s to equal the classical
  best's (the CPU row, measured); null when p -> 0 is not enough (or p does not move wall_s). F < 1: the row is
  already faster, and p may grow by 1/F.
- energy[p]: the same against energy_j; energy also has the QPU's power (the modality model of qscale.energy).
- all_time_factor: one factor dividing every time parameter of the device together.
- two_qubit_error: for tasks judged on quality, the two-qubit error at which the quality meets its tolerance, on
  the pricing model's fidelity (1 - p2)^gates read as global depolarising noise: the measured metric moves from
  its exact-simulation value towards its value on the fully mixed state (`depolarized` in the workload's quality).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from qscale.coproc.devices import Device, FtDevice, NisqDevice
from qscale.coproc.pricing import Workload, cpu_w, price_row

NISQ_TIME = ("shot_base_s", "layer_s", "readout_s", "circuit_overhead_s", "job_overhead_s", "latency_s", "queue_s")
FT_TIME = ("job_overhead_s", "latency_s", "queue_s")
TOLERANCE = 0.01  # relative: each factor reproduces the classical figure to 1 %
LABELS = {
    "shot_base_s": "per-shot base time", "layer_s": "two-qubit layer time", "readout_s": "readout time",
    "circuit_overhead_s": "per-circuit overhead", "job_overhead_s": "job overhead", "latency_s": "round-trip latency",
    "queue_s": "queue wait", "qpu_power_w": "QPU power", "all": "every time parameter",
}  # fmt: skip


def time_params(dev: Device) -> tuple[str, ...]:
    """The device model's time parameters (a fault-tolerant run's own duration comes from qscale.energy.ft)."""
    return NISQ_TIME if isinstance(dev, NisqDevice) else FT_TIME


def scaled(dev: Device, params: tuple[str, ...], divide_by: float) -> Device:
    """A copy of `dev` with each of `params` (low, typical and high) divided by `divide_by` (inf: set to zero)."""
    update = {}
    for p in params:
        r = getattr(dev, p)
        update[p] = r.model_copy(update={k: 0.0 if math.isinf(divide_by) else getattr(r, k) / divide_by
                                         for k in ("low", "typical", "high")})  # fmt: skip
    return dev.model_copy(update=update)


def _factor(metric: Callable[[float], float], target: float) -> float | None:
    """Smallest F with metric(F) == target, for metric(F) = a + b / F (F divides the parameter), to 1 %."""
    at_one, at_zero = metric(1.0), metric(math.inf)
    slope = at_one - at_zero
    if slope <= 0 or at_zero >= target:
        return None
    f = slope / (target - at_zero)
    if abs(metric(f) - target) <= TOLERANCE * target:
        return f
    lo, hi = (f / 1e3, f) if metric(f) <= target else (f, f * 1e3)  # not affine after all: bisect in log space
    for _ in range(200):
        mid = math.sqrt(lo * hi)
        if metric(mid) <= target:
            hi = mid
        else:
            lo = mid
        if hi / lo - 1 <= TOLERANCE / 2:
            break
    return hi


def _metric(dev: Device, wl: Workload, scenario: str, params: tuple[str, ...], key: str) -> Callable[[float], float]:
    def at(divide_by: float) -> float:
        row = price_row(scaled(dev, params, divide_by), wl, scenario)
        return float(row[key]) if row.get("fits") else math.inf

    return at


def _power_factor(row: dict[str, Any], target_j: float) -> float | None:
    """energy_j = power x device_s + host: the factor on power alone (closed form on the row's own terms)."""
    host_j = cpu_w() * row["host_s"]
    qpu_j = row["qpu_power_w"] * row["device_s"]
    if qpu_j <= 0 or target_j <= host_j:
        return None
    return qpu_j / (target_j - host_j)


def two_qubit_error(wl: Workload) -> float | None:
    """The two-qubit error at which the task's quality meets its tolerance (None: no error does, or not judged)."""
    q = wl.quality
    mixed = q.get("depolarized", q.get("random_guess"))
    if mixed is None or q.get("quantum") is None or wl.two_qubit_gates <= 0:
        return None
    tol = q.get("tolerance", 0.0)
    target = q["classical"] - tol if q["higher_is_better"] else q["classical"] + tol
    ideal = q["quantum"]
    good = (ideal >= target) if q["higher_is_better"] else (ideal <= target)
    if not good or ideal == mixed:
        return None
    fidelity = (target - mixed) / (ideal - mixed)  # quality(F) = F ideal + (1 - F) mixed meets the target here
    if fidelity <= 0:
        return 1.0  # even the fully mixed state is within tolerance
    return 1.0 - fidelity ** (1.0 / wl.two_qubit_gates)


def break_even(dev: Device, wl: Workload, row: dict[str, Any], base: dict[str, Any], scenario: str) -> dict[str, Any]:
    """The requirements object of one QPU row against the CPU row `base` (see the module docstring)."""
    params = time_params(dev)
    out: dict[str, Any] = {
        "against": {"platform": base["platform"], "wall_s": base["wall_s"], "energy_j": base["energy_j"]},
        "time": dict.fromkeys(params),
        "energy": dict.fromkeys((*[p for p in params if p != "queue_s"], "qpu_power_w")),
        "all_time_factor": None,
        "two_qubit_error": two_qubit_error(wl) if isinstance(dev, NisqDevice) else None,
        "kind": "projected (the pricing model solved for each parameter, to 1 %)",
    }
    if isinstance(dev, FtDevice):
        out["note"] = ("the fault-tolerant run's own duration is timed by qscale.energy.ft on the era's qubit model, "
                       "not a device-file parameter; two_qubit_error does not apply (error-corrected)")  # fmt: skip
    if not row.get("fits"):
        out["note"] = f"not feasible: {row.get('reason', '')}"
        return out
    floor = _metric(dev, wl, scenario, params, "wall_s")(math.inf)
    out["wall_floor_s"] = floor  # wall_s with every time parameter at zero: the host's work (and FT execution)
    for p in params:
        out["time"][p] = _factor(_metric(dev, wl, scenario, (p,), "wall_s"), base["wall_s"])
        if p in out["energy"]:
            out["energy"][p] = _factor(_metric(dev, wl, scenario, (p,), "energy_j"), base["energy_j"])
    out["energy"]["qpu_power_w"] = _power_factor(row, base["energy_j"])
    out["all_time_factor"] = _factor(_metric(dev, wl, scenario, params, "wall_s"), base["wall_s"])
    return out


def smallest_requirement(
    rows: list[dict[str, Any]], eras: tuple[str, ...] = ("today",)
) -> tuple[dict[str, Any], str, float] | None:
    """(row, parameter, factor) of the smallest time factor over the QPU rows of `eras` (all_time_factor counts
    as the parameter "all time parameters"); None if every one is null."""
    best = None
    for r in rows:
        be = r.get("break_even")
        if not be or r["era"] not in eras:
            continue
        candidates = [*be["time"].items(), ("all", be.get("all_time_factor"))]
        for p, f in candidates:
            if f is not None and (best is None or f < best[2]):
                best = (r, p, f)
    return best


def _times(f: float) -> str:
    return f"{f:.3g}x"


def roadmap_sentence(task: str, rows: list[dict[str, Any]], table: dict[str, Device]) -> str:
    """One sentence placing the task's smallest requirement against the eras' device models."""
    best = smallest_requirement(rows)
    later = [r for r in rows if r.get("break_even") and r["era"] != "today"]
    if best is None:
        today = [r for r in rows if r.get("break_even") and r["era"] == "today" and r.get("fits")]
        floor = min((r["break_even"].get("wall_floor_s", math.inf) for r in today), default=math.inf)
        base = next((r["break_even"]["against"]["wall_s"] for r in rows if r.get("break_even")), None)
        why = (f": the host's own work between rounds ({floor:.3g} s) already exceeds the classical best "
               f"({base:.3g} s)" if base is not None and math.isfinite(floor) and floor >= base else "")  # fmt: skip
        text = f"{task}: no single time parameter of today's devices, shrunk to zero, brings a QPU level{why}"
    else:
        r, p, f = best
        dev = table[r["platform"]]
        value = getattr(dev, p).typical if p != "all" else None
        if p == "all":
            text = f"{task}: needs {LABELS[p]} of {r['platform']} {_times(f)} lower than today's model"
        elif f <= 1:
            text = f"{task}: {r['platform']} already meets the classical wall time ({LABELS[p]} may grow {1 / f:.3g}x)"
        else:
            text = f"{task}: needs {LABELS[p]} {_times(f)} lower than {r['platform']} today ({value:.3g} s)"
        for era in ("2030s", "2040s"):
            d = next((table[x["platform"]] for x in later if x["era"] == era), None)
            if d is None or value is None:
                continue
            if p in time_params(d):
                ratio = value / getattr(d, p).typical if getattr(d, p).typical > 0 else math.inf
                text += f"; the {era} model ({d.key}) is {ratio:.3g}x lower"
            else:
                text += f"; the {era} model ({d.key}) has no {LABELS[p]} (fault-tolerant runs)"
    reach = [f"{x['platform']} needs all time parameters {x['break_even']['all_time_factor']:.3g}x lower"
             for x in later if x["break_even"].get("all_time_factor") is not None]  # fmt: skip
    if later and not reach:
        reach = ["no 2030s/2040s model reaches it by faster timing alone"]
    return text + (" (" + "; ".join(reach) + ")" if reach else "")


def flip_text(rows: list[dict[str, Any]]) -> str:
    """The shortest "would flip if" of a plan's QPU rows, any era (for the verdict table)."""
    best = smallest_requirement(rows, ("today", "2030s", "2040s"))
    if best is not None:
        r, p, f = best
        return f"{r['platform']} ({r['era']}): {LABELS[p]} {_times(f)} lower"
    fits = [r for r in rows if r.get("break_even") and r.get("fits")]
    if not fits:
        return "a QPU that fits the circuits (none does)"
    floor = min(r["break_even"].get("wall_floor_s", math.inf) for r in fits)
    base = fits[0]["break_even"]["against"]["wall_s"]
    return f"never by QPU timing alone: host work {floor:.3g} s vs classical {base:.3g} s"
