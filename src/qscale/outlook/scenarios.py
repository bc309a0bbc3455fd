"""The outlook's inputs: stated ranges, each with its source, and the quantum tasks, validated on load.

The packaged data/scenarios.toml holds the defaults; a user file replaces whole entries by name, so every
number the Monte Carlo draws still names where it came from. Bad files are user errors that name the entry.
"""

from __future__ import annotations

import math
from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from qscale.config import Frozen, packaged_toml, read_toml, validate
from qscale.errors import QscaleUserError

# Every range the model reads; a scenario file must define all of them (the defaults do).
REQUIRED_RANGES = (
    "it_mw_2025", "it_load_factor", "demand_growth_to_2030", "demand_growth_after_2030", "pue",
    "flop_per_j_2025", "flop_efficiency_growth", "flop_utilization", "bytes_per_j_2025",
    "bandwidth_efficiency_growth", "bandwidth_utilization",
    "qubits_2025", "qubit_growth", "qubits_max_per_system", "error_2q_2025", "error_reduction", "error_floor",
    "ft_year", "max_mitigation_overhead", "qpu_scenario", "qpu_energy_reduction", "quantum_systems",
    "discount_rate", "grid_price_usd_per_mwh", "grid_co2_2025_t_per_mwh", "grid_co2_2030_t_per_mwh",
    "grid_co2_2045_t_per_mwh", "grid_share_max", "carbon_price_usd_per_t",
    "smr_year", "smr_capex_2030_usd_per_kw", "smr_capex_2040_usd_per_kw", "smr_fom_pct", "smr_variable_usd_per_mwh",
    "smr_capacity_factor", "fusion_year", "fusion_capex_usd_per_kw", "fusion_fom_pct", "fusion_variable_usd_per_mwh",
    "fusion_capacity_factor", "gas_capex_usd_per_kw", "gas_fom_pct", "gas_fuel_usd_per_mmbtu",
    "gas_heat_rate_mmbtu_per_mwh", "gas_co2_t_per_mmbtu", "gas_capacity_factor", "plant_lifetime_years",
    "storage_power_fraction", "storage_usd_per_kw", "storage_lifetime_years",
)  # fmt: skip
# Ranges that are fractions of something and must stay within [0, 1].
FRACTIONS = ("it_load_factor", "flop_utilization", "bandwidth_utilization", "qpu_scenario", "grid_share_max",
             "smr_capacity_factor", "fusion_capacity_factor", "gas_capacity_factor", "error_2q_2025",
             "error_floor")  # fmt: skip
# Ranges that must be strictly positive (they divide or are logged).
POSITIVE = ("it_mw_2025", "pue", "flop_per_j_2025", "flop_utilization", "bytes_per_j_2025", "bandwidth_utilization",
            "qubits_2025", "qubits_max_per_system", "error_2q_2025", "error_floor", "max_mitigation_overhead",
            "smr_capacity_factor", "fusion_capacity_factor", "gas_capacity_factor", "plant_lifetime_years",
            "storage_lifetime_years", "gas_heat_rate_mmbtu_per_mwh")  # fmt: skip
YEAR_MIN, YEAR_MAX = 2025, 2060


class Range(Frozen):
    """One uncertain input: drawn uniformly (or log-uniformly) between low and high; low == high fixes it."""

    low: float
    high: float
    dist: Literal["uniform", "loguniform"] = "uniform"
    unit: str = ""
    source: str = Field(min_length=3)
    assumed: bool = False

    @model_validator(mode="after")
    def _check(self) -> Range:
        if not (math.isfinite(self.low) and math.isfinite(self.high)):
            raise ValueError("low and high must be finite numbers")
        if self.low > self.high:
            raise ValueError(f"low ({self.low:g}) is above high ({self.high:g})")
        if self.dist == "loguniform" and self.low <= 0:
            raise ValueError("a loguniform range needs low > 0")
        if not self.source.strip():
            raise ValueError("every range needs a source (or says 'assumed: ...')")
        return self

    def echo(self) -> dict[str, Any]:
        """The range as results.json shows it: every input is of kind 'assumed' and names its source."""
        return self.model_dump() | {"kind": "assumed", "basis": "assumption" if self.assumed else "sourced"}


class Task(Frozen):
    """One of qscale's quantum tasks: its circuits (NISQ and fault-tolerant counts) and its classical work."""

    family: str
    label: str
    scale: Literal["study", "scaled"]
    qubits: int = Field(ge=1, le=10**7)
    two_qubit_gates: float = Field(ge=0)
    two_qubit_depth: float = Field(ge=0)
    t_count: float = Field(0, ge=0)
    rotations: float = Field(0, ge=0)
    rotation_depth: float = Field(0, ge=0)
    measurements: float = Field(0, ge=0)
    shots: float = Field(ge=1)
    circuits: float = Field(1, ge=1)
    iterations: float = Field(1, ge=1)
    source: str = Field(min_length=3)
    classical_flops: float = Field(ge=0)
    classical_bytes: float = Field(0, ge=0)
    classical_method: str = Field(min_length=3)
    classical_source: str = Field(min_length=3)
    quality_supported: bool
    quality_note: str = Field(min_length=3)

    @field_validator("two_qubit_gates", "two_qubit_depth", "t_count", "rotations", "rotation_depth", "shots",
                     "circuits", "iterations", "classical_flops", "classical_bytes")  # fmt: skip
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("must be finite")
        return value

    @model_validator(mode="after")
    def _work(self) -> Task:
        if self.classical_flops + self.classical_bytes <= 0:
            raise ValueError("give the classical work: classical_flops and/or classical_bytes > 0")
        if self.rotation_depth > self.rotations:
            raise ValueError("rotation_depth cannot exceed rotations")
        if self.t_count + self.rotations + self.measurements + self.two_qubit_depth <= 0:
            raise ValueError("the circuit is empty: give gate counts")
        return self

    @property
    def runs(self) -> float:
        return self.shots * self.circuits * self.iterations


class Meta(Frozen):
    base_year: int = Field(2025, ge=2000, le=YEAR_MIN)
    modality: str = "superconducting"
    description: str = ""
    tasks: list[str] | None = None  # the tasks to run (default: all)


class Scenarios(Frozen):
    meta: Meta = Field(default_factory=Meta)
    ranges: dict[str, Range]
    tasks: dict[str, Task] = Field(min_length=1)

    @model_validator(mode="after")
    def _complete(self) -> Scenarios:
        missing = [name for name in REQUIRED_RANGES if name not in self.ranges]
        if missing:
            raise ValueError(f"missing ranges: {', '.join(missing)}")
        unknown = sorted(set(self.ranges) - set(REQUIRED_RANGES))
        if unknown:
            raise ValueError(f"unknown ranges: {', '.join(unknown)} (known: {', '.join(REQUIRED_RANGES)})")
        for name in FRACTIONS:
            r = self.ranges[name]
            if r.low < 0 or r.high > 1:
                raise ValueError(f"ranges.{name} must lie within [0, 1], got [{r.low:g}, {r.high:g}]")
        for name in POSITIVE:
            if self.ranges[name].low <= 0:
                raise ValueError(f"ranges.{name} must be positive, got low = {self.ranges[name].low:g}")
        for name, r in self.ranges.items():
            if name not in POSITIVE and r.low < 0:
                raise ValueError(f"ranges.{name} must not be negative, got low = {r.low:g}")
        unknown_tasks = sorted(set(self.meta.tasks or []) - set(self.tasks))
        if unknown_tasks:
            raise ValueError(f"meta.tasks names unknown tasks: {', '.join(unknown_tasks)}")
        return self

    def selected_tasks(self) -> dict[str, Task]:
        names = self.meta.tasks if self.meta.tasks is not None else list(self.tasks)
        return {name: self.tasks[name] for name in names}

    def echo(self) -> dict[str, Any]:
        return {name: r.echo() for name, r in self.ranges.items()}


@cache
def default_data() -> dict[str, Any]:
    return packaged_toml("qscale.outlook", "data/scenarios.toml")


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Entries of `override` replace whole entries of `base` ([meta] keys one by one)."""
    unknown = sorted(set(override) - {"meta", "ranges", "tasks"})
    if unknown:
        raise QscaleUserError(f"scenario file: unknown section(s) {', '.join(unknown)}; use meta, ranges, tasks")
    out = {"meta": dict(base.get("meta", {})), "ranges": dict(base["ranges"]), "tasks": dict(base["tasks"])}
    for section in ("meta", "ranges", "tasks"):
        part = override.get(section, {})
        if not isinstance(part, dict):
            raise QscaleUserError(f"scenario file: [{section}] must be a table")
        out[section].update(part)
    return out


def parse_scenarios(data: dict[str, Any], source: str = "scenarios") -> Scenarios:
    return validate(Scenarios, data, source)


def load_scenarios(path: Path | str | dict | None = None) -> Scenarios:
    """Defaults, or defaults with a user's TOML file (or dict) laid over them."""
    if path is None:
        return parse_scenarios(default_data(), "data/scenarios.toml")
    if isinstance(path, dict):
        return parse_scenarios(merge(default_data(), path), "scenarios")
    return parse_scenarios(merge(default_data(), read_toml(path, "scenario file")), str(path))


def check_years(years: list[int] | tuple[int, ...], base_year: int = YEAR_MIN) -> list[int]:
    """Sorted distinct projection years within [base year, 2060]."""
    if not years:
        raise QscaleUserError("give at least one year")
    out = sorted({int(y) for y in years})
    bad = [y for y in out if not base_year <= y <= YEAR_MAX]
    if bad:
        raise QscaleUserError(f"years must lie in {base_year}..{YEAR_MAX}, got {', '.join(map(str, bad))}")
    return out


def parse_years(text: str) -> list[int]:
    """'2030,2035,2040' -> [2030, 2035, 2040], or a user error naming the bad part."""
    years = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        if not part.isdigit():
            raise QscaleUserError(f"--years must be comma-separated years like 2030,2040, got {part!r}")
        years.append(int(part))
    return check_years(years)
