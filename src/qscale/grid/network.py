"""Build the campus as a one-bus PyPSA network: loads from workloads, supply options, storage, load shedding.

Conventions: MW and MWh; capital_cost is annualised capex plus fixed O&M in $/MW/yr (or $/MWh/yr for
energy); snapshots are hours. A window shorter than a year is scaled to a year in the objective and in
the emission/unserved sums (weight 8760/hours) but not in storage energy, which moves hour by hour.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from qscale.errors import QscaleUserError
from qscale.grid import profiles as prof
from qscale.grid.config import SiteConfig, check_rydberg
from qscale.grid.techdata import TechData

BUS = "campus"
MMBTU_PER_MWH = 3.412142


@dataclass
class Inputs:
    """Everything the network is built from, as arrays over the modelled hours (kept for results/plots)."""

    loads_mw: dict[str, np.ndarray]
    grid_price: np.ndarray
    grid_co2: np.ndarray
    solar_cf: np.ndarray
    wind_cf: np.ndarray
    profile_sources: dict[str, str]


@dataclass
class Built:
    network: object
    inputs: Inputs
    weight: float
    emission_factors: dict[str, np.ndarray | float] = field(default_factory=dict)
    storage: dict[str, dict] = field(default_factory=dict)  # name -> {kind, components}
    couplings: list[tuple[str, str, float]] = field(default_factory=list)  # (generator, storage_unit, factor)
    unavailable: dict[str, str] = field(default_factory=dict)
    carbon_price: float = 0.0
    voll: float = 0.0


def steady_kw_per_system(cfg: SiteConfig) -> float:
    """Steady kW per quantum system: the per-system value, or the hall total spread over the systems.

    This is where qscale.energy's QPU power models can be wired in (kW per system by modality).
    """
    c = cfg.campus
    if c.quantum_total_kw is None:
        return c.quantum_kw_per_system
    if c.quantum_systems == 0:
        if c.quantum_total_kw > 0:
            raise QscaleUserError("campus.quantum_total_kw > 0 needs campus.quantum_systems > 0")
        return 0.0
    return c.quantum_total_kw / c.quantum_systems


def make_inputs(cfg: SiteConfig, td: TechData) -> Inputs:
    """Loads (times PUE) and supply profiles for the modelled window: synthetic defaults or user CSVs."""
    c, r = cfg.campus, cfg.run
    window = slice(r.start_hour, r.start_hour + r.hours)
    loads = {
        "training": prof.training_profile(
            c.training_mw, c.training_outage_every_days, c.training_outage_hours, c.training_outage_level
        ),
        "inference": prof.inference_profile(c.inference_mw, c.inference_min_fraction),
        "quantum": prof.quantum_profile(
            c.quantum_systems, steady_kw_per_system(cfg), c.quantum_burst_kw_per_system, c.quantum_duty, r.seed
        ),
    }
    loads = {k: v[window] * c.pue for k, v in loads.items()}
    tg = td.techs["grid"].params
    sources = {
        "loads": "assumed: synthetic workload profiles (training flat with maintenance windows; inference diurnal, its "
        "power trough from the calibrated serving model, qscale.energy.fleet; "
        "quantum hall steady cryogenics plus job bursts), times PUE",
    }
    if cfg.profiles.grid_csv is not None:
        g = prof.read_profile_csv(
            cfg.profiles.grid_csv,
            {"price_usd_per_mwh": (None, None), "co2_t_per_mwh": (0.0, None)},
            r.hours,
            r.start_hour,
        )
        price, co2 = g["price_usd_per_mwh"], g["co2_t_per_mwh"]
        sources["grid"] = f"user CSV {cfg.profiles.grid_csv}"
    else:
        price = prof.grid_price_profile(tg["price_usd_per_mwh"], r.seed)[window]
        co2 = prof.grid_co2_profile(tg["co2_t_per_mwh"], r.seed)[window]
        sources["grid"] = "assumed: synthetic price and carbon-intensity shapes around the data-file means"
    cf_cols = {"capacity_factor": (0.0, 1.0)}
    if cfg.profiles.solar_csv is not None:
        solar = prof.read_profile_csv(cfg.profiles.solar_csv, cf_cols, r.hours, r.start_hour)["capacity_factor"]
        sources["solar"] = f"user CSV {cfg.profiles.solar_csv}"
    else:
        solar = prof.solar_profile(td.techs["solar"].params["capacity_factor"], r.seed)[window]
        sources["solar"] = "assumed: synthetic 35 N profile scaled to the ATB capacity factor"
    if cfg.profiles.wind_csv is not None:
        wind = prof.read_profile_csv(cfg.profiles.wind_csv, cf_cols, r.hours, r.start_hour)["capacity_factor"]
        sources["wind"] = f"user CSV {cfg.profiles.wind_csv}"
    else:
        wind = prof.wind_profile(td.techs["wind"].params["capacity_factor"], r.seed)[window]
        sources["wind"] = "assumed: synthetic Weibull wind profile scaled to the ATB capacity factor"
    return Inputs(loads, np.asarray(price, float), np.asarray(co2, float), prof.tidy(solar), prof.tidy(wind), sources)


def _import_limit(cfg: SiteConfig) -> float:
    return cfg.supply.max_import_mw if cfg.supply.max_import_mw is not None else math.inf


def _bounds(cfg: SiteConfig, tech: str) -> dict:
    out = {}
    if tech in cfg.supply.min_mw:
        out["p_nom_min"] = cfg.supply.min_mw[tech]
    if tech in cfg.supply.max_mw:
        out["p_nom_max"] = cfg.supply.max_mw[tech]
    return out


def build_network(cfg: SiteConfig, td: TechData, inputs: Inputs) -> Built:
    """The PyPSA network for `cfg` with costs from `td` and profiles from `inputs`."""
    import pypsa

    warnings.filterwarnings("ignore", category=FutureWarning, module="pypsa")  # pandas-3 string dtype notice
    r = cfg.run
    hours = r.hours
    n = pypsa.Network()
    n.set_snapshots(pd.date_range(f"{td.year}-01-01", periods=hours, freq="h") + pd.Timedelta(hours=r.start_hour))
    weight = 8760.0 / hours
    n.snapshot_weightings = pd.DataFrame(
        {"objective": weight, "stores": 1.0, "generators": weight}, index=n.snapshots, dtype=float
    )
    n.add(
        "Carrier",
        [
            "AC",
            "load",
            "grid",
            "smr",
            "fusion",
            "solar",
            "wind",
            "gas",
            "unserved",
            "parasitic",
            "li-ion",
            "smes",
            "flywheel",
            "rydberg",
        ],
    )
    n.add("Bus", BUS, carrier="AC")
    carbon_price = cfg.carbon.price_usd_per_t or 0.0
    voll = cfg.reliability.voll_usd_per_mwh or td.techs["reliability"].params["voll_usd_per_mwh"]
    built = Built(n, inputs, weight, carbon_price=carbon_price, voll=voll)
    techs = set(cfg.supply.technologies)

    total_load = np.zeros(hours)
    for name, p in inputs.loads_mw.items():
        n.add("Load", name, bus=BUS, p_set=p, carrier="load")
        total_load += p

    def avail(key: str) -> bool:
        t = td.techs[key]
        if not t.available:
            built.unavailable[key] = t.note
        return t.available

    if "grid" in techs:
        conn = cfg.supply.import_connection_usd_per_kw_year
        conn = td.techs["grid"].params["connection_usd_per_kw_year"] if conn is None else conn
        price = inputs.grid_price + carbon_price * inputs.grid_co2
        bounds = _bounds(cfg, "grid")
        if conn > 0 or bounds:
            n.add(
                "Generator",
                "grid",
                bus=BUS,
                carrier="grid",
                p_nom_extendable=True,
                capital_cost=conn * 1000.0,
                marginal_cost=price,
                p_nom_max=_import_limit(cfg),
                **bounds,
            )
        else:  # free connection: a fixed rating (the limit, or more than the campus can ever draw) keeps the LP small
            limit = _import_limit(cfg)
            n.add(
                "Generator",
                "grid",
                bus=BUS,
                carrier="grid",
                p_nom=limit if math.isfinite(limit) else 10.0 * float(total_load.max()) + 1.0,
                marginal_cost=price,
            )
        built.emission_factors["grid"] = inputs.grid_co2
    if "smr" in techs and avail("smr"):
        p = td.techs["smr"].params
        ramp = min(1.0, p["ramp_pct_per_min"] / 100.0 * 60.0)  # per hourly snapshot, as a fraction of p_nom
        extra = {"p_nom_mod": p["module_mw"]} if r.smr_integer_modules else {}
        ramp_kw = {"ramp_limit_up": ramp, "ramp_limit_down": ramp} if ramp < 1.0 else {}
        n.add(
            "Generator",
            "smr",
            bus=BUS,
            carrier="smr",
            p_nom_extendable=True,
            capital_cost=td.annual_per_mw(p["capex_usd_per_kw"], p["lifetime_years"], p["fom_pct_per_year"]),
            marginal_cost=p["vom_usd_per_mwh"] + p["fuel_usd_per_mwh"],
            p_min_pu=p["min_load"],
            p_max_pu=p["availability"],
            **ramp_kw,
            **extra,
            **_bounds(cfg, "smr"),
        )
    if "fusion" in techs and avail("fusion"):
        p = td.techs["fusion"].params
        n.add(
            "Generator",
            "fusion",
            bus=BUS,
            carrier="fusion",
            p_nom_extendable=True,
            capital_cost=td.annual_per_mw(p["capex_usd_per_kw"], p["lifetime_years"], p["fom_pct_per_year"]),
            marginal_cost=p["vom_usd_per_mwh"],
            p_max_pu=p["availability"],
            **_bounds(cfg, "fusion"),
        )
    for key, cf in (("solar", inputs.solar_cf), ("wind", inputs.wind_cf)):
        if key in techs and avail(key):
            p = td.techs[key].params
            n.add(
                "Generator",
                key,
                bus=BUS,
                carrier=key,
                p_nom_extendable=True,
                p_max_pu=cf,
                capital_cost=td.annual_per_mw(p["capex_usd_per_kw"], p["lifetime_years"], p["fom_pct_per_year"]),
                marginal_cost=0.0,
                **_bounds(cfg, key),
            )
    if "gas" in techs and avail("gas"):
        p = td.techs["gas"].params
        co2 = p["co2_kg_per_mmbtu"] / 1000.0 * MMBTU_PER_MWH / p["efficiency"]
        fuel = p["fuel_usd_per_mmbtu"] * MMBTU_PER_MWH / p["efficiency"]
        n.add(
            "Generator",
            "gas",
            bus=BUS,
            carrier="gas",
            p_nom_extendable=True,
            capital_cost=td.annual_per_mw(p["capex_usd_per_kw"], p["lifetime_years"], p["fom_pct_per_year"]),
            marginal_cost=p["vom_usd_per_mwh"] + fuel + carbon_price * co2,
            **_bounds(cfg, "gas"),
        )
        built.emission_factors["gas"] = co2
    n.add("Generator", "unserved", bus=BUS, carrier="unserved", p_nom=float(total_load.max()), marginal_cost=voll)

    if "li-ion" in techs and avail("li_ion"):
        p = td.techs["li_ion"].params
        eta = math.sqrt(p["round_trip_efficiency"])
        power_kw = p["total_usd_per_kwh_4h"] * 4.0 * p["power_share_4h"]
        energy_kwh = p["total_usd_per_kwh_4h"] * (1.0 - p["power_share_4h"])
        _add_store(
            n,
            "li-ion",
            eta,
            eta,
            0.0,
            td.annual_per_mw(power_kw, p["lifetime_years"], p["fom_pct_per_year"]),
            td.annual_per_mw(energy_kwh, p["lifetime_years"], p["fom_pct_per_year"]),
            _bounds(cfg, "li-ion"),
        )
        built.storage["li-ion"] = {"kind": "store", "eta_discharge": eta}
    if "smes" in techs and avail("smes"):
        p = td.techs["smes"].params
        eta = math.sqrt(p["round_trip_efficiency"])
        capex_kw = p["power_usd_per_kw"] + p["max_hours"] * p["energy_usd_per_kwh"]
        n.add(
            "StorageUnit",
            "smes",
            bus=BUS,
            carrier="smes",
            p_nom_extendable=True,
            max_hours=p["max_hours"],
            efficiency_store=eta,
            efficiency_dispatch=eta,
            cyclic_state_of_charge=True,
            capital_cost=td.annual_per_mw(capex_kw, p["lifetime_years"], p["fom_pct_per_year"]),
            **_bounds(cfg, "smes"),
        )
        n.add(
            "Generator",
            "smes cryoplant",
            bus=BUS,
            carrier="parasitic",
            sign=-1,
            p_nom_extendable=True,
            p_min_pu=1.0,
            p_max_pu=1.0,
        )
        built.couplings.append(("smes cryoplant", "smes", p["cryoplant_fraction_of_power"]))
        built.storage["smes"] = {"kind": "unit"}
    if "flywheel" in techs and avail("flywheel"):
        p = td.techs["flywheel"].params
        eta = math.sqrt(p["round_trip_efficiency"])
        n.add(
            "StorageUnit",
            "flywheel",
            bus=BUS,
            carrier="flywheel",
            p_nom_extendable=True,
            max_hours=p["max_hours"],
            efficiency_store=eta,
            efficiency_dispatch=eta,
            standing_loss=p["standing_loss_per_hour"],
            cyclic_state_of_charge=True,
            capital_cost=td.annual_per_mw(p["power_usd_per_kw"], p["lifetime_years"], p["fom_pct_per_year"]),
            **_bounds(cfg, "flywheel"),
        )
        built.storage["flywheel"] = {"kind": "unit"}
    ryd = check_rydberg(cfg.rydberg)
    if ryd is not None:
        _add_store(
            n,
            "rydberg",
            ryd["efficiency_charge"],
            ryd["efficiency_discharge"],
            ryd["standing_loss_per_hour"],
            td.annual_per_mw(ryd["power_usd_per_kw"], ryd["lifetime_years"], ryd["fom_pct_per_year"]),
            td.annual_per_mw(ryd["energy_usd_per_kwh"], ryd["lifetime_years"], ryd["fom_pct_per_year"]),
            {},
        )
        built.storage["rydberg"] = {"kind": "store", "eta_discharge": ryd["efficiency_discharge"]}
    return built


def _add_store(
    n, name: str, eta_c: float, eta_d: float, standing: float, power_cost: float, energy_cost: float, bounds: dict
) -> None:
    """Energy (Store on its own bus) and power (charge/discharge Links) sized separately.

    The charge Link carries the converter cost; a constraint (solve.py) ties the discharge rating to it.
    """
    n.add("Bus", name, carrier=name)
    n.add(
        "Store",
        name,
        bus=name,
        carrier=name,
        e_nom_extendable=True,
        e_cyclic=True,
        standing_loss=standing,
        capital_cost=energy_cost,
    )
    n.add(
        "Link",
        f"{name} charge",
        bus0=BUS,
        bus1=name,
        carrier=name,
        p_nom_extendable=True,
        efficiency=eta_c,
        capital_cost=power_cost,
        **bounds,
    )
    n.add("Link", f"{name} discharge", bus0=name, bus1=BUS, carrier=name, p_nom_extendable=True, efficiency=eta_d)
