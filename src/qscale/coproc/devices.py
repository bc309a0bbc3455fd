"""Device models of the co-processor layer, loaded from devices.toml through strict pydantic models.

Why a file of its own: every planner row and every runtime timeline is priced from these numbers, so each one
carries its source (or says "assumed" and gives a range), and a typo in the file fails loudly at load time.
Power is not here: it comes from qscale.energy's modality model (energy/data/qpu.toml), one model for all.
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from qscale.energy.data import Ranged, Sourced, modality, qubit_model
from qscale.errors import QscaleUserError

ERAS = ("today", "2030s", "2040s")
SCENARIOS = ("low", "typical", "high")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Count(_Strict):
    value: float = Field(gt=0)
    source: str = Field(min_length=3)


class NisqDevice(_Strict):
    """A machine that runs circuits as they are (no error correction)."""

    key: str
    name: str
    kind: Literal["nisq"]
    era: Literal["today"]
    modality: str
    max_qubits: Count
    max_shots_per_job: Count
    max_circuits_per_job: Count
    shot_base_s: Ranged
    layer_s: Ranged
    readout_s: Ranged
    circuit_overhead_s: Ranged
    job_overhead_s: Ranged
    lanes: Count
    latency_s: Ranged
    queue_s: Ranged
    two_qubit_error: Ranged
    clops: Sourced | None = None
    hqc_base: Count | None = None
    hqc_per: Count | None = None

    @model_validator(mode="after")
    def _check(self) -> NisqDevice:
        modality(self.modality)  # the power model must exist
        for name in (
            "shot_base_s",
            "layer_s",
            "readout_s",
            "circuit_overhead_s",
            "job_overhead_s",
            "latency_s",
            "queue_s",
            "two_qubit_error",
        ):
            r: Ranged = getattr(self, name)
            if not r.low <= r.typical <= r.high:
                raise ValueError(f"{name}: need low <= typical <= high, got {r.low}, {r.typical}, {r.high}")
        if (self.hqc_base is None) != (self.hqc_per is None):
            raise ValueError("give both hqc_base and hqc_per, or neither")
        return self


class FtDevice(_Strict):
    """A fault-tolerant machine: `qscale energy ft` sizes and times each run on its qubit model."""

    key: str
    name: str
    kind: Literal["ft"]
    era: Literal["2030s", "2040s"]
    modality: str
    qubit_model: str
    max_logical_qubits: Count
    max_logical_operations: Count
    max_physical_qubits: Count
    job_overhead_s: Ranged
    latency_s: Ranged
    queue_s: Ranged

    @model_validator(mode="after")
    def _check(self) -> FtDevice:
        modality(self.modality)
        qubit_model(self.qubit_model)
        return self


Device = NisqDevice | FtDevice


def _text() -> str:
    return resources.files("qscale.coproc").joinpath("devices.toml").read_text(encoding="utf-8")


def parse_devices(raw: dict) -> dict[str, Device]:
    """Validate a devices table ({'devices': {key: {...}}}); a bad entry is an error naming the key."""
    if set(raw) != {"devices"} or not isinstance(raw["devices"], dict):
        raise ValueError(f"devices file: expected one [devices.*] table, got sections {sorted(raw)}")
    out: dict[str, Device] = {}
    for key, entry in raw["devices"].items():
        if not isinstance(entry, dict):
            raise ValueError(f"devices.{key}: expected a table of fields, got {type(entry).__name__}")
        model = FtDevice if entry.get("kind") == "ft" else NisqDevice
        try:
            out[key] = model(key=key, **entry)
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"])
            raise ValueError(f"devices.{key}.{where}: {err['msg']}") from None
    return out


@cache
def devices() -> dict[str, Device]:
    try:
        return parse_devices(tomllib.loads(_text()))
    except ValueError as exc:  # a broken packaged file is a bug, not a user error
        raise RuntimeError(f"qscale/coproc/devices.toml is invalid: {exc}") from exc


def load_devices_file(path: Path | str) -> dict[str, Device]:
    """A user's devices file, in devices.toml's format and validated as strictly: an unknown key, a negative
    time or a value without a source is a user error naming the entry and the field."""
    from qscale.config import read_toml

    raw = read_toml(path, "devices file")
    try:
        table = parse_devices(raw)
    except ValueError as exc:
        raise QscaleUserError(f"devices file {path}: {exc}") from None
    if not table:
        raise QscaleUserError(f"devices file {path}: no [devices.<name>] entry")
    return table


def device(name: str) -> Device:
    table = devices()
    if name not in table:
        raise QscaleUserError(f"unknown device {name!r}; known: {', '.join(table)}")
    return table[name]


def nisq_for_modality(modality_name: str) -> NisqDevice:
    """Today's device of a modality (the outlook prices its NISQ path on it)."""
    for d in devices().values():
        if isinstance(d, NisqDevice) and d.modality == modality(modality_name).key:
            return d
    raise QscaleUserError(f"no device of modality {modality_name!r} in devices.toml")


def by_era(era: str) -> list[Device]:
    if era not in ERAS:
        raise QscaleUserError(f"unknown era {era!r}; known: {', '.join(ERAS)}")
    return [d for d in devices().values() if d.era == era]
