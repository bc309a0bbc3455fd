"""Study stage: the campus that would run this at scale (PyPSA + HiGHS) and seconds-scale swing smoothing."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from qscale.figures import Table
from qscale.study.config import Strict, StudySection
from qscale.study.registry import Stage
from qscale.study.stage import StageOutput


class SiteStage(Strict):
    """Defaults: the default campus of `qscale site` for a year of hours, and `qscale stabilize`'s swing."""

    enabled: bool = True
    hours: int = Field(8760, ge=24, le=8760)
    year: int = Field(2030, ge=2025, le=2050)
    cost_case: Literal["advanced", "moderate", "conservative"] = "moderate"
    carbon_price_usd_per_t: float | None = Field(None, ge=0)
    carbon_cap_t_per_year: float | None = Field(None, ge=0)  # a cap instead of a price (sweeps: cost vs cap)
    stabilize_technologies: list[Literal["smes", "li-ion", "flywheel", "supercapacitor"]] = Field(
        default_factory=lambda: ["smes", "li-ion"]
    )
    stabilize_duration_s: float = Field(60.0, gt=0, le=3600)
    # tipping points: the carbon price at which each technology first gets > 1 MW (bisection on full solves)
    tipping_technologies: list[Literal["smr", "fusion", "wind", "solar", "gas", "li-ion", "smes", "flywheel"]] = Field(
        default_factory=lambda: ["smr", "fusion", "wind"]
    )
    tipping_range_usd_per_t: tuple[float, float] = (0.0, 1000.0)
    # the study brackets to 5 % (two full-year solves fewer per technology than the CLI's 2 %)
    tipping_tolerance: float = Field(0.05, gt=0.0, lt=1.0)

    @model_validator(mode="after")
    def _cap_or_price(self) -> SiteStage:
        if self.carbon_cap_t_per_year is not None and self.carbon_price_usd_per_t is not None:
            raise ValueError("give carbon_cap_t_per_year or carbon_price_usd_per_t, not both")
        lo, hi = self.tipping_range_usd_per_t
        if not 0 <= lo < hi:
            raise ValueError(f"tipping_range_usd_per_t needs 0 <= low < high, got {lo:g}, {hi:g}")
        return self

    def quick(self) -> SiteStage:
        return self.model_copy(update={"hours": min(self.hours, 168), "stabilize_duration_s": 20.0})


def tipping_points(cfg: SiteStage, site_cfg, progress, solved: dict | None = None) -> dict[str, dict]:
    """Each technology's tipping point over the carbon price, on the stage's horizon; solves are shared."""
    from qscale.grid.tipping import Points, prepared, tipping_point

    if not cfg.tipping_technologies:
        return {}
    base = site_cfg.model_copy(update={"carbon": site_cfg.carbon.model_copy(update={"price_usd_per_t": None})})
    if base.carbon.cap_t_per_year is not None:
        return {}  # a capped campus has its own carbon price (the cap's shadow price): no price sweep
    swept = prepared(base, list(cfg.tipping_technologies), "carbon_price")
    points = Points(swept, "carbon_price", "", progress)
    if solved is not None and swept.supply == site_cfg.supply:  # the stage's own solve is a point of the sweep
        points.record(site_cfg.carbon.price_usd_per_t or 0.0, solved)
    out = {}
    for tech in cfg.tipping_technologies:
        progress(f"site: tipping point of {tech} over the carbon price")
        out[tech] = tipping_point(
            base, tech, "carbon_price", cfg.tipping_range_usd_per_t, progress, points, cfg.tipping_tolerance
        )
    return out


def tipping_table(tipping: dict[str, dict], cfg: SiteStage) -> Table:
    lo, hi = cfg.tipping_range_usd_per_t
    rows = []
    for tech, t in tipping.items():
        value = f"{t['value']:.3g}" if t["value"] is not None else f"none in {lo:g}-{hi:g}"
        mix = ", ".join(f"{k} {v:.3g}" for k, v in (t.get("mix_above") or {}).items()) or "-"
        rows.append([tech, value, str(t["solves"]), mix, t.get("note", "")])
    return Table(
        f"Carbon price (USD/t) at which each technology first gets > 1 MW, {cfg.hours} h horizon, bisection to "
        f"{cfg.tipping_tolerance:.0%} "
        "(projected)",
        ["technology", "tipping point $/t", "solves", "mix just above (MW)", "note"],
        rows,
    )


def run(cfg: SiteStage, study: StudySection, progress) -> StageOutput:
    from qscale.grid.config import load_site_config
    from qscale.grid.plots import site_figures, stabilize_figure
    from qscale.grid.site import run_site
    from qscale.grid.stabilize import run_stabilize
    from qscale.grid.swing import default_swing_spec

    overrides: dict = {"run": {"hours": cfg.hours, "year": cfg.year, "cost_case": cfg.cost_case, "seed": study.seed}}
    if cfg.carbon_price_usd_per_t is not None:
        overrides["carbon"] = {"price_usd_per_t": cfg.carbon_price_usd_per_t}
    if cfg.carbon_cap_t_per_year is not None:
        overrides["carbon"] = {"cap_t_per_year": cfg.carbon_cap_t_per_year}
    site_cfg = load_site_config(None, overrides)
    progress(f"site: capacity expansion over {cfg.hours} hours")
    outcome = run_site(site_cfg, progress)
    summary = outcome.to_json()
    tipping = tipping_points(cfg, site_cfg, progress, summary)
    progress("site: power-swing smoothing")
    spec = default_swing_spec(duration_s=cfg.stabilize_duration_s, seed=study.seed)
    smoothing = run_stabilize(spec, technologies=tuple(cfg.stabilize_technologies))
    swing, traces = smoothing.to_json(), smoothing.traces

    cap_rows = [[name, f"{mw:.1f}"] for name, mw in summary["capacities_mw"].items() if mw > 0.05]
    cost_rows = [
        ["cost per MWh delivered", f"{summary['cost_per_mwh']:.1f} $/MWh"],
        ["total cost per year", f"{summary['total_cost_per_year'] / 1e6:.1f} M$"],
        ["emissions", f"{summary['co2_t_per_year'] / 1e3:.1f} kt CO2/yr"],
        ["unserved energy", f"{summary['unserved_mwh']:.1f} MWh"],
        ["solve time", f"{summary['solve_seconds']:.1f} s (measured)"],
    ]
    techs = swing.get("technologies", swing)
    stab_rows = [
        [
            name,
            f"{r['required_power_mw']:.1f}",
            f"{r['required_energy_mwh'] * 1e3:.1f}",
            f"{r['max_ramp_mw_per_s']:.2f}",
            f"{r['losses_mwh']:.3f}",
        ]
        for name, r in techs.items()
        if isinstance(r, dict) and r.get("meets_limits")
    ]
    return StageOutput(
        name="site",
        title="Energy infrastructure: campus supply mix and power-swing smoothing",
        summary={"site": summary, "stabilize": swing, "tipping": tipping},
        figures=[*site_figures(outcome), stabilize_figure(swing, traces)],
        tables=[
            Table("Optimal capacities (projected)", ["technology", "MW"], cap_rows),
            Table(
                "Campus costs and emissions (projected; inputs assumed, sources in qscale/grid/data)",
                ["figure", "value"],
                cost_rows,
            ),
            tipping_table(tipping, cfg),
            Table(
                f"Storage to smooth a {spec.cluster_mw:.0f} MW cluster swinging ±{spec.swing:.0%} every "
                f"{spec.period_s:g} s (projected)",
                ["technology", "power MW", "energy kWh", "max grid ramp MW/s", "losses MWh"],
                stab_rows,
            ),
        ],
        notes=[
            "Costs, capacities and emissions are projections of an optimisation model over assumed technology "
            "data (NREL ATB and the sources in qscale/grid/data), not measurements."
        ],
    )


STAGE = Stage("site", SiteStage, run)
