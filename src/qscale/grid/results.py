"""Turn a solved campus network into the numbers `qscale site` reports (JSON-ready, units in the names).

Annual figures: a window shorter than a year is scaled by 8760/hours (the objective's weighting), so a
one-week run reports per-year costs and emissions for a year that looked like that week.
"""

from __future__ import annotations

import numpy as np

from qscale.grid.network import Built

SUPPLY = ("grid", "smr", "fusion", "solar", "wind", "gas")
SPECULATIVE = "speculative, unverified"
# The model's answers, each labelled "projected" in `kinds` (and flagged when speculative storage was an option).
PROJECTED_OUTPUTS = (
    "capacities_mw",
    "storage_mwh",
    "cost_per_mwh",
    "total_cost_per_year",
    "co2_t_per_year",
    "unserved_mwh",
    "import_share",
    "storage_cycles_per_year",
)
TINY = 1e-4  # MW or MWh: interior-point solutions leave dust on unused options


def _clean(x: float) -> float:
    return 0.0 if abs(x) < TINY else x


def _gen_energy(built: Built) -> dict[str, float]:
    n = built.network
    out = {}
    for name in n.generators.index:
        if name in ("unserved", "smes cryoplant"):
            continue
        out[name] = float(n.generators_t.p[name].sum()) * built.weight
    return out


def dispatch_frame(built: Built):
    """Hourly MW by technology (generation positive, storage charging negative) and the load."""
    import pandas as pd

    n = built.network
    cols: dict[str, np.ndarray] = {}
    for name in n.generators.index:
        if name == "smes cryoplant":
            cols["smes cryoplant"] = -n.generators_t.p[name].to_numpy()
        else:
            cols[name] = n.generators_t.p[name].to_numpy()
    for name, spec in built.storage.items():
        if spec["kind"] == "store":
            cols[f"{name} discharge"] = -n.links_t.p1[f"{name} discharge"].to_numpy()
            cols[f"{name} charge"] = -n.links_t.p0[f"{name} charge"].to_numpy()
        else:
            p = n.storage_units_t.p[name].to_numpy()
            cols[f"{name} discharge"] = np.clip(p, 0.0, None)
            cols[f"{name} charge"] = np.clip(p, None, 0.0)
    frame = pd.DataFrame(cols, index=n.snapshots)
    frame["load"] = sum(built.inputs.loads_mw.values())
    return frame


def balance_residual(built: Built) -> np.ndarray:
    """Supply minus demand at the campus bus in every snapshot (zero up to solver tolerance)."""
    frame = dispatch_frame(built)
    return frame.drop(columns="load").sum(axis=1).to_numpy() - frame["load"].to_numpy()


def summarise(built: Built, cfg, td, info) -> dict:
    """The `qscale site` result: capacities, annual costs, cost per MWh, CO2, import share, unserved, cycling."""
    n = built.network
    w = built.weight
    gens = n.generators
    capacities = {g: _clean(float(gens.at[g, "p_nom_opt"])) for g in gens.index if g in SUPPLY}
    if "grid" in capacities:  # import capacity is free unless a connection charge is set: report the peak used
        capacities["grid"] = _clean(float(n.generators_t.p["grid"].max()))
    storage_mwh: dict[str, float] = {}
    cycles: dict[str, float | None] = {}
    for name, spec in built.storage.items():
        if spec["kind"] == "store":
            power = float(n.links.at[f"{name} charge", "p_nom_opt"])
            energy = float(n.stores.at[name, "e_nom_opt"])
            drawn = float(n.links_t.p0[f"{name} discharge"].sum()) * w
        else:
            power = float(n.storage_units.at[name, "p_nom_opt"])
            energy = power * float(n.storage_units.at[name, "max_hours"])
            drawn = float(n.storage_units_t.p[name].clip(lower=0).sum()) * w
        capacities[name] = _clean(power)
        storage_mwh[name] = _clean(energy)
        cycles[name] = drawn / energy if energy > 1e-3 else None

    breakdown: dict[str, dict[str, float]] = {}

    def add(key: str, capex: float, opex: float) -> None:
        b = breakdown.setdefault(key, {"capex_usd": 0.0, "opex_usd": 0.0})
        b["capex_usd"] += capex
        b["opex_usd"] += opex

    for g in gens.index:
        cap = (
            float(gens.at[g, "capital_cost"]) * float(gens.at[g, "p_nom_opt"])
            if gens.at[g, "p_nom_extendable"]
            else 0.0
        )
        mc = n.get_switchable_as_dense("Generator", "marginal_cost")[g].to_numpy()
        opex = float((mc * n.generators_t.p[g].to_numpy()).sum()) * w
        add("smes" if g == "smes cryoplant" else g, cap, opex)
    for name in n.links.index:
        add(name.rsplit(" ", 1)[0], float(n.links.at[name, "capital_cost"] * n.links.at[name, "p_nom_opt"]), 0.0)
    for name in n.stores.index:
        add(name, float(n.stores.at[name, "capital_cost"] * n.stores.at[name, "e_nom_opt"]), 0.0)
    for name in n.storage_units.index:
        add(name, float(n.storage_units.at[name, "capital_cost"] * n.storage_units.at[name, "p_nom_opt"]), 0.0)

    energy = _gen_energy(built)
    demand = float(sum(v.sum() for v in built.inputs.loads_mw.values())) * w
    unserved = float(n.generators_t.p["unserved"].sum()) * w
    delivered = demand - unserved
    co2_by = {
        g: float((np.asarray(ef) * n.generators_t.p[g].to_numpy()).sum()) * w
        for g, ef in built.emission_factors.items()
    }
    co2 = sum(co2_by.values())
    total = sum(b["capex_usd"] + b["opex_usd"] for b in breakdown.values())
    voll_cost = breakdown.get("unserved", {}).get("opex_usd", 0.0)
    carbon_cost = built.carbon_price * co2
    cost_per_mwh = (total - voll_cost) / delivered if delivered > 0 else None
    peak = float(sum(built.inputs.loads_mw.values()).max())
    result = {
        "command": "site",
        "year": td.year,
        "cost_set": td.cost_set,
        "cost_case": td.case,
        "hours": cfg.run.hours,
        "start_hour": cfg.run.start_hour,
        "annualised_from_hours": cfg.run.hours != 8760,
        "technologies": list(cfg.supply.technologies) + (["rydberg"] if "rydberg" in built.storage else []),
        "unavailable": built.unavailable,
        "capacities_mw": capacities,
        "storage_mwh": storage_mwh,
        "smr_modules": capacities["smr"] / td.techs["smr"].params["module_mw"] if "smr" in capacities else None,
        "total_cost_per_year": total,
        "cost_per_mwh": cost_per_mwh,
        "cost_breakdown_per_year": breakdown,
        "unserved_cost_per_year": voll_cost,
        "carbon_cost_per_year": carbon_cost,
        "co2_t_per_year": co2,
        "co2_t_per_year_by_source": co2_by,
        "co2_kg_per_mwh": co2 * 1000.0 / delivered if delivered > 0 else None,
        "demand_mwh_per_year": demand,
        "delivered_mwh_per_year": delivered,
        "unserved_mwh": unserved,
        "unserved_share": unserved / demand if demand > 0 else 0.0,
        "import_share": energy.get("grid", 0.0) / delivered if delivered > 0 else None,
        "energy_mwh_per_year": energy,
        "storage_cycles_per_year": cycles,
        "load_mw": {
            "peak": peak,
            **{f"{k}_mean": float(v.mean()) for k, v in built.inputs.loads_mw.items()},
        },
        "carbon": {
            "cap_t_per_year": cfg.carbon.cap_t_per_year,
            "price_usd_per_t": cfg.carbon.price_usd_per_t,
            "cap_shadow_price_usd_per_t": info.carbon_shadow_price,
        },
        "voll_usd_per_mwh": built.voll,
        "discount_rate": td.discount_rate,
        "solve_seconds": info.seconds,
        "solver": info.solver,
        "status": info.condition,
    }
    result["kinds"] = {
        **{k: "projected" for k in PROJECTED_OUTPUTS},
        "solve_seconds": "measured",
        "inputs": "assumed",
    }
    result["sources"] = _sources(built, cfg, td)
    result["flags"], result["notes"] = _flags_and_notes(built, cfg, td, capacities)
    if "rydberg" in built.storage:
        result["speculative"] = True
        flagged = [k for k in result["kinds"] if k != "inputs" and k != "solve_seconds"]
        for k in flagged:
            result["kinds"][k] = f"projected; {SPECULATIVE}"
        result["speculative_outputs"] = [*flagged, "cost_breakdown_per_year", "energy_mwh_per_year", "co2_kg_per_mwh"]
    else:
        result["speculative"] = False
    return result


def _sources(built: Built, cfg, td) -> dict:
    out = {"discount_rate": td.sources["discount_rate"], **built.inputs.profile_sources}
    for tech in [*list(cfg.supply.technologies), "reliability"]:
        t = td.by_name(tech)
        if t is not None:
            out[tech] = t.sources
    if "rydberg" in built.storage:
        out["rydberg"] = f"user-set parameters ({SPECULATIVE}): {cfg.rydberg.params}"
    out["pue"] = f"assumed PUE {cfg.campus.pue}"
    from qscale.grid.network import steady_kw_per_system

    out["quantum"] = (
        f"assumed: {cfg.campus.quantum_systems} systems x {steady_kw_per_system(cfg):g} kW steady "
        f"(dilution refrigerator ~10-25 kW, D-Wave 2X ~25 kW) + {cfg.campus.quantum_burst_kw_per_system} kW during jobs"
    )
    return out


def _flags_and_notes(built: Built, cfg, td, capacities: dict) -> tuple[list[str], list[str]]:
    flags, notes = [], []
    if "rydberg" in built.storage:
        flags.append(
            f"{SPECULATIVE}: Rydberg-matter storage was an option in this optimisation with user-set parameters; "
            "its physics is unreplicated and no credible figures exist (a related PLOS ONE paper was retracted in 2019)"
        )
    for tech, cap in capacities.items():
        t = td.by_name(tech)
        if t is not None and t.unverified and cap > 1e-3:
            flags.append(f"{tech} was built using placeholder (unverified) figures from the data file")
    for tech, why in built.unavailable.items():
        notes.append(f"{tech}: {why}")
    if not cfg.run.smr_integer_modules and capacities.get("smr", 0.0) > 1e-3:
        notes.append(
            "SMR capacity is continuous (a share of 77 MWe modules); set run.smr_integer_modules for whole "
            "modules (a MILP, much slower on 8760 hours)"
        )
    if "smes" in built.storage or "flywheel" in built.storage:
        notes.append(
            "SMES and flywheels hold minutes of energy: an hourly model sees little value in them; "
            "their job (smoothing seconds-scale swings) is sized by `qscale stabilize`"
        )
    notes.append("no export: surplus generation is curtailed")
    return flags, notes
