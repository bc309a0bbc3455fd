"""The campus config (TOML or CLI flags), validated: bad values name their key; speculative storage is gated.

Rydberg-matter storage has no credible parameters (Holmlid's ultra-dense hydrogen claims are unreplicated and
a related PLOS ONE paper was retracted in 2019), so it is off by default, has no defaults at
all, and enabling it without every parameter is an error listing what is missing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from qscale.config import Strict, read_toml, validate
from qscale.errors import QscaleUserError
from qscale.grid.techdata import CASES, rydberg_required

TECHNOLOGIES = ("grid", "smr", "fusion", "solar", "wind", "gas", "li-ion", "smes", "flywheel")
DEFAULT_TECHNOLOGIES = ("grid", "smr", "fusion", "solar", "wind", "gas", "li-ion")
Technology = Literal["grid", "smr", "fusion", "solar", "wind", "gas", "li-ion", "smes", "flywheel"]


def _inference_trough() -> float:
    """Serving GPUs stay on at half the traffic and draw most of their peak power (qscale.energy.fleet)."""
    from qscale.energy.fleet import inference_trough

    return inference_trough().value


class CampusSection(Strict):
    """Workloads on the campus. Quantum: ~10-25 kW of cryogenics per dilution fridge (D-Wave 2X ~25 kW)."""

    training_mw: float = Field(100.0, ge=0)
    training_outage_every_days: float = Field(30.0, gt=0)
    training_outage_hours: int = Field(24, ge=0, le=24 * 14)
    training_outage_level: float = Field(0.1, ge=0, le=1)
    inference_mw: float = Field(30.0, ge=0)
    # inference power at the diurnal traffic trough / at the peak: from qscale's calibrated serving model
    inference_min_fraction: float = Field(default_factory=_inference_trough, ge=0, le=1)
    quantum_systems: int = Field(10, ge=0)
    quantum_kw_per_system: float = Field(20.0, ge=0)
    quantum_total_kw: float | None = Field(None, ge=0)  # steady hall load in total; overrides the per-system value
    quantum_burst_kw_per_system: float = Field(5.0, ge=0)
    quantum_duty: float = Field(0.5, ge=0, le=1)
    pue: float = Field(1.2, ge=1.0, le=3.0)


class RunSection(Strict):
    year: int = 2030
    hours: int = Field(8760, ge=1, le=8760)
    start_hour: int = Field(0, ge=0, le=8759)
    cost_case: Literal["advanced", "moderate", "conservative"] = "moderate"
    seed: int = Field(1, ge=0)
    smr_integer_modules: bool = False
    threads: int = Field(2, ge=1, le=64)

    @model_validator(mode="after")
    def _window(self) -> RunSection:
        if self.start_hour + self.hours > 8760:
            raise ValueError(f"start_hour + hours must be <= 8760, got {self.start_hour} + {self.hours}")
        return self


class CarbonSection(Strict):
    cap_t_per_year: float | None = Field(None, ge=0)
    price_usd_per_t: float | None = Field(None, ge=0)

    @model_validator(mode="after")
    def _one(self) -> CarbonSection:
        if self.cap_t_per_year is not None and self.price_usd_per_t is not None:
            raise ValueError("give a carbon cap or a carbon price, not both")
        return self


class ReliabilitySection(Strict):
    voll_usd_per_mwh: float | None = Field(None, gt=0)
    max_unserved_fraction: float | None = Field(None, ge=0, le=1)


class SupplySection(Strict):
    technologies: list[Technology] = Field(default_factory=lambda: list(DEFAULT_TECHNOLOGIES), min_length=1)
    max_import_mw: float | None = Field(None, ge=0)
    import_connection_usd_per_kw_year: float | None = Field(None, ge=0)
    min_mw: dict[Technology, float] = Field(default_factory=dict)
    max_mw: dict[Technology, float] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _bounds(self) -> SupplySection:
        for kind, bounds in (("min_mw", self.min_mw), ("max_mw", self.max_mw)):
            for tech, value in bounds.items():
                if value < 0:
                    raise ValueError(f"{kind}.{tech} must be >= 0 (a capacity), got {value}")
                if tech not in self.technologies:
                    raise ValueError(f"{kind}.{tech} given but {tech} is not in technologies")
        for tech, lo in self.min_mw.items():
            hi = self.max_mw.get(tech)
            if hi is not None and hi < lo:
                raise ValueError(f"max_mw.{tech} ({hi}) is below min_mw.{tech} ({lo})")
        if len(set(self.technologies)) != len(self.technologies):
            raise ValueError("technologies has duplicates")
        return self


class ProfilesSection(Strict):
    grid_csv: Path | None = None
    solar_csv: Path | None = None
    wind_csv: Path | None = None


class RydbergSection(Strict):
    """Speculative storage: no defaults; every parameter user-set."""

    enabled: bool = False
    params: dict[str, float] = Field(default_factory=dict)


class SiteConfig(Strict):
    campus: CampusSection = Field(default_factory=CampusSection)
    run: RunSection = Field(default_factory=RunSection)
    carbon: CarbonSection = Field(default_factory=CarbonSection)
    reliability: ReliabilitySection = Field(default_factory=ReliabilitySection)
    supply: SupplySection = Field(default_factory=SupplySection)
    profiles: ProfilesSection = Field(default_factory=ProfilesSection)
    rydberg: RydbergSection = Field(default_factory=RydbergSection)


def check_rydberg(section: RydbergSection) -> dict[str, float] | None:
    """Validate the speculative storage parameters: all or nothing, physically possible values."""
    required = rydberg_required()
    if not section.enabled:
        if section.params:
            raise QscaleUserError(
                "Rydberg-matter parameters were given but the storage is not enabled (--enable-rydberg)"
            )
        return None
    if not section.params:
        raise QscaleUserError(
            "Rydberg-matter storage is speculative and has no default parameters: enabling it needs every one of "
            + ", ".join(required)
            + " (e.g. --rydberg-param efficiency_charge=0.9)"
        )
    unknown = sorted(set(section.params) - set(required))
    if unknown:
        raise QscaleUserError(
            f"unknown Rydberg-matter parameter(s): {', '.join(unknown)} (known: {', '.join(required)})"
        )
    missing = [k for k in required if k not in section.params]
    if missing:
        raise QscaleUserError(f"Rydberg-matter storage needs every parameter; missing: {', '.join(missing)}")
    p = section.params
    for key in ("power_usd_per_kw", "energy_usd_per_kwh", "fom_pct_per_year"):
        if p[key] < 0:
            raise QscaleUserError(f"Rydberg-matter {key} must be >= 0, got {p[key]}")
    for key in ("efficiency_charge", "efficiency_discharge"):
        if not 0 < p[key] <= 1:
            raise QscaleUserError(
                f"Rydberg-matter {key} must be in (0, 1] (no storage returns more than it takes), got {p[key]}"
            )
    if not 0 <= p["standing_loss_per_hour"] < 1:
        raise QscaleUserError(
            f"Rydberg-matter standing_loss_per_hour must be in [0, 1), got {p['standing_loss_per_hour']}"
        )
    if p["lifetime_years"] <= 0:
        raise QscaleUserError(f"Rydberg-matter lifetime_years must be > 0, got {p['lifetime_years']}")
    return dict(p)


def _merge(base: dict, overrides: dict) -> dict:
    out = dict(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def load_site_config(path: Path | None = None, overrides: dict | None = None) -> SiteConfig:
    """Config from a TOML file (or defaults) with CLI overrides merged on top, validated once."""
    data: dict = {}
    source = "site config"
    if path is not None:
        source = str(path)
        data = read_toml(path)
        data = data.get("site", data)  # accept a [site] table (study config) or top-level sections
    if overrides:
        data = _merge(data, overrides)
        source = f"{source} + command-line options"
    cfg = validate(SiteConfig, data, source)
    if cfg.run.cost_case not in CASES:  # pragma: no cover - Literal already checks
        raise QscaleUserError(f"cost_case must be one of {CASES}")
    check_rydberg(cfg.rydberg)
    return cfg
