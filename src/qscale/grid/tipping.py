"""Campus tipping points: the carbon price (or the loosest carbon cap, or the capital cost) at which a technology
first gets capacity in the least-cost build.

Why bisection on full solves: entry is a property of the whole least-cost build (storage, imports and the other
technologies all move), so each probe point is one complete `run_site` solve; capacity is monotone in the swept
value for a linear program (a higher carbon price or a lower capital cost never makes a technology less
attractive), so bisection to 2 % finds the edge. A carbon-price bracket is split at its geometric mean (one
that starts at zero first at a thousandth of its top): prices that tip a build span decades, and the tolerance
is relative, so halving the bracket's ratio rather than its width reaches it in ~8 full solves over three
decades instead of ~11. Caps and capital costs tip within the same decade as their range: plain halving.
Solves at the same point are shared between technologies.
For a carbon cap the LP's own dual (SolveInfo.carbon_shadow_price) is the carbon price the cap implies; the
cap sweep reports it beside the value. The same idea is used in PyPSA studies of clean-electricity procurement
(Riepin & Brown, 24/7 carbon-free electricity, github.com/PyPSA/247-cfe; Xu et al., Princeton ZERO Lab, 2021).
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from typing import Any

from qscale.errors import QscaleUserError
from qscale.grid.config import TECHNOLOGIES, SiteConfig
from qscale.grid.techdata import TechData, load_techdata

ENTER_MW = 1.0  # a technology "enters" the build above this capacity (MW): below is solver dust or rounding
TOLERANCE = 0.02  # relative width of the final bracket
OVERS = ("carbon_price", "carbon_cap", "capex:TECH")
CAPEX_KEY = "capex_usd_per_kw"
UNITS = {"carbon_price": "USD/t CO2", "carbon_cap": "t CO2/yr", "capex": "USD/kW"}
DEFAULT_PRICE_RANGE = (0.0, 1000.0)
ZERO_FLOOR = 1e-3  # a bracket [0, x] is first split at x * ZERO_FLOOR (then geometrically)
MAX_PROBES = 60  # a value at 0+ would otherwise be chased forever


def split_point(a: float, b: float) -> float:
    """The geometric mean of a bracket (both ends > 0), else a thousandth of its top."""
    lo, hi = sorted((a, b))
    return math.sqrt(lo * hi) if lo > 0 else hi * ZERO_FLOOR


def known_technologies() -> list[str]:
    """Every technology of the site model that can be built (the grid connection is always there)."""
    return [t for t in TECHNOLOGIES if t != "grid"]


def parse_over(over: str, tech: str) -> str:
    """Check `over` ("carbon_price", "carbon_cap" or "capex:TECH") and return its kind."""
    kind, _, target = over.partition(":")
    if kind == "capex":
        if target != tech:
            raise QscaleUserError(f"--over capex:{target or '?'} must name the technology of --tipping ({tech})")
        return "capex"
    if over not in ("carbon_price", "carbon_cap"):
        raise QscaleUserError(f"unknown --over {over!r}; known: {', '.join(OVERS)}")
    return over


def parse_range(text: str | None) -> tuple[float, float] | None:
    """'LO,HI' -> (LO, HI) with 0 <= LO < HI."""
    if text is None:
        return None
    parts = [x.strip() for x in text.split(",")]
    try:
        lo, hi = (float(x) for x in parts)
    except ValueError:
        raise QscaleUserError(f"--range must be 'LO,HI' (two numbers), got {text!r}") from None
    if not (lo >= 0 and hi > lo) or hi == float("inf"):
        raise QscaleUserError(f"--range needs 0 <= LO < HI (finite), got {lo:g},{hi:g}")
    return lo, hi


class Points:
    """Full least-cost solves at swept values, cached so that several technologies share them."""

    def __init__(self, cfg: SiteConfig, kind: str, tech: str, progress: Callable[[str], None]) -> None:
        self.cfg, self.kind, self.tech, self.say = cfg, kind, tech, progress
        self.td = load_techdata(cfg.run.year, cfg.run.cost_case)
        self.results: dict[float, dict[str, Any]] = {}
        self.solve_s = 0.0

    def _config(self, x: float) -> tuple[SiteConfig, TechData | None]:
        carbon = self.cfg.carbon
        td = None
        if self.kind == "carbon_price":
            carbon = carbon.model_copy(update={"price_usd_per_t": x, "cap_t_per_year": None})
        elif self.kind == "carbon_cap":
            carbon = carbon.model_copy(update={"cap_t_per_year": x, "price_usd_per_t": None})
        else:
            td = copy.deepcopy(self.td)
            td.by_name(self.tech).params[CAPEX_KEY] = x
        return self.cfg.model_copy(update={"carbon": carbon}), td

    def record(self, x: float, r: dict[str, Any]) -> None:
        """Keep a solve made elsewhere at x (a `run_site` report of the same config) so it is not repeated."""
        shadow = r.get("carbon", {}).get("cap_shadow_price_usd_per_t")
        self.results[x] = {"capacities_mw": r["capacities_mw"], "co2_t_per_year": r["co2_t_per_year"],
                           "total_cost_per_year": r["total_cost_per_year"],
                           "carbon_shadow_price_usd_per_t": shadow}  # fmt: skip

    def at(self, x: float) -> dict[str, Any]:
        if x not in self.results:
            from qscale.grid.site import run_site

            cfg, td = self._config(x)
            r = run_site(cfg, techdata=td).to_json()
            self.solve_s += r["solve_seconds"]
            self.record(x, r)
            self.say(f"tipping: {self.kind} = {x:.6g}: " + ", ".join(
                f"{k} {v:.1f}" for k, v in r["capacities_mw"].items() if v > 0.05))  # fmt: skip
        return self.results[x]


def prepared(cfg: SiteConfig, techs: list[str], kind: str) -> SiteConfig:
    """`cfg` with every technology of `techs` allowed, and the carbon setting the sweep replaces cleared."""
    allowed = list(cfg.supply.technologies) + [t for t in techs if t not in cfg.supply.technologies]
    supply = cfg.supply.model_copy(update={"technologies": allowed})
    carbon = cfg.carbon
    if kind == "carbon_cap" and carbon.price_usd_per_t is not None:
        raise QscaleUserError("--over carbon_cap sweeps the cap: do not also give a carbon price")
    if kind == "carbon_price" and carbon.cap_t_per_year is not None:
        raise QscaleUserError("--over carbon_price sweeps the price: do not also give a carbon cap")
    return cfg.model_copy(update={"supply": supply, "carbon": carbon})


def check_tech(tech: str) -> None:
    if tech not in known_technologies():
        raise QscaleUserError(f"unknown --tipping technology {tech!r}; known: {', '.join(known_technologies())}")


def tipping_point(
    cfg: SiteConfig,
    tech: str,
    over: str = "carbon_price",
    value_range: tuple[float, float] | None = None,
    progress: Callable[[str], None] | None = None,
    points: Points | None = None,
    tolerance: float = TOLERANCE,
) -> dict[str, Any]:
    """The smallest carbon price (largest cap, largest capital cost) at which `tech` gets > 1 MW, to `tolerance`
    (relative width of the final bracket; each halving is one full solve)."""
    check_tech(tech)
    kind = parse_over(over, tech)
    say = progress or (lambda _msg: None)
    t0 = time.perf_counter()
    pts = points or Points(prepared(cfg, [tech], kind), kind, tech, say)
    cfg = pts.cfg
    td_tech = pts.td.by_name(tech)
    if kind == "capex" and (td_tech is None or CAPEX_KEY not in td_tech.params):
        with_capex = [t.name for t in pts.td.techs.values() if CAPEX_KEY in t.params]
        raise QscaleUserError(f"--over capex:{tech}: the cost model has no single {CAPEX_KEY} for {tech} (it has "
                              f"one for {', '.join(with_capex)})")  # fmt: skip
    out: dict[str, Any] = {
        "technology": tech, "over": over, "unit": UNITS[kind], "enter_mw": ENTER_MW, "tolerance": tolerance,
        "year": cfg.run.year, "hours": cfg.run.hours, "cost_case": cfg.run.cost_case, "kind": "projected",
    }  # fmt: skip
    if td_tech is None or not td_tech.available:
        note = td_tech.note if td_tech is not None else f"{tech} is not in the technology table"
        return out | {"value": None, "range": list(value_range or DEFAULT_PRICE_RANGE), "solves": 0,
                      "mix_above": None, "note": note, "seconds": time.perf_counter() - t0}  # fmt: skip
    lo, hi = value_range or _default_range(kind, pts, td_tech.params.get(CAPEX_KEY))
    rising = kind == "carbon_price"  # enters as the value rises; a cap or a capital cost enters as it falls

    asked: set[float] = set()

    def entered(x: float) -> bool:
        asked.add(x)
        return pts.at(x)["capacities_mw"].get(tech, 0.0) > ENTER_MW

    good, bad = (hi, lo) if rising else (lo, hi)
    out["range"] = [lo, hi]
    if hi <= lo:  # e.g. a campus that emits nothing without a cap: there is no cap to sweep
        out |= {"value": None, "note": f"empty range {lo:g}-{hi:g}: nothing to sweep"}
    elif not entered(good):
        out |= {"value": None, "note": f"{tech} stays at or below {ENTER_MW:g} MW over the whole range"}
    elif entered(bad):
        out |= {"value": bad, "note": f"{tech} already has more than {ENTER_MW:g} MW at the range's end {bad:g}"}
        good = bad
    else:
        while abs(good - bad) > tolerance * max(abs(good), abs(bad)) and len(asked) < MAX_PROBES:
            mid = split_point(good, bad) if kind == "carbon_price" else 0.5 * (good + bad)
            if entered(mid):
                good = mid
            else:
                bad = mid
        out |= {"value": good, "below": bad}
    if out["value"] is not None:
        above = pts.at(good)
        out["mix_above"] = {k: v for k, v in above["capacities_mw"].items() if v > 0.05}
        if above.get("carbon_shadow_price_usd_per_t") is not None:
            out["carbon_shadow_price_usd_per_t"] = above["carbon_shadow_price_usd_per_t"]
    else:
        out["mix_above"] = None
    out["solves"] = len(asked)
    out["points"] = [{"value": x, "capacity_mw": pts.at(x)["capacities_mw"].get(tech, 0.0)} for x in sorted(asked)]
    out["seconds"] = time.perf_counter() - t0
    return out


def _default_range(kind: str, pts: Points, capex: float | None) -> tuple[float, float]:
    if kind == "carbon_price":
        return DEFAULT_PRICE_RANGE
    if kind == "capex":
        return 0.0, float(capex or 0.0)
    # carbon cap: from zero to what the campus emits with no cap and no price (the cap that does not bind)
    free = pts.cfg.model_copy(update={"carbon": pts.cfg.carbon.model_copy(update={"cap_t_per_year": None})})
    from qscale.grid.site import run_site

    r = run_site(free).to_json()
    hi = float(r["co2_t_per_year"])
    pts.record(hi, r)  # a cap at the uncapped emissions does not bind: the same build, no second solve
    return 0.0, hi
