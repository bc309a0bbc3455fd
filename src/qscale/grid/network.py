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
from qscale.grid.techdata import Tech, TechData

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


SUPPLY_KINDS = ("import", "generator")
STORAGE_KINDS = ("storage_unit", "store")


def build_network(cfg: SiteConfig, td: TechData, inputs: Inputs) -> Built:
    """The PyPSA network for `cfg` with costs from `td` and profiles from `inputs`.

    Driven by the technology table: each chosen, available technology is built by the function of its
    `kind` (technologies.toml), so a new technology of a known kind is a table entry, not code. Supply comes
    first, then load shedding, then storage, then the speculative Rydberg store (user parameters only).
    """
    import pypsa

    warnings.filterwarnings("ignore", category=FutureWarning, module="pypsa")  # pandas-3 string dtype notice
    r = cfg.run
    n = pypsa.Network()
    n.set_snapshots(pd.date_range(f"{td.year}-01-01", periods=r.hours, freq="h") + pd.Timedelta(hours=r.start_hour))
    weight = 8760.0 / r.hours
    n.snapshot_weightings = pd.DataFrame(
        {"objective": weight, "stores": 1.0, "generators": weight}, index=n.snapshots, dtype=float
    )
    supply = [t for t in td.techs.values() if t.kind in SUPPLY_KINDS]
    storage = [t for t in td.techs.values() if t.kind in STORAGE_KINDS]
    carriers = ["AC", "load", *(t.name for t in supply), "unserved", "parasitic", *(t.name for t in storage)]
    n.add("Carrier", [*carriers, "rydberg"])
    n.add("Bus", BUS, carrier="AC")
    carbon_price = cfg.carbon.price_usd_per_t or 0.0
    voll = cfg.reliability.voll_usd_per_mwh or td.techs["reliability"].params["voll_usd_per_mwh"]
    built = Built(n, inputs, weight, carbon_price=carbon_price, voll=voll)
    for name, p in inputs.loads_mw.items():
        n.add("Load", name, bus=BUS, p_set=p, carrier="load")

    chosen = set(cfg.supply.technologies)
    for tech in supply:
        if tech.name in chosen and _available(built, tech):
            _BUILDERS[tech.kind](built, cfg, td, tech)
    n.add("Generator", "unserved", bus=BUS, carrier="unserved", p_nom=_peak_load(inputs), marginal_cost=voll)
    for tech in storage:
        if tech.name in chosen and _available(built, tech):
            _BUILDERS[tech.kind](built, cfg, td, tech)
    ryd = check_rydberg(cfg.rydberg)
    if ryd is not None:
        _add_store(built, td, "rydberg", ryd, {})
    return built


def _available(built: Built, tech: Tech) -> bool:
    """Whether the chosen year has the technology; if not, the reason goes into the results' notes."""
    if not tech.available:
        built.unavailable[tech.key] = tech.note
    return tech.available


def _peak_load(inputs: Inputs) -> float:
    return float(sum(inputs.loads_mw.values(), np.zeros(len(inputs.grid_price))).max())


def _add_import(built: Built, cfg: SiteConfig, td: TechData, tech: Tech) -> None:
    """Grid import at the hourly price (plus the carbon price on its hourly intensity).

    With a connection charge or user bounds the rating is optimised (capped by the import limit);
    otherwise a fixed rating (the limit, or more than the campus can ever draw) keeps the LP small.
    """
    n, inputs = built.network, built.inputs
    conn = cfg.supply.import_connection_usd_per_kw_year
    conn = tech.params["connection_usd_per_kw_year"] if conn is None else conn
    price = inputs.grid_price + built.carbon_price * inputs.grid_co2
    bounds = _bounds(cfg, tech.name)
    limit = _import_limit(cfg)
    if conn > 0 or bounds:
        bounds["p_nom_max"] = min(limit, bounds.get("p_nom_max", math.inf))
        n.add(
            "Generator", tech.name, bus=BUS, carrier=tech.name, p_nom_extendable=True, capital_cost=conn * 1000.0,
            marginal_cost=price, **bounds,
        )
    else:
        rating = limit if math.isfinite(limit) else 10.0 * _peak_load(inputs) + 1.0
        n.add("Generator", tech.name, bus=BUS, carrier=tech.name, p_nom=rating, marginal_cost=price)
    built.emission_factors[tech.name] = inputs.grid_co2


def _add_generator(built: Built, cfg: SiteConfig, td: TechData, tech: Tech) -> None:
    """A dispatchable or weather-bound plant; every option comes from the fields its table entry has."""
    p = tech.params
    co2 = p["co2_kg_per_mmbtu"] / 1000.0 * MMBTU_PER_MWH / p["efficiency"] if "co2_kg_per_mmbtu" in p else 0.0
    fuel = p["fuel_usd_per_mmbtu"] * MMBTU_PER_MWH / p["efficiency"] if "fuel_usd_per_mmbtu" in p else 0.0
    marginal = p.get("vom_usd_per_mwh", 0.0) + p.get("fuel_usd_per_mwh", 0.0) + fuel + built.carbon_price * co2
    opts: dict = {}
    if tech.profile is not None:
        opts["p_max_pu"] = _profile(built.inputs, tech.profile)
    elif "availability" in p:
        opts["p_max_pu"] = p["availability"]
    if "min_load" in p:
        opts["p_min_pu"] = p["min_load"]
    if "ramp_pct_per_min" in p:
        ramp = min(1.0, p["ramp_pct_per_min"] / 100.0 * 60.0)  # per hourly snapshot, as a fraction of p_nom
        if ramp < 1.0:
            opts |= {"ramp_limit_up": ramp, "ramp_limit_down": ramp}
    if "module_mw" in p and cfg.run.smr_integer_modules:
        opts["p_nom_mod"] = p["module_mw"]  # whole modules: a MILP
    built.network.add(
        "Generator",
        tech.name,
        bus=BUS,
        carrier=tech.name,
        p_nom_extendable=True,
        capital_cost=td.annual_per_mw(p["capex_usd_per_kw"], p["lifetime_years"], p["fom_pct_per_year"]),
        marginal_cost=marginal,
        **opts,
        **_bounds(cfg, tech.name),
    )
    if co2:
        built.emission_factors[tech.name] = co2


def _profile(inputs: Inputs, name: str) -> np.ndarray:
    profiles = {"solar": inputs.solar_cf, "wind": inputs.wind_cf}
    if name not in profiles:
        raise ValueError(f"technology data: unknown profile {name!r} (known: {', '.join(profiles)})")
    return profiles[name]


def _add_storage_unit(built: Built, cfg: SiteConfig, td: TechData, tech: Tech) -> None:
    """Storage with a fixed energy-to-power ratio; a cryoplant fraction adds a parasitic load tied to its rating."""
    n, p, name = built.network, tech.params, tech.name
    eta = math.sqrt(p["round_trip_efficiency"])
    capex_kw = p["power_usd_per_kw"] + p["max_hours"] * p.get("energy_usd_per_kwh", 0.0)
    opts = {"standing_loss": p["standing_loss_per_hour"]} if "standing_loss_per_hour" in p else {}
    n.add(
        "StorageUnit",
        name,
        bus=BUS,
        carrier=name,
        p_nom_extendable=True,
        max_hours=p["max_hours"],
        efficiency_store=eta,
        efficiency_dispatch=eta,
        cyclic_state_of_charge=True,
        capital_cost=td.annual_per_mw(capex_kw, p["lifetime_years"], p["fom_pct_per_year"]),
        **opts,
        **_bounds(cfg, name),
    )
    if "cryoplant_fraction_of_power" in p:
        plant = f"{name} cryoplant"
        n.add(
            "Generator", plant, bus=BUS, carrier="parasitic", sign=-1, p_nom_extendable=True, p_min_pu=1.0, p_max_pu=1.0
        )
        built.couplings.append((plant, name, p["cryoplant_fraction_of_power"]))
    built.storage[name] = {"kind": "unit"}


def _add_store_tech(built: Built, cfg: SiteConfig, td: TechData, tech: Tech) -> None:
    _add_store(built, td, tech.name, tech.params, _bounds(cfg, tech.name))


def _add_store(built: Built, td: TechData, name: str, p: dict[str, float], bounds: dict) -> None:
    """Energy (Store on its own bus) and power (charge/discharge Links) sized separately.

    Costs are either a 4-hour system's total split into power and energy parts (`total_usd_per_kwh_4h`,
    `power_share_4h`) or given apart (`power_usd_per_kw`, `energy_usd_per_kwh`); efficiencies either a
    round trip (split evenly) or per direction. The charge Link carries the converter cost; a constraint
    (solve.py) ties the discharge rating to it.
    """
    n = built.network
    if "round_trip_efficiency" in p:
        eta_c = eta_d = math.sqrt(p["round_trip_efficiency"])
    else:
        eta_c, eta_d = p["efficiency_charge"], p["efficiency_discharge"]
    if "total_usd_per_kwh_4h" in p:
        power_kw = p["total_usd_per_kwh_4h"] * 4.0 * p["power_share_4h"]
        energy_kwh = p["total_usd_per_kwh_4h"] * (1.0 - p["power_share_4h"])
    else:
        power_kw, energy_kwh = p["power_usd_per_kw"], p["energy_usd_per_kwh"]
    n.add("Bus", name, carrier=name)
    n.add(
        "Store",
        name,
        bus=name,
        carrier=name,
        e_nom_extendable=True,
        e_cyclic=True,
        standing_loss=p.get("standing_loss_per_hour", 0.0),
        capital_cost=td.annual_per_mw(energy_kwh, p["lifetime_years"], p["fom_pct_per_year"]),
    )
    n.add(
        "Link",
        f"{name} charge",
        bus0=BUS,
        bus1=name,
        carrier=name,
        p_nom_extendable=True,
        efficiency=eta_c,
        capital_cost=td.annual_per_mw(power_kw, p["lifetime_years"], p["fom_pct_per_year"]),
        **bounds,
    )
    n.add("Link", f"{name} discharge", bus0=name, bus1=BUS, carrier=name, p_nom_extendable=True, efficiency=eta_d)
    built.storage[name] = {"kind": "store", "eta_discharge": eta_d}


_BUILDERS = {
    "import": _add_import,
    "generator": _add_generator,
    "storage_unit": _add_storage_unit,
    "store": _add_store_tech,
}
