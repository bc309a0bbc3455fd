"""The energy data files (TOML, every value with its source), validated once and looked up by name.

Names are matched loosely (case, spaces, dashes and underscores ignored) so `tpu v3`, `TPUv3` and
`tpu-v3` all work; an unknown name is a user error that lists the known ones.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any, Literal

from pydantic import Field, PositiveFloat, ValidationError

from qscale.config import Frozen, format_error, packaged_toml
from qscale.errors import QscaleUserError
from qscale.io import Result


class Accelerator(Frozen):
    key: str
    name: str
    aliases: list[str] = Field(default_factory=list)
    kind: Literal["gpu", "tpu"]
    default_precision: str
    peak_flops: dict[str, PositiveFloat]
    peak_source: str
    tdp_w: PositiveFloat | None = None
    tdp_source: str
    avg_power_w: PositiveFloat | None = None
    avg_power_source: str
    memory_gb: PositiveFloat
    memory_bandwidth_gb_s: PositiveFloat
    memory_source: str
    interconnect_gb_s: PositiveFloat | None = None  # GPU-to-GPU bandwidth each way, for tensor parallelism
    interconnect_source: str = "not in the data file"
    die_area_mm2: PositiveFloat | None = None
    process: str | None = None
    carbon_per_area_kg_per_cm2: PositiveFloat | None = None
    embodied_source: str

    def peak(self, precision: str | None) -> tuple[float, str]:
        """Peak dense FLOP/s at `precision` (default: the accelerator's training precision)."""
        prec = (precision or self.default_precision).lower()
        if prec not in self.peak_flops:
            raise QscaleUserError(
                f"{self.key} has no published peak for precision {prec!r}; known: {', '.join(self.peak_flops)}"
            )
        return self.peak_flops[prec], prec

    @property
    def chip_embodied_kg(self) -> float | None:
        if self.die_area_mm2 is None or self.carbon_per_area_kg_per_cm2 is None:
            return None
        return self.die_area_mm2 / 100.0 * self.carbon_per_area_kg_per_cm2


class Sourced(Frozen):
    value: float
    source: str


class Ranged(Frozen):
    """A parameter with the values that give the lowest, the central and the highest energy."""

    low: float = Field(ge=0)
    typical: float = Field(ge=0)
    high: float = Field(ge=0)
    source: str

    def at(self, scenario: str) -> float:
        return float(getattr(self, scenario))


class Modality(Frozen):
    key: str
    description: str
    static_w: Ranged
    qubits_per_module: Ranged
    control_w_per_qubit: Ranged
    readout_w_per_qubit: Ranged
    t_1q_s: Ranged
    t_2q_s: Ranged
    t_meas_s: Ranged
    t_reset_s: Ranged
    circuit_overhead_s: Ranged
    iteration_overhead_s: Ranged


class QubitModel(Frozen):
    key: str
    instruction_set: Literal["gate_based", "majorana"]
    modality: str
    one_qubit_gate_time_s: PositiveFloat | None = None
    two_qubit_gate_time_s: PositiveFloat | None = None
    one_qubit_measurement_time_s: PositiveFloat
    two_qubit_joint_measurement_time_s: PositiveFloat | None = None
    t_gate_time_s: PositiveFloat
    clifford_error_rate: PositiveFloat
    t_gate_error_rate: PositiveFloat
    source: str


class QecScheme(Frozen):
    key: str
    crossing_prefactor: PositiveFloat
    threshold: PositiveFloat
    cycle: str
    footprint: str
    source: str


def _norm(name: str) -> str:
    return re.sub(r"[\s_\-]+", "", name).lower()


def _resolve(name: str, table: dict[str, Any], what: str, aliases: dict[str, str] | None = None) -> str:
    """The canonical key for `name` in `table`, or a user error listing the known names."""
    wanted = _norm(name)
    for key in table:
        if _norm(key) == wanted:
            return key
    for alias, key in (aliases or {}).items():
        if _norm(alias) == wanted:
            return key
    raise QscaleUserError(f"unknown {what} {name!r}; known: {', '.join(table)}")


@cache
def _load(filename: str) -> dict[str, Any]:
    return packaged_toml("qscale.energy", f"data/{filename}")


def _validated(model: type[Frozen], key: str, raw: dict[str, Any], filename: str) -> Any:
    try:
        return model(key=key, **raw)
    except ValidationError as exc:  # a broken packaged data file is a bug, not a user error
        raise RuntimeError(format_error(exc, f"{filename} [{key}]")) from exc


@cache
def accelerators() -> dict[str, Accelerator]:
    return {k: _validated(Accelerator, k, v, "accelerators.toml") for k, v in _load("accelerators.toml").items()}


def accelerator(name: str) -> Accelerator:
    table = accelerators()
    aliases = {alias: key for key, acc in table.items() for alias in acc.aliases}
    return table[_resolve(name, table, "hardware", aliases)]


def intensity(name: str) -> Sourced:
    table = _load("grid.toml")["intensity"]
    key = _resolve(name, table, "grid region")
    return Sourced(value=table[key]["kg_per_kwh"], source=table[key]["source"])


def intensities() -> dict[str, Sourced]:
    return {k: Sourced(value=v["kg_per_kwh"], source=v["source"]) for k, v in _load("grid.toml")["intensity"].items()}


def pue(name: str) -> Sourced:
    table = _load("grid.toml")["pue"]
    key = _resolve(name, table, "PUE preset")
    return Sourced(value=table[key]["value"], source=table[key]["source"])


def grid_defaults() -> dict[str, str]:
    return dict(_load("grid.toml")["defaults"])


@cache
def modalities() -> dict[str, Modality]:
    return {k: _validated(Modality, k, v, "qpu.toml") for k, v in _load("qpu.toml").items()}


def modality(name: str) -> Modality:
    table = modalities()
    return table[_resolve(name, table, "modality")]


@cache
def qubit_models() -> dict[str, QubitModel]:
    raw = _load("ft.toml")["qubit_models"]
    return {k: _validated(QubitModel, k, v, "ft.toml") for k, v in raw.items()}


def qubit_model(name: str) -> QubitModel:
    table = qubit_models()
    return table[_resolve(name, table, "qubit model")]


def qec_scheme(name: str) -> QecScheme:
    raw = _load("ft.toml")["qec"]
    key = _resolve(name, raw, "QEC scheme")
    return _validated(QecScheme, key, raw[key], "ft.toml")


def ft_table(section: str) -> dict[str, Any]:
    return dict(_load("ft.toml")[section])


def measurement_constants() -> dict[str, Any]:
    return _load("measurement.toml")


def validation_data() -> dict[str, Any]:
    """Published figures (with their sources) that the validation tables compare against."""
    return _load("validation.toml")


def grid_data() -> dict[str, Any]:
    """The whole grid file: intensities, PUE presets and defaults."""
    return _load("grid.toml")


class CatalogResult(Result):
    """The `qscale energy list` JSON: the names each option accepts, with a one-line description or value."""


def catalog() -> CatalogResult:
    grid = grid_data()
    return CatalogResult({
        "hardware": {k: a.name for k, a in accelerators().items()},
        "grid": {k: v["kg_per_kwh"] for k, v in grid["intensity"].items()},
        "pue": {k: v["value"] for k, v in grid["pue"].items()},
        "modalities": {k: m.description for k, m in modalities().items()},
        "qubit_models": {k: q.modality for k, q in qubit_models().items()},
    })  # fmt: skip
