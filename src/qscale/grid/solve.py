"""Solve the campus network with HiGHS, adding the constraints PyPSA has no switch for.

Added: one converter rating for charge and discharge of Store-based storage, the SMES cryoplant's draw
tied to its rating, the carbon cap with hour-by-hour grid carbon intensity, and a cap on unserved energy.
An infeasible problem is diagnosed by dropping the user's constraints one at a time, so the error names
the constraint that cannot be met instead of just saying "infeasible".
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from qscale.errors import QscaleUserError
from qscale.grid.network import Built

USER_CONSTRAINTS = ("carbon cap", "max unserved fraction", "max import", "minimum capacities")


class SiteInfeasibleError(QscaleUserError):
    """The optimisation has no solution; the message names the constraint(s) responsible."""


@dataclass
class SolveInfo:
    status: str
    condition: str
    seconds: float
    solver: str
    carbon_shadow_price: float | None = None


def _emissions_expr(m, built: Built, sns):
    import xarray as xr

    terms = []
    w = built.weight
    for gen, ef in built.emission_factors.items():
        p = m["Generator-p"].sel(name=gen, drop=True)
        coeff = np.broadcast_to(np.asarray(ef, dtype=float) * w, (len(sns),))
        terms.append((p * xr.DataArray(coeff, coords={"snapshot": sns}, dims="snapshot")).sum())
    return sum(terms[1:], terms[0]) if terms else None


def add_constraints(built: Built, cap_t: float | None, max_unserved: float | None) -> callable:
    """The extra_functionality hook for n.optimize()."""

    def extra(n, sns) -> None:
        m = n.model
        for name, spec in built.storage.items():
            if spec["kind"] == "store":
                lp = m["Link-p_nom"]
                m.add_constraints(
                    lp.sel(name=f"{name} charge", drop=True)
                    - spec["eta_discharge"] * lp.sel(name=f"{name} discharge", drop=True)
                    == 0,
                    name=f"{name}-one-converter",
                )
        for gen, unit, factor in built.couplings:
            m.add_constraints(
                m["Generator-p_nom"].sel(name=gen, drop=True)
                - factor * m["StorageUnit-p_nom"].sel(name=unit, drop=True)
                == 0,
                name=f"{gen}-coupling",
            )
        if cap_t is not None:
            expr = _emissions_expr(m, built, sns)
            if expr is not None:
                m.add_constraints(expr <= cap_t, name="carbon-cap")
            elif cap_t < 0:  # pragma: no cover - config forbids negative caps
                raise QscaleUserError("carbon cap must be >= 0")
        if max_unserved is not None:
            shed = m["Generator-p"].sel(name="unserved", drop=True)
            demand = float(sum(v.sum() for v in built.inputs.loads_mw.values())) * built.weight
            m.add_constraints((shed * built.weight).sum() <= max_unserved * demand, name="max-unserved")

    return extra


@contextlib.contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """Send file-descriptor-level stdout to stderr: HiGHS prints its banner from C, which would break --json."""
    sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:  # no real stdout (embedded use): nothing to protect
        yield
        return
    try:
        os.dup2(2, 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def _optimize(built: Built, cap_t, max_unserved, threads: int) -> tuple[str, str, float]:
    n = built.network
    t0 = time.perf_counter()
    for name in ("pypsa", "linopy"):
        logging.getLogger(name).setLevel(logging.ERROR)
    with warnings.catch_warnings(), stdout_to_stderr():
        warnings.simplefilter("ignore")
        status, condition = n.optimize(
            solver_name="highs",
            extra_functionality=add_constraints(built, cap_t, max_unserved),
            # dual simplex with automatic objective scaling: on the 8760-hour campus it beat HiGHS's
            # interior point 2-6x here (costs span 1e1-1e6 $/unit, which the scaling tames)
            solver_options={
                "solver": "simplex",
                "user_objective_scale": -1,
                "threads": threads,
                "output_flag": False,
                "random_seed": 0,
            },
            progress=False,
            io_api="direct",  # hand the model to highspy in memory, skipping an LP file
        )
    return str(status), str(condition), time.perf_counter() - t0


def _feasible(condition: str, status: str) -> bool:
    return status == "ok" and condition == "optimal"


def solve(built: Built, cap_t: float | None, max_unserved: float | None, threads: int = 2, rebuild=None) -> SolveInfo:
    """Optimise; on infeasibility raise SiteInfeasibleError naming the user constraint(s) to blame.

    `rebuild(drop)` must return a fresh Built without the named user constraint (used only to diagnose).
    """
    from importlib.metadata import version

    status, condition, seconds = _optimize(built, cap_t, max_unserved, threads)
    solver = f"HiGHS {version('highspy')} via PyPSA {version('pypsa')} (dual simplex)"
    if not _feasible(condition, status):
        if "infeasible" not in condition:
            raise RuntimeError(f"solver finished with status {status!r}, condition {condition!r}")
        raise SiteInfeasibleError(diagnose(built, cap_t, max_unserved, threads, rebuild))
    shadow = None
    if cap_t is not None and "carbon-cap" in built.network.model.constraints:
        dual = built.network.model.constraints["carbon-cap"].dual
        shadow = float(-np.asarray(dual)) if dual is not None else None
    return SolveInfo(status, condition, seconds, solver, shadow)


def _active(built: Built, cap_t, max_unserved, rebuild) -> list[str]:
    active = []
    if cap_t is not None:
        active.append("carbon cap")
    if max_unserved is not None:
        active.append("max unserved fraction")
    if rebuild is not None:
        active += [c for c in ("max import", "minimum capacities") if rebuild.has(c)]
    return active


def diagnose(built: Built, cap_t, max_unserved, threads: int, rebuild) -> str:
    """Which user constraint makes the problem infeasible: drop each in turn and re-solve."""
    active = _active(built, cap_t, max_unserved, rebuild)
    labels = {
        "carbon cap": f"the carbon cap of {cap_t:g} t/yr" if cap_t is not None else "",
        "max unserved fraction": f"the max unserved fraction of {max_unserved:g}" if max_unserved is not None else "",
        "max import": "the grid import limit",
        "minimum capacities": "the minimum capacities (min_mw)",
    }
    if not active:
        return "infeasible: no solution exists even without user constraints (check the technology bounds)"
    culprits = []
    for drop in active:
        if rebuild is None:
            continue
        trial = rebuild(drop)
        c = None if drop == "carbon cap" else cap_t
        u = None if drop == "max unserved fraction" else max_unserved
        status, condition, _ = _optimize(trial, c, u, threads)
        if _feasible(condition, status):
            culprits.append(drop)
    techs = ", ".join(sorted(set(built.network.generators.carrier) - {"unserved", "parasitic"}) or ["none"])
    if len(active) == 1:
        return f"infeasible: {labels[active[0]]} cannot be met with the allowed technologies ({techs})"
    together = " together with ".join(labels[a] for a in active)
    if culprits:
        fix = " or ".join(labels[c] for c in culprits)
        return (
            f"infeasible: {together} cannot all be met with the allowed technologies ({techs}); "
            f"dropping {fix} makes it feasible"
        )
    return f"infeasible: {together} cannot all be met with the allowed technologies ({techs})"
