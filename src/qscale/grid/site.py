"""`qscale site` as a function: config -> network -> HiGHS -> results (and the solved network for plots)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from qscale.grid.config import SiteConfig
from qscale.grid.network import Built, Inputs, build_network, make_inputs
from qscale.grid.results import summarise
from qscale.grid.solve import solve
from qscale.grid.techdata import TechData, load_techdata
from qscale.io import Result


@dataclass
class SiteResult(Result):
    """`run_site`'s answer: the `qscale site` JSON, and the solved network, config and technology data for plots."""

    built: Built = field(repr=False, kw_only=True)
    config: SiteConfig = field(repr=False, kw_only=True)
    techdata: TechData = field(repr=False, kw_only=True)

    def write_plots(self, folder: Path) -> None:
        """Write the campus figures as PNGs into `folder` and list their paths in the report under `plots`."""
        from qscale.grid.plots import site_figures, write_figures

        self.report["plots"] = write_figures(site_figures(self), folder, "site")


class _Rebuilder:
    """Fresh networks for infeasibility diagnosis, each without one user constraint."""

    def __init__(self, cfg: SiteConfig, td: TechData, inputs: Inputs) -> None:
        self.cfg, self.td, self.inputs = cfg, td, inputs

    def has(self, name: str) -> bool:
        if name == "max import":
            return self.cfg.supply.max_import_mw is not None
        if name == "minimum capacities":
            return bool(self.cfg.supply.min_mw)
        return False

    def __call__(self, drop: str) -> Built:
        supply = self.cfg.supply
        if drop == "max import":
            supply = supply.model_copy(update={"max_import_mw": None})
        elif drop == "minimum capacities":
            supply = supply.model_copy(update={"min_mw": {}})
        return build_network(self.cfg.model_copy(update={"supply": supply}), self.td, self.inputs)


def run_site(
    cfg: SiteConfig, progress: Callable[[str], None] | None = None, techdata: TechData | None = None
) -> SiteResult:
    """Capacity expansion and hourly dispatch for the campus in `cfg`; raises SiteInfeasibleError with a reason.

    `techdata` replaces the year's technology table (a tipping point over a capital cost edits one figure)."""
    say = progress or (lambda _msg: None)
    td = techdata or load_techdata(cfg.run.year, cfg.run.cost_case)
    inputs = make_inputs(cfg, td)
    built = build_network(cfg, td, inputs)
    say(f"site: {cfg.run.hours} hourly snapshots, {len(built.network.generators)} generators, solving with HiGHS")
    info = solve(
        built,
        cfg.carbon.cap_t_per_year,
        cfg.reliability.max_unserved_fraction,
        cfg.run.threads,
        rebuild=_Rebuilder(cfg, td, inputs),
    )
    say(f"site: solved in {info.seconds:.1f} s")
    return SiteResult(summarise(built, cfg, td, info), built=built, config=cfg, techdata=td)
