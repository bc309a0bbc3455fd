"""The campus in a future year: energy (IT load grown with demand, plus the quantum hall, times PUE), the
cost of supplying it and its carbon.

Supply is a screening model, not the PyPSA optimum of `qscale site` (8760-hour runs per sample would take
hours): the grid delivers up to its sampled share when it is the cheapest option and the cheapest available
firm on-site option (SMR, fusion, gas) supplies the rest; levelised costs use annuitised capex, fixed and
variable O&M, fuel and the sampled carbon price. Storage for power swings is added as an annual cost.
Carbon is operational (SMR and fusion count as zero).
"""

from __future__ import annotations

import numpy as np

from qscale.outlook import roadmap
from qscale.outlook.sampling import Draws, anchored, two_phase

HOURS = 8760.0
OPTIONS = ("grid", "smr", "fusion", "gas")


def annuity(rate: np.ndarray, years: np.ndarray) -> np.ndarray:
    """Capital recovery factor, element-wise (rate 0 gives 1 / years)."""
    rate = np.asarray(rate, dtype=float)
    safe = np.where(rate > 0, rate, 1.0)
    return np.where(rate > 0, safe / (1.0 - (1.0 + safe) ** -years), 1.0 / years)


def lcoe(capex_usd_per_kw, fom_pct, variable_usd_per_mwh, capacity_factor, crf) -> np.ndarray:
    """Levelised cost (USD/MWh) of a plant run at `capacity_factor`."""
    fixed_usd_per_mw_year = capex_usd_per_kw * 1000.0 * (crf + fom_pct / 100.0)
    return fixed_usd_per_mw_year / (HOURS * capacity_factor) + variable_usd_per_mwh


def supply_costs(d: Draws, year: int) -> tuple[np.ndarray, np.ndarray]:
    """(USD/MWh, tCO2/MWh) of each option per sample, shape (options, samples); inf where unavailable."""
    crf = annuity(d["discount_rate"], d["plant_lifetime_years"])
    price = d["carbon_price_usd_per_t"]
    anchors = [(2025, "grid_co2_2025_t_per_mwh"), (2030, "grid_co2_2030_t_per_mwh"), (2045, "grid_co2_2045_t_per_mwh")]
    grid_co2 = anchored([(y, d[name]) for y, name in anchors], year)
    smr_capex = anchored([(2030, d["smr_capex_2030_usd_per_kw"]), (2040, d["smr_capex_2040_usd_per_kw"])], year)
    heat_rate = d["gas_heat_rate_mmbtu_per_mwh"]
    gas_co2 = heat_rate * d["gas_co2_t_per_mmbtu"]
    cost = np.vstack([
        d["grid_price_usd_per_mwh"] + price * grid_co2,
        lcoe(smr_capex, d["smr_fom_pct"], d["smr_variable_usd_per_mwh"], d["smr_capacity_factor"], crf),
        lcoe(d["fusion_capex_usd_per_kw"], d["fusion_fom_pct"], d["fusion_variable_usd_per_mwh"],
             d["fusion_capacity_factor"], crf),
        lcoe(d["gas_capex_usd_per_kw"], d["gas_fom_pct"], d["gas_fuel_usd_per_mmbtu"] * heat_rate,
             d["gas_capacity_factor"], crf) + price * gas_co2,
    ])  # fmt: skip
    cost[1] = np.where(year >= d["smr_year"], cost[1], np.inf)
    cost[2] = np.where(year >= d["fusion_year"], cost[2], np.inf)
    co2 = np.vstack([grid_co2, np.zeros_like(grid_co2), np.zeros_like(grid_co2), gas_co2])
    return cost, co2


def shares(cost: np.ndarray, grid_share_max: np.ndarray) -> np.ndarray:
    """Share of the energy from each option: grid up to its limit when cheapest, the best on-site for the rest."""
    onsite = cost[1:]
    best = np.argmin(onsite, axis=0) + 1
    grid_first = cost[0] <= onsite.min(axis=0)
    out = np.zeros_like(cost)
    cols = np.arange(cost.shape[1])
    out[0] = np.where(grid_first, grid_share_max, 0.0)
    out[best, cols] += 1.0 - out[0]
    return out


def campus_year(d: Draws, year: int, base_year: int, modality: str) -> dict[str, np.ndarray]:
    """Per-sample campus figures for one year."""
    it_mw = two_phase(d["it_mw_2025"], d["demand_growth_to_2030"], d["demand_growth_after_2030"], year, base_year)
    it_mw = it_mw * d["it_load_factor"]
    qubits = roadmap.qubits_per_system(d, year, base_year)
    per_system_w = roadmap.power_per_system(modality, qubits, d["qpu_scenario"])
    quantum_mw = np.rint(d["quantum_systems"]) * per_system_w * roadmap.qpu_improvement(d, year, base_year) / 1e6
    energy_mwh = (it_mw + quantum_mw) * d["pue"] * HOURS

    cost, co2 = supply_costs(d, year)
    mix = shares(cost, d["grid_share_max"])
    supply_usd_per_mwh = (mix * np.where(mix > 0, cost, 0.0)).sum(axis=0)
    storage_kw = d["storage_power_fraction"] * it_mw * 1000.0
    storage_usd = storage_kw * d["storage_usd_per_kw"] * annuity(d["discount_rate"], d["storage_lifetime_years"])
    cost_usd = energy_mwh * supply_usd_per_mwh + storage_usd
    return {
        "it_mw": it_mw,
        "quantum_mw": quantum_mw,
        "qubits_per_system": qubits,
        "energy_mwh": energy_mwh,
        "supply_usd_per_mwh": supply_usd_per_mwh,
        "storage_usd_per_year": storage_usd,
        "cost_usd_per_year": cost_usd,
        "cost_usd_per_mwh": cost_usd / energy_mwh,
        "co2_t_per_year": energy_mwh * (mix * co2).sum(axis=0),
        "shares": mix,
    }
