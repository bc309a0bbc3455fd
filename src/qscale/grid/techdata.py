"""Technology costs for one year and cost case, annualised, each number carrying its source.

The data file (data/technologies.toml) holds cost sets for 2025, the 2030s and the 2040s; the model asks
for a calendar year and gets the set of its decade, so every figure it uses is traceable to a source.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

from qscale.config import packaged_toml
from qscale.errors import QscaleUserError

CASES = ("advanced", "moderate", "conservative")
YEAR_MIN, YEAR_MAX = 2025, 2049


@cache
def raw_data() -> dict[str, Any]:
    return packaged_toml("qscale.grid", "data/technologies.toml")


def cost_set(year: int) -> str:
    """The cost set a year falls in: 2025-2029 -> '2025', 2030s -> '2030', 2040s -> '2040'."""
    if not YEAR_MIN <= year <= YEAR_MAX:
        raise QscaleUserError(
            f"year must be between {YEAR_MIN} and {YEAR_MAX} (cost sets 2025/2030s/2040s), got {year}"
        )
    return "2025" if year < 2030 else "2030" if year < 2040 else "2040"


def annuity(rate: float, years: float) -> float:
    """Capital recovery factor: the yearly payment that repays 1 $ over `years` at `rate`."""
    if years <= 0:
        raise QscaleUserError(f"lifetime must be positive, got {years}")
    if rate == 0:
        return 1.0 / years
    return rate / (1.0 - (1.0 + rate) ** -years)


def _pick(value: Any, cset: str, case: str, name: str) -> float | None:
    """Resolve a number that may be per cost set ({year: ...}) and/or per case ([adv, mod, cons])."""
    if isinstance(value, dict):
        if cset not in value:
            return None
        value = value[cset]
    if isinstance(value, list):
        if len(value) != len(CASES):
            raise ValueError(f"technology data {name}: expected {len(CASES)} case values, got {value}")
        value = value[CASES.index(case)]
    return float(value)


@dataclass
class Tech:
    """One technology's numbers for the chosen year and case; `sources` maps each figure to its source."""

    key: str
    label: str
    available: bool
    params: dict[str, float] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    unverified: bool = False
    note: str = ""
    kind: str = ""  # how the network builds it: import, generator, storage_unit or store ("" = not a component)
    name: str = ""  # its name in configs and outputs (the table key unless the table says otherwise)
    profile: str | None = None  # an hourly capacity-factor profile that bounds its output (solar, wind)

    def get(self, name: str) -> float:
        return self.params[name]


@dataclass
class TechData:
    year: int
    cost_set: str
    case: str
    discount_rate: float
    techs: dict[str, Tech]
    sources: dict[str, str]

    def by_name(self, name: str) -> Tech | None:
        """The technology a config or output calls `name` ("li-ion" is the table's li_ion)."""
        return next((t for t in self.techs.values() if t.name == name), None)

    def annual_per_mw(self, capex_usd_per_kw: float, lifetime: float, fom_pct: float) -> float:
        """Annualised capex plus fixed O&M in $/MW/yr (PyPSA's capital_cost)."""
        return capex_usd_per_kw * 1000.0 * (annuity(self.discount_rate, lifetime) + fom_pct / 100.0)


_NUMERIC_KEYS = {
    "grid": ("price_usd_per_mwh", "co2_t_per_mwh", "connection_usd_per_kw_year"),
    "smr": (
        "module_mw",
        "lifetime_years",
        "capex_usd_per_kw",
        "fom_pct_per_year",
        "vom_usd_per_mwh",
        "fuel_usd_per_mwh",
        "availability",
        "min_load",
        "ramp_pct_per_min",
    ),
    "fusion": ("lifetime_years", "capex_usd_per_kw", "fom_pct_per_year", "vom_usd_per_mwh", "availability"),
    "solar": ("lifetime_years", "capex_usd_per_kw", "fom_pct_per_year", "capacity_factor"),
    "wind": ("lifetime_years", "capex_usd_per_kw", "fom_pct_per_year", "capacity_factor"),
    "gas": (
        "lifetime_years",
        "capex_usd_per_kw",
        "fom_pct_per_year",
        "vom_usd_per_mwh",
        "efficiency",
        "fuel_usd_per_mmbtu",
        "co2_kg_per_mmbtu",
    ),
    "li_ion": ("lifetime_years", "total_usd_per_kwh_4h", "power_share_4h", "fom_pct_per_year", "round_trip_efficiency"),
    "smes": (
        "lifetime_years",
        "power_usd_per_kw",
        "energy_usd_per_kwh",
        "fom_pct_per_year",
        "max_hours",
        "round_trip_efficiency",
        "cryoplant_fraction_of_power",
    ),
    "flywheel": (
        "lifetime_years",
        "power_usd_per_kw",
        "fom_pct_per_year",
        "max_hours",
        "round_trip_efficiency",
        "standing_loss_per_hour",
    ),
    "reliability": ("voll_usd_per_mwh",),
}


def load_techdata(year: int, case: str = "moderate") -> TechData:
    """Numbers for `year` (its decade's cost set) and an ATB case, with availability by year."""
    if case not in CASES:
        raise QscaleUserError(f"cost case must be one of {', '.join(CASES)}, got {case!r}")
    cset = cost_set(year)
    data = raw_data()
    meta = data["meta"]
    techs: dict[str, Tech] = {}
    for key, names in _NUMERIC_KEYS.items():
        entry = data[key]
        params: dict[str, float] = {}
        missing_set = False
        for name in names:
            value = _pick(entry[name], cset, case, f"{key}.{name}")
            if value is None:
                missing_set = True
                continue
            params[name] = value
        sources = {k: str(v) for k, v in entry.items() if k.endswith(("_source", "_note"))}
        available_from = int(entry.get("available_from", YEAR_MIN))
        available = year >= available_from and not missing_set
        note = "" if available else f"unavailable in {year}: {entry.get('availability_source', 'no cost data')}"
        techs[key] = Tech(
            key, str(entry.get("label", key)), available, params, sources, bool(entry.get("unverified", False)), note,
            kind=str(entry.get("kind", "")), name=str(entry.get("name", key)), profile=entry.get("profile"),
        )
    return TechData(
        year, cset, case, float(meta["discount_rate"]), techs, {"discount_rate": str(meta["discount_rate_source"])}
    )


def rydberg_required() -> list[str]:
    return list(raw_data()["rydberg"]["required"])
